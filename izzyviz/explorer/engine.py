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

from izzyviz.colors import ColorScale
from izzyviz.job import HeatmapJob
from izzyviz.layout import Style
from izzyviz.layout.colorbar import bar_ticks, scientific
from izzyviz.numbers import format_numbers
from izzyviz.raster import encode_png
from izzyviz.scene import RGBA, Image
from izzyviz.source import MaskedRows, Matrix, as_source, read_rows, release, sub_matrix
from izzyviz.summary import pooling_note, summarize
from izzyviz.text import is_special_token, show_controls

__all__ = [
    "HeatmapFacts",
    "cell_values",
    "colour_png",
    "level_note",
    "open_matrix",
    "pooled",
    "pooled_again",
    "read_heatmap",
]


@dataclass(frozen=True, slots=True, eq=False)
class HeatmapFacts:
    """What the explorer shows of one heatmap, read as the static figure reads it.

    Attributes
    ----------
    source
        The matrix as the engine reads it (:func:`izzyviz.source.as_source`: numpy array,
        memmap, tensor rows, or masked rows that read NaN where masked).
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


def open_matrix(matrix: Any) -> Matrix:
    """``matrix`` checked at the engine's door (:func:`izzyviz.source.as_source`), kept as it
    came: a numpy array or memmap, a tensor, or a masked array read as NaN where masked."""
    return as_source(matrix, "matrix")


def read_heatmap(
    matrix: Matrix, x_labels: Sequence[str], y_labels: Sequence[str], **options: Any
) -> HeatmapFacts:
    """Check a heatmap's labels and options as :func:`izzyviz.heatmap` does and read the matrix
    once as its static figure does (range, finiteness, colour scale, top cells).

    ``matrix`` comes from :func:`open_matrix`; ``options`` are :func:`izzyviz.heatmap`'s, of
    which those that only shape a printed figure are checked and otherwise ignored.
    """
    job = HeatmapJob.of(matrix, x_labels, y_labels, **options)
    summary = job.summarize(Style())
    scale = job.colors(summary)
    spec = job.spec(summary, scale, Style())
    summary = spec.summary  # its top cells as the figure writes them
    order = np.argsort(-summary.top_values, kind="stable")
    texts = format_numbers(summary.top_values[order], 3, scientific=scientific(scale, Style()))
    top = [
        (int(summary.top_rows[k]), int(summary.top_cols[k]), text)
        for k, text in zip(order.tolist(), texts, strict=True)
    ]
    special = spec.special_tokens
    return HeatmapFacts(
        source=matrix,
        x_labels=[show_controls(label) for label in spec.x_labels],
        y_labels=[show_controls(label) for label in spec.y_labels],
        bold_x=[i for i, t in enumerate(spec.x_labels) if is_special_token(t, special)],
        bold_y=[i for i, t in enumerate(spec.y_labels) if is_special_token(t, special)],
        scale=scale,
        pool=summary.pool,
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
    the bottom)`` (:func:`izzyviz.layout.colorbar.bar_ticks`, so a new norm's ticks follow);
    a log scale's zero swatch below the bar is the page's own (see :attr:`ColorScale.under`)."""
    return bar_ticks(scale, Style())


def _bounds(cells: int, factor: int) -> NDArray[np.intp]:
    """Where pixels of ``factor`` cells start along an axis of ``cells`` (and the end)."""
    return np.append(np.arange(0, cells, factor, dtype=np.intp), cells)


def pooled(
    source: Matrix,
    factor: int,
    pool: str,
    rows: slice | None = None,
    cols: slice | None = None,
) -> NDArray[np.float64]:
    """Cells ``[rows, cols]`` of ``source`` (default all), ``factor`` x ``factor`` to a pixel
    by ``pool`` as the static figure pools them (NaN: a pixel of masked cells only)."""
    rows, cols = rows or slice(None), cols or slice(None)
    part = sub_matrix(source, rows, cols)
    height, width = int(part.shape[0]), int(part.shape[1])
    if factor == 1:
        display = np.asarray(read_rows(part, 0, height), dtype=np.float64)
    elif isinstance(part, MaskedRows) and part.mask.all():  # no data: nothing to summarise
        display = np.full((-(-height // factor), -(-width // factor)), np.nan)
    else:
        bounds = (_bounds(height, factor), _bounds(width, factor))
        display = summarize(part, 0, *bounds, pool).display  # type: ignore[arg-type]
    release_rows(source, rows)
    return display


def pooled_again(display: NDArray[np.float64]) -> NDArray[np.float64]:
    """Pixels pooled by max, 2 x 2 to one (NaN: no data), as :func:`pooled` would pool their
    cells: a max of maxima is the max."""
    missing = np.isnan(display)
    source: Matrix = MaskedRows(display, missing) if missing.any() else display
    return pooled(source, 2, "max")


def cell_values(source: Matrix, rows: slice, cols: slice) -> NDArray[np.floating[Any]]:
    """Cells ``[rows, cols]`` as stored, for reading values: float16 stays float16, anything
    else becomes float32 (masked cells NaN)."""
    part = sub_matrix(source, rows, cols)
    values = np.asarray(part[0 : int(part.shape[0])])
    release_rows(source, rows)
    return values if values.dtype == np.float16 else values.astype(np.float32)


def release_rows(source: Matrix, rows: slice) -> None:
    """Hand the pages of ``rows`` of a read-only memmap back to the OS once read, so serving a
    file larger than memory stays in bounded memory."""
    start, stop, _ = rows.indices(int(source.shape[0]))
    release(source, start, stop)


def colour_png(values: NDArray[Any], scale: ColorScale) -> bytes:
    """``values`` (NaN: masked) as an 8-bit palette PNG coloured by ``scale``, pixel for pixel
    as the static figure colours them."""
    indices, palette, _ = scale.cell_indices(np.asarray(values, dtype=np.float64))
    height, width = indices.shape
    image = Image(0.0, 0.0, float(width), float(height), np.ascontiguousarray(indices), palette)
    return encode_png(image)


def level_note(pool: str, factor: int) -> str:
    """Small print for a level, worded as the static figure's: ``"each pixel: max of 8 × 8
    cells"``, or ``"each pixel: one cell"``."""
    if factor == 1:
        return "each pixel: one cell"
    return pooling_note(pool, (factor, factor))
