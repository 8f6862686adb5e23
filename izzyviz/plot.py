"""``izzyviz.heatmap``, and what every figure function does around the one road of
:mod:`izzyviz.job`: a figure that redraws itself for a PNG's dpi (:func:`redrawable`), the
numbers it shows (:func:`figure_data`), saving under the seed API's default names
(:func:`save_figure`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import Any, Literal

from izzyviz._validate import (
    describe,
)
from izzyviz.colors import ColorScale
from izzyviz.figure import Figure
from izzyviz.job import HeatmapJob
from izzyviz.layout import (
    Panel,
    Style,
    page,
)
from izzyviz.paper import figure_style
from izzyviz.render import resolve_backend
from izzyviz.source import as_source

__all__ = ["figure_data", "heatmap", "redrawable", "save_figure"]


def figure_data(panels: Sequence[Panel], scale: ColorScale) -> dict[str, Any]:
    """The numbers a figure shows, per panel: top cells with values, regions, colour scale."""
    out: dict[str, Any] = {
        "vmin": scale.vmin,
        "vmax": scale.vmax,
        "gamma": scale.gamma,
        "cmap": scale.cmap,
        "norm": scale.norm,
        "panels": [],
    }
    for panel in panels:
        cells = panel.cells
        top = zip(
            cells.top_rows.tolist(), cells.top_cols.tolist(), cells.top_values.tolist(), strict=True
        )
        out["panels"].append(
            {
                "shape": [int(n) for n in cells.shape],
                "top_cells": [[r, c, v] for r, c, v in top],
            }
        )
    return out


def heatmap(
    matrix: Any,
    x_labels: Sequence[str],
    y_labels: Sequence[str],
    *,
    top_n: int = 3,
    enlarged_size: float = 1.8,
    gamma: float = 1.5,
    cmap: str = "Blues",
    title: str | None = None,
    xlabel: str | None = "Tokens Attended to",
    ylabel: str | None = "Tokens Attending",
    regions: Sequence[tuple[tuple[int, int], tuple[int, int]]] | None = None,
    vmin: float | str | None = None,
    vmax: float | str | None = None,
    region_color: Any = "red",
    special_tokens: Iterable[str] | None = None,
    show_values: bool | Literal["all"] = True,
    cells: Literal["auto", "vector", "image"] = "auto",
    pool: Literal["max", "mean"] = "max",
    full_resolution: bool = False,
    width: float | None = None,
    font: str | os.PathLike[str] | None = None,
    font_size: float | None = None,
    style: Literal["column", "page"] | None = None,
    norm: Literal["auto", "power", "linear", "log"] = "auto",
) -> Figure:
    """Draw an attention matrix as a heatmap figure.

    Parameters
    ----------
    matrix
        2-D scores, rows attending to columns: a numpy array (float16 to float64, or a
        ``numpy.memmap`` / ``np.load(path, mmap_mode="r")`` file), a torch tensor (any device
        and dtype, bfloat16 included; sparse tensors are densified), or anything with
        ``__array__``. Must be finite, except where a numpy masked array masks cells: those
        are drawn light grey ("no data"), are never top cells and do not count towards the
        colour range. Large inputs are read in row blocks, never copied whole.
    x_labels, y_labels
        Column labels (tokens attended to) and row labels (tokens attending): strings, or
        bytes (decoded as UTF-8). None is refused; pass ``""`` for an empty label.
    top_n
        Mark the ``top_n`` largest cells: their rows and columns are enlarged, their values
        written inside, their labels highlighted. 0 marks none. Ties are decided at the
        precision the values are written ("0.501"): cells that read the same are marked all or
        none, so a tie at the ``top_n``-th place is left out (fewer cells are marked), except
        a tie for the largest value itself, which is marked whole (up to 1000 cells).
    enlarged_size
        How many times larger the rows and columns of top cells are.
    gamma
        Exponent of the power-law colour normalisation ``((x - vmin)/(vmax - vmin)) ** gamma``
        (``norm="power"``).
    cmap
        Colormap name (any the `cmap` package knows; default ``"Blues"``). A categorical one
        (``"tab10"``, ``"Set1"``, ...) colours cells with its own N colours, one per equal step
        of the normalised value, as matplotlib's ``ListedColormap`` does.
    title, xlabel, ylabel
        Texts above the figure, above the column labels and left of the row labels.
    regions
        Inclusive cell ranges ``((row0, col0), (row1, col1))`` to box in red.
    vmin, vmax
        Data values at the ends of the colour scale: finite numbers, or percentiles of the
        whole matrix such as ``"99.9%"`` (exact order statistics found in the same pass that
        reads the range: the value of rank ``ceil(p / 100 * cells)``). Default: the matrix min
        and max, masked cells left out; on a log scale the floor is the 1st percentile of the
        positive values shown, at most a thousandth of the maximum.
    region_color
        Colour of the region boxes.
    special_tokens
        Labels drawn in bold; default :data:`izzyviz.text.DEFAULT_SPECIAL_TOKENS` (plus any
        ``<|...|>`` token).
    show_values
        Write the value inside each top cell (``True``), inside every cell (``"all"``: for
        small grids, e.g. layers x heads; where cells are too small for text, only the top
        cells' values are written) or nowhere (``False``). Values are written with
        three decimals, or in scientific notation where that cannot show them
        (see :func:`izzyviz.numbers.format_numbers`).
    cells
        ``"vector"`` (a rectangle per cell), ``"image"`` (one embedded image: small files for
        long sequences) or ``"auto"`` (vector up to 128 x 128 cells).
    pool
        When the matrix has more cells than the heatmap has pixels (at 150 dpi for a PDF or
        SVG page, as a reader sees it; at its own dpi for a PNG, see
        :meth:`Figure.at_dpi`), each pixel shows a block of cells: their
        ``"max"`` (default: a thin diagonal or a single bright cell stays visible) or their
        ``"mean"``. The figure says so in small print ("each pixel: max of 4 × 4 cells") and
        gains position ticks (0, 1k, 2k, ...). Top cells are still found on the full matrix.
    full_resolution
        Keep one image pixel per cell however long the sequence (large files).
    width, font, font_size, style
        Fit the figure to a paper: page width in inches, a font file or installed family
        name, the labels' size in points, or a preset (``"column"``: 3.5 in, 8 pt;
        ``"page"``: 7 in, 9 pt). See :func:`izzyviz.figure_style`.
    norm
        How values map to colours: ``"power"`` (``gamma`` above: the original IzzyViz scale),
        ``"linear"``, ``"log"`` (decades from a floor to ``vmax``: below the floor the lowest
        colour, exact zeros white and shown apart on the colour bar, which ticks at decades),
        or ``"auto"`` (default): ``"power"`` up to 128 tokens a side, ``"log"`` beyond, where
        a causal map's 1.0 at (0, 0) would paint everything else the lightest colour. A scale
        other than ``"power"`` is named in the figure's small print.

    Returns
    -------
    Figure
        Save it with ``fig.save("out.pdf")`` (or ``.svg``, ``.png``).

    Examples
    --------
    >>> import numpy as np, izzyviz
    >>> fig = izzyviz.heatmap(np.eye(3), ["a", "b", "c"], ["a", "b", "c"], top_n=1)
    >>> fig.size[0] > 0
    True
    """
    layout_style = figure_style(width, font, font_size, style)
    job = HeatmapJob.of(
        as_source(matrix, "matrix"),
        x_labels,
        y_labels,
        top_n=top_n,
        enlarged_size=enlarged_size,
        gamma=gamma,
        cmap=cmap,
        title=title,
        xlabel=xlabel,
        ylabel=ylabel,
        regions=regions,
        vmin=vmin,
        vmax=vmax,
        norm=norm,
        region_color=region_color,
        special_tokens=special_tokens,
        show_values=show_values,
        cells=cells,
        pool=pool,
        full_resolution=full_resolution,
    )

    def draw(style: Style) -> Figure:
        panel, scale = job.panel(style)
        return Figure(page([panel], style, title=title), figure_data([panel], scale))

    def explore(**page_options: Any) -> bytes:  # fig.save("map.html"): izzyviz.explore
        from izzyviz.explorer import explore as explorer

        return explorer(matrix, x_labels, y_labels, top_n=top_n, gamma=gamma, cmap=cmap,
                        title=title, xlabel=xlabel, ylabel=ylabel, regions=regions, vmin=vmin,
                        vmax=vmax, norm=norm, region_color=region_color,
                        special_tokens=special_tokens, pool=pool,
                        **page_options).render()  # fmt: skip

    return redrawable(draw, layout_style, explore)


def redrawable(
    draw: Callable[[Style], Figure],
    style: Style | None = None,
    explore: Callable[..., bytes] | None = None,
) -> Figure:
    """``draw(style)``, able to draw itself again for a reader at another resolution (a PNG at
    its own dpi, :meth:`Figure.at_dpi`), so that long maps pool their cells into its pixels;
    ``explore`` makes its HTML page (see :class:`Figure`)."""
    style = style or Style()

    def again(dpi: float) -> Figure | None:
        if dpi == style.display_dpi:
            return None
        return redrawable(draw, replace(style, display_dpi=dpi), explore)

    fig = draw(style)
    return Figure(fig.pages, fig.data, redraw=again, explore=explore)


def save_figure(fig: Figure, save_path: str | os.PathLike[str] | None, default: str) -> Figure:
    """Save ``fig`` to ``save_path`` (or ``default`` when None) and return the figure; saving
    prints ``IzzyViz: saved <path>``, as the original IzzyViz does."""
    target = default if save_path is None else save_path
    try:
        resolve_backend(os.fspath(target))
    except ValueError as exc:  # name the argument the caller knows
        raise ValueError(str(exc).replace("path:", "save_path:", 1)) from None
    except TypeError:
        raise TypeError(f"save_path: expected a file path, got {describe(save_path)}") from None
    fig.save(target)
    return fig
