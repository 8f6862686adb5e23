"""Argument checks shared by every public function.

Each check raises ``ValueError``, ``TypeError`` or ``IndexError`` with a message that names the
argument, the value received and what was expected, so a user can fix the call without reading
our code.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Literal

import numpy as np

__all__ = [
    "as_int",
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
    "check_regions",
    "check_show_values",
    "check_special_tokens",
    "describe",
    "label_text",
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


def check_regions(
    regions: Any, shape: tuple[int, ...], name: str = "regions"
) -> list[tuple[int, int, int, int]]:
    """Validate ``((row0, col0), (row1, col1))`` inclusive cell ranges against a matrix shape;
    returns them as ``(row0, col0, row1, col1)`` tuples."""
    if regions is None:
        return []
    if isinstance(regions, (str, bytes)) or not isinstance(regions, Iterable):
        raise TypeError(
            f"{name}: expected a list of ((row0, col0), (row1, col1)) pairs, "
            f"got {describe(regions)}"
        )
    result: list[tuple[int, int, int, int]] = []
    for k, region in enumerate(regions):
        try:
            (r0, c0), (r1, c1) = region
            r0, c0, r1, c1 = (int(v) for v in (r0, c0, r1, c1))
            if any(int(v) != v for v in np.ravel(region)):
                raise ValueError
        except (TypeError, ValueError):
            raise TypeError(
                f"{name}[{k}]: expected ((row0, col0), (row1, col1)) with integer "
                f"indices, got {describe(region)}"
            ) from None
        rows, cols = shape
        if r0 > r1 or c0 > c1:
            raise ValueError(
                f"{name}[{k}]: the top-left cell {(r0, c0)} must not lie below or "
                f"right of the bottom-right cell {(r1, c1)}"
            )
        if not (0 <= r0 and r1 < rows and 0 <= c0 and c1 < cols):
            raise IndexError(
                f"{name}[{k}]: cells {(r0, c0)}..{(r1, c1)} fall outside the "
                f"{rows} x {cols} matrix (rows 0-{rows - 1}, columns 0-{cols - 1})"
            )
        result.append((r0, c0, r1, c1))
    return result


def check_special_tokens(tokens: Any) -> frozenset[str]:
    """``special_tokens`` as a set of strings (a lone string is a mistake, not a set of
    characters)."""
    if isinstance(tokens, (str, bytes)) or not isinstance(tokens, Iterable):
        raise TypeError(
            f"special_tokens: expected a collection of token strings such as {{'[CLS]', "
            f"'[SEP]'}}, got {describe(tokens)}"
        )
    result = frozenset(tokens)
    bad = [t for t in result if not isinstance(t, str)]
    if bad:
        raise TypeError(f"special_tokens: expected strings, got {describe(bad[0])}")
    return result


def check_show_values(value: Any) -> bool | Literal["all"]:
    """``show_values``: True, False (numpy bools too) or ``"all"``."""
    if isinstance(value, str) and value == "all":
        return "all"
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"show_values: expected True, False or 'all', got {describe(value)}")
    return bool(value)
