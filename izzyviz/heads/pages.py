"""The report: an overview of every head, then one full heatmap page per chosen head.

As a PDF, the pages get outline entries ("Layer L / Head H") and the thumbnails link to their
pages; as SVG or PNG, one file per page is written into a folder and the SVG thumbnails link to
the head files.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from izzyviz._validate import (
    check_bool,
)
from izzyviz.colors import ScaleRequest
from izzyviz.figure import Figure
from izzyviz.heads.grid import HeadKey, Scales, overview_data, overview_scene, prepare
from izzyviz.heads.output import check_output, write_files
from izzyviz.heads.select import SCALE_OPTIONS, check_report_options, select_heads
from izzyviz.numbers import format_numbers
from izzyviz.paper import figure_style
from izzyviz.scene import (
    Scene,
)

__all__ = ["report"]


# Seconds before the progress bar appears: short jobs print nothing.
PROGRESS_DELAY = 0.5


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
        ``vmax``, ``norm``, ``region_color``, ``special_tokens``, ``show_values``, ``cells``.
        ``gamma``, ``cmap``, ``vmin``, ``vmax`` and ``norm`` apply to the overview too.

    Returns
    -------
    Figure
        Every page (overview first). ``fig.data`` holds the overview's scale, and per head page
        its layer, head, page number, score and the numbers drawn (as :func:`izzyviz.heatmap`),
        and the files written. Each file written prints ``IzzyViz: saved <path>``.
    """
    check_report_options(heatmap_options)
    check_bool(progress, "progress")
    shared_scale = check_bool(shared_scale, "shared_scale")
    target, folder_format = check_output(path, format, dpi)
    options = dict(heatmap_options)
    layout = figure_style(*(options.get(name) for name in ("width", "font", "font_size", "style")))
    request = ScaleRequest.of(*(options.get(n, d) for n, d in SCALE_OPTIONS))  # checked first
    stack, xs, ys = prepare(attentions, tokens, query_tokens, batch_index, raw_tokens)
    selected = select_heads(
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
        scales = Scales.of(stack, shared_scale, request)
        cover, thumbnails = overview_scene(stack, xs, layout, scales, title, links, notes)
        bar.update(1)
        titles = _page_titles(selected, title, order_by, shown)
        pages, records = _head_pages(stack, xs, ys, selected, titles, options, bar.update)
        files = write_files(
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
        "overview": overview_data(stack.shape, scales, request.gamma, thumbnails),
        "pages": records,
        "files": [str(f) for f in files],
    }
    return Figure([cover, *pages], data)


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
