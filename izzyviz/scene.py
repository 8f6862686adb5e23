"""The scene graph: passive, typed drawing primitives that every backend draws.

Coordinates are in points (1/72 inch), with the origin at the top-left corner of the page and
y growing downwards. Colours are RGBA tuples of floats in [0, 1]. Nodes do nothing by themselves;
the layout creates them and a backend walks them (see :mod:`izzyviz.render`).

A heatmap's cells are one batched :class:`CellGrid` node (edges plus a colour-index array), never
one object per cell, so a 4096 x 4096 matrix is one node.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypeAlias, Union

import numpy as np
from numpy.typing import NDArray

from izzyviz.textpolicy import valid_text

__all__ = [
    "RGBA",
    "CellGrid",
    "Circle",
    "Font",
    "GlyphRun",
    "Group",
    "Image",
    "Line",
    "Node",
    "Polyline",
    "RadialGradient",
    "Rect",
    "Scene",
    "Text",
    "Transform",
    "rotation",
    "translation",
]

RGBA: TypeAlias = tuple[float, float, float, float]
"""A colour: red, green, blue and alpha, each in [0, 1]."""

Transform: TypeAlias = tuple[float, float, float, float, float, float]
"""An affine transform ``(a, b, c, d, e, f)`` mapping ``(x, y)`` to
``(a*x + c*y + e, b*x + d*y + f)``, as in SVG and PDF."""

IDENTITY: Transform = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)


def translation(dx: float, dy: float) -> Transform:
    """A transform that moves by ``(dx, dy)``."""
    return (1.0, 0.0, 0.0, 1.0, float(dx), float(dy))


def rotation(degrees: float, cx: float = 0.0, cy: float = 0.0) -> Transform:
    """A transform that turns by ``degrees`` counter-clockwise *as seen on the page* about
    ``(cx, cy)``. In y-down coordinates that is a negative mathematical angle."""
    t = math.radians(-degrees)
    cos, sin = math.cos(t), math.sin(t)
    return (cos, sin, -sin, cos, cx - cos * cx + sin * cy, cy - sin * cx - cos * cy)


@dataclass(frozen=True, slots=True)
class Rect:
    """An axis-aligned rectangle, optionally with rounded corners."""

    x: float
    y: float
    width: float
    height: float
    fill: RGBA | None = None
    stroke: RGBA | None = None
    stroke_width: float = 0.0
    radius: float = 0.0


@dataclass(frozen=True, slots=True)
class Line:
    """A straight line segment."""

    x0: float
    y0: float
    x1: float
    y1: float
    stroke: RGBA
    width: float = 1.0


@dataclass(frozen=True, slots=True, eq=False)
class Polyline:
    """An open path through ``points`` (an ``(n, 2)`` array), e.g. a sparkline."""

    points: NDArray[np.float64]
    stroke: RGBA
    width: float = 1.0


@dataclass(frozen=True, slots=True)
class RadialGradient:
    """A radial colour ramp from the centre (offset 0) to the rim (offset 1) of a shape."""

    stops: tuple[tuple[float, RGBA], ...]


@dataclass(frozen=True, slots=True)
class Circle:
    """A circle filled with a flat colour or a :class:`RadialGradient`."""

    cx: float
    cy: float
    r: float
    fill: RGBA | RadialGradient | None = None
    stroke: RGBA | None = None
    stroke_width: float = 0.0


@dataclass(frozen=True, slots=True)
class Text:
    """One line of text, already positioned and measured.

    ``(x, y)`` is the anchor point on the alphabetic baseline; ``anchor`` says whether the text
    starts, is centred on, or ends at ``x``. ``width`` is the advance width measured by the layout
    from the same font the backends embed. ``full_text`` keeps the original string when ``text``
    was shortened for display. ``runs``, when set, splits ``text`` into ``(substring, font id)``
    pieces for characters drawn in fallback fonts (see :meth:`izzyviz.text.FontMetrics.runs`).
    """

    x: float
    y: float
    text: str
    size: float
    width: float
    fill: RGBA = (0.0, 0.0, 0.0, 1.0)
    bold: bool = False
    anchor: Literal["start", "middle", "end"] = "start"
    full_text: str | None = None
    runs: tuple[tuple[str, str], ...] | None = None
    glyphs: tuple[GlyphRun, ...] | None = None

    @property
    def left(self) -> float:
        """x of the text's left end, in points."""
        return self.x - {"start": 0.0, "middle": self.width / 2, "end": self.width}[self.anchor]


@dataclass(frozen=True, slots=True)
class GlyphRun:
    """Shaped glyphs of one font, in the order they appear on the page (left to right).

    ``ids`` are glyph indices of the font that ``font`` names (a font id of
    :class:`izzyviz.text.FontMetrics`); ``x`` and ``y`` are each glyph's origin in ems of the
    text's size, measured from the text's left end on the baseline, y growing upwards.
    """

    font: str
    ids: tuple[int, ...]
    x: tuple[float, ...]
    y: tuple[float, ...]


