"""Rectangles fitted to significant windows: the blocks of a map.

:func:`find_blocks` is the detector behind
:func:`izzyviz.regions.find_attention_regions_with_merging`; :mod:`izzyviz.region_scan` finds
the windows that hold more raised cells than the background explains. Levels are taken one at
a time, from a tenth of the cells raised to the strictest, then the two loosest (they are for
blocks too large for the others, and their noisy gaps would join neighbouring blocks); each
level's background rate is measured outside the blocks already found, and its windows may not
overlap them.

1. Significant windows are taken strongest first (highest binomial ratio), each skipping those
   that overlap one already taken.
2. **Split.** A run of rows or columns the background explains better than the window's raised
   share, together by a likelihood ratio of 100, splits it (two blocks side by side, or a block
   and background) when a side is significant by itself, not when neither is (one block with
   a weak line); edge lines explained better at all are cut away.
3. **Edges.** An edge line whose share of raised cells is below ``expansion_threshold`` times
   the block's is cut away; then each edge moves out over the next 1 to
   ``max_expansion_steps`` lines as soon as together they reach that share. A block that
   passes the checks below then takes in each next line whose every cell is within
   :data:`ALIKE` of its median (a uniform block whose rows straddle a level's threshold).
4. **Checks.** A block spans at least two rows and two columns, has half its cells raised, is
   significant itself, is bright against its rows (its lower quartile :data:`TYPICAL` times
   their typical cell outside it, their brightest few such as a sink left out), stands out
   from the ring around it by :data:`CONTRAST` (median residuals) and from a frame as wide as
   itself by :data:`SURROUND` (its lower quartile over the frame's upper one: not a piece of a
   band, of a lattice of row bands and column stripes, or of a larger cluster), and is not a
   piece of a line: moved by its own size along its columns, rows or diagonals it does not
   find the same raised share on both sides (what is left of a partial sink or band), at its
   level or at the two looser ones (a band's brightest stretch stands alone at the strict
   levels).

Under a mask every count is over the cells it left (:class:`~izzyviz.region_mask.Band`): a
block on a causal diagonal is a triangle, its box the square around it, and an edge never moves
onto a line the mask took whole.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from izzyviz.region_ratio import MIN_SHARE, binomial_ratio, binomial_ratios
from izzyviz.region_scan import (
    FALSE_ALARM,
    LOOSE_LEVELS,
    MIN_LINE,
    Band,
    Cells,
    Levels,
    Rect,
    WindowSums,
    block_counts,
    dispersion,
    residual,
    scan,
    unmasked,
    window_shapes,
)

__all__ = ["find_blocks"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: A line splits a rectangle when the background explains it this much better (log units).
SPLIT_EVIDENCE = math.log(100.0)
#: Densities used in the line rule stay below this.
MAX_DENSITY = 0.95
#: A rectangle that, moved by its own size along its columns, rows or diagonals, holds at least
#: this fraction of its raised share is a piece of a line (a sink, a band), not a block.
CONTINUES = 0.4
#: A block is not a piece of a line at its own level nor at this many looser ones (of those
#: taken before it, none looser than a tenth of the cells): a bright stretch of a band or of a
#: partial sink is raised above it at the strict levels, and the line it belongs to shows
#: only at looser ones.
LOOSER_LINES = 2
#: A block, against its background, is at least this many times the ring of cells around it.
CONTRAST = 3.0
#: Width of that ring, in cells.
RING = 2
#: A block's lower quartile, against its background, is at least this many times the upper
#: quartile of a frame around it as wide as the block: a bright stretch of a band, where a row
#: band crosses a column stripe, or a piece of a larger cluster lies among raised cells; a
#: block on its own does not. (Maps under MIN_LINE a side have too few cells around a block.)
SURROUND = 1.6
#: A block's lower quartile is at least this many times the typical cell of its rows outside
#: it (their mean without their brightest cells, :meth:`izzyviz.region_scan.Cells.typical`): a
#: region of high attention, even in rows that give most of their weight to a sink.
TYPICAL = 2.5
#: Quartiles over more cells than this are read on every few rows and columns.
SAMPLES = 4096
#: A line next to a block joins it when every cell is at least 1 / ALIKE times the block's
#: median (against the background).
ALIKE = 1.25


@dataclass(frozen=True, eq=False)
class Level:
    """The cells raised at one threshold, and the background's rate: the share of raised cells
    it puts anywhere, in (0, 1); ``band``: the cells the mask left; ``looser``: the levels a
    block found here must not be a piece of a line at either (:data:`LOOSER_LINES`)."""

    raised: NDArray[np.bool_]
    rate: float
    band: Band
    looser: tuple[Level, ...] = ()

    def cells(self, rect: Rect) -> int:
        """Cells of ``rect`` the mask left (a block on a causal diagonal is a triangle)."""
        return self.band.cells(rect)

    def count(self, rect: Rect) -> int:
        """Raised cells in ``rect``."""
        top, left, bottom, right = rect
        return int(np.count_nonzero(self.raised[top : bottom + 1, left : right + 1]))

    def lines(self, rect: Rect, axis: int) -> tuple[IntArray, IntArray]:
        """Raised cells in each row (``axis=0``) or column (1) of ``rect``, and the cells the
        mask left in each."""
        top, left, bottom, right = rect
        cells = self.raised[top : bottom + 1, left : right + 1]
        return cells.sum(axis=1 - axis, dtype=np.int64), self.band.lines(rect, axis)

    def continues(self, rect: Rect) -> bool:
        """Whether ``rect`` is a piece of a line: moved by its height along its columns, by its
        width along its rows, or by its larger side along its diagonals, it holds at least
        :data:`CONTINUES` times its own share of raised cells on both sides (on the one side
        the map has, when the other falls mostly off it). A sink's column or a band's diagonal
        goes on through a piece of it; a block has background around it, and rarely another
        block on both sides. Cells the mask took count as off the map."""
        top, left, bottom, right = rect
        height, width = bottom - top + 1, right - left + 1
        side = max(height, width)
        least = CONTINUES * self.count(rect) / self.cells(rect)
        n_rows, n_cols = self.raised.shape

        def holds(dy: int, dx: int) -> bool | None:
            moved = (max(top + dy, 0), max(left + dx, 0),
                     min(bottom + dy, n_rows - 1), min(right + dx, n_cols - 1))  # fmt: skip
            if moved[0] > moved[2] or moved[1] > moved[3]:
                return None  # off the map
            cells = self.cells(moved)
            if 2 * cells < self.cells(rect):
                return None  # mostly off the map
            return self.count(moved) >= least * cells

        for dy, dx in ((height, 0), (0, width), (side, side)):
            sides = [holds(dy, dx), holds(-dy, -dx)]
            seen = [held for held in sides if held is not None]
            if seen and all(seen):
                return True
        return False

    def hugs_the_mask(self, rect: Rect) -> bool:
        """Whether ``rect``, cut by the mask, is a band along the mask's edge: of its cells
        farther from that edge than half the farthest, fewer than :data:`MIN_SHARE` are
        raised. A phrase's triangle on a causal diagonal is raised through; a band of the
        diagonal (a token reading itself and the one before) only near the edge, and in a
        triangle it covers most cells."""
        top, left, bottom, right = rect
        rows, cols = np.arange(top, bottom + 1)[:, None], np.arange(left, right + 1)[None, :]
        offsets, kept = cols - rows, self.band.left(rows, cols)
        cells = self.raised[top : bottom + 1, left : right + 1]
        edges = ((self.band.high - offsets, right - top > self.band.high),
                 (offsets - self.band.low, left - bottom < self.band.low))  # fmt: skip
        for distance, cut in edges:
            if cut:
                far = kept & (distance > distance[kept].max() / 2)
                if np.count_nonzero(cells[far]) < MIN_SHARE * np.count_nonzero(far):
                    return True
        return False

    def significant(self, rect: Rect, critical: float) -> bool:
        """Whether ``rect`` is not empty and its raised cells reach a binomial ratio of
        ``critical``."""
        if rect[2] < rect[0] or rect[3] < rect[1]:
            return False
        return self.ratio(self.count(rect), self.cells(rect)) >= critical

    def ratio(self, count: int, cells: int) -> float:
        """The binomial log-likelihood ratio of ``count`` raised cells among ``cells`` against
        the background's rate."""
        return binomial_ratio(count, cells, self.rate, self.band.size)


