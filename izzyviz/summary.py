"""The summary stage: a matrix read once, in row blocks, into what a figure shows of it.

One pass checks every value, finds the value range and the top cells, and pools cells into the
display pixels (:class:`MatrixSummary`); :func:`paint` then turns the shown values into colour
indices under a :class:`~izzyviz.colors.ColorScale`. A 32k-token map has a billion cells; a page
shows about a million pixels, and nothing here holds a full-size copy.

Two facts keep the pass cheap. Pooling by max commutes with a monotone colour scale, so a
block's colour is the colour of its maximum. And non-negative float16 and bfloat16 values sort
like their bit patterns read as int16, so half-precision attention needs no float conversion for
its maxima (numpy converts float16 slowly); blocks with a negative value take the float path.
Masked cells (:class:`~izzyviz.source.MaskedRows`, read as NaN) are left out of the range, the
top cells and the pooling, block by block like any other input.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from numpy.typing import NDArray

from izzyviz.numbers import written, written_unit
from izzyviz.source import MaskedRows, Matrix, TensorRows, read_rows, release, row_blocks

if TYPE_CHECKING:
    from izzyviz.colors import ColorScale

__all__ = [
    "MAX_TOP_CELLS",
    "POOL_RULES",
    "CellImage",
    "MatrixSummary",
    "block_bounds",
    "choose_top",
    "paint",
    "summarize",
    "top_cells",
    "value_range",
]

POOL_RULES = ("max", "mean")
#: At most this many top cells are kept from a pooled map when values tie (a constant matrix
#: would otherwise mark every one of its cells).
MAX_TOP_CELLS = 1000
#: A percentile is found exactly by keeping the values beyond it: at most this many.
MAX_TAIL = 1 << 24

Pool = Literal["max", "mean"]
Cells = tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.float64]]
"""Rows, columns (row-major order) and values of chosen cells."""


def block_bounds(cells: int, pixels: int) -> NDArray[np.intp]:
    """Cell indices where display pixels start (and the end): one pixel per cell when ``cells``
    fit in ``pixels``, else ``ceil(cells / pixels)`` cells per pixel (the last pixel may hold
    fewer)."""
    per = max(1, -(-cells // max(pixels, 1)))
    return np.append(np.arange(0, cells, per, dtype=np.intp), cells)


@dataclass(frozen=True, slots=True, eq=False)
class MatrixSummary:
    """What one pass over a matrix found.

    Attributes
    ----------
    shape
        ``(rows, columns)`` of the matrix.
    vmin, vmax
        Its smallest and largest value (masked cells left out).
    top_rows, top_cols, top_values
        The top cells (row-major order) and their values, exact on the full matrix, ties
        decided as fixed decimals write the values (see :meth:`written_as`).
    display
        The values shown: the matrix itself (float64) when every cell gets a pixel, else one
        value per pixel, pooled by ``pool``; NaN for a pixel of masked cells only.
    row_bounds, col_bounds
        Cell indices where display pixels start, plus the end.
    pool
        How cells were pooled: ``"max"`` or ``"mean"``.
    masked
        Whether the matrix masks cells ("no data").
    percentiles
        The percentiles asked for, ``{p: value}``: exact order statistics of every cell that is
        not masked (the value of rank ``ceil(p / 100 * cells)``, numpy's ``"inverted_cdf"``).
    scientific_top
        The top cells with ties decided as scientific notation writes the values.
    """

    shape: tuple[int, int]
    vmin: float
    vmax: float
    top_rows: NDArray[np.intp]
    top_cols: NDArray[np.intp]
    top_values: NDArray[np.float64]
    display: NDArray[np.float64]
    row_bounds: NDArray[np.intp]
    col_bounds: NDArray[np.intp]
    pool: Pool = "max"
    masked: bool = False
    percentiles: dict[float, float] = field(default_factory=dict)
    scientific_top: Cells | None = None

    def written_as(self, scientific: bool) -> MatrixSummary:
        """This summary with its top cells decided in the notation the cells are written in:
        scientific where the colour bar is (known once the colour scale is)."""
        if not scientific or self.scientific_top is None:
            return self
        rows, cols, values = self.scientific_top
        return replace(self, top_rows=rows, top_cols=cols, top_values=values, scientific_top=None)

    @property
    def pooled(self) -> bool:
        """Whether pixels hold more than one cell."""
        return self.display.shape != self.shape

    @property
    def cells_per_pixel(self) -> tuple[int, int]:
        """How many rows and columns one pixel holds (the last row and column of pixels may
        hold fewer)."""
        return int(self.row_bounds[1]), int(self.col_bounds[1])

    def fits(self, row_bounds: NDArray[np.intp], col_bounds: NDArray[np.intp]) -> bool:
        """Whether this summary was pooled into exactly these display pixels."""
        return np.array_equal(row_bounds, self.row_bounds) and np.array_equal(
            col_bounds, self.col_bounds
        )


def pooling_note(pool: str, cells_per_pixel: tuple[int, int]) -> str:
    """Small print saying how pixels were pooled, e.g. ``"each pixel: max of 4 × 4 cells"``."""
    rows, cols = cells_per_pixel
    return f"each pixel: {pool} of {rows} × {cols} cells"


def top_cells(matrix: NDArray[Any], top_n: int) -> dict[bool, Cells]:
    """The top cells of an in-memory ``matrix`` (see :func:`choose_top`), by notation: ties
    decided as fixed decimals (``False``) or scientific notation (``True``) write the values;
    NaN cells (masked) are never top cells."""
    flat = matrix.ravel()
    known = flat[~np.isnan(flat)]

    def at_least(floor: float) -> Cells:
        with np.errstate(invalid="ignore"):
            rows, cols = np.nonzero(matrix >= floor)
        return rows, cols, np.asarray(matrix[rows, cols], np.float64)

    def kth(k: int) -> float:
        return (
            float(np.partition(known, known.size - k)[known.size - k])
            if k <= known.size
            else -np.inf
        )

    return _top(at_least, kth, top_n)


def choose_top(
    values: NDArray[np.float64], top_n: int, scientific: bool = False
) -> tuple[NDArray[np.bool_], float | None]:
    """Which of ``values`` (every cell at least the ``top_n + 1``-th largest, and perhaps more)
    are top cells, ties decided at the precision the values are written
    (:func:`izzyviz.numbers.written`, in fixed decimals or ``scientific`` notation): cells that
    read the same are marked all or none.

    The cells reading one of the ``top_n`` largest values are marked; when the ``top_n``-th and
    the next read the same, that group is left out (so a map never marks more than ``top_n``
    cells because of a tie) unless it is the largest value itself, shared by more than
    ``top_n`` cells: then that whole group is marked, and the second result is the written value
    to gather it by (None otherwise).
    """
    largest = float(np.max(np.abs(values))) if values.size else 0.0
    shown = written(values, largest, scientific=scientific)
    if top_n <= 0 or shown.size == 0:
        return np.zeros(shown.shape, bool), None
    ranked = np.sort(shown)[::-1]
    if len(ranked) <= top_n:
        return np.ones(shown.shape, bool), None
    nth, after = ranked[top_n - 1], ranked[top_n]
    if after < nth:
        return shown >= nth, None
    above = shown > nth
    if above.any():
        return above, None
    return shown == nth, float(nth)


def _top(
    at_least: Callable[[float], Cells], kth: Callable[[int], float], top_n: int
) -> dict[bool, Cells]:
    """The top cells (row-major order) and their values in each notation (see
    :func:`top_cells`), from ``at_least(floor)`` (every cell whose value is at least ``floor``)
    and ``kth(k)`` (a value no larger than the ``k``-th largest cell); at most
    :data:`MAX_TOP_CELLS`, the largest first."""
    if top_n <= 0:
        empty = np.empty(0, np.intp)
        return dict.fromkeys((False, True), (empty, empty, np.empty(0)))
    candidates = at_least(kth(top_n + 1))
    return {sci: _chosen(at_least, candidates, top_n, sci) for sci in (False, True)}


def _chosen(at_least: Callable[[float], Cells], candidates: Cells, top_n: int, sci: bool) -> Cells:
    """The top cells among ``candidates`` with ties decided in one notation (``sci``)."""
    rows, cols, values = candidates
    keep, group = choose_top(values, top_n, sci)
    if group is not None:  # the largest value, shared by more than top_n cells: all of them
        largest = float(np.max(np.abs(values)))
        rows, cols, values = at_least(group - written_unit(group, largest, scientific=sci))
        keep = written(values, largest, scientific=sci) == group
    chosen = np.flatnonzero(keep)
    if len(chosen) > MAX_TOP_CELLS:  # the largest first, then ties in row-major order
        chosen = chosen[np.argsort(-values[chosen], kind="stable")[:MAX_TOP_CELLS]]
    chosen = chosen[np.lexsort((cols[chosen], rows[chosen]))]
    return rows[chosen].astype(np.intp), cols[chosen].astype(np.intp), values[chosen]


def _not_finite(block: NDArray[Any], row0: int, name: str) -> ValueError:
    """The error for a block holding NaN or infinity, naming the first such cell."""
    values = np.asarray(block)
    bad = np.argwhere(~np.isfinite(values))
    r, c = (int(i) for i in bad[0])
    more = (
        f" and {len(bad) - 1} more in rows {row0}-{row0 + len(values) - 1}" if len(bad) > 1 else ""
    )
    return ValueError(
        f"{name}: expected finite scores, found {values[r, c]} at index ({row0 + r}, {c}){more}"
    )


def _check_masked(data: NDArray[Any], mask: NDArray[np.bool_], row0: int, name: str) -> None:
    """Raise if a cell of these rows (from ``row0``) that is not masked holds NaN or
    infinity."""
    if not (np.isfinite(data) | mask).all():
        raise _not_finite(np.where(mask, 0.0, data), row0, name)


def _masked_block_max(
    source: MaskedRows, r0: int, r1: int, per: tuple[int, int], name: str
) -> tuple[float, NDArray[np.float64]]:
    """:func:`_block_max` of a masked matrix, in the data's own precision: masked cells are
    read as -inf for the maxima and +inf for the minimum (NaN where a pixel has none)."""
    data, mask = read_rows(source.data, r0, r1), source.mask[r0:r1]
    _check_masked(data, mask, r0, name)
    smallest = float(np.where(mask, np.inf, data).min())
    maxima = _pool2(np.where(mask, -np.inf, data), per, np.maximum).astype(np.float64)
    maxima[maxima == -np.inf] = np.nan
    return smallest, maxima


# Bit patterns of the largest finite value, and how to widen bits to float32, per half format.
_HALF: dict[str, tuple[int, Callable[[NDArray[np.int16]], NDArray[np.float32]]]] = {
    "float16": (0x7BFF, lambda bits: bits.view(np.float16).astype(np.float32)),
    "bfloat16": (
        0x7F7F,
        lambda bits: (bits.astype(np.uint32) << 16).view(np.float32),
    ),
}


def _half_bits(source: Matrix) -> tuple[NDArray[np.int16], str] | None:
    if isinstance(source, TensorRows):
        return None if source.bits is None else (source.bits, "bfloat16")
    if isinstance(source, np.ndarray) and source.dtype == np.float16:
        return source.view(np.int16), "float16"
    return None


def _pool(values: NDArray[Any], per: int, axis: int, ufunc: np.ufunc) -> NDArray[Any]:
    """Combine each run of ``per`` rows (``axis=0``) or columns (``axis=1``) with ``ufunc``
    (``np.maximum``, ``np.fmax`` or ``np.add``), the last run possibly shorter: ``per``
    whole-array operations on strided views, far faster than ``ufunc.reduceat`` on short runs."""
    if per == 1:
        return values
    moved = values if axis == 0 else values.T
    if per >= len(moved):
        out = ufunc.reduce(moved, axis=0, keepdims=True)
        return out if axis == 0 else out.T
    full = len(moved) // per * per
    out = ufunc(moved[0:full:per], moved[1:full:per])
    for offset in range(2, per):
        ufunc(out, moved[offset:full:per], out=out)
    if full < len(moved):
        out = np.concatenate([out, ufunc.reduce(moved[full:], axis=0, keepdims=True)])
    return out if axis == 0 else out.T


def _pool2(values: NDArray[Any], per: tuple[int, int], ufunc: np.ufunc) -> NDArray[Any]:
    return _pool(_pool(values, per[0], 0, ufunc), per[1], 1, ufunc)


def _block_max(
    source: Matrix, r0: int, r1: int, per: tuple[int, int], name: str
) -> tuple[float, NDArray[np.float64]]:
    """The minimum of rows ``r0:r1`` and their maxima pooled ``per`` cells to a pixel (masked
    cells left out: NaN where a pixel has none); raises on a value that is not finite."""
    half = _half_bits(source)
    if half is not None:
        bits, kind = half
        block = bits[r0:r1]
        lowest = int(block.min())
        if lowest >= 0:  # no sign bit set: bits order like values
            top_bits, widen = _HALF[kind]
            maxima = _pool2(block, per, np.maximum)
            if int(maxima.max()) > top_bits:
                raise _not_finite(read_rows(source, r0, r1), r0, name)
            lowest_value = float(widen(np.array([lowest], dtype=np.int16))[0])
            return lowest_value, widen(maxima).astype(np.float64)
    if isinstance(source, MaskedRows):
        return _masked_block_max(source, r0, r1, per, name)
    values = read_rows(source, r0, r1)
    smallest = float(values.min())
    maxima = _pool2(values, per, np.maximum)
    if not (np.isfinite(smallest) and np.isfinite(maxima.max())):
        raise _not_finite(values, r0, name)
    return smallest, maxima.astype(np.float64)


def _block_mean(source: Matrix, r0: int, r1: int, per: tuple[int, int]) -> NDArray[np.float64]:
    """Rows ``r0:r1`` pooled ``per`` cells to a pixel by their mean (of the cells not masked:
    NaN for a pixel of masked cells only)."""
    values = read_rows(source, r0, r1).astype(np.float64)
    known = ~np.isnan(values) if isinstance(source, MaskedRows) else None
    if known is not None:
        values = np.where(known, values, 0.0)
        counts = _pool2(known.astype(np.float64), per, np.add)
    else:
        rows = np.diff(np.append(np.arange(0, r1 - r0, per[0]), r1 - r0))
        cols = np.diff(np.append(np.arange(0, values.shape[1], per[1]), values.shape[1]))
        counts = np.outer(rows, cols).astype(np.float64)
    with np.errstate(invalid="ignore"):  # a pixel of masked cells only: 0 / 0 = NaN
        return _pool2(values, per, np.add) / counts


def _pooled_top_cells(
    source: Matrix, maxima: NDArray[np.float64], bounds: tuple[Any, Any], top_n: int
) -> dict[bool, Cells]:
    """The exact top cells of a pooled matrix: the ``k``-th largest pixel maximum is at most the
    ``k``-th largest cell, so only pixels whose maximum reaches a floor can hold cells above it,
    and only their cells are read again."""
    row_bounds, col_bounds = bounds
    flat = np.where(np.isnan(maxima), -np.inf, maxima).ravel()

    def kth(k: int) -> float:
        return float(np.partition(flat, max(flat.size - k, 0))[max(flat.size - k, 0)])

    def at_least(floor: float) -> Cells:
        found_r, found_c, found_v = [np.empty(0, np.intp)], [np.empty(0, np.intp)], [np.empty(0)]
        candidates = np.flatnonzero(flat >= floor)
        if len(candidates) > MAX_TOP_CELLS:  # many ties: the pixels above the floor first
            candidates = candidates[np.argsort(-flat[candidates], kind="stable")[:MAX_TOP_CELLS]]
        for pixel in np.sort(candidates).tolist():
            i, j = divmod(pixel, maxima.shape[1])
            r0, c0 = int(row_bounds[i]), int(col_bounds[j])
            # (a masked matrix reads NaN where masked)
            block = np.asarray(source[r0 : row_bounds[i + 1], c0 : col_bounds[j + 1]], np.float64)
            with np.errstate(invalid="ignore"):  # masked cells (NaN) are never top cells
                rr, cc = np.nonzero(block >= floor)
            found_r.append(rr + r0)
            found_c.append(cc + c0)
            found_v.append(block[rr, cc])
        return np.concatenate(found_r), np.concatenate(found_c), np.concatenate(found_v)

    return _top(at_least, kth, top_n)


def _small(source: Matrix, name: str) -> NDArray[np.float64]:
    """A matrix small enough to show cell by cell, as float64 (checked finite, NaN where
    masked)."""
    rows = int(source.shape[0])
    data = np.asarray(source[0:rows], dtype=np.float64)
    if isinstance(source, MaskedRows):
        _check_masked(np.asarray(source.data[0:rows]), source.mask[0:rows], 0, name)
    elif not (np.isfinite(data.min()) and np.isfinite(data.max())):
        raise _not_finite(data, 0, name)
    return data


class _Tails:
    """Exact percentiles of a matrix read block by block: the values of rank
    ``ceil(p / 100 * count)`` (numpy's ``"inverted_cdf"``), found by keeping the largest (for
    ``p >= 50``) or smallest values seen, at most twice as many as a tail needs."""

    def __init__(self, percentiles: tuple[float, ...], count: int, name: str) -> None:
        self.ranks = {p: max(1, math.ceil(p / 100 * count)) for p in percentiles}
        self.high_k = max([count - r + 1 for p, r in self.ranks.items() if p >= 50], default=0)
        self.low_k = max([r for p, r in self.ranks.items() if p < 50], default=0)
        if max(self.high_k, self.low_k) > MAX_TAIL:
            raise ValueError(
                f"{name}: a percentile this far from the ends of {count:,} cells needs more "
                f"than {MAX_TAIL:,} of them kept; use one within {100 * MAX_TAIL / count:.2g}% "
                "of 0% or 100%, or a number"
            )
        self.high, self.low = np.empty(0), np.empty(0)
        self.high_floor, self.low_ceiling = -np.inf, np.inf

    def add(self, block: NDArray[Any]) -> None:
        values = block[~np.isnan(block)] if block.dtype.kind == "f" else block.ravel()
        if self.high_k:
            self.high = np.concatenate([self.high, values[values > self.high_floor]])
            if len(self.high) > 2 * self.high_k:
                self.high = np.partition(self.high, len(self.high) - self.high_k)[-self.high_k :]
                self.high_floor = float(self.high.min())
        if self.low_k:
            self.low = np.concatenate([self.low, values[values < self.low_ceiling]])
            if len(self.low) > 2 * self.low_k:
                self.low = np.partition(self.low, self.low_k - 1)[: self.low_k]
                self.low_ceiling = float(self.low.max())

    def values(self, count: int) -> dict[float, float]:
        """``{p: value}``, once every block was added."""
        high, low = np.sort(self.high)[::-1], np.sort(self.low)
        return {
            p: float(high[count - r]) if p >= 50 else float(low[r - 1])
            for p, r in self.ranks.items()
        }


def _cell_count(source: Matrix) -> int:
    if isinstance(source, MaskedRows):
        return int(source.mask.size - np.count_nonzero(source.mask))
    return int(source.shape[0]) * int(source.shape[1])


def _percentiles_of(
    data: NDArray[np.float64], percentiles: tuple[float, ...]
) -> dict[float, float]:
    known = data[~np.isnan(data)]
    return {p: float(np.percentile(known, p, method="inverted_cdf")) for p in percentiles}


def _every_cell_masked(name: str) -> ValueError:
    return ValueError(f"{name}: every cell is masked; there is nothing to draw")


def summarize(
    source: Matrix,
    top_n: int,
    row_bounds: NDArray[np.intp],
    col_bounds: NDArray[np.intp],
    pool: Pool = "max",
    name: str = "matrix",
    percentiles: tuple[float, ...] = (),
) -> MatrixSummary:
    """Read ``source`` once, in row blocks, and pool it into the pixels ``row_bounds`` x
    ``col_bounds`` (see :func:`block_bounds`); the ``percentiles`` (0 to 100) are found in the
    same pass.

    Raises
    ------
    ValueError
        If a value that is not masked is NaN or infinite (naming the first such cell), or every
        cell is masked, before anything is drawn.
    """
    shape = (int(source.shape[0]), int(source.shape[1]))
    masked = isinstance(source, MaskedRows)
    if len(row_bounds) - 1 == shape[0] and len(col_bounds) - 1 == shape[1]:
        data = _small(source, name)
        if masked and np.isnan(data).all():
            raise _every_cell_masked(name)
        tops = top_cells(data, top_n)
        return MatrixSummary(
            shape, float(np.nanmin(data)), float(np.nanmax(data)), *tops[False], data,
            row_bounds, col_bounds, pool, masked, _percentiles_of(data, percentiles), tops[True],
        )  # fmt: skip
    per = (int(row_bounds[1]), int(col_bounds[1]))
    maxima = np.empty((len(row_bounds) - 1, len(col_bounds) - 1))
    means = np.empty_like(maxima) if pool == "mean" else None
    lowest = np.inf
    count = _cell_count(source) if percentiles else 0
    tails = _Tails(percentiles, count, name) if percentiles else None
    for first, end in row_blocks(source, row_bounds):
        r0, r1 = int(row_bounds[first]), int(row_bounds[end])
        block_low, maxima[first:end] = _block_max(source, r0, r1, per, name)
        lowest = min(lowest, block_low)
        if means is not None:
            means[first:end] = _block_mean(source, r0, r1, per)
        if tails is not None:
            tails.add(read_rows(source, r0, r1))
        release(source, r0, r1)
    if masked and np.isnan(maxima).all():
        raise _every_cell_masked(name)
    tops = _pooled_top_cells(source, maxima, (row_bounds, col_bounds), top_n)
    display = maxima if means is None else means
    found = {} if tails is None else tails.values(count)
    return MatrixSummary(
        shape, float(lowest), float(np.nanmax(maxima)), *tops[False], display,
        row_bounds, col_bounds, pool, masked, found, tops[True],
    )  # fmt: skip


def value_range(source: Matrix, name: str = "matrix") -> tuple[float, float]:
    """The smallest and largest value of ``source`` (masked cells left out), read in row blocks.

    Raises
    ------
    ValueError
        If a value is NaN or infinite (naming the first such cell).
    """
    low, high = np.inf, -np.inf
    cols = int(source.shape[1])
    for r0, r1 in row_blocks(source, np.arange(int(source.shape[0]) + 1, dtype=np.intp)):
        block_low, maxima = _block_max(source, r0, r1, (r1 - r0, cols), name)
        low, high = min(low, block_low), float(np.fmax(high, np.nanmax(maxima, initial=-np.inf)))
        release(source, r0, r1)
    return float(low), float(high)


@dataclass(frozen=True, slots=True, eq=False)
class CellImage:
    """The cells as colours: ``indices`` into ``palette`` (RGBA uint8), one per display pixel
    (or per cell at full resolution); ``missing`` is the palette position of masked cells, if
    any."""

    indices: NDArray[np.uint8]
    palette: NDArray[np.uint8]
    missing: int | None = None


def paint(summary: MatrixSummary, scale: ColorScale, source: Matrix | None = None) -> CellImage:
    """The summary's shown values in ``scale``'s colours; with ``source``, every cell of it
    instead (``full_resolution``: read again block by block, one byte per cell kept)."""
    if source is None or not summary.pooled:
        return CellImage(*scale.cell_indices(summary.display))
    rows = int(source.shape[0])
    indices = np.empty((rows, int(source.shape[1])), dtype=np.uint8)
    missing = np.zeros(indices.shape, bool) if summary.masked else None
    bounds = np.arange(rows + 1, dtype=np.intp)
    for first, end in row_blocks(source, bounds, itemsize=8):
        values = read_rows(source, first, end)
        if missing is not None:
            missing[first:end] = np.isnan(values)
            values = np.where(missing[first:end], scale.vmin, values)
        indices[first:end] = scale.indices(values)
        release(source, first, end)
    if missing is None or not missing.any():
        return CellImage(indices, scale.palette)
    return CellImage(*scale.compact(indices, missing))
