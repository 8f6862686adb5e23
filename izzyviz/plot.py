"""``izzyviz.heatmap``: one attention matrix as a figure."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import Any, Literal

import numpy as np

from izzyviz._validate import (
    as_matrix,
    check_bool,
    check_choice,
    check_labels,
    check_nonnegative_int,
    check_optional_text,
    check_positive,
    describe,
)
from izzyviz.blocks import POOL_RULES, Matrix, as_source, summarize
from izzyviz.colors import ColorScale, lut, parse_color
from izzyviz.figure import Figure
from izzyviz.layout import (
    HeatmapSpec,
    Panel,
    Region,
    Style,
    display_bounds,
    heatmap_panel,
    page,
)
from izzyviz.paper import figure_style
from izzyviz.render import resolve_backend

__all__ = ["check_regions", "figure_data", "heatmap", "heatmap_spec", "save_figure"]

CELL_MODES = ("auto", "vector", "image")


def check_regions(regions: Any, shape: tuple[int, ...], name: str = "regions") -> list[Region]:
    """Validate ``((row0, col0), (row1, col1))`` inclusive cell ranges against a matrix shape;
    returns them as ``(row0, col0, row1, col1)`` tuples."""
    if regions is None:
        return []
    if isinstance(regions, (str, bytes)) or not isinstance(regions, Iterable):
        raise TypeError(
            f"{name}: expected a list of ((row0, col0), (row1, col1)) pairs, "
            f"got {describe(regions)}"
        )
    result: list[Region] = []
    for k, region in enumerate(regions):
        try:
            (r0, c0), (r1, c1) = region
            r0, c0, r1, c1 = (int(v) for v in (r0, c0, r1, c1))
            if any(int(v) != v for v in np.ravel(region)):
                raise ValueError
        except (TypeError, ValueError):
            raise TypeError(
                f"{name}[{k}]: expected ((row0, col0), (row1, col1)) with integer "
                f"indices, got {describe(region)}"
            ) from None
        rows, cols = shape
        if r0 > r1 or c0 > c1:
            raise ValueError(
                f"{name}[{k}]: the top-left cell {(r0, c0)} must not lie below or "
                f"right of the bottom-right cell {(r1, c1)}"
            )
        if not (0 <= r0 and r1 < rows and 0 <= c0 and c1 < cols):
            raise IndexError(
                f"{name}[{k}]: cells {(r0, c0)}..{(r1, c1)} fall outside the "
                f"{rows} x {cols} matrix (rows 0-{rows - 1}, columns 0-{cols - 1})"
            )
        result.append((r0, c0, r1, c1))
    return result


def check_special_tokens(tokens: Any) -> frozenset[str]:
    """``special_tokens`` as a set of strings (a lone string is a mistake, not a set of
    characters)."""
    if isinstance(tokens, (str, bytes)) or not isinstance(tokens, Iterable):
        raise TypeError(
            f"special_tokens: expected a collection of token strings such as {{'[CLS]', "
            f"'[SEP]'}}, got {describe(tokens)}"
        )
    result = frozenset(tokens)
    bad = [t for t in result if not isinstance(t, str)]
    if bad:
        raise TypeError(f"special_tokens: expected strings, got {describe(bad[0])}")
    return result


def figure_data(panels: Sequence[Panel], scale: ColorScale) -> dict[str, Any]:
    """The numbers a figure shows, per panel: top cells with values, regions, colour scale."""
    out: dict[str, Any] = {
        "vmin": scale.vmin,
        "vmax": scale.vmax,
        "gamma": scale.gamma,
        "cmap": scale.cmap,
        "panels": [],
    }
    for panel in panels:
        cells = panel.cells
        top = zip(
            cells.top_rows.tolist(), cells.top_cols.tolist(), cells.top_values.tolist(), strict=True
        )
        out["panels"].append(
            {
                "shape": [int(n) for n in cells.matrix.shape],
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
    vmin: float | None = None,
    vmax: float | None = None,
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
        Mark the cells whose value is at least the ``top_n``-th largest (ties included): their
        rows and columns are enlarged, their values written inside, their labels highlighted.
        0 marks none.
    enlarged_size
        How many times larger the rows and columns of top cells are.
    gamma
        Exponent of the power-law colour normalisation ``((x - vmin)/(vmax - vmin)) ** gamma``.
    cmap
        Colormap name (any the `cmap` package knows; default ``"Blues"``). A categorical one
        (``"tab10"``, ``"Set1"``, ...) colours cells with its own N colours, one per equal step
        of the normalised value, as matplotlib's ``ListedColormap`` does.
    title, xlabel, ylabel
        Texts above the figure, above the column labels and left of the row labels.
    regions
        Inclusive cell ranges ``((row0, col0), (row1, col1))`` to box in red.
    vmin, vmax
        Data values at the ends of the colour scale: finite numbers (default: the matrix min
        and max, masked cells left out).
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
    masked = isinstance(matrix, np.ma.MaskedArray)
    # A masked array is in memory already: its float64 copy carries the mask as NaN.
    data = as_matrix(matrix, "matrix", masked=True) if masked else as_source(matrix, "matrix")

    def draw(style: Style) -> Figure:
        spec, scale = heatmap_spec(
            data,
            x_labels,
            y_labels,
            style=style,
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
            region_color=region_color,
            special_tokens=special_tokens,
            show_values=show_values,
            cells=cells,
            pool=pool,
            full_resolution=full_resolution,
            masked=masked,
        )
        panel = heatmap_panel(spec, style)
        return Figure(page([panel], style, title=title), figure_data([panel], scale))

    def explore(**page_options: Any) -> bytes:  # fig.save("map.html"): izzyviz.explore
        from izzyviz.explorer import explore as explorer

        return explorer(matrix, x_labels, y_labels, top_n=top_n, gamma=gamma, cmap=cmap,
                        title=title, xlabel=xlabel, ylabel=ylabel, regions=regions, vmin=vmin,
                        vmax=vmax, region_color=region_color, special_tokens=special_tokens,
                        pool=pool, **page_options).render()  # fmt: skip

    return redrawable(draw, layout_style, explore)


def check_show_values(value: Any) -> bool | Literal["all"]:
    """``show_values``: True, False (numpy bools too) or ``"all"``."""
    if isinstance(value, str) and value == "all":
        return "all"
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"show_values: expected True, False or 'all', got {describe(value)}")
    return bool(value)


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


def heatmap_spec(
    data: Matrix,
    x_labels: Sequence[str],
    y_labels: Sequence[str],
    *,
    scale: ColorScale | None = None,
    gamma: float = 1.5,
    cmap: str = "Blues",
    vmin: float | None = None,
    vmax: float | None = None,
    top_n: int = 3,
    enlarged_size: float = 1.8,
    regions: Any = None,
    region_color: Any = "red",
    cells: str = "auto",
    pool: str = "max",
    full_resolution: bool = False,
    masked: bool = False,
    style: Style | None = None,
    name: str = "matrix",
    **options: Any,
) -> tuple[HeatmapSpec, ColorScale]:
    """Validate the options shared by every heatmap-drawing function, read the matrix once
    (range, finiteness, top cells, display pixels: :func:`izzyviz.blocks.summarize`) and build
    the spec. ``masked``: ``data`` is float64 with NaN for masked cells ("no data"). Display
    pixels are those of ``style`` (default :class:`Style`); errors about values call ``data``
    ``name``."""
    rows, cols = data.shape
    xs = check_labels(x_labels, "x_labels", cols, "columns")
    ys = check_labels(y_labels, "y_labels", rows, "rows")
    top_n = check_nonnegative_int(top_n, "top_n")
    enlarged_size = check_positive(enlarged_size, "enlarged_size")
    check_choice(cells, CELL_MODES, "cells")
    check_choice(pool, POOL_RULES, "pool")
    full_resolution = check_bool(full_resolution, "full_resolution")
    for text in ("title", "xlabel", "ylabel"):
        check_optional_text(options.get(text), text)
    if "show_values" in options:
        options["show_values"] = check_show_values(options["show_values"])
    if options.get("special_tokens") is not None:
        options["special_tokens"] = check_special_tokens(options["special_tokens"])
    if scale is None:
        check_positive(gamma, "gamma")
        lut(cmap)
    bounds = display_bounds((rows, cols), style or Style())
    summary = summarize(data, top_n, *bounds, pool, name, masked=masked)  # type: ignore[arg-type]
    if scale is None:
        ends = np.array([summary.vmin, summary.vmax])
        scale = ColorScale.from_data(ends, gamma, cmap, vmin, vmax)
    spec = HeatmapSpec(
        data,
        xs,
        ys,
        scale,
        top_n=top_n,
        enlarged_size=enlarged_size,
        regions=check_regions(regions, (rows, cols)),
        region_color=parse_color(region_color, "region_color"),
        cells=cells,  # type: ignore[arg-type]
        pool=pool,  # type: ignore[arg-type]
        full_resolution=full_resolution,
        summary=summary,
        **options,
    )
    return spec, scale


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
