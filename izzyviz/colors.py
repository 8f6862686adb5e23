"""Colour: normalisation (power, linear or log) and colormap lookup, vectorised.

The default ``"power"`` norm follows matplotlib's ``PowerNorm`` followed by a 256-entry colormap,
so figures match the original IzzyViz: ``((x - vmin) / (vmax - vmin)) ** gamma`` clipped to
[0, 1], then the LUT entry ``min(int(v * 256), 255)``; ``"linear"`` is the same with gamma 1.
``"log"`` spreads the decades from a floor (``vmin`` > 0) to ``vmax`` over the colormap: values
below the floor take its lowest colour, and exact zeros (a causal map's masked future) take a
colour of their own, white, which the colour bar shows apart (see :attr:`ColorScale.under`).
A listed (categorical) colormap such as ``tab10`` keeps its own N colours and is sampled like
matplotlib's ``ListedColormap``: entry ``min(int(v * N), N - 1)``.
Colour tables come from the `cmap` package (its tables equal matplotlib's), imported lazily so
``import izzyviz`` stays fast.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from izzyviz._validate import check_number, check_positive, describe
from izzyviz.scene import RGBA

__all__ = [
    "LONG_MAP",
    "LUT_SIZE",
    "MISSING_COLOR",
    "NORMS",
    "ZERO_COLOR",
    "ColorScale",
    "ScaleRequest",
    "lut",
    "parse_color",
    "relative_luminance",
]

LUT_SIZE = 256
#: The colour of masked ("no data") cells: a light grey, RGBA uint8.
MISSING_COLOR = (211, 211, 211, 255)
#: The colour of exact zeros (and negative values) on a log scale: white.
ZERO_COLOR = (255, 255, 255, 255)
#: On a log scale, the colormap starts at its first colour this far (Euclidean RGB distance)
#: from :data:`ZERO_COLOR`, so a zero never looks like the smallest value shown.
MIN_ZERO_CONTRAST = 30.0
NORMS = ("power", "linear", "log")


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


def _check_ends(vmin: float | None, vmax: float | None, norm: str) -> None:
    """Refuse ends in the wrong order, and a log scale's floor at or below zero (None: an end
    not known yet)."""
    if vmin is not None and vmax is not None and vmax < vmin:
        raise ValueError(f"vmax: expected vmax >= vmin, got vmin={vmin!r}, vmax={vmax!r}")
    if norm == "log" and vmin is not None and not vmin > 0:
        raise ValueError(
            f"vmin: a log colour scale needs a positive floor, got {vmin!r} (values at or "
            "below the floor take its lowest colour; exact zeros are drawn apart)"
        )


@lru_cache(maxsize=32)
def _log_palette(name: str) -> NDArray[np.uint8]:
    """A log scale's palette: :data:`ZERO_COLOR` first, then the colormap from its first colour
    that stands apart from it (at most 255 colours)."""
    table = _lut(name)
    distance = np.sqrt(((table[:, :3].astype(np.float64) - ZERO_COLOR[:3]) ** 2).sum(axis=1))
    start = max(int(np.argmax(distance >= MIN_ZERO_CONTRAST)), len(table) - LUT_SIZE + 1)
    palette = np.vstack([np.array([ZERO_COLOR], np.uint8), table[start:]])
    palette.flags.writeable = False
    return palette


@dataclass(frozen=True, slots=True)
class ColorScale:
    """A colour scale: data range, normalisation and colormap.

    Parameters
    ----------
    vmin, vmax
        The data values mapped to the bottom and top of the colormap. Equal values are allowed
        (a constant matrix): everything then maps to the bottom colour. On a log scale ``vmin``
        is the floor: a positive number.
    gamma
        Power-law exponent of the ``"power"`` norm; 1 is linear, > 1 spends more colours on
        high values.
    cmap
        Colormap name (see :func:`lut`).
    norm
        ``"power"`` (``((x - vmin)/(vmax - vmin)) ** gamma``), ``"linear"`` (the same with
        gamma 1) or ``"log"`` (decades from ``vmin`` to ``vmax``; zeros apart, see
        :attr:`under`).
    ends
        How ``vmin`` and ``vmax`` were chosen, when the small print should say (e.g.
        ``"top: largest value below the first 1% of rows"``).
    """

    vmin: float
    vmax: float
    gamma: float = 1.5
    cmap: str = "Blues"
    norm: str = "power"
    ends: str = ""

    def __post_init__(self) -> None:
        check_positive(self.gamma, "gamma")
        if self.norm not in NORMS:
            wanted = ", ".join(repr(n) for n in NORMS)
            raise ValueError(f"norm: expected one of {wanted}, got {describe(self.norm)}")
        if not (np.isfinite(self.vmin) and np.isfinite(self.vmax)):
            raise ValueError(
                f"vmin/vmax: expected finite numbers, got {self.vmin!r}, {self.vmax!r}"
            )
        _check_ends(self.vmin, self.vmax, self.norm)

    @classmethod
    def from_data(
        cls,
        data: NDArray[np.float64],
        gamma: float = 1.5,
        cmap: str = "Blues",
        vmin: float | None = None,
        vmax: float | None = None,
    ) -> ColorScale:
        """A power scale spanning ``data`` (its min and max, NaN cells left out, unless
        ``vmin``/``vmax`` are given: finite real numbers, not strings); other norms and
        percentile ends: :class:`ScaleRequest`."""
        ends = []
        for value, name, reduce in ((vmin, "vmin", np.nanmin), (vmax, "vmax", np.nanmax)):
            if value is None:
                ends.append(float(reduce(data)))
            else:
                ends.append(check_number(value, name, "a finite number or None", math.isfinite))
        return cls(ends[0], ends[1], gamma, cmap)

    @staticmethod
    def log_floor(values: NDArray[np.float64]) -> float:
        """The default floor of a log scale over ``values`` (the values shown): their 1st
        percentile among the positive ones, at most a thousandth of their maximum, so a few
        underflowing weights (1e-30) do not stretch the scale over decades nobody reads. Over
        a million pixels the percentile is taken on every k-th of them, which estimates it
        well for a default (a percentile asked for by ``vmin="1%"`` is exact)."""
        positive = values[values > 0]  # (NaN, masked pixels, compares False)
        if positive.size == 0:
            return 1.0
        top = float(positive.max())
        sample = positive[:: max(1, positive.size // FLOOR_SAMPLE)]
        floor = float(np.percentile(sample, LOG_FLOOR, overwrite_input=True))
        return min(floor, top / 1000.0)

    @property
    def under(self) -> NDArray[np.uint8] | None:
        """The RGBA colour of values at or below zero on a log scale (:data:`ZERO_COLOR`), drawn
        apart from the colour bar's ramp; None for the other norms."""
        return self.palette[0] if self.norm == "log" else None

    @property
    def ramp(self) -> NDArray[np.uint8]:
        """The palette entries a colour bar draws from bottom to top (all but a log scale's
        zero colour)."""
        return self.palette[1:] if self.norm == "log" else self.palette

    def describe(self) -> str:
        """The scale in words for small print, e.g. ``"log colour scale"``, with how its ends
        were chosen."""
        name = (
            f"power colour scale (gamma {self.gamma:g})"
            if self.norm == "power"
            else (f"{self.norm} colour scale")
        )
        return f"{name} ({self.ends})" if self.ends else name

    @property
    def exponent(self) -> float:
        """The power the ``"power"`` norm raises positions to (1 for ``"linear"``)."""
        return self.gamma if self.norm == "power" else 1.0

    def normalize(self, values: ArrayLike) -> NDArray[np.float64]:
        """Map data values to [0, 1]: the power law (matplotlib ``PowerNorm`` semantics), or on
        a log scale the position of ``log(x)`` between ``log(vmin)`` and ``log(vmax)`` (0 at and
        below the floor, zeros included)."""
        arr = np.asarray(values, dtype=np.float64)
        if self.norm == "log":
            return self._log_positions(arr)
        lo, span = self.vmin, self.vmax - self.vmin
        if not span > 0:
            return np.zeros_like(arr)
        if not np.isfinite(span):  # a range wider than float64: halve everything first
            arr, lo, span = arr / 2, lo / 2, self.vmax / 2 - lo / 2
        scaled = np.asarray((arr - lo) / span, dtype=np.float64)
        np.clip(scaled, 0.0, 1.0, out=scaled)
        return np.power(scaled, self.exponent, out=scaled)

    def _log_positions(self, arr: NDArray[np.float64]) -> NDArray[np.float64]:
        decades = math.log10(self.vmax) - math.log10(self.vmin)
        if not decades > 0:
            return np.zeros_like(arr)
        with np.errstate(divide="ignore", invalid="ignore"):
            scaled = (np.log10(np.maximum(arr, self.vmin)) - math.log10(self.vmin)) / decades
        return np.clip(scaled, 0.0, 1.0)

    def indices(self, values: ArrayLike) -> NDArray[np.uint8]:
        """The colormap entry of each value: ``min(int(N * norm(x)), N - 1)`` for a palette of
        N entries (256, or a listed colormap's own count); on a log scale ``1 + ...`` into the
        ramp, and 0 (the zero colour) for values at or below zero.

        Exact, but computed without a power per value (the slow part at 4096 x 4096): the
        linear position is binned into 65536 bins and looked up in a table; only values in
        the few bins that straddle an entry boundary get the power computed.
        """
        arr = np.asarray(values, dtype=np.float64)
        if self.norm == "log":
            ramp = len(self.palette) - 1
            out = 1 + _exact_indices(self._log_positions(arr), ramp)
            out[~(arr > 0)] = 0
            return out
        lo, span = self.vmin, self.vmax - self.vmin
        size = len(self.palette)
        if not (span > 0 and np.isfinite(_BINS / span) and np.isfinite(span)):
            return _exact_indices(self.normalize(arr), size)
        table, straddles = _power_table(self.exponent, size)
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
        """The ``(N, 4)`` uint8 RGBA colour table (see :func:`lut`; a log scale's starts with
        its zero colour)."""
        if self.norm == "log":
            lut(self.cmap)  # a name check with the usual error
            return _log_palette(self.cmap if isinstance(self.cmap, str) else self.cmap.name)
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
        """Data values for a colour bar: ``count`` evenly spaced values from vmin to vmax (one
        if the range is empty); on a log scale, its decades (1e-4, 1e-3, 0.01, ...), with 2
        and 5 times them too when fewer than three decades fit, and always both ends when
        fewer than two ticks would."""
        if not self.vmax > self.vmin:
            return np.array([self.vmin])
        if self.norm == "log":
            return _log_ticks(self.vmin, self.vmax, count)
        # A weighted mean of the ends never overflows, even for a range wider than float64
        # can hold (np.linspace steps can round past the largest float).
        fractions = np.linspace(0.0, 1.0, count)
        return self.vmin * (1.0 - fractions) + self.vmax * fractions


