"""The result of head statistics over a corpus: :class:`HeadStatistics`, its pictures and files.

:func:`izzyviz.head_statistics` reduces a corpus to exact sums (:mod:`izzyviz.headsums`) and
turns them into a :class:`HeadStatistics`: the mean and standard deviation of every measure per
``(layer, head)`` and the mean weight by relative offset. It draws (:meth:`~HeadStatistics.figure`,
:meth:`~HeadStatistics.report`) through the ordinary heatmap engine and saves to ``.npz`` or
``.json`` (:mod:`izzyviz.statsfile`); whatever it is built from, a constructor call or a file,
every value is checked once, here. This module is numpy only.
"""

from __future__ import annotations

import dataclasses
import os
import zipfile
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from izzyviz import statsfile
from izzyviz._io import write_atomic
from izzyviz._validate import check_choice, check_nonnegative_int, describe
from izzyviz.headsums import KEY_MEASURES, MEASURES, Sums, batch_sums

__all__ = ["KEY_MEASURES", "MEASURES", "HeadStatistics", "Sums", "batch_sums"]

DESCRIPTIONS = {
    "entropy": "entropy of the attention row (nats)",
    "cls": "weight on the first special token ([CLS] / BOS)",
    "sep": "weight on [SEP] / EOS",
    "special_tokens": "weight on special tokens",
    "previous": "weight on the previous token",
    "self": "weight on the token itself",
    "next": "weight on the next token",
    "distance": "expected distance |q - k| (tokens)",
    "punctuation": "weight on punctuation",
}
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

    # -- pictures -------------------------------------------------------------------------

    def _check_measure(self, measure: Any) -> str:
        return check_choice(measure, self.measures, "measure")

    def figure(self, measure: str, *, top: int = 3, **heatmap_options: Any) -> Any:
        """A layer x head heatmap of one measure's mean, every cell's value written in it.

        Parameters
        ----------
        measure
            One of :attr:`measures`.
        top
            The labels of the layers and heads holding the ``top`` highest means (ties
            included) are highlighted, as those of :func:`izzyviz.heatmap`'s top cells.
        **heatmap_options
            Options of :func:`izzyviz.heatmap` (``cmap``, ``gamma``, ``title``, ...).

        Returns
        -------
        Figure
            Rows are layers, columns heads; ``fig.data`` is the heatmap's.
        """
        from izzyviz.plot import heatmap

        name = self._check_measure(measure)
        top = check_nonnegative_int(top, "top")
        layers, heads = self.shape
        title = (
            f"{name}: {DESCRIPTIONS[name]}, mean over {self.count:,} positions of "
            f"{self.texts:,} texts"
        )
        options: dict[str, Any] = {
            "top_n": top,
            "show_values": "all",
            "enlarged_size": 1.0,
            "xlabel": "Head",
            "ylabel": "Layer",
            "special_tokens": (),
            "title": title,
        } | heatmap_options
        labels_x = [str(h) for h in range(heads)]
        labels_y = [str(i) for i in range(layers)]
        return heatmap(self.mean[name], labels_x, labels_y, **options)

    def top_heads(self, top: int = 12) -> list[tuple[int, int, int]]:
        """The ``top`` heads whose offset profile peaks highest away from the query itself, as
        ``(layer, head, peak offset)``, highest peak first."""
        top = check_nonnegative_int(top, "top", 1)
        profile = self.offsets.reshape(-1, self.offsets.shape[-1]).copy()
        profile[:, self.window] = -np.inf  # the token itself is not a position pattern
        order = np.argsort(-profile.max(-1), kind="stable")[:top]
        heads = self.shape[1]
        return [
            (int(n // heads), int(n % heads), int(profile[n].argmax()) - self.window) for n in order
        ]

    def offset_figure(self, top: int = 12) -> Any:
        """A heatmap of the relative-offset profiles of the :meth:`top_heads`: one row per head,
        one column per offset ``-window .. window``."""
        from izzyviz.plot import heatmap

        chosen = self.top_heads(top)
        matrix = np.stack([self.offsets[i, j] for i, j, _ in chosen])
        rows = [f"L{i} H{j}" for i, j, _ in chosen]
        cols = [f"{d:+d}" if d else "0" for d in range(-self.window, self.window + 1)]
        return heatmap(
            matrix,
            cols,
            rows,
            top_n=len(chosen),
            title=f"Mean weight by relative offset (key - query), top {len(chosen)} heads",
            xlabel="Offset",
            ylabel="Head",
            special_tokens=(),
        )

    def report(
        self,
        path: str | os.PathLike[str],
        *,
        top: int = 12,
        format: str | None = None,
        dpi: float | None = None,
    ) -> Any:
        """Write every measure (one page each) and the offset profiles of the top heads.

        Parameters
        ----------
        path
            A ``.pdf`` file (with one bookmark per page), or a ``.svg``/``.png`` name or folder
            (one file per page, as :func:`izzyviz.report`).
        top
            How many heads get an offset profile (see :meth:`top_heads`).
        format, dpi
            Page format and PNG resolution of a folder, as for :func:`izzyviz.report`.

        Returns
        -------
        Figure
            Every page; ``fig.data["files"]`` lists the files written.
        """
        from izzyviz.figure import Figure
        from izzyviz.heads import write_pages

        pages = [
            dataclasses.replace(self.figure(m).scene, bookmarks=(m,)) for m in self.measures
        ] + [dataclasses.replace(self.offset_figure(top).scene, bookmarks=("offsets",))]
        names = [*self.measures, "offsets"]
        files = write_pages(pages, names, path, format=format, dpi=dpi, title="Head statistics")
        return Figure(pages, {"kind": "head_statistics", "files": [str(f) for f in files]})

    # -- files ----------------------------------------------------------------------------

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

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write to ``path``: ``.npz`` (numpy arrays) or ``.json`` (readable anywhere); floats
        round-trip exactly in both. Written atomically."""
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"path: expected a .npz or .json file path, got {describe(path)}")
        suffix = Path(path).suffix.lower()
        if suffix not in (".npz", ".json"):
            raise ValueError(f"path: expected a .npz or .json file, got {str(path)!r}")
        fields = self.to_dict() | {"mean": self.mean, "std": self.std, "offsets": self.offsets}
        return write_atomic(path, statsfile.encode(fields, suffix))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> HeadStatistics:
        """Read statistics written by :meth:`save` (``.npz`` or ``.json``).

        Raises
        ------
        FileNotFoundError
            There is no such file.
        ValueError
            Anything else: the file is not one :meth:`save` wrote (damaged, of another format,
            or crafted), or was written by a newer IzzyViz (the message says to upgrade). The
            format version, every count and every array's shape and size are checked before
            anything the file asks for is allocated.
        """
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"path: expected a .npz or .json file path, got {describe(path)}")
        target = Path(path)
        try:
            fields = statsfile.read(target)
            return cls(
                fields["mean"],
                fields["std"],
                fields["offsets"],
                fields["count"],
                fields["texts"],
                fields.get("skipped", 0),
                fields.get("source", ""),
            )
        except FileNotFoundError:
            raise FileNotFoundError(f"path: no file {str(target)!r}") from None
        except statsfile.NewerFormatError as exc:
            raise ValueError(f"path: {str(target)!r} {exc}") from None
        except _DAMAGED as exc:
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise ValueError(
                f"path: {str(target)!r} is not a saved HeadStatistics file ({reason})"
            ) from None


# How a damaged or crafted file fails to be read: zip, zlib, numpy, json and our own checks.
_DAMAGED = (
    OSError, ValueError, KeyError, TypeError, EOFError, RecursionError, OverflowError,
    NotImplementedError, zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error,
)  # fmt: skip
