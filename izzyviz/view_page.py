"""What the four analysis views (:mod:`izzyviz.views`) share: their inputs read one way, one
heatmap laid out and saved, and a key (legend) whose rows show a line, a cell's colour or a
mark such as a circle.

A view describes itself as a :class:`View` (the matrix its cells show, labels, texts, file name,
numbers for ``Figure.data``, its overlay and key) and :func:`draw` lays it out as a
:class:`izzyviz.job.HeatmapJob`, so there is one layout path; its key rows are the layout's
legend entries (:class:`izzyviz.layout.LegendEntry`: a line, a swatch or a mark).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from izzyviz._validate import check_labels
from izzyviz.colors import ColorScale
from izzyviz.figure import Figure
from izzyviz.job import HeatmapJob
from izzyviz.layout import CellLayout, LegendEntry, Overlay, Style, page, text_node
from izzyviz.plot import figure_data, save_figure
from izzyviz.scene import RGBA, Circle, Group, Node, RadialGradient, Rect
from izzyviz.source import as_float_array, to_numpy
from izzyviz.text import metrics

__all__ = [
    "Key",
    "View",
    "axis_labels",
    "cell_sides",
    "circles",
    "colour_of",
    "disc",
    "draw",
    "labels",
    "note",
    "rgba",
    "ring",
    "stacked",
]

PathLike = str | os.PathLike[str]
Mark = Callable[[float, float, float], Node]
"""Draws a key's mark centred on ``(x, y)`` within ``radius`` points."""

WHITE: RGBA = (1.0, 1.0, 1.0, 1.0)
CLEAR: RGBA = (0.0, 0.0, 0.0, 0.0)
MARK_EDGE: RGBA = (0.3, 0.3, 0.3, 1.0)


def stacked(value: Any, name: str, ndim: int | tuple[int, ...]) -> NDArray[np.float64]:
    """An array from ``value``, or from a list of equally shaped arrays (one per run/step)."""
    if isinstance(value, (list, tuple)) and value and not np.isscalar(value[0]):
        parts = [to_numpy(part, f"{name}[{k}]") for k, part in enumerate(value)]
        shapes = {part.shape for part in parts}
        if len(shapes) > 1:
            raise ValueError(
                f"{name}: expected arrays of one shape, got shapes "
                f"{', '.join(str(s) for s in sorted(shapes))}"
            )
        value = np.stack(parts)
    return as_float_array(value, name, ndim)


def labels(tokens: Any, name: str, count: int, axis: str) -> list[str]:
    """Labels for one axis: ``tokens`` checked against the matrix, or "0", "1", ... if None."""
    if tokens is None:
        return [str(i) for i in range(count)]
    return check_labels(tokens, name, count, axis)


def axis_labels(
    shape: tuple[int, ...], columns: Any, rows: Any, names: tuple[str, str]
) -> tuple[list[str], list[str]]:
    """Column and row labels of a matrix of ``shape`` (its last two axes), from ``columns``
    and ``rows`` (named ``names`` in errors)."""
    return (
        labels(columns, names[0], shape[-1], "columns"),
        labels(rows, names[1], shape[-2], "rows"),
    )


def circles(
    radii: NDArray[np.float64], fills: Callable[[int, int], RGBA | RadialGradient | None]
) -> Overlay:
    """An overlay of a circle in each cell with a positive ``radii`` entry (a fraction of the
    cell's smaller side), filled with ``fills(row, column)``, row by row."""
    rows, cols = np.nonzero(radii > 0)

    def overlay(cells: CellLayout) -> list[Node]:
        sizes = radii * cell_sides(cells)
        xc, yc = cells.centers
        nodes: list[Node] = [
            Circle(float(xc[c]), float(yc[r]), float(sizes[r, c]), fills(r, c))
            for r, c in zip(rows.tolist(), cols.tolist(), strict=True)
        ]
        return [Group(tuple(nodes), role="circles")]

    return overlay


def rgba(values: NDArray[np.float64]) -> RGBA:
    """A colour from a length-4 array."""
    red, green, blue, alpha = values.tolist()
    return (red, green, blue, alpha)


def cell_sides(cells: CellLayout) -> NDArray[np.float64]:
    """The smaller side of every cell, ``(rows, columns)``: circle radii are fractions of it,
    as in the original IzzyViz (a ratio below 0.5 keeps the circle inside its cell)."""
    widths, heights = cells.sizes
    return np.minimum.outer(heights, widths)


def disc(fill: RGBA | RadialGradient) -> Mark:
    """A key mark: a filled circle (a flat colour or a gradient) as large as the row allows,
    with a thin edge so that a pale fill still shows on the key's white."""
    return lambda x, y, radius: Circle(x, y, radius, fill, MARK_EDGE, 0.4)


def ring(share: float = 1.0) -> Mark:
    """A key mark: an unfilled circle, ``share`` of the row's height across."""
    return lambda x, y, radius: Circle(x, y, radius * share, None, MARK_EDGE, 0.75)


Key = LegendEntry
"""One row of a view's key: its label and what its sample shows, a line (colour and width in
points), a cell's colour (``swatch``) or a ``mark`` drawn over the swatch."""


@dataclass(frozen=True, slots=True)
class View:
    """What one analysis view draws: the matrix its cells show and its labels, title and axis
    titles, its default file name and its numbers for ``Figure.data``, and what the heatmap
    spec gets besides (scale, overlay, regions, grid lines...)."""

    matrix: NDArray[np.float64]
    x_labels: Sequence[str]
    y_labels: Sequence[str]
    texts: tuple[str | None, str | None, str | None]
    default: str
    data: dict[str, Any] = field(default_factory=dict)
    keys: Sequence[Key] = ()
    options: dict[str, Any] = field(default_factory=dict)


def draw(view: View, save_path: PathLike | None, layout: Style) -> Figure:
    """Lay out one panel (no top-cell enlargement: these views mark cells otherwise) in the
    ``layout`` style, with the view's key below the colour bar; put it on a page with its
    numbers in ``Figure.data``, and save it."""
    title, xlabel, ylabel = view.texts
    job = HeatmapJob.of(
        view.matrix, view.x_labels, view.y_labels, top_n=0, title=title, xlabel=xlabel,
        ylabel=ylabel, legend=view.keys, **view.options,
    )  # fmt: skip
    panel, scale = job.panel(layout)
    numbers = figure_data([panel], scale)
    numbers.update(view.data)
    return save_figure(Figure(page([panel], layout, title=title), numbers), save_path, view.default)


def note(text: str, layout: Style) -> Overlay:
    """An overlay writing ``text`` in a white box at the top centre of the heatmap."""
    fm = metrics(layout.font)
    size = layout.label_size

    def overlay(cells: CellLayout) -> list[Node]:
        centre = float(cells.x_edges[0] + cells.x_edges[-1]) / 2
        top = float(cells.y_edges[0]) + size * 0.5
        words = text_node(fm, centre, top + size * 1.1, text, size, anchor="middle")
        pad = size * 0.4
        box = Rect(centre - words.width / 2 - pad, top, words.width + 2 * pad, size * 1.5,
                   fill=WHITE, stroke=MARK_EDGE, stroke_width=0.5, radius=pad)  # fmt: skip
        return [Group((box, words), role="note")]

    return overlay


def colour_of(scale: ColorScale, share: float) -> RGBA:
    """The colour ``share`` of the way from the scale's low to its high end."""
    value = scale.vmin + share * (scale.vmax - scale.vmin)
    return rgba(scale.rgba(np.array([value]))[0])
