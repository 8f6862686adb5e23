"""Automatic detection of rectangular high-attention regions.

The main entry point is :func:`find_attention_regions_with_merging`, which finds up to
``n_seeds`` rectangles of high attention by (1) picking well-separated seed cells, (2) growing
each seed greedily while a contrast score stays high and (3) merging nearby rectangles whose
union is still homogeneous, refilling the set from reserve seeds after each merge.

Rectangle statistics are read from 2-D prefix sums (summed-area tables) of the values and of
their squares, so the mean and variance of any rectangle, and the mean of the one-cell ring
around it, cost O(1) whatever the matrix size (the merge test reads the variance of boxes of up
to 65 536 cells straight from the cells instead, for accuracy). There are no Python loops over
matrix cells.

Rectangles are ``(top, left, bottom, right)`` tuples of inclusive row/column indices.
"""

from __future__ import annotations

import math
import operator
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from izzyviz._validate import as_matrix, check_nonnegative_int, check_positive, describe

__all__ = ["find_attention_regions_with_merging", "regions_to_corners"]

Rect = tuple[int, int, int, int]
"""An inclusive ``(top, left, bottom, right)`` rectangle of matrix cells."""

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]

# Ring means below this (in units of the largest matrix value) count as zero when scoring.
_RING_EPSILON = 1e-9
# Merge checks on boxes of at most this many cells use an exact two-pass standard deviation;
# larger boxes use the summed-area tables, whose rounding error per cell shrinks with the area.
_EXACT_STD_MAX_CELLS = 1 << 16
# Standard deviations closer than this (in units of the largest value) are treated as equal.
_STD_TOLERANCE = 1e-12
# Seed selection scans the ranked cells in chunks of this many.
_SEED_SCAN_CHUNK = 1024
# Growth candidates are tried in this order; ties in score go to the earliest.
_DIRECTIONS: tuple[Rect, ...] = ((-1, 0, 0, 0), (0, 0, 1, 0), (0, -1, 0, 0), (0, 0, 0, 1))


# --------------------------------------------------------------------------------------------
# Argument checks
# --------------------------------------------------------------------------------------------


def _check_positive_int(value: Any, name: str) -> int:
    """Return ``value`` as an int after checking it is a whole number >= 1."""
    return check_nonnegative_int(value, name, minimum=1)


# --------------------------------------------------------------------------------------------
# Summed-area tables
# --------------------------------------------------------------------------------------------


def _normalise(matrix: FloatArray) -> FloatArray:
    """Map ``matrix`` to non-negative values whose maximum is 1 (all zeros stay zeros).

    The contrast score is a ratio of means, so it only makes sense for non-negative values.
    Attention weights already are; a matrix with negative entries is shifted up by its minimum.
    Scaling by a positive constant changes no decision of the method (every score scales by
    the same factor) and keeps sums of squares far from overflow.
    """
    largest = float(np.max(np.abs(matrix)))
    if largest == 0.0:
        return np.zeros_like(matrix)
    values = matrix / largest
    lowest = float(values.min())
    if lowest < 0.0:
        values = values - lowest
    top = float(values.max())
    return values / top if top > 0.0 else np.zeros_like(matrix)


def _prefix_sums(values: FloatArray) -> FloatArray:
    """Summed-area table ``S`` with ``S[i, j] == values[:i, :j].sum()`` (one row/column of 0s)."""
    table = np.zeros((values.shape[0] + 1, values.shape[1] + 1), dtype=np.float64)
    np.cumsum(values, axis=0, out=table[1:, 1:])
    np.cumsum(table[1:, 1:], axis=1, out=table[1:, 1:])
    return table


@dataclass(frozen=True)
class _Tables:
    """The normalised matrix with summed-area tables of its values and squared values."""

    values: FloatArray
    sums: FloatArray
    squares: FloatArray

    @classmethod
    def build(cls, matrix: FloatArray) -> _Tables:
        values = _normalise(matrix)
        return cls(values, _prefix_sums(values), _prefix_sums(values * values))

    @property
    def shape(self) -> tuple[int, int]:
        rows, cols = self.values.shape
        return rows, cols


