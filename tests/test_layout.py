"""Layout, asserted on the scene: geometry, top cells, regions, colour bar, colours, labels."""

from __future__ import annotations

import numpy as np
import pytest

import izzyviz
from izzyviz.colors import ColorScale
from izzyviz.job import HeatmapJob
from izzyviz.layout import Style, heatmap_panel
from izzyviz.scene import CellGrid, Circle, Group, Line, Rect, Text
from izzyviz.summary import top_cells
from tests.figures import TOKENS, quick_start_matrix


def cell_grid(fig: izzyviz.Figure) -> CellGrid:
    (heat,) = fig.scene.find("heatmap")
    (grid,) = [n for n in heat.children if isinstance(n, CellGrid)]
    return grid


def texts(group: Group) -> list[Text]:
    return [n for n in group.walk() if isinstance(n, Text)]


def test_enlarged_rows_and_columns_hold_the_top_cells() -> None:
    m = np.full((4, 5), 0.1)
    m[1, 3] = 0.9
    m[2, 0] = 0.8
    fig = izzyviz.heatmap(m, list("abcde"), list("wxyz"), top_n=2, enlarged_size=2.0)
    grid = cell_grid(fig)
    widths, heights = np.diff(grid.x_edges), np.diff(grid.y_edges)
    unit_w, unit_h = widths[1], heights[0]
    np.testing.assert_allclose(widths, unit_w * np.array([2, 1, 1, 2, 1]))
    np.testing.assert_allclose(heights, unit_h * np.array([1, 2, 2, 1]))
    assert grid.x_edges[0] == 0 and grid.y_edges[0] == 0
    np.testing.assert_allclose(grid.x_edges, np.concatenate([[0], np.cumsum(widths)]))


def test_top_n_includes_ties() -> None:
    m = np.array([[0.5, 0.2, 0.5], [0.1, 0.5, 0.3]])
    rows, cols, _ = top_cells(m, 2)[False]  # three cells tie for the 2nd largest value
    assert list(zip(rows, cols, strict=True)) == [(0, 0), (0, 2), (1, 1)]
    assert len(top_cells(m, 0)[False][0]) == 0
    assert len(top_cells(m, 99)[False][0]) == m.size
    fig = izzyviz.heatmap(m, list("abc"), list("xy"), top_n=2)
    values = sorted(t.text for t in texts(fig.scene.find("values")[0]))
    assert values == ["0.500", "0.500", "0.500"]


def test_value_text_colour_reads_on_its_cell() -> None:
    m = np.array([[1.0, 0.0], [0.0, 0.45]])
    fig = izzyviz.heatmap(m, ["a", "b"], ["c", "d"], top_n=2)
    colours = {t.text: t.fill for t in texts(fig.scene.find("values")[0])}
    assert colours["1.000"] == (1.0, 1.0, 1.0, 1.0)  # white on the darkest blue
    assert colours["0.450"][0] < 0.5  # dark text on a light cell


def test_region_rectangles_lie_on_cell_edges() -> None:
    m = quick_start_matrix()
    fig = izzyviz.heatmap(m, TOKENS, TOKENS, top_n=5, regions=[((4, 4), (8, 8)), ((0, 1), (0, 1))])
    grid = cell_grid(fig)
    (heat,) = fig.scene.find("heatmap")
    boxes = [n for n in heat.children if isinstance(n, Rect) and n.stroke is not None]
    assert len(boxes) == 2
    box = boxes[0]
    assert box.x == grid.x_edges[4] and box.y == grid.y_edges[4]
    assert box.x + box.width == pytest.approx(grid.x_edges[9])
    assert box.y + box.height == pytest.approx(grid.y_edges[9])
    assert box.stroke == (1.0, 0.0, 0.0, 1.0) and box.stroke_width == 2.0
    single = boxes[1]
    assert (single.x, single.y) == (grid.x_edges[1], grid.y_edges[0])


