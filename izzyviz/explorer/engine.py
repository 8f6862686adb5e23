"""The explorer's one door into the drawing engine.

Everything the explorer takes from the engine that draws static figures (checking a matrix and
its options, the colour scale, the top cells, pooling cells into pixels, palette indices, the
colour bar's ticks, palette PNGs) goes through the functions of this module, so the page shows
what :func:`izzyviz.heatmap` draws and the explorer follows the engine when it changes:

* :func:`read_heatmap` - check a heatmap's matrix, labels and options once and read what the
  static figure reads (range, colour scale, top cells), with the colour bar's ticks;
* :func:`pooled` - cells pooled ``factor`` x ``factor`` into one pixel, as the static figure
  pools them (``"max"`` or ``"mean"``), for a tile pyramid's level;
* :func:`cell_values` - cells as stored, for the hover values of the finest level;
* :func:`colour_png` - values as a palette PNG under the figure's colour scale;
* :func:`level_note` - the small print saying how a level pools.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from izzyviz._validate import as_matrix
from izzyviz.blocks import Matrix, TensorRows, _release, as_source, sub_matrix, summarize
from izzyviz.colors import ColorScale
from izzyviz.layout import Style, colorbar
from izzyviz.numbers import format_numbers
from izzyviz.plot import heatmap_spec
from izzyviz.raster import encode_png
from izzyviz.scene import RGBA, Image, Line, Text
from izzyviz.text import is_special_token, metrics, show_controls

__all__ = [
    "HeatmapFacts",
    "cell_values",
    "colour_png",
    "level_note",
    "pooled",
    "read_heatmap",
]


@dataclass(frozen=True, slots=True, eq=False)
class HeatmapFacts:
    """What the explorer shows of one heatmap, read as the static figure reads it.

    Attributes
    ----------
    source
        The matrix as the engine reads it (numpy array, memmap or :class:`TensorRows`); with
        ``masked``, a float64 array whose NaN cells are masked ("no data").
    masked
        Whether NaN marks masked cells.
    x_labels, y_labels
        Column and row labels as the figure draws them (control characters made visible).
    bold_x, bold_y
        Indices of the labels drawn bold (special tokens).
    scale
        The colour scale (range, norm, colormap) of the static figure.
    pool
        How cells pool into a pixel: ``"max"`` or ``"mean"``.
    top
        The top cells, ``(row, column, value as the figure writes it)``, largest first.
    top_values
        Their values.
    ticks
        The colour bar's ticks: ``(label, fraction from the bottom)``.
    regions
        Boxed cell ranges ``(row0, col0, row1, col1)``, inclusive.
    region_color
        Their colour, RGBA in [0, 1].
    title, xlabel, ylabel
        Texts of the figure (None: not drawn).
    """

    source: Matrix
    masked: bool
    x_labels: list[str]
    y_labels: list[str]
    bold_x: list[int]
    bold_y: list[int]
    scale: ColorScale
    pool: str
    top: list[tuple[int, int, str]]
    top_values: NDArray[np.float64]
    ticks: list[tuple[str, float]]
    regions: list[tuple[int, int, int, int]]
    region_color: RGBA
    title: str | None
    xlabel: str | None
    ylabel: str | None

    @property
    def shape(self) -> tuple[int, int]:
        """``(rows, columns)`` of the matrix."""
        return int(self.source.shape[0]), int(self.source.shape[1])

    @property
    def palette(self) -> NDArray[np.uint8]:
        """The colour scale's ``(N, 4)`` RGBA table."""
        return self.scale.palette


def open_matrix(matrix: Any) -> tuple[Matrix, bool]:
    """``matrix`` checked as :func:`izzyviz.heatmap` checks it, without a copy: the engine's
    view of it and whether it is a masked array (then float64 with NaN where masked)."""
    if isinstance(matrix, np.ma.MaskedArray):
        return as_matrix(matrix, "matrix", masked=True), True
    return as_source(matrix, "matrix"), False


