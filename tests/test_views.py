"""The analysis views: scene-level checks of what goes in the cells, and real files."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from izzyviz.colors import ColorScale, parse_color, relative_luminance
from izzyviz.figure import Figure
from izzyviz.scene import CellGrid, Circle, Group, Line, Polyline, RadialGradient, Rect, Text
from izzyviz.views import (
    CIRCLE_ALPHA,
    DOT_RATIO,
    check_stability_heatmap_with_gradient_color,
    compare_two_attentions_with_circles,
    visualize_attention_evolution_sparklines,
    visualize_attention_with_detected_regions,
)

TOKENS = ["[CLS]", "the", "cat", "sat", "down", "[SEP]"]
N = len(TOKENS)


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Default save paths land in a temporary directory."""
    monkeypatch.chdir(tmp_path)


def _attention(seed: int, n: int = N) -> np.ndarray:
    rng = np.random.default_rng(seed)
    matrix = rng.random((n, n)) ** 4
    matrix[:, -1] += rng.random(n)
    return matrix / matrix.sum(axis=1, keepdims=True)


def _heatmap(fig: Figure) -> Group:
    (group,) = fig.scene.find("heatmap")
    return group


def _nodes(fig: Figure, kind: type) -> list[Any]:
    return [node for node in _heatmap(fig).walk() if isinstance(node, kind)]


def _grid(fig: Figure) -> CellGrid:
    (grid,) = _nodes(fig, CellGrid)
    return grid


def _sides(grid: CellGrid) -> np.ndarray:
    return np.minimum.outer(np.diff(grid.y_edges), np.diff(grid.x_edges))


def _color(scale: ColorScale, value: float) -> tuple[float, ...]:
    """One value's colour (through ``rgba``: ``ColorScale.color`` fails on scalars)."""
    return tuple(scale.rgba(np.array([value]))[0].tolist())


def _stability_runs() -> np.ndarray:
    rng = np.random.default_rng(7)
    base = _attention(3)
    return np.clip(base[None] * (1 + 0.5 * rng.standard_normal((5, N, N))), 0, None)


# -- comparison ------------------------------------------------------------------------------------


def test_equal_matrices_draw_no_circles() -> None:
    attn = _attention(1)
    fig = compare_two_attentions_with_circles(attn, attn.copy(), TOKENS, save_path="c.svg")
    assert _nodes(fig, Circle) == []
    assert fig.data["max_difference"] == 0.0


def test_comparison_circles_size_and_colour() -> None:
    attn1, attn2 = _attention(1), _attention(2)
    fig = compare_two_attentions_with_circles(
        attn1, attn2, TOKENS, save_path="c.svg", circle_scale=0.8, max_circle_ratio=0.5
    )
    grid = _grid(fig)
    difference = np.abs(attn2 - attn1)
    circles = _nodes(fig, Circle)
    assert len(circles) == int((difference > 0).sum())
    xc = (grid.x_edges[:-1] + grid.x_edges[1:]) / 2
    yc = (grid.y_edges[:-1] + grid.y_edges[1:]) / 2
    by_centre = {(round(c.cx, 6), round(c.cy, 6)): c for c in circles}
    r, c = np.unravel_index(int(np.argmax(difference)), difference.shape)
    biggest = by_centre[(round(float(xc[c]), 6), round(float(yc[r]), 6))]
    assert biggest.r == pytest.approx(0.5 * 0.8 * _sides(grid)[r, c])
    assert max(circle.r for circle in circles) == pytest.approx(biggest.r)
    # One scale over both matrices: circles coloured by attn2, cells by attn1.
    scale = ColorScale(min(attn1.min(), attn2.min()), max(attn1.max(), attn2.max()), 1.5, "Blues")
    assert (fig.data["vmin"], fig.data["vmax"]) == (scale.vmin, scale.vmax)
    assert biggest.fill == pytest.approx((*_color(scale, attn2[r, c])[:3], CIRCLE_ALPHA))
    np.testing.assert_array_equal(grid.indices, scale.indices(attn1))
    assert fig.data["panels"][0]["top_cells"] == []  # no top-N enlargement


