"""The result of head statistics over a corpus: :class:`HeadStatistics`, its pictures and files.

:func:`izzyviz.head_statistics` reduces a corpus to exact sums (:mod:`izzyviz.headsums`) and
turns them into a :class:`HeadStatistics`: the mean and standard deviation of every measure per
``(layer, head)`` and the mean weight by relative offset. It draws (:meth:`~HeadStatistics.figure`,
:meth:`~HeadStatistics.report`) through the ordinary heatmap engine and saves to ``.npz`` or
``.json`` (:mod:`izzyviz.statsfile`); whatever it is built from, a constructor call or a file,
every value is checked once, here. This module is numpy only.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from izzyviz import statsfigures, statsfile
from izzyviz._validate import check_choice, check_nonnegative_int, describe
from izzyviz.headsums import KEY_MEASURES, MEASURES, Sums, batch_sums

__all__ = ["KEY_MEASURES", "MEASURES", "HeadStatistics", "Sums", "batch_sums"]

MAX_COUNT = 2**63 - 1  # counts are int64 wherever they travel (Ray rows, numpy sums)


def _numbers(value: Any, name: str, shape: tuple[int | None, ...]) -> NDArray[np.float64]:
    """``value`` as a float64 array of ``shape`` (None: any length), refusing anything that is
    not finite real numbers (text, booleans, objects, ragged lists, NaN, infinity)."""
    try:
        array = np.asarray(value)
    except (ValueError, TypeError):
        raise ValueError(f"{name}: expected an array of numbers, got ragged lists") from None
    if array.dtype.kind not in "iuf":
        raise ValueError(f"{name}: expected an array of numbers, got {describe(array)}")
    if len(array.shape) != len(shape) or any(
        n is not None and n != m for n, m in zip(shape, array.shape, strict=False)
    ):
        expected = tuple("k" if n is None else n for n in shape)
        raise ValueError(f"{name}: expected shape {expected}, got {describe(array)}")
    array = array.astype(np.float64)
    if not np.isfinite(array).all():
        raise ValueError(f"{name}: expected finite numbers, got NaN or infinity")
    return array


def _count(value: Any, name: str) -> int:
    number = check_nonnegative_int(value, name)
    if number > MAX_COUNT:
        raise ValueError(f"{name}: expected at most {MAX_COUNT}, got {number}")
    return number


def _grids(
    mean: Mapping[str, Any], std: Mapping[str, Any]
) -> tuple[dict[str, NDArray[np.float64]], dict[str, NDArray[np.float64]]]:
    """The ``(layers, heads)`` mean and standard deviation of each measure, checked."""
    names = list(mean)
    for name in names:
        check_choice(name, MEASURES, "mean")
    if not names or set(std) != set(names):
        raise ValueError(
            f"mean, std: expected the same non-empty set of measures, got {sorted(mean)} "
            f"and {sorted(std)}"
        )
    first = _numbers(mean[names[0]], f"mean[{names[0]!r}]", (None, None))
    means = {n: _numbers(mean[n], f"mean[{n!r}]", first.shape) for n in names}
    return means, {n: _numbers(std[n], f"std[{n!r}]", first.shape) for n in names}


class HeadStatistics:
    """Mean and spread of head measures over a corpus, from :func:`izzyviz.head_statistics`.

    Attributes
    ----------
    mean, std
        Per measure name, a ``(layers, heads)`` float64 array: the mean and the (population)
        standard deviation of the measure over every real query position of every text.
    offsets
        ``(layers, heads, 2 * window + 1)``: the mean weight on the key at relative offset
        ``-window .. window`` from the query (a key outside the text counts as weight 0, so
        ``offsets[..., window - 1]`` is ``mean["previous"]``). ``window`` is the one asked
        for, or less when no text measured is that long.
    count
        Real (non-padding) query positions measured.
    texts
        Texts measured.
    skipped
        Texts that could not be tokenised (not measured).
    source
        What was measured (e.g. the model folder), for titles.

    Raises
    ------
    ValueError, TypeError
        Any value the constructor is given that is not what is described above: unknown
        measures, arrays of other shapes or of anything but finite numbers, offsets of an even
        width, counts that are not whole numbers from 0 to 2**63 - 1, a source that is not text.
    """

    __slots__ = ("count", "mean", "offsets", "skipped", "source", "std", "texts")

    def __init__(
        self,
        mean: Mapping[str, Any],
        std: Mapping[str, Any],
        offsets: Any,
        count: int,
        texts: int,
        skipped: int = 0,
        source: str = "",
    ) -> None:
        self.mean, self.std = _grids(mean, std)
        self.offsets = _numbers(offsets, "offsets", (*self.shape, None))
        if self.offsets.shape[-1] % 2 == 0 or self.offsets.shape[-1] < 3:
            raise ValueError(
                "offsets: expected an odd width of at least 3 (offsets -window .. window), "
                f"got {describe(self.offsets)}"
            )
        self.count = _count(count, "count")
        self.texts = _count(texts, "texts")
        self.skipped = _count(skipped, "skipped")
        if not isinstance(source, str):
            raise TypeError(f"source: expected a string, got {describe(source)}")
        self.source = source

    @classmethod
    def from_sums(cls, sums: Sums, source: str = "") -> HeadStatistics:
        """Means and standard deviations from the sums of a whole corpus."""
        if sums.count == 0:
            raise ValueError(
                f"texts: nothing to measure ({sums.texts} texts, {sums.skipped} skipped)"
            )
        mean = sums.values[:, 0] / sums.count
        variance = np.maximum(sums.values[:, 1] / sums.count - mean * mean, 0.0)
        return cls(
            dict(zip(sums.measures, mean, strict=True)),
            dict(zip(sums.measures, np.sqrt(variance), strict=True)),
            sums.offsets / sums.count,
            sums.count,
            sums.texts,
            sums.skipped,
            source,
        )

    @property
    def measures(self) -> tuple[str, ...]:
        """The measures held, in computation order."""
        return tuple(self.mean)

    @property
    def shape(self) -> tuple[int, int]:
        """``(layers, heads)``."""
        layers, heads = self.mean[self.measures[0]].shape
        return layers, heads

    @property
    def window(self) -> int:
        """The offset profile covers ``-window .. window``."""
        return (self.offsets.shape[-1] - 1) // 2

    def __repr__(self) -> str:
        layers, heads = self.shape
        return (
            f"<izzyviz.HeadStatistics {layers} layers x {heads} heads, {self.texts} texts, "
            f"{self.count} query positions, measures {', '.join(self.measures)}>"
        )

    def to_dict(self) -> dict[str, Any]:
        """Everything as plain Python lists and numbers (what :meth:`save` writes as JSON)."""
        return {
            "format": statsfile.FORMAT,
            "version": statsfile.FORMAT_VERSION,
            "source": self.source,
            "count": self.count,
            "texts": self.texts,
            "skipped": self.skipped,
            "mean": {n: v.tolist() for n, v in self.mean.items()},
            "std": {n: v.tolist() for n, v in self.std.items()},
            "offsets": self.offsets.tolist(),
        }

    # Its pictures and files are functions of the statistics, in their own modules.
    figure = statsfigures.figure
    top_heads = statsfigures.top_heads
    offset_figure = statsfigures.offset_figure
    report = statsfigures.report
    save = statsfile.save

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> HeadStatistics:
        """Read statistics written by :meth:`save`; every failure but a missing file is one
        ``ValueError`` naming the file (see :func:`izzyviz.statsfile.load`)."""
        return statsfile.load(cls, path)
