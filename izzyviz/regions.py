"""Automatic detection of rectangular regions of high attention.

:func:`find_attention_regions_with_merging` returns the blocks of a map: rectangles, at least
two rows by two columns, whose cells are raised together above the map's own background. The
evidence is spatial (:mod:`izzyviz.region_scan`): many adjacent cells raised at once, which a
single heavy-tailed cell, an attention-sink column or a diagonal band never is. Nearby blocks
of similar values are then merged, and one region kept per neighbourhood, as in the original
IzzyViz.

Rectangles are ``(top, left, bottom, right)`` tuples of inclusive row/column indices.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from izzyviz._validate import check_nonnegative_int, check_positive, describe
from izzyviz.region_fit import find_blocks
from izzyviz.region_scan import Cells
from izzyviz.source import as_matrix

__all__ = ["find_attention_regions_with_merging", "regions_to_corners"]

Rect = tuple[int, int, int, int]
"""An inclusive ``(top, left, bottom, right)`` rectangle of matrix cells."""

FloatArray = NDArray[np.float64]


# --------------------------------------------------------------------------------------------
# Merging and suppression
# --------------------------------------------------------------------------------------------


def _gap(low_a: int, high_a: int, low_b: int, high_b: int) -> int:
    """Number of whole rows (or columns) strictly between two index ranges; 0 if they touch."""
    return max(low_a - high_b - 1, low_b - high_a - 1, 0)


def _close(a: Rect, b: Rect, distance: int) -> bool:
    """True if ``a`` and ``b`` overlap or are at most ``distance`` cells apart on both axes."""
    return _gap(a[0], a[2], b[0], b[2]) <= distance and _gap(a[1], a[3], b[1], b[3]) <= distance


def _contains(outer: Rect, inner: Rect) -> bool:
    return (
        outer[0] <= inner[0]
        and outer[1] <= inner[1]
        and outer[2] >= inner[2]
        and outer[3] >= inner[3]
    )


def _bounding_box(a: Rect, b: Rect) -> Rect:
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


# Standard deviations closer than this (normalised units) are treated as equal.
_STD_TOLERANCE = 1e-12


def _homogeneous_union(cells: Cells, a: Rect, b: Rect, std_threshold: float) -> bool:
    """The merge test: is the bounding box of ``a`` and ``b`` about as uniform as they are?

    Merge when ``std(box) <= weighted_std / std_threshold``, ``weighted_std`` being the
    cell-count-weighted mean of the two standard deviations; two constant rectangles merge
    only if the box is constant too.
    """
    cells_a, cells_b = cells(a), cells(b)
    weighted = (cells_a.size * float(cells_a.std()) + cells_b.size * float(cells_b.std())) / (
        cells_a.size + cells_b.size
    )
    union = float(cells(_bounding_box(a, b)).std())
    return union <= weighted / std_threshold + _STD_TOLERANCE


def _merge(cells: Cells, rects: list[Rect], proximity: int, std_threshold: float) -> None:
    """Merge, in place, pairs of rectangles that nest, or lie within ``proximity`` cells of
    each other and pass the merge test, until no pair does."""
    rejected: set[tuple[Rect, Rect]] = set()
    while pair := _mergeable_pair(cells, rects, proximity, std_threshold, rejected):
        i, j = pair
        rects[i] = _bounding_box(rects[i], rects[j])
        del rects[j]


def _mergeable_pair(
    cells: Cells,
    rects: list[Rect],
    proximity: int,
    std_threshold: float,
    rejected: set[tuple[Rect, Rect]],
) -> tuple[int, int] | None:
    """The first pair (in list order) to merge, or None; pairs found not to merge are added
    to ``rejected``, so that they are tested once."""
    for i, a in enumerate(rects):
        for j in range(i + 1, len(rects)):
            b = rects[j]
            if _contains(a, b) or _contains(b, a):
                return i, j
            if (a, b) in rejected or not _close(a, b, proximity):
                continue
            if _homogeneous_union(cells, a, b, std_threshold):
                return i, j
            rejected.add((a, b))
    return None


def _suppress(ranked: list[Rect], distance: int) -> list[Rect]:
    """Non-maximum suppression: drop each rectangle that overlaps a rectangle ranked before it,
    or is separated from one by fewer than ``distance`` rows and fewer than ``distance``
    columns (the original's rule for seeds: more than ``distance`` cells apart)."""
    kept: list[Rect] = []
    for rect in ranked:
        if not any(_too_near(rect, other, distance) for other in kept):
            kept.append(rect)
    return kept


def _too_near(a: Rect, b: Rect, distance: int) -> bool:
    overlap = a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]
    gaps = _gap(a[0], a[2], b[0], b[2]), _gap(a[1], a[3], b[1], b[3])
    return overlap or max(gaps) < distance


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def find_attention_regions_with_merging(
    attention_matrix: Any,
    n_seeds: int = 3,
    min_distance: int = 2,
    expansion_threshold: float = 0.7,
    merge_std_threshold: float = 0.6,
    proximity_threshold: int = 2,
    max_expansion_steps: int = 3,
) -> list[tuple[int, int, int, int]]:
    """Find up to ``n_seeds`` rectangular regions of high attention: blocks of cells raised
    together above the map's background.

    1. **Blocks** (:func:`izzyviz.region_fit.find_blocks`). The background is modelled from
       the map itself, in ``log(value)``: row levels (softmax rows), column effects (attention
       sinks) and diagonal effects (positional bands). Windows of 2 x 2 cells up to half the
       map that hold more cells raised above it than the background explains (Kulldorff's
       Bernoulli scan statistic, with at most about a 5% chance of any false block on a map
       without one) are fitted to rectangles. A region spans at least two rows and two
       columns: a single cell, however bright, and a line one cell wide (what is left of a
       sink or a band) are not blocks.
       Nor is a rectangle among raised cells: on maps of 16 tokens or more, most of a block
       (its lower quartile) is at least 1.6 times as bright, against the background, as most
       of a frame around it as wide as itself (its upper quartile), which a bright stretch of
       a band, the crossing of a row band and a column stripe or a piece of a larger cluster
       is not.
       And it is bright against the rest of its rows: its lower quartile is at least 2.5 times
       what they give a typical cell (their mean, their brightest tenth left out), so that a
       block in rows a sink dominates is found and a faint patch beside the sink is not.
       Under a causal mask (a decoder's map: exact zeros above the diagonal, and below a
       sliding window), the masked cells are not part of the map: they are neither background
       nor region.
    2. **Edges.** A fitted rectangle's edge stops where a row or column holds fewer raised
       cells than ``expansion_threshold`` times the block's share, looking up to
       ``max_expansion_steps`` lines ahead; a block then takes in each next line whose every
       cell is within a factor 1.25 of its median (a uniform block whose rows straddle a
       threshold is found whole).
    3. **Merging.** Two regions whose gap (whole rows/columns strictly between them) is at
       most ``proximity_threshold`` on both axes are replaced by their bounding box if its
       standard deviation is at most ``1 / merge_std_threshold`` times the cell-weighted mean
       of theirs.
    4. **Suppression.** Regions are ranked by their mean value; one separated from a
       higher-ranked one by fewer than ``min_distance`` rows and fewer than ``min_distance``
       columns is dropped (one region per neighbourhood, as the original spaced its seeds).
       The first ``n_seeds`` are returned.

    An isolated uniform block on a noisy background is returned exactly; a map in which
    nothing is raised over an area (a constant matrix, noise, sinks and bands alone) gives no
    regions. A few numpy passes over the matrix: about 45 ms of CPU time at 1024 x 1024, 0.8 s
    at 4096. The result is deterministic.

    Parameters
    ----------
    attention_matrix : array_like
        2-D numpy array, torch tensor or nested sequence of finite scores. Negative values are
        allowed (the matrix is shifted to be non-negative).
    n_seeds : int, default 3
        Largest number of regions returned (>= 1).
    min_distance : int, default 2
        A region with fewer than this many rows and columns between it and a stronger one is
        dropped (>= 0; 0 drops none: regions never overlap).
    expansion_threshold : float, default 0.7
        Where a region's edges are: a row or column belongs to it while its share of raised
        cells is at least this fraction of the block's (> 0; lower takes in sparser edges,
        1 keeps only lines as full as the block, above 1 shrinks it).
    merge_std_threshold : float, default 0.6
        Lower is more permissive: merging may raise the standard deviation by a factor of at
        most ``1 / merge_std_threshold`` (> 0).
    proximity_threshold : int, default 2
        Largest gap, in cells, between two regions considered for merging (>= 0; 0 means
        touching).
    max_expansion_steps : int, default 3
        How many rows or columns the edge rule looks ahead (>= 0): an edge moves out over the
        next 1 to this many lines when together they are full enough, so one sparse line does
        not stop it; 0 keeps each region within the window that found it.

    Returns
    -------
    list of tuple of int
        At most ``n_seeds`` inclusive ``(top, left, bottom, right)`` rectangles, highest mean
        value first (ties by position); empty if nothing stands out.

    Raises
    ------
    TypeError
        If the matrix is not numeric or a parameter has the wrong type.
    ValueError
        If the matrix is not 2-D, is empty or has non-finite values, or a parameter is out of
        range.

    Examples
    --------
    >>> import numpy as np
    >>> matrix = np.random.default_rng(0).random((40, 40)) * 0.01
    >>> matrix[5:9, 10:14] = 0.9
    >>> matrix[25:28, 30:33] = 0.8
    >>> matrix[30, 2] = 0.7  # one bright cell: not a block
    >>> find_attention_regions_with_merging(matrix)
    [(5, 10, 8, 13), (25, 30, 27, 32)]
    """
    matrix = as_matrix(attention_matrix, "attention_matrix")
    n_seeds = check_nonnegative_int(n_seeds, "n_seeds", minimum=1)
    min_distance = check_nonnegative_int(min_distance, "min_distance")
    expansion_threshold = check_positive(expansion_threshold, "expansion_threshold")
    merge_std_threshold = check_positive(merge_std_threshold, "merge_std_threshold")
    proximity_threshold = check_nonnegative_int(proximity_threshold, "proximity_threshold")
    max_expansion_steps = check_nonnegative_int(max_expansion_steps, "max_expansion_steps")

    cells = Cells(matrix)
    rects = find_blocks(cells, expansion_threshold, max_expansion_steps)
    _merge(cells, rects, proximity_threshold, merge_std_threshold)
    ranked = sorted(rects, key=lambda rect: (-float(cells(rect).mean()), rect))
    return _suppress(ranked, min_distance)[:n_seeds]


