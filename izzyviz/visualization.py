"""The seed API of the original IzzyViz, on the IzzyViz engine.

``visualize_attention_encoder_only``, ``visualize_attention_decoder_only`` and
``visualize_attention_encoder_decoder`` keep the original signatures, defaults, modes and file
names. Every mode is data — which rows and columns of the matrix each panel shows, its titles and
axis labels, and the default file — fed to the one layout path of the engine.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np

from izzyviz._validate import (
    check_bool,
    check_choice,
    check_labels,
    check_regions,
    describe,
)
from izzyviz.colors import ScaleRequest
from izzyviz.figure import Figure
from izzyviz.inputs import display_tokens, select_source
from izzyviz.job import HeatmapJob
from izzyviz.layout import Region, Style, TooNarrow, page
from izzyviz.paper import figure_style
from izzyviz.plot import figure_data, redrawable, save_figure
from izzyviz.source import Matrix, as_source, sub_matrix
from izzyviz.summary import MatrixSummary, value_range
from izzyviz.views import (
    check_stability_heatmap_with_gradient_color,
    compare_two_attentions_with_circles,
    visualize_attention_evolution_sparklines,
    visualize_attention_with_detected_regions,
)

__all__ = [
    "DECODER_ONLY_USE_CASES",
    "ENCODER_DECODER_USE_CASES",
    "ENCODER_ONLY_MODES",
    "check_stability_heatmap_with_gradient_color",
    "compare_two_attentions_with_circles",
    "visualize_attention_decoder_only",
    "visualize_attention_encoder_decoder",
    "visualize_attention_encoder_only",
    "visualize_attention_evolution_sparklines",
    "visualize_attention_with_detected_regions",
]

Part = Literal["all", "first", "second"]
"""Which tokens a panel's rows or columns cover: all, those before the split (question /
source) or those from the split on (context / generated)."""

SELF_X, SELF_Y = "Tokens Attended to", "Tokens Attending"


@dataclass(frozen=True, slots=True)
class View:
    """One panel of a mode: the part of the matrix it shows and its texts."""

    title: str
    rows: Part = "all"
    cols: Part = "all"
    xlabel: str = SELF_X
    ylabel: str = SELF_Y


@dataclass(frozen=True, slots=True)
class Mode:
    """A mode of a seed function: its panels and the file it writes by default."""

    file: str
    views: tuple[View, ...]


ENCODER_ONLY_MODES: dict[str, Mode] = {
    "self_attention": Mode("self_attention_heatmap.pdf", (View("Self-Attention Heatmap"),)),
    "question_context": Mode(
        "QC_attention_heatmaps.pdf",
        (
            View("A -> A (Question attending to Question)", "first", "first"),
            View("B -> B (Context attending to Context)", "second", "second"),
            View("B -> A (Context attending to Question)", "second", "first"),
            View("A -> B (Question attending to Context)", "first", "second"),
            View("All -> All (All tokens attending to all tokens)"),
        ),
    ),
}
"""Modes of :func:`visualize_attention_encoder_only`; the split is ``question_end``."""

DECODER_ONLY_USE_CASES: dict[str, Mode] = {
    "full_sequence": Mode(
        "decoder_self_attention_heatmap.pdf", (View("Self-Attention Heatmap (Full Sequence)"),)
    ),
    "self_attention_source": Mode(
        "decoder_self_attention_source_tokens_heatmap.pdf",
        (View("Self-Attention Heatmap (Source Tokens)", "first", "first"),),
    ),
    "generated_to_source": Mode(
        "decoder_generated_to_source_attention_heatmap.pdf",
        (
            View(
                "Generated Tokens attending to Source Tokens",
                "second",
                "first",
                "Source Tokens",
                "Generated Tokens",
            ),
        ),
    ),
    "self_attention_generated": Mode(
        "decoder_self_attention_generated_tokens_heatmap.pdf",
        (View("Self-Attention Heatmap (Generated Tokens)", "second", "second"),),
    ),
}
"""Use cases of :func:`visualize_attention_decoder_only`; the split is ``len(source_tokens)``."""

ENCODER_DECODER_USE_CASES: dict[str, tuple[View, str, str]] = {
    "cross_attention": (
        View(
            "Cross-Attention Heatmap (Decoder to Encoder)",
            xlabel="Encoder Tokens",
            ylabel="Decoder Tokens",
        ),
        "generated",
        "source",
    ),
    "encoder_self_attention": (
        View("Encoder Self-Attention Heatmap", xlabel="Encoder Tokens", ylabel="Encoder Tokens"),
        "source",
        "source",
    ),
    "decoder_self_attention": (
        View("Decoder Self-Attention Heatmap", xlabel="Decoder Tokens", ylabel="Decoder Tokens"),
        "generated",
        "generated",
    ),
}
"""Use cases of :func:`visualize_attention_encoder_decoder`: the panel, and which token list
labels the rows and the columns."""


def _regions(left_top_cells: Any, right_bottom_cells: Any, shape: tuple[int, ...]) -> list[Region]:
    """The seed API's two corner lists as checked ``(row0, col0, row1, col1)`` regions."""
    if left_top_cells is None and right_bottom_cells is None:
        return []
    tops, bottoms = list(left_top_cells or []), list(right_bottom_cells or [])
    if len(tops) != len(bottoms):
        raise ValueError(
            f"left_top_cells/right_bottom_cells: expected lists of equal length, got "
            f"{len(tops)} top-left and {len(bottoms)} bottom-right cells"
        )
    return check_regions(
        list(zip(tops, bottoms, strict=True)), shape, "left_top_cells/right_bottom_cells"
    )


