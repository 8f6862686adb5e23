"""Turning a cell grid into one palette image, and writing palette PNGs.

A large heatmap is drawn as one image with a whole number of pixels per cell (one for uniform
grids; a few for grids with enlarged rows or columns, so their proportions survive), stretched
over the grid's rectangle without smoothing. One image has no seams between cells in any
renderer, unlike abutting rectangles or image tiles.
"""

from __future__ import annotations

import math
import struct
import zlib
from collections.abc import Iterator
from typing import Any

import numpy as np
from numpy.typing import NDArray

from izzyviz.scene import CellGrid, Image

__all__ = ["cells_by_color", "encode_png", "encode_rgb_png", "grid_image"]

PIXEL_BUDGET = 16_000_000
MAX_PIXELS_PER_CELL = 5


def _pixel_counts(edges: NDArray[np.float64], per_cell: int) -> NDArray[np.intp]:
    sizes = np.diff(edges)
    unit = float(sizes.min())
    if np.allclose(sizes, unit):
        return np.ones(len(sizes), dtype=np.intp)
    # floor(x + 0.5) (not banker's rounding) keeps every cell at least one pixel wide.
    pixel_edges = np.floor((edges - edges[0]) / unit * per_cell + 0.5).astype(np.intp)
    return np.diff(pixel_edges)


def _whole_pixel_length(edges: NDArray[np.float64], per_cell: int) -> float:
    """How many pixels :func:`_pixel_counts` would give the axis, computed without allocating
    (infinite when the smallest cell has no size at all)."""
    sizes = np.diff(edges)
    unit = float(sizes.min())
    if np.allclose(sizes, unit):
        return float(len(sizes))
    return (float(edges[-1] - edges[0]) / unit) * per_cell if unit > 0 else math.inf


def _resample(
    values: NDArray[np.float32], edges: NDArray[np.float64], count: int, peaks: bool = False
) -> Any:
    """``values`` (cells along the last axis, spanning ``edges``) at ``count`` equal pixels.

    Where pixels are larger than cells, each pixel is the area-weighted mean of the cells it
    covers, so thin features (a diagonal) stay visible as a lighter line instead of vanishing
    between samples; with ``peaks``, the largest of the cells starting in it (a grid already
    pooled by max stays so). Where pixels are smaller, each shows the cell under its centre.
    """
    cells = values.shape[-1]
    pixels = np.linspace(edges[0], edges[-1], count + 1)
    if count >= cells:
        centres = (pixels[:-1] + pixels[1:]) / 2
        which = np.clip(np.searchsorted(edges, centres, side="right") - 1, 0, cells - 1)
        return values[..., which]
    if peaks:
        starts = np.clip(np.searchsorted(edges, pixels[:-1], side="right") - 1, 0, cells - 1)
        return np.maximum.reduceat(values, starts, axis=-1)
    # The integral of the piecewise-constant row, at cell edges and then at pixel edges.
    integral = np.zeros((*values.shape[:-1], cells + 1), dtype=np.float32)
    np.cumsum(values * np.diff(edges).astype(np.float32), axis=-1, out=integral[..., 1:])
    which = np.clip(np.searchsorted(edges, pixels, side="right") - 1, 0, cells - 1)
    at = integral[..., which] + values[..., which] * (pixels - edges[which]).astype(np.float32)
    return np.diff(at, axis=-1) / np.float32(pixels[1] - pixels[0])


def _device_pixels(
    values: NDArray[Any],
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    width: int,
    height: int,
    peaks: bool = False,
) -> Any:
    """Cell values (rows x columns) on ``height`` x ``width`` pixels (see :func:`_resample`); in
    row blocks so the float copy of a 4096 x 4096 grid is never made whole."""
    across = np.concatenate([
        _resample(values[start : start + 512].astype(np.float32), x, width, peaks)
        for start in range(0, values.shape[0], 512)
    ])  # fmt: skip
    return _resample(np.ascontiguousarray(across.T), y, height, peaks).T


def _device_indices(grid: CellGrid, width: int, height: int) -> NDArray[np.uint8]:
    """The grid's palette indices resampled to ``width`` x ``height`` equal pixels."""
    x, y, indices, peaks = grid.x_edges, grid.y_edges, grid.indices, grid.peaks
    # Palette positions are averaged: for the sequential colormaps of heatmaps that is close to
    # averaging colours, and the result stays a palette image.
    if grid.missing is None:
        down = _device_pixels(indices, x, y, width, height, peaks)
    else:
        # "No data" is no colour between others: a pixel mostly over missing cells (wholly, for
        # a grid of peaks, whose spikes must survive) is missing; the others show their data.
        absent = indices == grid.missing
        share = _device_pixels(absent, x, y, width, height)
        known = _device_pixels(np.where(absent, 0, indices), x, y, width, height, peaks)
        if not peaks:
            known = known / np.maximum(1 - share, 0.5)
        down = np.where(share >= (0.999 if peaks else 0.5), grid.missing, known)
    return np.clip(np.rint(down), 0, len(grid.palette) - 1).astype(np.uint8)


