"""The door for matrices: every array a user hands in is checked and converted here, once.

:func:`as_source` keeps a large matrix as it comes (float16 to float64 and integer numpy arrays,
``numpy.memmap`` files, torch tensors, numpy masked arrays), so the summary stage
(:mod:`izzyviz.summary`) can read it in row blocks without a full-size copy:

* numpy arrays and memmaps come back as they are;
* CPU torch tensors of a numpy dtype come back as a numpy view; other tensors (bfloat16, GPU) as
  :class:`TensorRows`, converted one slice at a time;
* a masked array becomes :class:`MaskedRows`, whose rows read as float64 with NaN where masked.

:func:`read_rows` is how a stage reads a block of any of them. Small-map tools that want a
float64 copy (the analysis views, aggregation) use :func:`as_float_array` / :func:`as_matrix`.
"""

from __future__ import annotations

import math
import mmap
from collections.abc import Iterator
from typing import Any

import numpy as np
from numpy.typing import NDArray

from izzyviz._validate import describe

__all__ = [
    "BLOCK_BYTES",
    "MaskedRows",
    "Matrix",
    "TensorRows",
    "as_float_array",
    "as_matrix",
    "as_source",
    "read_rows",
    "release",
    "row_blocks",
    "strided",
    "sub_matrix",
    "to_numpy",
]

#: About this many bytes of rows are read at a time.
BLOCK_BYTES = 32 * 2**20
#: Sparse tensors are densified up to this many cells (a 4096 x 8192 matrix).
MAX_SPARSE_CELLS = 1 << 25


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


class MaskedRows:
    """A numpy masked array read one block at a time: ``rows[r0:r1]`` is those rows as float64
    with NaN where masked ("no data"); the data and the mask stay as they are (a masked memmap
    stays on disk).

    ``data`` and ``mask`` are the array's values and its boolean mask, both views.
    """

    __slots__ = ("data", "mask", "shape")

    def __init__(self, data: NDArray[Any], mask: NDArray[np.bool_]) -> None:
        self.data, self.mask = data, mask
        self.shape: tuple[int, ...] = tuple(int(n) for n in data.shape)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def dtype(self) -> np.dtype[np.float64]:
        """The dtype its rows are read as."""
        return np.dtype(np.float64)

    def __getitem__(self, key: Any) -> NDArray[np.float64]:
        values = np.array(self.data[key], dtype=np.float64)
        values[self.mask[key]] = np.nan
        return values


Matrix = NDArray[Any] | TensorRows | MaskedRows
"""A 2-D matrix as :func:`as_source` returns it."""


def to_numpy(value: Any, name: str) -> NDArray[Any]:
    """Convert ``value`` (numpy array, torch tensor on any device and dtype, nested sequence or
    anything with ``__array__``) to a numpy array without importing torch."""
    if isinstance(value, np.ndarray):
        return value
    # torch tensors: detach from autograd, move to CPU, and widen dtypes numpy lacks (bfloat16).
    if _is_tensor(value):
        tensor = strided(value.detach(), name)
        if str(getattr(tensor, "dtype", "")) in ("torch.bfloat16", "torch.float16"):
            tensor = tensor.float()
        return np.asarray(tensor.cpu().numpy())
    try:
        return np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"{name}: cannot convert {describe(value)} to an array; expected a numpy array, "
            "a torch tensor or a nested sequence of numbers"
        ) from exc


def _is_tensor(value: Any) -> bool:
    return type(value).__module__.startswith("torch") and hasattr(value, "detach")


def strided(tensor: Any, name: str) -> Any:
    """A torch tensor that holds its values densely: meta tensors (a shape, no values) are
    refused, sparse ones densified when small enough."""
    if getattr(tensor, "is_meta", False):
        raise ValueError(
            f"{name}: got {describe(tensor)} on the 'meta' device, which has a shape but no "
            "values; pass a tensor computed on a real device such as 'cpu' or 'cuda'"
        )
    if str(getattr(tensor, "layout", "torch.strided")) == "torch.strided":
        return tensor
    cells = math.prod(tuple(tensor.shape))
    if cells > MAX_SPARSE_CELLS:
        raise ValueError(
            f"{name}: a sparse tensor of shape {tuple(tensor.shape)} would become {cells:,} "
            f"dense cells, more than {MAX_SPARSE_CELLS:,}; select the part to draw first"
        )
    return tensor.to_dense()


def _mask(array: NDArray[Any], name: str, allowed: bool) -> NDArray[np.bool_] | None:
    """The cells a numpy masked array hides (None when nothing is hidden)."""
    if not isinstance(array, np.ma.MaskedArray):
        return None
    mask = np.ma.getmaskarray(array)
    if not mask.any():
        return None
    if not allowed:
        raise TypeError(
            f"{name}: got a masked array with {int(mask.sum())} masked cells, which this "
            "function cannot draw (izzyviz.heatmap draws them as 'no data'); fill them first, "
            "e.g. with .filled(0)"
        )
    if mask.all():
        raise ValueError(f"{name}: every cell is masked; there is nothing to draw")
    return mask