def _titles(titles: Any, views: Sequence[View], name: str) -> list[str]:
    if titles is None:
        return [v.title for v in views]
    if isinstance(titles, str):
        titles = [titles]
    titles = list(titles)
    if len(titles) != len(views):
        raise ValueError(
            f"{name}: expected {len(views)} title(s), one per panel, got "
            f"{len(titles)}: {describe(titles)}"
        )
    return [str(t) for t in titles]


def _span(part: Part, split: int, size: int) -> slice:
    return {"all": slice(0, size), "first": slice(0, split), "second": slice(split, size)}[part]


def _clip(region: Region, rows: slice, cols: slice) -> Region | None:
    """``region`` (full-matrix cells) in a panel's coordinates, cut to the panel; None if it
    misses the panel."""
    r0, c0, r1, c1 = region
    r0, r1 = max(r0, rows.start), min(r1, rows.stop - 1)
    c0, c1 = max(c0, cols.start), min(c1, cols.stop - 1)
    if r0 > r1 or c0 > c1:
        return None
    return (r0 - rows.start, c0 - cols.start, r1 - rows.start, c1 - cols.start)


def draw_views(
    matrix: Matrix,
    row_tokens: Sequence[str],
    col_tokens: Sequence[str],
    views: Sequence[View],
    titles: Sequence[str],
    *,
    name: str = "attention_matrix",
    split: int = 0,
    regions: Sequence[Region] = (),
    top_n: int = 3,
    enlarged_size: float = 1.8,
    gamma: float = 1.5,
    cmap: str = "Blues",
    raw_tokens: bool = False,
    special_tokens: Iterable[str] | None = None,
    auto_detect_regions: bool = False,
    layout: Style | None = None,
    norm: str = "auto",
) -> Figure:
    """Lay out ``views`` of ``matrix`` as panels stacked on one page with one colour scale.

    ``matrix`` is read in row blocks, never copied whole (see :mod:`izzyviz.summary`); ``name``
    is what errors about its values call it. ``regions`` are in full-matrix cells and drawn on
    every panel they fall in; ``layout`` is the page's :class:`~izzyviz.layout.Style` (see
    :func:`izzyviz.figure_style`).
    """
    check_bool(auto_detect_regions, "auto_detect_regions")
    rows_total, cols_total = matrix.shape
    ys = display_tokens(row_tokens, raw=raw_tokens)
    xs = display_tokens(col_tokens, raw=raw_tokens)
    ScaleRequest.of(gamma, cmap, norm)  # refused before anything is read
    spans = [(_span(v.rows, split, rows_total), _span(v.cols, split, cols_total)) for v in views]
    parts = [sub_matrix(matrix, rows, cols) for rows, cols in spans]
    boxes = [[b for b in (_clip(r, *span) for r in regions) if b is not None] for span in spans]
    if auto_detect_regions:
        from izzyviz.regions import find_attention_regions_with_merging

        for found, part in zip(boxes, parts, strict=True):
            found += find_attention_regions_with_merging(np.asarray(part[:, :], np.float64))
    jobs = [
        HeatmapJob.of(part, xs[cols], ys[rows], name=name, top_n=top_n, gamma=gamma,
                      cmap=cmap, norm=norm, enlarged_size=enlarged_size, title=title,
                      xlabel=view.xlabel,
                      ylabel=view.ylabel, special_tokens=special_tokens,
                      regions=[((r0, c0), (r1, c1)) for r0, c0, r1, c1 in found])
        for view, title, part, found, (rows, cols) in zip(views, titles, parts, boxes, spans,
                                                          strict=True)
    ]  # fmt: skip
    layout = layout or Style()
    first = _summaries(matrix, jobs, layout, name)
    # One scale for the panels, spanning what they show (a causal decoder's full matrix has
    # 1.0 in its first row, which would wash out a generated-to-source panel).
    scale = jobs[0].colors(*first)
    jobs = [replace(job, scale=scale) for job in jobs]

    def draw(style: Style) -> Figure:
        summaries = first if style == layout else [None] * len(jobs)
        panels, too_narrow = [], []
        for job, summary in zip(jobs, summaries, strict=True):
            try:
                panels.append(job.panel(style, summary)[0])
            except TooNarrow as error:  # the error names the width every panel fits in
                too_narrow.append(error)
        if too_narrow:
            raise TooNarrow.widest(too_narrow)
        page_title = titles[0] if len(titles) == 1 else None
        return Figure(page(panels, style, title=page_title), figure_data(panels, scale))

    return redrawable(draw, layout)


