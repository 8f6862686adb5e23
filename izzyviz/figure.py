"""The Figure: a laid-out scene (one or more pages) that can be saved in any format."""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from izzyviz._io import write_atomic
from izzyviz._validate import check_positive
from izzyviz.render import Renderer, resolve_backend
from izzyviz.scene import Scene

__all__ = ["NOTEBOOK_SVG_LIMIT", "Figure"]

NOTEBOOK_SVG_LIMIT = 2_000_000
HTML_FORMATS = ("html", "htm")


class Figure:
    """A finished figure: one or more pages of scene, ready to be drawn by any backend.

    Figures come from :func:`izzyviz.heatmap` and the other drawing functions. In Jupyter a
    figure shows itself (as SVG).

    Parameters
    ----------
    pages
        The scenes, one per page.
    data
        The numbers drawn (top cells, regions, colour scale), for tools and tests.
    redraw
        For figures whose maps may pool cells into display pixels: ``redraw(dpi)`` builds the
        figure again for a reader at ``dpi`` pixels per inch, or returns None at the resolution
        it was built for (see :meth:`at_dpi`).
    explore
        For heatmaps: ``explore(**options)`` returns the interactive HTML page of the map
        (:func:`izzyviz.explore`), which ``save("map.html")`` writes; other figures refuse HTML.
    """

    __slots__ = ("_explore", "_redraw", "data", "pages")

    def __init__(
        self,
        pages: Scene | Sequence[Scene],
        data: dict[str, Any] | None = None,
        *,
        redraw: Callable[[float], Figure | None] | None = None,
        explore: Callable[..., bytes] | None = None,
    ) -> None:
        self.pages: tuple[Scene, ...] = (pages,) if isinstance(pages, Scene) else tuple(pages)
        if not self.pages:
            raise ValueError("pages: a figure needs at least one page")
        self.data: dict[str, Any] = dict(data or {})
        self._redraw = redraw
        self._explore = explore

    @property
    def scene(self) -> Scene:
        """The first (usually only) page."""
        return self.pages[0]

    @property
    def size(self) -> tuple[float, float]:
        """Width and height of the first page in points."""
        return self.scene.width, self.scene.height

    def at_dpi(self, dpi: float) -> Figure:
        """The figure as drawn for a reader at ``dpi`` pixels per inch.

        A map with more cells than its heatmap has pixels shows blocks of cells pooled into one
        pixel. Figures are built for a page seen at 150 dpi (``Style.display_dpi``, also the PNG
        default); a PNG at another ``dpi`` is drawn from ``fig.at_dpi(dpi)``, so it pools into
        its own pixels (finer at 300 dpi, coarser at 72) and its small print says how. Figures
        built without a way to redraw (reports, overviews) come back as they are.
        """
        dpi = check_positive(dpi, "dpi")
        again = None if self._redraw is None else self._redraw(dpi)
        return self if again is None else again

    def _pages_for(self, renderer: Renderer) -> tuple[Scene, ...]:
        """The pages as ``renderer`` should draw them: pooled at its resolution when it draws
        pixels (checked against its limits first, so no huge map is pooled for nothing)."""
        dpi = renderer.display_dpi
        if dpi is None:
            return self.pages
        renderer.check(self.pages)
        return self.at_dpi(dpi).pages

    def render(self, format: str = "pdf", **options: Any) -> bytes:
        """The figure as the bytes of a ``format`` file (``"pdf"``, ``"svg"``, ``"png"``, or a
        registered backend). ``options`` go to the backend (e.g. ``dpi=300`` for PNG)."""
        if format.lower() in HTML_FORMATS:
            return self._html(options, f"format: {format!r}")
        renderer = _renderer(resolve_backend(None, format=format), options, "render")
        return renderer.render(self._pages_for(renderer))

    def save(
        self,
        path: str | os.PathLike[str],
        *,
        format: str | None = None,
        backend: str | None = None,
        **options: Any,
    ) -> Path:
        """Write the figure to ``path`` and return the path.

        The backend is chosen by ``backend`` (a name), else ``format``, else the extension of
        ``path`` (``.pdf``, ``.svg``, ``.png``; ``.html`` for a heatmap's interactive page,
        taking :func:`izzyviz.explore`'s options). ``options`` go to the backend (``dpi`` for
        PNG, ``title``/``author``/``subject`` for PDF). The file is written atomically: if anything
        fails, no file is left and an existing file is untouched. A symbolic link is written
        through to its target; an existing file keeps its permissions; a read-only file is
        refused with ``PermissionError``. Prints ``IzzyViz: saved <path>``.
        """
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"path: expected a file path, got {type(path).__name__}")
        if backend is None and (format or Path(path).suffix[1:]).lower() in HTML_FORMATS:
            return write_atomic(path, self._html(options, f"path: {os.fspath(path)!r}"))
        backend_class = resolve_backend(os.fspath(path), format=format, backend=backend)
        renderer = _renderer(backend_class, options, "save")
        data = renderer.render(self._pages_for(renderer))
        return write_atomic(path, data)

    def _html(self, options: dict[str, Any], what: str) -> bytes:
        if self._explore is None:
            raise ValueError(
                f"{what}: only a heatmap (izzyviz.heatmap, izzyviz.explore) makes an HTML page; "
                "save this figure as .pdf, .svg or .png"
            )
        return self._explore(**options)

    def to_svg(self) -> str:
        """The first page as an SVG document."""
        return self._first_page().render("svg").decode("utf-8")

    def to_pdf(self) -> bytes:
        """All pages as a PDF document."""
        return self.render("pdf")

    def to_png(self, dpi: float = 150.0) -> bytes:
        """The first page as PNG bytes at ``dpi`` pixels per inch."""
        return self._first_page().render("png", dpi=dpi)

    def _first_page(self) -> Figure:
        return self if len(self.pages) == 1 else Figure(self.scene, self.data)

    def _repr_svg_(self) -> str:
        return self.to_svg()

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        """What Jupyter shows: the SVG, or a PNG when the SVG would weigh down the notebook
        (over ``NOTEBOOK_SVG_LIMIT`` bytes, e.g. thousands of tokens)."""
        svg = self.to_svg()
        if len(svg) <= NOTEBOOK_SVG_LIMIT:
            return {"image/svg+xml": svg}
        return {"image/png": self.to_png(dpi=96)}

    def __repr__(self) -> str:
        w, h = self.size
        pages = f", {len(self.pages)} pages" if len(self.pages) > 1 else ""
        return f"<izzyviz.Figure {w:g} x {h:g} pt{pages}>"


def _renderer(backend: type[Renderer], options: dict[str, Any], verb: str) -> Renderer:
    """``backend(**options)``, after refusing options it does not take, by name (a backend that
    takes ``**options`` checks them itself)."""
    parameters = inspect.signature(backend.__init__).parameters.values()
    if not any(p.kind is p.VAR_KEYWORD for p in parameters):
        known = [p.name for p in parameters if p.kind is p.KEYWORD_ONLY]
        unknown = sorted(set(options) - set(known))
        if unknown:
            takes = f"it takes {', '.join(known)}" if known else "it takes none"
            raise TypeError(
                f"{verb}: unknown option(s) {', '.join(unknown)} for {backend.name.upper()} "
                f"files; {takes}"
            )
    return backend(**options)
