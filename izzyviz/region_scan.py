"""The evidence behind region detection: which rectangles of a map are raised as a whole.

:func:`find_blocks` is used by :func:`izzyviz.regions.find_attention_regions_with_merging`.
It treats a map the way scan statistics treat a spatial point pattern (Kulldorff 1997; Neill &
Moore 2004): a block is a rectangle holding more raised cells than the map's own background
explains, which one heavy-tailed cell never does, however large.

1. **Background** (:func:`residual`). In ``log(value)``: each row's level (rows are softmaxes),
   each column's effect (an attention sink every row attends to) and each diagonal's effect (a
   positional band), as medians of up to 256 cells per line. An effect is kept only when it
   exceeds three times the noise of its own median (interquartile range / sqrt(cells)): in
   heavy-tailed rows a median is noisy, and subtracting noise would hide blocks.
2. **Raised cells** (:class:`Level`). At each quantile ``q`` of :data:`QUANTILES`, the cells
   whose residual is in the map's top ``q`` are raised; ``rate`` is the share of raised cells
   outside the blocks found so far (the background's rate). Counts over any rectangle come from
   an integral image in four look-ups.
3. **Scan.** Windows of :func:`window_sizes` on a grid of half their size are tested with the
   binomial likelihood ratio ``m KL(c/m || rate)`` (``c`` raised of ``m`` cells). By the
   Chernoff bound, the chance that the background puts that many raised cells in a given window
   is at most ``exp(-ratio)``, so a window is significant when its ratio exceeds
   ``log(windows tested / FALSE_ALARM)``: on a map with no block, all windows together pass
   with probability at most ``FALSE_ALARM``.
4. **Fit.** Significant windows are taken strongest first, skipping those that overlap one
   taken. Each is fitted to a rectangle with the same statistic on single rows and columns: a
   line the background explains better than the block, by a likelihood ratio of 100, splits
   it (two blocks side by side) or is cut away; the edges then move to where a line's share of
   raised cells falls below ``expansion_threshold`` times the block's, looking up to
   ``max_expansion_steps`` lines ahead. A fitted rectangle must span two rows and two columns
   and pass the window test itself.
5. The background's rate is measured again outside the blocks found and the scan repeated once:
   many strong blocks would otherwise inflate it and hide small ones.

Why this rejects 1-D structures: full-length sinks and bands are background (step 1). What is
left of a partial one is a line one cell wide: a window across it holds one raised column (or
diagonal) among unraised ones, and the fit cuts the unraised lines away, leaving a rectangle one
cell wide, which is not a block; a band's cells fill no window beyond its width.

Cost: a few passes over the matrix (log, comparisons, one integral image per quantile) and
strided window sums whose number shrinks with the window's area.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["Cells", "Level", "find_blocks", "residual", "window_sizes"]

Rect = tuple[int, int, int, int]
"""An inclusive ``(top, left, bottom, right)`` rectangle of matrix cells."""

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: Chance that a map without blocks yields any significant window.
FALSE_ALARM = 0.25
#: Shares of the map's cells raised at each level, loosest first.
QUANTILES = (0.1, 0.03, 0.01, 0.003)
#: Window sides: every small one, then doubling, up to half the matrix.
SMALL_SIDES = (2, 3, 4, 6)
#: Windows are at most this many times longer than wide.
MAX_ASPECT = 4
#: A line splits a rectangle when the background explains it this much better (log units).
SPLIT_EVIDENCE = math.log(100.0)
#: Cells of each row, column or diagonal sampled (evenly spaced) for its median.
LINE_SAMPLES = 256
#: Lines shorter than this get no effect of their own.
MIN_LINE = 8
#: A line's effect counts when it exceeds this many noise deviations of its median.
EFFECT_NOISE = 3.0
#: ``log(normalised value + floor)``: exact zeros stay finite.
LOG_FLOOR = 1e-6
#: Densities used in the line rule stay inside (rate, this).
MAX_DENSITY = 0.95
#: A block has at least this share of its cells raised (a window at least this share too).
MIN_SHARE = 0.5
#: A block's mean is at least this many times the mean of the ring of cells around it.
CONTRAST = 3.0
#: Width of that ring, in cells.
RING = 2
#: A rectangle whose columns, rows or diagonals hold, outside it, at least this fraction of its
#: own raised share is a piece of a line (a sink, a band), not a block.
CONTINUES = 1 / 3


class Cells:
    """A matrix read as values in [0, 1], ``(value - low) * factor`` (shifted only if it has
    negative entries): means and deviations stay finite near the float64 limit."""

    def __init__(self, matrix: FloatArray) -> None:
        self.matrix = matrix
        self.low = min(float(matrix.min()), 0.0)
        span = float(matrix.max()) / 2 - self.low / 2  # halved: no overflow
        self.constant = not span > 0.0
        self.factor = 0.5 / span if span > 0.0 else 1.0

    def __call__(self, rect: Rect) -> FloatArray:
        """The normalised values of the cells of ``rect``."""
        top, left, bottom, right = rect
        cells = self.matrix[top : bottom + 1, left : right + 1]
        return np.asarray(cells * self.factor - self.low * self.factor, dtype=np.float64)

    @cached_property
    def mean(self) -> float:
        """The normalised value of the average cell."""
        return float(np.mean(self.matrix * self.factor)) - self.low * self.factor

    def stands_out(self, rect: Rect) -> bool:
        """Whether ``rect`` holds more than the average cell and at least :data:`CONTRAST`
        times the mean of the :data:`RING` cells around it (normalised values)."""
        top, left, bottom, right = rect
        rows, cols = self.matrix.shape
        around = (max(top - RING, 0), max(left - RING, 0),
                  min(bottom + RING, rows - 1), min(right + RING, cols - 1))  # fmt: skip
        inside, outside = self(rect), self(around)
        ring_cells = outside.size - inside.size
        mean = float(inside.mean())
        if mean <= self.mean:
            return False
        return not ring_cells or mean * ring_cells >= CONTRAST * (outside.sum() - inside.sum())


# --------------------------------------------------------------------------------------------
# 1. Background
# --------------------------------------------------------------------------------------------


def _positions(length: IntArray | int, count: int) -> IntArray:
    """``count`` evenly spaced indices into lines of ``length`` cells (one row per length)."""
    steps = np.arange(count, dtype=np.int64)
    span = np.asarray(length, dtype=np.int64)[..., None] - 1
    return (steps * span) // max(count - 1, 1)


def _effects(samples: NDArray[np.float32], two_sided: bool) -> tuple[FloatArray, float]:
    """Per line (a row of ``samples``): its median minus the typical line's, where that stands
    out from the median's own noise (interquartile range / sqrt(samples)), else 0; and the
    typical line's median."""
    count = samples.shape[1]
    ranks = ((count - 1) // 4, (count - 1) // 2, 3 * (count - 1) // 4)
    q25, median, q75 = np.partition(samples, ranks, axis=1)[:, ranks].T.astype(np.float64)
    noise = (q75 - q25) / math.sqrt(count)
    typical = float(np.median(median))
    effect = median - typical
    standing = np.abs(effect) if two_sided else effect
    return np.where(standing > EFFECT_NOISE * noise, effect, 0.0), typical


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
    """``log(value)`` minus its background: row levels, column and diagonal effects.

    Values are normalised to [0, 1] first; None for a constant matrix. A row's level is its
    median where that stands out from the other rows' (either way), else the typical row's;
    columns and diagonals only raise the background. Lines shorter than :data:`MIN_LINE`, and
    diagonals shorter than half the smaller side (a block could fill them), get no effect.
    """
    if cells.constant:
        return None
    values = (cells.matrix * cells.factor).astype(np.float32)
    values -= np.float32(cells.low * cells.factor - LOG_FLOOR)
    np.maximum(values, np.float32(LOG_FLOOR), out=values)
    np.log(values, out=values)
    n_rows, n_cols = values.shape
    if n_cols >= MIN_LINE:
        rows, typical = _effects(values[:, _sampled(n_cols)], two_sided=True)
        values -= (rows + typical).astype(np.float32)[:, None]
    else:
        values -= np.float32(np.median(values))
    if n_rows >= MIN_LINE:
        cols, _ = _effects(values[_sampled(n_rows)].T, two_sided=False)
        values -= cols.astype(np.float32)[None, :]
    offsets = np.arange(-(n_rows - 1), n_cols, dtype=np.int64)
    first = np.maximum(-offsets, 0)
    lengths = np.minimum(n_rows - first, n_cols - first - offsets)
    used = np.flatnonzero(lengths >= max(MIN_LINE, -(-min(n_rows, n_cols) // 2)))
    if used.size:
        count = int(min(int(lengths[used].min()), LINE_SAMPLES))
        rows_at = first[used, None] + _positions(lengths[used], count)
        diagonal, _ = _effects(values[rows_at, rows_at + offsets[used, None]], two_sided=False)
        per_diagonal = np.zeros(offsets.size, dtype=np.float32)
        per_diagonal[used] = diagonal
        values -= _diagonal_view(per_diagonal, (n_rows, n_cols))
    return values


# --------------------------------------------------------------------------------------------
# 2. Raised cells
# --------------------------------------------------------------------------------------------


def _ratios(counts: FloatArray, cells: FloatArray, rates: FloatArray) -> FloatArray:
    """Binomial log-likelihood ratios ``cells * KL(counts / cells || rates)``, 0 where the
    share is not above the rate (elementwise)."""
    share = counts / cells
    with np.errstate(divide="ignore", invalid="ignore"):
        raised = np.where(share > 0.0, share * np.log(share / rates), 0.0)
        plain = np.where(share < 1.0, (1.0 - share) * np.log((1.0 - share) / (1.0 - rates)), 0.0)
    return np.where(share > rates, cells * (raised + plain), 0.0)


@dataclass(frozen=True, eq=False)
class Level:
    """The cells raised at one threshold, and the background's rate: the share of raised cells
    it puts anywhere, in (0, 1)."""

    raised: NDArray[np.bool_]
    rate: float

    def count(self, rect: Rect) -> int:
        """Raised cells in ``rect``."""
        top, left, bottom, right = rect
        return int(np.count_nonzero(self.raised[top : bottom + 1, left : right + 1]))

    def lines(self, rect: Rect, axis: int) -> tuple[IntArray, int]:
        """Raised cells in each row (``axis=0``) or column (1) of ``rect``, and its length."""
        top, left, bottom, right = rect
        cells = self.raised[top : bottom + 1, left : right + 1]
        return cells.sum(axis=1 - axis, dtype=np.int64), cells.shape[1 - axis]

    @cached_property
    def _totals(self) -> tuple[IntArray, IntArray, IntArray]:
        """Running totals of raised cells over rows, columns and diagonals (``col - row +
        rows - 1``), each with a leading 0."""
        n_rows, n_cols = self.raised.shape
        rows, cols = np.nonzero(self.raised)
        per_diagonal = np.bincount(cols - rows + n_rows - 1, minlength=n_rows + n_cols - 1)
        return tuple(
            np.concatenate([[0], np.cumsum(totals)])
            for totals in (self.raised.sum(axis=1), self.raised.sum(axis=0), per_diagonal)
        )  # type: ignore[return-value]

    def continues(self, rect: Rect) -> bool:
        """Whether ``rect`` is a piece of a line: the rest of its columns, of its rows or of its
        diagonals holds at least :data:`CONTINUES` times its own share of raised cells."""
        top, left, bottom, right = rect
        n_rows, n_cols = self.raised.shape
        inside, cells = self.count(rect), _cells(rect)
        rows, cols, diagonals = self._totals
        first, last = left - bottom + n_rows - 1, right - top + n_rows - 1
        offsets = np.arange(first - n_rows + 1, last - n_rows + 2)
        lengths = np.minimum(n_rows, n_rows - offsets) - np.maximum(0, -offsets)
        lengths = np.minimum(lengths, n_cols - np.maximum(offsets, 0))
        lines = (
            (cols[right + 1] - cols[left], n_rows * (right - left + 1)),
            (rows[bottom + 1] - rows[top], n_cols * (bottom - top + 1)),
            (diagonals[last + 1] - diagonals[first], int(lengths.sum())),
        )
        return any(
            total - inside >= CONTINUES * inside / cells * (length - cells)
            for total, length in lines
            if length > cells
        )

    def ratio(self, count: int, cells: int) -> float:
        """The binomial log-likelihood ratio of ``count`` raised cells among ``cells``: how much
        better a raised share of ``count / cells`` explains them than the background's rate (0
        when they are not above it)."""
        share, rate = count / cells, self.rate
        if share <= rate:
            return 0.0
        plain = (1.0 - share) * math.log((1.0 - share) / (1.0 - rate)) if share < 1.0 else 0.0
        return cells * (share * math.log(share / rate) + plain)

    def least_count(self, cells: int, critical: float) -> int | None:
        """The fewest raised cells among ``cells`` whose ratio reaches ``critical`` (None if even
        all of them do not): the ratio grows with the count, so a bisection finds it."""
        if cells * -math.log(self.rate) < critical:
            return None
        low, high = int(cells * self.rate), cells
        while high - low > 1:
            middle = (low + high) // 2
            low, high = (low, middle) if self.ratio(middle, cells) >= critical else (middle, high)
        return high


def _levels(values: NDArray[np.float32]) -> list[Level]:
    """The cells raised at each of :data:`QUANTILES` (thresholds from an evenly spaced sample
    of at most 256 x 256 cells), rates their shares; levels raising no cell or half the map
    are left out."""
    n_rows, n_cols = values.shape
    sample = values[:: max(1, n_rows // 256), :: max(1, n_cols // 256)].ravel()
    levels = []
    for threshold in np.quantile(sample, [1.0 - q for q in QUANTILES]):
        raised = values > threshold
        rate = np.count_nonzero(raised) / raised.size
        if 0.0 < rate < 0.5:
            levels.append(Level(raised, rate))
    return levels


# --------------------------------------------------------------------------------------------
# 3. Scan
# --------------------------------------------------------------------------------------------


def window_sizes(length: int) -> list[int]:
    """Window sides along an axis of ``length`` cells: :data:`SMALL_SIDES`, then 8, 16, 32,
    ... up to half the axis (at least 2, at most the axis)."""
    top = min(length, max(2, length // 2))
    sides = [k for k in SMALL_SIDES if k <= top]
    k = 8
    while k <= top:
        sides.append(k)
        k *= 2
    return sides


def _shapes(shape: tuple[int, int]) -> list[tuple[int, int]]:
    """Window shapes ``(height, width)`` scanned on a map of ``shape``."""
    return [
        (h, w)
        for h in window_sizes(shape[0])
        for w in window_sizes(shape[1])
        if max(h, w) <= MAX_ASPECT * min(h, w)
    ]


class _RunningSums:
    """Raised cells in windows of a mask, for every window of each shape.

    Windows with a side of at most 6 cells (at most 6 x 24 or 24 x 6 cells) are uint8 running
    sums, first down the columns then along the rows, each run the sum of two shorter cached
    ones; larger windows (both sides 8 or more, multiples of 4) come from an integral image of
    the mask's 4 x 4 block counts. Either way only windows on a grid of steps half their sides
    are returned.
    """

    def __init__(self, raised: NDArray[np.bool_]) -> None:
        self.cells = raised.view(np.uint8)
        self.cache: dict[tuple[int, int], NDArray[np.uint8]] = {}
        rows, cols = raised.shape
        padded = np.zeros((-(-rows // 4) * 4, -(-cols // 4) * 4), dtype=np.uint8)
        padded[:rows, :cols] = self.cells
        blocks = padded[0::4] + padded[1::4] + padded[2::4] + padded[3::4]
        blocks = blocks[:, 0::4] + blocks[:, 1::4] + blocks[:, 2::4] + blocks[:, 3::4]
        self.integral = np.zeros((blocks.shape[0] + 1, blocks.shape[1] + 1), dtype=np.int32)
        np.cumsum(blocks, axis=1, dtype=np.int32, out=self.integral[1:, 1:])
        np.cumsum(self.integral, axis=0, out=self.integral)

    def _run(self, height: int, width: int) -> NDArray[np.uint8]:
        """Raised cells of every ``height`` x ``width`` window (``width`` 1: column runs).
        A run is two shorter cached ones added: a power of two and the rest."""
        if (height, width) in self.cache:
            return self.cache[height, width]
        if height == 1 and width == 1:
            return self.cells
        axis = 1 if width > 1 else 0
        length = width if axis else height
        first = 1 << ((length - 1).bit_length() - 1)
        shorter = (height, first) if axis else (first, 1)
        rest = (height, length - first) if axis else (length - first, 1)
        head, tail = self._run(*shorter), self._run(*rest)
        kept = head.shape[axis] - length + first
        if axis == 0:
            total = head[:kept] + tail[first : first + kept]
        else:
            total = head[:, :kept] + tail[:, first : first + kept]
        self.cache[height, width] = total
        return total

    def counts(self, height: int, width: int) -> tuple[NDArray[np.integer[Any]], int, int]:
        """Raised cells of the windows of one shape and the grid's steps (rows, columns):
        ``counts[i, j]`` is the window whose top-left cell is ``(i * step_y, j * step_x)``."""
        dy, dx = max(1, height // 2), max(1, width // 2)
        if min(height, width) <= SMALL_SIDES[-1]:
            return self._run(height, width)[::dy, ::dx], dy, dx
        s = self.integral
        tall, wide, dy, dx = height // 4, width // 4, dy // 4, dx // 4
        top, bottom = slice(0, s.shape[0] - tall, dy), slice(tall, s.shape[0], dy)
        left, right = slice(0, s.shape[1] - wide, dx), slice(wide, s.shape[1], dx)
        counts = s[bottom, right] - s[top, right]
        counts -= s[bottom, left]
        counts += s[top, left]
        return counts, 4 * dy, 4 * dx


def _scan(
    levels: list[Level], shapes: list[tuple[int, int]], critical: float, known: list[Rect]
) -> IntArray:
    """Significant windows that overlap none of ``known``, as rows ``(count, top, left,
    height, width, level)``, on a grid of steps half their sides (at least one cell)."""
    found = []
    for index, level in enumerate(levels):
        sums = _RunningSums(level.raised)
        for height, width in shapes:
            least = level.least_count(height * width, critical)
            if least is None:
                continue
            least = max(least, math.ceil(MIN_SHARE * height * width))
            counts, dy, dx = sums.counts(height, width)
            hit = counts >= least
            for top, left, bottom, right in known:  # windows overlapping a known block
                hit[max(top - height + 1, 0) // dy : bottom // dy + 1,
                    max(left - width + 1, 0) // dx : right // dx + 1] = False  # fmt: skip
            if hit.any():
                rows, cols = np.nonzero(hit)
                found.append(
                    np.column_stack(
                        [counts[rows, cols], rows * dy, cols * dx]
                        + [np.full(rows.size, v) for v in (height, width, index)]
                    ).astype(np.int64)
                )
    return np.concatenate(found) if found else np.zeros((0, 6), dtype=np.int64)


def _strongest_apart(ratios: FloatArray, windows: IntArray) -> list[int]:
    """Indices of ``windows`` taken strongest first (ties by position), each skipping those
    that overlap one already taken (non-maximum suppression)."""
    top, left, height, width = windows[:, 1], windows[:, 2], windows[:, 3], windows[:, 4]
    bottom, right = top + height - 1, left + width - 1
    free = np.ones(len(windows), dtype=bool)
    taken = []
    for i in np.lexsort((left, top, -ratios)).tolist():
        if free[i]:
            taken.append(i)
            free &= (top > bottom[i]) | (top[i] > bottom) | (left > right[i]) | (left[i] > right)
    return taken


# --------------------------------------------------------------------------------------------
# 4. Fit
# --------------------------------------------------------------------------------------------


def _split(level: Level, rect: Rect, density: float) -> list[Rect]:
    """``rect`` without the lines the background explains better than a block of raised share
    ``density``: while some line is explained better by :data:`SPLIT_EVIDENCE`, the strongest
    such is removed (splitting the rectangle in two); then edge lines explained better at all
    are cut away."""
    rate = level.rate
    share = min(max(density, 1.5 * rate), MAX_DENSITY)
    raised_weight, plain_weight = math.log(share / rate), math.log((1 - rate) / (1 - share))
    done, todo = [], [rect]
    while todo:
        top, left, bottom, right = rect = todo.pop()
        if bottom < top or right < left:
            continue
        evidence = []
        for axis in (0, 1):
            counts, length = level.lines(rect, axis)
            evidence.append(counts * raised_weight - (length - counts) * plain_weight)
        axis = int(evidence[1].min() < evidence[0].min())
        worst = int(np.argmin(evidence[axis]))
        if evidence[axis][worst] < -SPLIT_EVIDENCE:
            first, second = _cut(rect, axis, worst)
            todo += [first, second]
            continue
        kept = [np.flatnonzero(e > 0) for e in evidence]
        if not kept[0].size or not kept[1].size:
            continue
        trimmed = (
            top + int(kept[0][0]), left + int(kept[1][0]),
            top + int(kept[0][-1]), left + int(kept[1][-1]),
        )  # fmt: skip
        (done if trimmed == rect else todo).append(trimmed)
    return done


def _cut(rect: Rect, axis: int, index: int) -> tuple[Rect, Rect]:
    """The two parts of ``rect`` on either side of its row (``axis=0``) or column ``index``."""
    top, left, bottom, right = rect
    if axis == 0:
        return (top, left, top + index - 1, right), (top + index + 1, left, bottom, right)
    return (top, left, bottom, left + index - 1), (top, left + index + 1, bottom, right)


def _cells(rect: Rect) -> int:
    return (rect[2] - rect[0] + 1) * (rect[3] - rect[1] + 1)


def _outside(rect: Rect, side: int, lines: int) -> Rect:
    """The ``lines`` rows or columns just outside ``rect`` on ``side`` (0 top, 1 bottom, 2
    left, 3 right)."""
    top, left, bottom, right = rect
    return (
        (top - lines, left, top - 1, right),
        (bottom + 1, left, bottom + lines, right),
        (top, left - lines, bottom, left - 1),
        (top, right + 1, bottom, right + lines),
    )[side]


def _inside(rect: Rect, side: int, lines: int) -> Rect:
    """The ``lines`` outermost rows or columns of ``rect`` on ``side``; with ``lines < 0``,
    ``rect`` without its ``-lines`` outermost ones there."""
    top, left, bottom, right = rect
    if lines < 0:
        return (
            (top - lines, left, bottom, right),
            (top, left, bottom + lines, right),
            (top, left - lines, bottom, right),
            (top, left, bottom, right + lines),
        )[side]
    return (
        (top, left, top + lines - 1, right),
        (bottom - lines + 1, left, bottom, right),
        (top, left, bottom, left + lines - 1),
        (top, right - lines + 1, bottom, right),
    )[side]


def _union(a: Rect, b: Rect) -> Rect:
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


def _edges(level: Level, rect: Rect, least: float, steps: int, shape: tuple[int, int]) -> Rect:
    """``rect`` with its edges where the raised share of lines falls below ``least``, looking
    ``steps`` lines ahead (at least one): an edge line is cut away while it and the lines
    behind it, 1 to ``steps`` of them taken together, all stay below ``least``; then an edge
    moves out over the next 1 to ``steps`` lines as soon as together they reach it."""
    reach = max(steps, 1)
    for side in range(4):
        axis = side // 2
        while rect[2 + axis] > rect[axis]:
            depth = min(reach, rect[2 + axis] - rect[axis])
            inner = [_inside(rect, side, lines) for lines in range(1, depth + 1)]
            if any(level.count(strip) >= least * _cells(strip) for strip in inner):
                break
            rect = _inside(rect, side, -1)
    grown = True
    while grown:
        grown = False
        for side in range(4):
            for lines in range(1, steps + 1):
                strip = _outside(rect, side, lines)
                if min(strip[:2]) < 0 or strip[2] >= shape[0] or strip[3] >= shape[1]:
                    break
                if level.count(strip) >= least * _cells(strip):
                    rect, grown = _union(rect, strip), True
                    break
    return rect


@dataclass(frozen=True)
class _Search:
    """What every fit of one map shares: its shape, the window shapes scanned, the critical
    ratio, and the edge rule's parameters."""

    shape: tuple[int, int]
    shapes: list[tuple[int, int]]
    critical: float
    cells: Cells
    expansion_threshold: float
    max_expansion_steps: int


def _fit(level: Level, window: Rect, search: _Search) -> list[tuple[float, Rect]]:
    """Blocks fitted from a significant ``window``: split at background lines, edges moved by
    the edge rule, each kept if two rows and two columns wide and significant itself."""
    fitted = []
    for part in _split(level, window, level.count(window) / _cells(window)):
        least = search.expansion_threshold * level.count(part) / _cells(part)
        rect = _edges(level, part, least, search.max_expansion_steps, search.shape)
        top, left, bottom, right = rect
        count = level.count(rect)
        ratio = level.ratio(count, _cells(rect))
        if (
            bottom > top
            and right > left
            and count >= MIN_SHARE * _cells(rect)
            and ratio >= search.critical
            and search.cells.stands_out(rect)
            and not level.continues(rect)
        ):
            fitted.append((ratio, rect))
    return fitted


def _overlap(a: Rect, b: Rect) -> bool:
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


def _find(levels: list[Level], search: _Search, known: list[Rect]) -> list[Rect]:
    """Blocks fitted from the significant windows that overlap none of ``known``, strongest
    first, none overlapping another."""
    windows = _scan(levels, search.shapes, search.critical, known)
    rates = np.array([level.rate for level in levels])[windows[:, 5]]
    cells = (windows[:, 3] * windows[:, 4]).astype(np.float64)
    ratios = _ratios(windows[:, 0].astype(np.float64), cells, rates)
    fitted: list[tuple[float, Rect]] = []
    for i in _strongest_apart(ratios, windows):
        _, top, left, height, width, index = windows[i].tolist()
        bottom = min(top + height, search.shape[0]) - 1
        window = (top, left, bottom, min(left + width, search.shape[1]) - 1)
        fitted += _fit(levels[index], window, search)
    fitted.sort(key=lambda item: (-item[0], item[1]))
    blocks: list[Rect] = []
    for _, rect in fitted:
        if not any(_overlap(rect, other) for other in blocks + known):
            blocks.append(rect)
    return blocks


def find_blocks(cells: Cells, expansion_threshold: float, max_expansion_steps: int) -> list[Rect]:
    """Rectangles of a matrix raised as a whole above its background, strongest first.

    See the module docstring; ``expansion_threshold`` and ``max_expansion_steps`` are the
    edge rule's share (a fraction of the block's raised share) and look-ahead (in lines).
    """
    shape = cells.matrix.shape
    values = residual(cells) if min(shape) >= 2 else None
    levels = _levels(values) if values is not None else []
    shapes = _shapes(shape)
    if not levels or not shapes:
        return []
    tests = len(levels) * len(shapes) * cells.matrix.size
    search = _Search(
        shape, shapes, math.log(tests / FALSE_ALARM), cells,
        expansion_threshold, max_expansion_steps,
    )  # fmt: skip
    blocks = _find(levels, search, [])
    if blocks:
        outside = np.ones(shape, dtype=bool)
        for top, left, bottom, right in blocks:
            outside[max(top - 1, 0) : bottom + 2, max(left - 1, 0) : right + 2] = False
        kept = max(int(np.count_nonzero(outside)), 1)
        floor = 0.5 / cells.matrix.size
        again = [
            Level(level.raised, max(np.count_nonzero(level.raised & outside) / kept, floor))
            for level in levels
        ]
        blocks += _find(again, search, blocks)
    return blocks