def test_comparison_labels_default_to_numbers() -> None:
    fig = compare_two_attentions_with_circles(
        _attention(1, 3), _attention(2, 3), None, save_path="c.svg"
    )
    texts = [n.text for g in fig.scene.find("x-labels") for n in g.walk() if isinstance(n, Text)]
    assert texts == ["0", "1", "2"]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"attn2": np.ones((N, N - 1))}, ValueError, "attn2: expected the shape"),
        ({"attn1": np.ones(N)}, ValueError, "attn1: expected a 2-D array"),
        ({"circle_scale": 0}, ValueError, "circle_scale: expected a positive number"),
        ({"max_circle_ratio": -1.0}, ValueError, "max_circle_ratio"),
        ({"tokens": TOKENS[:-1]}, ValueError, "tokens: got 5 labels"),
        ({"cmap": "no-such-map"}, ValueError, "cmap: unknown colormap"),
    ],
)
def test_comparison_validation(kwargs: dict[str, Any], error: type, match: str) -> None:
    args: dict[str, Any] = {"attn1": _attention(1), "attn2": _attention(2), "tokens": TOKENS}
    args.update(kwargs)
    with pytest.raises(error, match=match):
        compare_two_attentions_with_circles(**args, save_path="c.svg")


# -- stability -------------------------------------------------------------------------------------


def test_zero_spread_gives_dots() -> None:
    runs = np.stack([_attention(4)] * 3)
    fig = check_stability_heatmap_with_gradient_color(
        runs, TOKENS, TOKENS, save_path="s.svg", max_circle_ratio=0.4
    )
    circles = _nodes(fig, Circle)
    assert len(circles) == N * N
    side = float(_sides(_grid(fig)).min())
    assert all(c.r == pytest.approx(DOT_RATIO * 0.4 * side) for c in circles)
    # No spread: one colour, the cell's own (a flat dot), or white to it with a white centre.
    colors = _grid(fig).colors() / 255
    assert [c.fill for c in circles] == [pytest.approx(tuple(v)) for v in colors.reshape(-1, 4)]
    white = check_stability_heatmap_with_gradient_color(
        runs, save_path="s.svg", use_white_center=True
    )
    fills = [c.fill for c in _nodes(white, Circle)]
    assert all(isinstance(f, RadialGradient) and f.stops[0][1] == (1, 1, 1, 1) for f in fills)
    assert fig.data["max_spread"] == 0.0


@pytest.mark.parametrize("use_std_error", [True, False])
@pytest.mark.parametrize("white", [False, True])
def test_gradient_stops_and_radii(use_std_error: bool, white: bool) -> None:
    runs = _stability_runs()
    fig = check_stability_heatmap_with_gradient_color(
        list(runs),
        TOKENS,
        TOKENS,
        save_path="s.svg",
        use_std_error=use_std_error,
        use_white_center=white,
        color_contrast_scale=1.5,
    )
    mean = runs.mean(axis=0)
    spread = runs.std(axis=0) / (np.sqrt(len(runs)) if use_std_error else 1.0)
    scale = ColorScale(fig.data["vmin"], fig.data["vmax"], fig.data["gamma"], fig.data["cmap"])
    assert scale.vmin == pytest.approx(max((mean - spread).min(), runs.min()))
    assert scale.vmax == pytest.approx(min((mean + spread).max(), runs.max()))
    circles = _nodes(fig, Circle)
    assert len(circles) == N * N
    assert sum(isinstance(c.fill, RadialGradient) for c in circles) > N * N // 2
    sides = _sides(_grid(fig))
    ratio = np.maximum(spread / spread.max(), DOT_RATIO)
    for k, circle in enumerate(circles):  # row-major order
        r, c = divmod(k, N)
        if isinstance(circle.fill, RadialGradient):
            (o0, centre), (o1, rim) = circle.fill.stops
            assert (o0, o1) == (0.0, 1.0)
            assert centre != rim
        else:  # equal stops are drawn as a flat fill
            assert circle.fill is not None
            centre = rim = circle.fill
        expected_centre = (
            (1.0, 1.0, 1.0, 1.0) if white else _color(scale, mean[r, c] - 1.5 * spread[r, c])
        )
        assert centre == pytest.approx(expected_centre)
        assert rim == pytest.approx(_color(scale, mean[r, c] + 1.5 * spread[r, c]))
        assert circle.r == pytest.approx(0.45 * ratio[r, c] * sides[r, c])
    np.testing.assert_array_equal(_grid(fig).indices, scale.indices(mean))


