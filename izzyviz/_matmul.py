"""Matrix products too small to be worth OpenBLAS's threads.

OpenBLAS splits a product of more than :data:`BLAS_ONE_THREAD` multiply-adds among its
threads, and the idle ones then spin for up to a tenth of a second waiting for more work: for
a cheap product, that costs far more CPU time than the product itself.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["single_threaded_product"]

#: OpenBLAS runs a float32 product on one thread up to this many multiply-adds.
BLAS_ONE_THREAD = 2**18


def single_threaded_product(
    left: NDArray[np.float32], right: NDArray[np.float32]
) -> NDArray[np.float32]:
    """``left @ right`` in blocks of rows each small enough for OpenBLAS to keep on one thread.
    The values are those of the whole product: a row's do not depend on how the rows are split
    among calls (checked bitwise on random shapes), as long as each call has two rows or more
    (a single row goes to the matrix-vector kernel)."""
    rows = BLAS_ONE_THREAD // max(left.shape[1] * right.shape[1], 1)
    if rows < 2 or rows >= left.shape[0]:
        return np.asarray(left @ right, dtype=np.float32)
    out = np.empty((left.shape[0], right.shape[1]), dtype=np.float32)
    for first in range(0, left.shape[0], rows):
        last = min(first + rows, left.shape[0])
        if last - first < 2:  # a single row is a matrix-vector product: another kernel
            first -= 1
        np.matmul(left[first:last], right, out=out[first:last])
    return out