def _check_shape(array: Any, name: str, ndim: tuple[int, ...], original: Any) -> None:
    if array.ndim not in ndim:
        wanted = " or ".join(f"{n}-D" for n in ndim)
        raise ValueError(f"{name}: expected a {wanted} array, got {describe(original)}")
    if math.prod(array.shape) == 0:
        raise ValueError(f"{name}: expected a non-empty array, got {describe(original)}")
    if isinstance(array, np.ndarray) and array.dtype.kind not in "biuf":
        raise TypeError(f"{name}: expected real numbers, got {describe(original)}")


def as_float_array(
    value: Any, name: str, ndim: int | tuple[int, ...], *, masked: bool = False
) -> NDArray[np.float64]:
    """Return ``value`` as a finite float64 array (a copy) with the given number of dimensions.

    The masked cells of a numpy masked array become NaN when ``masked`` is True; otherwise a
    masked array with masked cells is refused. A NaN or infinity that is not masked is always
    refused.
    """
    array = to_numpy(value, name)
    _check_shape(array, name, (ndim,) if isinstance(ndim, int) else ndim, array)
    mask = _mask(array, name, masked)
    result = np.asarray(array, dtype=np.float64)
    finite = np.isfinite(result)
    if mask is not None:
        finite |= mask
    if not finite.all():
        bad = np.argwhere(~finite)
        where = ", ".join(str(tuple(int(i) for i in idx)) for idx in bad[:3])
        more = f" and {len(bad) - 3} more" if len(bad) > 3 else ""
        raise ValueError(
            f"{name}: expected finite scores, found {result[tuple(bad[0])]} at index {where}{more}"
        )
    return result if mask is None else np.where(mask, np.nan, result)


def as_matrix(value: Any, name: str = "matrix", *, masked: bool = False) -> NDArray[np.float64]:
    """Return ``value`` as a finite, non-empty 2-D float64 array (masked cells as NaN when
    ``masked``, see :func:`as_float_array`)."""
    return as_float_array(value, name, 2, masked=masked)


def as_source(value: Any, name: str = "matrix") -> Matrix:
    """Check ``value`` is a non-empty 2-D matrix of real numbers and return it without copying.

    Values are checked for finiteness later, block by block, when the summary stage reads them.
    A masked array that masks every cell is refused here; one that masks none is read as the
    plain array it holds.
    """
    source: Matrix
    if isinstance(value, np.ma.MaskedArray):
        data = np.ma.getdata(value)
        _check_shape(data, name, (2,), value)
        mask = _mask(value, name, allowed=True)
        return data if mask is None else MaskedRows(data, mask)
    if _is_tensor(value):
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
    _check_shape(source, name, (2,), value)
    return source


def sub_matrix(source: Matrix, rows: slice, cols: slice) -> Matrix:
    """The cells ``[rows, cols]`` of ``source``, as a view (no copy)."""
    if isinstance(source, TensorRows):
        return TensorRows(source.tensor[rows, cols])
    if isinstance(source, MaskedRows):
        return MaskedRows(source.data[rows, cols], source.mask[rows, cols])
    return source[rows, cols]


def read_rows(source: Matrix, r0: int, r1: int) -> NDArray[Any]:
    """Rows ``r0:r1`` as numbers numpy computes with quickly: float16 widened to float32, a
    masked matrix as float64 with NaN where masked, anything else as it is stored."""
    block = source[r0:r1]
    return block.astype(np.float32) if block.dtype == np.float16 else block


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


def release(source: Matrix, r0: int, r1: int) -> None:
    """Hand the pages of rows ``r0:r1`` of a read-only memmap back to the OS (they stay in the
    page cache), so reading a file larger than memory does not grow the process."""
    arrays = (source.data, source.mask) if isinstance(source, MaskedRows) else (source,)
    for array in arrays:
        _release_pages(array, r0, r1)


def _release_pages(array: Any, r0: int, r1: int) -> None:
    handle = getattr(array, "_mmap", None)
    if handle is None or getattr(array, "mode", None) != "r" or not hasattr(handle, "madvise"):
        return
    block = array[r0:r1]
    if not block.flags.c_contiguous:
        return
    base = np.frombuffer(handle, dtype=np.uint8).ctypes.data
    start = block.ctypes.data - base
    first = -(-start // mmap.PAGESIZE) * mmap.PAGESIZE
    last = (start + block.nbytes) // mmap.PAGESIZE * mmap.PAGESIZE
    if last > first:
        handle.madvise(mmap.MADV_DONTNEED, first, last - first)