def test_stability_grid_lines() -> None:
    runs = _stability_runs()
    fig = check_stability_heatmap_with_gradient_color(
        runs, save_path="s.svg", linecolor="black", linewidths=1.25
    )
    grid = _grid(fig)
    assert grid.gap == 1.25
    assert grid.gap_color == parse_color("black")
    none = check_stability_heatmap_with_gradient_color(runs, save_path="s.svg", linewidths=0)
    assert _grid(none).gap == 0.0


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"matrices": np.ones((3, 3))}, ValueError, "matrices: expected a 3-D array"),
        (
            {"matrices": [np.ones((2, 2)), np.ones((3, 3))]},
            ValueError,
            "matrices: expected arrays of one shape",
        ),
        ({"circle_scale": -2}, ValueError, "circle_scale"),
        ({"color_contrast_scale": 0}, ValueError, "color_contrast_scale"),
        ({"linewidths": -1}, ValueError, "linewidths: expected a non-negative number"),
        ({"linecolor": "not-a-colour"}, ValueError, "cannot read"),
        ({"x_labels": ["a"]}, ValueError, "x_labels: got 1 labels"),
    ],
)
def test_stability_validation(kwargs: dict[str, Any], error: type, match: str) -> None:
    args: dict[str, Any] = {"matrices": _stability_runs()}
    args.update(kwargs)
    with pytest.raises(error, match=match):
        check_stability_heatmap_with_gradient_color(**args, save_path="s.svg")


# -- evolution -------------------------------------------------------------------------------------


def _history(steps: int = 6) -> np.ndarray:
    return np.stack(
        [_attention(1) * (1 - t / steps) + _attention(2) * t / steps for t in range(steps)]
    )


def test_sparkline_colour_flips_on_dark_cells() -> None:
    history = _history()
    fig = visualize_attention_evolution_sparklines(
        history, TOKENS, save_path="e.svg", sparkline_alpha=0.5
    )
    lines = _nodes(fig, Polyline)
    assert len(lines) == N * N
    grid = _grid(fig)
    light = relative_luminance(grid.colors().astype(float) / 255) > 0.408
    assert light.any() and (~light).any()
    dark_blue = (*parse_color("darkblue")[:3], 0.5)
    for k, line in enumerate(lines):
        r, c = divmod(k, N)
        expected = dark_blue if light[r, c] else (1.0, 1.0, 1.0, 0.5)
        assert line.stroke == pytest.approx(expected)
        assert line.points.shape == (len(history), 2)
        # Inset inside its own cell.
        assert (
            grid.x_edges[c]
            < line.points[:, 0].min()
            < line.points[:, 0].max()
            < grid.x_edges[c + 1]
        )
        assert (
            grid.y_edges[r]
            < line.points[:, 1].min()
            <= line.points[:, 1].max()
            < grid.y_edges[r + 1]
        )
    scale = ColorScale.from_data(history.mean(axis=0), 1.5, "Blues")
    np.testing.assert_array_equal(grid.indices, scale.indices(history.mean(axis=0)))


