"""Marks on and beside the cells: values written inside top cells (or every cell), rings with
tags where cells are too small, region boxes, and a legend."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from izzyviz.colors import relative_luminance
from izzyviz.layout.colorbar import scientific
from izzyviz.layout.spec import CellLayout
from izzyviz.layout.style import CALLOUT, DARK_TEXT, LEGEND_EDGE, WHITE
from izzyviz.layout.texts import Context
from izzyviz.numbers import format_numbers
from izzyviz.scene import Circle, Group, Line, Node, Rect, Text

__all__ = ["legend", "region_boxes", "values"]


def values(ctx: Context, cells: CellLayout) -> Group:
    """The value of each top cell (every cell with ``show_values="all"``, when they have room
    for it), written inside it in a colour that reads on the cell."""
    spec = ctx.spec
    if not spec.show_values:
        return Group(role="values")
    rows_n, cols_n = cells.shape
    shown = spec.summary.display
    if (
        spec.show_values == "all"
        and rows_n * cols_n <= ctx.style.vector_cell_limit
        and not spec.summary.pooled
    ):
        rows, cols = (index.ravel() for index in np.indices(cells.shape))
        every = shown[rows, cols]
        known = ~np.isnan(every)  # masked cells have no value
        group = values_inside(ctx, cells, rows[known], cols[known], every[known])
        if group is not None:
            return group
    rows, cols, top = cells.top_rows, cells.top_cols, cells.top_values
    if len(rows) == 0:
        return Group(role="values")
    group = values_inside(ctx, cells, rows, cols, top)
    return value_callouts(ctx, cells) if group is None else group


def values_inside(
    ctx: Context,
    cells: CellLayout,
    rows: NDArray[np.intp],
    cols: NDArray[np.intp],
    numbers: NDArray[np.float64],
) -> Group | None:
    """``numbers`` written inside their cells, or None when the cells are too small."""
    style, fm = ctx.style, ctx.fm
    widths, heights = cells.sizes
    labels = format_numbers(numbers, 3, scientific=scientific(cells.scale, style))
    sample = max(fm.width(label, 1.0) for label in ["0.000", *labels])
    size = min(
        style.value_size,
        float(heights[rows].min()) * 0.45,
        float(widths[cols].min()) * 0.85 / sample,
    )
    xc, yc = cells.centers
    if size < style.min_value_size:
        return None
    luminance = relative_luminance(cells.scale.rgba(numbers))
    nodes: list[Node] = []
    for r, c, lum, value in zip(
        rows.tolist(), cols.tolist(), luminance.tolist(), labels, strict=True
    ):
        fill = DARK_TEXT if lum > 0.408 else WHITE
        baseline = ctx.centred_baseline(float(yc[r]), size)
        width = fm.width(value, size)
        nodes.append(Text(float(xc[c]), baseline, value, size, width, fill, anchor="middle"))
    return Group(tuple(nodes), role="values")


def value_callouts(ctx: Context, cells: CellLayout) -> Group:
    """Top cells too small to hold their value (long sequences): a ring around each, with the
    value beside it on a white tag, so they stay findable and readable. Only the
    ``max_callouts`` largest get one when many cells tie."""
    style, fm = ctx.style, ctx.fm
    xc, yc = cells.centers
    rows, cols, top = cells.top_rows, cells.top_cols, cells.top_values
    order = np.argsort(-top, kind="stable")[: style.max_callouts]
    labels = format_numbers(top[order], 3, scientific=scientific(cells.scale, style))
    size, ring = style.min_label_size, style.callout_ring
    nodes: list[Node] = []
    for k, value in zip(order.tolist(), labels, strict=True):
        x, y = float(xc[cols[k]]), float(yc[rows[k]])
        width = fm.width(value, size)
        left = x + ring + 1.5
        if left + width + 1 > cells.x_edges[-1]:  # at the right edge: tag on the left
            left = x - ring - 1.5 - width
        nodes.append(Circle(x, y, ring, stroke=CALLOUT, stroke_width=0.8))
        nodes.append(
            Rect(left - 1, y - size * 0.6, width + 2, size * 1.2, fill=WHITE, stroke=CALLOUT,
                 stroke_width=0.4, radius=1.0)
        )  # fmt: skip
        nodes.append(Text(left, ctx.centred_baseline(y, size), value, size, width, CALLOUT))
    return Group(tuple(nodes), role="values")


def region_boxes(ctx: Context, cells: CellLayout) -> list[Node]:
    """A box around each region of the spec, over its cells."""
    spec = ctx.spec
    x_edges, y_edges = cells.x_edges, cells.y_edges
    return [
        Rect(
            float(x_edges[c0]),
            float(y_edges[r0]),
            float(x_edges[c1 + 1] - x_edges[c0]),
            float(y_edges[r1 + 1] - y_edges[r0]),
            stroke=spec.region_color,
            stroke_width=spec.region_width,
        )
        for r0, c0, r1, c1 in spec.regions
    ]


def legend(ctx: Context, x: float, top: float) -> Group:
    """The spec's legend in a light frame whose top-left corner is ``(x, top)``: per row a line
    sample on its swatch, then the label (as matplotlib draws a legend)."""
    size = ctx.style.label_size
    pad, sample, row = size * 0.5, size * 2.0, size * 1.6
    nodes: list[Node] = []
    texts = []
    for k, entry in enumerate(ctx.spec.legend):
        middle = top + pad + row * (k + 0.5)
        nodes.append(Rect(x + pad, middle - size * 0.6, sample, size * 1.2, fill=entry.swatch))
        if entry.mark is not None:
            nodes.append(entry.mark(x + pad + sample / 2, middle, size * 0.54))
        else:
            nodes.append(Line(x + pad, middle, x + pad + sample, middle, entry.line, entry.width))
        label_x = x + 2 * pad + sample
        texts.append(ctx.text(label_x, ctx.centred_baseline(middle, size), entry.label, size))
    frame_width = 3 * pad + sample + max(text.width for text in texts)
    frame_height = 2 * pad + row * len(texts)
    frame = Rect(x, top, frame_width, frame_height, fill=WHITE, stroke=LEGEND_EDGE,
                 stroke_width=0.8, radius=2.0)  # fmt: skip
    ctx.bounds.add(x, top, x + frame_width, top + frame_height)
    return Group((frame, *nodes, *texts), role="legend")