def read_heatmap(
    matrix: Matrix, masked: bool, x_labels: Sequence[str], y_labels: Sequence[str], **options: Any
) -> HeatmapFacts:
    """Check a heatmap's labels and options as :func:`izzyviz.heatmap` does and read the matrix
    once as its static figure does (range, finiteness, colour scale, top cells).

    ``matrix`` comes from :func:`open_matrix`; ``options`` are :func:`izzyviz.heatmap`'s, of
    which those that only shape a printed figure are checked and otherwise ignored.
    """
    options.setdefault("show_values", True)
    spec, scale = heatmap_spec(matrix, x_labels, y_labels, masked=masked, **options)
    summary = spec.summary
    assert summary is not None  # heatmap_spec always summarises
    order = np.argsort(-summary.top_values, kind="stable")
    texts = format_numbers(summary.top_values[order], 3)
    top = [
        (int(summary.top_rows[k]), int(summary.top_cols[k]), text)
        for k, text in zip(order.tolist(), texts, strict=True)
    ]
    xs = [show_controls(label) for label in spec.x_labels]
    ys = [show_controls(label) for label in spec.y_labels]
    return HeatmapFacts(
        source=matrix,
        masked=masked,
        x_labels=xs,
        y_labels=ys,
        bold_x=[i for i, t in enumerate(spec.x_labels) if is_special_token(t, spec.special_tokens)],
        bold_y=[i for i, t in enumerate(spec.y_labels) if is_special_token(t, spec.special_tokens)],
        scale=scale,
        pool=spec.pool,
        top=top,
        top_values=summary.top_values[order],
        ticks=colorbar_ticks(scale),
        regions=list(spec.regions),
        region_color=spec.region_color,
        title=spec.title,
        xlabel=spec.xlabel,
        ylabel=spec.ylabel,
    )


def colorbar_ticks(scale: ColorScale) -> list[tuple[str, float]]:
    """The ticks the static figure's colour bar draws for ``scale``: ``(label, fraction from
    the bottom)``, read off the colour bar the layout builds (so a new norm's ticks follow)."""
    group, _ = colorbar(scale, 0.0, 0.0, 1.0, metrics(), Style())
    lines = [node for node in group.children if isinstance(node, Line)]
    texts = [node for node in group.children if isinstance(node, Text)]
    return [(text.text, 1.0 - line.y0) for line, text in zip(lines, texts, strict=True)]


def _bounds(cells: int, factor: int) -> NDArray[np.intp]:
    """Where pixels of ``factor`` cells start along an axis of ``cells`` (and the end)."""
    return np.append(np.arange(0, cells, factor, dtype=np.intp), cells)


def pooled(
    source: Matrix,
    factor: int,
    pool: str,
    masked: bool = False,
    rows: slice | None = None,
    cols: slice | None = None,
) -> NDArray[np.float64]:
    """Cells ``[rows, cols]`` of ``source`` (default all), ``factor`` x ``factor`` to a pixel
    by ``pool`` as the static figure pools them (NaN: a pixel of masked cells only)."""
    rows, cols = rows or slice(None), cols or slice(None)
    part = sub_matrix(source, rows, cols)
    if factor == 1:
        display = np.asarray(part[:, :], dtype=np.float64)
    else:
        h, w = int(part.shape[0]), int(part.shape[1])
        display = summarize(
            part, 0, _bounds(h, factor), _bounds(w, factor), pool,  # type: ignore[arg-type]
            masked=masked,
        ).display  # fmt: skip
    release_rows(source, rows)
    return display


def cell_values(source: Matrix, rows: slice, cols: slice) -> NDArray[np.floating[Any]]:
    """Cells ``[rows, cols]`` as stored, for reading values: float16 stays float16, anything
    else becomes float32 (masked cells stay NaN)."""
    values = np.asarray(sub_matrix(source, rows, cols)[:, :])
    release_rows(source, rows)
    return values if values.dtype == np.float16 else values.astype(np.float32)


def release_rows(source: Matrix, rows: slice) -> None:
    """Hand the pages of ``rows`` of a read-only memmap back to the OS once read, so serving a
    file larger than memory stays in bounded memory."""
    if isinstance(source, TensorRows):
        return
    start, stop, _ = rows.indices(int(source.shape[0]))
    _release(source, start, stop)


def colour_png(values: NDArray[Any], scale: ColorScale) -> bytes:
    """``values`` (NaN: masked) as an 8-bit palette PNG coloured by ``scale``, pixel for pixel
    as the static figure colours them."""
    indices, palette, _ = scale.cell_indices(np.asarray(values, dtype=np.float64))
    height, width = indices.shape
    image = Image(0.0, 0.0, float(width), float(height), np.ascontiguousarray(indices), palette)
    return encode_png(image)


def level_note(pool: str, factor: int) -> str:
    """Small print for a level: ``"each pixel: max of 8 × 8 cells"``, or ``"one pixel per
    cell"``, as the static figure words it."""
    if factor == 1:
        return "each pixel: one cell"
    return f"each pixel: {pool} of {factor} × {factor} cells"