def test_evolution_cells_show_the_mean_over_the_steps_by_default() -> None:
    # As the original: cells and colour bar show each cell's mean over the steps, not the last
    # step (whose range is wider); cell_values="last" keeps the last step.
    history = _history()
    mean = visualize_attention_evolution_sparklines(history, TOKENS, save_path="e.svg")
    assert (mean.data["vmin"], mean.data["vmax"]) == pytest.approx(
        (history.mean(axis=0).min(), history.mean(axis=0).max())
    )
    assert mean.data["cell_values"] == "mean"
    last = visualize_attention_evolution_sparklines(
        history, TOKENS, save_path="e.svg", cell_values="last"
    )
    assert (last.data["vmin"], last.data["vmax"]) == pytest.approx(
        (history[-1].min(), history[-1].max())
    )
    scale = ColorScale.from_data(history[-1], 1.5, "Blues")
    np.testing.assert_array_equal(_grid(last).indices, scale.indices(history[-1]))


def test_evolution_legend_names_the_two_sparkline_colours() -> None:
    fig = visualize_attention_evolution_sparklines(
        _history(), TOKENS, save_path="e.svg", sparkline_color_dark="red", sparkline_linewidth=2
    )
    (legend,) = fig.scene.find("legend")
    texts = [node.text for node in legend.walk() if isinstance(node, Text)]
    assert texts == ["Trend (low attention)", "Trend (high attention)"]
    samples = [node for node in legend.walk() if isinstance(node, Line)]
    assert [line.stroke for line in samples] == [(1.0, 0.0, 0.0, 0.8), (1.0, 1.0, 1.0, 0.8)]
    assert all(line.width == 2 for line in samples)
    # Below the colour bar, inside the page.
    (bar,) = fig.scene.find("colorbar")
    assert min(line.y0 for line in samples) > max(
        node.y for node in bar.walk() if isinstance(node, Text)
    )
    svg = ET.fromstring(Path("e.svg").read_bytes())
    assert "Trend (high attention)" in "".join(svg.itertext())


def test_sparkline_ranges() -> None:
    history = np.zeros((4, 2, 2))
    history[:, 0, 0] = [0.0, 0.1, 0.2, 0.3]  # rising
    history[:, 0, 1] = 0.5  # flat
    history[:, 1, 0] = [0.0, 1.0, 0.0, 1.0]
    shared = visualize_attention_evolution_sparklines(history, save_path="e.svg")
    own = visualize_attention_evolution_sparklines(
        history, save_path="e.svg", normalize_sparklines=True
    )
    grid = _grid(own)
    mid = (grid.y_edges[0] + grid.y_edges[1]) / 2
    shared_lines, own_lines = _nodes(shared, Polyline), _nodes(own, Polyline)
    # A flat series is a level line: mid-cell on its own range.
    np.testing.assert_allclose(own_lines[1].points[:, 1], mid)
    assert np.ptp(shared_lines[1].points[:, 1]) == 0
    # On the shared range the small rise stays small; on its own range it fills the inset.
    assert np.ptp(own_lines[0].points[:, 1]) == pytest.approx(np.ptp(own_lines[2].points[:, 1]))
    assert np.ptp(shared_lines[0].points[:, 1]) == pytest.approx(
        0.3 * np.ptp(shared_lines[2].points[:, 1])
    )
    # y grows downwards: a rising series ends higher on the page.
    assert own_lines[0].points[-1, 1] < own_lines[0].points[0, 1]


def test_five_d_input_picks_layer_and_head() -> None:
    history = _history(3)
    full = np.zeros((3, 2, 4, N, N))
    full[:, 1, 2] = history
    fig = visualize_attention_evolution_sparklines(
        full, TOKENS, layer=1, head=-2, save_path="e.svg"
    )
    direct = visualize_attention_evolution_sparklines(history, TOKENS, save_path="e.svg")
    np.testing.assert_array_equal(_grid(fig).indices, _grid(direct).indices)
    for a, b in zip(_nodes(fig, Polyline), _nodes(direct, Polyline), strict=True):
        np.testing.assert_array_equal(a.points, b.points)


