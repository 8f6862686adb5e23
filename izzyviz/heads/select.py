"""Which heads a report shows, in which order: chosen pairs, ranked by a head measure."""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from izzyviz._validate import (
    check_index,
    check_optional_count,
    describe,
)
from izzyviz.heads.grid import HeadKey

__all__ = ["MEASURES", "SCALE_OPTIONS", "check_report_options", "select_heads"]


#: Head measures :func:`report` can order by (see :func:`izzyviz.aggregation.head_scores`).
MEASURES = ("entropy", "diagonal_distance", "special_tokens")


def _heatmap_options() -> frozenset[str]:
    from izzyviz.plot import heatmap

    parameters = inspect.signature(heatmap).parameters.values()
    return frozenset(p.name for p in parameters if p.kind is p.KEYWORD_ONLY) - {"title"}


def _check_heads(heads: Any, layers: int, count: int) -> list[HeadKey]:
    if isinstance(heads, (str, bytes)) or not isinstance(heads, Sequence | np.ndarray):
        raise TypeError(
            f"heads: expected a list of (layer, head) pairs or None, got {describe(heads)}"
        )
    result: list[HeadKey] = []
    for n, pair in enumerate(heads):
        try:
            layer, head = pair
        except (TypeError, ValueError):
            raise TypeError(
                f"heads[{n}]: expected a (layer, head) pair, got {describe(pair)}"
            ) from None
        key = (
            check_index(layer, f"heads[{n}] layer", layers, "layers"),
            check_index(head, f"heads[{n}] head", count, "heads"),
        )
        if key in result:
            raise ValueError(f"heads[{n}]: layer {key[0]}, head {key[1]} is listed twice")
        result.append(key)
    if not result:
        raise ValueError("heads: expected at least one (layer, head) pair, got an empty list")
    return result


def select_heads(
    stack: NDArray[np.float64],
    tokens: Sequence[str],
    heads: Any,
    order_by: Any,
    descending: bool,
    top: Any,
    special_tokens: Any,
) -> list[tuple[int, int, float | None]]:
    """The heads a report shows, in page order, with their score when ordered."""
    layers, count = stack.shape[:2]
    chosen = (
        [(i, j) for i in range(layers) for j in range(count)]
        if heads is None
        else _check_heads(heads, layers, count)
    )
    top = check_optional_count(top, "top")
    if order_by is None:
        selected: list[tuple[int, int, float | None]] = [(i, j, None) for i, j in chosen]
    else:
        if order_by not in MEASURES:
            raise ValueError(
                f"order_by: expected None or one of {', '.join(map(repr, MEASURES))}, "
                f"got {describe(order_by)}"
            )
        from izzyviz.aggregation import rank_heads

        wanted = set(chosen)
        ranked = rank_heads(
            stack, list(tokens), order_by, descending, special_tokens=special_tokens
        )
        selected = [(i, j, score) for i, j, score in ranked if (i, j) in wanted]
    return selected[:top]


def check_report_options(options: Mapping[str, Any]) -> None:
    """Refuse options :func:`izzyviz.heatmap` does not take (or that a report sets itself)."""
    allowed = _heatmap_options()
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise TypeError(
            f"report: unknown option(s) {', '.join(unknown)}; heatmap options are "
            f"{', '.join(sorted(allowed))}"
        )


#: The heatmap options a report's overview shares, in :meth:`ScaleRequest.of`'s order, with
#: their defaults.
SCALE_OPTIONS = (
    ("gamma", 1.5),
    ("cmap", "Blues"),
    ("norm", "auto"),
    ("vmin", None),
    ("vmax", None),
)
