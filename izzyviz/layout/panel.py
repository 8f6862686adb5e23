"""A heatmap panel laid out from its spec (cells, marks, labels, colour bar, titles), fitted to a
page width, and panels stacked on a page."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from izzyviz.layout import axes, marks
from izzyviz.layout.colorbar import colorbar
from izzyviz.layout.geometry import cell_sizes, display_bounds, edges
from izzyviz.layout.spec import CellLayout, HeatmapSpec, Panel
from izzyviz.layout.style import Style
from izzyviz.layout.texts import Context, titles
from izzyviz.scene import CellGrid, Group, Node, Scene, translation
from izzyviz.summary import pooling_note
from izzyviz.text import TextMetrics, metrics

__all__ = ["MIN_MAP_WIDTH", "fitted_style", "heatmap_panel", "page"]

MIN_MAP_WIDTH = 36.0
"""The narrowest heatmap (points) a fixed page width may leave: half an inch of cells."""


def fitted_style(spec: HeatmapSpec, style: Style, fm: TextMetrics | None = None) -> Style:
    """``style`` with its heatmap box shrunk until the panel (labels, colour bar, titles) fits
    the page width ``style.page_width`` inside its margins; text keeps its size and labels are
    thinned instead. Without a page width, ``style`` itself.

    Raises
    ------
    ValueError
        Naming ``width`` and the smallest width that works, when even a
        :data:`MIN_MAP_WIDTH` heatmap leaves no room.
    """
    if style.page_width is None:
        return style
    fm = fm or metrics(style.font)
    room = style.page_width - 2 * style.margin
    budget = room
    for _ in range(12):  # the labels' reach barely depends on the cells: converges in 2 or 3
        fitted = dataclasses.replace(style, max_width=budget, max_height=budget)
        bounds = heatmap_panel(spec, fitted, fm).bounds
        over = bounds[2] - bounds[0] - room
        if over <= 1e-6:
            return fitted
        budget -= max(over, 0.25)
        if budget < MIN_MAP_WIDTH:
            break
    narrowest = heatmap_panel(spec, dataclasses.replace(style, max_width=MIN_MAP_WIDTH), fm)
    need = (narrowest.bounds[2] - narrowest.bounds[0] + 2 * style.margin) / 72
    raise ValueError(
        f"width: {style.page_width / 72:g} in is too narrow for this figure's labels, colour "
        f"bar and titles at {style.label_size:g} pt; the smallest width that works is "
        f"{math.ceil(need * 100) / 100:g} in (or use a smaller font_size)"
    )


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
    if pooled and not spec.full_resolution:
        note = pooling_note(spec.summary.pool, per)
        children.append(axes.note(ctx, note, height + below + 2.0))
    if spec.colorbar:
        group, reach = colorbar(spec.scale, colorbar_x, 0.0, height, ctx.fm, style)
        ctx.bounds.add(colorbar_x, -style.label_size, reach, height + style.label_size)
        children.append(group)
    if spec.legend:
        children.append(marks.legend(ctx, colorbar_x, height + style.label_size))
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
