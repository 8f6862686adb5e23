"""Automatic detection of rectangular high-attention regions.

The main entry point is :func:`find_attention_regions_with_merging`. It treats an attention map
the way astronomical source extraction treats a sky image (Bertin & Arnouts 1996, SExtractor):
estimate the background and its noise from the map itself, keep the cells that stand out from
it by more than chance allows, grow them into connected regions (with hysteresis, as in
Canny's edge detector) and report each region's bounding box.

Attention maps have structures of their own that a single global background would mistake for
regions, so the background is modelled in ``log(value)``, additively as in Tukey's median
polish: each **row**'s level (rows are softmaxes: they differ by a constant factor, and a row
holding a wide block has a lower background than its neighbours), plus each **column**'s
effect (an "attention sink" such as ``[CLS]``/``[SEP]``/BOS that every row attends to), plus
each **diagonal**'s effect (positional heads attending to the same or the previous token).
Levels are 25th percentiles and effects medians of up to 64 evenly spaced cells per line, so a
block may fill most of a line without raising its background. The residual is standardised by
its own median and upper quartile (a robust z-score), and cells above the larger of Donoho &
Johnstone's universal threshold ``sqrt(2 ln N)`` and the 5% Bonferroni threshold for ``N``
cells of Gaussian noise are *seeds*. Growth, splitting by level, merging and non-maximum
suppression are described in the function's docstring.

Cost: one comparison pass over the whole matrix and numpy work on sampled lines and on small
windows around the seeds; only sampled and windowed cells are logged, and no Python loop runs
over matrix cells.

Rectangles are ``(top, left, bottom, right)`` tuples of inclusive row/column indices.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from izzyviz._validate import check_nonnegative_int, check_positive, describe
from izzyviz.source import as_matrix

__all__ = ["find_attention_regions_with_merging", "regions_to_corners"]

Rect = tuple[int, int, int, int]
"""An inclusive ``(top, left, bottom, right)`` rectangle of matrix cells."""

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

# Cells sampled (evenly spaced) from each row, column or diagonal to estimate its baseline.
_LINE_SAMPLES = 64
# Lines shorter than this have no baseline of their own (too few cells to estimate one).
_MIN_LINE = 4
# The baseline quantile: a block may fill up to 1 - this of a line without raising it.
_BASELINE_QUANTILE = 0.25
# Cells sampled along each axis to estimate the residual's median and spread.
_NOISE_SAMPLES = 128
# log(value + floor), value normalised to [0, 1]: exact zeros stay finite.
_LOG_FLOOR = 1e-6
# Smallest noise scale in log units: a constant background makes every brighter cell significant.
_MIN_SCALE = 1e-6
# The upper quartile of a standard Gaussian: (q75 - median) / this is its standard deviation.
_UPPER_QUARTILE_Z = 0.6745
# Chance that a small map of pure noise yields a seed anywhere (sets the seed threshold).
_FALSE_ALARM = 0.05
# Cells connected to seeds through z-scores above this fraction of the seed threshold belong to
# the seeds' region (hysteresis; Canny recommends a low threshold of 1/3 to 1/2 of the high).
_HYSTERESIS = 0.5


# --------------------------------------------------------------------------------------------
# Background and significance
# --------------------------------------------------------------------------------------------


def _positions(length: IntArray | int, count: int) -> IntArray:
    """``count`` evenly spaced indices into lines of ``length`` cells (one row per length)."""
    steps = np.arange(count, dtype=np.int64)
    span = np.asarray(length, dtype=np.int64)[..., None] - 1
    return (steps * span) // max(count - 1, 1)


def _low_quantile(samples: FloatArray, axis: int) -> FloatArray:
    """The baseline quantile of ``samples`` along ``axis`` (lower order statistic)."""
    k = int((samples.shape[axis] - 1) * _BASELINE_QUANTILE)
    return np.asarray(np.partition(samples, k, axis=axis).take(k, axis=axis), dtype=np.float64)


def _diagonal_samples(shape: tuple[int, int]) -> tuple[IntArray, IntArray, IntArray]:
    """Evenly spaced cells of every diagonal at least half the matrix's smaller side long
    (shorter ones a block could fill): their diagonal indices ``column - row + rows - 1``, and
    ``(diagonals, samples)`` arrays of their rows and columns."""
    n_rows, n_cols = shape
    offsets = np.arange(-(n_rows - 1), n_cols, dtype=np.int64)
    first_row = np.maximum(-offsets, 0)
    lengths = np.minimum(n_rows - first_row, n_cols - first_row - offsets)
    used = np.flatnonzero(lengths >= max(_MIN_LINE, -(-min(n_rows, n_cols) // 2)))
    count = min(int(lengths.max()), _LINE_SAMPLES)
    rows = first_row[used, None] + _positions(lengths[used], count)
    return used, rows, rows + offsets[used, None]


@dataclass(frozen=True)
class _Background:
    """Robust background model of a matrix, in log units.

    Values are normalised as ``(matrix - low) * factor`` (to [0, 1]) and taken as
    ``log(value + floor)``. The background of a cell is additive in log units (as in Tukey's
    median polish): its row's level (25th percentile, the softmax normalisation), plus its
    column's and its diagonal's effect (median of what the row levels leave, above the map's
    median; never negative, so a structure can only raise the background: a sink column, a
    diagonal band, and where the two cross, both). Lines too short for an estimate get no
    effect; rows too short get the whole map's level. ``center`` and ``scale`` are the median
    and the MAD-based standard deviation of ``log - baseline``. Only sampled cells are logged.
    """

    matrix: FloatArray
    low: float
    factor: float
    rows: FloatArray
    cols: FloatArray
    diagonals: FloatArray
    center: float = 0.0
    scale: float = 1.0

    @classmethod
    def estimate(cls, matrix: FloatArray, low: float, factor: float) -> _Background:
        n_rows, n_cols = matrix.shape
        zero = np.zeros(n_rows + n_cols - 1)
        model = cls(matrix, low, factor, zero[:n_rows], zero[:n_cols], zero)
        r = np.unique(_positions(n_rows, min(n_rows, _NOISE_SAMPLES)))
        c = np.unique(_positions(n_cols, min(n_cols, _NOISE_SAMPLES)))
        grid = model.log(matrix[np.ix_(r, c)])
        if n_cols >= _MIN_LINE:
            samples = model.log(matrix[:, _positions(n_cols, min(n_cols, _LINE_SAMPLES))])
            rows = _low_quantile(samples, axis=1)
        else:
            rows = np.full(n_rows, _low_quantile(grid.reshape(-1), axis=0))
        level = float(np.median(grid - rows[r, None]))
        cols = zero[:n_cols]
        if n_rows >= _MIN_LINE:
            picked = _positions(n_rows, min(n_rows, _LINE_SAMPLES))
            samples = model.log(matrix[picked]) - rows[picked, None]
            cols = np.maximum(np.median(samples, axis=0) - level, 0.0)
        diagonals = zero.copy()
        used, dr, dc = _diagonal_samples(matrix.shape)
        if used.size:
            samples = model.log(matrix[dr, dc]) - rows[dr] - cols[dc]
            diagonals[used] = np.maximum(np.median(samples, axis=1) - level, 0.0)
        model = cls(matrix, low, factor, rows, cols, diagonals)
        residual = grid - model.baseline(r, c)
        # The upper half only: seeds are tested against it, and a lower tail (values near
        # zero, long in log units) says nothing about how high noise reaches.
        center, upper = np.quantile(residual, [0.5, 0.75])
        spread = (float(upper) - float(center)) / _UPPER_QUARTILE_Z
        # Residuals from baselines fitted to the same cells understate the noise: scale up by
        # the degrees of freedom the fitted levels and effects took (matters for small maps).
        fitted = n_rows + (n_cols if n_rows >= _MIN_LINE else 0) + used.size
        spread /= math.sqrt(max(1.0 - fitted / matrix.size, 0.25))
        return cls(
            matrix, low, factor, rows, cols, diagonals, float(center), max(spread, _MIN_SCALE)
        )

    def normalised(self, raw: FloatArray) -> FloatArray:
        """``raw`` matrix values in [0, 1] (factor first, so extreme values cannot overflow)."""
        return np.asarray(raw * self.factor - self.low * self.factor, dtype=np.float64)

    def log(self, raw: FloatArray) -> FloatArray:
        """``log(normalised value + floor)`` of ``raw`` matrix values (``-inf`` stays)."""
        with np.errstate(invalid="ignore"):
            return np.log(np.maximum(self.normalised(raw), 0.0) + _LOG_FLOOR)

    def values(self, rows: IntArray, cols: IntArray) -> FloatArray:
        """Normalised values of the cells ``rows × cols`` (two index vectors)."""
        return self.normalised(self.matrix[np.ix_(rows, cols)])

    def baseline(self, rows: IntArray, cols: IntArray) -> FloatArray:
        """Baseline (log units) of the cells ``rows × cols``."""
        diagonal = self._diagonal_view(self.diagonals)[np.ix_(rows, cols)]
        return self.rows[rows, None] + self.cols[None, cols] + diagonal

    def z(self, rows: IntArray, cols: IntArray) -> FloatArray:
        """Robust z-score of the cells ``rows × cols``: how far they stand above background."""
        logs = np.log(self.values(rows, cols) + _LOG_FLOOR)
        return (logs - self.baseline(rows, cols) - self.center) / self.scale

    def excess(self, rows: IntArray, cols: IntArray) -> FloatArray:
        """Value above the typical background value, in normalised units, of ``rows × cols``."""
        background = np.exp(self.baseline(rows, cols) + self.center) - _LOG_FLOOR
        return self.values(rows, cols) - background

    def _diagonal_view(self, diagonals: FloatArray) -> FloatArray:
        """Per-diagonal values laid out as the matrix (a read-only view, no copy)."""
        n_rows, n_cols = self.matrix.shape
        step = diagonals.strides[0]
        return np.lib.stride_tricks.as_strided(
            diagonals[n_rows - 1 :], (n_rows, n_cols), (-step, step), writeable=False
        )

    def seed_cells(self, threshold: float) -> tuple[IntArray, IntArray]:
        """Rows and columns of the cells whose z-score exceeds ``threshold``.

        Column and diagonal effects are never negative, so a seed must exceed its row's
        threshold alone: one comparison of the raw matrix with a per-row value finds the
        candidates, and only those are logged and tested in full.
        """
        limit = self.center + threshold * self.scale
        with np.errstate(over="ignore"):
            by_row = (np.exp(self.rows + limit) - _LOG_FLOOR) / self.factor + self.low
        rows, cols = np.nonzero(self.matrix > by_row[:, None])
        diagonal = self.diagonals[cols - rows + (self.matrix.shape[0] - 1)]
        baseline = self.rows[rows] + self.cols[cols] + diagonal
        keep = self.log(self.matrix[rows, cols]) - baseline > limit
        return rows[keep].astype(np.int64), cols[keep].astype(np.int64)


def _normalisation(matrix: FloatArray) -> tuple[float, float] | None:
    """``(low, factor)`` mapping ``matrix`` to [0, 1] by ``(matrix - low) * factor`` (shifted
    only if it has negative entries); None if it is constant."""
    low = min(float(matrix.min()), 0.0)
    # Halved first, so the span of values near the float64 limit cannot overflow.
    span = float(matrix.max()) / 2 - low / 2
    if not span > 0.0:
        return None
    return low, 0.5 / span


def _seed_threshold(cells: int) -> float:
    """The larger of two thresholds on the z-score of pure Gaussian noise over ``cells``
    cells: Donoho and Johnstone's universal threshold ``sqrt(2 ln N)`` (which noise rarely
    exceeds in large maps), and the Bonferroni threshold that noise exceeds anywhere with
    probability ``_FALSE_ALARM`` (stricter in small maps), found by Newton's method on
    ``P(Z > z) = _FALSE_ALARM / N``."""
    tail = _FALSE_ALARM / max(cells, 1)
    z = math.sqrt(2.0 * math.log(1.0 / tail))
    for _ in range(8):
        density = math.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
        z += (0.5 * math.erfc(z / math.sqrt(2.0)) - tail) / density
    return max(z, math.sqrt(2.0 * math.log(max(cells, 1))))


# --------------------------------------------------------------------------------------------
# Connected components (4-connectivity), from runs of True cells in each row
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Runs:
    """Horizontal runs of a mask's True cells, with the component each belongs to."""

    rows: IntArray
    starts: IntArray
    stops: IntArray  # exclusive
    labels: IntArray

    def bounding_boxes(self) -> list[Rect]:
        """Inclusive bounding box of each component, in label order."""
        count = int(self.labels.max()) + 1 if self.labels.size else 0
        top = np.full(count, np.iinfo(np.int64).max)
        left = top.copy()
        bottom = np.full(count, -1)
        right = bottom.copy()
        np.minimum.at(top, self.labels, self.rows)
        np.minimum.at(left, self.labels, self.starts)
        np.maximum.at(bottom, self.labels, self.rows)
        np.maximum.at(right, self.labels, self.stops - 1)
        return list(zip(top.tolist(), left.tolist(), bottom.tolist(), right.tolist(), strict=True))

    def image(self, shape: tuple[int, int]) -> NDArray[np.int64]:
        """The label of every cell of a mask of ``shape`` (-1 outside the components)."""
        image = np.full(shape, -1, dtype=np.int64)
        lengths = self.stops - self.starts
        first = np.cumsum(lengths) - lengths
        cols = np.arange(int(lengths.sum())) - np.repeat(first - self.starts, lengths)
        image[np.repeat(self.rows, lengths), cols] = np.repeat(self.labels, lengths)
        return image