def _summaries(
    matrix: Matrix, jobs: Sequence[HeatmapJob], style: Style, name: str
) -> list[MatrixSummary]:
    """Each panel's matrix summarised for ``style``, the one showing the whole matrix first, so
    an error about a value names its cell in the whole matrix (which is checked on its own when
    no panel shows all of it)."""
    whole = [k for k, job in enumerate(jobs) if job.source.shape == matrix.shape]
    if not whole:
        value_range(matrix, name)
    order = whole[:1] + [k for k in range(len(jobs)) if k not in whole[:1]]
    summaries: dict[int, MatrixSummary] = {k: jobs[k].summarize(style) for k in order}
    return [summaries[k] for k in range(len(jobs))]


def visualize_attention_encoder_only(
    attentions: Any,
    tokens: Sequence[str],
    layer: int,
    head: int,
    question_end: int | None = None,
    top_n: int = 3,
    enlarged_size: float = 1.8,
    gamma: float = 1.5,
    mode: str = "self_attention",
    plot_titles: Sequence[str] | None = None,
    left_top_cells: Sequence[tuple[int, int]] | None = None,
    right_bottom_cells: Sequence[tuple[int, int]] | None = None,
    *,
    save_path: str | os.PathLike[str] | None = None,
    cmap: str = "Blues",
    batch_index: int = 0,
    raw_tokens: bool = False,
    special_tokens: Iterable[str] | None = None,
    auto_detect_regions: bool = False,
    width: float | None = None,
    font: str | os.PathLike[str] | None = None,
    font_size: float | None = None,
    style: str | None = None,
    norm: str = "auto",
) -> Figure:
    """Draw the self-attention of an encoder (BERT-like) for one layer and head.

    Parameters
    ----------
    attentions
        ``outputs.attentions`` of a model run with ``output_attentions=True`` (a tuple of
        ``(batch, heads, q, q)`` tensors), a list of arrays, or a stacked array.
    tokens
        The token strings, e.g. ``tokenizer.convert_ids_to_tokens(ids)``.
    layer, head
        Which attention map; negative values count from the end.
    question_end
        In ``"question_context"`` mode, the number of tokens of the first segment (the
        question, with its special tokens), e.g. ``(token_type_ids == 0).sum()``.
    top_n, enlarged_size, gamma
        As in :func:`izzyviz.heatmap`.
    mode
        ``"self_attention"`` (file ``self_attention_heatmap.pdf``) or ``"question_context"``
        (``QC_attention_heatmaps.pdf``: five panels A->A, B->B, B->A, A->B, All->All on one page,
        one colour scale).
    plot_titles
        One title per panel (1 or 5).
    left_top_cells, right_bottom_cells
        Corners ``(row, col)`` of regions to box in red, in full-matrix coordinates; in
        question-context mode each is drawn on every panel it falls in.
    save_path
        Where to write (default: the mode's file name); ``.svg``/``.png`` pick those formats.
    cmap
        Colormap name.
    batch_index
        Which batch item to draw.
    raw_tokens
        Show tokens as given instead of making ``Ġ``/``▁`` markers readable.
    special_tokens
        Tokens to draw bold (default: ``izzyviz.DEFAULT_SPECIAL_TOKENS``).
    auto_detect_regions
        Also box the regions :func:`izzyviz.regions.find_attention_regions_with_merging` finds.

    width, font, font_size, style, norm
        Fit the figure to a paper (:func:`izzyviz.figure_style`); the colour scale, as in
        :func:`izzyviz.heatmap` (``"auto"``: power up to 128 tokens, log beyond).

    Returns
    -------
    Figure
    """
    chosen = ENCODER_ONLY_MODES[check_choice(mode, ENCODER_ONLY_MODES, "mode")]
    titles = _titles(plot_titles, chosen.views, "plot_titles")
    matrix, name = select_source(attentions, layer, head, batch_index)
    labels = _square_labels(tokens, "tokens", matrix.shape)
    split = 0
    if mode == "question_context":
        split = _split(question_end, len(labels))
    fig = draw_views(
        matrix,
        labels,
        labels,
        chosen.views,
        titles,
        name=name,
        split=split,
        regions=_regions(left_top_cells, right_bottom_cells, matrix.shape),
        top_n=top_n,
        enlarged_size=enlarged_size,
        gamma=gamma,
        cmap=cmap,
        raw_tokens=raw_tokens,
        special_tokens=special_tokens,
        auto_detect_regions=auto_detect_regions,
        layout=figure_style(width, font, font_size, style),
        norm=norm,
    )
    return save_figure(fig, save_path, chosen.file)