def test_single_step_draws_level_lines() -> None:
    fig = visualize_attention_evolution_sparklines(_history(1), save_path="e.svg")
    for line in _nodes(fig, Polyline):
        assert line.points.shape == (2, 2)
        assert line.points[0, 1] == line.points[1, 1]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"attentions_over_time": np.ones((2, 1, 1, 3, 3))}, ValueError, "layer and head: req"),
        ({"attentions_over_time": np.ones((2, 1, 1, 3, 3)), "layer": 0}, ValueError, "head: req"),
        (
            {"attentions_over_time": np.ones((2, 1, 1, 3, 3)), "layer": 1, "head": 0},
            IndexError,
            "layer: index 1 is out of range",
        ),
        ({"layer": 0}, ValueError, "layer/head: only for 5-D"),
        ({"attentions_over_time": np.ones((3, 3))}, ValueError, "expected a 3-D or 5-D array"),
        ({"sparkline_alpha": 1.5}, ValueError, "sparkline_alpha: expected a number between"),
        ({"sparkline_linewidth": 0}, ValueError, "sparkline_linewidth"),
        ({"cell_values": "first"}, ValueError, "cell_values: "),
        ({"sparkline_color_dark": 3}, TypeError, "sparkline_color_dark"),
        ({"tokens": ["a", "b"]}, ValueError, "tokens: got 2 labels"),
    ],
)
def test_evolution_validation(kwargs: dict[str, Any], error: type, match: str) -> None:
    args: dict[str, Any] = {"attentions_over_time": np.ones((2, 3, 3))}
    args.update(kwargs)
    with pytest.raises(error, match=match):
        visualize_attention_evolution_sparklines(**args, save_path="e.svg")


# -- detected regions ------------------------------------------------------------------------------


def _planted(rows: int = 14, cols: int = 12) -> np.ndarray:
    rng = np.random.default_rng(5)
    matrix = 0.02 + 0.01 * rng.random((rows, cols))
    matrix[1:3, 2:5] = 0.8
    matrix[7, 7] = 0.9  # one bright cell: not a region
    matrix[9:12, 0:3] = 0.6
    return matrix


def test_region_boxes_follow_planted_blocks() -> None:
    matrix = _planted()
    source = [f"s{i}" for i in range(12)]
    target = [f"t{i}" for i in range(14)]
    fig = visualize_attention_with_detected_regions(
        matrix, source, target, save_path="r.svg", region_alpha=0.5, region_linewidth=3
    )
    assert fig.data["regions"] == [[1, 2, 2, 4], [9, 0, 11, 2]]
    grid = _grid(fig)
    x, y = grid.x_edges, grid.y_edges
    boxes = [n for n in _nodes(fig, Rect) if n.stroke is not None and n.stroke_width == 3]
    assert [(b.x, b.y, b.x + b.width, b.y + b.height) for b in boxes] == [
        pytest.approx((x[c0], y[r0], x[c1 + 1], y[r1 + 1]))
        for r0, c0, r1, c1 in fig.data["regions"]
    ]
    assert all(b.stroke == (*parse_color("orange")[:3], 0.5) for b in boxes)
    assert all(b.stroke_width == 3 for b in boxes)
    # Source tokens label the columns, target tokens the rows.
    x_texts = [n.text for g in fig.scene.find("x-labels") for n in g.walk() if isinstance(n, Text)]
    y_texts = [n.text for g in fig.scene.find("y-labels") for n in g.walk() if isinstance(n, Text)]
    assert x_texts == source and y_texts == target
    assert fig.scene.find("region-labels") == []
    assert fig.scene.find("note") == []
    # The key shows the box: a line of the box colour and width.
    (legend,) = fig.scene.find("legend")
    assert [t.text for t in legend.walk() if isinstance(t, Text)] == ["Detected region"]
    (sample,) = [n for n in legend.walk() if isinstance(n, Line)]
    assert (sample.stroke, sample.width) == ((*parse_color("orange")[:3], 0.5), 3)