def test_colorbar_ticks_at_gamma_positions() -> None:
    m = quick_start_matrix() * 0.85
    fig = izzyviz.heatmap(m, TOKENS, TOKENS, gamma=1.5)
    (bar,) = fig.scene.find("colorbar")
    grid = cell_grid(fig)
    height = grid.y_edges[-1]
    labels = [t for t in bar.children if isinstance(t, Text)]
    ticks = [t for t in bar.children if isinstance(t, Line)]
    expected = np.linspace(m.min(), m.max(), 7)
    assert [t.text for t in labels] == [f"{v:.2f}" for v in expected]
    norm = ((expected - m.min()) / (m.max() - m.min())) ** 1.5
    np.testing.assert_allclose([t.y0 for t in ticks], height * (1 - norm))
    (bar_grid,) = [n for n in bar.children if isinstance(n, CellGrid)]
    assert bar_grid.y_edges[0] == 0 and bar_grid.y_edges[-1] == pytest.approx(height)
    assert bar_grid.mode == "image"


@pytest.mark.parametrize("gamma", [0.5, 1.0, 1.5, 3.0])
def test_colours_match_matplotlib_powernorm(gamma: float) -> None:
    matplotlib = pytest.importorskip("matplotlib")
    from matplotlib.colors import PowerNorm

    rng = np.random.default_rng(1)
    m = rng.random((20, 30)) ** 3
    fig = izzyviz.heatmap(m, [str(i) for i in range(30)], [str(i) for i in range(20)], gamma=gamma)
    ours = cell_grid(fig).colors().astype(float) / 255
    theirs = matplotlib.colormaps["Blues"](PowerNorm(gamma, m.min(), m.max())(m))
    assert np.abs(ours - theirs).max() <= 1 / 255 + 1e-9


def test_constant_and_tiny_matrices_render_without_warnings() -> None:
    for m in (np.full((3, 3), 0.2), np.array([[7.0]]), np.array([[1e-30, 1e30]])):
        rows, cols = m.shape
        fig = izzyviz.heatmap(m, ["x"] * cols, ["y"] * rows)
        assert fig.to_svg().startswith("<?xml")


def test_long_sequences_show_a_readable_subset_with_top_labels() -> None:
    n = 300
    rng = np.random.default_rng(2)
    m = rng.random((n, n))
    m[150, 7] = 5.0
    labels = [f"t{i}" for i in range(n)]
    fig = izzyviz.heatmap(m, labels, labels, top_n=1)
    for axis in ("x", "y"):
        (group,) = fig.scene.find(f"{axis}-labels")
        shown = [t.text for t in texts(group)]
        assert 10 < len(shown) < n / 2
        assert ("7 t7" if axis == "x" else "150 t150") in shown  # with positions: thinned
        size = texts(group)[0].size
        assert size >= 6
    # Row labels never overlap: centres at least a line apart.
    (rows,) = fig.scene.find("y-labels")
    centres = sorted(g.transform[5] for g in rows.children if isinstance(g, Group))
    assert np.diff(centres).min() >= 6 * 1.2


def test_special_tokens_are_bold_and_overridable() -> None:
    m = np.eye(3)
    labels = ["[CLS]", "hi", "<|endoftext|>"]
    fig = izzyviz.heatmap(m, labels, labels, top_n=0)
    bold = {t.text: t.bold for t in texts(fig.scene.find("y-labels")[0])}
    assert bold == {"[CLS]": True, "hi": False, "<|endoftext|>": True}
    fig = izzyviz.heatmap(m, labels, labels, top_n=0, special_tokens={"hi"})
    bold = {t.text: t.bold for t in texts(fig.scene.find("y-labels")[0])}
    assert bold == {"[CLS]": False, "hi": True, "<|endoftext|>": False}


def test_top_labels_are_highlighted() -> None:
    m = np.full((3, 3), 0.1)
    m[2, 1] = 1.0
    fig = izzyviz.heatmap(m, list("abc"), list("xyz"), top_n=1)
    for axis, marked in (("x", "b"), ("y", "z")):
        (group,) = fig.scene.find(f"{axis}-labels")
        for label in group.find(f"{axis}-label"):
            has_box = any(isinstance(n, Rect) for n in label.children)
            text = next(n for n in label.children if isinstance(n, Text))
            assert has_box == (text.text == marked)