def _square_labels(tokens: Any, name: str, shape: tuple[int, ...]) -> list[str]:
    """``tokens`` checked as the labels of both the columns and the rows of a square map."""
    labels = check_labels(tokens, name, shape[1], "columns")
    check_labels(labels, name, shape[0], "rows")
    return labels


def _split(question_end: Any, count: int) -> int:
    if question_end is None:
        raise ValueError(
            "question_end: 'question_context' mode needs the number of question tokens, e.g. "
            "(inputs['token_type_ids'][0] == 0).sum().item(); got None"
        )
    if isinstance(question_end, bool) or not isinstance(question_end, (int, np.integer)):
        value = getattr(question_end, "item", lambda: question_end)()
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool):
            raise TypeError(f"question_end: expected an integer, got {describe(question_end)}")
        question_end = value
    if not 0 < int(question_end) < count:
        raise IndexError(
            f"question_end: expected 1 to {count - 1} so both the question and the context "
            f"have tokens, got {int(question_end)} for {count} tokens"
        )
    return int(question_end)


def visualize_attention_decoder_only(
    attentions: Any,
    source_tokens: Sequence[str],
    generated_tokens: Sequence[str],
    layer: int,
    head: int,
    top_n: int = 3,
    enlarged_size: float = 1.8,
    gamma: float = 1.5,
    plot_titles: Sequence[str] | None = None,
    left_top_cells: Sequence[tuple[int, int]] | None = None,
    right_bottom_cells: Sequence[tuple[int, int]] | None = None,
    use_case: str = "full_sequence",
    *,
    save_path: str | os.PathLike[str] | None = None,
    cmap: str = "Blues",
    batch_index: int = 0,
    raw_tokens: bool = False,
    special_tokens: Iterable[str] | None = None,
    auto_detect_regions: bool = False,
    width: float | None = None,
    font: str | os.PathLike[str] | None = None,
    font_size: float | None = None,
    style: str | None = None,
    norm: str = "auto",
) -> Figure:
    """Draw the self-attention of a decoder (GPT-like) over source and generated tokens.

    ``attentions`` cover the full sequence ``source_tokens + generated_tokens`` (e.g. a forward
    pass over ``outputs.sequences``, or
    :func:`izzyviz.generation.decoder_self_attention_from_generate`). ``use_case`` picks the
    part drawn: ``"full_sequence"``, ``"self_attention_source"``, ``"generated_to_source"`` or
    ``"self_attention_generated"`` (see :data:`DECODER_ONLY_USE_CASES` for titles and files).
    Regions are given in the coordinates of the part drawn. The other parameters are as in
    :func:`visualize_attention_encoder_only`.
    """
    chosen = DECODER_ONLY_USE_CASES[check_choice(use_case, DECODER_ONLY_USE_CASES, "use_case")]
    (view,) = chosen.views
    titles = _titles(plot_titles, chosen.views, "plot_titles")
    matrix, name = select_source(attentions, layer, head, batch_index)
    source = list(source_tokens)
    generated = list(generated_tokens)
    tokens = _square_labels(source + generated, "source_tokens + generated_tokens", matrix.shape)
    split = len(source)
    for part, tokens_name, count in (
        ("first", "source_tokens", split),
        ("second", "generated_tokens", len(generated)),
    ):
        if count == 0 and part in (view.rows, view.cols):
            raise ValueError(
                f"{tokens_name}: use_case {use_case!r} needs at least one token, got none"
            )
    rows = _span(view.rows, split, len(tokens))
    cols = _span(view.cols, split, len(tokens))
    shape = (rows.stop - rows.start, cols.stop - cols.start)
    regions = _regions(left_top_cells, right_bottom_cells, shape)
    shifted = [
        (r0 + rows.start, c0 + cols.start, r1 + rows.start, c1 + cols.start)
        for r0, c0, r1, c1 in regions
    ]
    fig = draw_views(
        matrix,
        tokens,
        tokens,
        chosen.views,
        titles,
        name=name,
        split=split,
        regions=shifted,
        top_n=top_n,
        enlarged_size=enlarged_size,
        gamma=gamma,
        cmap=cmap,
        raw_tokens=raw_tokens,
        special_tokens=special_tokens,
        auto_detect_regions=auto_detect_regions,
        layout=figure_style(width, font, font_size, style),
        norm=norm,
    )
    return save_figure(fig, save_path, chosen.file)