def test_region_labels() -> None:
    fig = visualize_attention_with_detected_regions(
        _planted(), None, None, save_path="r.svg", label_regions=True
    )
    (labels,) = fig.scene.find("region-labels")
    texts = [n for n in labels.walk() if isinstance(n, Text)]
    assert [t.text for t in texts] == ["1", "2"]
    grid = _grid(fig)
    for text, (r0, c0, r1, c1) in zip(texts, fig.data["regions"], strict=True):
        assert grid.x_edges[c0] < text.x < grid.x_edges[c1 + 1]
        assert grid.y_edges[r0] < text.y < grid.y_edges[r1 + 1]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"attention_matrix": np.ones((2, 2, 2))}, ValueError, "attention_matrix: expected a 2-D"),
        ({"source_tokens": ["a"]}, ValueError, "source_tokens: got 1 labels"),
        ({"region_alpha": -0.1}, ValueError, "region_alpha"),
        ({"region_linewidth": 0}, ValueError, "region_linewidth"),
        ({"n_regions": 0}, ValueError, "n_regions"),
        ({"region_color": "nope"}, ValueError, "cannot read"),
    ],
)
def test_regions_validation(kwargs: dict[str, Any], error: type, match: str) -> None:
    args: dict[str, Any] = {
        "attention_matrix": _planted(),
        "source_tokens": None,
        "target_tokens": None,
    }
    args.update(kwargs)
    with pytest.raises(error, match=match):
        visualize_attention_with_detected_regions(**args, save_path="r.svg")


# -- files -----------------------------------------------------------------------------------------

VIEWS: dict[str, Any] = {
    "comparison": lambda path: compare_two_attentions_with_circles(
        _attention(1), _attention(2), TOKENS, save_path=path
    ),
    "stability": lambda path: check_stability_heatmap_with_gradient_color(
        _stability_runs(), TOKENS, TOKENS, save_path=path
    ),
    "evolution": lambda path: visualize_attention_evolution_sparklines(
        _history(), TOKENS, save_path=path
    ),
    "regions": lambda path: visualize_attention_with_detected_regions(
        _planted(), None, None, save_path=path, label_regions=True
    ),
}


@pytest.mark.parametrize("view", sorted(VIEWS))
def test_files(view: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from PIL import Image
    from pypdf import PdfReader

    fig = VIEWS[view](tmp_path / "out.pdf")
    assert f"saved {tmp_path / 'out.pdf'}" in capsys.readouterr().out
    title = fig.scene.title
    assert title
    text = PdfReader(tmp_path / "out.pdf").pages[0].extract_text()
    assert title in text
    VIEWS[view](tmp_path / "out.svg")
    root = ET.parse(tmp_path / "out.svg").getroot()
    assert root.tag.endswith("svg")
    VIEWS[view](tmp_path / "out.png")
    with Image.open(tmp_path / "out.png") as image:
        image.load()
        assert image.width > 100 and image.height > 100
    # Same input, same bytes.
    assert VIEWS[view](tmp_path / "again.svg").render("svg") == (tmp_path / "out.svg").read_bytes()
    assert (tmp_path / "out.pdf").read_bytes() == fig.render("pdf")


def test_default_file_names(tmp_path: Path) -> None:
    compare_two_attentions_with_circles(_attention(1, 3), _attention(2, 3), None)
    check_stability_heatmap_with_gradient_color(np.stack([_attention(1, 3)] * 2))
    visualize_attention_evolution_sparklines(np.stack([_attention(1, 3)] * 2))
    visualize_attention_with_detected_regions(_attention(1, 3), None, None)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "attention_comparison_circles.pdf",
        "attention_evolution_sparklines.pdf",
        "attention_with_detected_regions.pdf",
        "check_stability_heatmap_with_gradient_color.pdf",
    ]