def test_cells_mode_is_automatic_and_overridable() -> None:
    small, big = np.ones((10, 10)), np.ones((200, 200))
    assert cell_grid(izzyviz.heatmap(small, ["a"] * 10, ["a"] * 10)).mode == "vector"
    assert cell_grid(izzyviz.heatmap(big, ["a"] * 200, ["a"] * 200)).mode == "image"
    fig = izzyviz.heatmap(small, ["a"] * 10, ["a"] * 10, cells="image")
    assert cell_grid(fig).mode == "image"


def test_page_fits_everything_drawn() -> None:
    fig = izzyviz.heatmap(quick_start_matrix(), TOKENS, TOKENS, title="T", top_n=5)
    w, h = fig.size
    assert 400 < w < 800 and 400 < h < 800  # comparable to the original's 10 x 10 inch figure


def test_overlay_receives_final_geometry() -> None:
    seen = {}

    def overlay(cells):  # type: ignore[no-untyped-def]
        seen["edges"] = cells.x_edges
        return [Rect(0, 0, 1, 1, fill=(0, 0, 0, 1))]

    job = HeatmapJob.of(np.eye(2), ["a", "b"], ["a", "b"], scale=ColorScale(0, 1), overlay=overlay)
    spec = job.spec(job.summarize(Style()), ColorScale(0, 1), Style())
    panel = heatmap_panel(spec)
    assert seen["edges"] is panel.cells.x_edges
    (heat,) = panel.group.find("heatmap")
    assert any(isinstance(n, Rect) and n.width == 1 for n in heat.children)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"top_n": -1}, ValueError, "top_n: expected a non-negative integer, got -1"),
        ({"gamma": 0}, ValueError, "gamma: expected a positive number, got 0"),
        ({"enlarged_size": -2}, ValueError, "enlarged_size"),
        ({"regions": [((2, 2), (1, 1))]}, ValueError, r"regions\[0\]"),
        ({"regions": [((0, 0), (3, 1))]}, IndexError, "outside the 3 x 3 matrix"),
        ({"cmap": "NoSuchMap"}, ValueError, "cmap: unknown colormap 'NoSuchMap'"),
        ({"cells": "raster"}, ValueError, "cells: expected one of"),
    ],
)
def test_bad_options_raise_clear_errors(kwargs: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        izzyviz.heatmap(np.eye(3), list("abc"), list("abc"), **kwargs)


def test_bad_matrices_raise_clear_errors() -> None:
    with pytest.raises(ValueError, match="matrix: expected a 2-D array"):
        izzyviz.heatmap(np.ones(3), list("abc"), list("abc"))
    with pytest.raises(
        ValueError, match=r"matrix: expected finite scores, found nan at index \(1, 2\)"
    ):
        m = np.eye(3)
        m[1, 2] = np.nan
        izzyviz.heatmap(m, list("abc"), list("abc"))
    with pytest.raises(ValueError, match="x_labels: got 2 labels, but the matrix has 3 columns"):
        izzyviz.heatmap(np.eye(3), list("ab"), list("abc"))


def test_torch_tensors_are_accepted() -> None:
    torch = pytest.importorskip("torch")
    t = torch.eye(3, dtype=torch.bfloat16)
    fig = izzyviz.heatmap(t, list("abc"), list("abc"), top_n=1)
    np.testing.assert_array_equal(
        fig.data["panels"][0]["top_cells"], [[0, 0, 1.0], [1, 1, 1.0], [2, 2, 1.0]]
    )


def test_top_cells_too_small_for_their_value_get_a_callout() -> None:
    n = 400
    m = np.full((n, n), 0.001)
    m[123, 321] = 0.9
    fig = izzyviz.heatmap(m, [str(i) for i in range(n)], [str(i) for i in range(n)], top_n=1)
    (values,) = fig.scene.find("values")
    rings = [c for c in values.children if isinstance(c, Circle)]
    (text,) = [t for t in values.children if isinstance(t, Text)]
    grid = cell_grid(fig)
    assert len(rings) == 1 and text.text == "0.900"
    assert rings[0].cx == pytest.approx((grid.x_edges[321] + grid.x_edges[322]) / 2)
    assert rings[0].cy == pytest.approx((grid.y_edges[123] + grid.y_edges[124]) / 2)
    assert text.x > rings[0].cx  # the value sits beside the ring, not on the tiny cell