def _box_total(
    table: FloatArray, top: IntArray, left: IntArray, bottom: IntArray, right: IntArray
) -> FloatArray:
    """Sum of the cells of each inclusive box, read from a summed-area table in O(1)."""
    return (
        table[bottom + 1, right + 1]
        - table[top, right + 1]
        - table[bottom + 1, left]
        + table[top, left]
    )


def _area(top: IntArray, left: IntArray, bottom: IntArray, right: IntArray) -> IntArray:
    return (bottom - top + 1) * (right - left + 1)


def _scores(tables: _Tables, boxes: IntArray) -> FloatArray:
    """Expansion score of each row ``(top, left, bottom, right)`` of ``boxes``.

    ``score = mean_inside * (mean_inside / mean_ring) * (1 + ln(1 + area) / 10)`` where the ring
    is the one-cell border around the box, clipped to the matrix. An empty ring (the box fills
    the matrix) uses the inside mean; ring means are floored at a tiny epsilon.
    """
    rows, cols = tables.shape
    top, left, bottom, right = boxes.T
    area = _area(top, left, bottom, right)
    inside = _box_total(tables.sums, top, left, bottom, right)
    mean_inside = np.maximum(inside, 0.0) / area

    outer = (
        np.maximum(top - 1, 0),
        np.maximum(left - 1, 0),
        np.minimum(bottom + 1, rows - 1),
        np.minimum(right + 1, cols - 1),
    )
    ring_area = _area(*outer) - area
    ring_sum = _box_total(tables.sums, *outer) - inside
    ring_mean = np.where(
        ring_area > 0, np.maximum(ring_sum, 0.0) / np.maximum(ring_area, 1), mean_inside
    )
    contrast = mean_inside / np.maximum(ring_mean, _RING_EPSILON)
    return mean_inside * contrast * (1.0 + np.log1p(area) / 10.0)


def _score(tables: _Tables, rect: Rect) -> float:
    return float(_scores(tables, np.array([rect], dtype=np.int64))[0])


def _std(tables: _Tables, rect: Rect) -> float:
    """Population standard deviation of the cells of ``rect`` (normalised units)."""
    top, left, bottom, right = rect
    cells = (bottom - top + 1) * (right - left + 1)
    if cells <= _EXACT_STD_MAX_CELLS:
        # Small box: exact two-pass formula. The summed-area variance E[x²] - E[x]² carries an
        # absolute error set by the size of the whole table, which swamps small boxes.
        return float(np.std(tables.values[top : bottom + 1, left : right + 1]))
    box = np.array([rect], dtype=np.int64).T
    total = float(_box_total(tables.sums, *box)[0])
    squares = float(_box_total(tables.squares, *box)[0])
    mean = total / cells
    return math.sqrt(max(squares / cells - mean * mean, 0.0))


def _mean(tables: _Tables, rect: Rect) -> float:
    """Mean of the cells of ``rect`` in normalised units, computed exactly from the cells."""
    top, left, bottom, right = rect
    return float(np.mean(tables.values[top : bottom + 1, left : right + 1]))


# --------------------------------------------------------------------------------------------
# Step 1: seeds
# --------------------------------------------------------------------------------------------


def _ranked_cells(flat: FloatArray, count: int) -> IntArray:
    """Flat indices of at least the ``count`` highest cells, highest first, ties row-major.

    The result is always a prefix of the full ranking, so asking again with a larger ``count``
    extends it.
    """
    size = flat.size
    if count >= size:
        return np.argsort(-flat, kind="stable").astype(np.int64)
    threshold = np.partition(flat, size - count)[size - count]
    candidates = np.flatnonzero(flat >= threshold)
    return candidates[np.argsort(-flat[candidates], kind="stable")].astype(np.int64)


def _select_seeds(matrix: FloatArray, wanted: int, min_distance: int) -> list[tuple[int, int]]:
    """Up to ``wanted`` cells in descending value order (ties row-major), skipping any cell
    within ``min_distance`` rows *and* columns of an already accepted seed."""
    cols = matrix.shape[1]
    flat = matrix.reshape(-1)
    blocked = np.zeros(matrix.shape, dtype=bool)
    blocked_flat = blocked.reshape(-1)
    window = 2 * min_distance + 1
    budget = min(wanted * window * window, flat.size)
    order = _ranked_cells(flat, budget)
    seeds: list[tuple[int, int]] = []
    position = 0
    while len(seeds) < wanted:
        if position >= order.size:
            if order.size >= flat.size:
                break  # every cell has been considered
            budget = min(2 * max(budget, order.size), flat.size)
            order = _ranked_cells(flat, budget)
            continue
        chunk = order[position : position + _SEED_SCAN_CHUNK]
        free = np.flatnonzero(~blocked_flat[chunk])
        if free.size == 0:
            position += chunk.size
            continue
        row, col = divmod(int(chunk[free[0]]), cols)
        position += int(free[0]) + 1
        seeds.append((row, col))
        blocked[
            max(row - min_distance, 0) : row + min_distance + 1,
            max(col - min_distance, 0) : col + min_distance + 1,
        ] = True
    return seeds