def test_gradients_agree_between_pdf_and_svg() -> None:
    """The stability figure rasterised from its PDF (pdfium) and its SVG (cairo) at the same
    size: radial gradients must look the same in both backends."""
    import cairosvg
    import pypdfium2
    from PIL import Image

    runs = _stability_runs()
    runs[:, 1, 1] = np.linspace(0.0, 0.9, len(runs))  # a big, strongly graded circle
    fig = check_stability_heatmap_with_gradient_color(runs, TOKENS, TOKENS, save_path="s.pdf")
    scale = 2.0
    document = pypdfium2.PdfDocument(fig.render("pdf"))
    try:
        page = document[0]
        bitmap = page.render(scale=scale)
        from_pdf = np.asarray(bitmap.to_pil().convert("RGB"), dtype=np.int16)
        page.close()
    finally:
        document.close()
    height, width = from_pdf.shape[:2]
    png = cairosvg.svg2png(bytestring=fig.render("svg"), output_width=width, output_height=height)
    with Image.open(io.BytesIO(png)) as image:
        from_svg = np.asarray(image.convert("RGB"), dtype=np.int16)
    assert from_svg.shape == from_pdf.shape
    same = np.abs(from_pdf - from_svg).max(axis=2) <= 24
    assert same.mean() >= 0.95
    # And inside the big circle in particular (where the gradient is).
    grid = _grid(fig)
    (heatmap,) = fig.scene.find("panel")
    assert heatmap.transform is not None
    dx, dy = heatmap.transform[4], heatmap.transform[5]
    cx = (grid.x_edges[1] + grid.x_edges[2]) / 2 + dx
    cy = (grid.y_edges[1] + grid.y_edges[2]) / 2 + dy
    r = 0.3 * float(_sides(grid)[1, 1])
    window = same[
        int((cy - r) * scale) : int((cy + r) * scale), int((cx - r) * scale) : int((cx + r) * scale)
    ]
    assert window.size > 0 and window.mean() >= 0.95


def test_seed_functions_can_box_detected_regions(tmp_path: Path) -> None:
    import izzyviz

    n = 12
    m = np.full((n, n), 0.01)
    m[2:5, 6:9] = 0.5  # one planted block
    tokens = [f"t{i}" for i in range(n)]
    fig = izzyviz.visualize_attention_encoder_decoder(
        m, tokens, tokens, top_n=0, save_path=tmp_path / "x.svg", auto_detect_regions=True
    )
    (heat,) = fig.scene.find("heatmap")
    boxes = [r for r in heat.children if isinstance(r, Rect) and r.stroke is not None]
    found = izzyviz.find_attention_regions_with_merging(m)
    assert found and found[0][:2] == (2, 6)  # the planted block is the strongest region
    grid = next(c for c in heat.children if isinstance(c, CellGrid))
    x, y = grid.x_edges, grid.y_edges
    drawn = {(b.x, b.y, b.x + b.width, b.y + b.height) for b in boxes}
    expected = {(x[c0], y[r0], x[c1 + 1], y[r1 + 1]) for r0, c0, r1, c1 in found}
    assert {tuple(round(v, 6) for v in d) for d in drawn} == {
        tuple(round(float(v), 6) for v in e) for e in expected
    }


# -- keys, notes and titles ------------------------------------------------------------------------


def _key(fig: Figure) -> tuple[list[str], list[Any]]:
    """The key's labels and the samples drawn on its swatches (lines and circles)."""
    (legend,) = fig.scene.find("legend")
    texts = [node.text for node in legend.walk() if isinstance(node, Text)]
    samples = [node for node in legend.walk() if isinstance(node, (Line, Circle))]
    return texts, samples


