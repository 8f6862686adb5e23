"""Analysis views: heatmaps with something drawn inside every cell.

Each view is one heatmap laid out by :func:`izzyviz.layout.heatmap_panel`; what it adds (circles
for a difference or a spread, sparklines for a history, boxes for detected regions) comes in
through the spec's ``overlay`` callable or its ``regions``, so there is one layout path and no
copied drawing code.

- :func:`compare_two_attentions_with_circles`: one matrix as the cells, a second as circles whose
  size shows how much they differ.
- :func:`check_stability_heatmap_with_gradient_color`: the mean of several runs as the cells,
  their spread as circles with a radial gradient from mean - spread to mean + spread.
- :func:`visualize_attention_evolution_sparklines`: the mean over the steps as the cells (or the
  last step), each cell's history as a sparkline, and a legend for the two sparkline colours.
- :func:`visualize_attention_with_detected_regions`: boxes around automatically found regions.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from izzyviz._validate import (
    check_bool,
    check_choice,
    check_fraction,
    check_index,
    check_nonnegative,
    check_positive,
    describe,
)
from izzyviz.colors import ScaleRequest, parse_color, relative_luminance
from izzyviz.figure import Figure
from izzyviz.layout import CellLayout, Overlay, Style
from izzyviz.paper import figure_style
from izzyviz.scene import RGBA, Group, Node, Polyline, RadialGradient, Rect, Text
from izzyviz.source import as_matrix
from izzyviz.text import metrics
from izzyviz.view_page import (
    Key,
    View,
    axis_labels,
    circles,
    colour_of,
    disc,
    draw,
    note,
    rgba,
    ring,
    stacked,
)

__all__ = [
    "check_stability_heatmap_with_gradient_color",
    "compare_two_attentions_with_circles",
    "visualize_attention_evolution_sparklines",
    "visualize_attention_with_detected_regions",
]

PathLike = str | os.PathLike[str]

CIRCLE_ALPHA = 0.7
# With no spread anywhere, stability circles shrink to this fraction of their largest radius
# (a visible dot) instead of dividing by zero.
DOT_RATIO = 0.1
# Relative luminance above which a cell counts as light (the engine's rule for cell values).
LIGHT_CELL = 0.408
# Sparklines keep this fraction of the cell width (each side) and height (top and bottom) free.
SPARK_PAD_X = 0.12
SPARK_PAD_Y = 0.2
WHITE: RGBA = (1.0, 1.0, 1.0, 1.0)
# Keys show a cell's colour this far up the colour scale (dark enough to see on white).
KEY_SHADE = 0.6


# -- 1. comparison -------------------------------------------------------------------------------


def compare_two_attentions_with_circles(
    attn1: Any,
    attn2: Any,
    tokens: Sequence[str] | None,
    title: str | None = "Attention Comparison",
    xlabel: str | None = None,
    ylabel: str | None = None,
    save_path: PathLike | None = None,
    circle_scale: float = 1.0,
    gamma: float = 1.5,
    cmap: str = "Blues",
    max_circle_ratio: float = 0.45,
    *,
    width: float | None = None,
    font: str | os.PathLike[str] | None = None,
    font_size: float | None = None,
    style: str | None = None,
    norm: str = "auto",
) -> Figure:
    """Compare two attention matrices: ``attn1`` as the cells, ``attn2`` as circles in them.

    Both matrices share one gamma colour scale (from the smaller of their minima to the larger
    of their maxima). Each cell holds a circle filled (70% opaque) with the colour of its
    ``attn2`` value, its radius proportional to ``|attn2 - attn1|``: the cell with the largest
    difference gets ``max_circle_ratio * circle_scale`` times its smaller side (so 0.45 leaves
    a thin margin), cells without a difference get no circle.

    Parameters
    ----------
    attn1, attn2
        2-D matrices of the same shape (numpy arrays, torch tensors or nested sequences).
    tokens
        Labels of both the rows and the columns (the matrices are then square); None numbers
        them from 0.
    title, xlabel, ylabel
        Texts above the figure, above the column labels and left of the row labels.
    save_path
        Where to save (``.pdf``, ``.svg`` or ``.png``); default
        ``attention_comparison_circles.pdf``.
    circle_scale
        Multiplies every radius (> 0).
    gamma
        Exponent of the power-law colour normalisation.
    cmap
        Colormap name.
    max_circle_ratio
        Radius of the circle of the largest difference, as a fraction of its cell's smaller
        side (> 0; 0.45 leaves a thin margin).

    width, font, font_size, style, norm
        Fit the figure to a paper (:func:`izzyviz.figure_style`); the colour scale, as in
        :func:`izzyviz.heatmap` (``"auto"``: power up to 128 tokens, log beyond).

    Returns
    -------
    Figure
        The saved figure; ``fig.data["max_difference"]`` is the largest ``|attn2 - attn1|``,
        the difference the largest circle stands for.
    """
    first = as_matrix(attn1, "attn1")
    second = as_matrix(attn2, "attn2")
    if first.shape != second.shape:
        raise ValueError(
            f"attn2: expected the shape of attn1 {first.shape}, got {describe(second)}"
        )
    circle_scale = check_positive(circle_scale, "circle_scale")
    max_circle_ratio = check_positive(max_circle_ratio, "max_circle_ratio")
    request = ScaleRequest.of(gamma, cmap, norm)
    both = np.stack([first, second])
    scale = request.resolve(float(both.min()), float(both.max()), list(both), first.shape)
    difference = np.abs(second - first)
    largest = float(difference.max())
    ratio = max_circle_ratio * circle_scale / largest if largest > 0 else 0.0
    colors = scale.rgba(second)
    colors[..., 3] = CIRCLE_ALPHA
    overlay = circles(difference * ratio, lambda r, c: rgba(colors[r, c]))
    shade = colour_of(scale, KEY_SHADE)
    keys = (  # key labels are cut at 24 characters, as tick labels are
        Key("Cells: attn1", swatch=shade),
        Key("Circle colour: attn2", mark=disc((*shade[:3], CIRCLE_ALPHA))),
        Key("Radius ∝ |attn2 − attn1|", mark=ring(0.5)),
        Key(f"Largest: {largest:.3g}", mark=ring()),
    )
    view = View(
        first, *axis_labels(first.shape, tokens, tokens, ("tokens", "tokens")),
        (title, xlabel, ylabel), "attention_comparison_circles.pdf", {"max_difference": largest},
        keys, {"scale": scale, "overlay": overlay},
    )  # fmt: skip
    return draw(view, save_path, figure_style(width, font, font_size, style))


# -- 2. stability --------------------------------------------------------------------------------


def check_stability_heatmap_with_gradient_color(
    matrices: Any,
    x_labels: Sequence[str] | None = None,
    y_labels: Sequence[str] | None = None,
    title: str | None = "Attention Stability over Runs",
    xlabel: str | None = "Tokens Attended to",
    ylabel: str | None = "Tokens Attending",
    use_std_error: bool = True,
    circle_scale: float = 1.0,
    cmap: str = "Blues",
    linecolor: Any = "white",
    linewidths: float = 1.0,
    save_path: PathLike | None = "check_stability_heatmap_with_gradient_color.pdf",
    gamma: float = 1.5,
    use_white_center: bool = False,
    color_contrast_scale: float = 2.0,
    max_circle_ratio: float = 0.45,
    *,
    width: float | None = None,
    font: str | os.PathLike[str] | None = None,
    font_size: float | None = None,
    style: str | None = None,
    norm: str = "auto",
) -> Figure:
    """Show how stable attention is over several runs: the mean as cells, the spread as circles.

    Each cell holds a circle whose radius grows with the spread of its values over the runs
    (the standard error ``std / sqrt(runs)``, or the standard deviation), relative to the
    largest spread: that cell's circle is ``max_circle_ratio * circle_scale`` times the cell's
    smaller side, and a cell without spread keeps a small dot. The circle is filled
    with a radial gradient from the colour of ``mean - spread * color_contrast_scale`` at the
    centre (or white) to that of ``mean + spread * color_contrast_scale`` at the rim.

    One gamma colour scale serves cells, circles and colour bar: it spans ``mean - spread`` to
    ``mean + spread`` over all cells, kept within the values the runs took.

    Parameters
    ----------
    matrices
        ``(runs, rows, columns)`` scores, or a list of equally shaped 2-D matrices.
    x_labels, y_labels
        Column and row labels; None numbers them from 0.
    title, xlabel, ylabel
        Texts above the figure, above the column labels and left of the row labels.
    use_std_error
        Spread is the standard error of the mean (True) or the standard deviation (False);
        both use the population standard deviation over runs.
    circle_scale
        Multiplies every radius (> 0).
    cmap
        Colormap name.
    linecolor, linewidths
        Colour and width (points, >= 0) of the lines between cells.
    save_path
        Where to save (``.pdf``, ``.svg`` or ``.png``).
    gamma
        Exponent of the power-law colour normalisation.
    use_white_center
        Start every gradient from white instead of the low colour.
    color_contrast_scale
        How far (in spreads) from the mean the gradient's two colours are picked (> 0).
    max_circle_ratio
        Radius of the circle of the largest spread, as a fraction of its cell's smaller side
        (> 0).

    width, font, font_size, style, norm
        Fit the figure to a paper (:func:`izzyviz.figure_style`); the colour scale, as in
        :func:`izzyviz.heatmap` (``"auto"``: power up to 128 tokens, log beyond).

    Returns
    -------
    Figure
        The saved figure; ``fig.data["runs"]`` is the number of runs and
        ``fig.data["max_spread"]`` the spread the largest circle stands for.
    """
    runs = stacked(matrices, "matrices", 3)
    circle_scale = check_positive(circle_scale, "circle_scale")
    max_circle_ratio = check_positive(max_circle_ratio, "max_circle_ratio")
    color_contrast_scale = check_positive(color_contrast_scale, "color_contrast_scale")
    linewidths = check_nonnegative(linewidths, "linewidths")
    line_color = parse_color(linecolor, "linecolor")
    use_white_center = check_bool(use_white_center, "use_white_center")
    request = ScaleRequest.of(gamma, cmap, norm)
    count = runs.shape[0]
    mean = runs.mean(axis=0)
    # Scaled, so squares of scores near the float64 limit cannot overflow.
    magnitude = float(np.abs(runs).max()) or 1.0
    spread = (runs / magnitude).std(axis=0) * magnitude
    # Identical runs give rounding noise (~1e-17), not spread; relative to the largest such
    # noise it would draw full-size circles.
    spread[spread <= 16 * np.finfo(np.float64).eps * float(np.abs(runs).max())] = 0.0
    use_std_error = check_bool(use_std_error, "use_std_error")
    if use_std_error:
        spread = spread / np.sqrt(count)
    # mean - spread can fall below anything a run produced (e.g. under 0 for attention); the
    # scale stops at the observed values so the colour bar shows only values that occurred.
    low = max(float((mean - spread).min()), float(runs.min()))
    high = min(float((mean + spread).max()), float(runs.max()))
    scale = request.resolve(low, max(low, high), [mean], mean.shape)
    largest = float(spread.max())
    ratio = spread / largest if largest > 0 else np.zeros_like(spread)
    ratio = np.maximum(ratio, DOT_RATIO) * (max_circle_ratio * circle_scale)
    reach = spread * color_contrast_scale
    # Near the float64 limit mean +- reach may overflow to +-inf: those clip to the scale's ends.
    with np.errstate(over="ignore"):
        rim_colors = scale.rgba(mean + reach)
        center_colors = (
            np.broadcast_to(np.array(WHITE), rim_colors.shape)
            if use_white_center
            else scale.rgba(mean - reach)
        )

    def fill(r: int, c: int) -> RGBA | RadialGradient:
        centre, rim = rgba(center_colors[r, c]), rgba(rim_colors[r, c])
        # A gradient between equal colours is a flat fill, and far cheaper to draw.
        return rim if centre == rim else RadialGradient(((0.0, centre), (1.0, rim)))

    low_end = WHITE if use_white_center else colour_of(scale, 0.2)
    k = f"{color_contrast_scale:g}"
    keys = (  # key labels are cut at 24 characters, as tick labels are
        Key(f"Cells: mean of {count} runs", swatch=colour_of(scale, KEY_SHADE)),
        Key(f"Radius ∝ {'standard error' if use_std_error else 'std. deviation'}", mark=ring(0.5)),
        Key(f"Largest: {largest:.3g}", mark=ring()),
        Key(
            "Centre: white" if use_white_center else f"Centre: mean − {k}×spread",
            mark=disc(low_end),
        ),
        Key(
            f"Rim: mean + {k}×spread",
            mark=disc(RadialGradient(((0.0, low_end), (1.0, colour_of(scale, 0.8))))),
        ),
    )
    view = View(
        mean, *axis_labels(mean.shape, x_labels, y_labels, ("x_labels", "y_labels")),
        (title, xlabel, ylabel), "check_stability_heatmap_with_gradient_color.pdf",
        {"runs": count, "max_spread": largest}, keys,
        {"scale": scale, "overlay": circles(ratio, fill), "gap": linewidths,
         "gap_color": line_color},
    )  # fmt: skip
    return draw(view, save_path, figure_style(width, font, font_size, style))


# -- 3. evolution --------------------------------------------------------------------------------


def _sparkline_heights(series: NDArray[np.float64], per_cell: bool) -> NDArray[np.float64]:
    """Heights in [0, 1] (0 at the bottom) of ``(steps, rows, columns)`` values: on one range
    shared by all cells, or on each cell's own range; flat series sit at 0.5."""
    series = series / 2  # halved, so max - min cannot overflow near the float64 limit
    if per_cell:
        low = series.min(axis=0, keepdims=True)
        span = series.max(axis=0, keepdims=True) - low
    else:
        low = np.full((1, 1, 1), series.min())
        span = np.full((1, 1, 1), series.max() - series.min())
    flat = ~(span > 0)
    heights = (series - low) / np.where(flat, 1.0, span)
    return np.where(flat, 0.5, heights)