def _strongest_apart(ratios: FloatArray, windows: IntArray) -> list[int]:
    """Indices of ``windows`` taken strongest first (ties by position), each skipping those
    that overlap one already taken (non-maximum suppression)."""
    top, left, height, width = windows.T
    bottom, right = top + height - 1, left + width - 1
    free = np.ones(len(windows), dtype=bool)
    taken = []
    for i in np.lexsort((left, top, -ratios)).tolist():
        if free[i]:
            taken.append(i)
            free &= (top > bottom[i]) | (top[i] > bottom) | (left > right[i]) | (left[i] > right)
    return taken


def _worst_run(evidence: FloatArray) -> tuple[float, int, int]:
    """The run of consecutive lines of negative ``evidence`` with the lowest total: ``(total,
    first, last)`` (total 0 when no line is negative)."""
    negative = np.concatenate([[False], evidence < 0, [False]])
    edges = np.flatnonzero(np.diff(negative.astype(np.int8)))
    if not edges.size:
        return 0.0, 0, -1
    starts, stops = edges[0::2], edges[1::2]
    totals = np.concatenate([[0.0], np.cumsum(evidence)])
    sums = totals[stops] - totals[starts]
    worst = int(np.argmin(sums))
    return float(sums[worst]), int(starts[worst]), int(stops[worst]) - 1