def visualize_attention_encoder_decoder(
    attention_matrix: Any,
    source_tokens: Sequence[str],
    generated_tokens: Sequence[str],
    top_n: int = 3,
    enlarged_size: float = 1.8,
    gamma: float = 1.5,
    plot_title: str | None = None,
    left_top_cells: Sequence[tuple[int, int]] | None = None,
    right_bottom_cells: Sequence[tuple[int, int]] | None = None,
    save_path: str | os.PathLike[str] = "cross_attention_heatmap.pdf",
    use_case: str = "cross_attention",
    *,
    cmap: str = "Blues",
    raw_tokens: bool = False,
    special_tokens: Iterable[str] | None = None,
    auto_detect_regions: bool = False,
    width: float | None = None,
    font: str | os.PathLike[str] | None = None,
    font_size: float | None = None,
    style: str | None = None,
    norm: str = "auto",
) -> Figure:
    """Draw an attention matrix of an encoder-decoder model (T5, BART).

    ``use_case`` is ``"cross_attention"`` (rows: generated tokens, columns: source tokens; e.g.
    from :func:`izzyviz.generation.cross_attention_from_generate`), ``"encoder_self_attention"``
    (source x source) or ``"decoder_self_attention"`` (generated x generated). The matrix shape
    must match the token lists. Other parameters as in :func:`visualize_attention_encoder_only`.
    """
    view, row_name, col_name = ENCODER_DECODER_USE_CASES[
        check_choice(use_case, ENCODER_DECODER_USE_CASES, "use_case")
    ]
    name = "attention_matrix"
    matrix = as_source(attention_matrix, name)
    token_lists = {"source": list(source_tokens), "generated": list(generated_tokens)}
    rows, cols = token_lists[row_name], token_lists[col_name]
    if matrix.shape != (len(rows), len(cols)):
        raise ValueError(
            f"attention_matrix: shape {matrix.shape} does not match the tokens: use_case "
            f"{use_case!r} expects ({row_name}_tokens, {col_name}_tokens) = "
            f"({len(rows)}, {len(cols)})"
        )
    titles = _titles(plot_title, (view,), "plot_title")
    fig = draw_views(
        matrix,
        rows,
        cols,
        (view,),
        titles,
        name=name,
        regions=_regions(left_top_cells, right_bottom_cells, matrix.shape),
        top_n=top_n,
        enlarged_size=enlarged_size,
        gamma=gamma,
        cmap=cmap,
        raw_tokens=raw_tokens,
        special_tokens=special_tokens,
        auto_detect_regions=auto_detect_regions,
        layout=figure_style(width, font, font_size, style),
        norm=norm,
    )
    return save_figure(fig, save_path, "cross_attention_heatmap.pdf")
