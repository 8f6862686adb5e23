"""The tile pyramid of one heatmap: its levels, their tiles as palette PNGs, and the cell values
of the finest level, for hover.

Level ``k`` pools ``2**k`` x ``2**k`` cells into one pixel, as the static figure pools (by max
unless ``pool="mean"``); level 0 is one pixel per cell, and the coarsest level fits the whole
map in :data:`OVERVIEW` pixels. Each level is cut into tiles of :data:`TILE` x :data:`TILE`
pixels, addressed ``(level, tile row, tile column)``, the last row and column of tiles possibly
smaller. The coarse levels, from the first with at most :data:`RESIDENT_PIXELS` pixels up, are
computed once, in one pass over the matrix (max pools of max pools are exact; mean levels are
each read from the matrix); finer tiles are cut on demand from the matrix, which for a memmap
means reading only the rows they cover and handing those pages back to the OS.

Value tiles hold level 0's cells as stored (float16 stays float16, anything else becomes
float32, little-endian), as byte planes (every cell's first byte, then every second byte, ...)
compressed with zlib (run-length matches and Huffman codes): the browser inflates them with
``DecompressionStream("deflate")``.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from izzyviz.explorer.engine import HeatmapFacts, cell_values, colour_png, pooled, pooled_again

__all__ = ["OVERVIEW", "RESIDENT_PIXELS", "TILE", "Geometry", "Pyramid", "encode_values"]

TILE = 256
#: The coarsest level shows the whole map in at most this many pixels along its longer side.
OVERVIEW = 512
#: Levels with at most this many pixels (and all coarser ones) are kept in memory.
RESIDENT_PIXELS = 4096 * 4096


@dataclass(frozen=True, slots=True)
class Geometry:
    """How a ``rows`` x ``columns`` map is cut into levels and tiles."""

    rows: int
    cols: int

    @property
    def levels(self) -> int:
        """How many levels: level ``levels - 1`` fits in :data:`OVERVIEW` pixels."""
        longest = max(self.rows, self.cols)
        return 1 + max(0, math.ceil(math.log2(longest / OVERVIEW))) if longest > OVERVIEW else 1

    @property
    def resident(self) -> int:
        """The finest level kept in memory (levels below it are cut on demand)."""
        for level in range(1, self.levels):
            height, width = self.size(level)
            if height * width <= RESIDENT_PIXELS:
                return level
        return self.levels - 1

    def size(self, level: int) -> tuple[int, int]:
        """Pixels ``(height, width)`` of ``level``."""
        factor = 1 << level
        return -(-self.rows // factor), -(-self.cols // factor)

    def tiles(self, level: int) -> tuple[int, int]:
        """Tiles ``(rows, columns)`` of ``level``."""
        height, width = self.size(level)
        return -(-height // TILE), -(-width // TILE)

    def pixels(self, level: int, ty: int, tx: int) -> tuple[slice, slice]:
        """The pixels of tile ``(ty, tx)`` within ``level``."""
        height, width = self.size(level)
        self.check(level, ty, tx)
        return (
            slice(ty * TILE, min(height, (ty + 1) * TILE)),
            slice(tx * TILE, min(width, (tx + 1) * TILE)),
        )

    def cells(self, level: int, ty: int, tx: int) -> tuple[slice, slice]:
        """The matrix cells tile ``(ty, tx)`` of ``level`` covers."""
        rows, cols = self.pixels(level, ty, tx)
        factor = 1 << level
        return (
            slice(rows.start * factor, min(self.rows, rows.stop * factor)),
            slice(cols.start * factor, min(self.cols, cols.stop * factor)),
        )

    def check(self, level: int, ty: int, tx: int) -> None:
        """Refuse a tile address outside the pyramid (``IndexError`` naming it)."""
        if not 0 <= level < self.levels:
            raise IndexError(f"level: expected 0 to {self.levels - 1}, got {level}")
        tiles = self.tiles(level)
        if not (0 <= ty < tiles[0] and 0 <= tx < tiles[1]):
            raise IndexError(
                f"tile: level {level} has {tiles[0]} x {tiles[1]} tiles, got ({ty}, {tx})"
            )


def encode_values(values: NDArray[np.floating]) -> bytes:
    """Cells as little-endian byte planes, zlib-compressed (see the module's notes)."""
    little = values.astype(values.dtype.newbyteorder("<"), copy=False)
    planes = np.ascontiguousarray(
        np.ascontiguousarray(little).view(np.uint8).reshape(*values.shape, -1).transpose(2, 0, 1)
    )
    # Run-length matches only: the planes' redundancy is in byte frequencies and runs (masked
    # causal halves), so this is as small as level 1 (~5% smaller) and 2-3x faster.
    packer = zlib.compressobj(1, zlib.DEFLATED, 15, 9, zlib.Z_RLE)
    return packer.compress(planes.data) + packer.flush()


class Pyramid:
    """The tiles of one heatmap (see the module's notes); coarse levels are pooled on creation.

    Parameters
    ----------
    facts
        The heatmap as :func:`izzyviz.explorer.engine.read_heatmap` read it.
    """

    def __init__(self, facts: HeatmapFacts) -> None:
        self.facts = facts
        self.geometry = Geometry(*facts.shape)
        self._levels: dict[int, NDArray[np.float64]] = {}
        levels = self.geometry.levels
        if levels > 1:
            first = self.geometry.resident
            self._levels[first] = self._pool(first)
            for level in range(first + 1, levels):
                self._levels[level] = self._coarser(level)

    def _pool(self, level: int, cells: tuple[slice, slice] | None = None) -> NDArray[np.float64]:
        facts = self.facts
        rows, cols = cells or (None, None)
        return pooled(facts.source, 1 << level, facts.pool, rows, cols)

    def _coarser(self, level: int) -> NDArray[np.float64]:
        """``level`` from the level below it when pooling by max (exact), else from the
        matrix (a mean of means is not the mean where blocks differ in size)."""
        if self.facts.pool != "max":
            return self._pool(level)
        return pooled_again(self._levels[level - 1])

    @property
    def value_dtype(self) -> str:
        """``"float16"`` or ``"float32"``: how value tiles store cells."""
        return "float16" if getattr(self.facts.source, "dtype", None) == np.float16 else "float32"

    def colour_tile(self, level: int, ty: int, tx: int) -> bytes:
        """Tile ``(ty, tx)`` of ``level`` as a palette PNG."""
        if level in self._levels:
            rows, cols = self.geometry.pixels(level, ty, tx)
            values = self._levels[level][rows, cols]
        else:
            values = self._pool(level, self.geometry.cells(level, ty, tx))
        return colour_png(values, self.facts.scale)

    def value_tile(self, ty: int, tx: int) -> bytes:
        """The cells of level-0 tile ``(ty, tx)`` as stored (see :func:`encode_values`)."""
        rows, cols = self.geometry.cells(0, ty, tx)
        return encode_values(cell_values(self.facts.source, rows, cols))

    def _tile(self, key: str) -> bytes:
        kind, ty, tx = key.split("/")
        if kind == "v":
            return self.value_tile(int(ty), int(tx))
        return self.colour_tile(int(kind), int(ty), int(tx))

    def all_tiles(self) -> Iterator[tuple[str, bytes]]:
        """Every tile, keyed ``"level/ty/tx"`` (colours) and ``"v/ty/tx"`` (values), in that
        order; made on two threads (zlib and numpy let go of the GIL)."""
        keys = []
        for level in range(self.geometry.levels):
            rows, cols = self.geometry.tiles(level)
            keys += [f"{level}/{ty}/{tx}" for ty in range(rows) for tx in range(cols)]
        rows, cols = self.geometry.tiles(0)
        keys += [f"v/{ty}/{tx}" for ty in range(rows) for tx in range(cols)]
        with ThreadPoolExecutor(2) as pool:
            yield from zip(keys, pool.map(self._tile, keys), strict=True)