def _split(level: Level, rect: Rect, density: float, critical: float) -> list[Rect]:
    """``rect`` without the lines the background explains better than a block of raised share
    ``density``: while some run of such lines is explained better, together, by
    :data:`SPLIT_EVIDENCE`, the worst run is removed, splitting the rectangle in two, if a side
    is significant by itself (a binomial ratio of ``critical``): a weak line inside a block
    whose parts are not, such as a row whose attention goes elsewhere, does not break it. Then
    edge lines explained better at all are cut away."""
    rate = level.rate
    share = min(max(density, 1.5 * rate), MAX_DENSITY)
    raised_weight, plain_weight = math.log(share / rate), math.log((1 - rate) / (1 - share))
    done: list[Rect] = []
    todo = [rect]
    while todo:
        top, left, bottom, right = rect = todo.pop()
        if bottom < top or right < left:
            continue
        evidence = []
        for axis in (0, 1):
            counts, cells = level.lines(rect, axis)
            evidence.append(counts * raised_weight - (cells - counts) * plain_weight)
        runs = [_worst_run(e) for e in evidence]
        axis = int(runs[1][0] < runs[0][0])
        total, first, last = runs[axis]
        if total < -SPLIT_EVIDENCE:
            parts = _cut(rect, axis, first, last)
            if any(level.significant(part, critical) for part in parts):
                todo += parts
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


def _cut(rect: Rect, axis: int, first: int, last: int) -> list[Rect]:
    """The parts of ``rect`` on either side of its rows (``axis=0``) or columns ``first`` to
    ``last``."""
    top, left, bottom, right = rect
    if axis == 0:
        return [(top, left, top + first - 1, right), (top + last + 1, left, bottom, right)]
    return [(top, left, bottom, left + first - 1), (top, left + last + 1, bottom, right)]


def _lines_from(level: Level, rect: Rect, side: int, outward: bool) -> tuple[IntArray, IntArray]:
    """Raised cells of the lines of ``rect`` from its ``side`` inwards (``outward`` False), or
    of the lines beyond that side outwards, as far as ``rect`` is long that way (at least 8);
    and the cells the mask left in each line."""
    axis = side // 2  # 0: rows (top and bottom sides), 1: columns
    corners = list(rect)
    first, last = corners[axis], corners[axis + 2]
    if outward:
        reach = max(last - first + 1, 8)
        limit = level.raised.shape[axis] - 1
        first, last = (max(first - reach, 0), first - 1) if side % 2 == 0 else (
            last + 1, min(last + reach, limit))  # fmt: skip
    if last < first:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    corners[axis], corners[axis + 2] = first, last
    counts, cells = level.lines((corners[0], corners[1], corners[2], corners[3]), axis)
    ahead = (side % 2 == 0) == outward  # lines listed from the far end: turn them round
    return (counts[::-1], cells[::-1]) if ahead else (counts, cells)


