"""Layout: pure functions from (matrix, labels, options) to a scene.

Every figure IzzyViz draws goes through :func:`heatmap_panel`: a :class:`HeatmapSpec` says what to
draw (the matrix, its labels, the colour scale, which cells to enlarge, which regions to box,
what else to put in the cells) and the panel comes back as a group of scene nodes with its bounds.
:func:`page` stacks one or more panels on a page. Nothing here imports a backend.
"""

from __future__ import annotations

import bisect
import dataclasses
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from izzyviz.blocks import Matrix, MatrixSummary, Pool, block_bounds, color_indices, summarize
from izzyviz.blocks import top_cells as top_cells
from izzyviz.colors import ColorScale, relative_luminance
from izzyviz.numbers import format_numbers
from izzyviz.scene import (
    RGBA,
    CellGrid,
    Circle,
    Group,
    Line,
    Node,
    Rect,
    Scene,
    Text,
    Transform,
    apply,
    compose,
    rotation,
    translation,
)
from izzyviz.text import (
    Font,
    TextMetrics,
    is_special_token,
    metrics,
    shorten,
    show_controls,
)

__all__ = [
    "CellLayout",
    "HeatmapSpec",
    "LegendEntry",
    "Panel",
    "Style",
    "colorbar",
    "display_bounds",
    "fit_text",
    "heatmap_panel",
    "page",
    "text_node",
    "top_cells",
]

BLACK: RGBA = (0.0, 0.0, 0.0, 1.0)
WHITE: RGBA = (1.0, 1.0, 1.0, 1.0)
DARK_TEXT: RGBA = (0.15, 0.15, 0.15, 1.0)
# matplotlib's "yellowgreen" at 50% opacity over white, as the original's label highlight.
HIGHLIGHT: RGBA = (0.802, 0.902, 0.598, 1.0)
REGION_RED: RGBA = (1.0, 0.0, 0.0, 1.0)
CALLOUT: RGBA = (0.85, 0.33, 0.0, 1.0)
FAINT: RGBA = (0.45, 0.45, 0.45, 1.0)
LEGEND_EDGE: RGBA = (0.8, 0.8, 0.8, 1.0)  # matplotlib's legend frame
SIN45 = math.sqrt(0.5)

Region = tuple[int, int, int, int]
"""An inclusive cell range ``(row0, col0, row1, col1)``."""


@dataclass(frozen=True, slots=True)
class Style:
    """Sizes (points) and fonts of a heatmap figure; the defaults give a page comparable to the
    original IzzyViz's 10 x 10 inch figure.

    ``page_width`` (points) fixes the page's width: each panel is fitted inside it (see
    :func:`heatmap_panel`), titles are cut to it, and the page is exactly that wide; None lets
    the width follow the content. ``font`` is the font of every text (None: the bundled DejaVu
    Sans). :func:`izzyviz.paper.figure_style` makes the styles for papers.
    """

    max_width: float = 540.0
    max_height: float = 560.0
    max_cell: float = 48.0
    max_aspect: float = 1.5
    min_extent: float = 24.0
    title_size: float = 14.0
    axis_label_size: float = 12.0
    label_size: float = 10.0
    min_label_size: float = 6.0
    value_size: float = 10.0
    min_value_size: float = 4.0
    max_callouts: int = 20
    callout_ring: float = 3.5
    tick_length: float = 3.5
    tick_width: float = 0.8
    label_pad: float = 3.0
    highlight_pad: float = 2.0
    max_label_chars: int = 24
    max_title_chars: int = 100
    colorbar_gap: float = 12.0
    colorbar_width: float = 18.0
    colorbar_ticks: int = 7
    gap: float = 0.75
    margin: float = 12.0
    panel_spacing: float = 28.0
    vector_cell_limit: int = 128 * 128
    display_dpi: float = 150.0
    position_size: float = 6.0
    position_ticks: int = 8
    caption_size: float = 8.0
    page_width: float | None = None
    font: Font | None = None


