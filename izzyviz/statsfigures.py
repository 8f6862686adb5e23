"""The pictures of head statistics: one measure's layer x head grid, the offset profiles of the
heads with the clearest position pattern, and a report of them all.

Each function takes a :class:`~izzyviz.headstats.HeadStatistics` first and is also its method of
the same name (``stats.figure("sep")``); all draw through the ordinary heatmap engine.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from izzyviz._validate import check_choice, check_nonnegative_int

__all__ = ["DESCRIPTIONS", "figure", "offset_figure", "report", "top_heads"]


class Statistics(Protocol):
    """What the pictures read of a :class:`~izzyviz.headstats.HeadStatistics`."""

    mean: dict[str, NDArray[np.float64]]
    offsets: NDArray[np.float64]
    count: int
    texts: int

    @property
    def measures(self) -> tuple[str, ...]: ...

    @property
    def shape(self) -> tuple[int, int]: ...

    @property
    def window(self) -> int: ...


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


def figure(stats: Statistics, measure: str, *, top: int = 3, **heatmap_options: Any) -> Any:
    """A layer x head heatmap of one measure's mean, every cell's value written in it.

    Parameters
    ----------
    measure
        One of :attr:`~HeadStatistics.measures`.
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

    name = check_choice(measure, stats.measures, "measure")
    top = check_nonnegative_int(top, "top")
    layers, heads = stats.shape
    title = (
        f"{name}: {DESCRIPTIONS[name]}, mean over {stats.count:,} positions of "
        f"{stats.texts:,} texts"
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
    return heatmap(stats.mean[name], labels_x, labels_y, **options)


def top_heads(stats: Statistics, top: int = 12) -> list[tuple[int, int, int]]:
    """The ``top`` heads whose offset profile peaks highest away from the query itself, as
    ``(layer, head, peak offset)``, highest peak first."""
    top = check_nonnegative_int(top, "top", 1)
    profile = stats.offsets.reshape(-1, stats.offsets.shape[-1]).copy()
    profile[:, stats.window] = -np.inf  # the token itself is not a position pattern
    order = np.argsort(-profile.max(-1), kind="stable")[:top]
    heads = stats.shape[1]
    return [
        (int(n // heads), int(n % heads), int(profile[n].argmax()) - stats.window) for n in order
    ]


def offset_figure(stats: Statistics, top: int = 12) -> Any:
    """A heatmap of the relative-offset profiles of the :meth:`~HeadStatistics.top_heads`: one
    row per head, one column per offset ``-window .. window``."""
    from izzyviz.plot import heatmap

    chosen = top_heads(stats, top)
    matrix = np.stack([stats.offsets[i, j] for i, j, _ in chosen])
    rows = [f"L{i} H{j}" for i, j, _ in chosen]
    cols = [f"{d:+d}" if d else "0" for d in range(-stats.window, stats.window + 1)]
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
    stats: Statistics,
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
        How many heads get an offset profile (see :meth:`~HeadStatistics.top_heads`).
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
        dataclasses.replace(figure(stats, m).scene, bookmarks=(m,)) for m in stats.measures
    ] + [dataclasses.replace(offset_figure(stats, top).scene, bookmarks=("offsets",))]
    names = [*stats.measures, "offsets"]
    files = write_pages(pages, names, path, format=format, dpi=dpi, title="Head statistics")
    return Figure(pages, {"kind": "head_statistics", "files": [str(f) for f in files]})
