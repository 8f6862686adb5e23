"""Geometry of a heatmap panel, pure arithmetic: cell sizes, display pixels, edges, which labels
fit, where position ticks go, and the bounding box of what is drawn."""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable

import numpy as np
from numpy.typing import NDArray

from izzyviz.layout.style import Style
from izzyviz.summary import block_bounds

__all__ = [
    "Bounds",
    "cell_sizes",
    "display_bounds",
    "edges",
    "label_size",
    "position_label",
    "position_step",
    "thin",
]


class Bounds:
    """Accumulates the bounding box of what a panel draws."""

    def __init__(self) -> None:
        self.box = [math.inf, math.inf, -math.inf, -math.inf]

    def add(self, x0: float, y0: float, x1: float, y1: float) -> None:
        box = self.box
        box[0], box[1] = min(box[0], x0, x1), min(box[1], y0, y1)
        box[2], box[3] = max(box[2], x0, x1), max(box[3], y0, y1)

    def add_points(self, points: Iterable[tuple[float, float]]) -> None:
        xs, ys = zip(*points, strict=True)
        self.add(min(xs), min(ys), max(xs), max(ys))

    def freeze(self) -> tuple[float, float, float, float]:
        x0, y0, x1, y1 = self.box
        return (x0, y0, x1, y1)


def cell_sizes(
    rows: int,
    cols: int,
    big_rows: NDArray[np.bool_],
    big_cols: NDArray[np.bool_],
    enlarged: float,
    style: Style,
) -> tuple[float, float]:
    """Normal cell width and height: fill the box, keep cells near-square, keep thin matrices
    visible."""
    units_x = cols + (enlarged - 1.0) * int(big_cols.sum())
    units_y = rows + (enlarged - 1.0) * int(big_rows.sum())
    fit_w = min(style.max_width / units_x, style.max_cell)
    fit_h = min(style.max_height / units_y, style.max_cell)
    width = min(fit_w, fit_h * style.max_aspect)
    height = min(fit_h, fit_w * style.max_aspect)
    width = max(width, min(fit_w, style.min_extent / units_x))
    height = max(height, min(fit_h, style.min_extent / units_y))
    return width, height


def display_bounds(
    shape: tuple[int, int], style: Style
) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Where display pixels start along rows and columns (see
    :func:`izzyviz.summary.block_bounds`): as many pixels as the heatmap covers at
    ``style.display_dpi``, the resolution a reader sees a PDF or SVG page at (and the PNG
    default)."""
    rows, cols = shape
    unit_w, unit_h = cell_sizes(rows, cols, np.zeros(rows, bool), np.zeros(cols, bool), 1.0, style)
    per_point = style.display_dpi / 72
    return (
        block_bounds(rows, int(rows * unit_h * per_point)),
        block_bounds(cols, int(cols * unit_w * per_point)),
    )


def position_step(count: int, ticks: int) -> int:
    """A round step (1, 2 or 5 times a power of ten) giving at most ``ticks`` intervals."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if count <= ticks * step * factor:
                return step * factor
        step *= 10


def position_label(index: int) -> str:
    """``0``, ``500``, ``1k``, ``2.5k``, ..."""
    return f"{index / 1000:g}k" if index >= 1000 else str(index)


def edges(sizes: NDArray[np.float64]) -> NDArray[np.float64]:
    """Cell edges from cell sizes, starting at 0."""
    out = np.empty(len(sizes) + 1)
    out[0] = 0.0
    np.cumsum(sizes, out=out[1:])
    return out


def thin(centers: NDArray[np.float64], keep_first: NDArray[np.bool_], spacing: float) -> list[int]:
    """Indices of labels to show: ``keep_first`` labels first (the top cells'), then the others,
    each in order wherever it stays at least ``spacing`` away from every label already shown.
    (Top-cell labels are only dropped when they themselves crowd each other, e.g. ties all
    along a constant matrix.)"""
    if len(centers) < 2 or float(np.min(np.abs(np.diff(centers)))) >= spacing:
        return list(range(len(centers)))
    shown: list[float] = []
    chosen: list[int] = []
    for i in (*np.flatnonzero(keep_first), *np.flatnonzero(~keep_first)):
        c = float(centers[i])
        at = bisect.bisect_left(shown, c)
        if (at == 0 or c - shown[at - 1] >= spacing) and (
            at == len(shown) or shown[at] - c >= spacing
        ):
            shown.insert(at, c)
            chosen.append(int(i))
    return sorted(chosen)


def label_size(pitch: float, needed_per_pt: float, style: Style) -> float:
    """Label size for labels ``pitch`` points apart that need ``needed_per_pt`` points of room
    per point of size: the style's size, shrunk down to its minimum."""
    return float(np.clip(pitch / needed_per_pt, style.min_label_size, style.label_size))
