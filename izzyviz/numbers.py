"""Numbers as drawn text: colour-bar ticks, cell values, scores in captions.

Numbers drawn side by side are formatted together, so they share one style. Attention weights
(0..1) keep the original IzzyViz look, fixed decimals ("0.25", "0.125"); the ticks of a scale get
a few more decimals when neighbours would otherwise read the same ("0.008", "0.017"); numbers that
fixed decimals cannot show in a few characters (gradients near 1e-7, raw scores near 1e12, the
float64 extremes) switch to scientific notation with as many digits as keep them apart
("1.0e-7", "1.2345e12", "-1.8e308").
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
from numpy.typing import NDArray

__all__ = ["format_log_ticks", "format_number", "format_numbers", "written", "written_unit"]

#: Fixed notation only below this magnitude ("99999.99" is the widest label it gives) and from
#: this one up: a set whose largest number is smaller reads "5.00e-4", on cells and colour bar
#: alike, never "0.0005" beside "5.0e-4".
MAX_FIXED = 1e5
MIN_FIXED = 1e-3
#: How many decimals beyond the requested ones fixed notation may use to keep numbers apart.
EXTRA_DECIMALS = 2
#: Numbers closer than this (relative to the largest) count as equal: float32 noise such as
#: 1/3 against float32(1/3) earns no extra digits.
TOLERANCE = 1e-6
MAX_DIGITS = 15


def _scientific(value: float, digits: int) -> str:
    """``value`` with ``digits + 1`` significant digits: ``1.25e-7``, ``1.8e308`` (a bare
    exponent), or ``2.00`` and ``0.0125`` where the exponent is small; 0 as ``0``."""
    if value == 0:
        return "0"
    mantissa, exponent = f"{value:.{digits}e}".split("e")
    power = int(exponent)
    if -2 <= power <= 4:  # a set that needs scientific notation may hold ordinary numbers too
        return f"{value:.{max(digits - power, 0)}f}"
    return f"{mantissa}e{power}"


def format_numbers(
    values: Iterable[float], decimals: int, *, keep_apart: bool = False, scientific: bool = False
) -> list[str]:
    """Labels for numbers drawn together, e.g. the ticks of a colour bar or the cells' values.

    Parameters
    ----------
    values
        Finite numbers.
    decimals
        The usual number of decimals (2 for colour-bar ticks, 3 for cell values).
    keep_apart
        Numbers that differ must read differently (the ticks of a scale): up to two more
        decimals, then scientific notation with more digits. Without it (cell values) fixed
        decimals round as usual, so 0.9995 reads "1.000" next to a 1.
    scientific
        Write the numbers as scientific notation would, even where fixed decimals could show
        them (ordinary magnitudes, 0.01 to 99999, still read as fixed: "0.125", "5.00e-4"): cell
        values beside a colour bar whose ticks needed it, so one number reads one way.

    Returns
    -------
    list of str
        One label per number. Fixed notation with ``decimals`` (up to two more where the
        largest would show no significant digit, or neighbours would collide) for magnitudes
        below ``1e5``; otherwise scientific notation with ``decimals - 1`` digits after the
        point (more where ``keep_apart`` needs them).

    Examples
    --------
    >>> format_numbers([0.0, 0.5, 1.0], 2, keep_apart=True)
    ['0.00', '0.50', '1.00']
    >>> format_numbers([0.0, 1e-7, 2e-7], 2, keep_apart=True)
    ['0', '1.0e-7', '2.0e-7']
    """
    numbers = np.asarray(list(values), dtype=np.float64).ravel() + 0.0  # -0.0 -> 0.0
    largest = float(np.max(np.abs(numbers))) if numbers.size else 0.0
    if largest == 0:
        return [f"{0:.{decimals}f}"] * numbers.size
    distinct = len(np.unique(np.round(numbers / largest / TOLERANCE))) if keep_apart else 1
    labels: list[str] = []
    if MIN_FIXED <= largest < MAX_FIXED and not scientific:
        for places in range(decimals, decimals + EXTRA_DECIMALS + 1):
            labels = [f"{x:.{places}f}" for x in numbers.tolist()]
            # The largest shows a significant digit, and distinct numbers stay distinct.
            if largest >= 10.0**-places and len(set(labels)) >= distinct:
                return labels
    for digits in range(max(1, decimals - 1), MAX_DIGITS + 1):
        labels = [_scientific(x, digits) for x in numbers.tolist()]
        if len(set(labels)) >= distinct:
            break
    return labels


def format_number(value: float, decimals: int = 3) -> str:
    """One number as :func:`format_numbers` writes it on its own."""
    return format_numbers([value], decimals)[0]


def _unit_powers(values: NDArray[np.float64], decimals: int) -> NDArray[np.float64]:
    """The power of ten of the last digit each of ``values`` shows in scientific notation (as
    :func:`_scientific` writes it: fixed decimals for exponents -2 to 4, at most to units)."""
    digits = max(1, decimals - 1)
    with np.errstate(all="ignore"):  # zeros and subnormals: any power (0 stays 0)
        magnitudes = np.abs(np.where(values == 0, 1.0, values))
        powers = np.floor(np.log10(magnitudes))
        powers += np.round(magnitudes / 10.0**powers, digits) >= 10.0  # 9.996e-3 reads 1.00e-2
    ordinary = (powers >= -2) & (powers <= 4)
    return np.where(ordinary, np.minimum(powers - digits, 0), powers - digits)


def written(
    values: NDArray[np.float64], largest: float, decimals: int = 3, scientific: bool = False
) -> NDArray[np.float64]:
    """``values`` rounded as :func:`format_numbers` writes them in a set whose largest magnitude
    is ``largest`` (without ``keep_apart``; ``scientific`` as there): so two numbers that read
    the same are equal here. Vectorised, for deciding ties among many cells."""
    values = np.asarray(values, dtype=np.float64)
    if largest == 0:
        return np.round(values, decimals)
    if MIN_FIXED <= largest < MAX_FIXED and not scientific:
        for places in range(decimals, decimals + EXTRA_DECIMALS + 1):
            if largest >= 10.0**-places:
                return np.round(values, places)
    powers = _unit_powers(values, decimals)
    with np.errstate(all="ignore"):  # subnormal and huge magnitudes: left as they are
        # Divide by an exact power of ten where it is negative, so that the same written number
        # reached from two exponents (9.996e-3 and 1.004e-2 both read 0.0100) is one float.
        scale = 10.0 ** np.abs(powers)
        rounded = np.where(powers < 0, np.round(values * scale) / scale,
                           np.round(values / scale) * scale)  # fmt: skip
    return np.where(np.isfinite(rounded) & (rounded != 0) | (values == 0), rounded, values)


def written_unit(
    value: float, largest: float, decimals: int = 3, scientific: bool = False
) -> float:
    """The step between neighbouring written values near ``value`` (see :func:`written`)."""
    if largest == 0:
        return 10.0**-decimals
    if MIN_FIXED <= largest < MAX_FIXED and not scientific:
        for places in range(decimals, decimals + EXTRA_DECIMALS + 1):
            if largest >= 10.0**-places:
                return 10.0**-places
    return float(10.0 ** _unit_powers(np.array([value], dtype=np.float64), decimals)[0])


def format_log_ticks(values: Iterable[float]) -> list[str]:
    """Colour-bar labels of a log scale: decades and their 2 and 5 multiples as short as they
    read, scientific below 0.01 as :func:`format_numbers` writes them ("1e-4", "5e-3", "0.01",
    "0.2", "1")."""
    labels = []
    for value in values:
        power = math.floor(math.log10(value))
        mantissa = round(value / 10.0**power, 6)
        labels.append(f"{value:g}" if -2 <= power <= 4 else f"{mantissa:g}e{power}")
    return labels