# --------------------------------------------------------------------------------------------
# Step 2: growth
# --------------------------------------------------------------------------------------------


def _neighbours(rect: Rect, rows: int, cols: int) -> list[Rect]:
    """``rect`` extended by one row or column up, down, left or right, within the matrix."""
    top, left, bottom, right = rect
    grown = []
    for d_top, d_left, d_bottom, d_right in _DIRECTIONS:
        candidate = (top + d_top, left + d_left, bottom + d_bottom, right + d_right)
        if candidate[0] >= 0 and candidate[1] >= 0 and candidate[2] < rows and candidate[3] < cols:
            grown.append(candidate)
    return grown


def _grow(tables: _Tables, seed: tuple[int, int], threshold: float, max_steps: int) -> Rect:
    """Grow a 1×1 rectangle at ``seed`` greedily, one row/column per step."""
    rows, cols = tables.shape
    rect: Rect = (seed[0], seed[1], seed[0], seed[1])
    current = _score(tables, rect)
    for _ in range(max_steps):
        candidates = _neighbours(rect, rows, cols)
        if not candidates:
            break
        scores = _scores(tables, np.array(candidates, dtype=np.int64))
        best = int(np.argmax(scores))
        if not scores[best] >= threshold * current:
            break
        rect, current = candidates[best], float(scores[best])
    return rect


# --------------------------------------------------------------------------------------------
# Step 3: merging
# --------------------------------------------------------------------------------------------


def _gap(low_a: int, high_a: int, low_b: int, high_b: int) -> int:
    """Number of whole rows (or columns) strictly between two index ranges; 0 if they touch."""
    return max(low_a - high_b - 1, low_b - high_a - 1, 0)


def _close(a: Rect, b: Rect, proximity: int) -> bool:
    """True if ``a`` and ``b`` overlap or are at most ``proximity`` cells apart on both axes."""
    return _gap(a[0], a[2], b[0], b[2]) <= proximity and _gap(a[1], a[3], b[1], b[3]) <= proximity


def _contains(outer: Rect, inner: Rect) -> bool:
    return (
        outer[0] <= inner[0]
        and outer[1] <= inner[1]
        and outer[2] >= inner[2]
        and outer[3] >= inner[3]
    )


def _inside_any(cell: tuple[int, int], rects: Iterable[Rect]) -> bool:
    return any(r[0] <= cell[0] <= r[2] and r[1] <= cell[1] <= r[3] for r in rects)


def _bounding_box(a: Rect, b: Rect) -> Rect:
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


def _cells(rect: Rect) -> int:
    return (rect[2] - rect[0] + 1) * (rect[3] - rect[1] + 1)


def _homogeneous_union(tables: _Tables, a: Rect, b: Rect, std_threshold: float) -> bool:
    """The merge test: is the bounding box of ``a`` and ``b`` about as uniform as they are?

    Merge when ``std(box) <= weighted_std / std_threshold`` where ``weighted_std`` is the
    cell-count-weighted mean of the two standard deviations. A tiny absolute tolerance makes
    the degenerate case well defined: if both rectangles are constant (``weighted_std == 0``)
    they merge only if the box is constant too, i.e. they hold the same value and so does any
    gap between them.
    """
    size_a, size_b = _cells(a), _cells(b)
    weighted = (size_a * _std(tables, a) + size_b * _std(tables, b)) / (size_a + size_b)
    return _std(tables, _bounding_box(a, b)) <= weighted / std_threshold + _STD_TOLERANCE


