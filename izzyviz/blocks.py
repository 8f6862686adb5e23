"""Large matrices read in row blocks: one pass checks every value, finds the value range, pools
cells into display pixels and narrows down the top cells, without a full-size copy.

A 32k-token map has a billion cells; a page shows about a million pixels. The input is kept as
it comes (:func:`as_source`): float16, float32, float64 or integer numpy arrays, ``numpy.memmap``
files (``np.load(path, mmap_mode="r")``), and torch tensors, viewed by numpy without a copy
when it can (CPU float16/32/64) or converted one slice at a time (:class:`TensorRows`: bfloat16,
GPU tensors). :func:`summarize` then reads about ``BLOCK_BYTES`` of rows at a time.

Two facts keep the pass cheap. Pooling by max commutes with a monotone colour scale, so a
block's colour is the colour of its maximum. And non-negative float16 and bfloat16 values sort
like their bit patterns read as int16, so half-precision attention needs no float conversion for
its maxima (numpy converts float16 slowly); blocks with a negative value take the float path.
Pages of a read-only memmap are handed back to the OS once their block is read, so the process
does not end up holding the whole file.
"""

from __future__ import annotations

import mmap
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from numpy.typing import NDArray

from izzyviz._validate import as_float_array, describe, strided, to_numpy

if TYPE_CHECKING:
    from izzyviz.colors import ColorScale

__all__ = [
    "BLOCK_BYTES",
    "POOL_RULES",
    "MatrixSummary",
    "TensorRows",
    "as_source",
    "block_bounds",
    "color_indices",
    "sub_matrix",
    "summarize",
    "top_cells",
    "value_range",
]

BLOCK_BYTES = 32 * 2**20
POOL_RULES = ("max", "mean")
#: At most this many top cells are kept from a pooled map when values tie (a constant matrix
#: would otherwise mark every one of its cells).
MAX_TOP_CELLS = 1000

Pool = Literal["max", "mean"]


class TensorRows:
    """A torch tensor numpy cannot view (bfloat16, or on a GPU), converted to float32 numpy one
    slice at a time: ``rows[r0:r1]`` copies those rows only.

    ``bits`` is the int16 view of a CPU bfloat16 tensor (no copy), for the bit-pattern fast path.
    """

    __slots__ = ("bits", "dtype", "shape", "tensor")

    def __init__(self, tensor: Any) -> None:
        self.tensor = tensor.detach()
        self.shape: tuple[int, ...] = tuple(int(n) for n in tensor.shape)
        self.dtype = str(tensor.dtype).removeprefix("torch.")
        bits = None
        if self.dtype == "bfloat16" and self.tensor.device.type == "cpu":
            import torch

            bits = self.tensor.contiguous().view(torch.int16).numpy()
        self.bits: NDArray[np.int16] | None = bits

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __getitem__(self, key: Any) -> NDArray[np.float32]:
        return np.asarray(self.tensor[key].float().cpu().numpy())


Matrix = NDArray[Any] | TensorRows
"""A 2-D matrix as :func:`as_source` returns it."""


def sub_matrix(source: Matrix, rows: slice, cols: slice) -> Matrix:
    """The cells ``[rows, cols]`` of ``source``, as a view (no copy)."""
    if isinstance(source, TensorRows):
        return TensorRows(source.tensor[rows, cols])
    return source[rows, cols]


