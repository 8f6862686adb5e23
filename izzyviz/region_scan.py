"""The evidence behind region detection: how raised each cell is against the map's own
background, and which windows hold more raised cells than that background explains.

It treats a map the way scan statistics treat a spatial point pattern (Kulldorff 1997; Neill &
Moore 2004): a block is a rectangle holding more raised cells than the background puts there by
chance, which one heavy-tailed cell never does, however large. :mod:`izzyviz.region_fit` fits
rectangles to the windows found here.

1. **Background** (:func:`residual`). In ``log(value)``: each row's level (its lower quartile:
   rows are softmaxes, and a wide block lowers the rest of its row), each column's effect (an
   attention sink every row attends to) and each diagonal's effect (a positional band), from up
   to 128 cells per line, then a slow 2-D drift from tiles a quarter of the map wide. An
   effect counts only when it exceeds three times the noise of its own estimate (interquartile
   range / sqrt(cells)): in heavy-tailed rows the estimates are noisy, and subtracting noise
   would hide blocks. The zeros a causal mask put above the diagonal
   (:mod:`izzyviz.region_mask`) are not part of the map: lines are read over the cells they
   have, the masked cells are never raised nor counted, and a row's level starts from its
   share of the row, ``1 / cells it has`` (in a decoder's prompt the first rows' few cells
   hold the whole row, and short rows have no level of their own).
2. **Levels** (:class:`Levels`). A cell whose residual is in the map's top share ``q`` is
   raised at that level, for each ``q`` of :data:`QUANTILES`: a block stands out at the level
   that matches how far it is raised, whatever the background's shape (Dirichlet rows, peaky
   softmaxes, real heads). The background's rate at a level is the share of raised cells
   outside the blocks found so far.
3. **Scan** (:func:`scan`). Windows of :func:`window_shapes` are tested with Kulldorff's
   Bernoulli likelihood ratio of their ``c`` raised cells among ``m``: one raised share inside
   the window and another outside it, against the map's (on a large map, ``m KL(c/m || rate)``;
   on a small one the cells a block leaves out are the background, and count as such). By the
   Chernoff bound, the chance that the background puts that many raised cells in a window is
   about ``exp(-ratio)``, so a window is significant when its ratio exceeds ``log(windows
   tested / FALSE_ALARM)``: on a map without blocks, with scattered background cells, all
   windows together pass with probability at most about ``FALSE_ALARM``. The bound is loose
   (overlapping windows, nested levels): none of the 324 block-free maps of the benchmark's
   tuning half at 64 and 256 tokens, sinks and bands included, gets a box. Where the
   background's raised cells clump (:func:`dispersion`), each counts as less and the ratio
   needed grows.
   A window must also have half its cells raised. Under a mask its cells are those the mask
   left (:meth:`~izzyviz.region_mask.Band.window_cells`): a phrase's tokens reading each other
   in a decoder make a triangle on the diagonal, and the mask takes the rest of its square;
   windows the mask cuts by more than half are left to smaller ones.

Cost: a few passes over the matrix (log, comparisons, one uint8 mask per level), uint8 running
sums for small windows band by band (along rows only at the rows their grid tests, and tested
only where a band's largest sum reaches the count needed), and 4 x 4 block counts for large
ones. The one matrix product (the drift's) runs on one thread: OpenBLAS's idle threads spin
after a product, and that CPU time would exceed the detector's own.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from izzyviz._matmul import single_threaded_product
from izzyviz.region_mask import Band
from izzyviz.region_ratio import MIN_SHARE, binomial_ratios, least_counts

__all__ = [
    "Band",
    "Cells",
    "Levels",
    "WindowSums",
    "block_counts",
    "dispersion",
    "residual",
    "scan",
    "unmasked",
    "window_shapes",
    "window_sizes",
]

Rect = tuple[int, int, int, int]
"""An inclusive ``(top, left, bottom, right)`` rectangle of matrix cells."""

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: Chance that a map without blocks yields any significant window.
FALSE_ALARM = 0.05
#: Shares of the map's cells raised at each level, loosest first.
QUANTILES = (0.4, 0.25, 0.1, 0.05, 0.025, 0.01, 0.004)
#: The loosest levels, kept for blocks too large for the others (more than a tenth of a small
#: map), are scanned last, loosest last: their noisy gaps would join neighbouring blocks.
LOOSE_LEVELS = 2
#: Window sides: every small one, then doubling, up to half the matrix.
SMALL_SIDES = (2, 3, 4)
#: Windows are at most this many cells a side: a larger block is found by a window inside it
#: (with thousands of cells, any raised share that matters is significant) and then grown.
MAX_SIDE = 64
#: Windows are at most this many times longer than wide.
MAX_ASPECT = 4
#: Cells of each row, column or diagonal sampled (evenly spaced) for its median.
LINE_SAMPLES = 128
#: Lines shorter than this get no effect of their own.
MIN_LINE = 16
#: A row's level is this quantile of its cells: a block may fill most of a row (a softmax
#: row holding a wide block is lower everywhere else) without raising it.
ROW_QUANTILE = 0.25
#: The local background (slow 2-D drift) comes from tiles 1/this of the map on a side, on maps
#: at least LOCAL_MIN cells on each side.
LOCAL_TILES = 4
LOCAL_MIN = 64
#: A line's effect counts when it exceeds this many noise deviations of its estimate.
EFFECT_NOISE = 3.0
#: A row's typical cell leaves out this share of its sampled cells, the brightest.
BRIGHTEST = 0.1
#: ``log(normalised value + floor)``: exact zeros stay finite.
LOG_FLOOR = 1e-6
#: The dispersion is measured only with at least this many 4 x 4 blocks and raised cells.
DISPERSION_DATA = 64


class Cells:
    """A matrix read as values in [0, 1], ``(value - low) * factor`` (shifted only if it has
    negative entries): means and deviations stay finite near the float64 limit; ``band``: the
    cells its attention mask left (:class:`~izzyviz.region_mask.Band`)."""

    def __init__(self, matrix: FloatArray) -> None:
        least = float(matrix.min())
        self.band = Band.of(matrix) if least >= 0.0 else Band.whole(matrix.shape)
        span = float(matrix.max()) / 2 - min(least, 0.0) / 2  # halved: no overflow
        if 0.0 < span < 2.0**-900:  # subnormal values: 0.5 / span would overflow
            matrix = matrix * 2.0**1000  # a power of two: relative values stay exact
            span *= 2.0**1000
            least *= 2.0**1000
        self.matrix = matrix
        self.low = min(least, 0.0)
        self.constant = not span > 0.0
        self.factor = 0.5 / span if span > 0.0 else 1.0

    def __call__(self, rect: Rect, step: int = 1) -> FloatArray:
        """The normalised values of the cells of ``rect`` the mask left (every ``step``-th row
        and column), flattened."""
        top, left, bottom, right = rect
        cells = self.matrix[top : bottom + 1 : step, left : right + 1 : step]
        if self.band.masked:
            cells = cells[self._left((top, bottom, step), np.arange(left, right + 1, step))]
        return np.asarray(cells * self.factor - self.low * self.factor, dtype=np.float64).ravel()

    def _left(self, rows: tuple[int, int, int], cols: IntArray) -> NDArray[np.bool_]:
        """Whether each cell of rows ``top`` to ``bottom`` (every ``step``-th, ``rows = (top,
        bottom, step)``) and columns ``cols`` was left by the mask."""
        top, bottom, step = rows
        at = np.arange(top, bottom + 1, step, dtype=np.int64)
        return self.band.left(at[:, None], np.asarray(cols, dtype=np.int64)[None, :])

    def typical(self, rect: Rect, step: int = 1) -> float:
        """The normalised value of a typical cell of ``rect``'s rows (every ``step``-th) outside
        it: the mean of their sampled cells (:data:`LINE_SAMPLES` evenly spaced columns) outside
        its columns and left by the mask, without each row's brightest :data:`BRIGHTEST` of
        them; 0 when there are none. The few cells holding most of a softmax row (a sink, the
        diagonal) are left out, and so is the block, which may fill most of its rows."""
        top, left, bottom, right = rect
        columns = _sampled(self.matrix.shape[1])
        columns = columns[(columns < left) | (columns > right)]
        samples = self.matrix[top : bottom + 1 : step, columns]
        if self.band.masked:
            kept = self._left((top, bottom, step), columns)
            samples = np.where(kept, samples, np.inf)  # sorted last
            counts = np.count_nonzero(kept, axis=1)
        else:
            counts = np.full(len(samples), columns.size)
        if not counts.any():
            return 0.0
        samples.sort(axis=1)
        typical = np.maximum(np.round(counts * (1.0 - BRIGHTEST)).astype(np.int64), 1)
        typical[counts == 0] = 0
        chosen = samples[np.arange(columns.size) < typical[:, None]]
        return float((chosen * self.factor).mean()) - self.low * self.factor  # no overflow


# --------------------------------------------------------------------------------------------
# 1. Background
# --------------------------------------------------------------------------------------------


def _positions(length: IntArray | int, count: int) -> IntArray:
    """``count`` evenly spaced indices into lines of ``length`` cells (one row per length)."""
    steps = np.arange(count, dtype=np.int64)
    span = np.asarray(length, dtype=np.int64)[..., None] - 1
    return (steps * span) // max(count - 1, 1)


def _effects(
    samples: NDArray[np.float32], quantile: float, two_sided: bool
) -> tuple[FloatArray, float]:
    """Per line (a row of ``samples``, ``-inf`` where it has fewer cells, such as cells a mask
    took): its ``quantile`` minus the typical line's, where that stands out from the
    estimate's own noise (interquartile range / sqrt(cells)), else 0; and the typical line's
    ``quantile``. Lines without cells get 0 and do not count for the typical one."""
    ordered = np.sort(samples, axis=1)  # SIMD: 10x np.partition's speed; -inf first
    width = samples.shape[1]
    if ordered[:, 0].min() > -np.inf:  # every line whole: the same ranks in each
        count = np.full(len(ordered), width)
        fixed = [(width - 1) // 4, int((width - 1) * quantile), 3 * (width - 1) // 4]
        q25, level, q75 = ordered[:, fixed].T
    else:
        missing = np.count_nonzero(ordered == -np.inf, axis=1)
        count = width - missing
        last = np.maximum(count - 1, 0)[:, None]
        ranks = np.hstack([last // 4, (last * quantile).astype(np.int64), 3 * last // 4])
        at = np.minimum(ranks + missing[:, None], width - 1)
        quartiles = np.take_along_axis(ordered, at, axis=1)
        quartiles[count == 0] = 0.0  # a line without cells has no level (and no -inf)
        q25, level, q75 = quartiles.T
    has = count > 0
    noise = (q75.astype(np.float64) - q25) / np.sqrt(np.maximum(count, 1))
    typical = float(np.median(level[has])) if has.any() else 0.0
    effect = np.where(has, level.astype(np.float64) - typical, 0.0)
    standing = np.abs(effect) if two_sided else effect
    return np.where(standing > EFFECT_NOISE * noise, effect, 0.0), typical


def _line_samples(values: NDArray[np.float32], band: Band, axis: int) -> NDArray[np.float32]:
    """Up to :data:`LINE_SAMPLES` evenly spaced cells of each row (``axis=0``) or column (1)
    of ``values``, from the cells the mask left of it, ``-inf`` beyond them."""
    if not band.masked:  # the same cells of every line: one gather, 8x faster
        at = _sampled(values.shape[1 - axis])
        return np.take(values, at, axis=1) if axis == 0 else np.ascontiguousarray(values[at].T)
    first, length = band.spans(axis)
    count = int(min(int(length.max()), LINE_SAMPLES))
    taken = np.minimum(length, count)
    steps = np.arange(count)
    spacing = np.maximum(length - 1, 0) / np.maximum(taken - 1, 1)  # cells between samples
    along = (steps * spacing[:, None]).astype(np.int64)
    n_cols = values.shape[1]
    lines = np.arange(len(first), dtype=np.int64)
    if axis == 0:
        at = (lines * n_cols + first)[:, None] + along
    else:
        at = (first * n_cols + lines)[:, None] + along * n_cols
    np.minimum(at, values.size - 1, out=at)  # lines without cells: any cell
    samples = values.ravel().take(at)  # 2x faster than values[rows, columns]
    samples[steps >= taken[:, None]] = -np.inf
    return samples


def unmasked(values: NDArray[np.float32]) -> NDArray[np.float32]:
    """The cells of ``values`` (residuals) the mask left: those that are not ``-inf``, as a
    flat array (or ``values`` itself, as it is, when it has no other)."""
    return values if values.size and values.min() > -np.inf else values[values > -np.inf]


def _diagonal_view(values: NDArray[np.float32], shape: tuple[int, int]) -> NDArray[np.float32]:
    """Per-diagonal values (index ``col - row + rows - 1``) laid out as the matrix (no copy)."""
    step = values.strides[0]
    return np.lib.stride_tricks.as_strided(
        values[shape[0] - 1 :], shape, (-step, step), writeable=False
    )


def _sampled(count: int) -> IntArray:
    """Indices of the cells of a line of ``count`` cells sampled for its median."""
    return np.unique(_positions(count, min(count, LINE_SAMPLES)))


def residual(cells: Cells) -> NDArray[np.float32] | None:
    """``log(value)`` minus its background: row levels, column and diagonal effects, and the
    slow 2-D drift (see the module docstring).

    Values are normalised to [0, 1] first; None for a constant matrix. A row's level is its
    lower quartile where that stands out from the other rows' (either way), else the typical
    row's; columns and diagonals (medians) only raise the background. Lines shorter than
    :data:`MIN_LINE`, and diagonals shorter than half the smaller side (a block could fill
    them), get no effect; maps under :data:`LOCAL_MIN` a side get no drift. Cells the mask
    took (``cells.band``) are ``-inf``, each line is read over the cells it has, and each
    row's values are first divided by its share, ``1 / cells it has``.
    """
    if cells.constant:
        return None
    values = np.empty(cells.matrix.shape, dtype=np.float32)
    np.multiply(cells.matrix, cells.factor, out=values, casting="unsafe")  # no float64 copy
    values -= np.float32(cells.low * cells.factor - LOG_FLOOR)
    np.maximum(values, np.float32(LOG_FLOOR), out=values)
    np.log(values, out=values)
    band = cells.band
    band.blank(values, -np.inf)
    if band.masked:  # a softmax row shares its weight among the cells it has
        values += np.log(np.maximum(band.spans(0)[1], 1)).astype(np.float32)[:, None]
    n_rows, n_cols = cells.matrix.shape
    if n_cols >= MIN_LINE:
        rows, typical = _effects(_line_samples(values, band, 0), ROW_QUANTILE, two_sided=True)
        values -= (rows + typical).astype(np.float32)[:, None]
    else:
        values -= np.float32(np.median(unmasked(values)))
    if n_rows >= MIN_LINE:
        cols, _ = _effects(_line_samples(values, band, 1), 0.5, False)
        values -= cols.astype(np.float32)[None, :]
    offsets = np.arange(-(n_rows - 1), n_cols, dtype=np.int64)
    first = np.maximum(-offsets, 0)
    lengths = np.minimum(n_rows - first, n_cols - first - offsets)
    wanted = lengths >= max(MIN_LINE, -(-min(n_rows, n_cols) // 2))
    used = np.flatnonzero(wanted & (offsets >= band.low) & (offsets <= band.high))
    if used.size:
        count = int(min(int(lengths[used].min()), LINE_SAMPLES))
        rows_at = first[used, None] + _positions(lengths[used], count)
        at = rows_at * n_cols + rows_at + offsets[used, None]  # in the flat map
        diagonal, _ = _effects(values.ravel().take(at), 0.5, False)
        per_diagonal = np.zeros(offsets.size, dtype=np.float32)
        per_diagonal[used] = diagonal
        values -= _diagonal_view(per_diagonal, (n_rows, n_cols))
    if min(n_rows, n_cols) >= LOCAL_MIN:
        drift = _local_levels(values)
        if drift is not None:
            values -= drift
    return values


def _tile_grid(length: int) -> tuple[IntArray, int]:
    """Starts of the tiles along an axis (a tile every half tile) and the tile's length."""
    tile = length // LOCAL_TILES
    return np.arange(0, length - tile + 1, max(tile // 2, 1)), tile


def _interpolation(length: int, starts: IntArray, tile: int) -> NDArray[np.float32]:
    """``(length, tiles)`` weights interpolating linearly between tile centres (flat beyond
    the outermost ones)."""
    centres = starts + (tile - 1) / 2
    weights = np.zeros((length, len(starts)), dtype=np.float32)
    position = np.clip(np.arange(length), centres[0], centres[-1])
    right = np.clip(np.searchsorted(centres, position, side="right"), 1, len(starts) - 1)
    span = centres[right] - centres[right - 1]
    fraction = (position - centres[right - 1]) / np.where(span > 0, span, 1.0)
    rows = np.arange(length)
    weights[rows, right - 1] = 1.0 - fraction
    weights[rows, right] += fraction
    return weights


def _local_levels(values: NDArray[np.float32]) -> NDArray[np.float32] | None:
    """The map's slow 2-D drift: each tile's lower quartile (tiles a quarter of the map, one
    every eighth; a block may fill most of a tile without raising it) minus the typical
    tile's, where that stands out from its own noise, interpolated between tile centres;
    None when no tile stands out."""
    row_starts, tall = _tile_grid(values.shape[0])
    col_starts, wide = _tile_grid(values.shape[1])
    dy, dx = max(1, tall // 64), max(1, wide // 64)
    samples = np.stack(
        [
            values[top : top + tall : dy, left : left + wide : dx].ravel()
            for top in row_starts
            for left in col_starts
        ]
    )
    effects, _ = _effects(samples, ROW_QUANTILE, two_sided=True)
    if not effects.any():
        return None
    grid = effects.reshape(len(row_starts), len(col_starts)).astype(np.float32)
    across = _interpolation(values.shape[1], col_starts, wide)
    down = _interpolation(values.shape[0], row_starts, tall)
    return single_threaded_product(down @ grid, np.ascontiguousarray(across.T))


# --------------------------------------------------------------------------------------------
# 2. Raised cells
# --------------------------------------------------------------------------------------------


def _below(threshold: float) -> np.float32:
    """The largest float32 not above ``threshold``: float32 values exceed the one when they
    exceed the other, and comparing in float32 spares casting the map to float64."""
    bound = np.float32(threshold)
    return np.nextafter(bound, np.float32(-np.inf)) if bound > threshold else bound


@dataclass(frozen=True, eq=False)
class Levels:
    """The cells raised at each level, and the background's rate at each.

    ``reached[i, j]`` is how many levels cell ``(i, j)`` reaches (0 to ``len(rates)``): it is
    raised at levels 1 to ``reached[i, j]``. ``rates[k - 1]`` is the share of background cells
    raised at level ``k``, decreasing with ``k``; ``size``: the cells the mask left.
    """

    reached: NDArray[np.uint8]
    rates: FloatArray
    size: int

    @property
    def count(self) -> int:
        """The number of levels."""
        return len(self.rates)

    @classmethod
    def of(cls, values: NDArray[np.float32], size: int) -> Levels | None:
        """The levels of a residual map whose ``size`` cells the mask left are not ``-inf``
        (thresholds: quantiles of an evenly spaced sample of at most 256 x 256 of those cells);
        levels raising no cell are left out; None when none is left or the loosest raises half
        the map."""
        n_rows, n_cols = values.shape
        sample = values[:: max(1, n_rows // 256), :: max(1, n_cols // 256)].ravel()
        sample = unmasked(sample)
        quantiles = [q for q in QUANTILES if q * size >= 1.0]
        if not sample.size:
            return None
        sample = np.sort(sample)  # the same quantiles, but np.quantile partitions it 3x faster
        thresholds = np.sort(np.quantile(sample, [1.0 - q for q in quantiles]))
        reached = np.zeros(values.shape, dtype=np.uint8)
        above = np.empty(values.shape, dtype=bool)
        counts = []  # cells reaching each level: thresholds are sorted
        for threshold in thresholds:
            np.greater(values, _below(threshold), out=above)
            np.add(reached, above.view(np.uint8), out=reached)
            counts.append(np.count_nonzero(above))
        rates = np.array(counts, dtype=np.int64) / size
        rates = rates[: int(np.count_nonzero(rates))]  # ties at the top empty strict levels
        if not rates.size or rates[0] >= 0.5:
            return None
        return cls(reached, rates, size)

    def rate_outside(self, raised: NDArray[np.bool_], level: int, known: list[Rect]) -> float:
        """The share of cells ``raised`` at ``level`` outside ``known`` (blocks, which never
        overlap, each widened by one cell), at least half a cell's: blocks inflate the share
        measured over the whole map and would hide small blocks."""
        if not known:
            return float(self.rates[level - 1])
        inside = cells = 0
        for top, left, bottom, right in known:
            around = raised[max(top - 1, 0) : bottom + 2, max(left - 1, 0) : right + 2]
            inside += int(np.count_nonzero(around))
            cells += around.size
        total = round(float(self.rates[level - 1]) * self.size)
        share = max(total - inside, 0) / max(self.size - cells, 1)
        return max(share, 0.5 / self.size)

    def raised(self, level: int) -> NDArray[np.bool_]:
        """The cells raised at ``level`` (1 is the loosest)."""
        return self.reached >= level


# --------------------------------------------------------------------------------------------
# 3. Scan
# --------------------------------------------------------------------------------------------


def window_sizes(length: int) -> list[int]:
    """Window sides along an axis of ``length`` cells: :data:`SMALL_SIDES`, then 8, 16, 32,
    ... up to half the axis (at least 2, at most the axis) or :data:`MAX_SIDE`."""
    top = min(length, max(2, length // 2), MAX_SIDE)
    sides = [k for k in SMALL_SIDES if k <= top]
    k = 8
    while k <= top:
        sides.append(k)
        k *= 2
    return sides


def window_shapes(shape: tuple[int, int]) -> list[tuple[int, int]]:
    """Window shapes ``(height, width)`` scanned on a map of ``shape``."""
    return [
        (h, w)
        for h in window_sizes(shape[0])
        for w in window_sizes(shape[1])
        if max(h, w) <= MAX_ASPECT * min(h, w)
    ]


#: Small windows are summed band by band, this many rows of window tops at a time (a multiple
#: of every step), so that their buffers stay small.
BAND = 512
#: On maps up to this many cells a side, small windows are tested at every position (on larger
#: ones, on a grid of steps half their sides): a block in a small map has no cells to spare.
EVERY_POSITION = 64


def steps(height: int, width: int) -> tuple[int, int]:
    """The grid steps of windows of ``height`` x ``width``: half their sides, at least 1."""
    return max(1, height // 2), max(1, width // 2)


class WindowSums:
    """Raised cells of every window of each small shape (a side of at most 4 cells, so at most
    4 x 16) in a band of a mask: uint8 running sums, first down the columns then along the
    rows, each run two shorter ones added (a power of two and the rest). Buffers are kept from
    one band to the next: a fresh array costs more in page faults than the sum that fills it.
    """

    def __init__(self) -> None:
        self.buffers: dict[tuple[int, int, int], NDArray[np.uint8]] = {}
        self.done: set[tuple[int, int, int]] = set()
        self.cells: NDArray[np.uint8] = np.zeros((0, 0), dtype=np.uint8)

    def band(self, cells: NDArray[np.uint8]) -> None:
        """Sum ``cells`` (rows of a mask, as uint8) from now on."""
        self.cells, self.done = cells, set()

    def run(self, height: int, width: int, every: int = 1) -> NDArray[np.uint8]:
        """Raised cells of every ``height`` x ``width`` window (``width`` 1: column runs) whose
        top is a multiple of ``every`` rows into the band (the others are not summed); none
        when the band is shorter than the window (the last band of a map)."""
        if height > self.cells.shape[0]:
            return np.zeros((0, max(self.cells.shape[1] - width + 1, 0)), dtype=np.uint8)
        if every > 1 and width == 1:
            return self.run(height, 1)[::every]
        if height == 1 and width == 1:
            return self.cells
        if (height, width, every) in self.done:
            return self.buffers[height, width, every]
        axis = 1 if width > 1 else 0
        length = width if axis else height
        first = 1 << ((length - 1).bit_length() - 1)
        head = self.run(*((height, first, every) if axis else (first, 1)))
        tail = self.run(*((height, length - first, every) if axis else (length - first, 1)))
        kept = head.shape[axis] - length + first
        if axis == 0:
            head, tail = head[:kept], tail[first : first + kept]
        else:
            head, tail = head[:, :kept], tail[:, first : first + kept]
        out = self.buffers.get((height, width, every))
        if out is None or out.shape != head.shape:
            out = self.buffers[height, width, every] = np.empty(head.shape, dtype=np.uint8)
        np.add(head, tail, out=out)
        self.done.add((height, width, every))
        return out


def block_counts(raised: NDArray[np.bool_]) -> NDArray[np.uint8]:
    """Raised cells in each 4 x 4 block of ``raised`` (zero-padded to whole blocks)."""
    rows, cols = raised.shape
    padded = raised.view(np.uint8)
    if rows % 4 or cols % 4:
        padded = np.zeros((-(-rows // 4) * 4, -(-cols // 4) * 4), dtype=np.uint8)
        padded[:rows, :cols] = raised
    quarter = padded[0::4] + padded[1::4] + padded[2::4] + padded[3::4]
    # Each 4 bytes of a row as one uint32: times 0x01010101, its top byte is their sum (at
    # most 16, no carries), the four columns added in one pass instead of four strided ones.
    words = np.ascontiguousarray(quarter).view(np.uint32)
    return np.asarray((words * np.uint32(0x01010101)) >> np.uint32(24), dtype=np.uint8)


def dispersion(counts: NDArray[np.uint8], band: Band, known: list[Rect]) -> float | None:
    """How clustered the background's raised cells are: 16 over the number of independent
    cells a 4 x 4 block is worth, ``log P(empty) / log(1 - rate)`` (1 for scattered cells, more
    when they clump; at least 1). Measured on whole blocks of the ``band`` the mask left that
    touch none of ``known`` and are less than half raised; None with fewer than
    :data:`DISPERSION_DATA` of them or of their raised cells."""
    full = counts[: band.shape[0] // 4, : band.shape[1] // 4]
    kept = band.blocks.copy()
    for top, left, bottom, right in known:
        kept[top // 4 : bottom // 4 + 1, left // 4 : right // 4 + 1] = False
    blocks = full[kept]
    blocks = blocks[blocks < 8]  # half-raised blocks are a block's, not the background's
    raised = int(blocks.sum(dtype=np.int64))
    if blocks.size < DISPERSION_DATA or raised < DISPERSION_DATA:
        return None
    rate = raised / (16 * blocks.size)
    empty = float(np.count_nonzero(blocks == 0)) / blocks.size
    if not 0.0 < empty < 1.0:
        return None
    return max(1.0, 16 * math.log(1.0 - rate) / math.log(empty))


def _block_integral(counts: NDArray[np.uint8]) -> NDArray[np.int32]:
    """The integral image of 4 x 4 block counts."""
    integral = np.zeros((counts.shape[0] + 1, counts.shape[1] + 1), dtype=np.int32)
    np.cumsum(counts, axis=1, dtype=np.int32, out=integral[1:, 1:])
    np.cumsum(integral, axis=0, out=integral)
    return integral


def _large_counts(
    integral: NDArray[np.int32], height: int, width: int
) -> tuple[NDArray[np.int32], int, int]:
    """Raised cells of ``height`` x ``width`` windows (multiples of 4) on a grid of steps half
    their sides, from a block integral, and the steps."""
    tall, wide = height // 4, width // 4
    dy, dx = max(1, tall // 2), max(1, wide // 2)
    rows, cols = integral.shape
    top, bottom = slice(0, rows - tall, dy), slice(tall, rows, dy)
    left, right = slice(0, cols - wide, dx), slice(wide, cols, dx)
    counts = integral[bottom, right] - integral[top, right]
    counts -= integral[bottom, left]
    counts += integral[top, left]
    return counts, 4 * dy, 4 * dx


def _hits(
    counts: NDArray[np.integer[Any]],
    least: int,
    grid: tuple[int, int, int],
    shape: tuple[int, int],
    known: list[Rect],
) -> IntArray:
    """Windows of ``shape`` whose count reaches ``least`` and that overlap none of ``known``,
    as rows ``(top, left, height, width, count)``; ``counts[i, j]`` is the window at
    ``(first + i * dy, j * dx)`` for ``grid = (first, dy, dx)``."""
    first, dy, dx = grid
    height, width = shape
    hit = counts >= least
    for r0, c0, r1, c1 in known:  # windows overlapping a known block
        low, high = max(r0 - height + 1 - first, 0), r1 - first
        if high >= 0:
            hit[-(-low // dy) : high // dy + 1,
                -(-max(c0 - width + 1, 0) // dx) : c1 // dx + 1] = False  # fmt: skip
    if not hit.any():
        return np.zeros((0, 5), dtype=np.int64)
    rows, cols = np.divmod(np.flatnonzero(hit), hit.shape[1])  # np.nonzero's order, faster
    return _window_rows(grid, shape, rows, cols, counts[rows, cols])


def _window_rows(
    grid: tuple[int, int, int],
    shape: tuple[int, int],
    rows: IntArray,
    cols: IntArray,
    counts: NDArray[np.integer[Any]],
) -> IntArray:
    """Windows of ``shape`` at ``(rows, cols)`` of a ``grid`` ``(first, dy, dx)`` holding
    ``counts`` raised cells, as rows ``(top, left, height, width, count)``."""
    first, dy, dx = grid
    return np.column_stack(
        [first + rows * dy, cols * dx, np.full(rows.size, shape[0]), np.full(rows.size, shape[1]),
         counts]
    ).astype(np.int64)  # fmt: skip


def _least_cut(shape: tuple[int, int], by_cells: dict[int, int | None]) -> int | None:
    """The fewest raised cells a window of ``shape`` the mask cuts by at most half could be
    significant with (None: none), from the least counts of windows of each size
    (``by_cells``, :func:`~izzyviz.region_ratio.least_counts`; small windows), or a bound:
    :data:`MIN_SHARE` of half its cells (large ones)."""
    cells = shape[0] * shape[1]
    if cells > SMALL_SIDES[-1] ** 2:
        return math.ceil(MIN_SHARE * cells / 2)
    counts = [by_cells[size] for size in range(-(-cells // 2), cells)]
    return min((count for count in counts if count is not None), default=None)


@functools.lru_cache(maxsize=256)
def _cut_positions(
    band: Band, grid: tuple[int, int, int], shape: tuple[int, int], size: tuple[int, int]
) -> tuple[IntArray, IntArray, IntArray]:
    """The windows of ``shape`` the mask cuts, at most by half, among ``size`` windows on
    ``grid`` (as for :func:`_hits`): their rows and columns in the grid, and the cells each
    keeps. The same on every level: kept from one to the next."""
    first, dy, dx = grid
    height, width = shape
    # Offsets left - top of the windows across the band's edges, with the cells they keep.
    offsets = np.arange(band.low - width + 1, band.high + height, dtype=np.int64)
    cells = band.window_cells(np.zeros_like(offsets), offsets, height, width)
    cut = np.flatnonzero((cells < height * width) & (2 * cells >= height * width))
    offsets, cells = offsets[cut], cells[cut]
    lefts = (first + np.arange(size[0], dtype=np.int64) * dy)[:, None] + offsets[None, :]
    on_grid = (lefts % dx == 0) & (lefts >= 0) & (lefts < size[1] * dx)
    row, which = np.nonzero(on_grid)
    return row, lefts[row, which] // dx, cells[which]


def _cut(
    counts: NDArray[np.integer[Any]],
    grid: tuple[int, int, int],
    shape: tuple[int, int],
    band: Band,
    reach: tuple[float, float, int],
) -> IntArray:
    """Windows of ``shape`` the mask cuts (at most half their cells taken; a window that loses
    more is a smaller one's) that are significant over the cells they have and do not reach
    ``plain``, the count that makes a whole window significant (:func:`_hits` finds those), as
    :func:`_hits` gives them; ``reach = (rate, critical, plain)``. ``counts`` and ``grid`` as
    for :func:`_hits`. A block on a causal diagonal is a triangle: half its square is masked."""
    row, col, cells = _cut_positions(band, grid, shape, counts.shape)
    count = counts[row, col].astype(np.int64)
    rate, critical, plain = reach
    kept = np.flatnonzero((count >= MIN_SHARE * cells) & (count < plain))
    if not kept.size:
        return np.zeros((0, 5), dtype=np.int64)
    ratios = binomial_ratios(count[kept], cells[kept], rate, band.size)
    kept = kept[ratios >= critical]
    return _window_rows(grid, shape, row[kept], col[kept], count[kept])


def _clear_of(windows: IntArray, known: list[Rect]) -> IntArray:
    """The ``windows`` (rows ``(top, left, height, width, ...)``) that overlap none of
    ``known``."""
    if not known or not windows.size:
        return windows
    top, left, height, width = windows[:, :4].T
    clear = np.ones(len(windows), dtype=bool)
    for r0, c0, r1, c1 in known:
        clear &= (top > r1) | (top + height <= r0) | (left > c1) | (left + width <= c0)
    return windows[clear]


@dataclass(frozen=True)
class _Windows:
    """The windows of one ``shape`` on a ``grid`` ``(first, dy, dx)`` (as for :func:`_hits`):
    ``least``, the raised cells a whole window needs and a window the mask cuts by half (None:
    none can be significant); ``most``, the most any holds (None: not counted yet)."""

    grid: tuple[int, int, int]
    shape: tuple[int, int]
    least: tuple[int, int | None]
    most: int | None = None

    def of(
        self,
        counts: NDArray[np.integer[Any]],
        band: Band,
        level: tuple[float, float],
        known: list[Rect],
    ) -> list[IntArray]:
        """Those of ``counts`` significant at ``level = (rate, critical)`` and overlapping none
        of ``known``, as :func:`_hits` gives them: whole windows, and on a masked ``band`` the
        windows it cuts (:func:`_cut`)."""
        whole, cut = self.least
        most = self.most if self.most is not None or cut is None else int(counts.max())
        found = []
        if most is None or most >= whole:
            found.append(_hits(counts, whole, self.grid, self.shape, known))
        if cut is not None and most is not None and most >= cut:
            windows = _cut(counts, self.grid, self.shape, band, (*level, whole))
            found.append(_clear_of(windows, known))
        return found


def scan(
    raised: NDArray[np.bool_],
    counts4: NDArray[np.uint8],
    rate: float,
    shapes: list[tuple[int, int]],
    critical: float,
    known: list[Rect],
    sums: WindowSums,
    band: Band,
) -> tuple[IntArray, FloatArray]:
    """The significant windows of one level that overlap none of ``known``, as rows ``(top,
    left, height, width)``, and their binomial ratios: at least :data:`MIN_SHARE` of their
    cells ``raised`` and a ratio against ``rate`` of at least ``critical``. Windows are on a
    grid of steps half their sides (small windows at every position on maps up to
    :data:`EVERY_POSITION` cells a side); ``counts4`` are ``raised``'s 4 x 4 block counts;
    ``band``: the cells the mask left (a band of rows is summed only as far right as its cells
    go)."""
    total = band.size
    by_cells = least_counts(
        [h * w for h, w in shapes] + (list(range(1, SMALL_SIDES[-1] ** 2)) if band.masked else []),
        rate,
        critical,
        total,
    )
    wanted = [
        ((h, w), (whole, _least_cut((h, w), by_cells) if band.masked else None))
        for h, w in shapes
        if (whole := by_cells[h * w]) is not None
    ]
    small = [(shape, count) for shape, count in wanted if min(shape) <= SMALL_SIDES[-1]]
    large = [(shape, count) for shape, count in wanted if min(shape) > SMALL_SIDES[-1]]
    found: list[IntArray] = []
    mask = raised.view(np.uint8)
    if known:  # windows overlapping none of them hold none of their cells
        mask = mask.copy()
        for top, left, bottom, right in known:
            mask[top : bottom + 1, left : right + 1] = 0
    n_rows = raised.shape[0]
    reach = max((shape[0] for shape, _ in small), default=1) - 1
    wide = max((shape[1] for shape, _ in small), default=1) - 1
    for first in range(0, n_rows, BAND) if small else ():
        right = first + BAND + reach + band.high + wide  # windows beyond hold no cell left
        sums.band(mask[first : min(first + BAND + reach, n_rows), : max(right, 0)])
        for (height, width), count in small:
            dy, dx = (1, 1) if max(raised.shape) <= EVERY_POSITION else steps(height, width)
            runs = sums.run(height, width, dy)[: -(-BAND // dy)]
            if runs.size:  # one pass for the most: most bands hold no hit
                shape = _Windows((first, dy, dx), (height, width), count, int(runs.max()))
                found += shape.of(runs[:, ::dx], band, (rate, critical), known)
    integral = _block_integral(counts4) if large else None
    for (height, width), count in large:
        assert integral is not None
        counts, dy, dx = _large_counts(integral, height, width)
        shape = _Windows((0, dy, dx), (height, width), count)
        found += shape.of(counts, band, (rate, critical), known)
    windows = np.concatenate(found) if found else np.zeros((0, 5), dtype=np.int64)
    cells = band.window_cells(*windows[:, :4].T)
    return windows[:, :4], binomial_ratios(windows[:, 4], cells, rate, total)
