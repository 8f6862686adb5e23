"""The interactive explorer: one attention map as a page that zooms from the whole map down to a
single token pair and reads its value.

:func:`explore` (and ``fig.save("map.html")`` for a heatmap) writes one self-contained HTML file:
the map's tile pyramid (:mod:`.pyramid`) as palette PNGs and value tiles inside it, and a small
plain-JavaScript viewer (``static/explorer.js``; no network, opens from ``file://``). Maps longer
than ``max_tokens`` are served instead by ``izzyviz serve`` (:mod:`.serve`), which cuts tiles on
demand from a memmapped ``.npy`` file. Everything taken from the drawing engine goes through
:mod:`.engine`, so the page shows the static figure's colours, scale, title, regions and top
cells.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from izzyviz._io import write_atomic

__all__ = ["DEFAULT_MAX_TOKENS", "Explorer", "explore"]

#: Longest map :func:`explore` writes into one file by default: a float16 map of 8,192 tokens
#: makes a file of up to about 180 MB (noise-like values barely compress; see the README).
DEFAULT_MAX_TOKENS = 8192


class Explorer:
    """An attention map ready to explore in a browser: ``save("map.html")`` writes the page, and
    in Jupyter it shows itself inline. Made by :func:`explore`."""

    __slots__ = ("_pyramid",)

    def __init__(self, pyramid: Any) -> None:
        self._pyramid = pyramid

    @property
    def shape(self) -> tuple[int, int]:
        """``(rows, columns)`` of the map."""
        return self._pyramid.geometry.rows, self._pyramid.geometry.cols

    def render(self) -> bytes:
        """The whole page as UTF-8, every tile inside (the same bytes for the same map and
        options)."""
        from izzyviz.explorer.page import file_page

        return file_page(self._pyramid)

    def html(self) -> str:
        """The whole page (see :meth:`render`) as text."""
        return self.render().decode("utf-8")

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the page to ``path`` (atomically, like every file IzzyViz writes) and return
        the path. Prints ``IzzyViz: saved <path>``."""
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"path: expected a file path, got {type(path).__name__}")
        return write_atomic(path, self.render())

    def _repr_html_(self) -> str:
        from izzyviz.explorer.page import notebook_element

        return notebook_element(self._pyramid)

    def __repr__(self) -> str:
        rows, cols = self.shape
        return f"<izzyviz.Explorer {rows} x {cols}>"


def _too_long(shape: tuple[int, int], max_tokens: int, itemsize: int) -> ValueError:
    rows, cols = shape
    megabytes = rows * cols * itemsize * 4 / 3 / 1e6
    return ValueError(
        f"matrix: {rows} x {cols} is longer than max_tokens={max_tokens} for one HTML file (it "
        f"would weigh up to about {megabytes:,.0f} MB); serve it instead: "
        "numpy.save('attention.npy', matrix), then `izzyviz serve attention.npy --tokens "
        f"tokens.txt`, or pass max_tokens={max(shape)} to write the file anyway"
    )


def explore(
    matrix: Any,
    x_labels: Sequence[str],
    y_labels: Sequence[str],
    *,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    **options: Any,
) -> Explorer:
    """One attention map as an interactive page: zoom from the whole map to a token pair.

    Parameters
    ----------
    matrix, x_labels, y_labels
        As for :func:`izzyviz.heatmap`: the scores (rows attend to columns; numpy arrays,
        memmaps, torch tensors, masked arrays), the column labels (keys) and row labels
        (queries).
    max_tokens
        The longest side written into one file (default 8,192). Longer maps are refused with
        a message pointing to ``izzyviz serve``, which cuts tiles on demand instead.
    **options
        :func:`izzyviz.heatmap`'s options. ``top_n``, ``gamma``, ``cmap``, ``vmin``,
        ``vmax``, ``title``, ``xlabel``, ``ylabel``, ``regions``, ``region_color``,
        ``special_tokens`` and ``pool`` shape the page as they shape the figure; those that
        only concern a printed figure (``enlarged_size``, ``show_values``, ``cells``,
        ``full_resolution``) are checked and change nothing.

    Returns
    -------
    Explorer
        ``.save("map.html")`` writes one self-contained file (no network; it opens from
        ``file://``); in Jupyter it displays inline.

    Examples
    --------
    >>> import numpy as np, izzyviz
    >>> page = izzyviz.explore(np.eye(3), ["a", "b", "c"], ["a", "b", "c"], top_n=1)
    >>> page.shape
    (3, 3)
    """
    from izzyviz._validate import check_nonnegative_int
    from izzyviz.explorer.engine import open_matrix, read_heatmap
    from izzyviz.explorer.pyramid import Pyramid

    max_tokens = check_nonnegative_int(max_tokens, "max_tokens", minimum=1)
    source = open_matrix(matrix)
    shape = (int(source.shape[0]), int(source.shape[1]))
    if max(shape) > max_tokens:
        itemsize = 2 if str(getattr(source, "dtype", "")) == "float16" else 4
        raise _too_long(shape, max_tokens, itemsize)
    return Explorer(Pyramid(read_heatmap(source, x_labels, y_labels, **options)))
