"""The overview page: every (layer, head) of a model's attention as a grid of small heatmaps.

Rows are layers, columns are heads, all on one colour scale (or each on its own), with one colour
bar. Thumbnails are small image-mode :class:`~izzyviz.scene.CellGrid` nodes without labels, so
144 heads at 128 tokens lay out in milliseconds; each thumbnail group carries a ``link`` to the
page that shows it in full.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from izzyviz._validate import (
    check_bool,
    check_labels,
)
from izzyviz.colors import ColorScale, ScaleRequest
from izzyviz.figure import Figure
from izzyviz.inputs import display_tokens, stack_attentions
from izzyviz.layout import Style, colorbar, fit_text, text_node
from izzyviz.paper import figure_style
from izzyviz.scene import (
    RGBA,
    CellGrid,
    Group,
    Node,
    Rect,
    Scene,
    compose,
    rotation,
    translation,
)
from izzyviz.text import TextMetrics, metrics

__all__ = ["HeadKey", "Scales", "overview", "overview_data", "overview_scene", "prepare"]


HeadKey = tuple[int, int]
"""A head as ``(layer, head)``."""

#: Head measures :func:`report` can order by (see :func:`izzyviz.aggregation.head_scores`).
BLACK: RGBA = (0.0, 0.0, 0.0, 1.0)
GREY: RGBA = (0.35, 0.35, 0.35, 1.0)
FRAME: RGBA = (0.6, 0.6, 0.6, 1.0)
# Thumbnails of heads that have no page in a report are washed out with this veil.
VEIL: RGBA = (1.0, 1.0, 1.0, 0.7)

# Geometry of the overview page, in points.
MAX_GRID_WIDTH = 720.0
MAX_GRID_HEIGHT = 720.0
MAX_THUMB = 96.0
MIN_THUMB = 12.0
THUMB_SPACING = 0.14  # gap between thumbnails, as a fraction of their width
MARGIN = 18.0
MIN_HEADER_SIZE = 5.0
COLORBAR_GAP = 14.0
COLORBAR_WIDTH = 12.0
TICK_LENGTH = 3.0


@dataclasses.dataclass(frozen=True, slots=True)
class _Grid:
    """Where the thumbnails go: size of one, gap between them, extra room under each."""

    width: float
    height: float
    gap: float
    note: float

    @classmethod
    def fit(
        cls,
        layers: int,
        heads: int,
        q: int,
        k: int,
        note: float,
        max_width: float,
        smallest: float = MIN_THUMB,
    ) -> _Grid:
        """Thumbnails as large as fit ``max_width`` x :data:`MAX_GRID_HEIGHT` points (but at
        least ``smallest`` wide), with ``note`` points under each for its note."""
        aspect = float(np.clip(q / k, 0.25, 4.0))
        s = THUMB_SPACING
        width = min(
            MAX_THUMB,
            max_width / (heads + s * (heads - 1)),
            (MAX_GRID_HEIGHT - layers * note) / (layers * aspect + s * (layers - 1)),
        )
        width = max(width, smallest)
        gap = float(np.clip(s * width, min(3.0, width / 4), 10.0))
        return cls(width, width * aspect, gap, note)

    def origin(self, row: int, col: int) -> tuple[float, float]:
        """Top-left corner of a thumbnail relative to the grid's top-left corner."""
        return col * (self.width + self.gap), row * (self.height + self.gap + self.note)

    def extent(self, rows: int, cols: int) -> tuple[float, float]:
        """Width and height of the whole grid (notes included)."""
        return (
            cols * self.width + (cols - 1) * self.gap,
            rows * (self.height + self.note) + (rows - 1) * self.gap,
        )


# The overview's colour bar: the heatmap's, smaller.
COLORBAR_STYLE = Style(
    colorbar_width=COLORBAR_WIDTH,
    tick_length=TICK_LENGTH,
    tick_width=0.6,
    label_pad=2.0,
)


