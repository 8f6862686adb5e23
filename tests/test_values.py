"""Numbers and values as users really pass them (issue 11, items 6, 9 and 11).

* Listed (categorical) colormaps colour cells as the `cmap` package does: N colours, sampled
  like matplotlib's ``ListedColormap``.
* Colour-bar ticks and cell values stay distinct and short for tiny, huge and extreme values,
  and keep today's look (two and three decimals) for attention weights.
* Nothing is silently coerced: masked cells are drawn as "no data" (never top cells, outside the
  colour range) in all three backends; bytes labels are decoded and None refused; vmin/vmax must
  be real numbers and show_values a bool; torch meta tensors are refused, sparse ones densified.
"""

from __future__ import annotations

import io
import subprocess
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from cmap import Colormap

import izzyviz
from izzyviz.colors import MISSING_COLOR
from izzyviz.numbers import format_numbers
from izzyviz.raster import grid_image
from izzyviz.scene import CellGrid, Text
from tests.system_tools import require

L4 = list("abcd")
LISTED = ["tab10", "Set1", "Pastel1", "tab20", "Accent"]


def _grid(fig: izzyviz.Figure) -> CellGrid:
    grid = fig.scene.find("heatmap")[0].children[0]
    assert isinstance(grid, CellGrid)
    return grid


def _texts(fig: izzyviz.Figure, role: str) -> list[str]:
    return [n.text for g in fig.scene.find(role) for n in g.walk() if isinstance(n, Text)]


def _labels(n: int) -> list[str]:
    return [f"t{i}" for i in range(n)]


# -- item 6: listed colormaps ------------------------------------------------------------------


@pytest.mark.parametrize("name", LISTED)
def test_listed_colormap_colours_cells_as_cmap_does(name: str) -> None:
    matrix = np.random.default_rng(6).random((6, 6))
    fig = izzyviz.heatmap(matrix, _labels(6), _labels(6), cmap=name)
    norm = ((matrix - matrix.min()) / (matrix.max() - matrix.min())) ** 1.5
    expected = np.round(np.asarray(Colormap(name)(norm)) * 255).astype(np.uint8)
    np.testing.assert_array_equal(_grid(fig).colors(), expected)
    # The colour bar shows the colormap's own steps, one band each.
    bar = next(n for n in fig.scene.find("colorbar")[0].children if isinstance(n, CellGrid))
    assert len(bar.palette) == len(Colormap(name).color_stops)


def test_listed_colormap_steps_at_the_boundaries_as_cmap() -> None:
    # Positions 0, 0.1, ..., 1 sit exactly on tab10's step boundaries.
    matrix = np.linspace(0.0, 1.0, 11).reshape(1, 11)
    fig = izzyviz.heatmap(matrix, _labels(11), ["q"], cmap="tab10", gamma=1.0, top_n=0)
    expected = np.round(np.asarray(Colormap("tab10")(matrix)) * 255).astype(np.uint8)
    np.testing.assert_array_equal(_grid(fig).colors(), expected)


@pytest.mark.parametrize("cells", ["vector", "image"])
def test_listed_colormap_saves_in_every_format(tmp_path: Path, cells: str) -> None:
    fig = izzyviz.heatmap(
        np.random.default_rng(1).random((4, 4)), L4, L4, cmap="tab10", cells=cells
    )
    for ext in ("pdf", "svg", "png"):
        assert fig.save(tmp_path / f"x.{ext}").stat().st_size > 0


# -- item 9: numbers ---------------------------------------------------------------------------


def test_attention_values_keep_fixed_decimals() -> None:
    assert format_numbers([0.0, 0.5, 1.0], 2, keep_apart=True) == ["0.00", "0.50", "1.00"]
    assert format_numbers([0.1234, 0.0567, 0.008], 3) == ["0.123", "0.057", "0.008"]
    assert format_numbers([0.5, 0.5], 3) == ["0.500", "0.500"]  # ties stay ties
    # Cell values round as always; the ticks of a scale keep apart with more decimals.
    assert format_numbers([1.0, 0.9995, 0.998], 3) == ["1.000", "1.000", "0.998"]
    assert format_numbers(np.linspace(0, 0.05, 7), 2, keep_apart=True) == [
        "0.000",
        "0.008",
        "0.017",
        "0.025",
        "0.033",
        "0.042",
        "0.050",
    ]
    # float32 noise does not count as a difference worth showing
    third = [1 / 3, float(np.float32(1 / 3))]
    assert format_numbers(third, 3, keep_apart=True) == ["0.333", "0.333"]


