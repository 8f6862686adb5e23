"""Long maps (issue 15): any input dtype read in row blocks, pooled to display pixels that keep
peaks visible, top cells exact on the full matrix, clear errors for bad large inputs."""

from __future__ import annotations

import io
import subprocess
import sys
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import izzyviz
from izzyviz.source import as_source
from izzyviz.summary import MAX_TOP_CELLS, block_bounds, summarize
from tests.figures import reference_top
from tests.system_tools import require

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import bench_long


def labels(n: int) -> list[str]:
    return [f"t{i}" for i in range(n)]


def softmax_rows(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    m = rng.standard_normal((n, n), dtype=np.float32) * 3
    np.exp(m, out=m)
    m /= m.sum(axis=1, keepdims=True)
    return m


def brute_top(matrix: np.ndarray, top_n: int) -> list[tuple[int, int]]:
    return reference_top(matrix, top_n)


def top_of(fig: izzyviz.Figure) -> list[tuple[int, int]]:
    return [(r, c) for r, c, _ in fig.data["panels"][0]["top_cells"]]


def test_block_bounds_pool_whole_blocks_and_keep_small_axes() -> None:
    assert block_bounds(10, 20).tolist() == list(range(11))
    assert block_bounds(4096, 1125).tolist()[:3] == [0, 4, 8]
    bounds = block_bounds(16384, 1125)
    assert bounds[1] == 15 and bounds[-1] == 16384 and bounds[-1] - bounds[-2] == 4


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_every_float_dtype_finds_the_exact_top_cells(dtype: str) -> None:
    n = 1600  # more cells than the heatmap's 1125 pixels: pooled 2 x 2
    matrix = softmax_rows(n).astype(dtype)
    fig = izzyviz.heatmap(matrix, labels(n), labels(n), top_n=5, norm="power")  # the range
    assert top_of(fig) == brute_top(matrix, 5)
    assert fig.data["vmax"] == pytest.approx(float(matrix.max()))
    assert fig.data["vmin"] == pytest.approx(float(matrix.min()))
    assert fig.scene.find("note")[0].children[0].text == "each pixel: max of 2 × 2 cells"


def test_memmapped_npy_is_read_in_place(tmp_path: Path) -> None:
    n = 1600
    matrix = softmax_rows(n, 1).astype(np.float16)
    np.save(tmp_path / "a.npy", matrix)
    mapped = np.load(tmp_path / "a.npy", mmap_mode="r")
    assert as_source(mapped) is mapped
    fig = izzyviz.heatmap(mapped, labels(n), labels(n))
    assert top_of(fig) == brute_top(matrix, 3)


def test_torch_tensors_bfloat16_included() -> None:
    torch = pytest.importorskip("torch")
    n = 1300
    matrix = softmax_rows(n, 2)
    for dtype in (torch.float32, torch.float16, torch.bfloat16):
        tensor = torch.from_numpy(matrix).to(dtype)
        expected = tensor.float().numpy()
        fig = izzyviz.heatmap(tensor, labels(n), labels(n), top_n=4, norm="power")
        assert top_of(fig) == brute_top(expected, 4), dtype
        assert fig.data["vmax"] == pytest.approx(float(expected.max()))


def test_negative_half_values_take_the_exact_float_path() -> None:
    n = 1300
    matrix = (softmax_rows(n, 3) - 0.0005).astype(np.float16)
    pooled = summarize(matrix, 3, block_bounds(n, 1125), block_bounds(n, 1125))
    reference = summarize(
        matrix.astype(np.float32), 3, block_bounds(n, 1125), block_bounds(n, 1125)
    )
    assert pooled.vmin == reference.vmin < 0
    np.testing.assert_array_equal(pooled.display, reference.display)
    assert pooled.top_rows.tolist() == reference.top_rows.tolist()


def test_no_full_size_copy_of_the_matrix_is_made() -> None:
    n = 3072
    matrix = softmax_rows(n, 4)
    izzyviz.heatmap(matrix[:8, :8], labels(8), labels(8))  # warm: fonts, colormaps
    tracemalloc.start()
    try:
        izzyviz.heatmap(matrix, labels(n), labels(n))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 0.8 * matrix.nbytes, f"peak {peak / 2**20:.0f} MB"


@pytest.mark.parametrize("kind", ["encoder_only", "decoder_only", "encoder_decoder"])
def test_seed_functions_read_long_maps_without_a_copy(kind: str, tmp_path: Path) -> None:
    """A captured long map given to a seed function is read in place too: no float64 copy of
    the head's matrix (4x a float16 capture's size) or of its panels."""
    n = 3072
    matrix = softmax_rows(n, 6).astype(np.float16)
    draw = {
        "encoder_only": lambda m, t, path: izzyviz.visualize_attention_encoder_only(
            m[None, None], t, 0, 0, save_path=path
        ),
        "decoder_only": lambda m, t, path: izzyviz.visualize_attention_decoder_only(
            m[None, None],
            t[: len(t) // 3],
            t[len(t) // 3 :],
            0,
            0,
            save_path=path,
            use_case="generated_to_source",
        ),
        "encoder_decoder": lambda m, t, path: izzyviz.visualize_attention_encoder_decoder(
            m, t, t, save_path=path
        ),
    }[kind]
    draw(matrix[:8, :8], labels(8), tmp_path / "warm.svg")  # fonts, colormaps
    tracemalloc.start()
    try:
        fig = draw(matrix, labels(n), tmp_path / "long.svg")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1.5 * matrix.nbytes, f"peak {peak / 2**20:.0f} MB"
    assert "each pixel: max of" in fig.to_svg()


def test_mean_pooling_on_request_and_stated() -> None:
    n = 2048
    matrix = softmax_rows(n, 5)
    fig = izzyviz.heatmap(matrix, labels(n), labels(n), pool="mean")
    assert fig.scene.find("note")[0].children[0].text == "each pixel: mean of 2 × 2 cells"
    grid = fig.scene.find("heatmap")[0].children[0]
    assert grid.indices.shape == (1024, 1024)


def test_full_resolution_keeps_every_cell() -> None:
    n = 1400
    fig = izzyviz.heatmap(
        softmax_rows(n, 6), labels(n), labels(n), cells="image", full_resolution=True
    )
    grid = fig.scene.find("heatmap")[0].children[0]
    assert grid.indices.shape == (n, n)
    assert "each pixel" not in fig.to_svg()  # nothing pooled (the note names the scale only)


def test_position_ticks_on_long_maps_only() -> None:
    n = 4096
    fig = izzyviz.heatmap(softmax_rows(n, 7), labels(n), labels(n))
    texts = [node.text for node in fig.scene.find("x-positions")[0].walk() if hasattr(node, "text")]
    assert texts == ["0", "1k", "2k", "3k", "4k"]
    assert fig.scene.find("y-positions")
    small = izzyviz.heatmap(softmax_rows(64), labels(64), labels(64))
    assert not small.scene.find("x-positions") and not small.scene.find("note")


def test_top_cell_labels_are_kept_among_thinned_labels() -> None:
    n = 4096
    matrix = softmax_rows(n, 8)
    matrix[1234, 2345] = 5.0
    fig = izzyviz.heatmap(matrix, labels(n), labels(n), top_n=1)
    shown = [t.text for t in fig.scene.find("x-labels")[0].walk() if hasattr(t, "text")]
    assert "2345 t2345" in shown and len(shown) < 200  # thinned labels carry positions
    assert top_of(fig) == [(1234, 2345)]


def test_a_peak_late_in_a_mostly_zero_map_is_found() -> None:
    n = 2048
    matrix = np.zeros((n, n), np.float32)
    matrix[2000, 2040] = 0.5
    fig = izzyviz.heatmap(matrix, labels(n), labels(n), top_n=3)
    # The zeros tie for second place: that group is left out rather than marking 1000 of them.
    assert fig.data["panels"][0]["top_cells"] == [[2000, 2040, 0.5]]


def test_ties_on_a_constant_long_map_are_capped() -> None:
    n = 2048
    fig = izzyviz.heatmap(np.ones((n, n), np.float32), labels(n), labels(n))
    assert len(top_of(fig)) == MAX_TOP_CELLS


# -- errors ------------------------------------------------------------------------------------


def test_non_finite_value_in_a_late_block_names_the_cell_and_writes_nothing(
    tmp_path: Path,
) -> None:
    n = 3000
    matrix = softmax_rows(n, 9).astype(np.float16)
    matrix[2990, 7] = np.nan
    np.save(tmp_path / "a.npy", matrix)
    mapped = np.load(tmp_path / "a.npy", mmap_mode="r")
    out = tmp_path / "out.pdf"
    with pytest.raises(
        ValueError, match=r"matrix: expected finite scores, found nan at index \(2990, 7\)"
    ):
        izzyviz.heatmap(mapped, labels(n), labels(n)).save(out)
    assert not out.exists()
    matrix32 = softmax_rows(n, 9)
    matrix32[2999, 2999] = np.inf
    with pytest.raises(ValueError, match=r"found inf at index \(2999, 2999\)"):
        izzyviz.heatmap(matrix32, labels(n), labels(n))


def test_memmap_of_the_wrong_shape_is_named(tmp_path: Path) -> None:
    np.save(tmp_path / "a.npy", np.zeros((4, 64, 64), np.float16))
    mapped = np.load(tmp_path / "a.npy", mmap_mode="r")
    with pytest.raises(ValueError, match=r"matrix: expected a 2-D array, got .*\(4, 64, 64\)"):
        izzyviz.heatmap(mapped, labels(64), labels(64))
    square = np.load(tmp_path / "a.npy", mmap_mode="r")[0]
    with pytest.raises(ValueError, match="x_labels: got 63 labels, but the matrix has 64"):
        izzyviz.heatmap(square, labels(63), labels(64))


def test_unknown_pooling_rule_is_named() -> None:
    with pytest.raises(ValueError, match=r"pool: expected one of 'max', 'mean', got 'median'"):
        izzyviz.heatmap(np.eye(3), list("abc"), list("abc"), pool="median")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="full_resolution: expected True or False"):
        izzyviz.heatmap(np.eye(3), list("abc"), list("abc"), full_resolution="yes")  # type: ignore[arg-type]


# -- what a reader sees -------------------------------------------------------------------------


def rendered(fig: izzyviz.Figure, fmt: str, tmp_path: Path) -> Any:
    if fmt == "pdf":
        require("pdftoppm")
    path = fig.save(tmp_path / f"f.{fmt}")
    return bench_long.rasterise(str(path), fmt)


@pytest.mark.parametrize("fmt", ["pdf", "svg", "png"])
def test_sink_diagonal_and_bright_cell_stay_visible(fmt: str, tmp_path: Path) -> None:
    """A pooled 4096-token map at 150 dpi (PNG at its default dpi): the attention sink, the
    previous-token diagonal and one bright cell are all clearly darker than the background
    (area-averaging, as before, washed the diagonal and the cell out)."""
    n = 4096
    matrix = bench_long.make_input(n, "structured")
    fig = izzyviz.heatmap(matrix, labels(n), labels(n))
    x0, y0, x1, y1 = (v * bench_long.DPI / 72 for v in bench_long.heatmap_box(fig))
    contrast = bench_long.feature_contrast(rendered(fig, fmt, tmp_path), (x0, y0, x1, y1), n)
    assert min(contrast.values()) >= bench_long.MIN_CONTRAST, contrast


def test_a_low_dpi_png_keeps_the_peaks(tmp_path: Path) -> None:
    """A PNG drawn at fewer pixels than the pooled grid pools on by max, not by averaging."""
    n = 4096
    matrix = bench_long.make_input(n, "structured")
    fig = izzyviz.heatmap(matrix, labels(n), labels(n), norm="power")  # pooling, not the scale
    from PIL import Image

    def contrast(dpi: float) -> dict[str, float]:
        rgb = np.asarray(Image.open(io.BytesIO(fig.to_png(dpi=dpi))).convert("RGB"))
        box = [v * dpi / 72 for v in bench_long.heatmap_box(fig)]
        return bench_long.feature_contrast(rgb, (box[0], box[1], box[2], box[3]), n)

    low, default = contrast(72), contrast(150)
    # Averaging 7.6 x 7.6 cells per pixel would leave the diagonal about a third lighter.
    for feature in ("sink", "diagonal", "bright"):
        assert low[feature] >= default[feature] - 3, (low, default)
    # ... into the 72-dpi PNG's own pixels, and says so.
    assert "each pixel: max of 4 × 4 cells" in fig.to_svg()
    assert "each pixel: max of 8 × 8 cells" in fig.at_dpi(72).to_svg()


def test_a_high_dpi_png_pools_at_its_own_dpi(tmp_path: Path) -> None:
    """A PNG pools cells into its own pixels, not the 150-dpi page's: at 600 dpi a 2048-token
    map shows every cell, so two bright cells three columns apart stay two spots (the 150-dpi
    pooling, two cells a pixel, merged them into one), and the note saying how cells were pooled
    goes when nothing is pooled."""
    from PIL import Image

    n, row = 2048, 1000
    matrix = np.full((n, n), 1e-4, dtype=np.float32)
    matrix[row, [1000, 1003]] = 1.0
    fig = izzyviz.heatmap(matrix, labels(n), labels(n), top_n=0, norm="power")

    def dark_runs(dpi: float) -> int:
        rgb = np.asarray(Image.open(io.BytesIO(fig.to_png(dpi=dpi))).convert("RGB"))
        x0, y0, x1, y1 = (v * dpi / 72 for v in bench_long.heatmap_box(fig))
        sx, sy = (x1 - x0) / n, (y1 - y0) / n
        y = int(y0 + (row + 0.5) * sy)  # the pixel row, give or take rounding
        line = bench_long.ink(rgb[y - 1 : y + 2]).max(axis=0)
        span = line[int(x0 + 990 * sx) : int(x0 + 1013 * sx)] > 128
        return int(np.count_nonzero(span[1:] & ~span[:-1]) + span[0])

    assert dark_runs(150) == 1  # two cells a pixel: one spot, as the page shows it
    assert dark_runs(600) == 2
    assert "each pixel" in fig.to_svg()
    assert "each pixel" not in fig.at_dpi(600).to_svg()
    with pytest.raises(ValueError, match="dpi: expected a positive number, got 0"):
        fig.at_dpi(0)


@pytest.mark.parametrize("style", ["column", "page"])
def test_a_fitted_width_pools_into_the_pixels_of_the_fitted_map(style: str) -> None:
    """At a paper's width the heatmap is smaller than the default page's: its cells are pooled
    into the pixels it has there (no more), or a PDF viewer resamples the image and thin
    features fade; the sink, diagonal and bright cell stay visible."""
    from PIL import Image

    from izzyviz.scene import CellGrid

    n = 4096
    fig = izzyviz.heatmap(bench_long.make_input(n, "structured"), labels(n), labels(n), style=style)
    grids = [node for node in fig.scene.root.walk() if isinstance(node, CellGrid)]
    grid = max(grids, key=lambda g: g.indices.size)  # not the colour bar
    x0, _, x1, _ = bench_long.heatmap_box(fig)
    pixels = (x1 - x0) * 150 / 72
    assert pixels / 2 < grid.indices.shape[1] <= pixels + 1, (grid.indices.shape, pixels)
    rgb = np.asarray(Image.open(io.BytesIO(fig.to_png())).convert("RGB"))
    box = [v * 150 / 72 for v in bench_long.heatmap_box(fig)]
    contrast = bench_long.feature_contrast(rgb, (box[0], box[1], box[2], box[3]), n)
    assert min(contrast.values()) >= bench_long.MIN_CONTRAST, contrast


def test_benchmark_script_runs_a_small_case(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, bench_long.__file__, "--sizes", "1024", "--formats", "svg",
         "--inputs", "structured", "--no-baseline", "--runs", "1"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "1024  structured  svg" in proc.stdout, proc.stdout
    assert io.StringIO(proc.stdout).getvalue().count("ERROR") == 0


# -- masked input read in blocks (issue 26, item 2) ---------------------------------------------


def _masked_memmap(n: int, tmp_path: Path) -> np.ma.MaskedArray:
    """A causal float16 map on disk, its upper triangle masked."""
    data = np.lib.format.open_memmap(tmp_path / "m.npy", mode="w+", dtype=np.float16, shape=(n, n))
    data[:] = softmax_rows(n, 7).astype(np.float16)
    data.flush()
    del data
    on_disk = np.load(tmp_path / "m.npy", mmap_mode="r")
    return np.ma.masked_array(on_disk, np.triu(np.ones((n, n), dtype=bool), 1))


def test_a_masked_memmap_is_read_in_blocks(tmp_path: Path) -> None:
    """No float64 copy of a masked map (8x a float16 file): peak traced memory stays within
    twice the unmasked case's, and the figure is the one the same cells drawn unmasked give,
    the masked ones in the no-data colour."""
    n = 4096
    masked = _masked_memmap(n, tmp_path)
    peaks = []
    for data in (masked.data, masked):
        izzyviz.heatmap(data[:8, :8], labels(8), labels(8))  # fonts, colormaps
        tracemalloc.start()
        try:
            fig = izzyviz.heatmap(data, labels(n), labels(n))
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
    unmasked_peak, masked_peak = peaks
    assert masked_peak < 2 * unmasked_peak + masked.mask.nbytes, [p / 2**20 for p in peaks]
    assert masked_peak < 1.5 * masked.data.nbytes + masked.mask.nbytes, masked_peak / 2**20
    assert "each pixel: max of" in fig.to_svg()


def test_ties_in_a_masked_map_are_kept_as_in_an_unmasked_one() -> None:
    """A constant masked map marks no more top cells than the same map unmasked (it marked
    every unmasked cell, and laid out a value for each: quadratic in the tokens)."""
    n = 2048
    constant = np.full((n, n), 0.5, dtype=np.float32)
    mask = np.triu(np.ones((n, n), dtype=bool), 1)
    plain = izzyviz.heatmap(constant, labels(n), labels(n))
    masked = izzyviz.heatmap(np.ma.masked_array(constant, mask), labels(n), labels(n))
    top = len(masked.data["panels"][0]["top_cells"])
    assert 0 < top <= MAX_TOP_CELLS
    assert top == len(plain.data["panels"][0]["top_cells"])
    assert all(r >= c for r, c, _ in masked.data["panels"][0]["top_cells"])


def test_a_masked_cell_holding_nan_is_no_data_but_an_unmasked_one_is_an_error() -> None:
    n = 1500
    data = softmax_rows(n, 8)
    data[3, 1000] = np.nan
    mask = np.triu(np.ones((n, n), dtype=bool), 1)
    izzyviz.heatmap(np.ma.masked_array(data, mask), labels(n), labels(n))  # (3, 1000) masked
    data[1000, 3] = np.inf
    with pytest.raises(ValueError, match=r"found inf at index \(1000, 3\)"):
        izzyviz.heatmap(np.ma.masked_array(data, mask), labels(n), labels(n))