def _colorbar(
    fm: TextMetrics,
    scale: ColorScale,
    x: float,
    top: float,
    height: float,
    shared: bool,
    style: Style,
) -> tuple[Group, float]:
    """A framed vertical colour bar; returns it and the x where its labels end. On a per-head
    scale it only says which end is each head's maximum."""
    ticks = None if shared else [("head max", 1.0), ("head min", 0.0)]
    bar_style = dataclasses.replace(COLORBAR_STYLE, label_size=style.caption_size)
    if shared:  # as many ticks as fit, up to the heatmap's seven
        count = int(np.clip(height // (style.caption_size * 3.5) + 1, 2, 7))
        bar_style = dataclasses.replace(bar_style, colorbar_ticks=count)
    bar, reach = colorbar(scale, x, top, height, fm, bar_style, ticks)
    frame = Rect(x, top, COLORBAR_WIDTH, height, stroke=FRAME, stroke_width=0.4)
    return Group((*bar.children, frame), role="colorbar"), reach


@dataclasses.dataclass(frozen=True, slots=True)
class Scales:
    """The colours of every thumbnail: one shared scale, or one per head."""

    shared: ColorScale
    indices: NDArray[np.uint8]
    per_head: dict[HeadKey, ColorScale]

    @property
    def is_shared(self) -> bool:
        """Whether every head has the shared scale."""
        return all(scale is self.shared for scale in self.per_head.values())

    @classmethod
    def of(cls, stack: NDArray[np.float64], shared_scale: bool, request: ScaleRequest) -> Scales:
        """One scale over every head of a ``(layers, heads, q, k)`` stack, or one per head, as
        ``request`` asks (its percentiles are of the heads drawn)."""
        layers, heads = stack.shape[:2]
        keys = [(i, j) for i in range(layers) for j in range(heads)]
        if shared_scale:
            shared = _scale(request, stack.reshape(-1, *stack.shape[2:]))
            return cls(shared, shared.indices(stack), dict.fromkeys(keys, shared))
        indices = np.empty(stack.shape, dtype=np.uint8)
        per_head = {}
        for i, j in keys:  # each head's own range unless fixed
            scale = _scale(request, stack[i, j][None])
            indices[i, j] = scale.indices(stack[i, j])
            per_head[i, j] = scale
        return cls(per_head[keys[0]], indices, per_head)


def _scale(request: ScaleRequest, maps: NDArray[np.float64]) -> ColorScale:
    """The scale ``request`` gives a ``(count, q, k)`` stack of maps drawn together."""
    found = {p: float(np.percentile(maps, p, method="inverted_cdf")) for p in request.percentiles}
    return request.resolve(float(maps.min()), float(maps.max()), list(maps), maps.shape[1:],
                           found)  # fmt: skip


@dataclasses.dataclass(frozen=True, slots=True)
class _Headers:
    """Column and row headers: "Head 3" / "Layer 0" when they fit, else bare numbers under
    axis titles ("compact")."""

    columns: list[str]
    rows: list[str]
    size: float
    compact: bool
    row_width: float

    @classmethod
    def fit(cls, fm: TextMetrics, grid: _Grid, layers: int, heads: int, style: Style) -> _Headers:
        top = style.caption_size
        size = min(top, grid.height * 0.6, grid.width * 0.95 / fm.width(f"Head {heads - 1}", 1.0))
        compact = size < min(MIN_HEADER_SIZE, top)
        if compact:
            size = min(top, grid.height * 0.8, grid.width * 0.9 / fm.width(str(heads - 1), 1))
        if style.page_width is not None:  # a paper's figure: never below the readable size
            size = max(size, style.min_value_size)
        columns = [str(h) if compact else f"Head {h}" for h in range(heads)]
        rows = [str(i) if compact else f"Layer {i}" for i in range(layers)]
        row_width = max(fm.width(label, size) for label in rows) + 4.0
        return cls(columns, rows, size, compact, row_width)


@dataclasses.dataclass(frozen=True, slots=True)
class _OverviewPage:
    """What every part of the overview page needs: metrics, style, grid, headers, margins."""

    fm: TextMetrics
    style: Style
    grid: _Grid
    headers: _Headers
    margin: float
    layers: int
    heads: int

    @property
    def grid_left(self) -> float:
        h = self.headers
        return self.margin + h.row_width + (self.style.caption_size * 1.4 if h.compact else 0.0)

    def top(self, title: str, subtitle: str) -> tuple[list[Node], float]:
        """Title, subtitle and (compact) the "Head" axis title; returns them and the y where
        the grid starts."""
        fm, style, margin = self.fm, self.style, self.margin
        grid_w, _ = self.grid.extent(self.layers, self.heads)
        page_right = self.grid_left + grid_w - margin
        if style.page_width is not None:
            page_right = style.page_width - 2 * margin
            title = fit_text(fm, title, style.title_size, page_right, bold=True)
        baseline = margin + style.title_size
        nodes: list[Node] = [
            Group(
                (text_node(fm, margin, baseline, title, style.title_size, bold=True),),
                role="title",
            )
        ]
        cursor = baseline + style.title_size * 0.4
        size = style.caption_size
        subtitle = fit_text(
            fm, subtitle, size, max(page_right, 360.0 if style.page_width is None else 0.0)
        )
        baseline = cursor + size * 1.2
        nodes.append(
            Group((text_node(fm, margin, baseline, subtitle, size, fill=GREY),), role="subtitle")
        )
        cursor = baseline + size * 0.8
        if self.headers.compact:
            baseline = cursor + size * 1.2
            axis = text_node(
                fm, self.grid_left + grid_w / 2, baseline, "Head", size, anchor="middle"
            )
            nodes.append(Group((axis,), role="column-axis"))
            cursor = baseline + size * 0.4
        return nodes, cursor + self.headers.size * 1.7

    def header_groups(self, grid_top: float) -> list[Node]:
        """Column headers above the thumbnails, row headers left of them."""
        fm, grid, headers = self.fm, self.grid, self.headers
        size, left = headers.size, self.grid_left
        baseline = grid_top - size * 0.5
        columns = [
            text_node(fm, left + grid.origin(0, h)[0] + grid.width / 2, baseline, label, size,
                      anchor="middle")
            for h, label in enumerate(headers.columns)
        ]  # fmt: skip
        rows: list[Node] = []
        for i, label in enumerate(headers.rows):
            y = grid_top + grid.origin(i, 0)[1] + grid.height / 2 + fm.cap_height * size / 2
            rows.append(text_node(fm, left - 4.0, y, label, size, anchor="end"))
        if headers.compact:
            axis_size = self.style.caption_size
            _, grid_h = grid.extent(self.layers, self.heads)
            axis = text_node(fm, 0.0, 0.0, "Layer", axis_size, anchor="middle")
            transform = compose(
                translation(self.margin + axis_size, grid_top + grid_h / 2), rotation(90.0)
            )
            rows.append(Group((axis,), transform=transform, role="row-axis"))
        return [
            Group(tuple(columns), role="column-headers"),
            Group(tuple(rows), role="row-headers"),
        ]

    def thumbnails(
        self,
        scales: Scales,
        grid_top: float,
        links: Mapping[HeadKey, str] | None,
        notes: Mapping[HeadKey, str] | None,
    ) -> tuple[Group, list[dict[str, Any]]]:
        """One framed image per head (washed out when it has no link of its own), its note
        under it; and per head its layer, scale ends and link."""
        grid, layers, heads = self.grid, self.layers, self.heads
        _, _, q, k = scales.indices.shape
        if links is None:  # the pages of a report of every head in (layer, head) order
            links = {
                (i, j): f"#page-{2 + i * heads + j}" for i in range(layers) for j in range(heads)
            }
            faded: set[HeadKey] = set()
        else:
            faded = {(i, j) for i in range(layers) for j in range(heads)} - set(links)
        x_unit = np.linspace(0.0, grid.width, k + 1)
        y_unit = np.linspace(0.0, grid.height, q + 1)
        note_size = self.style.position_size
        thumbs: list[Node] = []
        records: list[dict[str, Any]] = []
        for i in range(layers):
            for j in range(heads):
                x, y = grid.origin(i, j)
                cells = CellGrid(
                    x_unit, y_unit, scales.indices[i, j], scales.shared.palette, mode="image"
                )
                children: list[Node] = [cells]
                if (i, j) in faded:
                    children.append(Rect(0.0, 0.0, grid.width, grid.height, fill=VEIL))
                children.append(
                    Rect(0.0, 0.0, grid.width, grid.height, stroke=FRAME, stroke_width=0.4)
                )
                note = notes.get((i, j)) if notes else None
                if note:
                    children.append(
                        text_node(self.fm, grid.width / 2, grid.height + note_size * 1.2, note,
                                  note_size, anchor="middle", fill=GREY)
                    )  # fmt: skip
                link = links.get((i, j))
                origin = translation(self.grid_left + x, grid_top + y)
                thumbs.append(Group(tuple(children), origin, role="thumbnail", link=link))
                scale = scales.per_head[i, j]
                records.append(
                    {"layer": i, "head": j, "vmin": scale.vmin, "vmax": scale.vmax, "link": link}
                )
        return Group(tuple(thumbs), role="thumbnails"), records


def _overview_page(
    stack: NDArray[np.float64], style: Style, notes: bool, max_width: float
) -> _OverviewPage:
    """The overview's geometry with the grid at most ``max_width`` points wide."""
    fm = metrics(style.font)
    layers, heads, q, k = stack.shape
    note = style.position_size * 1.5 if notes else 0.0
    # A page of fixed width may take thumbnails down to half the usual smallest, as long as
    # their numbers (compact headers) still fit at the readable size.
    smallest = MIN_THUMB
    if style.page_width is not None:
        smallest = max(MIN_THUMB / 2, fm.width(str(heads - 1), style.min_value_size) / 0.9)
    grid = _Grid.fit(layers, heads, q, k, note, max_width, smallest)
    headers = _Headers.fit(fm, grid, layers, heads, style)
    margin = MARGIN if style.page_width is None else style.margin
    return _OverviewPage(fm, style, grid, headers, margin, layers, heads)


def overview_scene(
    stack: NDArray[np.float64],
    labels: Sequence[str],
    style: Style,
    scales: Scales,
    title: str | None,
    links: Mapping[HeadKey, str] | None,
    notes: Mapping[HeadKey, str] | None,
) -> tuple[Scene, list[dict[str, Any]]]:
    """Lay out the overview page of a ``(layers, heads, q, k)`` stack (titled ``title``, by
    default "Attention overview"), and per thumbnail its layer, head, scale ends and link; on
    a fixed page width the grid shrinks until the colour bar's labels end inside the page."""
    title = title or "Attention overview"
    budget = MAX_GRID_WIDTH if style.page_width is None else style.page_width
    for _ in range(12):
        geometry = _overview_page(stack, style, bool(notes), budget)
        scene, records = _overview_layout(geometry, labels, scales, title, links, notes)
        over = scene.width - (style.page_width or scene.width)
        if over <= 1e-6:
            return dataclasses.replace(scene, width=style.page_width or scene.width), records
        budget -= max(over, 0.25)
    narrowest, _ = _overview_layout(
        _overview_page(stack, style, bool(notes), 0.0), labels, scales, title, links, notes
    )
    raise ValueError(
        f"width: {style.page_width and style.page_width / 72:g} in is too narrow for an "
        f"overview of {stack.shape[1]} heads at {style.caption_size:g} pt; the smallest width "
        f"that works is {math.ceil(narrowest.width / 72 * 100) / 100:g} in"
    )


def _overview_layout(
    geometry: _OverviewPage,
    labels: Sequence[str],
    scales: Scales,
    title: str,
    links: Mapping[HeadKey, str] | None,
    notes: Mapping[HeadKey, str] | None,
) -> tuple[Scene, list[dict[str, Any]]]:
    """The overview page drawn with ``geometry`` (its width follows the content), and the
    thumbnails' records."""
    g, style = geometry, geometry.style
    layers, heads = g.layers, g.heads
    k = scales.indices.shape[3]
    subtitle = f"{layers} layers × {heads} heads, {k} tokens: " + " ".join(labels)
    top_nodes, grid_top = g.top(title, subtitle)
    thumbs, records = g.thumbnails(scales, grid_top, links, notes)
    grid_w, grid_h = g.grid.extent(layers, heads)
    bar_height = layers * g.grid.height + (layers - 1) * (g.grid.gap + g.grid.note)
    bar_x = (
        g.grid_left + grid_w + (COLORBAR_GAP if style.page_width is None else style.colorbar_gap)
    )
    bar, reach = _colorbar(
        g.fm, scales.shared, bar_x, grid_top, bar_height, scales.is_shared, style
    )
    title_node = top_nodes[0]
    assert isinstance(title_node, Group)
    title_width = title_node.children[0].width + 2 * g.margin  # type: ignore[union-attr]
    width = math.ceil(max(reach + g.margin, title_width))
    height = math.ceil(grid_top + grid_h + g.margin)
    root = Group((*top_nodes, *g.header_groups(grid_top), thumbs, bar), role="overview")
    return Scene(width, height, root, title=title, font=style.font), records


def overview_data(
    shape: tuple[int, ...], scales: Scales, gamma: float, records: list[dict[str, Any]]
) -> dict[str, Any]:
    """``Figure.data`` of an overview: its shape, colour scale and thumbnails."""
    layers, heads, q, k = shape
    shared = scales.is_shared
    return {
        "kind": "overview",
        "layers": layers,
        "heads": heads,
        "shape": [q, k],
        "shared_scale": shared,
        "vmin": scales.shared.vmin if shared else None,
        "vmax": scales.shared.vmax if shared else None,
        "gamma": gamma,
        "cmap": scales.shared.cmap,
        "norm": scales.shared.norm,
        "thumbnails": records,
    }


def prepare(
    attentions: Any,
    tokens: Any,
    query_tokens: Any,
    batch_index: int,
    raw_tokens: bool,
) -> tuple[NDArray[np.float64], list[str], list[str]]:
    """The ``(layers, heads, q, k)`` stack and display labels of its columns and rows."""
    stack = stack_attentions(attentions, batch_index=batch_index)
    _, _, q, k = stack.shape
    xs = display_tokens(check_labels(tokens, "tokens", k, "key columns"), raw=raw_tokens)
    if query_tokens is None:
        if q != k:
            raise ValueError(
                f"query_tokens: the attention is {q} x {k} (not square), so the {q} query "
                "tokens must be given as query_tokens="
            )
        ys = xs
    else:
        ys = display_tokens(
            check_labels(query_tokens, "query_tokens", q, "query rows"), raw=raw_tokens
        )
    return stack, xs, ys


def overview(
    attentions: Any,
    tokens: Sequence[str],
    *,
    batch_index: int = 0,
    shared_scale: bool = True,
    gamma: float = 1.5,
    cmap: str = "Blues",
    title: str | None = None,
    vmin: float | str | None = None,
    vmax: float | str | None = None,
    raw_tokens: bool = False,
    query_tokens: Sequence[str] | None = None,
    links: Mapping[HeadKey, str] | None = None,
    notes: Mapping[HeadKey, str] | None = None,
    width: float | None = None,
    font: str | os.PathLike[str] | None = None,
    font_size: float | None = None,
    style: str | None = None,
    norm: str = "auto",
) -> Figure:
    """Draw every layer and head of a model's attention as a grid of small heatmaps.

    Rows are layers, columns are heads; each thumbnail shows one ``(q, k)`` attention matrix
    without labels, so even 12 x 12 heads at 128 tokens stay readable on one page.

    Parameters
    ----------
    attentions
        Attention of every layer: ``outputs.attentions`` of a transformers model run with
        ``output_attentions=True``, a list of per-layer arrays, or a stacked array (see
        :func:`izzyviz.stack_attentions`).
    tokens
        One token per key position (the columns); shown, shortened, under the title.
    batch_index
        Which sequence of the batch to draw.
    shared_scale
        One colour scale over all heads (with one colour bar) so heads can be compared; False
        stretches each head over its own min..max.
    gamma, cmap, vmin, vmax, norm
        The colour scale, as for :func:`izzyviz.heatmap` (``vmin``/``vmax`` fix its ends:
        numbers, or percentiles of the heads drawn; ``norm="auto"`` is the power scale up to
        128 tokens and a log scale beyond).
    title
        Page title (default ``"Attention overview"``).
    raw_tokens
        Show tokens as they are instead of readable labels (see :func:`izzyviz.display_tokens`).
    query_tokens
        Row tokens when the attention is not square (cross-attention).
    links
        Where each thumbnail links to, by ``(layer, head)``: ``"#page-N"`` (page ``N``, counted
        from 1, of the same PDF), a file name or a URL. Thumbnails missing from the mapping are
        drawn faded. By default thumbnail ``(l, h)`` links to page ``2 + l * heads + h``: its page
        in a :func:`report` of every head.
    notes
        A short text drawn under a thumbnail, by ``(layer, head)`` (e.g. its rank and score).
    width, font, font_size, style
        Fit the page to a paper (page width in inches, font file or family, text size in
        points, or the preset ``"column"`` / ``"page"``): see :func:`izzyviz.figure_style`.

    Returns
    -------
    Figure
        One page. ``fig.data`` holds the colour scale and, per thumbnail, its layer, head,
        scale ends and link.

    Examples
    --------
    >>> import izzyviz
    >>> sample = izzyviz.load_sample("quick_start")
    >>> fig = izzyviz.overview(sample.attentions, sample.tokens)
    >>> len(fig.scene.find("thumbnail"))
    72
    """
    request = ScaleRequest.of(gamma, cmap, norm, vmin, vmax)  # refused before anything is read
    stack, xs, _ = prepare(attentions, tokens, query_tokens, batch_index, raw_tokens)
    layout = figure_style(width, font, font_size, style)
    scales = Scales.of(stack, check_bool(shared_scale, "shared_scale"), request)
    scene, records = overview_scene(stack, xs, layout, scales, title, links, notes)
    return Figure(scene, overview_data(stack.shape, scales, float(gamma), records))
