"""Tests for izzyviz.regions: automatic detection of high-attention rectangles."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from izzyviz.regions import find_attention_regions_with_merging, regions_to_corners

Rect = tuple[int, int, int, int]

# Growth settings that let a seed cover a whole planted block (a 3×4 block needs 5 steps from
# a single cell) while stopping at its edge: with the default 0.7 a step into the background
# can keep ~72% of the score and be taken.
FULL_GROWTH: dict[str, Any] = {"expansion_threshold": 0.9, "max_expansion_steps": 8}


def noise(shape: tuple[int, int], seed: int, high: float = 0.05) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0.0, high, shape)


def plant(matrix: np.ndarray, rect: Rect, value: float, seed: int) -> None:
    top, left, bottom, right = rect
    shape = (bottom - top + 1, right - left + 1)
    matrix[top : bottom + 1, left : right + 1] = value + noise(shape, seed + 1000, 0.02)


def mean_of(matrix: np.ndarray, rect: Rect) -> float:
    top, left, bottom, right = rect
    return float(np.mean(matrix[top : bottom + 1, left : right + 1]))


def assert_well_formed(result: list[Rect], shape: tuple[int, int], n_seeds: int) -> None:
    assert isinstance(result, list)
    assert 1 <= len(result) <= n_seeds
    for rect in result:
        assert isinstance(rect, tuple) and len(rect) == 4
        assert all(type(i) is int for i in rect)
        top, left, bottom, right = rect
        assert 0 <= top <= bottom < shape[0]
        assert 0 <= left <= right < shape[1]


# --------------------------------------------------------------------------------------------
# Planted patterns
# --------------------------------------------------------------------------------------------

BLOCK = (2, 3, 4, 6)  # 3×4
SQUARE = (12, 15, 13, 16)  # 2×2
HOT = (17, 5, 17, 5)  # single cell


def planted(seed: int) -> np.ndarray:
    matrix = noise((20, 24), seed)
    plant(matrix, BLOCK, 0.8, seed)
    plant(matrix, SQUARE, 0.6, seed + 1)
    matrix[HOT[0], HOT[1]] = 0.95
    return matrix


@pytest.mark.parametrize("seed", range(5))
def test_planted_blocks_are_found_exactly_and_sorted_by_mean(seed: int) -> None:
    matrix = planted(seed)
    result = find_attention_regions_with_merging(matrix, n_seeds=3, **FULL_GROWTH)
    assert result == [HOT, BLOCK, SQUARE]


@pytest.mark.parametrize("seed", range(3))
def test_planted_blocks_with_defaults(seed: int) -> None:
    # Three default steps reach the hot cell and the 2×2 block exactly; the 3×4 block gets a
    # single seed, so it is found as a 3-row rectangle inside it.
    matrix = planted(seed)
    hot, block, square = find_attention_regions_with_merging(matrix)
    assert hot == HOT
    assert square == SQUARE
    assert (block[0], block[2]) == (BLOCK[0], BLOCK[2])
    assert BLOCK[1] <= block[1] <= block[3] <= BLOCK[3]


def test_planted_blocks_in_a_torch_tensor() -> None:
    torch = pytest.importorskip("torch")
    matrix = planted(0)
    tensor = torch.tensor(matrix, dtype=torch.float32, requires_grad=True)
    result = find_attention_regions_with_merging(tensor, n_seeds=3, **FULL_GROWTH)
    assert result == [HOT, BLOCK, SQUARE]


def test_blocks_on_an_exactly_zero_background() -> None:
    matrix = np.zeros((12, 12))
    matrix[1:3, 1:4] = 0.5
    matrix[8, 9] = 1.0
    result = find_attention_regions_with_merging(matrix, n_seeds=2, **FULL_GROWTH)
    assert result == [(8, 9, 8, 9), (1, 1, 2, 3)]


def test_fewer_regions_than_seeds_returns_the_strongest_first() -> None:
    matrix = planted(0)
    assert find_attention_regions_with_merging(matrix, n_seeds=1, **FULL_GROWTH) == [HOT]


# --------------------------------------------------------------------------------------------
# Merging
# --------------------------------------------------------------------------------------------

LEFT = (3, 3, 5, 5)
RIGHT = (3, 6, 5, 8)


def side_by_side(seed: int, right_value: float) -> np.ndarray:
    matrix = noise((16, 16), seed)
    plant(matrix, LEFT, 0.8, seed)
    plant(matrix, RIGHT, right_value, seed + 1)
    return matrix


@pytest.mark.parametrize("seed", range(5))
def test_adjacent_blocks_with_similar_values_merge(seed: int) -> None:
    matrix = side_by_side(seed, 0.8)
    result = find_attention_regions_with_merging(matrix, n_seeds=2, **FULL_GROWTH)
    assert result[0] == (3, 3, 5, 8)


@pytest.mark.parametrize("seed", range(5))
def test_adjacent_blocks_with_different_values_stay_apart(seed: int) -> None:
    matrix = side_by_side(seed, 0.3)
    result = find_attention_regions_with_merging(matrix, n_seeds=2, **FULL_GROWTH)
    assert len(result) == 2
    bright, dim = result
    assert bright == LEFT
    # The dim block's seed grows away from its brighter neighbour (the contrast score
    # penalises a bright ring), so it may stop short of the shared edge; it stays inside.
    assert RIGHT[0] <= dim[0] <= dim[2] <= RIGHT[2]
    assert RIGHT[1] <= dim[1] <= dim[3] <= RIGHT[3]


def test_constant_blocks_merge_only_when_equal() -> None:
    # Both blocks have zero standard deviation, so the merge rule reduces to "the merged box
    # must be constant too".
    equal = np.zeros((10, 10))
    equal[2:5, 2:5] = 1.0
    equal[2:5, 5:8] = 1.0
    assert find_attention_regions_with_merging(equal, n_seeds=2, **FULL_GROWTH)[0] == (2, 2, 4, 7)

    different = equal.copy()
    different[2:5, 5:8] = 0.4
    result = find_attention_regions_with_merging(
        different, n_seeds=2, min_distance=0, proximity_threshold=0, max_expansion_steps=0
    )
    # Single-cell seeds touching across the boundary would merge only into a constant box.
    assert all(rect[1] > 4 or rect[3] < 5 for rect in result)


def area(rect: Rect) -> int:
    return (rect[2] - rect[0] + 1) * (rect[3] - rect[1] + 1)


@pytest.mark.parametrize("seed", range(5))
def test_strict_merge_threshold_keeps_neighbours_apart(seed: int) -> None:
    # One uniform 3×6 block (plus noise). Three default growth steps reach at most 6 cells, so
    # a larger rectangle can only come from merging; a very strict threshold (the merged
    # standard deviation may be at most 1/100 of the parts') prevents that.
    matrix = side_by_side(seed, 0.8)
    whole = (3, 3, 5, 8)
    default = find_attention_regions_with_merging(matrix, n_seeds=2)
    assert area(default[0]) > 6
    assert whole[0] <= default[0][0] <= default[0][2] <= whole[2]
    assert whole[1] <= default[0][1] <= default[0][3] <= whole[3]
    strict = find_attention_regions_with_merging(matrix, n_seeds=2, merge_std_threshold=100.0)
    assert len(strict) == 2
    for rect in strict:
        assert area(rect) <= 6
        assert whole[0] <= rect[0] <= rect[2] <= whole[2]
        assert whole[1] <= rect[1] <= rect[3] <= whole[3]


@pytest.mark.parametrize(("proximity", "merges"), [(0, False), (2, False), (3, True), (9, True)])
def test_proximity_threshold_controls_merging_across_a_gap(proximity: int, merges: bool) -> None:
    # Single-cell seeds at columns 1 and 5 of a constant run: three cells lie between them and
    # the bounding box is constant, so they merge exactly when the gap is within the threshold.
    matrix = np.zeros((4, 16))
    matrix[1, 1:6] = 1.0
    result = find_attention_regions_with_merging(
        matrix, n_seeds=2, min_distance=3, max_expansion_steps=0, proximity_threshold=proximity
    )
    if merges:
        assert result[0] == (1, 1, 1, 5)
    else:
        assert result == [(1, 1, 1, 1), (1, 5, 1, 5)]


# --------------------------------------------------------------------------------------------
# Degenerate inputs
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [0.0, 0.25, 7.0, -2.0])
@pytest.mark.parametrize("shape", [(1, 1), (1, 9), (9, 1), (6, 6), (40, 3)])
def test_constant_matrices(shape: tuple[int, int], value: float) -> None:
    matrix = np.full(shape, value)
    result = find_attention_regions_with_merging(matrix)
    assert_well_formed(result, shape, 3)
    assert result == find_attention_regions_with_merging(matrix)


def test_one_by_one_matrix() -> None:
    assert find_attention_regions_with_merging(np.array([[0.3]]), n_seeds=4) == [(0, 0, 0, 0)]


def test_one_row_matrix_finds_the_peak() -> None:
    row = np.array([[0.01, 0.02, 0.01, 0.9, 0.01, 0.03, 0.02, 0.01, 0.02]])
    result = find_attention_regions_with_merging(row, n_seeds=1)
    assert result == [(0, 3, 0, 3)]


def test_one_column_matrix_finds_the_peak() -> None:
    column = np.array([[0.01], [0.02], [0.01], [0.01], [0.9], [0.03], [0.02]])
    assert find_attention_regions_with_merging(column, n_seeds=1) == [(4, 0, 4, 0)]


def test_negative_and_integer_inputs() -> None:
    signed = planted(0) - 0.5
    assert find_attention_regions_with_merging(signed, n_seeds=3, **FULL_GROWTH) == [
        HOT,
        BLOCK,
        SQUARE,
    ]
    integers = np.zeros((6, 6), dtype=np.int64)
    integers[4, 1] = 5
    assert find_attention_regions_with_merging(integers, n_seeds=1) == [(4, 1, 4, 1)]
    nested = [[0, 0, 0], [0, 3, 0]]
    assert find_attention_regions_with_merging(nested, n_seeds=1) == [(1, 1, 1, 1)]


def test_extreme_magnitudes_do_not_overflow() -> None:
    matrix = np.array([[1e308, -1e308, 0.0], [5e-324, 1e300, -1e300]])
    assert_well_formed(find_attention_regions_with_merging(matrix), matrix.shape, 3)
    tiny = np.array([[5e-324, 0.0, 0.0], [0.0, 0.0, 1e-320]])
    assert_well_formed(find_attention_regions_with_merging(tiny), tiny.shape, 3)


@pytest.mark.parametrize(
    ("peaks", "first"),
    [([(2, 4), (2, 1)], (2, 1)), ([(2, 0), (1, 6)], (1, 6)), ([(6, 6), (0, 0), (3, 3)], (0, 0))],
)
def test_seed_ties_are_broken_in_row_major_order(
    peaks: list[tuple[int, int]], first: tuple[int, int]
) -> None:
    # Equal peaks, one seed: the row-major first peak wins, whatever the order of planting.
    matrix = np.zeros((7, 7))
    for cell in peaks:
        matrix[cell] = 1.0
    result = find_attention_regions_with_merging(matrix, n_seeds=1, max_expansion_steps=0)
    assert result == [(*first, *first)]


def test_min_distance_separates_seeds() -> None:
    matrix = np.zeros((1, 10))
    matrix[0, :] = np.linspace(1.0, 0.5, 10)
    # Single cells, strict merging: seeds must be more than 2 columns apart.
    result = find_attention_regions_with_merging(
        matrix, n_seeds=3, max_expansion_steps=0, proximity_threshold=0
    )
    assert result == [(0, 0, 0, 0), (0, 3, 0, 3), (0, 6, 0, 6)]


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"n_seeds": 0}, ValueError, r"n_seeds: expected a positive integer, got 0"),
        ({"n_seeds": 2.5}, TypeError, "n_seeds: expected a positive integer, got 2.5"),
        ({"n_seeds": True}, TypeError, "n_seeds: expected a positive integer, got True"),
        ({"min_distance": -1}, ValueError, "min_distance: expected a non-negative integer, got -1"),
        ({"min_distance": 1.5}, TypeError, "min_distance: expected a non-negative integer"),
        (
            {"proximity_threshold": -3},
            ValueError,
            "proximity_threshold: expected a non-negative integer, got -3",
        ),
        (
            {"max_expansion_steps": "3"},
            TypeError,
            "max_expansion_steps: expected a non-negative integer, got '3'",
        ),
        (
            {"expansion_threshold": 0},
            ValueError,
            "expansion_threshold: expected a positive number, got 0.0",
        ),
        (
            {"expansion_threshold": "0.7"},
            TypeError,
            "expansion_threshold: expected a positive number, got '0.7'",
        ),
        (
            {"merge_std_threshold": -0.6},
            ValueError,
            "merge_std_threshold: expected a positive number, got -0.6",
        ),
        (
            {"merge_std_threshold": float("inf")},
            ValueError,
            "merge_std_threshold: expected a positive number, got inf",
        ),
    ],
)
def test_parameter_validation(kwargs: dict[str, object], error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        find_attention_regions_with_merging(np.eye(4), **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("matrix", "error", "message"),
    [
        (np.zeros(4), ValueError, "attention_matrix: expected a 2-D array"),
        (np.zeros((2, 2, 2)), ValueError, "attention_matrix: expected a 2-D array"),
        (np.zeros((0, 3)), ValueError, "attention_matrix: expected a non-empty array"),
        (np.array([[0.1, np.nan]]), ValueError, "attention_matrix: expected finite scores"),
        (np.array([[np.inf]]), ValueError, "attention_matrix: expected finite scores"),
        (np.array([["a"]]), TypeError, "attention_matrix: expected real numbers"),
    ],
)
def test_matrix_validation(matrix: np.ndarray, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        find_attention_regions_with_merging(matrix)


# --------------------------------------------------------------------------------------------
# regions_to_corners
# --------------------------------------------------------------------------------------------


def test_regions_to_corners() -> None:
    assert regions_to_corners([(1, 2, 3, 4), (0, 0, 0, 0)]) == (
        [(1, 2), (0, 0)],
        [(3, 4), (0, 0)],
    )
    assert regions_to_corners([]) == ([], [])
    assert regions_to_corners(np.array([[1, 2, 3, 4]])) == ([(1, 2)], [(3, 4)])


def test_regions_to_corners_round_trips_detected_regions() -> None:
    regions = find_attention_regions_with_merging(planted(1), **FULL_GROWTH)
    left_top, right_bottom = regions_to_corners(regions)
    assert [(*a, *b) for a, b in zip(left_top, right_bottom, strict=True)] == regions


@pytest.mark.parametrize(
    ("regions", "error", "message"),
    [
        ("abcd", TypeError, "regions: expected a sequence of"),
        (None, TypeError, "regions: expected a sequence of"),
        ([(1, 2, 3)], TypeError, r"regions\[0\]: expected \(top, left, bottom, right\) integers"),
        ([(0, 0, 0, 0), (1, 2, 3, "x")], TypeError, r"regions\[1\]: expected"),
        ([(0, 0, 0.5, 1)], TypeError, r"regions\[0\]: expected"),
        ([(True, 0, 0, 0)], TypeError, r"regions\[0\]: expected"),
        ([5], TypeError, r"regions\[0\]: expected"),
        (
            [(3, 0, 1, 0)],
            ValueError,
            r"regions\[0\]: expected 0 <= top <= bottom .* \(3, 0, 1, 0\)",
        ),
        ([(0, 4, 1, 2)], ValueError, r"regions\[0\]: expected .*got \(0, 4, 1, 2\)"),
        ([(-1, 0, 1, 0)], ValueError, r"regions\[0\]: expected"),
    ],
)
def test_regions_to_corners_validation(regions: object, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        regions_to_corners(regions)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------

matrices = st.one_of(
    hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=14),
        elements=st.floats(0.0, 1.0),
    ),
    hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=10),
        elements=st.sampled_from([0.0, 0.1, 0.5, 1.0, -0.5]),
    ),
)


@settings(max_examples=300, deadline=None)
@given(
    matrix=matrices,
    n_seeds=st.integers(1, 6),
    min_distance=st.integers(0, 3),
    expansion_threshold=st.floats(0.05, 2.0),
    merge_std_threshold=st.floats(0.05, 5.0),
    proximity_threshold=st.integers(0, 3),
    max_expansion_steps=st.integers(0, 6),
)
def test_result_properties(
    matrix: np.ndarray,
    n_seeds: int,
    min_distance: int,
    expansion_threshold: float,
    merge_std_threshold: float,
    proximity_threshold: int,
    max_expansion_steps: int,
) -> None:
    kwargs: dict[str, Any] = {
        "n_seeds": n_seeds,
        "min_distance": min_distance,
        "expansion_threshold": expansion_threshold,
        "merge_std_threshold": merge_std_threshold,
        "proximity_threshold": proximity_threshold,
        "max_expansion_steps": max_expansion_steps,
    }
    result = find_attention_regions_with_merging(matrix, **kwargs)
    assert_well_formed(result, matrix.shape, n_seeds)
    means = [mean_of(matrix, rect) for rect in result]
    assert all(a >= b - 1e-9 for a, b in itertools.pairwise(means))
    # Deterministic, and no rectangle is reported twice or nested in another.
    assert find_attention_regions_with_merging(matrix.copy(), **kwargs) == result
    for i, a in enumerate(result):
        for b in result[i + 1 :]:
            assert not (a[0] <= b[0] and a[1] <= b[1] and a[2] >= b[2] and a[3] >= b[3])
            assert not (b[0] <= a[0] and b[1] <= a[1] and b[2] >= a[2] and b[3] >= a[3])