def _log_ticks(low: float, high: float, count: int) -> NDArray[np.float64]:
    """Round values (decades, then 1-2-5 steps) within ``[low, high]``: at most ``count``."""
    first, last = math.floor(math.log10(low)), math.ceil(math.log10(high))
    decades = np.array([10.0**k for k in range(first, last + 1)])
    for multiples in ((1.0,), (1.0, 2.0, 5.0)):
        values = np.sort(np.outer(decades, multiples).ravel())
        inside = values[(values >= low * (1 - 1e-9)) & (values <= high * (1 + 1e-9))]
        if len(inside) >= 3 or multiples != (1.0,):
            break
    step = max(1, -(-len(inside) // max(count, 2)))
    inside = inside[::-1][::step][::-1]  # keep the top tick
    if len(inside) < 2:
        inside = np.unique(np.concatenate([[low], inside, [high]]))
    return inside


#: ``norm="auto"`` draws maps longer than this (rows or columns) on a log scale.
LONG_MAP = 128
#: A long map's log scale starts at this percentile of the positive values shown (estimated
#: on at most about this many of them) ...
LOG_FLOOR = 1.0
FLOOR_SAMPLE = 1 << 17
#: ... and ends at the largest value shown below this share of the rows (a causal map's first
#: rows see one, two, ... keys: 1.0, 0.5, ... leave most colours to a handful of pixels).
FIRST_ROWS = 0.01


def _below_first_rows(shown: Sequence[NDArray[np.float64]]) -> float | None:
    """The largest value of the shown pixels below the first :data:`FIRST_ROWS` of their rows
    (None when none is positive)."""
    tops = [
        float(np.nanmax(s[math.ceil(FIRST_ROWS * len(s)) :], initial=-np.inf))
        for s in shown
        if len(s) > 1
    ]
    top = max(tops, default=-np.inf)
    return top if top > 0 else None


_PERCENT = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*%\s*")


def _end(value: Any, name: str) -> tuple[float | None, float | None]:
    """``vmin``/``vmax`` as ``(number, percentile)``: None, a finite number, or a percentile
    string such as ``"99.9%"``."""
    if value is None:
        return None, None
    if isinstance(value, str):
        match = _PERCENT.fullmatch(value)
        if match is None or not 0 <= float(match.group(1)) <= 100:
            raise ValueError(
                f"{name}: expected a number, None or a percentile from '0%' to '100%' such as "
                f"'99.9%', got {describe(value)}"
            )
        return None, float(match.group(1))
    expected = "a finite number, None or a percentile string such as '99.9%'"
    return check_number(value, name, expected, math.isfinite), None


@dataclass(frozen=True, slots=True)
class ScaleRequest:
    """A figure's colour options, checked before anything is read; :meth:`resolve` turns them
    into a :class:`ColorScale` once the matrix is summarised.

    ``vmin``/``vmax`` are numbers, percentiles of the matrix (``vmin_percentile``, found
    exactly by the summary stage) or None: the matrix's range, except on a log scale over a
    long map, which starts at the 1st percentile of the positive values its pixels show
    (:meth:`ColorScale.log_floor`) and ends at the largest value below the first 1% of rows
    (:data:`FIRST_ROWS`: a causal map's first cells hold 1.0 and 0.5 because they see one or
    two keys, and would leave most of the colours to a handful of pixels); the few above are
    drawn in the darkest colour, and the small print says so.
    ``norm="auto"`` is ``"power"`` up to :data:`LONG_MAP` tokens a side and ``"log"`` beyond
    (where a 0..1 scale paints a long causal map white).
    """

    gamma: float = 1.5
    cmap: str = "Blues"
    norm: str = "auto"
    vmin: float | None = None
    vmax: float | None = None
    vmin_percentile: float | None = None
    vmax_percentile: float | None = None

    @classmethod
    def of(
        cls, gamma: Any = 1.5, cmap: Any = "Blues", norm: Any = "auto", vmin: Any = None,
        vmax: Any = None,
    ) -> ScaleRequest:  # fmt: skip
        """Check every option (``ValueError``/``TypeError`` naming it)."""
        check_positive(gamma, "gamma")
        lut(cmap)
        if norm != "auto" and norm not in NORMS:
            wanted = ", ".join(repr(n) for n in ("auto", *NORMS))
            raise ValueError(f"norm: expected one of {wanted}, got {describe(norm)}")
        low, low_p = _end(vmin, "vmin")
        high, high_p = _end(vmax, "vmax")
        _check_ends(low, high, norm)  # those given: refused before anything is read
        name = cmap if isinstance(cmap, str) else cmap.name
        return cls(float(gamma), name, norm, low, high, low_p, high_p)

    @property
    def percentiles(self) -> tuple[float, ...]:
        """The percentiles the summary stage must find."""
        return tuple(p for p in (self.vmin_percentile, self.vmax_percentile) if p is not None)

    def resolve(
        self,
        low: float,
        high: float,
        shown: Sequence[NDArray[np.float64]],
        shape: tuple[int, int],
        percentiles: dict[float, float] | None = None,
    ) -> ColorScale:
        """The scale of a matrix whose values span ``low``..``high`` (``shown``: the values its
        pixels show, per panel; ``percentiles``: those asked for, as the summary found
        them)."""
        found = percentiles or {}
        top = self.vmax if self.vmax_percentile is None else found[self.vmax_percentile]
        bottom = self.vmin if self.vmin_percentile is None else found[self.vmin_percentile]
        norm = self.norm
        values = shown[0].ravel() if len(shown) == 1 else np.concatenate([s.ravel() for s in shown])
        positive = values[values > 0]  # (NaN, masked pixels, compares False)
        ends = ""
        if positive.size and norm != "power" and max(shape) > LONG_MAP and top is None:
            top = _below_first_rows(shown)
            ends = f"top: largest value below the first {FIRST_ROWS:.0%} of rows"
        top = high if top is None else top
        if norm == "auto":  # a floor given at or below zero asks for a linear-looking scale
            wants_log = max(shape) > LONG_MAP and top > 0 and (bottom is None or bottom > 0)
            norm = "log" if wants_log else "power"
        if norm == "log" and not top > 0:
            raise ValueError(
                f"norm: 'log' needs positive values, but the largest shown is {top!r}; use "
                "norm='power' or 'linear'"
            )
        if bottom is None and norm == "log":
            bottom = min(ColorScale.log_floor(positive), top)
        elif bottom is None:
            bottom = min(low, top)
        return ColorScale(bottom, top, self.gamma, self.cmap, norm, ends)