def _moves(counts: IntArray, cells: IntArray, least: float, steps: int, grow: bool) -> int:
    """How many of ``counts``' lines (taken in order; ``cells`` in each) an edge moves over:
    growing, the next 1 to ``steps`` lines join as soon as together they hold ``least`` of
    their cells; shrinking, a line goes while it holds less than that (one line always stays).
    A line the mask took whole is never joined, and goes."""
    sizes = cells.tolist()
    total = [0, *itertools.accumulate(counts.tolist())]
    room = [0, *itertools.accumulate(sizes)]
    moved = 0
    while True:
        if grow:
            ahead = [k for k in range(1, steps + 1) if moved + k <= len(counts)]
            joined = [
                k for k in ahead
                if 0 not in sizes[moved : moved + k]
                and total[moved + k] - total[moved] >= least * (room[moved + k] - room[moved])
            ]  # fmt: skip
            if not joined:
                return moved
            moved += joined[0]
        elif moved + 1 < len(counts) and total[moved + 1] - total[moved] < least * max(
            room[moved + 1] - room[moved], 1
        ):
            moved += 1
        else:
            return moved


def _edges(level: Level, rect: Rect, least: float, steps: int) -> Rect:
    """``rect`` with its edges where the raised share of lines falls below ``least``: edge
    lines below it are cut away, then each edge moves out over the next 1 to ``steps`` lines
    as soon as together they reach it (looking past a sparse line into a full one)."""
    for side in range(4):
        counts, cells = _lines_from(level, rect, side, outward=False)
        rect = _shift(rect, side, -_moves(counts, cells, least, steps, grow=False))
    rect = level.band.tight(rect)  # cutting a side may empty a line along another
    grown = True
    while grown:
        grown = False
        for side in range(4):
            counts, cells = _lines_from(level, rect, side, outward=True)
            moved = _moves(counts, cells, least, steps, grow=True)
            if moved:
                rect, grown = _shift(rect, side, moved), True
    return rect


def _shift(rect: Rect, side: int, lines: int) -> Rect:
    """``rect`` with its ``side`` edge moved ``lines`` outwards (inwards if negative)."""
    top, left, bottom, right = rect
    moved = (
        (top - lines, left, bottom, right),
        (top, left, bottom + lines, right),
        (top, left - lines, bottom, right),
        (top, left, bottom, right + lines),
    )
    return moved[side]


