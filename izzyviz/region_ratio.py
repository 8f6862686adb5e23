"""The scan statistic of region detection: how strongly a window's raised cells say "block".

A window of ``cells`` cells holding ``count`` raised cells, on a map of ``total`` cells that
raises a share ``rate`` of them, is scored with Kulldorff's Bernoulli likelihood ratio (Kulldorff
1997): one raised share inside the window and another outside it, against one share everywhere.
:mod:`izzyviz.region_scan` tests windows with it, :mod:`izzyviz.region_fit` the fitted blocks.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from numpy.typing import NDArray

__all__ = ["MIN_SHARE", "binomial_ratio", "binomial_ratios", "least_counts"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: A window (and a block) has at least this share of its cells raised.
MIN_SHARE = 0.5


def _xlogy(x: FloatArray, y: FloatArray) -> FloatArray:
    """``x * log(y)``, 0 where ``x`` is 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(x > 0, x * np.log(np.where(x > 0, y, 1.0)), 0.0)


def binomial_ratios(
    counts: IntArray, cells: IntArray, rate: float | FloatArray, total: int
) -> FloatArray:
    """Kulldorff's Bernoulli scan ratio of windows holding ``counts`` raised cells among
    ``cells``, on a map of ``total`` cells that raises a share ``rate`` of them (a number, or
    one per window): how much better one raised share inside the window and another outside it
    explain the map than ``rate`` everywhere (0 when the window's share is not above the
    rest's). On a large map it is ``cells * KL(count / cells || rate)``; where a window is a
    sizeable part of the map (a block in a 9-token map), the cells it leaves out are the
    background, and the ratio says so."""
    hits: FloatArray = np.asarray(counts, dtype=np.float64)
    size: FloatArray = np.asarray(cells, dtype=np.float64)
    rest = np.maximum(total - size, 1.0)
    rest_hits = np.clip(np.asarray(rate) * total - hits, 0.0, rest)
    inside, outside = hits / size, rest_hits / rest
    pooled = (hits + rest_hits) / (size + rest)
    ratio = (
        _xlogy(hits, inside) + _xlogy(size - hits, 1.0 - inside)
        + _xlogy(rest_hits, outside) + _xlogy(rest - rest_hits, 1.0 - outside)
        - _xlogy(hits + rest_hits, pooled) - _xlogy(size + rest - hits - rest_hits, 1.0 - pooled)
    )  # fmt: skip
    return np.where(inside > outside, np.maximum(ratio, 0.0), 0.0)


def binomial_ratio(count: int, cells: int, rate: float, total: int) -> float:
    """:func:`binomial_ratios` of one window."""
    return float(binomial_ratios(np.array(count), np.array(cells), rate, total))


def least_counts(
    areas: Iterable[int], rate: float, critical: float, total: int
) -> dict[int, int | None]:
    """For windows of each of ``areas`` cells: the fewest raised cells whose ratio
    (:func:`binomial_ratios`) reaches ``critical``, and at least :data:`MIN_SHARE` of them (None
    if even all do not). Every count from that share up, for every area, in one call."""
    cells = np.array(sorted(set(areas)), dtype=np.int64)
    firsts = np.ceil(MIN_SHARE * cells).astype(np.int64)
    lengths = cells - firsts + 1
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    counts = np.arange(int(lengths.sum())) - np.repeat(starts - firsts, lengths)
    ratios = binomial_ratios(counts, np.repeat(cells, lengths), rate, total)
    reached = np.append(np.flatnonzero(ratios >= critical), counts.size)  # an end marker
    first = reached[np.searchsorted(reached, starts)]  # each area's first count that reaches
    return {
        int(area): int(counts[k]) if k < start + length else None
        for area, k, start, length in zip(cells, first, starts, lengths, strict=True)
    }