def _find(parent: list[int], item: int) -> int:
    while parent[item] != item:
        parent[item] = parent[parent[item]]
        item = parent[item]
    return item


def _components(mask: BoolArray) -> _Runs:
    """4-connected components of ``mask``: runs in consecutive rows that share a column are
    joined with a union-find over runs (there are far fewer runs than cells)."""
    padded = np.zeros((mask.shape[0], mask.shape[1] + 2), dtype=np.int8)
    padded[:, 1:-1] = mask
    edges = np.diff(padded, axis=1)
    rows, starts = np.nonzero(edges == 1)
    _, stops = np.nonzero(edges == -1)
    parent = list(range(rows.size))
    first = np.searchsorted(rows, np.arange(mask.shape[0] + 1)).tolist()
    start_list, stop_list = starts.tolist(), stops.tolist()
    for row in np.unique(rows).tolist():
        i, i_end = first[row], first[row + 1]
        j, j_end = i_end, first[min(row + 2, mask.shape[0])]
        while i < i_end and j < j_end:
            if start_list[i] < stop_list[j] and start_list[j] < stop_list[i]:
                root_i, root_j = _find(parent, i), _find(parent, j)
                parent[max(root_i, root_j)] = min(root_i, root_j)
            if stop_list[i] < stop_list[j]:
                i += 1
            else:
                j += 1
    roots = np.array([_find(parent, k) for k in range(rows.size)], dtype=np.int64)
    _, labels = np.unique(roots, return_inverse=True)
    return _Runs(
        rows.astype(np.int64),
        starts.astype(np.int64),
        stops.astype(np.int64),
        labels.reshape(-1).astype(np.int64),
    )


