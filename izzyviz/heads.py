"""Every head at once: an overview grid of small heatmaps, and a multi-page report.

:func:`overview` draws one thumbnail per (layer, head) on one page: rows are layers, columns are
heads, all on one colour scale (or each on its own), with one colour bar. Thumbnails are small
image-mode :class:`~izzyviz.scene.CellGrid` nodes without labels, so 144 heads at 128 tokens lay
out in milliseconds; each thumbnail group carries a ``link`` to the page that shows it in full.

:func:`report` writes that overview followed by one full :func:`izzyviz.heatmap` page per head,
optionally filtered and ordered by a head measure of :func:`izzyviz.rank_heads`. As a PDF, the
pages get outline entries ("Layer L / Head H") and the thumbnails link to their pages; as SVG or
PNG, one file per page is written into a folder and the SVG thumbnails link to the head files.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from izzyviz._io import atomic_files, write_atomic
from izzyviz._validate import (
    check_bool,
    check_index,
    check_labels,
    check_optional_count,
    check_positive,
    describe,
)
from izzyviz.colors import ColorScale, lut
from izzyviz.figure import Figure
from izzyviz.inputs import display_tokens, stack_attentions
from izzyviz.layout import Style, colorbar, fit_text, text_node
from izzyviz.numbers import format_numbers
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

__all__ = ["MEASURES", "overview", "report", "write_pages"]

HeadKey = tuple[int, int]
"""A head as ``(layer, head)``."""

#: Head measures :func:`report` can order by (see :func:`izzyviz.aggregation.head_scores`).
MEASURES = ("entropy", "diagonal_distance", "special_tokens")

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
# Seconds before the progress bar appears: short jobs print nothing.
PROGRESS_DELAY = 0.5


# --------------------------------------------------------------------------------------------
# Overview
# --------------------------------------------------------------------------------------------


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
class _Scales:
    """The colours of every thumbnail: one shared scale, or one per head."""

    shared: ColorScale
    indices: NDArray[np.uint8]
    per_head: dict[HeadKey, ColorScale]

    @property
    def is_shared(self) -> bool:
        """Whether every head has the shared scale."""
        return all(scale is self.shared for scale in self.per_head.values())

    @classmethod
    def of(
        cls,
        stack: NDArray[np.float64],
        shared_scale: bool,
        gamma: float,
        cmap: str,
        vmin: float | None,
        vmax: float | None,
    ) -> _Scales:
        layers, heads = stack.shape[:2]
        keys = [(i, j) for i in range(layers) for j in range(heads)]
        if shared_scale:
            shared = ColorScale.from_data(stack, gamma, cmap, vmin, vmax)
            return cls(shared, shared.indices(stack), dict.fromkeys(keys, shared))
        indices = np.empty(stack.shape, dtype=np.uint8)
        per_head = {}
        for i, j in keys:  # each head's min..max unless fixed
            scale = ColorScale.from_data(stack[i, j], gamma, cmap, vmin, vmax)
            indices[i, j] = scale.indices(stack[i, j])
            per_head[i, j] = scale
        return cls(ColorScale(0.0, 1.0, gamma, cmap), indices, per_head)


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
        scales: _Scales,
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


def _overview_scene(
    stack: NDArray[np.float64],
    labels: Sequence[str],
    *,
    style: Style,
    scales: _Scales,
    title: str,
    links: Mapping[HeadKey, str] | None,
    notes: Mapping[HeadKey, str] | None,
) -> tuple[Scene, list[dict[str, Any]]]:
    """Lay out the overview page of a ``(layers, heads, q, k)`` stack, and per thumbnail its
    layer, head, scale ends and link; on a fixed page width the grid shrinks until the colour
    bar's labels end inside the page."""
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
    scales: _Scales,
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


def _overview_data(
    shape: tuple[int, ...], scales: _Scales, gamma: float, records: list[dict[str, Any]]
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
        "thumbnails": records,
    }