def test_tiny_and_huge_numbers_switch_to_scientific_notation() -> None:
    assert format_numbers(np.linspace(0, 6e-7, 7), 2, keep_apart=True) == [
        "0",
        "1.0e-7",
        "2.0e-7",
        "3.0e-7",
        "4.0e-7",
        "5.0e-7",
        "6.0e-7",
    ]
    assert format_numbers([9.97e-8, 9.81e-8], 3) == ["9.97e-8", "9.81e-8"]
    huge = [1.23451e12, 1.23461e12]
    assert format_numbers(huge, 3) == ["1.23e12", "1.23e12"]
    assert format_numbers(huge, 3, keep_apart=True) == ["1.2345e12", "1.2346e12"]
    assert format_numbers([-1.797e308, 1.797e308], 2) == ["-1.8e308", "1.8e308"]
    # ordinary numbers among them keep an ordinary look, with the same significant digits
    assert format_numbers([1.797e308, 8.99e307, 2.0, 0.0125], 3) == [
        "1.80e308",
        "8.99e307",
        "2.00",
        "0.0125",
    ]
    assert format_numbers([1234.5, 98765.4], 2) == ["1234.50", "98765.40"]


def _check_numbers_drawn(fig: izzyviz.Figure, matrix: np.ndarray) -> None:
    ticks = _texts(fig, "colorbar")
    assert len(set(ticks)) == len(ticks) == 7, ticks
    assert all(len(t) <= 9 for t in ticks), ticks
    cells = fig.scene.find("values")[0].children
    drawn = [n for n in cells if isinstance(n, Text)]
    assert drawn
    # Decimal, not float: "1.8e308" is a fine label for the largest float but parses as inf.
    shown = sorted(Decimal(t.text) for t in drawn)
    top = sorted(Decimal(v) for _, _, v in fig.data["panels"][0]["top_cells"])
    assert all(abs(a - b) <= abs(b) / 100 for a, b in zip(shown, top, strict=True)), shown
    grid = _grid(fig)
    narrowest = float(np.diff(grid.x_edges).min())
    assert all(t.width <= narrowest for t in drawn)


@pytest.mark.parametrize("scale", [1e-7, 1e12, -1e15])
def test_tiny_and_huge_values_draw_distinct_labels_that_fit(scale: float) -> None:
    matrix = np.random.default_rng(9).random((5, 5)) * scale
    fig = izzyviz.heatmap(matrix, _labels(5), _labels(5))
    _check_numbers_drawn(fig, matrix)


def test_extreme_values_draw_short_labels_without_warnings() -> None:
    big = np.finfo(np.float64).max
    matrix = np.array([[-big, big, 0.0], [1.0, -1.0, big / 2], [0.5, 2.0, -big / 3]])
    fig = izzyviz.heatmap(matrix, _labels(3), _labels(3))
    _check_numbers_drawn(fig, matrix)


# -- item 11: masked arrays --------------------------------------------------------------------


def _masked() -> np.ma.MaskedArray:
    matrix = np.random.default_rng(11).random((4, 4))
    matrix[1, 2] = 50.0  # would be the top cell and stretch the colour range
    mask = np.zeros((4, 4), dtype=bool)
    mask[1, 2] = True
    return np.ma.masked_array(matrix, mask)


@pytest.mark.parametrize("cells", ["vector", "image"])
def test_masked_cells_are_no_data(cells: str) -> None:
    data = _masked()
    fig = izzyviz.heatmap(data, L4, L4, top_n=2, cells=cells)
    top = {(r, c) for r, c, _ in fig.data["panels"][0]["top_cells"]}
    assert (1, 2) not in top and len(top) == 2
    assert fig.data["vmax"] == pytest.approx(float(data.compressed().max()))
    colors = _grid(fig).colors()
    missing = np.all(colors == MISSING_COLOR, axis=-1)
    assert missing.tolist() == np.ma.getmaskarray(data).tolist()
    # The other cells keep the colours of the same matrix with the masked cell left out.
    plain = np.where(data.mask, data.compressed().min(), data.data)
    reference = _grid(izzyviz.heatmap(plain, L4, L4, top_n=2, cells=cells)).colors()
    np.testing.assert_array_equal(colors[~missing], reference[~missing])


@pytest.mark.parametrize("pool", ["max", "mean"])
def test_masked_cells_stay_no_data_when_cells_are_pooled(pool: str) -> None:
    n = 3000  # more cells than a page shows: pixels pool blocks of cells
    matrix = np.full((n, n), 0.1)
    matrix[2000, 7] = 0.9
    matrix[0, n - 1] = 50.0  # masked: neither a top cell nor part of the colour range
    data = np.ma.masked_array(matrix, np.triu(np.ones((n, n), dtype=bool), 1))
    fig = izzyviz.heatmap(data, _labels(n), _labels(n), top_n=1, pool=pool, norm="power")
    assert [(r, c) for r, c, _ in fig.data["panels"][0]["top_cells"]] == [(2000, 7)]
    assert fig.data["vmax"] == pytest.approx(0.9)
    grid = _grid(fig)
    assert grid.indices.shape[0] < n  # pooled
    missing = np.all(grid.colors() == MISSING_COLOR, axis=-1)
    assert missing[0, -1] and not missing[-1, 0] and not missing.diagonal().any()