@dataclass(frozen=True, slots=True, eq=False)
class CellLayout:
    """Where the cells of a heatmap ended up: handed to overlays that draw inside cells."""

    x_edges: NDArray[np.float64]
    y_edges: NDArray[np.float64]
    matrix: Matrix
    scale: ColorScale
    top_rows: NDArray[np.intp]
    top_cols: NDArray[np.intp]
    top_values: NDArray[np.float64]

    @property
    def top_mask(self) -> NDArray[np.bool_]:
        """Boolean mask of the top cells."""
        mask = np.zeros(self.matrix.shape, dtype=bool)
        mask[self.top_rows, self.top_cols] = True
        return mask

    @property
    def centers(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Cell centres along x (per column) and y (per row)."""
        return (self.x_edges[:-1] + self.x_edges[1:]) / 2, (
            self.y_edges[:-1] + self.y_edges[1:]
        ) / 2

    @property
    def sizes(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Cell widths (per column) and heights (per row)."""
        return np.diff(self.x_edges), np.diff(self.y_edges)


Overlay = Callable[[CellLayout], Sequence[Node]]


@dataclass(frozen=True, slots=True)
class LegendEntry:
    """One legend row: a short sample of a line (colour, width in points) drawn over a swatch
    of the background it appears on, and its label."""

    label: str
    line: RGBA
    width: float = 1.0
    swatch: RGBA = WHITE


@dataclass(frozen=True, slots=True, eq=False)
class HeatmapSpec:
    """Everything one heatmap panel shows. Modes of the public API differ only in this data.

    Parameters
    ----------
    matrix
        ``(rows, columns)`` scores; rows attend, columns are attended to. Any array
        :func:`izzyviz.blocks.as_source` accepts (float16 to float64, memmaps, tensors): it is
        read in row blocks, never copied whole. NaN marks a masked cell (float64 input only),
        drawn in the "no data" colour and never a top cell.
    x_labels, y_labels
        Column and row labels, already in display form.
    scale
        The colour scale (shared between panels of one figure).
    top_n
        Cells whose value is at least the ``top_n``-th largest are marked; 0 marks none.
    enlarged_size
        Rows and columns holding a top cell are this many times the normal size.
    regions
        Inclusive ``(row0, col0, row1, col1)`` cell ranges boxed in ``region_color``.
    overlay
        Called with the final :class:`CellLayout`; its nodes are drawn over the cells.
    cells
        ``"vector"``, ``"image"`` or ``"auto"`` (vector up to ``Style.vector_cell_limit`` cells).
    gap, gap_color
        Width and colour of the lines between cells; by default thin white lines that fade
        out as cells shrink.
    pool
        When the matrix has more cells than the page shows pixels at ``Style.display_dpi``,
        blocks of cells become one pixel showing their ``"max"`` (thin peaks stay visible) or
        ``"mean"``; the figure says so in small print.
    full_resolution
        Keep one image pixel per cell however many there are.
    summary
        The matrix already summarised for the default :class:`Style` (see
        :func:`izzyviz.blocks.summarize`); summarised by :func:`heatmap_panel` when None.
    legend
        Rows of a legend drawn below the colour bar.
    """

    matrix: Matrix
    x_labels: Sequence[str]
    y_labels: Sequence[str]
    scale: ColorScale
    top_n: int = 3
    enlarged_size: float = 1.8
    title: str | None = None
    xlabel: str | None = "Tokens Attended to"
    ylabel: str | None = "Tokens Attending"
    regions: Sequence[Region] = ()
    region_color: RGBA = REGION_RED
    region_width: float = 2.0
    special_tokens: Iterable[str] | None = None
    show_values: bool | Literal["all"] = True
    overlay: Overlay | None = None
    cells: Literal["auto", "vector", "image"] = "auto"
    colorbar: bool = True
    gap: float | None = None
    gap_color: RGBA = WHITE
    legend: Sequence[LegendEntry] = ()
    role: str = "panel"
    pool: Pool = "max"
    full_resolution: bool = False
    summary: MatrixSummary | None = None


@dataclass(frozen=True, slots=True)
class Panel:
    """A laid-out heatmap: its nodes (heatmap top-left at the origin) and their bounding box."""

    group: Group
    bounds: tuple[float, float, float, float]
    cells: CellLayout = field(repr=False)


def text_node(
    fm: TextMetrics,
    x: float,
    y: float,
    label: str,
    size: float,
    *,
    bold: bool = False,
    anchor: Literal["start", "middle", "end"] = "start",
    fill: RGBA = BLACK,
    limit: int | None = None,
) -> Text:
    """A measured :class:`Text` for any label, title or caption: control characters made
    visible (see :func:`izzyviz.text.show_controls`), cut to ``limit`` characters, fallback
    fonts named where the bundled font lacks a glyph, and text that needs it shaped and laid
    out right to left by the Unicode bidi algorithm."""
    visible = show_controls(label)
    shown = visible if limit is None else shorten(visible, limit)
    return Text(
        x,
        y,
        shown,
        size,
        fm.width(shown, size, bold),
        fill,
        bold,
        anchor,
        full_text=label if shown != label else None,
        runs=fm.runs(shown, bold),
        glyphs=fm.shape(shown, bold),
    )


def colorbar(
    scale: ColorScale,
    x: float,
    top: float,
    height: float,
    fm: TextMetrics,
    style: Style,
    ticks: Sequence[tuple[str, float]] | None = None,
) -> tuple[Group, float]:
    """A colour bar: the colormap drawn linearly from bottom to top of ``height`` points, with
    ``style.colorbar_ticks`` ticks at evenly spaced data values placed at their gamma-normalised
    positions (or the given ``(label, fraction from the bottom)`` ticks). Returns the group and
    the x where its labels end."""
    width = style.colorbar_width
    steps = len(scale.palette)
    bar = CellGrid(
        np.array([x, x + width]),
        np.linspace(top, top + height, steps + 1),
        np.arange(steps - 1, -1, -1, dtype=np.uint8).reshape(steps, 1),
        scale.palette,
        mode="image",
    )
    if ticks is None:
        values = scale.ticks(style.colorbar_ticks)
        fractions = scale.normalize(values).tolist()
        labels = format_numbers(values, 2, keep_apart=True)
        ticks = list(zip(labels, fractions, strict=True))
    nodes: list[Node] = [bar]
    right = reach = x + width
    size = style.label_size
    for label, fraction in ticks:
        y = top + height * (1.0 - fraction)
        nodes.append(Line(right, y, right + style.tick_length, y, BLACK, style.tick_width))
        tx = right + style.tick_length + style.label_pad
        text = text_node(fm, tx, y + fm.cap_height * size / 2, label, size)
        nodes.append(text)
        reach = max(reach, tx + text.width)
    return Group(tuple(nodes), role="colorbar"), reach


def fit_text(fm: TextMetrics, text: str, size: float, width: float, bold: bool = False) -> str:
    """``text`` cut (with an ellipsis) to fit ``width`` points at ``size``."""
    if fm.width(text, size, bold) <= width:
        return text
    lo, hi = 0, len(text)
    while lo < hi:  # longest prefix that fits with the ellipsis
        mid = (lo + hi + 1) // 2
        if fm.width(text[:mid] + "…", size, bold) <= width:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo].rstrip() + "…"