def as_source(value: Any, name: str = "matrix") -> Matrix:
    """Check ``value`` is a non-empty 2-D matrix of real numbers and return it without copying.

    numpy arrays and memmaps come back as they are, CPU torch tensors of a numpy dtype as a numpy
    view, other tensors (bfloat16, GPU) as :class:`TensorRows`, nested lists as an array. Values
    are checked for finiteness later, block by block, by :func:`summarize`. A numpy masked
    array (in memory anyway) becomes float64, and is refused if it masks cells.
    """
    source: Matrix
    if isinstance(value, np.ma.MaskedArray):
        return as_float_array(value, name, 2)
    if type(value).__module__.startswith("torch") and hasattr(value, "detach"):
        tensor = strided(value.detach(), name)
        numpy_dtype = str(tensor.dtype) in ("torch.float16", "torch.float32", "torch.float64")
        if numpy_dtype and tensor.device.type == "cpu":
            source = tensor.resolve_conj().numpy()
        elif tensor.is_floating_point():
            source = TensorRows(tensor)
        else:
            source = to_numpy(value, name)
    else:
        source = to_numpy(value, name)
    if source.ndim != 2:
        raise ValueError(f"{name}: expected a 2-D array, got {describe(value)}")
    if source.shape[0] == 0 or source.shape[1] == 0:
        raise ValueError(f"{name}: expected a non-empty array, got {describe(value)}")
    if isinstance(source, np.ndarray) and source.dtype.kind not in "biuf":
        raise TypeError(f"{name}: expected real numbers, got {describe(value)}")
    return source


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
        Its smallest and largest value.
    top_rows, top_cols, top_values
        The top cells (row-major order) and their values, exact on the full matrix.
    display
        The values shown: the matrix itself (float64) when every cell gets a pixel, else one
        value per pixel, pooled by ``pool``.
    row_bounds, col_bounds
        Cell indices where display pixels start, plus the end.
    pool
        How cells were pooled: ``"max"`` or ``"mean"``.
    masked
        Whether NaN marks masked cells ("no data"): they are left out of the range, the top
        cells and the pooling; a pixel of masked cells only is NaN.
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

    @property
    def pooled(self) -> bool:
        """Whether pixels hold more than one cell."""
        return self.display.shape != self.shape

    @property
    def cells_per_pixel(self) -> tuple[int, int]:
        """How many rows and columns one pixel holds (the last row and column of pixels may
        hold fewer)."""
        return int(self.row_bounds[1]), int(self.col_bounds[1])

    @property
    def note(self) -> str:
        """Small print saying how pixels were pooled, e.g. ``"each pixel: max of 4 × 4
        cells"``."""
        rows, cols = self.cells_per_pixel
        return f"each pixel: {self.pool} of {rows} × {cols} cells"