@dataclass(frozen=True, slots=True, eq=False)
class Image:
    """A palette image stretched over a rectangle, drawn without smoothing.

    ``indices`` is an ``(h, w)`` uint8 array of palette positions (row 0 at the top), and
    ``palette`` an ``(n, 4)`` uint8 RGBA table.
    """

    x: float
    y: float
    width: float
    height: float
    indices: NDArray[np.uint8]
    palette: NDArray[np.uint8]


@dataclass(frozen=True, slots=True, eq=False)
class CellGrid:
    """A batch of heatmap cells.

    Cell ``(i, j)`` spans ``x_edges[j]..x_edges[j+1]`` and ``y_edges[i]..y_edges[i+1]`` and is
    filled with ``palette[indices[i, j]]``. ``gap`` is the width of the lines of ``gap_color``
    drawn between cells (0 for none). ``mode`` says how backends should draw it: ``"vector"``
    (one rectangle per cell) or ``"image"`` (one embedded image, for large grids). ``missing``
    is the palette position of "no data" cells (masked), which a raster drawn coarser than the
    cells never blends with the others. ``peaks``: a raster backend drawing the grid at fewer
    pixels than cells keeps each pixel's largest palette index instead of averaging (the
    grid's cells are already maxima of pooled blocks).
    """

    x_edges: NDArray[np.float64]
    y_edges: NDArray[np.float64]
    indices: NDArray[np.uint8]
    palette: NDArray[np.uint8]
    gap: float = 0.0
    gap_color: RGBA = (1.0, 1.0, 1.0, 1.0)
    mode: Literal["vector", "image"] = "vector"
    missing: int | None = None
    peaks: bool = False

    @property
    def shape(self) -> tuple[int, int]:
        """``(rows, columns)`` of the grid."""
        return (len(self.y_edges) - 1, len(self.x_edges) - 1)

    def colors(self) -> NDArray[np.uint8]:
        """The ``(rows, columns, 4)`` uint8 RGBA colour of every cell."""
        return self.palette[self.indices]


Node: TypeAlias = Union[Rect, Line, Polyline, Circle, Text, Image, CellGrid, "Group"]


@dataclass(frozen=True, slots=True)
class Group:
    """A group of nodes with an optional transform.

    ``role`` names the part of the figure ("heatmap", "colorbar", "x-labels", ...) so tests and
    tools can find it; ``link`` makes the group's area a link (``"#page-N"`` for a page of the
    same document, or a URL).
    """

    children: tuple[Node, ...] = ()
    transform: Transform | None = None
    role: str | None = None
    link: str | None = None

    def find(self, role: str) -> list[Group]:
        """All groups below (and including) this one whose role is ``role``, in drawing order."""
        found = [self] if self.role == role else []
        for child in self.children:
            if isinstance(child, Group):
                found.extend(child.find(role))
        return found

    def walk(self) -> list[Node]:
        """Every node below this group, depth first, in drawing order (groups included)."""
        nodes: list[Node] = []
        for child in self.children:
            nodes.append(child)
            if isinstance(child, Group):
                nodes.extend(child.walk())
        return nodes


@dataclass(frozen=True, slots=True)
class Font:
    """The font files a page's text is set in: a family's regular face and, when the family has
    one, its bold face (``bold`` None: bold text is drawn in the regular face). Paths are
    TrueType files (``regular_index``, ``bold_index``: the font inside a .ttc collection). Made
    and checked by :func:`izzyviz.paper.find_font`; measured by :mod:`izzyviz.text`.
    """

    family: str
    regular: Path
    bold: Path | None = None
    regular_index: int = 0
    bold_index: int = 0


@dataclass(frozen=True, slots=True)
class Scene:
    """One page: its size in points, a white (or other) background and the root group.

    ``font`` is the font the page's text was measured in (None: the bundled DejaVu fonts);
    backends draw and embed that font (see :func:`izzyviz.text.metrics`).
    """

    width: float
    height: float
    root: Group
    background: RGBA | None = (1.0, 1.0, 1.0, 1.0)
    title: str | None = None
    bookmarks: tuple[str, ...] = field(default=())
    font: Font | None = None

    def __post_init__(self) -> None:
        # Titles and bookmarks become document metadata: the text policy of labels (no lone
        # surrogates) keeps every format writable.
        if self.title is not None:
            object.__setattr__(self, "title", valid_text(self.title))
        object.__setattr__(self, "bookmarks", tuple(map(valid_text, self.bookmarks)))

    def find(self, role: str) -> list[Group]:
        """All groups of the page whose role is ``role``."""
        return self.root.find(role)


def compose(a: Transform, b: Transform) -> Transform:
    """The transform that applies ``b`` first, then ``a``."""
    a0, a1, a2, a3, a4, a5 = a
    b0, b1, b2, b3, b4, b5 = b
    return (
        a0 * b0 + a2 * b1,
        a1 * b0 + a3 * b1,
        a0 * b2 + a2 * b3,
        a1 * b2 + a3 * b3,
        a0 * b4 + a2 * b5 + a4,
        a1 * b4 + a3 * b5 + a5,
    )


def apply(transform: Transform, points: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """Map ``points`` through ``transform``."""
    a, b, c, d, e, f = transform
    return [(a * x + c * y + e, b * x + d * y + f) for x, y in points]