class _Bounds:
    """Accumulates the bounding box of what a panel draws."""

    def __init__(self) -> None:
        self.box = [math.inf, math.inf, -math.inf, -math.inf]

    def add(self, x0: float, y0: float, x1: float, y1: float) -> None:
        box = self.box
        box[0], box[1] = min(box[0], x0, x1), min(box[1], y0, y1)
        box[2], box[3] = max(box[2], x0, x1), max(box[3], y0, y1)

    def add_points(self, points: Iterable[tuple[float, float]]) -> None:
        xs, ys = zip(*points, strict=True)
        self.add(min(xs), min(ys), max(xs), max(ys))

    def freeze(self) -> tuple[float, float, float, float]:
        x0, y0, x1, y1 = self.box
        return (x0, y0, x1, y1)


def _cell_sizes(
    rows: int,
    cols: int,
    big_rows: NDArray[np.bool_],
    big_cols: NDArray[np.bool_],
    enlarged: float,
    style: Style,
) -> tuple[float, float]:
    """Normal cell width and height: fill the box, keep cells near-square, keep thin matrices
    visible."""
    units_x = cols + (enlarged - 1.0) * int(big_cols.sum())
    units_y = rows + (enlarged - 1.0) * int(big_rows.sum())
    fit_w = min(style.max_width / units_x, style.max_cell)
    fit_h = min(style.max_height / units_y, style.max_cell)
    width = min(fit_w, fit_h * style.max_aspect)
    height = min(fit_h, fit_w * style.max_aspect)
    width = max(width, min(fit_w, style.min_extent / units_x))
    height = max(height, min(fit_h, style.min_extent / units_y))
    return width, height


def display_bounds(
    shape: tuple[int, int], style: Style
) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Where display pixels start along rows and columns (see :func:`block_bounds`): as many
    pixels as the heatmap covers at ``style.display_dpi``, the resolution a reader sees a PDF or
    SVG page at (and the PNG default)."""
    rows, cols = shape
    unit_w, unit_h = _cell_sizes(rows, cols, np.zeros(rows, bool), np.zeros(cols, bool), 1.0, style)
    per_point = style.display_dpi / 72
    return (
        block_bounds(rows, int(rows * unit_h * per_point)),
        block_bounds(cols, int(cols * unit_w * per_point)),
    )


def position_step(count: int, ticks: int) -> int:
    """A round step (1, 2 or 5 times a power of ten) giving at most ``ticks`` intervals."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if count <= ticks * step * factor:
                return step * factor
        step *= 10