def _four_ints(region: Any, name: str) -> tuple[int, int, int, int]:
    """``region`` as a tuple of four Python ints, or a ``TypeError`` naming ``name``."""
    problem = TypeError(
        f"{name}: expected (top, left, bottom, right) integers, got {describe(region)}"
    )
    if isinstance(region, (str, bytes)) or not isinstance(region, Sequence | np.ndarray):
        raise problem
    if len(region) != 4 or any(isinstance(v, (bool, np.bool_)) for v in region):
        raise problem
    try:
        top, left, bottom, right = (operator.index(v) for v in region)
    except TypeError:
        raise problem from None
    return top, left, bottom, right


def regions_to_corners(
    regions: Sequence[Sequence[int]] | NDArray[np.integer[Any]],
) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Split ``(top, left, bottom, right)`` rectangles into corner lists.

    Parameters
    ----------
    regions : sequence of (int, int, int, int)
        Inclusive rectangles, e.g. from :func:`find_attention_regions_with_merging`.

    Returns
    -------
    left_top_cells, right_bottom_cells : list of (int, int)
        ``(row, col)`` of each rectangle's top-left and bottom-right cell, in input order, as
        taken by the heatmap functions' ``left_top_cells`` / ``right_bottom_cells`` arguments.

    Raises
    ------
    TypeError
        If ``regions`` or one of its rectangles is not a sequence of four integers.
    ValueError
        If a rectangle has a negative index or ``top > bottom`` or ``left > right``.

    Examples
    --------
    >>> regions_to_corners([(1, 2, 3, 4)])
    ([(1, 2)], [(3, 4)])
    """
    if isinstance(regions, (str, bytes)) or not isinstance(regions, Sequence | np.ndarray):
        raise TypeError(
            f"regions: expected a sequence of (top, left, bottom, right) tuples, "
            f"got {describe(regions)}"
        )
    left_top: list[tuple[int, int]] = []
    right_bottom: list[tuple[int, int]] = []
    for k, region in enumerate(regions):
        values = _four_ints(region, f"regions[{k}]")
        top, left, bottom, right = values
        if min(values) < 0 or top > bottom or left > right:
            raise ValueError(
                f"regions[{k}]: expected 0 <= top <= bottom and 0 <= left <= right, "
                f"got {tuple(values)}"
            )
        left_top.append((top, left))
        right_bottom.append((bottom, right))
    return left_top, right_bottom