def test_masked_invalid_values_and_a_full_palette() -> None:
    rng = np.random.default_rng(3)
    matrix = rng.random((40, 40))
    matrix[0, :5] = np.nan
    matrix[3, 3] = np.inf
    data = np.ma.masked_invalid(matrix)
    fig = izzyviz.heatmap(data, _labels(40), _labels(40))
    grid = _grid(fig)
    assert len(grid.palette) <= 256
    missing = np.all(grid.colors() == MISSING_COLOR, axis=-1)
    assert missing.tolist() == np.ma.getmaskarray(data).tolist()


def test_every_cell_masked_is_refused() -> None:
    data = np.ma.masked_all((2, 2))
    with pytest.raises(ValueError, match=r"^matrix: every cell is masked"):
        izzyviz.heatmap(data, ["a", "b"], ["a", "b"])


def test_masked_input_where_masks_are_not_drawn_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.pdf"
    with pytest.raises(TypeError, match=r"^attn1: .*masked.*filled"):
        izzyviz.compare_two_attentions_with_circles(_masked(), np.eye(4), L4, save_path=path)


def _pixels(path: Path) -> np.ndarray:
    from PIL import Image as PILImage

    if path.suffix == ".pdf":
        out = subprocess.run(
            [require("pdftoppm"), "-png", "-r", "72", str(path)], check=True, capture_output=True
        ).stdout
        return np.asarray(PILImage.open(io.BytesIO(out)).convert("RGB"))
    if path.suffix == ".svg":
        import cairosvg

        png = cairosvg.svg2png(url=str(path), dpi=72)
        return np.asarray(PILImage.open(io.BytesIO(png)).convert("RGB"))
    return np.asarray(PILImage.open(path).convert("RGB"))


@pytest.mark.parametrize("cells", ["vector", "image"])
def test_masked_cells_look_the_same_in_every_backend(tmp_path: Path, cells: str) -> None:
    fig = izzyviz.heatmap(_masked(), L4, L4, cells=cells)
    cell_area = float(np.diff(_grid(fig).x_edges)[2] * np.diff(_grid(fig).y_edges)[1])
    grey = np.array(MISSING_COLOR[:3])
    for ext, options in (("pdf", {}), ("svg", {}), ("png", {"dpi": 72})):
        pixels = _pixels(fig.save(tmp_path / f"x.{ext}", **options)).astype(int)
        close = np.all(np.abs(pixels - grey) <= 2, axis=-1)
        assert 0.6 * cell_area <= close.sum() <= 1.2 * cell_area, (ext, close.sum(), cell_area)


# -- item 11: labels, numbers, booleans --------------------------------------------------------


def test_bytes_labels_are_decoded_and_none_is_refused() -> None:
    fig = izzyviz.heatmap(np.eye(2), [b"ab", "c"], [np.bytes_(b"d\xffe"), "f"], top_n=0)
    assert set(_texts(fig, "x-labels")) == {"ab", "c"}
    assert "d\\xffe" in _texts(fig, "y-labels")
    with pytest.raises(TypeError, match=r"^x_labels\[1\]: expected a string, got None"):
        izzyviz.heatmap(np.eye(2), ["a", None], ["a", "b"])
    with pytest.raises(TypeError, match=r"^tokens\[0\]: expected a string, got None"):
        izzyviz.display_tokens([None])