def _prepare(
    attentions: Any,
    tokens: Any,
    query_tokens: Any,
    batch_index: int,
    raw_tokens: bool,
    gamma: float,
    cmap: str,
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
    check_positive(gamma, "gamma")
    lut(cmap)
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
    vmin: float | None = None,
    vmax: float | None = None,
    raw_tokens: bool = False,
    query_tokens: Sequence[str] | None = None,
    links: Mapping[HeadKey, str] | None = None,
    notes: Mapping[HeadKey, str] | None = None,
    width: float | None = None,
    font: str | os.PathLike[str] | None = None,
    font_size: float | None = None,
    style: str | None = None,
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
    gamma, cmap, vmin, vmax
        The colour scale, as for :func:`izzyviz.heatmap` (``vmin``/``vmax`` fix its ends).
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
    stack, xs, _ = _prepare(attentions, tokens, query_tokens, batch_index, raw_tokens, gamma, cmap)
    layout = figure_style(width, font, font_size, style)
    shared = check_bool(shared_scale, "shared_scale")
    scales = _Scales.of(stack, shared, float(gamma), cmap, vmin, vmax)
    scene, records = _overview_scene(
        stack,
        xs,
        style=layout,
        scales=scales,
        title=title or "Attention overview",
        links=links,
        notes=notes,
    )
    return Figure(scene, _overview_data(stack.shape, scales, float(gamma), records))


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------


def _heatmap_options() -> frozenset[str]:
    from izzyviz.plot import heatmap

    parameters = inspect.signature(heatmap).parameters.values()
    return frozenset(p.name for p in parameters if p.kind is p.KEYWORD_ONLY) - {"title"}


def _check_heads(heads: Any, layers: int, count: int) -> list[HeadKey]:
    if isinstance(heads, (str, bytes)) or not isinstance(heads, Sequence | np.ndarray):
        raise TypeError(
            f"heads: expected a list of (layer, head) pairs or None, got {describe(heads)}"
        )
    result: list[HeadKey] = []
    for n, pair in enumerate(heads):
        try:
            layer, head = pair
        except (TypeError, ValueError):
            raise TypeError(
                f"heads[{n}]: expected a (layer, head) pair, got {describe(pair)}"
            ) from None
        key = (
            check_index(layer, f"heads[{n}] layer", layers, "layers"),
            check_index(head, f"heads[{n}] head", count, "heads"),
        )
        if key in result:
            raise ValueError(f"heads[{n}]: layer {key[0]}, head {key[1]} is listed twice")
        result.append(key)
    if not result:
        raise ValueError("heads: expected at least one (layer, head) pair, got an empty list")
    return result


def _select_heads(
    stack: NDArray[np.float64],
    tokens: Sequence[str],
    heads: Any,
    order_by: Any,
    descending: bool,
    top: Any,
    special_tokens: Any,
) -> list[tuple[int, int, float | None]]:
    """The heads a report shows, in page order, with their score when ordered."""
    layers, count = stack.shape[:2]
    chosen = (
        [(i, j) for i in range(layers) for j in range(count)]
        if heads is None
        else _check_heads(heads, layers, count)
    )
    top = check_optional_count(top, "top")
    if order_by is None:
        selected: list[tuple[int, int, float | None]] = [(i, j, None) for i, j in chosen]
    else:
        if order_by not in MEASURES:
            raise ValueError(
                f"order_by: expected None or one of {', '.join(map(repr, MEASURES))}, "
                f"got {describe(order_by)}"
            )
        from izzyviz.aggregation import rank_heads

        wanted = set(chosen)
        ranked = rank_heads(
            stack, list(tokens), order_by, descending, special_tokens=special_tokens
        )
        selected = [(i, j, score) for i, j, score in ranked if (i, j) in wanted]
    return selected[:top]


def _output(path: Any, format: str | None) -> tuple[Path, str | None]:
    """``(target, folder_format)``: the PDF file (format None) or the folder and its page
    format."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path: expected a file or folder path, got {describe(path)}")
    target = Path(path)
    suffix = target.suffix.lower()
    if format is not None and format not in ("svg", "png"):
        raise ValueError(
            f"format: expected 'svg' or 'png' (the format of each page in a folder), "
            f"got {describe(format)}"
        )
    if suffix == ".pdf" and not target.is_dir():
        if format is not None:
            raise ValueError(f"format: {format!r} does not apply to the PDF file {str(target)!r}")
        return target, None
    if suffix in (".svg", ".png") and not target.is_dir():
        return target.with_suffix(""), format or suffix[1:]
    if target.is_dir() or suffix == "":
        return target, format or "svg"
    raise ValueError(
        f"path: cannot tell what to write from {str(target)!r}; expected a .pdf file, "
        "a .svg or .png name (one file per page in a folder of that name) or a folder"
    )


def _check_output(path: Any, format: str | None, dpi: Any) -> tuple[Path, str | None]:
    """:func:`_output`, after checking ``dpi`` and that the parent folder exists."""
    if dpi is not None:
        check_positive(dpi, "dpi")
    target, folder_format = _output(path, format)
    if dpi is not None and folder_format != "png":
        raise ValueError(f"dpi: applies to PNG pages only, got {dpi!r} for {str(path)!r}")
    if not target.parent.is_dir():
        what = repr(str(target)) if folder_format is None else f"the folder {str(target)!r}"
        raise FileNotFoundError(f"path: folder {str(target.parent)!r} does not exist (for {what})")
    return target, folder_format


def _write(
    pages: Sequence[Scene],
    names: Sequence[str],
    target: Path,
    folder_format: str | None,
    *,
    dpi: float | None,
    title: str,
    tick: Callable[[], Any] = lambda: None,
) -> list[Path]:
    """Write ``pages`` as one PDF (``folder_format`` None) or as ``<name>.<format>`` files in the
    folder ``target``; ``tick`` is called after each page."""
    if folder_format is None:
        from izzyviz.backends.pdf import PDFRenderer

        class _Ticking(PDFRenderer):
            def end_page(self, scene: Scene) -> None:
                super().end_page(scene)
                tick()

        return [write_atomic(target, _Ticking(title=title).render(pages))]
    options: dict[str, Any] = {} if dpi is None else {"dpi": dpi}
    if folder_format == "png":  # refuse a dpi too high for any page before drawing one
        from izzyviz.backends.png import PNGRenderer, check_page_size

        check_page_size(pages, PNGRenderer(**options).dpi)
    target.mkdir(exist_ok=True)
    files: list[Path] = []
    with atomic_files() as write:  # every page or none
        for scene, name in zip(pages, names, strict=True):
            page_bytes = Figure(scene).render(folder_format, **options)
            files.append(write(target / f"{name}.{folder_format}", page_bytes))
            tick()
    return files


def write_pages(
    pages: Sequence[Scene],
    names: Sequence[str],
    path: str | os.PathLike[str],
    *,
    format: str | None = None,
    dpi: float | None = None,
    title: str = "IzzyViz",
) -> list[Path]:
    """Write several pages the way :func:`report` does.

    Parameters
    ----------
    pages
        The pages (their ``bookmarks`` become the PDF outline).
    names
        One file name (without extension) per page, for a folder.
    path, format, dpi
        A ``.pdf`` file, or a ``.svg``/``.png`` name or folder: as for :func:`report`.
    title
        The PDF's document title.

    Returns
    -------
    list of Path
        The files written.
    """
    target, folder_format = _check_output(path, format, dpi)
    return _write(pages, names, target, folder_format, dpi=dpi, title=title)


def report(
    attentions: Any,
    tokens: Sequence[str],
    path: str | os.PathLike[str],
    *,
    heads: Sequence[HeadKey] | None = None,
    order_by: str | None = None,
    descending: bool = True,
    top: int | None = None,
    progress: bool = True,
    batch_index: int = 0,
    title: str | None = None,
    shared_scale: bool = True,
    raw_tokens: bool = False,
    query_tokens: Sequence[str] | None = None,
    format: str | None = None,
    dpi: float | None = None,
    **heatmap_options: Any,
) -> Figure:
    """Write an overview of every head followed by one full heatmap page per head.

    Parameters
    ----------
    attentions
        Attention of every layer, in any form :func:`izzyviz.stack_attentions` accepts.
    tokens
        One token per key position (and per query position for self-attention).
    path
        ``"report.pdf"``: one PDF whose first page is the :func:`overview`, with an outline entry
        "Layer L / Head H" per head page and thumbnails that link to their pages.
        ``"report.svg"``, ``"report.png"`` or a folder: one file per page in that folder
        (``report/`` for ``report.svg``): ``overview.svg`` then ``layer00_head03.svg``, ...;
        the SVG overview's thumbnails link to the head files.
    heads
        The ``(layer, head)`` pairs to give a page, in page order; default every head.
    order_by
        Order the pages by a head measure of :func:`izzyviz.rank_heads` (computed per query row
        and averaged over rows):

        ``"entropy"``
            ``-sum_k p_k log p_k``: high for heads that spread attention evenly, 0 for a head
            that looks at one token.
        ``"diagonal_distance"``
            ``sum_k p_k |q - k|``: how far, in tokens, a head looks from the query position
            (0 for a head that attends to itself; self-attention only).
        ``"special_tokens"``
            Total weight on special tokens (``[CLS]``, ``[SEP]``, ``<s>``, ...; see
            ``special_tokens``): high for heads that park attention there.

        The overview notes each head's rank and score.
    descending
        With ``order_by``: highest score first (True) or lowest first.
    top
        Keep only the first ``top`` heads (after ordering).
    progress
        Show a progress bar (tqdm, on standard error) when the job takes more than a moment.
    batch_index
        Which sequence of the batch to draw.
    title
        Title of the overview and prefix of every page title.
    shared_scale
        Whether the overview uses one colour scale for every head (see :func:`overview`).
    raw_tokens
        Show tokens as they are instead of readable labels.
    query_tokens
        Row tokens when the attention is not square.
    format
        Page format (``"svg"`` or ``"png"``) when ``path`` is a folder; default SVG.
    dpi
        Resolution of PNG pages (default 150).
    **heatmap_options
        Options of :func:`izzyviz.heatmap` applied to every head page: ``top_n``,
        ``enlarged_size``, ``gamma``, ``cmap``, ``xlabel``, ``ylabel``, ``regions``, ``vmin``,
        ``vmax``, ``region_color``, ``special_tokens``, ``show_values``, ``cells``. ``gamma``,
        ``cmap``, ``vmin`` and ``vmax`` apply to the overview too.

    Returns
    -------
    Figure
        Every page (overview first). ``fig.data`` holds the overview's scale, and per head page
        its layer, head, page number, score and the numbers drawn (as :func:`izzyviz.heatmap`),
        and the files written. Each file written prints ``IzzyViz: saved <path>``.
    """
    _check_report_options(heatmap_options)
    check_bool(progress, "progress")
    shared_scale = check_bool(shared_scale, "shared_scale")
    target, folder_format = _check_output(path, format, dpi)
    options = dict(heatmap_options)
    layout = figure_style(*(options.get(name) for name in ("width", "font", "font_size", "style")))
    gamma = options.get("gamma", 1.5)
    cmap = options.get("cmap", "Blues")
    stack, xs, ys = _prepare(attentions, tokens, query_tokens, batch_index, raw_tokens, gamma, cmap)
    selected = _select_heads(
        stack, list(tokens), heads, order_by, descending, top, options.get("special_tokens")
    )
    names, links = _page_names(stack.shape, selected, folder_format)
    shown = format_numbers([s for *_, s in selected if s is not None], 3)
    notes = None
    if order_by is not None:
        notes = {(i, j): f"#{n + 1}  {shown[n]}" for n, (i, j, _) in enumerate(selected)}

    from tqdm.auto import tqdm

    with tqdm(
        total=2 * (len(selected) + 1),
        desc="izzyviz report",
        unit="step",
        disable=not progress,
        delay=PROGRESS_DELAY,
        leave=False,
    ) as bar:
        scales = _Scales.of(stack, shared_scale, float(gamma), cmap, *_ends(options))
        cover, thumbnails = _overview_scene(
            stack,
            xs,
            style=layout,
            scales=scales,
            title=title or "Attention overview",
            links=links,
            notes=notes,
        )
        bar.update(1)
        titles = _page_titles(selected, title, order_by, shown)
        pages, records = _head_pages(stack, xs, ys, selected, titles, options, bar.update)
        files = _write(
            [cover, *pages],
            ["overview", *names],
            target,
            folder_format,
            dpi=dpi,
            title=title or "IzzyViz attention report",
            tick=lambda: bar.update(1),
        )
    for record, file in zip(records, files[1:] if folder_format else [], strict=False):
        record["file"] = str(file)
    data: dict[str, Any] = {
        "kind": "report",
        "order_by": order_by,
        "descending": descending if order_by else None,
        "overview": _overview_data(stack.shape, scales, float(gamma), thumbnails),
        "pages": records,
        "files": [str(f) for f in files],
    }
    return Figure([cover, *pages], data)


def _check_report_options(options: Mapping[str, Any]) -> None:
    """Refuse options :func:`izzyviz.heatmap` does not take (or that a report sets itself)."""
    allowed = _heatmap_options()
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise TypeError(
            f"report: unknown option(s) {', '.join(unknown)}; heatmap options are "
            f"{', '.join(sorted(allowed))}"
        )


def _ends(options: Mapping[str, Any]) -> tuple[float | None, float | None]:
    """The colour scale's fixed ends among the heatmap options."""
    return options.get("vmin"), options.get("vmax")


def _page_names(
    shape: tuple[int, ...],
    selected: Sequence[tuple[int, int, float | None]],
    folder_format: str | None,
) -> tuple[list[str], dict[HeadKey, str]]:
    """Each head page's file name (``layer03_head07``) and the link its thumbnail gets: a page
    of the PDF, or the page's file in the folder."""
    digits = max(2, len(str(max(shape[0], shape[1]) - 1)))
    names = [f"layer{i:0{digits}d}_head{j:0{digits}d}" for i, j, _ in selected]
    if folder_format is None:
        links = {(i, j): f"#page-{n + 2}" for n, (i, j, _) in enumerate(selected)}
    else:
        links = {
            (i, j): f"{name}.{folder_format}"
            for (i, j, _), name in zip(selected, names, strict=True)
        }
    return names, links


def _page_titles(
    selected: Sequence[tuple[int, int, float | None]],
    title: str | None,
    order_by: str | None,
    shown: Sequence[str],
) -> list[tuple[str, str]]:
    """``(bookmark, page title)`` of each head page: "Layer L / Head H", after the report's
    title, with the head's score and rank when ordered."""
    titles = []
    for n, (i, j, score) in enumerate(selected):
        bookmark = f"Layer {i} / Head {j}"
        page_title = f"{title}: {bookmark}" if title else bookmark
        if score is not None:
            page_title += f" · {order_by} {shown[n]} (rank {n + 1} of {len(selected)})"
        titles.append((bookmark, page_title))
    return titles


def _head_pages(
    stack: NDArray[np.float64],
    xs: Sequence[str],
    ys: Sequence[str],
    selected: Sequence[tuple[int, int, float | None]],
    titles: Sequence[tuple[str, str]],
    options: Mapping[str, Any],
    tick: Callable[[], Any],
) -> tuple[list[Scene], list[dict[str, Any]]]:
    """One :func:`izzyviz.heatmap` page per selected head (bookmarked), and per page its
    layer, head, page number, title, score and the numbers drawn; ``tick`` after each."""
    from izzyviz.plot import heatmap

    pages: list[Scene] = []
    records: list[dict[str, Any]] = []
    for n, ((i, j, score), (bookmark, page_title)) in enumerate(zip(selected, titles, strict=True)):
        fig = heatmap(stack[i, j], xs, ys, title=page_title, **options)
        pages.append(dataclasses.replace(fig.scene, bookmarks=(bookmark,)))
        records.append(
            {"layer": i, "head": j, "page": n + 2, "title": page_title, "score": score} | fig.data
        )
        tick()
    return pages, records
