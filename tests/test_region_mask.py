"""The cells an attention mask left (:class:`izzyviz.region_mask.Band`)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from izzyviz.region_mask import Band
from izzyviz.region_scan import Cells


def masked(shape: tuple[int, int], low: int, high: int) -> np.ndarray:
    """A map of positive cells on the diagonals ``low`` to ``high``, zeros elsewhere."""
    rows, cols = np.indices(shape)
    values = np.random.default_rng(0).random(shape) + 0.1
    return np.where((cols - rows >= low) & (cols - rows <= high), values, 0.0)


@pytest.mark.parametrize(
    ("shape", "low", "high"),
    [
        ((8, 8), -7, 0),  # causal
        ((3, 8), -2, 5),  # causal, 5 keys cached: each query reads its own and those before
        ((10, 10), -3, 0),  # causal with a sliding window of 4
    ],
)
def test_a_causal_mask_is_read(shape: tuple[int, int], low: int, high: int) -> None:
    assert Band.of(masked(shape, low, high)) == Band(low, high, shape)


@pytest.mark.parametrize(
    "matrix",
    [
        masked((10, 10), -9, 2),  # zeros above the diagonal, but not from the diagonal on
        masked((10, 10), -3, 3),  # a band: zeros on both sides, none a causal mask
        np.zeros((5, 5)),
        np.ones((4, 4)),
    ],
)
def test_other_maps_have_no_mask(matrix: np.ndarray) -> None:
    assert not Band.of(matrix).masked


def test_a_matrix_with_negative_values_has_no_mask() -> None:
    # Zero is then a value like any other: a causal map shifted by a constant is not masked.
    matrix = masked((10, 10), -9, 0)
    matrix[5, 2] = -0.05  # below the diagonal
    assert not Cells(matrix).band.masked
    assert Cells(np.abs(matrix)).band.masked


def test_zeros_of_a_background_with_blocks_are_not_a_mask() -> None:
    matrix = np.zeros((20, 20))
    matrix[2:5, 9:12] = 1.0  # a block above the diagonal, beyond it
    matrix[12:15, 1:4] = 1.0
    assert not Band.of(matrix).masked


@given(
    st.integers(1, 9),
    st.integers(1, 9),
    st.integers(-9, 9),
    st.integers(0, 9),
    st.integers(1, 4),
    st.integers(1, 4),
)
def test_counts_agree_with_the_cells_left(
    n_rows: int, n_cols: int, low: int, width: int, height: int, wide: int
) -> None:
    band = Band(low, low + width, (n_rows, n_cols))
    rows, cols = np.indices((n_rows, n_cols))
    left = band.left(rows, cols)
    assert band.size == int(left.sum())
    first, lengths = band.spans(0)
    for row in range(n_rows):
        assert lengths[row] == left[row].sum()
        assert lengths[row] == 0 or left[row, first[row] : first[row] + lengths[row]].all()
    first, lengths = band.spans(1)
    assert list(lengths) == list(left.sum(axis=0))
    for col in range(n_cols):
        assert lengths[col] == 0 or left[first[col] : first[col] + lengths[col], col].all()
    windows = [
        (top, col)
        for top in range(n_rows - height + 1)
        for col in range(n_cols - wide + 1)
        if left[top : top + height, col : col + wide].any()
    ]
    assert band.windows(height, wide) == len(windows)
    positions = (max(n_rows - height + 1, 0), max(n_cols - wide + 1, 0))
    tops, lefts = np.indices(positions).reshape(2, -1)
    kept = [
        int(left[top : top + height, col : col + wide].sum())
        for top, col in zip(tops, lefts, strict=True)
    ]
    assert list(band.window_cells(tops, lefts, height, wide)) == kept
    for top, col in zip(tops, lefts, strict=True):
        rect = (top, col, top + height - 1, col + wide - 1)
        cells = left[top : top + height, col : col + wide]
        assert band.cells(rect) == int(cells.sum())
        assert list(band.lines(rect, 0)) == list(cells.sum(axis=1))
        assert list(band.lines(rect, 1)) == list(cells.sum(axis=0))
        tight = band.tight(rect)
        if cells.any():  # the same cells, and every edge line holds one
            assert band.cells(tight) == int(cells.sum())
            for axis in (0, 1):
                assert band.lines(tight, axis)[[0, -1]].all()
    values = np.ones((n_rows, n_cols), dtype=np.float32)
    band.blank(values, 0.0)
    assert np.array_equal(values != 0, left)


@pytest.mark.parametrize(
    ("model_type", "overrides", "low"),
    [
        ("gpt2", {}, -23),  # causal: every earlier token
        ("mistral", {"sliding_window": 6}, -5),  # causal, the last 6 tokens (its own included)
    ],
)
def test_real_decoders_masks_are_read(model_type: str, overrides: dict, low: int) -> None:
    # A real transformers decoder's eager attention on 24 tokens: the mask it applied, read
    # back from the map alone, in every head.
    torch = pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from tests.models import prompt_ids, tiny

    model = tiny(model_type, attn_implementation="eager", **overrides)
    with torch.no_grad():
        attentions = model(prompt_ids(24), output_attentions=True).attentions
    for layer in attentions:
        for head in layer[0].double().numpy():
            assert Band.of(head) == Band(low, 0, (24, 24))