def position_label(index: int) -> str:
    """``0``, ``500``, ``1k``, ``2.5k``, ..."""
    return f"{index / 1000:g}k" if index >= 1000 else str(index)


def _edges(sizes: NDArray[np.float64]) -> NDArray[np.float64]:
    edges = np.empty(len(sizes) + 1)
    edges[0] = 0.0
    np.cumsum(sizes, out=edges[1:])
    return edges


def _thin(centers: NDArray[np.float64], keep_first: NDArray[np.bool_], spacing: float) -> list[int]:
    """Indices of labels to show: ``keep_first`` labels first (the top cells'), then the others,
    each in order wherever it stays at least ``spacing`` away from every label already shown.
    (Top-cell labels are only dropped when they themselves crowd each other, e.g. ties all
    along a constant matrix.)"""
    if len(centers) < 2 or float(np.min(np.abs(np.diff(centers)))) >= spacing:
        return list(range(len(centers)))
    shown: list[float] = []
    chosen: list[int] = []
    for i in (*np.flatnonzero(keep_first), *np.flatnonzero(~keep_first)):
        c = float(centers[i])
        at = bisect.bisect_left(shown, c)
        if (at == 0 or c - shown[at - 1] >= spacing) and (
            at == len(shown) or shown[at] - c >= spacing
        ):
            shown.insert(at, c)
            chosen.append(int(i))
    return sorted(chosen)


def _label_size(pitch: float, needed_per_pt: float, style: Style) -> float:
    return float(np.clip(pitch / needed_per_pt, style.min_label_size, style.label_size))


