"""Backends: the renderer base class and the registry that finds them.

A backend is a :class:`Renderer` subclass. The base class walks the scene and dispatches each node
to a method; a backend must implement the primitives (``draw_rect``, ``draw_text``, ...) and may
override the optional fast paths (``draw_cell_grid``, ``draw_vector_cells``), which otherwise
fall back to primitives.

Backends are looked up by name or file extension. The built-in ones (``pdf``, ``svg``, ``png``)
are imported only when first used. Third-party backends are found through the
``izzyviz.backends`` entry-point group; they may not shadow a built-in name.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from izzyviz.raster import grid_image
from izzyviz.scene import CellGrid, Circle, Group, Image, Line, Polyline, Rect, Scene, Text

__all__ = [
    "Renderer",
    "available_backends",
    "get_backend",
    "register_backend",
    "resolve_backend",
]


class Renderer(ABC):
    """Draws scenes to bytes in one output format.

    Subclasses set ``name`` and ``extensions``, implement the abstract methods, and are
    constructed with the keyword options the user passed to ``save`` (unknown options must
    raise ``TypeError``).
    """

    name: ClassVar[str]
    extensions: ClassVar[tuple[str, ...]] = ()
    multipage: ClassVar[bool] = False
    #: Pixels per inch of a raster output, whose long maps pool cells into its own pixels
    #: (see :meth:`izzyviz.Figure.at_dpi`); None for vector formats, seen at about 150 dpi.
    display_dpi: float | None = None

    _dispatch: ClassVar[dict[type, str]] = {
        Group: "draw_group",
        Rect: "draw_rect",
        Line: "draw_line",
        Polyline: "draw_polyline",
        Circle: "draw_circle",
        Text: "draw_text",
        Image: "draw_image",
        CellGrid: "draw_cell_grid",
    }

    def check(self, scenes: Sequence[Scene]) -> None:
        """Refuse ``scenes`` this renderer cannot draw (e.g. too many pixels), before any work
        is done for them. Nothing to check by default."""
        return None

    def render(self, scenes: Sequence[Scene]) -> bytes:
        """Draw ``scenes`` (one per page) and return the file's bytes."""
        if len(scenes) != 1 and not self.multipage:
            raise ValueError(
                f"format: {self.name} files hold one page, got {len(scenes)} pages; "
                "save each page to its own file or use PDF"
            )
        self.begin_document(scenes)
        for number, scene in enumerate(scenes):
            self.begin_page(scene, number)
            self.draw_node(scene.root)
            self.end_page(scene)
        return self.end_document()

    def draw_node(self, node: Any) -> None:
        """Dispatch ``node`` to the method that draws its type."""
        method = self._dispatch.get(type(node))
        if method is None:
            raise TypeError(f"{self.name} backend: cannot draw a {type(node).__name__} node")
        getattr(self, method)(node)

    def draw_group(self, group: Group) -> None:
        """Draw a group's children inside its transform."""
        self.push_group(group)
        for child in group.children:
            self.draw_node(child)
        self.pop_group(group)

    # -- required --------------------------------------------------------------------------

    @abstractmethod
    def begin_document(self, scenes: Sequence[Scene]) -> None: ...

    @abstractmethod
    def begin_page(self, scene: Scene, number: int) -> None: ...

    @abstractmethod
    def end_page(self, scene: Scene) -> None: ...

    @abstractmethod
    def end_document(self) -> bytes: ...

    @abstractmethod
    def push_group(self, group: Group) -> None: ...

    @abstractmethod
    def pop_group(self, group: Group) -> None: ...

    @abstractmethod
    def draw_rect(self, rect: Rect) -> None: ...

    @abstractmethod
    def draw_line(self, line: Line) -> None: ...

    @abstractmethod
    def draw_polyline(self, polyline: Polyline) -> None: ...

    @abstractmethod
    def draw_circle(self, circle: Circle) -> None: ...

    @abstractmethod
    def draw_text(self, text: Text) -> None: ...

    @abstractmethod
    def draw_image(self, image: Image) -> None: ...

    # -- optional fast paths -----------------------------------------------------------------

    def draw_cell_grid(self, grid: CellGrid) -> None:
        """Draw a grid of cells: one image (``mode="image"``) with lines of the gap colour
        between its cells, or the gap colour under the whole grid and then its cells
        (:meth:`draw_vector_cells`)."""
        if grid.mode == "image":
            self.draw_image(self.cell_image(grid))
            self.draw_grid_lines(grid)
            return
        x, y = grid.x_edges, grid.y_edges
        if grid.gap > 0:
            self.draw_rect(Rect(x[0], y[0], x[-1] - x[0], y[-1] - y[0], fill=grid.gap_color))
        self.draw_vector_cells(grid)

    def draw_vector_cells(self, grid: CellGrid) -> None:
        """Draw a vector grid's cells over its gap colour. The fallback draws one rectangle per
        cell, inset by half the gap."""
        x, y = grid.x_edges, grid.y_edges
        half = grid.gap / 2
        colors = grid.colors().astype(np.float64) / 255.0
        for i in range(grid.shape[0]):
            for j in range(grid.shape[1]):
                r, g, b, a = colors[i, j].tolist()
                self.draw_rect(
                    Rect(
                        x[j] + half,
                        y[i] + half,
                        x[j + 1] - x[j] - grid.gap,
                        y[i + 1] - y[i] - grid.gap,
                        fill=(r, g, b, a),
                    )
                )

    def cell_image(self, grid: CellGrid) -> Image:
        """The image an image-mode grid is drawn as; raster backends may size it to their
        resolution."""
        return grid_image(grid)

    def draw_grid_lines(self, grid: CellGrid) -> None:
        """Lines of the gap colour between the cells of an image-mode grid."""
        if grid.gap <= 0:
            return
        x, y = grid.x_edges, grid.y_edges
        for xe in x[1:-1].tolist():
            self.draw_line(Line(xe, y[0], xe, y[-1], grid.gap_color, grid.gap))
        for ye in y[1:-1].tolist():
            self.draw_line(Line(x[0], ye, x[-1], ye, grid.gap_color, grid.gap))