def _merge_pass(
    tables: _Tables,
    rects: list[Rect],
    proximity: int,
    std_threshold: float,
    rejected: set[tuple[Rect, Rect]],
) -> bool:
    """Merge the first mergeable pair of ``rects`` in place; return whether one was merged.

    Pairs are tried in list order (stronger seeds first). A rectangle inside another is always
    absorbed. ``rejected`` caches pairs already found not to merge.
    """
    for i, a in enumerate(rects):
        for j in range(i + 1, len(rects)):
            b = rects[j]
            if (a, b) in rejected or not _close(a, b, proximity):
                continue
            if (
                _contains(a, b)
                or _contains(b, a)
                or _homogeneous_union(tables, a, b, std_threshold)
            ):
                rects[i] = _bounding_box(a, b)
                del rects[j]
                return True
            rejected.add((a, b))
    return False


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def find_attention_regions_with_merging(
    attention_matrix: Any,
    n_seeds: int = 3,
    min_distance: int = 2,
    expansion_threshold: float = 0.7,
    merge_std_threshold: float = 0.6,
    proximity_threshold: int = 2,
    max_expansion_steps: int = 3,
) -> list[tuple[int, int, int, int]]:
    """Find up to ``n_seeds`` rectangular regions of high attention.

    1. **Seeds.** Cells are ranked by value (highest first, ties in row-major order). A cell is
       accepted as a seed unless it lies within ``min_distance`` rows *and* ``min_distance``
       columns of an accepted seed. ``3 * n_seeds`` seeds are collected: the first ``n_seeds``
       start, the rest are kept in reserve.
    2. **Growth.** Each seed starts as a 1×1 rectangle and grows for at most
       ``max_expansion_steps`` steps. Each step scores the rectangle extended by one row or
       column in each direction (up, down, left, right; ties go to that order) and takes the
       best extension if its score is at least ``expansion_threshold`` times the current one.
       The score is ``m * (m / ring) * (1 + ln(1 + area) / 10)``, with ``m`` the mean inside and
       ``ring`` the mean of the one-cell border around the rectangle (clipped to the matrix;
       the inside mean if the border is empty; floored at a tiny epsilon).
    3. **Merging.** Two rectangles that overlap, or whose gap (whole rows/columns strictly
       between them) is at most ``proximity_threshold`` on both axes, are replaced by their
       bounding box if its standard deviation is at most ``1 / merge_std_threshold`` times the
       cell-weighted mean of their standard deviations. Two constant rectangles (weighted
       standard deviation 0) therefore merge only when the box is constant too. A rectangle
       contained in another is always absorbed. After merging, the set is refilled from the
       reserve seeds (in order, skipping seeds already inside a rectangle), the new seeds are
       grown, and merging repeats until nothing changes or the reserve is exhausted.

    Rectangle statistics come from summed-area tables, so each is O(1); a 1024 × 1024 matrix
    takes a few tens of milliseconds. The result is deterministic.

    Parameters
    ----------
    attention_matrix : array_like
        2-D numpy array, torch tensor or nested sequence of finite scores. Negative values are
        allowed (the matrix is shifted to be non-negative for scoring).
    n_seeds : int, default 3
        Number of regions wanted (>= 1); also the number of seeds grown at first.
    min_distance : int, default 2
        Seeds must be more than this many rows or columns apart (>= 0).
    expansion_threshold : float, default 0.7
        A growth step is taken while the new score is at least this fraction of the current
        score (> 0; values above 1 only allow steps that raise the score).
    merge_std_threshold : float, default 0.6
        Lower is stricter: merging may raise the standard deviation by a factor of at most
        ``1 / merge_std_threshold`` (> 0).
    proximity_threshold : int, default 2
        Largest gap, in cells, between two rectangles considered for merging (>= 0; 0 means
        touching or overlapping).
    max_expansion_steps : int, default 3
        Growth steps per seed (>= 0; 0 keeps every seed a single cell).

    Returns
    -------
    list of tuple of int
        At most ``n_seeds`` inclusive ``(top, left, bottom, right)`` rectangles, sorted by mean
        value inside, highest first (ties by position). Rectangles that failed the merge test
        may overlap.

    Raises
    ------
    TypeError
        If the matrix is not numeric or a parameter has the wrong type.
    ValueError
        If the matrix is not 2-D, is empty or has non-finite values, or a parameter is out of
        range.

    Examples
    --------
    >>> import numpy as np
    >>> matrix = np.full((8, 8), 0.01)
    >>> matrix[1:3, 1:4] = 0.9
    >>> find_attention_regions_with_merging(matrix, n_seeds=1)
    [(1, 1, 2, 3)]
    """
    matrix = as_matrix(attention_matrix, "attention_matrix")
    n_seeds = _check_positive_int(n_seeds, "n_seeds")
    min_distance = check_nonnegative_int(min_distance, "min_distance")
    expansion_threshold = check_positive(expansion_threshold, "expansion_threshold")
    merge_std_threshold = check_positive(merge_std_threshold, "merge_std_threshold")
    proximity_threshold = check_nonnegative_int(proximity_threshold, "proximity_threshold")
    max_expansion_steps = check_nonnegative_int(max_expansion_steps, "max_expansion_steps")

    tables = _Tables.build(matrix)
    seeds = _select_seeds(matrix, 3 * n_seeds, min_distance)
    reserve = deque(seeds[n_seeds:])
    rects = [_grow(tables, s, expansion_threshold, max_expansion_steps) for s in seeds[:n_seeds]]
    rejected: set[tuple[Rect, Rect]] = set()

    # Every round either consumes reserve seeds or stops, and every merge removes a rectangle,
    # so this terminates; the explicit bound is a safety net.
    for _ in range(len(seeds) + 1):
        while _merge_pass(tables, rects, proximity_threshold, merge_std_threshold, rejected):
            pass
        refilled = False
        while len(rects) < n_seeds and reserve:
            seed = reserve.popleft()
            if _inside_any(seed, rects):
                continue
            rects.append(_grow(tables, seed, expansion_threshold, max_expansion_steps))
            refilled = True
        if not refilled:
            break

    ranked = sorted(rects, key=lambda rect: (-_mean(tables, rect), rect))
    return [(int(a), int(b), int(c), int(d)) for a, b, c, d in ranked[:n_seeds]]