def top_cells(matrix: NDArray[Any], top_n: int) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Row and column indices (row-major order) of the cells whose value is at least the
    ``top_n``-th largest, ties included. NaN cells (masked) are never top cells."""
    if top_n <= 0:
        return np.empty(0, np.intp), np.empty(0, np.intp)
    flat = matrix.ravel()
    if np.isnan(flat).any():
        flat = flat[~np.isnan(flat)]
    threshold = (
        np.partition(flat, flat.size - top_n)[flat.size - top_n] if top_n < flat.size else -np.inf
    )
    rows, cols = np.nonzero(matrix >= threshold)
    return rows, cols


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
    if source.dtype == np.float16:
        return source.view(np.int16), "float16"
    return None


def _rows(source: Matrix, r0: int, r1: int) -> NDArray[Any]:
    block = source[r0:r1]
    return block.astype(np.float32) if block.dtype == np.float16 else block


def _pool(values: NDArray[Any], per: int, axis: int, ufunc: np.ufunc) -> NDArray[Any]:
    """Combine each run of ``per`` rows (``axis=0``) or columns (``axis=1``) with ``ufunc``
    (``np.maximum`` or ``np.add``), the last run possibly shorter: ``per`` whole-array
    operations on strided views, far faster than ``ufunc.reduceat`` on short runs."""
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


def _block_max(
    source: Matrix, r0: int, r1: int, per: tuple[int, int], name: str
) -> tuple[float, NDArray[np.float64]]:
    """The minimum of rows ``r0:r1`` and their maxima pooled ``per`` cells to a pixel; raises
    on a value that is not finite."""
    half = _half_bits(source)
    if half is not None:
        bits, kind = half
        block = bits[r0:r1]
        lowest = int(block.min())
        if lowest >= 0:  # no sign bit set: bits order like values
            top_bits, widen = _HALF[kind]
            maxima = _pool(_pool(block, per[0], 0, np.maximum), per[1], 1, np.maximum)
            if int(maxima.max()) > top_bits:
                raise _not_finite(_rows(source, r0, r1), r0, name)
            lowest_value = float(widen(np.array([lowest], dtype=np.int16))[0])
            return lowest_value, widen(maxima).astype(np.float64)
    values = _rows(source, r0, r1)
    lowest_value = float(values.min())
    maxima = _pool(_pool(values, per[0], 0, np.maximum), per[1], 1, np.maximum)
    if not (np.isfinite(lowest_value) and np.isfinite(maxima.max())):
        raise _not_finite(values, r0, name)
    return lowest_value, maxima.astype(np.float64)


def _block_mean(source: Matrix, r0: int, r1: int, per: tuple[int, int]) -> NDArray[np.float64]:
    """Rows ``r0:r1`` pooled ``per`` cells to a pixel by their mean."""
    values = _rows(source, r0, r1).astype(np.float64)
    sums = _pool(_pool(values, per[0], 0, np.add), per[1], 1, np.add)
    rows = np.diff(np.append(np.arange(0, r1 - r0, per[0]), r1 - r0))
    cols = np.diff(np.append(np.arange(0, values.shape[1], per[1]), values.shape[1]))
    return sums / np.outer(rows, cols)


def _release(source: Matrix, r0: int, r1: int) -> None:
    """Hand the pages of rows ``r0:r1`` of a read-only memmap back to the OS (they stay in the
    page cache), so reading a file larger than memory does not grow the process."""
    handle = getattr(source, "_mmap", None)
    if handle is None or getattr(source, "mode", None) != "r" or not hasattr(handle, "madvise"):
        return
    block = source[r0:r1]
    if not block.flags.c_contiguous:
        return
    base = np.frombuffer(handle, dtype=np.uint8).ctypes.data
    start = block.ctypes.data - base
    first = -(-start // mmap.PAGESIZE) * mmap.PAGESIZE
    last = (start + block.nbytes) // mmap.PAGESIZE * mmap.PAGESIZE
    if last > first:
        handle.madvise(mmap.MADV_DONTNEED, first, last - first)


def row_blocks(
    source: Matrix, bounds: NDArray[np.intp], itemsize: int | None = None
) -> Iterator[tuple[int, int]]:
    """``(first, end)`` indices into ``bounds`` covering about ``BLOCK_BYTES`` of rows each."""
    size: int = itemsize or int(getattr(source.dtype, "itemsize", 4))
    per_row = max(1, source.shape[1] * size)
    rows_per_block = max(1, BLOCK_BYTES // per_row)
    first = 0
    groups = len(bounds) - 1
    while first < groups:
        end = int(np.searchsorted(bounds, bounds[first] + rows_per_block, side="right")) - 1
        end = min(max(end, first + 1), groups)
        yield first, end
        first = end


def _pooled_top_cells(
    source: Matrix, maxima: NDArray[np.float64], summary_bounds: tuple[Any, Any], top_n: int
) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.float64]]:
    """The exact top cells: only pixels whose maximum reaches the ``top_n``-th largest pixel
    maximum can hold one (that value is at most the ``top_n``-th largest cell), so only their
    cells are read again."""
    empty = np.empty(0, np.intp)
    if top_n <= 0:
        return empty, empty, np.empty(0)
    row_bounds, col_bounds = summary_bounds
    flat = maxima.ravel()
    floor = np.partition(flat, max(flat.size - top_n, 0))[max(flat.size - top_n, 0)]
    found_r, found_c, found_v = [], [], []
    candidates = np.flatnonzero(flat >= floor)
    if len(candidates) > MAX_TOP_CELLS:  # many ties: keep the pixels above the floor first
        candidates = candidates[np.argsort(-flat[candidates], kind="stable")[:MAX_TOP_CELLS]]
    for pixel in np.sort(candidates).tolist():
        i, j = divmod(pixel, maxima.shape[1])
        r0, c0 = int(row_bounds[i]), int(col_bounds[j])
        block = np.asarray(source[r0 : row_bounds[i + 1], c0 : col_bounds[j + 1]], np.float64)
        rr, cc = np.nonzero(block >= floor)
        found_r.append(rr + r0)
        found_c.append(cc + c0)
        found_v.append(block[rr, cc])
    rows, cols = np.concatenate(found_r), np.concatenate(found_c)
    values: NDArray[np.float64] = np.concatenate(found_v)
    k = min(top_n, len(values))
    threshold = np.partition(values, len(values) - k)[len(values) - k]
    keep = np.flatnonzero(values >= threshold)
    if len(keep) > MAX_TOP_CELLS:  # the largest first, then ties
        keep = keep[np.argsort(-values[keep], kind="stable")[:MAX_TOP_CELLS]]
    keep = keep[np.lexsort((cols[keep], rows[keep]))]
    return rows[keep].astype(np.intp), cols[keep].astype(np.intp), values[keep]


def _small(source: Matrix, name: str) -> tuple[NDArray[np.float64], float]:
    """A matrix small enough to show cell by cell, as float64 (checked finite)."""
    data = np.asarray(source[:, :], dtype=np.float64)
    lowest, highest = float(data.min()), float(data.max())
    if not (np.isfinite(lowest) and np.isfinite(highest)):
        raise _not_finite(data, 0, name)
    return data, lowest


def _masked_summary(
    data: NDArray[np.float64],
    top_n: int,
    row_bounds: NDArray[np.intp],
    col_bounds: NDArray[np.intp],
    pool: Pool,
) -> MatrixSummary:
    """The summary of a masked matrix: float64 in memory (a masked array is), NaN where masked.
    Masked cells are left out of the range, the top cells and the pooling."""
    rows, cols = top_cells(data, top_n)
    per = (int(row_bounds[1]), int(col_bounds[1]))
    if pool == "max":
        display = _pool(_pool(data, per[0], 0, np.fmax), per[1], 1, np.fmax)
    else:
        known = ~np.isnan(data)
        sums = _pool(_pool(np.where(known, data, 0.0), per[0], 0, np.add), per[1], 1, np.add)
        counts = _pool(_pool(known.astype(np.float64), per[0], 0, np.add), per[1], 1, np.add)
        with np.errstate(invalid="ignore"):  # a pixel of masked cells only: 0 / 0 = NaN
            display = sums / counts
    return MatrixSummary(
        (int(data.shape[0]), int(data.shape[1])), float(np.nanmin(data)), float(np.nanmax(data)),
        rows, cols, data[rows, cols], display, row_bounds, col_bounds, pool, masked=True,
    )  # fmt: skip


def summarize(
    source: Matrix,
    top_n: int,
    row_bounds: NDArray[np.intp],
    col_bounds: NDArray[np.intp],
    pool: Pool = "max",
    name: str = "matrix",
    *,
    masked: bool = False,
) -> MatrixSummary:
    """Read ``source`` once, in row blocks, and pool it into the pixels ``row_bounds`` x
    ``col_bounds`` (see :func:`block_bounds`). With ``masked``, ``source`` is a float64 array
    whose NaN cells are masked ("no data") rather than errors.

    Raises
    ------
    ValueError
        If a value is NaN or infinite (naming the first such cell), before anything is drawn.
    """
    if masked:
        return _masked_summary(np.asarray(source), top_n, row_bounds, col_bounds, pool)
    shape = (int(source.shape[0]), int(source.shape[1]))
    if len(row_bounds) - 1 == shape[0] and len(col_bounds) - 1 == shape[1]:
        data, lowest = _small(source, name)
        rows, cols = top_cells(data, top_n)
        return MatrixSummary(
            shape, lowest, float(data.max()), rows, cols, data[rows, cols], data,
            row_bounds, col_bounds, pool,
        )  # fmt: skip
    per = (int(row_bounds[1]), int(col_bounds[1]))
    maxima = np.empty((len(row_bounds) - 1, len(col_bounds) - 1))
    means = np.empty_like(maxima) if pool == "mean" else None
    lowest = np.inf
    for first, end in row_blocks(source, row_bounds):
        r0, r1 = int(row_bounds[first]), int(row_bounds[end])
        block_low, maxima[first:end] = _block_max(source, r0, r1, per, name)
        lowest = min(lowest, block_low)
        if means is not None:
            means[first:end] = _block_mean(source, r0, r1, per)
        _release(source, r0, r1)
    rows, cols, values = _pooled_top_cells(source, maxima, (row_bounds, col_bounds), top_n)
    display = maxima if means is None else means
    return MatrixSummary(
        shape, float(lowest), float(maxima.max()), rows, cols, values, display,
        row_bounds, col_bounds, pool,
    )  # fmt: skip


def value_range(source: Matrix, name: str = "matrix") -> tuple[float, float]:
    """The smallest and largest value of ``source``, read in row blocks.

    Raises
    ------
    ValueError
        If a value is NaN or infinite (naming the first such cell).
    """
    low, high = np.inf, -np.inf
    cols = int(source.shape[1])
    for r0, r1 in row_blocks(source, np.arange(int(source.shape[0]) + 1, dtype=np.intp)):
        block_low, maxima = _block_max(source, r0, r1, (r1 - r0, cols), name)
        low, high = min(low, block_low), max(high, float(maxima.max()))
        _release(source, r0, r1)
    return float(low), float(high)


def color_indices(source: Matrix, scale: ColorScale) -> NDArray[np.uint8]:
    """The colormap entry of every cell of ``source``, computed row block by row block (for
    ``full_resolution`` maps: the result is the only full-size array, one byte per cell)."""
    rows = int(source.shape[0])
    out = np.empty((rows, int(source.shape[1])), dtype=np.uint8)
    bounds = np.arange(rows + 1, dtype=np.intp)
    for first, end in row_blocks(source, bounds, itemsize=8):
        out[first:end] = scale.indices(_rows(source, first, end))
        _release(source, first, end)
    return out