# -- registry ---------------------------------------------------------------------------------

_BUILTIN: dict[str, tuple[str, str]] = {
    "pdf": ("izzyviz.backends.pdf", "PDFRenderer"),
    "svg": ("izzyviz.backends.svg", "SVGRenderer"),
    "png": ("izzyviz.backends.png", "PNGRenderer"),
}
_BUILTIN_EXTENSIONS = {".pdf": "pdf", ".svg": "svg", ".png": "png"}
_registered: dict[str, Callable[[], type[Renderer]]] = {}
_extensions: dict[str, str] = {}
_entry_points_loaded = False


def register_backend(
    name: str,
    renderer: type[Renderer] | Callable[[], type[Renderer]],
    extensions: Sequence[str] = (),
) -> None:
    """Make a backend available under ``name`` (and for files ending in ``extensions``).

    ``renderer`` is a :class:`Renderer` subclass or a zero-argument function returning one
    (loaded on first use). Built-in names cannot be replaced.
    """
    key = name.lower()
    if key in _BUILTIN:
        raise ValueError(f"name: {name!r} is a built-in backend and cannot be replaced")
    if isinstance(renderer, type):
        cls = renderer
        _registered[key] = lambda: cls
    else:
        _registered[key] = renderer
    for ext in extensions:
        ext = ext.lower() if ext.startswith(".") else "." + ext.lower()
        if ext not in _BUILTIN_EXTENSIONS:
            _extensions[ext] = key


def _load_entry_points() -> None:
    """Register third-party backends from the ``izzyviz.backends`` entry-point group, once."""
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    for ep in entry_points(group="izzyviz.backends"):
        if ep.name.lower() in _BUILTIN or ep.name.lower() in _registered:
            continue

        def load(ep: Any = ep) -> type[Renderer]:
            cls = ep.load()
            if not (isinstance(cls, type) and issubclass(cls, Renderer)):
                raise TypeError(f"backend: entry point {ep.name!r} is not a Renderer subclass")
            return cls

        _registered[ep.name.lower()] = load


def available_backends() -> list[str]:
    """Names of every backend that can be used (built-in and registered)."""
    _load_entry_points()
    return sorted({*_BUILTIN, *_registered})


def get_backend(name: str, argument: str = "backend") -> type[Renderer]:
    """The renderer class registered under ``name`` (``"pdf"``, ``"svg"``, ``"png"``, ...);
    errors name ``argument``."""
    if not isinstance(name, str):
        raise TypeError(f"{argument}: expected a backend name, got {name!r}")
    key = name.lower().lstrip(".")
    if key in _BUILTIN:
        module, attr = _BUILTIN[key]
        cls: type[Renderer] = getattr(importlib.import_module(module), attr)
        return cls
    _load_entry_points()
    if key in _registered:
        return _registered[key]()
    raise ValueError(
        f"{argument}: unknown backend {name!r}; expected one of {', '.join(available_backends())}"
    )


def resolve_backend(
    path: str | None, format: str | None = None, backend: str | None = None
) -> type[Renderer]:
    """Choose a backend: ``backend`` by name, else ``format``, else the file extension."""
    if backend is not None:
        return get_backend(backend)
    if format is not None:
        return get_backend(format, "format")
    suffix = Path(path).suffix.lower() if path is not None else ""
    if suffix in _BUILTIN_EXTENSIONS:
        return get_backend(_BUILTIN_EXTENSIONS[suffix])
    _load_entry_points()
    if suffix in _extensions:
        return get_backend(_extensions[suffix])
    # Entry-point backends declare their extensions on the class: load them to ask.
    for name in list(_registered):
        cls = _registered[name]()
        if suffix and suffix in cls.extensions:
            return cls
    raise ValueError(
        f"path: cannot tell the format of {str(path)!r} from its extension {suffix or '(none)'}; "
        "use .pdf, .svg or .png, or pass format='pdf' (or 'svg', 'png')"
    )