def visualize_attention_evolution_sparklines(
    attentions_over_time: Any,
    tokens: Sequence[str] | None = None,
    layer: int | None = None,
    head: int | None = None,
    title: str | None = "Attention Evolution Over Training",
    xlabel: str | None = "Tokens Attended to",
    ylabel: str | None = "Tokens Attending",
    sparkline_color_dark: Any = "darkblue",
    sparkline_color_light: Any = "white",
    sparkline_linewidth: float = 1.0,
    sparkline_alpha: float = 0.8,
    gamma: float = 1.5,
    normalize_sparklines: bool = False,
    save_path: PathLike | None = "attention_evolution_sparklines.pdf",
    cell_values: str = "mean",
    *,
    width: float | None = None,
    font: str | os.PathLike[str] | None = None,
    font_size: float | None = None,
    style: str | None = None,
    norm: str = "auto",
) -> Figure:
    """Show how attention changed over time: each cell coloured by its mean over the steps
    (as the original IzzyViz does) or by the last step, with its history as a sparkline
    inside it, dark on light cells and light on dark ones, as a legend below the colour bar
    says ("Trend (low attention)" / "Trend (high attention)").

    Parameters
    ----------
    attentions_over_time
        ``(steps, rows, columns)`` scores, or ``(steps, layers, heads, rows, columns)`` with
        ``layer`` and ``head`` choosing one map; a list of per-step arrays works too.
    tokens
        Labels of both the rows and the columns; None numbers them from 0.
    layer, head
        Which layer and head to show (required for 5-D input, not allowed otherwise).
    title, xlabel, ylabel
        Texts above the figure, above the column labels and left of the row labels.
    sparkline_color_dark, sparkline_color_light
        Sparkline colours on light and on dark cells.
    sparkline_linewidth
        Sparkline width in points (> 0).
    sparkline_alpha
        Sparkline opacity in [0, 1].
    gamma
        Exponent of the power-law colour normalisation.
    normalize_sparklines
        Stretch each sparkline over its own range instead of the range shared by all cells.
    save_path
        Where to save (``.pdf``, ``.svg`` or ``.png``).
    cell_values
        What colours the cells (and the colour bar): ``"mean"``, the mean over the steps, or
        ``"last"``, the last step.

    width, font, font_size, style, norm
        Fit the figure to a paper (:func:`izzyviz.figure_style`); the colour scale, as in
        :func:`izzyviz.heatmap` (``"auto"``: power up to 128 tokens, log beyond).

    Returns
    -------
    Figure
        The saved figure; ``fig.data["cell_values"]`` says which values colour the cells.
    """
    check_choice(cell_values, ("mean", "last"), "cell_values")
    series = stacked(attentions_over_time, "attentions_over_time", (3, 5))
    if series.ndim == 5:
        if layer is None or head is None:
            missing = " and ".join(n for n, v in (("layer", layer), ("head", head)) if v is None)
            raise ValueError(
                f"{missing}: required for 5-D attentions_over_time of shape {series.shape} "
                "(steps, layers, heads, rows, columns)"
            )
        li = check_index(layer, "layer", series.shape[1], "layers")
        hi = check_index(head, "head", series.shape[2], "heads")
        series = series[:, li, hi]
    elif layer is not None or head is not None:
        raise ValueError(
            f"layer/head: only for 5-D attentions_over_time, got layer={layer!r}, "
            f"head={head!r} with a 3-D array of shape {series.shape}"
        )
    dark = parse_color(sparkline_color_dark, "sparkline_color_dark")
    light = parse_color(sparkline_color_light, "sparkline_color_light")
    alpha = check_fraction(sparkline_alpha, "sparkline_alpha")
    dark = (dark[0], dark[1], dark[2], dark[3] * alpha)
    light = (light[0], light[1], light[2], light[3] * alpha)
    line_width = check_positive(sparkline_linewidth, "sparkline_linewidth")
    request = ScaleRequest.of(gamma, "Blues", norm)
    steps, rows, cols = series.shape
    shown = series.mean(axis=0) if cell_values == "mean" else series[-1]
    scale = request.resolve(float(shown.min()), float(shown.max()), [shown], shown.shape)
    light_cells = relative_luminance(scale.rgba(shown)) > LIGHT_CELL
    heights = _sparkline_heights(series, check_bool(normalize_sparklines, "normalize_sparklines"))
    if steps == 1:  # one value: a level line across the cell
        heights = np.concatenate([heights, heights])
    fractions = np.linspace(0.0, 1.0, len(heights))

    def sparklines(cells: CellLayout) -> list[Node]:
        widths, cell_heights = cells.sizes
        left = cells.x_edges[:-1] + widths * SPARK_PAD_X
        span_x = widths * (1 - 2 * SPARK_PAD_X)
        bottom = cells.y_edges[1:] - cell_heights * SPARK_PAD_Y
        span_y = cell_heights * (1 - 2 * SPARK_PAD_Y)
        # (steps, columns) x positions and (steps, rows, columns) y positions, y-down.
        xs = left[None, :] + fractions[:, None] * span_x[None, :]
        ys = bottom[None, :, None] - heights * span_y[None, :, None]
        nodes: list[Node] = []
        for r in range(rows):
            for c in range(cols):
                points = np.column_stack([xs[:, c], ys[:, r, c]])
                color = dark if light_cells[r, c] else light
                nodes.append(Polyline(points, color, line_width))
        return [Group(tuple(nodes), role="sparklines")]

    keys = (
        Key("Trend (low attention)", dark, line_width, colour_of(scale, 0.0)),
        Key("Trend (high attention)", light, line_width, colour_of(scale, 1.0)),
    )
    view = View(
        shown, *axis_labels(shown.shape, tokens, tokens, ("tokens", "tokens")),
        (title, xlabel, ylabel), "attention_evolution_sparklines.pdf",
        {"steps": steps, "cell_values": cell_values}, keys,
        {"scale": scale, "overlay": sparklines},
    )  # fmt: skip
    return draw(view, save_path, figure_style(width, font, font_size, style))