class _Builder:
    """Builds one panel; a class only to share the metrics, style and bounds between steps."""

    def __init__(self, spec: HeatmapSpec, style: Style, fm: TextMetrics) -> None:
        self.spec, self.style, self.fm = spec, style, fm
        self.bounds = _Bounds()

    def text(
        self,
        x: float,
        y: float,
        label: str,
        size: float,
        *,
        bold: bool = False,
        anchor: Literal["start", "middle", "end"] = "start",
        fill: RGBA = BLACK,
        limit: int | None = -1,
    ) -> Text:
        """A measured text node; ``limit`` characters at most (-1: the style's label limit,
        None: no limit)."""
        limit = self.style.max_label_chars if limit == -1 else limit
        return text_node(
            self.fm, x, y, label, size, bold=bold, anchor=anchor, fill=fill, limit=limit
        )

    def centred_baseline(self, y: float, size: float) -> float:
        """Baseline that centres capitals and digits vertically on ``y``."""
        return y + self.fm.cap_height * size / 2

    def label(
        self,
        text: Text,
        transform: Transform,
        highlight: bool,
        role: str,
    ) -> Group:
        """A label in its own coordinates (anchor at the origin), with an optional rounded
        highlight behind it; its corners go into the bounds."""
        pad, size = self.style.highlight_pad, text.size
        x0 = text.x + {"start": 0.0, "middle": -text.width / 2, "end": -text.width}[text.anchor]
        top = text.y - self.fm.ascent * size * 0.8
        bottom = text.y - self.fm.descent * size
        box = (x0 - pad, top - pad, x0 + text.width + pad, bottom + pad)
        children: list[Node] = []
        if highlight:
            children.append(
                Rect(box[0], box[1], box[2] - box[0], box[3] - box[1], fill=HIGHLIGHT, radius=2.5)
            )
        children.append(text)
        corners = [(box[0], box[1]), (box[2], box[1]), (box[0], box[3]), (box[2], box[3])]
        self.bounds.add_points(apply(transform, corners))
        return Group(tuple(children), transform=transform, role=role)

    # -- parts of the panel ----------------------------------------------------------------

    def axis_labels(
        self,
        labels: Sequence[str],
        centers: NDArray[np.float64],
        pitch: float,
        marked: NDArray[np.bool_],
        axis: Literal["x", "y"],
    ) -> tuple[Group, float]:
        """Tick labels along one axis; returns the group and how far it reaches from the
        heatmap edge."""
        style = self.style
        # Rotated column labels need more room between neighbours than stacked row labels.
        needed = 1.25 if axis == "y" else 1.25 / SIN45
        size = _label_size(pitch, needed, style)
        shown = _thin(centers, marked, size * needed)
        offset = style.tick_length + style.label_pad
        nodes: list[Node] = []
        reach = 0.0
        for i in shown:
            label = labels[i]
            bold = is_special_token(label, self.spec.special_tokens)
            c = float(centers[i])
            if axis == "y":
                text = self.text(
                    0.0, self.centred_baseline(0.0, size), label, size, bold=bold, anchor="end"
                )
                nodes.append(Line(-style.tick_length, c, 0.0, c, BLACK, style.tick_width))
                transform = translation(-offset, c)
                reach = max(reach, offset + text.width + style.highlight_pad)
            else:
                # Start each label at its tick and run it up and to the right, so neighbours
                # stay parallel and never collide (centring them, as matplotlib does, makes
                # long labels crowd their left neighbours).
                # A little way along the ray, so the tick below does not read as a dash.
                start = style.label_pad
                text = self.text(start, self.centred_baseline(0.0, size), label, size, bold=bold)
                nodes.append(Line(c, -style.tick_length, c, 0.0, BLACK, style.tick_width))
                transform = compose(translation(c, -offset), rotation(45.0))
                reach = max(
                    reach, offset + (start + text.width + size) * SIN45 + style.highlight_pad
                )
            nodes.append(self.label(text, transform, bool(marked[i]), f"{axis}-label"))
        return Group(tuple(nodes), role=f"{axis}-labels"), reach

    def values(self, cells: CellLayout) -> Group:
        """The value of each top cell (every cell with ``show_values="all"``, when they have
        room for it), written inside it in a colour that reads on the cell."""
        if not self.spec.show_values:
            return Group(role="values")
        shape = cells.matrix.shape
        if self.spec.show_values == "all" and shape[0] * shape[1] <= self.style.vector_cell_limit:
            rows, cols = (index.ravel() for index in np.indices(shape))
            values = np.asarray(cells.matrix[:, :], dtype=np.float64)[rows, cols]
            known = ~np.isnan(values)  # masked cells have no value
            group = self.values_inside(cells, rows[known], cols[known], values[known])
            if group is not None:
                return group
        rows, cols, values = cells.top_rows, cells.top_cols, cells.top_values
        if len(rows) == 0:
            return Group(role="values")
        group = self.values_inside(cells, rows, cols, values)
        return self.value_callouts(cells, *cells.centers) if group is None else group

    def values_inside(
        self,
        cells: CellLayout,
        rows: NDArray[np.intp],
        cols: NDArray[np.intp],
        values: NDArray[np.float64],
    ) -> Group | None:
        """``values`` written inside their cells, or None when the cells are too small."""
        style, fm = self.style, self.fm
        widths, heights = cells.sizes
        labels = format_numbers(values, 3)
        sample = max(fm.width(label, 1.0) for label in ["0.000", *labels])
        size = min(
            style.value_size,
            float(heights[rows].min()) * 0.45,
            float(widths[cols].min()) * 0.85 / sample,
        )
        xc, yc = cells.centers
        if size < style.min_value_size:
            return None
        luminance = relative_luminance(cells.scale.rgba(values))
        nodes: list[Node] = []
        for r, c, lum, value in zip(
            rows.tolist(), cols.tolist(), luminance.tolist(), labels, strict=True
        ):
            fill = DARK_TEXT if lum > 0.408 else WHITE
            nodes.append(
                Text(
                    float(xc[c]),
                    self.centred_baseline(float(yc[r]), size),
                    value,
                    size,
                    fm.width(value, size),
                    fill,
                    anchor="middle",
                )
            )
        return Group(tuple(nodes), role="values")

    def value_callouts(
        self, cells: CellLayout, xc: NDArray[np.float64], yc: NDArray[np.float64]
    ) -> Group:
        """Top cells too small to hold their value (long sequences): a ring around each, with
        the value beside it on a white tag, so they stay findable and readable. Only the
        ``max_callouts`` largest get one when many cells tie."""
        style, fm = self.style, self.fm
        rows, cols = cells.top_rows, cells.top_cols
        values = cells.top_values
        order = np.argsort(-values, kind="stable")[: style.max_callouts]
        labels = format_numbers(values[order], 3)
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
                Rect(
                    left - 1,
                    y - size * 0.6,
                    width + 2,
                    size * 1.2,
                    fill=WHITE,
                    stroke=CALLOUT,
                    stroke_width=0.4,
                    radius=1.0,
                )
            )
            nodes.append(Text(left, self.centred_baseline(y, size), value, size, width, CALLOUT))
        return Group(tuple(nodes), role="values")

    def positions(
        self, count: int, pitch: float, extent: float, axis: Literal["x", "y"]
    ) -> tuple[Group, float]:
        """Light position ticks (0, 1k, 2k, ...) below the heatmap (columns) or right of it
        (rows), so a cell of a long map can be located when most labels are thinned out.
        Returns the group and how far it reaches beyond the heatmap's edge at ``extent``."""
        style, fm = self.style, self.fm
        size, tick = style.position_size, style.tick_length * 0.6
        nodes: list[Node] = []
        reach = tick + size * 1.25
        for index in range(0, count + 1, position_step(count, style.position_ticks)):
            at = index * pitch
            label = position_label(index)
            nodes.append(
                Line(at, extent, at, extent + tick, FAINT, 0.4)
                if axis == "x"
                else Line(extent, at, extent + tick, at, FAINT, 0.4)
            )
            if axis == "x":
                node = text_node(
                    fm, at, extent + tick + size, label, size, anchor="middle", fill=FAINT
                )
                self.bounds.add(at - node.width / 2, extent, at + node.width / 2, extent + reach)
            else:
                x = extent + tick + 1.5
                node = text_node(fm, x, self.centred_baseline(at, size), label, size, fill=FAINT)
                reach = max(reach, x + node.width - extent)
                self.bounds.add(extent, at - size, x + node.width, at + size)
            nodes.append(node)
        return Group(tuple(nodes), role=f"{axis}-positions"), reach

    def note(self, text: str, y: float) -> Group:
        """Small print under the heatmap, e.g. how pixels were pooled."""
        size = self.style.position_size
        node = text_node(self.fm, 0.0, y + size, text, size, fill=FAINT)
        self.bounds.add(0.0, y, node.width, y + size * 1.25)
        return Group((node,), role="note")

    def titles(self, width: float, height: float, x_reach: float, y_reach: float) -> list[Group]:
        """The title and x-axis title, stacked upwards from the column labels and centred on
        the heatmap (``width`` x ``height``), and the y-axis title left of the row labels. On a
        fixed page width they are cut to the page and moved sideways to stay on it."""
        spec, style = self.spec, self.style
        groups: list[Group] = []
        baseline = -x_reach - 6.0
        for text, size, role in (
            (spec.xlabel, style.axis_label_size, "xlabel"),
            (spec.title, style.title_size, "title"),
        ):
            if text:
                node, centre = self.fitted_title(text, size, width / 2)
                node = dataclasses.replace(node, x=centre, y=baseline)
                half = node.width / 2
                self.bounds.add(centre - half, baseline - size, centre + half, baseline + size / 4)
                groups.append(Group((node,), role=role))
                baseline -= size * 1.25
        if spec.ylabel:
            size = style.axis_label_size
            node = self.text(
                0.0, 0.0, spec.ylabel, size, anchor="middle", limit=style.max_title_chars
            )
            transform = compose(translation(-y_reach - 6.0, height / 2), rotation(90.0))
            corners = [(-node.width / 2, -size), (node.width / 2, 0.25)]
            self.bounds.add_points(apply(transform, corners))
            groups.append(Group((node,), transform=transform, role="ylabel"))
        return groups

    def fitted_title(self, text: str, size: float, centre: float) -> tuple[Text, float]:
        """A centred title and the x of its centre: ``centre``, or on a fixed page width the
        nearest x that keeps the title and everything laid out so far within the page."""
        style = self.style
        node = self.text(0.0, 0.0, text, size, anchor="middle", limit=style.max_title_chars)
        if style.page_width is None:
            return node, centre
        room = style.page_width - 2 * style.margin
        if node.width > room:
            node = self.text(0.0, 0.0, fit_text(self.fm, node.text, size, room), size,
                             anchor="middle", limit=None)  # fmt: skip
        left, _, right, _ = self.bounds.box
        half = node.width / 2
        low, high = right - room + half, left + room - half
        return node, min(max(centre, low), high) if low <= high else centre

    def colorbar(self, x: float, height: float) -> Group:
        """A colour bar as tall as the heatmap: the colormap drawn linearly along the bar, ticks
        at evenly spaced data values placed at their gamma-normalised positions."""
        size = self.style.label_size
        group, reach = colorbar(self.spec.scale, x, 0.0, height, self.fm, self.style)
        self.bounds.add(x, -size, reach, height + size)
        return group

    def legend(self, x: float, top: float) -> Group:
        """The spec's legend in a light frame whose top-left corner is ``(x, top)``: per row a
        line sample on its swatch, then the label (as matplotlib draws a legend)."""
        size = self.style.label_size
        pad, sample, row = size * 0.5, size * 2.0, size * 1.6
        nodes: list[Node] = []
        texts = []
        for k, entry in enumerate(self.spec.legend):
            middle = top + pad + row * (k + 0.5)
            nodes.append(Rect(x + pad, middle - size * 0.6, sample, size * 1.2, fill=entry.swatch))
            nodes.append(Line(x + pad, middle, x + pad + sample, middle, entry.line, entry.width))
            label_x = x + 2 * pad + sample
            texts.append(self.text(label_x, self.centred_baseline(middle, size), entry.label, size))
        frame_width = 3 * pad + sample + max(text.width for text in texts)
        frame_height = 2 * pad + row * len(texts)
        frame = Rect(
            x,
            top,
            frame_width,
            frame_height,
            fill=WHITE,
            stroke=LEGEND_EDGE,
            stroke_width=0.8,
            radius=2.0,
        )
        self.bounds.add(x, top, x + frame_width, top + frame_height)
        return Group((frame, *nodes, *texts), role="legend")


