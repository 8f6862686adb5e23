"""The scan statistic of region detection: how strongly a window's raised cells say "block".

A window of ``cells`` cells holding ``count`` raised cells, on a map of ``total`` cells that
raises a share ``rate`` of them, is scored with Kulldorff's Bernoulli likelihood ratio (Kulldorff
1997): one raised share inside the window and another outside it, against one share everywhere.
:mod:`izzyviz.region_scan` tests windows with it, :mod:`izzyviz.region_fit` the fitted blocks.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

__all__ = ["MIN_SHARE", "binomial_ratio", "binomial_ratios", "least_count"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: A window (and a block) has at least this share of its cells raised.
MIN_SHARE = 0.5


def _xlogy(x: FloatArray, y: FloatArray) -> FloatArray:
    """``x * log(y)``, 0 where ``x`` is 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(x > 0, x * np.log(np.where(x > 0, y, 1.0)), 0.0)


def binomial_ratios(counts: IntArray, cells: IntArray, rate: float, total: int) -> FloatArray:
    """Kulldorff's Bernoulli scan ratio of windows holding ``counts`` raised cells among
    ``cells``, on a map of ``total`` cells that raises a share ``rate`` of them: how much better
    one raised share inside the window and another outside it explain the map than ``rate``
    everywhere (0 when the window's share is not above the rest's). On a large map it is
    ``cells * KL(count / cells || rate)``; where a window is a sizeable part of the map (a block
    in a 9-token map), the cells it leaves out are the background, and the ratio says so."""
    hits: FloatArray = np.asarray(counts, dtype=np.float64)
    size: FloatArray = np.asarray(cells, dtype=np.float64)
    rest = np.maximum(total - size, 1.0)
    rest_hits = np.clip(rate * total - hits, 0.0, rest)
    inside, outside = hits / size, rest_hits / rest
    pooled = (hits + rest_hits) / (size + rest)
    ratio = (
        _xlogy(hits, inside) + _xlogy(size - hits, 1.0 - inside)
        + _xlogy(rest_hits, outside) + _xlogy(rest - rest_hits, 1.0 - outside)
        - _xlogy(hits + rest_hits, pooled) - _xlogy(size + rest - hits - rest_hits, 1.0 - pooled)
    )  # fmt: skip
    return np.where(inside > outside, np.maximum(ratio, 0.0), 0.0)


def _xlog(x: float, y: float) -> float:
    return x * math.log(y) if x > 0 else 0.0


def binomial_ratio(count: int, cells: int, rate: float, total: int) -> float:
    """:func:`binomial_ratios` of one window (in plain floats: the bisection of
    :func:`least_count` calls it often)."""
    rest = max(total - cells, 1.0)
    rest_hits = min(max(rate * total - count, 0.0), rest)
    inside, outside = count / cells, rest_hits / rest
    if inside <= outside:
        return 0.0
    pooled = (count + rest_hits) / (cells + rest)
    ratio = (
        _xlog(count, inside) + _xlog(cells - count, 1.0 - inside)
        + _xlog(rest_hits, outside) + _xlog(rest - rest_hits, 1.0 - outside)
        - _xlog(count + rest_hits, pooled) - _xlog(cells + rest - count - rest_hits, 1.0 - pooled)
    )  # fmt: skip
    return max(ratio, 0.0)


def least_count(cells: int, rate: float, critical: float, total: int) -> int | None:
    """The fewest raised cells among ``cells`` whose ratio (:func:`binomial_ratio`) reaches
    ``critical``, and at least :data:`MIN_SHARE` of them (None if even all do not): the ratio
    grows with the count, so a bisection finds it."""
    if binomial_ratio(cells, cells, rate, total) < critical:
        return None
    low, high = int(cells * rate), cells
    while high - low > 1:
        middle = (low + high) // 2
        above = binomial_ratio(middle, cells, rate, total) >= critical
        low, high = (low, middle) if above else (middle, high)
    return max(high, math.ceil(MIN_SHARE * cells))
