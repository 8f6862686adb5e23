"""The cells of an attention map that its attention mask left, for region detection.

A causal mask zeroes every cell above the diagonal (a token reads no later token), and a
sliding window every cell more than its width below it: whole diagonals of exact zeros, from a
corner in. Those cells are not part of the map. Counted as background they make every cell the
mask left look raised (in a causal map, half the map is zeros) and a block's rows look dim, so
the detector leaves them out: a :class:`Band` of diagonals is what it reads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["Band"]

IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class Band:
    """The diagonals ``low <= column - row <= high`` of a ``shape`` map: the cells its mask
    left (all of them for a map without a mask)."""

    low: int
    high: int
    shape: tuple[int, int]

    @classmethod
    def whole(cls, shape: tuple[int, int]) -> Band:
        """Every cell of a map of ``shape``."""
        return cls(-(shape[0] - 1), shape[1] - 1, shape)

    @classmethod
    def of(cls, matrix: NDArray[np.floating]) -> Band:
        """The cells a causal mask left in a non-negative ``matrix``: when every cell above the
        last diagonal it keeps (``column - row = columns - rows``: a query reads the keys up to
        its own, the earlier ones cached) is an exact zero and that diagonal is not, with the
        diagonals of exact zeros from the bottom-left corner in (a sliding window) also taken;
        every cell otherwise: a map of zeros holding a few blocks is not masked. (With negative
        values zero is a value like any other, and no cell is masked:
        :class:`~izzyviz.region_scan.Cells` checks.)"""
        whole = cls.whole(matrix.shape)
        n_rows, n_cols = matrix.shape
        kept = n_cols - n_rows
        if not 0 <= kept < n_cols - 1 or matrix[0, -1] != 0:
            return whole  # the common case, decided without reading the map
        nonzero = matrix != 0
        rows = nonzero.any(axis=1)
        if not rows.any():
            return whole
        at = np.arange(n_rows)
        backwards = np.ascontiguousarray(nonzero[:, ::-1])  # argmax is 4x faster on it
        last = n_cols - 1 - backwards.argmax(axis=1)
        if int((last - at)[rows].max()) != kept:
            return whole
        first = nonzero.argmax(axis=1)
        low = int((first - at)[rows].min()) if matrix[-1, 0] == 0 else whole.low
        return cls(low, kept, matrix.shape)

    @cached_property
    def masked(self) -> bool:
        """Whether the mask took any cell."""
        return self != Band.whole(self.shape)

    @cached_property
    def size(self) -> int:
        """The number of cells left."""
        return int(self.spans(0)[1].sum())

    def spans(self, axis: int) -> tuple[IntArray, IntArray]:
        """The first cell and the number of cells left of each row (``axis=0``) or column (1):
        they are contiguous."""
        count, across = self.shape[axis], self.shape[1 - axis]
        at = np.arange(count, dtype=np.int64)
        if axis == 0:
            first, last = np.maximum(at + self.low, 0), at + self.high
        else:
            first, last = np.maximum(at - self.high, 0), at - self.low
        return first, np.maximum(np.minimum(last, across - 1) - first + 1, 0)

    def cells(self, rect: tuple[int, int, int, int]) -> int:
        """The number of cells of the inclusive ``(top, left, bottom, right)`` rectangle left."""
        top, left, bottom, right = rect
        height, width = max(bottom - top + 1, 0), max(right - left + 1, 0)
        if not self.masked or not height or not width:
            return height * width
        offset = left - top
        above = _beyond(offset + width - 1 - self.high, height, width, max)
        below = _beyond(self.low - offset + height - 1, height, width, max)
        return height * width - above - below

    def lines(self, rect: tuple[int, int, int, int], axis: int) -> IntArray:
        """The number of cells left in each row (``axis=0``) or column (1) of the inclusive
        ``(top, left, bottom, right)`` rectangle."""
        top, left, bottom, right = rect
        if not self.masked:
            across = rect[3 - axis] - rect[1 - axis] + 1
            return np.full(max(rect[axis + 2] - rect[axis] + 1, 0), max(across, 0), np.int64)
        at = np.arange(rect[axis], rect[axis + 2] + 1, dtype=np.int64)
        if axis == 0:
            first, last = np.maximum(at + self.low, left), np.minimum(at + self.high, right)
        else:
            first, last = np.maximum(at - self.high, top), np.minimum(at - self.low, bottom)
        return np.maximum(last - first + 1, 0)

    def tight(self, rect: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
        """``rect`` without its edge lines the mask took whole (as it is when it holds no cell
        left)."""
        rows, cols = np.flatnonzero(self.lines(rect, 0)), np.flatnonzero(self.lines(rect, 1))
        if not rows.size:
            return rect
        top, left = rect[0], rect[1]
        return top + int(rows[0]), left + int(cols[0]), top + int(rows[-1]), left + int(cols[-1])

    def window_cells(
        self, tops: IntArray, lefts: IntArray, heights: IntArray | int, widths: IntArray | int
    ) -> IntArray:
        """The number of cells left in each ``heights[i]`` x ``widths[i]`` window at
        ``(tops[i], lefts[i])`` (inside the map)."""
        offsets = np.asarray(lefts, dtype=np.int64) - np.asarray(tops, dtype=np.int64)
        heights, widths = np.asarray(heights, dtype=np.int64), np.asarray(widths, dtype=np.int64)
        cells = np.broadcast_to(heights * widths, offsets.shape).astype(np.int64)
        if not self.masked:
            return cells

        above = _beyond(offsets + widths - 1 - self.high, heights, widths, np.maximum)
        below = _beyond(self.low - offsets + heights - 1, heights, widths, np.maximum)
        return cells - above - below

    def windows(self, height: int, width: int) -> int:
        """The number of positions of a ``height`` x ``width`` window that hold a cell left."""
        if not self.masked:
            return max(self.shape[0] - height + 1, 0) * max(self.shape[1] - width + 1, 0)
        tops = np.arange(self.shape[0] - height + 1, dtype=np.int64)
        first = np.maximum(tops + self.low - width + 1, 0)
        last = np.minimum(tops + self.high + height - 1, self.shape[1] - width)
        return int(np.maximum(last - first + 1, 0).sum())

    @cached_property
    def blocks(self) -> NDArray[np.bool_]:
        """Whether each whole 4 x 4 block of the map (``[i, j]``: rows ``4i`` to ``4i + 3``,
        columns ``4j`` to ``4j + 3``) was left whole."""
        rows = np.arange(self.shape[0] // 4)[:, None] * 4
        cols = np.arange(self.shape[1] // 4)[None, :] * 4
        return self.left(rows + 3, cols) & self.left(rows, cols + 3)

    def left(self, rows: IntArray, cols: IntArray) -> NDArray[np.bool_]:
        """Whether each cell ``(rows[i], cols[j])`` (broadcast) was left."""
        if not self.masked:
            return np.ones(np.broadcast_shapes(np.shape(rows), np.shape(cols)), dtype=bool)
        offset = cols - rows
        return (offset >= self.low) & (offset <= self.high)

    def blank(self, values: NDArray[np.float32], fill: float) -> None:
        """Set the cells of ``values`` (a map of this shape) the mask took to ``fill``."""
        n_rows, n_cols = self.shape
        for row in range(min(n_rows, n_cols - self.high - 1)):  # a loop: 2x faster than a mask
            values[row, max(row + self.high + 1, 0) :] = fill
        for row in range(max(1 - self.low, 0), n_rows):
            values[row, : min(row + self.low, n_cols)] = fill


def _beyond(reach: Any, height: Any, width: Any, floor: Callable[[Any, int], Any]) -> Any:
    """The cells a mask took from a ``height`` x ``width`` window whose first row it cuts
    ``reach`` cells into (the diagonal it keeps up to moves one cell on with each row): the sum
    over rows ``r`` of ``min(max(reach - r, 0), width)``, in closed form; ``floor`` is ``max``
    for numbers, ``np.maximum`` for arrays."""

    def triangle(x: Any) -> Any:
        x = floor(x, 0)
        return x * (x + 1) // 2

    return (triangle(reach) - triangle(reach - height) - triangle(reach - width)
            + triangle(reach - height - width))  # fmt: skip