NUMBER = "expected a finite number, None or a percentile string such as '99.9%'"
PERCENT = "expected a number, None or a percentile from '0%' to '100%' such as '99.9%'"


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"vmin": "0"}, ValueError, f"vmin: {PERCENT}, got '0'"),
        ({"vmin": "abc"}, ValueError, f"vmin: {PERCENT}, got 'abc'"),
        ({"vmax": True}, TypeError, f"vmax: {NUMBER}, got True"),
        ({"vmax": float("nan")}, ValueError, f"vmax: {NUMBER}, got nan"),
        ({"vmin": float("-inf")}, ValueError, f"vmin: {NUMBER}, got -inf"),
        ({"show_values": "no"}, TypeError, "show_values: expected True, False or 'all', got 'no'"),
        ({"show_values": 0}, TypeError, "show_values: expected True, False or 'all', got 0"),
    ],
)
def test_numbers_and_booleans_are_not_coerced(
    options: dict[str, object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error) as info:
        izzyviz.heatmap(np.eye(2), ["a", "b"], ["a", "b"], **options)  # type: ignore[arg-type]
    assert str(info.value) == message


def test_numpy_numbers_and_booleans_are_accepted() -> None:
    fig = izzyviz.heatmap(
        np.eye(2),
        ["a", "b"],
        ["a", "b"],
        vmin=np.float32(0),
        vmax=np.int64(2),
        show_values=np.False_,
    )
    assert fig.data["vmax"] == 2.0 and not fig.scene.find("values")[0].children


def test_show_values_all_writes_every_cell_and_marks_only_the_top_cells() -> None:
    """A small grid (layers x heads) can have every value written while only its top cells
    are enlarged and their labels highlighted; where cells are too small for text, the top
    cells' values are written as usual."""
    matrix = np.arange(20, dtype=float).reshape(4, 5) / 100
    fig = izzyviz.heatmap(matrix, list("abcde"), list("wxyz"), top_n=1, show_values="all")
    texts = [node.text for node in fig.scene.find("values")[0].children]
    assert texts == [f"{v:.3f}" for v in matrix.ravel()]
    highlighted = [g for g in fig.scene.find("x-label") if len(g.children) > 1]
    assert len(highlighted) == 1
    many = np.random.default_rng(0).random((300, 300)) * 0.9
    many[5, 7] = 1.0  # one top cell (random values near 1 would read "1.000" alike: a tie)
    small = izzyviz.heatmap(many, [""] * 300, [""] * 300, top_n=1, show_values="all")
    assert len(small.scene.find("values")[0].children) < 10  # the top cell's callout only


@pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta")
def test_torch_meta_tensors_are_refused_and_sparse_ones_densified() -> None:
    torch = pytest.importorskip("torch")
    with pytest.raises(ValueError, match=r"^matrix: .*'meta' device"):
        izzyviz.heatmap(torch.ones(2, 2, device="meta"), ["a", "b"], ["a", "b"])
    dense = torch.tensor([[0.1, 0.9], [0.7, 0.0]])
    expected = izzyviz.heatmap(dense, ["a", "b"], ["a", "b"]).data
    for sparse in (dense.to_sparse(), dense.to_sparse_csr()):
        assert izzyviz.heatmap(sparse, ["a", "b"], ["a", "b"]).data == expected
    huge = torch.sparse_coo_tensor(
        torch.tensor([[0], [0]]), torch.tensor([1.0]), (8192, 8192), check_invariants=True
    )
    with pytest.raises(ValueError, match=r"^matrix: a sparse tensor of shape \(8192, 8192\)"):
        izzyviz.heatmap(huge, _labels(8192), _labels(8192))


def test_masked_cells_are_not_blended_when_pixels_are_larger_than_cells() -> None:
    # A causal mask drawn smaller than one pixel per cell: pixels are data or "no data", never
    # a colour halfway between them (a false diagonal).
    n = 600
    mask = np.triu(np.ones((n, n), dtype=bool), 1)
    fig = izzyviz.heatmap(np.ma.masked_array(np.zeros((n, n)), mask), _labels(n), _labels(n))
    grid = _grid(fig)
    assert grid.missing == len(grid.palette) - 1
    image = grid_image(grid, pixels_per_point=0.5)
    assert image.indices.shape[0] < n
    assert set(np.unique(image.indices).tolist()) == {0, grid.missing}


def test_a_type_given_for_a_number_is_named_not_crashed_on() -> None:
    """numpy scalar types have a ``shape`` descriptor: the error helper crashed on them."""
    with pytest.raises(TypeError, match=r"^gamma: expected a positive number, got <class 'numpy"):
        izzyviz.heatmap(np.eye(2), ["a", "b"], ["a", "b"], gamma=np.float16)  # type: ignore[arg-type]


@pytest.mark.parametrize("scientific", [False, True])
def test_written_values_are_equal_exactly_when_their_labels_are(scientific: bool) -> None:
    """Ties are decided on :func:`written` values: two numbers must be equal there exactly when
    :func:`format_numbers` writes them the same, in either notation (including 9.996e-3 and
    1.004e-2, which both read 0.0100, and 99953.96 beside 99999, both 1.00e5)."""
    from izzyviz.numbers import written

    rng = np.random.default_rng(1)
    edges = [0.0, 0.0096, 0.0104, 1.004, 1.001, 9.996e-3, 0.01004, 1234.5, 99999, 99953.96]
    for _ in range(300):
        spread = rng.random(40) * 10.0 ** rng.integers(-20, 20, 40)
        near = rng.random(10) * 10.0 ** rng.integers(-4, 6)
        values = np.concatenate([spread, near, edges])
        labels = np.array(format_numbers(values, 3, scientific=scientific))
        shown = written(values, float(np.max(np.abs(values))), 3, scientific)
        same_label = labels[:, None] == labels[None, :]
        assert np.array_equal(same_label, shown[:, None] == shown[None, :])
