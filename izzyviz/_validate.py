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
    "to_numpy",
]


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
        tensor = value.detach()
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


def as_float_array(value: Any, name: str, ndim: int | tuple[int, ...]) -> NDArray[np.float64]:
    """Return ``value`` as a finite float64 array with the given number of dimensions."""
    array = to_numpy(value, name)
    allowed = (ndim,) if isinstance(ndim, int) else ndim
    if array.ndim not in allowed:
        wanted = " or ".join(f"{n}-D" for n in allowed)
        raise ValueError(f"{name}: expected a {wanted} array, got {describe(array)}")
    if array.size == 0:
        raise ValueError(f"{name}: expected a non-empty array, got {describe(array)}")
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name}: expected real numbers, got {describe(array)}")
    result = np.asarray(array, dtype=np.float64)
    finite = np.isfinite(result)
    if not finite.all():
        bad = np.argwhere(~finite)
        where = ", ".join(str(tuple(int(i) for i in idx)) for idx in bad[:3])
        more = f" and {len(bad) - 3} more" if len(bad) > 3 else ""
        raise ValueError(
            f"{name}: expected finite scores, found {result[tuple(bad[0])]} at index {where}{more}"
        )
    return result


def as_matrix(value: Any, name: str = "matrix") -> NDArray[np.float64]:
    """Return ``value`` as a finite, non-empty 2-D float64 array."""
    return as_float_array(value, name, 2)


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


def check_labels(labels: Any, name: str, count: int, axis: str) -> list[str]:
    """Return ``labels`` as a list of ``count`` strings, one per matrix {axis}."""
    if isinstance(labels, str) or not isinstance(labels, Sequence | np.ndarray):
        raise TypeError(f"{name}: expected a sequence of strings, got {describe(labels)}")
    result = [str(label) for label in labels]
    if len(result) != count:
        raise ValueError(f"{name}: got {len(result)} labels, but the matrix has {count} {axis}")
    return result
