"""A heatmap panel laid out from its spec (cells, marks, labels, colour bar, titles), fitted to a
page width, and panels stacked on a page."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from izzyviz.layout import axes, marks
from izzyviz.layout.colorbar import colorbar, under_height
from izzyviz.layout.geometry import cell_sizes, display_bounds, edges
from izzyviz.layout.spec import CellLayout, HeatmapSpec, Panel
from izzyviz.layout.style import Style
from izzyviz.layout.texts import Context, titles, wrap
from izzyviz.scene import CellGrid, Group, Node, Scene, translation
from izzyviz.summary import pooling_note
from izzyviz.text import TextMetrics, metrics

__all__ = ["MIN_MAP_WIDTH", "TooNarrow", "fitted_style", "heatmap_panel", "page"]

MIN_MAP_WIDTH = 36.0
"""The narrowest heatmap (points) a fixed page width may leave: half an inch of cells."""


class TooNarrow(ValueError):
    """A page width too narrow for a figure; ``need`` is the smallest width that works, in
    inches (rounded up to a hundredth)."""

    def __init__(self, style: Style, need: float) -> None:
        self.style, self.need = style, math.ceil(need * 100) / 100
        super().__init__(
            f"width: {(style.page_width or 0) / 72:g} in is too narrow for this figure's "
            f"labels, colour bar and titles at {style.label_size:g} pt; the smallest width "
            f"that works is {self.need:g} in (or use a smaller font_size)"
        )

    @classmethod
    def widest(cls, errors: Sequence[TooNarrow]) -> TooNarrow:
        """The error of the panel that needs the most room (a figure of several panels)."""
        return max(errors, key=lambda error: error.need)


def fitted_style(spec: HeatmapSpec, style: Style, fm: TextMetrics | None = None) -> Style:
    """``style`` with its heatmap box shrunk until the panel (labels, colour bar, titles) fits
    the page width ``style.page_width`` inside its margins; text keeps its size and labels are
    thinned instead. Without a page width, ``style`` itself.

    Raises
    ------
    TooNarrow
        A ``ValueError`` naming ``width`` and the smallest width that works, when even a
        :data:`MIN_MAP_WIDTH` heatmap leaves no room.
    """
    if style.page_width is None:
        return style
    fm = fm or metrics(style.font)
    room = style.page_width - 2 * style.margin

    def at(budget: float) -> tuple[Style, float]:
        """The style with a ``budget``-point heatmap box, and how far its panel overflows."""
        fitted = dataclasses.replace(style, max_width=budget, max_height=budget)
        bounds = heatmap_panel(spec, fitted, fm).bounds
        return fitted, bounds[2] - bounds[0] - room

    budget = room
    for _ in range(6):  # the labels' reach barely depends on the cells: usually 2 or 3 steps
        fitted, over = at(budget)
        if over <= 1e-6:
            return fitted
        budget = max(budget - max(over, 0.25), MIN_MAP_WIDTH)
    narrowest, over = at(MIN_MAP_WIDTH)
    if over > 1e-6:
        raise TooNarrow(style, _smallest_width(spec, style, fm, room + over))
    low, high = MIN_MAP_WIDTH, budget  # thinning makes the overflow jump: bisect to a fit
    for _ in range(16):
        middle = (low + high) / 2
        fitted, over = at(middle)
        low, high = (middle, high) if over <= 1e-6 else (low, middle)
        narrowest = fitted if over <= 1e-6 else narrowest
    return narrowest


def _smallest_width(spec: HeatmapSpec, style: Style, fm: TextMetrics, width: float) -> float:
    """The narrowest page (inches) a :data:`MIN_MAP_WIDTH` heatmap fits, starting from a panel
    ``width`` points wide: a wider page cuts titles less, so the width is grown until the panel
    fits its own page."""
    for _ in range(8):
        page_width = width + 2 * style.margin
        wider = dataclasses.replace(style, page_width=page_width, max_width=MIN_MAP_WIDTH,
                                    max_height=MIN_MAP_WIDTH)  # fmt: skip
        bounds = heatmap_panel(spec, wider, fm).bounds
        if bounds[2] - bounds[0] <= width + 1e-6:
            break
        width = bounds[2] - bounds[0]
    return (width + 2 * style.margin) / 72


def heatmap_panel(
    spec: HeatmapSpec, style: Style | None = None, fm: TextMetrics | None = None
) -> Panel:
    """Lay out one heatmap panel in ``style.max_width`` x ``style.max_height`` of cells: cells,
    top-cell values, labels, regions, colour bar, titles. The heatmap's top-left corner is at
    the origin; ``Panel.bounds`` covers everything drawn.

    The display pixels follow from the style (:func:`display_bounds`); the spec's summary is
    expected to be pooled into them (the figure functions see to it, see
    :func:`fitted_style`)."""
    style = style or Style()
    ctx = Context(spec, style, fm or metrics(style.font))
    rows, cols = spec.summary.shape
    row_bounds, col_bounds = display_bounds((rows, cols), style)
    pooled = (len(row_bounds) - 1, len(col_bounds) - 1) != (rows, cols)
    cells, (unit_w, unit_h) = _cells(spec, style, pooled)
    width, height = float(cells.x_edges[-1]), float(cells.y_edges[-1])
    ctx.bounds.add(0.0, 0.0, width, height)
    heat_nodes: list[Node] = [_cell_grid(spec, cells, style, min(unit_w, unit_h))]
    if spec.overlay is not None:
        heat_nodes.extend(spec.overlay(cells))
    heat_nodes.append(marks.values(ctx, cells))
    heat_nodes.extend(marks.region_boxes(ctx, cells))
    children: list[Node] = [Group(tuple(heat_nodes), role="heatmap")]

    xc, yc = cells.centers
    y_group, y_reach = axes.axis_labels(ctx, spec.y_labels, yc, unit_h, _marked(cells, 0), "y")
    x_group, x_reach = axes.axis_labels(ctx, spec.x_labels, xc, unit_w, _marked(cells, 1), "x")
    children += [y_group, x_group]
    colorbar_x = width + style.colorbar_gap
    per = (int(row_bounds[1]), int(col_bounds[1]))
    below = 0.0
    if per[1] > 1:
        x_positions, below = axes.positions(ctx, cols, unit_w, height, "x")
        children.append(x_positions)
    if per[0] > 1:
        y_positions, beside = axes.positions(ctx, rows, unit_h, width, "y")
        children.append(y_positions)
        colorbar_x += beside
    bar_bottom = height + under_height(spec.scale, style)
    bar, reach = colorbar(spec.scale, colorbar_x, 0.0, height, ctx.fm, style)
    notes = [pooling_note(spec.summary.pool, per)] if pooled and not spec.full_resolution else []
    if spec.scale.norm != "power":
        notes.append(spec.scale.describe())
    if notes:  # wrapped to the width of the heatmap and its colour bar
        lines = [
            line
            for text in notes
            for line in wrap(ctx.fm, text, style.position_size, reach if spec.colorbar else width)
        ]
        children.append(axes.note(ctx, lines, height + below + 2.0))  # fmt: skip
    if spec.colorbar:
        ctx.bounds.add(colorbar_x, -style.label_size, reach, bar_bottom + style.label_size)
        children.append(bar)
    if spec.legend:
        children.append(marks.legend(ctx, colorbar_x, bar_bottom + style.label_size))
    children += titles(ctx, width, height, x_reach, y_reach)
    return Panel(Group(tuple(children), role=spec.role), ctx.bounds.freeze(), cells)


def _marked(cells: CellLayout, axis: int) -> NDArray[np.bool_]:
    """Which rows (``axis=0``) or columns hold a top cell."""
    marked = np.zeros(cells.shape[axis], dtype=bool)
    marked[cells.top_rows if axis == 0 else cells.top_cols] = True
    return marked


def _cells(spec: HeatmapSpec, style: Style, pooled: bool) -> tuple[CellLayout, tuple[float, float]]:
    """Where every cell goes, and the normal cell's width and height: rows and columns of top
    cells enlarged, unless cells are smaller than a pixel (nobody could see it)."""
    summary = spec.summary
    rows, cols = summary.shape
    cells = CellLayout(np.zeros(1), np.zeros(1), (rows, cols), spec.scale, summary.top_rows,
                       summary.top_cols, summary.top_values)  # fmt: skip
    big_rows, big_cols = (
        (np.zeros(rows, bool), np.zeros(cols, bool))
        if pooled
        else (_marked(cells, 0), _marked(cells, 1))
    )
    unit_w, unit_h = cell_sizes(rows, cols, big_rows, big_cols, spec.enlarged_size, style)
    x_edges = edges(np.where(big_cols, unit_w * spec.enlarged_size, unit_w))
    y_edges = edges(np.where(big_rows, unit_h * spec.enlarged_size, unit_h))
    return dataclasses.replace(cells, x_edges=x_edges, y_edges=y_edges), (unit_w, unit_h)


def _cell_grid(spec: HeatmapSpec, cells: CellLayout, style: Style, smallest: float) -> CellGrid:
    """The cells as drawn: one per matrix cell, or one per display pixel when pooled (each over
    exactly its cells; a short last row or column of pixels is drawn full size, less than a
    pixel past the edge, so the image stays one pixel per block)."""
    image, summary = spec.image, spec.summary
    x_edges, y_edges = cells.x_edges, cells.y_edges
    if image.indices.shape != summary.shape:
        per_row, per_col = summary.cells_per_pixel
        x_edges = np.arange(image.indices.shape[1] + 1) * (per_col * float(x_edges[1]))
        y_edges = np.arange(image.indices.shape[0] + 1) * (per_row * float(y_edges[1]))
    mode = spec.cells
    if mode == "auto":
        mode = "vector" if image.indices.size <= style.vector_cell_limit else "image"
    # Grid lines fade out as cells shrink, and vanish where they would wash the colours out.
    gap = 0.0 if smallest < 3.0 else min(style.gap, smallest * 0.08)
    if spec.gap is not None:
        gap = min(spec.gap, smallest / 4)
    peaks = summary.pooled and summary.pool == "max"
    return CellGrid(x_edges, y_edges, image.indices, image.palette, gap=gap,
                    gap_color=spec.gap_color, mode=mode, missing=image.missing,
                    peaks=peaks)  # fmt: skip


def page(panels: Sequence[Panel], style: Style | None = None, title: str | None = None) -> Scene:
    """Stack panels top to bottom on a page that fits them, heatmaps aligned on their left
    edges; on a fixed ``style.page_width`` the page is exactly that wide and each panel is
    centred on it."""
    style = style or Style()
    if not panels:
        raise ValueError("panels: expected at least one panel")
    left = min(p.bounds[0] for p in panels)
    right = max(p.bounds[2] for p in panels)
    width = right - left + 2 * style.margin
    y = style.margin
    placed: list[Node] = []
    for panel in panels:
        x0, y0, x1, y1 = panel.bounds
        x = style.margin - left
        if style.page_width is not None:
            x = (style.page_width - (x1 - x0)) / 2 - x0
        placed.append(Group(panel.group.children, translation(x, y - y0), role=panel.group.role))
        y += (y1 - y0) + style.panel_spacing
    height = y - style.panel_spacing + style.margin
    return Scene(
        style.page_width or math.ceil(width),
        math.ceil(height),
        Group(tuple(placed), role="page"),
        title=title,
        font=style.font,
    )