MIN_MAP_WIDTH = 36.0
"""The narrowest heatmap (points) a fixed page width may leave: half an inch of cells."""


def heatmap_panel(
    spec: HeatmapSpec, style: Style | None = None, fm: TextMetrics | None = None
) -> Panel:
    """Lay out one heatmap panel: cells, top-cell values, labels, regions, colour bar, titles.

    The heatmap's top-left corner is at the origin; ``Panel.bounds`` covers everything drawn.
    With ``style.page_width`` set, the heatmap is made as wide as leaves everything else
    (labels, colour bar, titles) inside the page's margins; text keeps its size and labels are
    thinned instead. ``ValueError`` (naming ``width`` and the smallest width that works) when
    even a :data:`MIN_MAP_WIDTH` heatmap leaves no room.
    """
    style = style or Style()
    fm = fm or metrics(style.font)
    if style.page_width is None:
        return _panel(spec, style, fm)
    room = style.page_width - 2 * style.margin
    budget = room
    for _ in range(12):  # the labels' reach barely depends on the cells: converges in 2 or 3
        fitted = dataclasses.replace(style, max_width=budget, max_height=budget)
        spec = _pooled_for(spec, fitted)
        panel = _panel(spec, fitted, fm)
        over = panel.bounds[2] - panel.bounds[0] - room
        if over <= 1e-6:
            return panel
        budget -= max(over, 0.25)
        if budget < MIN_MAP_WIDTH:
            break
    narrowest = _panel(spec, dataclasses.replace(style, max_width=MIN_MAP_WIDTH), fm)
    need = (narrowest.bounds[2] - narrowest.bounds[0] + 2 * style.margin) / 72
    raise ValueError(
        f"width: {style.page_width / 72:g} in is too narrow for this figure's labels, colour "
        f"bar and titles at {style.label_size:g} pt; the smallest width that works is "
        f"{math.ceil(need * 100) / 100:g} in (or use a smaller font_size)"
    )


