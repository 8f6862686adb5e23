"""Argument checks shared by every public function.

Each check raises ``ValueError``, ``TypeError`` or ``IndexError`` with a message that names the
argument, the value received and what was expected, so a user can fix the call without reading
our code.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "as_float_array",
    "as_int",
    "as_matrix",
    "check_bool",
    "check_choice",
    "check_fraction",
    "check_index",
    "check_labels",
    "check_nonnegative",
    "check_nonnegative_int",
    "check_number",
    "check_optional_count",
    "check_optional_text",
    "check_positive",
    "describe",
    "label_text",
    "to_numpy",
]

#: Sparse tensors are densified up to this many cells (a 4096 x 8192 matrix).
MAX_SPARSE_CELLS = 1 << 25


def describe(value: Any, limit: int = 60) -> str:
    """A short, safe ``repr`` of ``value`` for error messages."""
    if isinstance(value, np.ndarray):
        return f"array of shape {value.shape} and dtype {value.dtype}"
    shape = getattr(value, "shape", None)
    if shape is not None and not isinstance(value, (int, float, str)):
        return f"{type(value).__name__} of shape {tuple(shape)}"
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def to_numpy(value: Any, name: str) -> NDArray[Any]:
    """Convert ``value`` (numpy array, torch tensor on any device and dtype, nested sequence or
    anything with ``__array__``) to a numpy array without importing torch."""
    if isinstance(value, np.ndarray):
        return value
    # torch tensors: detach from autograd, move to CPU, and widen dtypes numpy lacks (bfloat16).
    if type(value).__module__.startswith("torch") and hasattr(value, "detach"):
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


def as_float_array(
    value: Any, name: str, ndim: int | tuple[int, ...], *, masked: bool = False
) -> NDArray[np.float64]:
    """Return ``value`` as a finite float64 array with the given number of dimensions.

    The masked cells of a numpy masked array become NaN when ``masked`` is True (the layout
    draws NaN as "no data"); otherwise a masked array with masked cells is refused. A NaN or
    infinity that is not masked is always refused.
    """
    array = to_numpy(value, name)
    allowed = (ndim,) if isinstance(ndim, int) else ndim
    if array.ndim not in allowed:
        wanted = " or ".join(f"{n}-D" for n in allowed)
        raise ValueError(f"{name}: expected a {wanted} array, got {describe(array)}")
    if array.size == 0:
        raise ValueError(f"{name}: expected a non-empty array, got {describe(array)}")
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name}: expected real numbers, got {describe(array)}")
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


def check_bool(value: Any, name: str) -> bool:
    """Return ``value`` after checking it is True or False (a numpy bool too, but not a
    string or a number: ``"no"`` is not False)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name}: expected True or False, got {describe(value)}")
    return bool(value)


def check_choice(value: Any, choices: Iterable[str], name: str) -> str:
    """Return ``value`` after checking it is one of the strings ``choices``."""
    choices = list(choices)
    if not isinstance(value, str) or value not in choices:
        wanted = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name}: expected one of {wanted}, got {describe(value)}")
    return value


def check_number(value: Any, name: str, expected: str, accept: Callable[[float], bool]) -> float:
    """Return ``value`` as a float after checking it is a real number (not a bool) that
    ``accept`` takes; errors say ``expected``. NaN fails every comparison, so a bound rejects it.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name}: expected {expected}, got {describe(value)}")
    number = float(value)
    if not accept(number):
        raise ValueError(f"{name}: expected {expected}, got {number!r}")
    return number


def check_positive(value: Any, name: str) -> float:
    """Return ``value`` as a float after checking it is a finite number greater than zero."""
    return check_number(value, name, "a positive number", lambda x: 0 < x < math.inf)


def check_nonnegative(value: Any, name: str) -> float:
    """Return ``value`` as a float after checking it is a finite number >= 0."""
    return check_number(value, name, "a non-negative number", lambda x: 0 <= x < math.inf)


def check_fraction(value: Any, name: str) -> float:
    """Return ``value`` as a float after checking it is in [0, 1] (an opacity, a share)."""
    return check_number(value, name, "a number between 0 and 1", lambda x: 0 <= x <= 1)


def check_optional_count(value: Any, name: str) -> int | None:
    """Return ``value`` (None, or an integer >= 1, e.g. how many heads to keep) unchanged."""
    if value is not None and (
        isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1
    ):
        raise ValueError(f"{name}: expected a positive integer or None, got {describe(value)}")
    return None if value is None else int(value)


def check_optional_text(value: Any, name: str) -> str | None:
    """Return ``value`` (a string or None, e.g. a title) unchanged after checking its type."""
    if value is not None and not isinstance(value, str):
        raise TypeError(f"{name}: expected a string or None, got {describe(value)}")
    return value


def as_int(value: Any, name: str, expected: str = "an integer") -> int:
    """Return ``value`` as an int if it is a whole number (an int or numpy integer, not a bool
    or a float); otherwise a TypeError saying ``expected``."""
    if isinstance(value, bool):
        raise TypeError(f"{name}: expected {expected}, got {value!r}")
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"{name}: expected {expected}, got {describe(value)}") from None


def check_nonnegative_int(value: Any, name: str, minimum: int = 0) -> int:
    """Return ``value`` as an int after checking it is a whole number >= ``minimum``."""
    expected = {0: "a non-negative integer", 1: "a positive integer"}.get(
        minimum, f"an integer >= {minimum}"
    )
    number = as_int(value, name, expected)
    if number < minimum:
        raise ValueError(f"{name}: expected {expected}, got {number}")
    return number


def check_index(value: Any, name: str, size: int, what: str = "items") -> int:
    """Resolve ``value`` (negative counts from the end) as an index into ``size`` items."""
    index = as_int(value, name, "an integer index")
    if not -size <= index < size:
        raise IndexError(
            f"{name}: index {index} is out of range for {size} {what} "
            f"(expected {-size} to {size - 1})"
        )
    return index % size


def label_text(label: Any, name: str, index: int) -> str:
    """Label ``name[index]`` as text: bytes are decoded as UTF-8 (invalid bytes shown as
    ``\\x..``), numbers written out; None is refused rather than drawn as "None"."""
    if label is None:
        raise TypeError(
            f"{name}[{index}]: expected a string, got None (pass '' for an empty label)"
        )
    if isinstance(label, bytes):
        return label.decode("utf-8", "backslashreplace")
    return str(label)


def check_labels(labels: Any, name: str, count: int, axis: str) -> list[str]:
    """Return ``labels`` as a list of ``count`` strings, one per matrix {axis} (see
    :func:`label_text`)."""
    if isinstance(labels, (str, bytes)) or not isinstance(labels, Sequence | np.ndarray):
        raise TypeError(f"{name}: expected a sequence of strings, got {describe(labels)}")
    result = [label_text(label, name, k) for k, label in enumerate(labels)]
    if len(result) != count:
        raise ValueError(f"{name}: got {len(result)} labels, but the matrix has {count} {axis}")
    return result