def test_comparison_key_says_what_cells_and_circles_show() -> None:
    attn1, attn2 = _attention(1), _attention(2)
    fig = compare_two_attentions_with_circles(attn1, attn2, TOKENS, save_path="c.svg")
    texts, samples = _key(fig)
    largest = float(np.abs(attn2 - attn1).max())
    assert texts == [
        "Cells: attn1",
        "Circle colour: attn2",
        "Radius ∝ |attn2 − attn1|",
        f"Largest: {largest:.3g}",
    ]
    kinds = [type(sample).__name__ for sample in samples]
    assert kinds == ["Line", "Circle", "Circle", "Circle"]  # the cell row: its swatch's colour
    disc, half, full = samples[1:]
    assert disc.fill[3] == CIRCLE_ALPHA and disc.stroke_width < half.stroke_width
    assert half.fill is None and full.fill is None and half.r == pytest.approx(full.r / 2)
    assert fig.scene.title == "Attention Comparison"
    svg = "".join(ET.fromstring(Path("c.svg").read_bytes()).itertext())
    assert "Circle colour: attn2" in svg


@pytest.mark.parametrize("use_std_error", [True, False])
def test_stability_key_says_what_circles_mean(use_std_error: bool) -> None:
    fig = check_stability_heatmap_with_gradient_color(
        _stability_runs(), save_path="s.svg", use_std_error=use_std_error, color_contrast_scale=2
    )
    texts, samples = _key(fig)
    measure = "standard error" if use_std_error else "std. deviation"
    assert texts == [
        "Cells: mean of 5 runs",
        f"Radius ∝ {measure}",
        f"Largest: {fig.data['max_spread']:.3g}",
        "Centre: mean − 2×spread",
        "Rim: mean + 2×spread",
    ]
    gradient = samples[4]
    assert isinstance(gradient, Circle) and isinstance(gradient.fill, RadialGradient)
    assert fig.scene.title == "Attention Stability over Runs"


def test_stability_key_with_a_white_centre() -> None:
    fig = check_stability_heatmap_with_gradient_color(
        _stability_runs(), save_path="s.svg", use_white_center=True
    )
    texts, samples = _key(fig)
    assert texts[3:] == ["Centre: white", "Rim: mean + 2×spread"]
    assert samples[4].fill.stops[0][1] == (1.0, 1.0, 1.0, 1.0)


def _no_regions() -> np.ndarray:
    return np.random.default_rng(3).random((10, 10)) * 0.1 + 0.45  # nothing raised together


@pytest.mark.parametrize("fmt", ["pdf", "svg", "png"])
def test_no_regions_found_is_said_in_the_figure(fmt: str, tmp_path: Path) -> None:
    from pypdf import PdfReader

    fig = visualize_attention_with_detected_regions(
        _no_regions(), None, None, save_path=tmp_path / f"r.{fmt}"
    )
    assert fig.data["regions"] == []
    (note,) = fig.scene.find("note")
    (words,) = [node for node in note.walk() if isinstance(node, Text)]
    assert words.text == "No regions found"
    assert fig.scene.find("legend") == []  # no key for boxes that are not there
    path = tmp_path / f"r.{fmt}"
    if fmt == "pdf":
        assert "No regions found" in PdfReader(path).pages[0].extract_text()
    elif fmt == "svg":
        assert "No regions found" in "".join(ET.parse(path).getroot().itertext())
    else:
        from PIL import Image

        # The note's white box, with dark writing in it, where the layout put it.
        (box,) = [node for node in note.walk() if isinstance(node, Rect)]
        (panel,) = fig.scene.find("panel")
        assert panel.transform is not None
        dx, dy = panel.transform[4], panel.transform[5]
        with Image.open(path) as image:
            pixels = np.asarray(image.convert("L"), dtype=np.int16)
            per_point = image.width / fig.scene.width
        left, top = (box.x + dx + 2) * per_point, (box.y + dy + 2) * per_point
        right = (box.x + dx + box.width - 2) * per_point
        bottom = (box.y + dy + box.height - 2) * per_point
        inside = pixels[int(top) : int(bottom), int(left) : int(right)]
        assert (inside > 240).mean() > 0.5 and (inside < 100).any()