def _pooled_for(spec: HeatmapSpec, style: Style) -> HeatmapSpec:
    """``spec`` with its cells pooled into the pixels of the heatmap ``style`` lays out (a
    page width shrinks the heatmap below the size its first summary assumed): the matrix is
    read again only when those pixels change."""
    summary = spec.summary
    if summary is None:
        return spec
    bounds = display_bounds(summary.shape, style)
    if all(
        np.array_equal(new, old)
        for new, old in zip(bounds, (summary.row_bounds, summary.col_bounds), strict=True)
    ):
        return spec
    again = summarize(spec.matrix, spec.top_n, *bounds, summary.pool, masked=summary.masked)
    return dataclasses.replace(spec, summary=again)


def _panel(spec: HeatmapSpec, style: Style, fm: TextMetrics) -> Panel:
    """One panel laid out in ``style.max_width`` x ``style.max_height`` of cells."""
    b = _Builder(spec, style, fm)
    matrix = spec.matrix
    rows, cols = matrix.shape
    summary = spec.summary or summarize(
        matrix, spec.top_n, *display_bounds((rows, cols), style), spec.pool
    )
    top_rows, top_cols = summary.top_rows, summary.top_cols
    marked_rows = np.zeros(rows, dtype=bool)
    marked_rows[top_rows] = True
    marked_cols = np.zeros(cols, dtype=bool)
    marked_cols[top_cols] = True
    # Cells smaller than a pixel are not enlarged: nobody could see it.
    big_rows, big_cols = (
        (np.zeros(rows, bool), np.zeros(cols, bool))
        if summary.pooled
        else (marked_rows, marked_cols)
    )
    unit_w, unit_h = _cell_sizes(rows, cols, big_rows, big_cols, spec.enlarged_size, style)
    x_edges = _edges(np.where(big_cols, unit_w * spec.enlarged_size, unit_w))
    y_edges = _edges(np.where(big_rows, unit_h * spec.enlarged_size, unit_h))
    width, height = float(x_edges[-1]), float(y_edges[-1])
    cells = CellLayout(x_edges, y_edges, matrix, spec.scale, top_rows, top_cols, summary.top_values)
    grid = _cell_grid(spec, summary, x_edges, y_edges, style, min(unit_w, unit_h))
    b.bounds.add(0.0, 0.0, width, height)

    heat_nodes: list[Node] = [grid]
    if spec.overlay is not None:
        heat_nodes.extend(spec.overlay(cells))
    heat_nodes.append(b.values(cells))
    heat_nodes.extend(
        Rect(
            float(x_edges[c0]),
            float(y_edges[r0]),
            float(x_edges[c1 + 1] - x_edges[c0]),
            float(y_edges[r1 + 1] - y_edges[r0]),
            stroke=spec.region_color,
            stroke_width=spec.region_width,
        )
        for r0, c0, r1, c1 in spec.regions
    )
    children: list[Node] = [Group(tuple(heat_nodes), role="heatmap")]

    xc, yc = cells.centers
    y_group, y_reach = b.axis_labels(spec.y_labels, yc, unit_h, marked_rows, "y")
    x_group, x_reach = b.axis_labels(spec.x_labels, xc, unit_w, marked_cols, "x")
    children += [y_group, x_group]
    colorbar_x = width + style.colorbar_gap
    per_row, per_col = summary.cells_per_pixel
    below = 0.0
    if per_col > 1:
        x_positions, below = b.positions(cols, unit_w, height, "x")
        children.append(x_positions)
    if per_row > 1:
        y_positions, beside = b.positions(rows, unit_h, width, "y")
        children.append(y_positions)
        colorbar_x += beside
    if summary.pooled and not spec.full_resolution:
        children.append(b.note(summary.note, height + below + 2.0))
    if spec.colorbar:
        children.append(b.colorbar(colorbar_x, height))
    if spec.legend:
        children.append(b.legend(colorbar_x, height + style.label_size))

    children += b.titles(width, height, x_reach, y_reach)
    return Panel(Group(tuple(children), role=spec.role), b.bounds.freeze(), cells)