@dataclass(frozen=True)
class _Search:
    """What every fit on one map shares: the matrix, the critical ratio and the edge rule's
    parameters."""

    cells: Cells
    residual: NDArray[np.float32]
    critical: float
    expansion_threshold: float
    max_expansion_steps: int

    def stands_out(self, rect: Rect) -> bool:
        """Whether ``rect`` is bright against its rows (its lower quartile at least
        :data:`TYPICAL` times their typical cell outside it: what they give a cell other than
        their brightest few, such as a sink) and, against its background (``log(value)`` over
        each cell's row level and column and diagonal effects), stands out from what is around
        it: its median is :data:`CONTRAST` times that of the :data:`RING` cells around it, and on
        maps at least :data:`MIN_LINE` a side its lower quartile is :data:`SURROUND` times the
        upper quartile of a frame as wide as itself. Medians and quartiles, so that single
        heavy-tailed cells on either side do not decide; residuals, so that softmax rows
        holding a wide block compare fairly."""
        top, left, bottom, right = rect
        height, width = bottom - top + 1, right - left + 1
        step = max(math.isqrt(9 * height * width // SAMPLES), 1)  # the frame and block: 9x
        if _quantile(self.cells(rect, step), 0.25) < TYPICAL * self.cells.typical(rect, step):
            return False
        inside = self.residual[top : bottom + 1, left : right + 1]
        ring = unmasked(_around(self.residual, rect, RING, RING))
        median = _quantile(unmasked(inside), 0.5)
        if ring.size and median - _quantile(ring, 0.5) < math.log(CONTRAST):
            return False
        if min(self.residual.shape) < MIN_LINE:
            return True
        frame = unmasked(_around(self.residual, rect, height, width, step))
        if not frame.size:
            return True
        low = _quantile(unmasked(inside[::step, ::step]), 0.25)
        return low - _quantile(frame, 0.75) >= math.log(SURROUND)


def _quantile(values: NDArray[np.floating[Any]], q: float) -> float:
    """The ``q`` quantile of ``values``, interpolated as ``np.quantile`` does (without its
    overhead, which dominates on the few hundred cells of a ring or frame); ``-inf`` for none."""
    flat = values.ravel()
    if not flat.size:
        return -math.inf
    position = q * (flat.size - 1)
    low = math.floor(position)
    high = min(low + 1, flat.size - 1)
    parted = np.partition(flat, (low, high))
    below, above = float(parted[low]), float(parted[high])
    return below + (above - below) * (position - low)


def _around(
    values: NDArray[np.float32], rect: Rect, rows: int, cols: int, step: int = 1
) -> NDArray[np.float32]:
    """The cells of ``values`` within ``rows`` rows and ``cols`` columns of ``rect``, outside
    it (fewer at the map's edges); every ``step``-th row and column of them."""
    top, left, bottom, right = rect
    row_at = np.arange(max(top - rows, 0), min(bottom + rows + 1, values.shape[0]), step)
    col_at = np.arange(max(left - cols, 0), min(right + cols + 1, values.shape[1]), step)
    inside = ((row_at >= top) & (row_at <= bottom))[:, None] & (
        (col_at >= left) & (col_at <= right)
    )[None, :]
    return values[row_at[0] : row_at[-1] + 1 : step, col_at[0] : col_at[-1] + 1 : step][~inside]


def _fit(window: Rect, level: Level, search: _Search) -> list[tuple[float, Rect]]:
    """Blocks fitted from a significant ``window`` at ``level``, with their binomial ratios."""
    fitted = []
    density = level.count(window) / level.cells(window)
    for part in _split(level, window, density, search.critical):
        least = search.expansion_threshold * level.count(part) / level.cells(part)
        rect = _edges(level, part, least, search.max_expansion_steps)
        top, left, bottom, right = rect
        count, cells = level.count(rect), level.cells(rect)
        ratio = level.ratio(count, cells)
        if (
            bottom > top
            and right > left
            and count >= MIN_SHARE * cells
            and ratio >= search.critical
            and search.stands_out(rect)
            and not any(other.continues(rect) for other in (level, *level.looser))
            and not level.hugs_the_mask(rect)
        ):
            fitted.append((ratio, _grown(rect, search.residual)))
    return fitted


def _grown(rect: Rect, residual: NDArray[np.float32]) -> Rect:
    """``rect`` with each edge moved out, line by line, while the next line's every cell is at
    least ``1 / ALIKE`` times the block's median (``residual``: against the background). A
    uniform block whose lines straddle a level's threshold (rows normalised a little
    differently) is then found whole, where the level's raised cells alone miss a line. The
    cells the mask took are not read, and a line of none is not joined."""
    top, left, bottom, right = rect
    block = unmasked(residual[top : bottom + 1, left : right + 1])
    floor = float(np.median(block)) - math.log(ALIKE)
    grown = True
    while grown:
        grown = False
        for side in range(4):
            top, left, bottom, right = moved = _shift(rect, side, 1)
            if top < 0 or left < 0 or bottom >= residual.shape[0] or right >= residual.shape[1]:
                continue
            line = moved[(0, 2, 1, 3)[side]]  # the new row (top, bottom) or column (left, right)
            if side < 2:
                cells = residual[line, left : right + 1]
            else:
                cells = residual[top : bottom + 1, line]
            cells = unmasked(cells)
            if cells.size and float(cells.min()) >= floor:
                rect, grown = moved, True
    return rect


def _overlap(a: Rect, b: Rect) -> bool:
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


def _strongest(
    windows: IntArray, ratios: FloatArray, level: Level, search: _Search, known: list[Rect]
) -> list[Rect]:
    """Blocks fitted from ``windows`` (strongest first, skipping those that overlap one taken),
    none overlapping another or ``known``, strongest first."""
    n_rows, n_cols = level.raised.shape
    fitted: list[tuple[float, Rect]] = []
    for i in _strongest_apart(ratios, windows):
        top, left, height, width = windows[i].tolist()
        window = (top, left, min(top + height, n_rows) - 1, min(left + width, n_cols) - 1)
        fitted += _fit(window, level, search)
    fitted.sort(key=lambda item: (-item[0], item[1]))
    blocks: list[Rect] = []
    for _, rect in fitted:
        if not any(_overlap(rect, other) for other in blocks + known):
            blocks.append(rect)
    return blocks


def _critical(band: Band, shapes: list[tuple[int, int]], rates: FloatArray) -> float:
    """The ratio a window needs (:func:`~izzyviz.region_ratio.binomial_ratio`), ``log(tests /
    FALSE_ALARM)`` (Bonferroni over the Chernoff bound), counting as tests only the window
    positions of each shape, at each level, that could reach it: one whose cells all raised
    stay below it can never be significant (Tarone 1990), nor one holding no cell the mask
    left (``band``). The fewest tests ``K`` such that at most ``K`` could reach ``log(K /
    FALSE_ALARM)``; on small maps most small windows at loose levels cannot."""
    heights, widths = np.repeat(np.array(shapes), len(rates), axis=0).T  # each at every rate
    cells = heights * widths
    most = binomial_ratios(cells, cells, np.tile(rates, len(shapes)), band.size)
    positions = np.repeat([band.windows(*shape) for shape in shapes], len(rates))

    def testable(tests: int) -> int:
        return int(positions[most >= math.log(tests / FALSE_ALARM)].sum())

    low, high = 1, max(int(positions.sum()), 1)
    while low < high:  # testable() falls as tests grow: the least fixed point
        middle = (low + high) // 2
        low, high = (low, middle) if testable(middle) <= middle else (middle + 1, high)
    return math.log(high / FALSE_ALARM)


def find_blocks(cells: Cells, expansion_threshold: float, max_expansion_steps: int) -> list[Rect]:
    """Rectangles of a matrix raised as a whole above its background, loosest level first.

    See the module docstrings; ``expansion_threshold`` and ``max_expansion_steps`` are the
    edge rule's share (a fraction of the block's raised share) and look-ahead (in lines).
    """
    shape = cells.matrix.shape
    values = residual(cells) if min(shape) >= 2 else None
    levels = Levels.of(values, cells.band.size) if values is not None else None
    shapes = window_shapes(shape)
    if values is None or levels is None or not shapes:
        return []
    critical = _critical(cells.band, shapes, levels.rates)
    search = _Search(cells, values, critical, expansion_threshold, max_expansion_steps)
    sums = WindowSums()
    blocks: list[Rect] = []
    spread = 1.0
    taken: dict[int, Level] = {}
    loose = min(LOOSE_LEVELS, levels.count)
    for k in [*range(loose + 1, levels.count + 1), *range(loose, 0, -1)]:
        raised = levels.raised(k)
        counts4 = block_counts(raised)
        plain = Level(raised, levels.rate_outside(raised, k, blocks), cells.band)
        taken = {j: other for j, other in taken.items() if j >= k - LOOSER_LINES}
        level = dataclasses.replace(plain, looser=tuple(taken.values()) if k > loose else ())
        taken[k] = plain  # the strict levels come first, loosest first
        # Clumped background cells carry less evidence each (a quasi-likelihood): the ratio a
        # window needs grows with their dispersion (the looser level's when too few cells).
        spread = dispersion(counts4, cells.band, blocks) or spread
        needed = critical * spread
        windows, ratios = scan(
            raised, counts4, level.rate, shapes, needed, blocks, sums, cells.band
        )
        found = dataclasses.replace(search, critical=needed)
        blocks += _strongest(windows, ratios, level, found, blocks)
    return blocks