def _four_ints(region: Any, name: str) -> tuple[int, int, int, int]:
    """``region`` as a tuple of four Python ints, or a ``TypeError`` naming ``name``."""
    problem = TypeError(
        f"{name}: expected (top, left, bottom, right) integers, got {describe(region)}"
    )
    if isinstance(region, (str, bytes)) or not isinstance(region, Sequence | np.ndarray):
        raise problem
    if len(region) != 4 or any(isinstance(v, (bool, np.bool_)) for v in region):
        raise problem
    try:
        top, left, bottom, right = (operator.index(v) for v in region)
    except TypeError:
        raise problem from None
    return top, left, bottom, right


def regions_to_corners(
    regions: Sequence[Sequence[int]] | NDArray[np.integer[Any]],
) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Split ``(top, left, bottom, right)`` rectangles into corner lists.

    Parameters
    ----------
    regions : sequence of (int, int, int, int)
        Inclusive rectangles, e.g. from :func:`find_attention_regions_with_merging`.

    Returns
    -------
    left_top_cells, right_bottom_cells : list of (int, int)
        ``(row, col)`` of each rectangle's top-left and bottom-right cell, in input order, as
        taken by the heatmap functions' ``left_top_cells`` / ``right_bottom_cells`` arguments.

    Raises
    ------
    TypeError
        If ``regions`` or one of its rectangles is not a sequence of four integers.
    ValueError
        If a rectangle has a negative index or ``top > bottom`` or ``left > right``.

    Examples
    --------
    >>> regions_to_corners([(1, 2, 3, 4)])
    ([(1, 2)], [(3, 4)])
    """
    if isinstance(regions, (str, bytes)) or not isinstance(regions, Sequence | np.ndarray):
        raise TypeError(
            f"regions: expected a sequence of (top, left, bottom, right) tuples, "
            f"got {describe(regions)}"
        )
    left_top: list[tuple[int, int]] = []
    right_bottom: list[tuple[int, int]] = []
    for k, region in enumerate(regions):
        values = _four_ints(region, f"regions[{k}]")
        top, left, bottom, right = values
        if min(values) < 0 or top > bottom or left > right:
            raise ValueError(
                f"regions[{k}]: expected 0 <= top <= bottom and 0 <= left <= right, "
                f"got {tuple(values)}"
            )
        left_top.append((top, left))
        right_bottom.append((bottom, right))
    return left_top, right_bottom