def _cell_grid(
    spec: HeatmapSpec,
    summary: MatrixSummary,
    x_edges: NDArray[np.float64],
    y_edges: NDArray[np.float64],
    style: Style,
    smallest: float,
) -> CellGrid:
    """The cells as drawn: one per matrix cell, or one per display pixel when pooled (each
    over exactly its cells; a short last row or column of pixels is drawn full size, less
    than a pixel past the edge, so the image stays one pixel per block)."""
    scale = spec.scale
    if summary.pooled and spec.full_resolution and not summary.masked:
        indices, palette, missing = color_indices(spec.matrix, scale), scale.palette, None
    else:  # a masked matrix is a float64 array in memory already
        shown = spec.matrix if summary.pooled and spec.full_resolution else summary.display
        indices, palette, missing = scale.cell_indices(np.asarray(shown))
    if summary.pooled and not spec.full_resolution:
        per_row, per_col = summary.cells_per_pixel
        x_edges = np.arange(indices.shape[1] + 1) * (per_col * float(x_edges[1]))
        y_edges = np.arange(indices.shape[0] + 1) * (per_row * float(y_edges[1]))
    mode = spec.cells
    if mode == "auto":
        mode = "vector" if indices.size <= style.vector_cell_limit else "image"
    # Grid lines fade out as cells shrink, and vanish where they would wash the colours out.
    gap = 0.0 if smallest < 3.0 else min(style.gap, smallest * 0.08)
    if spec.gap is not None:
        gap = min(spec.gap, smallest / 4)
    peaks = summary.pooled and summary.pool == "max"
    return CellGrid(
        x_edges,
        y_edges,
        indices,
        palette,
        gap=gap,
        gap_color=spec.gap_color,
        mode=mode,
        missing=missing,
        peaks=peaks,
    )


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