# -- 4. detected regions -------------------------------------------------------------------------


def _region_labels(
    regions: Sequence[tuple[int, int, int, int]], color: RGBA, stroke: float, layout: Style
) -> Overlay:
    """An overlay numbering the region boxes "1", "2", ...: white digits on a badge of the box
    colour, just inside each box's top-left corner, in the figure's font."""
    fm = metrics(layout.font)
    badge = (color[0], color[1], color[2], 1.0)

    def labels(cells: CellLayout) -> list[Node]:
        widths, heights = cells.sizes
        size = float(np.clip(min(widths.min(), heights.min()) * 0.35, 6.0, 9.0))
        cap = fm.cap_height * size
        pad = size * 0.25
        nodes: list[Node] = []
        for number, (r0, c0, _, _) in enumerate(regions, start=1):
            text = str(number)
            width = fm.width(text, size, True)
            left = float(cells.x_edges[c0]) + stroke / 2
            top = float(cells.y_edges[r0]) + stroke / 2
            nodes.append(Rect(left, top, width + 2 * pad, cap + 2 * pad, fill=badge, radius=pad))
            nodes.append(
                Text(
                    left + pad + width / 2,
                    top + pad + cap,
                    text,
                    size,
                    width,
                    WHITE,
                    bold=True,
                    anchor="middle",
                )
            )
        return [Group(tuple(nodes), role="region-labels")]

    return labels


