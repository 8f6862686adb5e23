"""Colour: gamma (power) normalisation and colormap lookup, vectorised.

The semantics follow matplotlib's ``PowerNorm`` followed by a 256-entry colormap, so figures match
the original IzzyViz: ``((x - vmin) / (vmax - vmin)) ** gamma`` clipped to [0, 1], then the LUT
entry ``min(int(v * 256), 255)``. A listed (categorical) colormap such as ``tab10`` keeps its own
N colours and is sampled like matplotlib's ``ListedColormap``: entry ``min(int(v * N), N - 1)``.
Colour tables come from the `cmap` package (its tables equal matplotlib's), imported lazily so
``import izzyviz`` stays fast.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from izzyviz._validate import check_number, check_positive, describe
from izzyviz.scene import RGBA

__all__ = ["LUT_SIZE", "MISSING_COLOR", "ColorScale", "lut", "parse_color", "relative_luminance"]

LUT_SIZE = 256
#: The colour of masked ("no data") cells: a light grey, RGBA uint8.
MISSING_COLOR = (211, 211, 211, 255)


@lru_cache(maxsize=32)
def _lut(name: str) -> NDArray[np.uint8]:
    from cmap import Colormap

    try:
        colormap = Colormap(name)
        # A listed colormap (interpolation "nearest") is its N colours, not a ramp of 256.
        listed = colormap.interpolation == "nearest" and len(colormap.color_stops) <= LUT_SIZE
        table = colormap.lut(len(colormap.color_stops) if listed else LUT_SIZE)
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(
            f"cmap: unknown colormap {name!r}; expected a name such as 'Blues', 'viridis' or "
            "'magma' (any name the `cmap` package knows)"
        ) from exc
    table = np.round(np.asarray(table, dtype=np.float64) * 255.0).astype(np.uint8)
    table.flags.writeable = False
    return table


def lut(cmap: Any = "Blues") -> NDArray[np.uint8]:
    """The ``(256, 4)`` uint8 RGBA table of a colormap (``(N, 4)`` for a listed colormap of N
    colours, such as ``"tab10"``).

    Parameters
    ----------
    cmap
        A colormap name known to the `cmap` package (``"Blues"``, ``"viridis"``, ...), a
        ``cmap.Colormap``, or a matplotlib colormap (anything with a ``name`` attribute).
    """
    if isinstance(cmap, str):
        return _lut(cmap)
    name = getattr(cmap, "name", None)
    if isinstance(name, str):
        return _lut(name)
    raise TypeError(f"cmap: expected a colormap name, got {describe(cmap)}")


@lru_cache(maxsize=256)
def _parse_color_text(text: str, name: str) -> RGBA:
    from cmap import Color

    try:
        rgba = Color(text).rgba
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(
            f"{name}: cannot read {text!r} as a colour; expected a name like 'red', "
            "a hex string like '#ff8800' or an RGB(A) tuple"
        ) from exc
    return (float(rgba[0]), float(rgba[1]), float(rgba[2]), float(rgba[3]))


def parse_color(value: Any, name: str = "color", alpha: float | None = None) -> RGBA:
    """Read a colour given as a name, a hex string or an RGB/RGBA tuple of floats in [0, 1].

    ``alpha``, when given, replaces the colour's own opacity.
    """
    if isinstance(value, str):
        rgba = _parse_color_text(value.strip(), name)
    elif isinstance(value, (tuple, list, np.ndarray)) and len(value) in (3, 4):
        parts = [float(v) for v in value]
        if not all(0.0 <= v <= 1.0 for v in parts):
            raise ValueError(f"{name}: expected RGB(A) components in [0, 1], got {describe(value)}")
        rgba = (parts[0], parts[1], parts[2], parts[3] if len(parts) == 4 else 1.0)
    else:
        raise TypeError(
            f"{name}: expected a colour name, hex string or RGB(A) tuple, got {describe(value)}"
        )
    if alpha is not None:
        rgba = (rgba[0], rgba[1], rgba[2], float(alpha))
    return rgba


def relative_luminance(rgb: NDArray[np.floating[Any]] | RGBA) -> Any:
    """WCAG relative luminance of sRGB colours in [0, 1] (last axis: R, G, B[, A])."""
    arr = np.asarray(rgb, dtype=np.float64)[..., :3]
    linear = np.where(arr <= 0.03928, arr / 12.92, ((arr + 0.055) / 1.055) ** 2.4)
    return linear @ np.array([0.2126, 0.7152, 0.0722])


_BINS = 1 << 16
_BLOCK = 1 << 20


def _exact_indices(norm: NDArray[np.float64], entries: int) -> NDArray[np.uint8]:
    norm = norm * entries
    return np.minimum(norm, entries - 1).astype(np.uint8)


@lru_cache(maxsize=16)
def _power_table(gamma: float, size: int) -> tuple[NDArray[np.uint8], NDArray[np.bool_]]:
    """For each of ``_BINS`` equal bins of [0, 1): the entry (of ``size``) at the bin's start,
    and whether a bin holds an entry boundary (its values then need the exact power)."""
    edges = np.minimum(np.arange(_BINS + 1, dtype=np.float64) / _BINS, 1.0)
    entries = _exact_indices(edges**gamma, size)
    return entries[:-1], entries[:-1] != entries[1:]


@dataclass(frozen=True, slots=True)
class ColorScale:
    """A gamma colour scale: data range, exponent and colormap.

    Parameters
    ----------
    vmin, vmax
        The data values mapped to the bottom and top of the colormap. Equal values are allowed
        (a constant matrix): everything then maps to the bottom colour.
    gamma
        Power-law exponent; 1 is linear, > 1 spends more colours on high values.
    cmap
        Colormap name (see :func:`lut`).
    """

    vmin: float
    vmax: float
    gamma: float = 1.5
    cmap: str = "Blues"

    def __post_init__(self) -> None:
        check_positive(self.gamma, "gamma")
        if not (np.isfinite(self.vmin) and np.isfinite(self.vmax)):
            raise ValueError(
                f"vmin/vmax: expected finite numbers, got {self.vmin!r}, {self.vmax!r}"
            )
        if self.vmax < self.vmin:
            raise ValueError(
                f"vmax: expected vmax >= vmin, got vmin={self.vmin!r}, vmax={self.vmax!r}"
            )

    @classmethod
    def from_data(
        cls,
        data: NDArray[np.float64],
        gamma: float = 1.5,
        cmap: str = "Blues",
        vmin: float | None = None,
        vmax: float | None = None,
    ) -> ColorScale:
        """A scale spanning ``data`` (its min and max, NaN cells left out, unless ``vmin``/``vmax``
        are given: finite real numbers, not strings)."""
        ends = []
        for value, name, reduce in ((vmin, "vmin", np.nanmin), (vmax, "vmax", np.nanmax)):
            if value is None:
                ends.append(float(reduce(data)))
            else:
                ends.append(check_number(value, name, "a finite number or None", math.isfinite))
        return cls(ends[0], ends[1], gamma, cmap)

    def normalize(self, values: ArrayLike) -> NDArray[np.float64]:
        """Map data values to [0, 1] with the power law (matplotlib ``PowerNorm`` semantics)."""
        arr = np.asarray(values, dtype=np.float64)
        lo, span = self.vmin, self.vmax - self.vmin
        if not span > 0:
            return np.zeros_like(arr)
        if not np.isfinite(span):  # a range wider than float64: halve everything first
            arr, lo, span = arr / 2, lo / 2, self.vmax / 2 - lo / 2
        scaled = np.asarray((arr - lo) / span, dtype=np.float64)
        np.clip(scaled, 0.0, 1.0, out=scaled)
        return np.power(scaled, self.gamma, out=scaled)

    def indices(self, values: ArrayLike) -> NDArray[np.uint8]:
        """The colormap entry of each value: ``min(int(N * norm(x)), N - 1)`` for a palette of
        N entries (256, or a listed colormap's own count).

        Exact, but computed without a power per value (the slow part at 4096 x 4096): the
        linear position is binned into 65536 bins and looked up in a table; only values in
        the few bins that straddle an entry boundary get the power computed.
        """
        arr = np.asarray(values, dtype=np.float64)
        lo, span = self.vmin, self.vmax - self.vmin
        size = len(self.palette)
        if not (span > 0 and np.isfinite(_BINS / span) and np.isfinite(span)):
            return _exact_indices(self.normalize(arr), size)
        table, straddles = _power_table(self.gamma, size)
        flat = arr.reshape(-1)
        result = np.empty(flat.shape, dtype=np.uint8)
        # In blocks, so the temporaries stay a few MB even for a 4096 x 4096 matrix.
        for start in range(0, flat.size, _BLOCK):
            chunk = flat[start : start + _BLOCK]
            bins = chunk - lo
            bins *= _BINS / span
            np.clip(bins, 0, _BINS - 1, out=bins)
            which = bins.astype(np.int32)
            out = table[which]
            exact = straddles[which]
            if exact.any():
                out[exact] = _exact_indices(self.normalize(chunk[exact]), size)
            result[start : start + _BLOCK] = out
        return result.reshape(arr.shape)

    @property
    def palette(self) -> NDArray[np.uint8]:
        """The ``(N, 4)`` uint8 RGBA colour table (see :func:`lut`)."""
        return lut(self.cmap)

    def cell_indices(
        self, matrix: NDArray[np.float64]
    ) -> tuple[NDArray[np.uint8], NDArray[np.uint8], int | None]:
        """Palette positions of a matrix's cells, the palette they index and the position of
        :data:`MISSING_COLOR`, the colour of NaN cells (masked, "no data").

        Without NaN this is ``(indices(matrix), palette, None)``. With NaN the palette holds
        only the colours used plus the missing colour (last), so it still has at most 256
        entries; when every one of 256 colours is used, the rarest is drawn as its neighbour.
        """
        missing = np.isnan(matrix)
        if not missing.any():
            return self.indices(matrix), self.palette, None
        return self.compact(self.indices(np.where(missing, self.vmin, matrix)), missing)

    def compact(
        self, indices: NDArray[np.uint8], missing: NDArray[np.bool_]
    ) -> tuple[NDArray[np.uint8], NDArray[np.uint8], int]:
        """Palette positions ``indices`` with the ``missing`` cells added: the palette is cut to
        the colours used plus :data:`MISSING_COLOR` (last), so it still has at most 256 entries
        (see :meth:`cell_indices`); returns the new positions, that palette and the missing
        colour's position. ``indices`` is rewritten in place."""
        counts = np.bincount(indices[~missing], minlength=len(self.palette))
        if counts.all() and len(counts) == LUT_SIZE:
            rare = int(np.argmin(counts))
            indices[indices == rare] = rare - 1 if rare > 0 else 1
            counts[rare] = 0
        kept = np.flatnonzero(counts)
        position = np.zeros(len(counts), dtype=np.uint8)
        position[kept] = np.arange(len(kept))
        indices = position[indices]
        indices[missing] = len(kept)
        palette = np.vstack([self.palette[kept], np.array([MISSING_COLOR], dtype=np.uint8)])
        return indices, palette, len(kept)

    def rgba(self, values: ArrayLike) -> NDArray[np.float64]:
        """RGBA colours (floats in [0, 1]) of data values."""
        return self.palette[self.indices(values)].astype(np.float64) / 255.0

    def color(self, value: float) -> RGBA:
        """The RGBA colour of one value."""
        r, g, b, a = self.rgba(value).tolist()
        return (r, g, b, a)

    def ticks(self, count: int = 7) -> NDArray[np.float64]:
        """``count`` evenly spaced data values from vmin to vmax (one if the range is empty)."""
        if not self.vmax > self.vmin:
            return np.array([self.vmin])
        # A weighted mean of the ends never overflows, even for a range wider than float64
        # can hold (np.linspace steps can round past the largest float).
        fractions = np.linspace(0.0, 1.0, count)
        return self.vmin * (1.0 - fractions) + self.vmax * fractions