def _dilate(mask: BoolArray, steps: int) -> BoolArray:
    """``mask`` grown by ``steps`` cells in every direction (diagonals included)."""
    grown = mask.copy()
    for _ in range(min(steps, max(mask.shape))):
        step = grown.copy()
        step[1:] |= grown[:-1]
        step[:-1] |= grown[1:]
        wide = step.copy()
        wide[:, 1:] |= step[:, :-1]
        wide[:, :-1] |= step[:, 1:]
        if np.array_equal(wide, grown):
            break
        grown = wide
    return grown


# --------------------------------------------------------------------------------------------
# Regions: growth from the seeds, split by level
# --------------------------------------------------------------------------------------------


def _grow_regions(
    background: _Background,
    thresholds: tuple[float, float],
    level_fraction: float,
    max_steps: int,
) -> list[Rect]:
    """Bounding boxes of the regions grown from each connected group of seeds.

    A group is handled in a window around it, strongest group first. Its **extent** is the
    set of cells connected to its seeds through cells with a z-score above the low threshold
    (``thresholds[0]``, hysteresis as in Canny's edge detector) within ``max_steps`` cells of
    the seeds. While a seed in the extent is free, the next region is the connected set,
    holding the strongest free seed, of free extent cells whose excess over background is at
    least ``level_fraction`` times the median excess of the free extent, and the extent cells
    in one-cell gaps between them. Seeds of a weaker level left out start the next region.
    """
    low, high = thresholds
    taken = np.zeros(background.matrix.shape, dtype=bool)
    boxes: list[Rect] = []
    windows = []
    for box in _seed_groups(background.seed_cells(high), background.matrix.shape, max_steps):
        rows, cols = _window(box, 0, background.matrix.shape)
        z = background.z(rows, cols)
        windows.append((float(z.max()), rows, cols, z))
    # Strongest group first, so it claims contested cells.
    windows.sort(key=lambda window: -window[0])
    for _, rows, cols, z in windows:
        local = np.ix_(rows, cols)
        free = (z > high) & ~taken[local]
        if not free.any():
            continue
        reach = _dilate(free, max_steps)
        excess = background.excess(rows, cols)
        extent = _extent(free | ((z > low) & reach & ~taken[local]), free)
        free = extent & (z > high)
        while free.any():
            level = float(np.median(excess[extent]))
            flat_peak = int(np.argmax(np.where(free, excess, -np.inf)))
            peak = (flat_peak // free.shape[1], flat_peak % free.shape[1])
            allowed = extent & _fill_gaps(extent & (excess >= level_fraction * level))
            allowed[peak] = True
            labels = _components(allowed).image(allowed.shape)
            region = labels == labels[peak]
            taken[local] |= region
            free &= ~region
            extent &= ~region
            hit_rows, hit_cols = np.nonzero(region)
            boxes.append(
                (
                    int(rows[hit_rows.min()]),
                    int(cols[hit_cols.min()]),
                    int(rows[hit_rows.max()]),
                    int(cols[hit_cols.max()]),
                )
            )
    return boxes


def _extent(candidates: BoolArray, seeds: BoolArray) -> BoolArray:
    """The connected components of ``candidates`` that hold at least one of ``seeds``."""
    labels = _components(candidates).image(candidates.shape)
    held = np.zeros(int(labels.max()) + 2, dtype=bool)
    held[labels[seeds] + 1] = True
    held[0] = False
    return np.asarray(held[labels + 1])


def _fill_gaps(mask: BoolArray) -> BoolArray:
    """``mask`` plus every cell whose two horizontal or two vertical neighbours are both in
    it: fills the one-cell holes and seams that noise leaves in a faint block, leaves a
    rectangle unchanged and joins nothing that is two or more cells apart."""
    filled = mask.copy()
    filled[:, 1:-1] |= mask[:, :-2] & mask[:, 2:]
    filled[1:-1, :] |= mask[:-2, :] & mask[2:, :]
    return filled


def _seed_groups(
    seeds: tuple[IntArray, IntArray], shape: tuple[int, int], max_steps: int
) -> list[Rect]:
    """Windows holding groups of seeds that lie within reach of each other.

    Seeds are marked on a coarse grid of ``(max_steps + 1)``-cell squares; 8-connected marked
    squares form a group, and its window is their bounding box widened by one square (so it
    holds every cell within ``max_steps`` of the group's seeds). Grouping costs time in the
    number of seeds, not of cells.
    """
    side = max_steps + 1
    coarse = np.zeros((shape[0] // side + 1, shape[1] // side + 1), dtype=bool)
    coarse[seeds[0] // side, seeds[1] // side] = True
    windows = []
    for top, left, bottom, right in _components(_dilate(coarse, 1)).bounding_boxes():
        windows.append(
            (
                top * side,
                left * side,
                min((bottom + 1) * side, shape[0]) - 1,
                min((right + 1) * side, shape[1]) - 1,
            )
        )
    return windows


def _window(box: Rect, margin: int, shape: tuple[int, int]) -> tuple[IntArray, IntArray]:
    """Row and column indices of ``box`` widened by ``margin`` cells, within ``shape``."""
    top, left, bottom, right = box
    rows = np.arange(max(top - margin, 0), min(bottom + margin, shape[0] - 1) + 1)
    cols = np.arange(max(left - margin, 0), min(right + margin, shape[1] - 1) + 1)
    return rows, cols


# --------------------------------------------------------------------------------------------
# Merging and suppression
# --------------------------------------------------------------------------------------------


def _gap(low_a: int, high_a: int, low_b: int, high_b: int) -> int:
    """Number of whole rows (or columns) strictly between two index ranges; 0 if they touch."""
    return max(low_a - high_b - 1, low_b - high_a - 1, 0)


def _close(a: Rect, b: Rect, distance: int) -> bool:
    """True if ``a`` and ``b`` overlap or are at most ``distance`` cells apart on both axes."""
    return _gap(a[0], a[2], b[0], b[2]) <= distance and _gap(a[1], a[3], b[1], b[3]) <= distance


def _contains(outer: Rect, inner: Rect) -> bool:
    return (
        outer[0] <= inner[0]
        and outer[1] <= inner[1]
        and outer[2] >= inner[2]
        and outer[3] >= inner[3]
    )


def _bounding_box(a: Rect, b: Rect) -> Rect:
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


def _cells(background: _Background, rect: Rect) -> FloatArray:
    """Normalised values of the cells of ``rect``."""
    top, left, bottom, right = rect
    return background.normalised(background.matrix[top : bottom + 1, left : right + 1])


# Standard deviations closer than this (normalised units) are treated as equal.
_STD_TOLERANCE = 1e-12


def _homogeneous_union(background: _Background, a: Rect, b: Rect, std_threshold: float) -> bool:
    """The merge test: is the bounding box of ``a`` and ``b`` about as uniform as they are?

    Merge when ``std(box) <= weighted_std / std_threshold``, ``weighted_std`` being the
    cell-count-weighted mean of the two standard deviations; two constant rectangles merge
    only if the box is constant too.
    """
    cells_a, cells_b = _cells(background, a), _cells(background, b)
    weighted = (cells_a.size * float(cells_a.std()) + cells_b.size * float(cells_b.std())) / (
        cells_a.size + cells_b.size
    )
    union = float(_cells(background, _bounding_box(a, b)).std())
    return union <= weighted / std_threshold + _STD_TOLERANCE


def _merge(
    background: _Background, rects: list[Rect], proximity: int, std_threshold: float
) -> None:
    """Merge, in place, pairs of rectangles that nest, or lie within ``proximity`` cells of
    each other and pass the merge test, until no pair does."""
    rejected: set[tuple[Rect, Rect]] = set()
    while pair := _mergeable_pair(background, rects, proximity, std_threshold, rejected):
        i, j = pair
        rects[i] = _bounding_box(rects[i], rects[j])
        del rects[j]


def _mergeable_pair(
    background: _Background,
    rects: list[Rect],
    proximity: int,
    std_threshold: float,
    rejected: set[tuple[Rect, Rect]],
) -> tuple[int, int] | None:
    """The first pair (in list order) to merge, or None; pairs found not to merge are added
    to ``rejected``, so that they are tested once."""
    for i, a in enumerate(rects):
        for j in range(i + 1, len(rects)):
            b = rects[j]
            if _contains(a, b) or _contains(b, a):
                return i, j
            if (a, b) in rejected or not _close(a, b, proximity):
                continue
            if _homogeneous_union(background, a, b, std_threshold):
                return i, j
            rejected.add((a, b))
    return None


def _suppress(ranked: list[Rect], distance: int) -> list[Rect]:
    """Non-maximum suppression: drop each rectangle that overlaps a rectangle ranked before it,
    or is separated from one by fewer than ``distance`` rows and fewer than ``distance``
    columns (the original's rule for seeds: more than ``distance`` cells apart)."""
    kept: list[Rect] = []
    for rect in ranked:
        if not any(_too_near(rect, other, distance) for other in kept):
            kept.append(rect)
    return kept


def _too_near(a: Rect, b: Rect, distance: int) -> bool:
    overlap = a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]
    gaps = _gap(a[0], a[2], b[0], b[2]), _gap(a[1], a[3], b[1], b[3])
    return overlap or max(gaps) < distance


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

    1. **Significance.** Each cell's robust z-score says how far ``log(value)`` stands above
       its background: its row's level plus its column's and its diagonal's effects (see the
       module docstring), so softmax row levels, attention-sink columns and diagonal bands are
       background, not regions. Cells whose z-score exceeds what pure noise reaches over the
       whole map (about ``sqrt(2 ln N)`` for ``N`` cells) are **seeds**.
    2. **Growth and levels.** Seeds within reach of each other form a group. Its extent is
       the cells connected to its seeds through z-scores above half the seed threshold
       (hysteresis) and at most ``max_expansion_steps`` cells from a seed: growth takes in
       cells that belong to a region without being significant alone (the noisy edge of a
       faint block). Within the extent, a region is the connected set, around the strongest
       free seed, of cells whose excess over background is at least ``expansion_threshold``
       times the extent's median excess (one-cell gaps between them filled); seeds of a
       weaker level left out start the next region.
    3. **Merging.** A rectangle nested in another is absorbed. Two rectangles whose gap
       (whole rows/columns strictly between them) is at most ``proximity_threshold`` on both
       axes are replaced by their bounding box if its standard deviation is at most
       ``1 / merge_std_threshold`` times the cell-weighted mean of theirs.
    4. **Suppression.** Rectangles are ranked by their mean value; one that overlaps a
       higher-ranked one, or is separated from it by fewer than ``min_distance`` rows and
       fewer than ``min_distance`` columns, is dropped (one region per neighbourhood, as the
       original spaced its seeds). The first ``n_seeds`` are returned.

    An isolated uniform block on a noisy background is returned exactly; a map in which
    nothing stands out above its background (a constant matrix, pure noise) gives no regions.
    The cost is O(N) numpy work plus work on small windows around the seeds: a 1024 × 1024
    map takes a few tens of milliseconds. The result is deterministic.

    Parameters
    ----------
    attention_matrix : array_like
        2-D numpy array, torch tensor or nested sequence of finite scores. Negative values are
        allowed (the matrix is shifted to be non-negative).
    n_seeds : int, default 3
        Largest number of regions returned (>= 1).
    min_distance : int, default 2
        A region with fewer than this many rows and columns between it and a stronger one is
        dropped (>= 0; 0 drops only overlapping regions).
    expansion_threshold : float, default 0.7
        A cell joins a region if its excess over background is at least this fraction of the
        region's level (> 0; lower grows into weaker cells, above 1 keeps only the strongest).
    merge_std_threshold : float, default 0.6
        Lower is more permissive: merging may raise the standard deviation by a factor of at
        most ``1 / merge_std_threshold`` (> 0).
    proximity_threshold : int, default 2
        Largest gap, in cells, between two rectangles considered for merging (>= 0; 0 means
        touching or overlapping).
    max_expansion_steps : int, default 3
        How many cells a region may extend beyond its significant seeds (>= 0).

    Returns
    -------
    list of tuple of int
        At most ``n_seeds`` inclusive ``(top, left, bottom, right)`` rectangles, highest mean
        value first (ties by position); empty if nothing stands out.

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
    >>> matrix = np.random.default_rng(0).random((40, 40)) * 0.01
    >>> matrix[5:9, 10:14] = 0.9
    >>> matrix[25:28, 30:33] = 0.8
    >>> matrix[30, 2] = 0.7
    >>> find_attention_regions_with_merging(matrix)
    [(5, 10, 8, 13), (25, 30, 27, 32), (30, 2, 30, 2)]
    """
    matrix = as_matrix(attention_matrix, "attention_matrix")
    n_seeds = check_nonnegative_int(n_seeds, "n_seeds", minimum=1)
    min_distance = check_nonnegative_int(min_distance, "min_distance")
    expansion_threshold = check_positive(expansion_threshold, "expansion_threshold")
    merge_std_threshold = check_positive(merge_std_threshold, "merge_std_threshold")
    proximity_threshold = check_nonnegative_int(proximity_threshold, "proximity_threshold")
    max_expansion_steps = check_nonnegative_int(max_expansion_steps, "max_expansion_steps")

    normalisation = _normalisation(matrix)
    if normalisation is None:
        return []
    background = _Background.estimate(matrix, *normalisation)
    high = _seed_threshold(matrix.size)
    rects = _grow_regions(
        background, (high * _HYSTERESIS, high), expansion_threshold, max_expansion_steps
    )
    _merge(background, rects, proximity_threshold, merge_std_threshold)
    ranked = sorted(rects, key=lambda rect: (-float(_cells(background, rect).mean()), rect))
    return _suppress(ranked, min_distance)[:n_seeds]


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