def visualize_attention_with_detected_regions(
    attention_matrix: Any,
    source_tokens: Sequence[str] | None,
    target_tokens: Sequence[str] | None,
    title: str | None = "Attention with Detected Regions",
    xlabel: str | None = "Tokens Attended to",
    ylabel: str | None = "Tokens Attending",
    n_regions: int = 3,
    min_distance: int = 2,
    expansion_threshold: float = 0.9,
    merge_threshold: float = 0.6,
    region_color: Any = "orange",
    region_linewidth: float = 2,
    region_alpha: float = 0.7,
    label_regions: bool = False,
    gamma: float = 1.5,
    save_path: PathLike | None = "attention_with_detected_regions.pdf",
    cmap: str = "Blues",
    max_expansion_steps: int = 3,
    proximity_threshold: int = 2,
    *,
    width: float | None = None,
    font: str | os.PathLike[str] | None = None,
    font_size: float | None = None,
    style: str | None = None,
    norm: str = "auto",
) -> Figure:
    """Draw an attention matrix with boxes around regions of high attention found
    automatically by :func:`izzyviz.regions.find_attention_regions_with_merging`.

    Parameters
    ----------
    attention_matrix
        2-D scores, rows (``target_tokens``) attending to columns (``source_tokens``).
    source_tokens, target_tokens
        Column and row labels; None numbers them from 0.
    title, xlabel, ylabel
        Texts above the figure, above the column labels and left of the row labels.
    n_regions, min_distance, expansion_threshold, max_expansion_steps, proximity_threshold
        Passed to the region finder (``n_seeds`` is ``n_regions``).
    merge_threshold
        The region finder's ``merge_std_threshold``.
    region_color, region_linewidth, region_alpha
        Colour, line width (points) and opacity of the boxes.
    label_regions
        Number the boxes "1", "2", ... (highest mean first) in their top-left corners.
    gamma
        Exponent of the power-law colour normalisation.
    save_path
        Where to save (``.pdf``, ``.svg`` or ``.png``).
    cmap
        Colormap name.

    width, font, font_size, style, norm
        Fit the figure to a paper (:func:`izzyviz.figure_style`); the colour scale, as in
        :func:`izzyviz.heatmap` (``"auto"``: power up to 128 tokens, log beyond).

    Returns
    -------
    Figure
        The saved figure; ``fig.data["regions"]`` lists the boxes as inclusive
        ``(row0, col0, row1, col1)``.
    """
    from izzyviz.regions import find_attention_regions_with_merging

    check_bool(label_regions, "label_regions")
    layout = figure_style(width, font, font_size, style)
    matrix = as_matrix(attention_matrix, "attention_matrix")
    names = ("source_tokens", "target_tokens")
    x_labels, y_labels = axis_labels(matrix.shape, source_tokens, target_tokens, names)
    alpha = check_fraction(region_alpha, "region_alpha")
    color = parse_color(region_color, "region_color", alpha=alpha)
    line_width = check_positive(region_linewidth, "region_linewidth")
    try:
        found = find_attention_regions_with_merging(
            matrix,
            n_seeds=n_regions,
            min_distance=min_distance,
            expansion_threshold=expansion_threshold,
            merge_std_threshold=merge_threshold,
            proximity_threshold=proximity_threshold,
            max_expansion_steps=max_expansion_steps,
        )
    except (TypeError, ValueError) as exc:  # report the names this function takes
        message = str(exc).replace("n_seeds:", "n_regions:", 1)
        message = message.replace("merge_std_threshold:", "merge_threshold:", 1)
        raise type(exc)(message) from None
    overlay: Overlay | None = note("No regions found", layout) if not found else None
    if found and label_regions:
        overlay = _region_labels(found, color, line_width, layout)
    keys = (Key("Detected region", color, line_width),) if found else ()
    view = View(
        matrix, x_labels, y_labels, (title, xlabel, ylabel),
        "attention_with_detected_regions.pdf", {"regions": [list(r) for r in found]}, keys,
        {"gamma": gamma, "cmap": cmap, "norm": norm,
         "regions": [((a, b), (c, d)) for a, b, c, d in found],
         "region_color": color,
         "region_width": line_width, "overlay": overlay},
    )  # fmt: skip
    return draw(view, save_path, layout)