def grid_image(
    grid: CellGrid, budget: int = PIXEL_BUDGET, pixels_per_point: float | None = None
) -> Image:
    """The grid as one palette :class:`Image`.

    By default cells become whole pixels (one each for uniform grids, a few for grids with
    enlarged rows or columns), at most ``budget`` pixels (or twice the cells, for grids larger
    than that): when whole pixels per cell would need more (cells of very different sizes, as
    with a tiny ``enlarged_size``), the grid is resampled to fit instead. With
    ``pixels_per_point`` (a raster backend's resolution) the image has exactly one pixel per
    device pixel (see :func:`_resample`): no larger than what will be drawn.
    """
    rows, cols = grid.shape
    x, y = grid.x_edges, grid.y_edges
    indices = grid.indices
    span_x, span_y = float(x[-1] - x[0]), float(y[-1] - y[0])
    if pixels_per_point is not None:
        width = max(1, round(span_x * pixels_per_point))
        height = max(1, round(span_y * pixels_per_point))
        indices = _device_indices(grid, width, height)
    else:
        per_cell = int(np.clip(np.sqrt(budget / max(rows * cols, 1)), 1, MAX_PIXELS_PER_CELL))
        limit = max(budget, 2 * rows * cols)  # a grid larger than the budget keeps its cells
        if _whole_pixel_length(x, per_cell) * _whole_pixel_length(y, per_cell) <= limit:
            row_map = np.repeat(np.arange(rows), _pixel_counts(y, per_cell))
            col_map = np.repeat(np.arange(cols), _pixel_counts(x, per_cell))
            if len(row_map) != rows or len(col_map) != cols:
                indices = indices[np.ix_(row_map, col_map)]  # one gather, not a repeat per axis
        else:
            # Whole pixels per cell would exceed the budget (cells of very different sizes, e.g.
            # a tiny enlarged_size): resample at the resolution the budget allows instead.
            scale = math.sqrt(limit / (span_x * span_y))
            width = int(np.clip(span_x * scale, 1, limit))
            height = int(np.clip(span_y * scale, 1, max(1, limit // width)))
            indices = _device_indices(grid, width, height)
    x0, y0 = float(x[0]), float(y[0])
    return Image(
        x0,
        y0,
        float(grid.x_edges[-1]) - x0,
        float(grid.y_edges[-1]) - y0,
        np.ascontiguousarray(indices, dtype=np.uint8),
        grid.palette,
    )


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data))
        + kind
        + data
        + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def _png(header: bytes, rows: NDArray[np.uint8], extra: list[bytes], level: int) -> bytes:
    """A PNG from its IHDR fields and its ``(height, bytes per row)`` pixel rows."""
    height, width = rows.shape
    # Each row gets a filter byte: 2 ("up", the difference to the row above) squeezes the
    # long runs of identical rows a heatmap has; the first row has none above (filter 0).
    raw = np.empty((height, width + 1), dtype=np.uint8)
    raw[:, 0] = 2
    raw[0, 0] = 0
    raw[0, 1:] = rows[0]
    np.subtract(rows[1:], rows[:-1], out=raw[1:, 1:])
    return b"".join([
        b"\x89PNG\r\n\x1a\n",
        _chunk(b"IHDR", header),
        *extra,
        _chunk(b"IDAT", zlib.compress(raw.data, level)),  # the array itself: no bytes copy
        _chunk(b"IEND", b""),
    ])  # fmt: skip


def encode_png(image: Image, level: int = 1) -> bytes:
    """An 8-bit palette PNG of ``image`` (with a tRNS chunk when the palette has alpha)."""
    indices = image.indices
    height, width = indices.shape
    palette = np.asarray(image.palette, dtype=np.uint8)
    extra = [_chunk(b"PLTE", palette[:, :3].tobytes())]
    if (palette[:, 3] != 255).any():
        extra.append(_chunk(b"tRNS", palette[:, 3].tobytes()))
    header = struct.pack(">IIBBBBB", width, height, 8, 3, 0, 0, 0)
    return _png(header, indices, extra, level)


def encode_rgb_png(pixels: NDArray[np.uint8], level: int = 1) -> bytes:
    """An 8-bit RGB (``(h, w, 3)``) or RGBA (``(h, w, 4)``) PNG of ``pixels``."""
    height, width, channels = pixels.shape
    kind = {3: 2, 4: 6}[channels]
    header = struct.pack(">IIBBBBB", width, height, 8, kind, 0, 0, 0)
    return _png(header, pixels.reshape(height, width * channels), [], level)


def cells_by_color(
    grid: CellGrid,
) -> Iterator[
    tuple[int, NDArray[np.int64], NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]
]:
    """The cells of a vector grid grouped by colour, for backends that write one fill per colour.

    Yields ``(palette_index, left, top, width, height)`` with the rectangles in integer
    centipoints (1/100 pt), inset by half the grid's gap on every side, in a stable order.
    """
    x, y, half = grid.x_edges, grid.y_edges, grid.gap / 2
    left = np.round((x[:-1] + half) * 100).astype(np.int64)
    top = np.round((y[:-1] + half) * 100).astype(np.int64)
    width = np.round((np.diff(x) - grid.gap) * 100).astype(np.int64)
    height = np.round((np.diff(y) - grid.gap) * 100).astype(np.int64)
    flat = grid.indices.ravel()
    order = np.argsort(flat, kind="stable")
    rows, cols = np.divmod(order, grid.shape[1])
    colors, starts = np.unique(flat[order], return_index=True)
    ends = [*starts[1:].tolist(), len(order)]
    for color, start, end in zip(colors.tolist(), starts.tolist(), ends, strict=True):
        rr, cc = rows[start:end], cols[start:end]
        yield color, left[cc], top[rr], width[cc], height[rr]
