"""PDF backend: the scene drawn with ReportLab, fonts embedded, text kept as real text.

The page is flipped once (our scenes are y-down, PDF is y-up) and every string is flipped back.
Cell grids bypass ReportLab's per-shape API, which costs microseconds per call: vector grids
become a content stream built with numpy (integer centipoints under one scaling matrix, one fill
per colour), image grids one Indexed-colour image XObject compressed by us.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import numpy as np

from izzyviz.raster import cells_by_color
from izzyviz.render import Renderer
from izzyviz.scene import (
    RGBA,
    CellGrid,
    Circle,
    Group,
    Image,
    Line,
    Polyline,
    RadialGradient,
    Rect,
    Scene,
    Text,
)
from izzyviz.text import font_path

__all__ = ["PDFRenderer"]

FONT_NAMES = {False: "IzzyViz-DejaVuSans", True: "IzzyViz-DejaVuSans-Bold"}


@lru_cache(maxsize=1)
def _register_fonts() -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    for bold, name in FONT_NAMES.items():
        pdfmetrics.registerFont(TTFont(name, str(font_path(bold))))


@contextmanager
def _reportlab_settings() -> Iterator[None]:
    """Binary streams (no ASCII85: 25% smaller and faster) while we render."""
    from reportlab import rl_config

    saved = rl_config.useA85
    rl_config.useA85 = 0
    try:
        yield
    finally:
        rl_config.useA85 = saved


def _image_xobject(image: Image) -> Any:
    """A ReportLab PDF object for a palette image: Indexed RGB colour space, Flate level 1."""
    from reportlab.pdfbase.pdfdoc import PDFArray, PDFDictionary, PDFName, PDFObject, PDFStream

    height, width = image.indices.shape
    palette = np.asarray(image.palette, dtype=np.uint8)
    lookup = "<" + palette[:, :3].tobytes().hex() + ">"

    class _Literal(PDFObject):
        def __init__(self, text: str) -> None:
            self.text = text

        def format(self, document: Any) -> bytes:
            return self.text.encode("ascii")

    class _IndexedImage(PDFObject):
        def format(self, document: Any) -> bytes:
            stream = PDFStream(
                PDFDictionary(
                    {
                        "Type": PDFName("XObject"),
                        "Subtype": PDFName("Image"),
                        "Width": width,
                        "Height": height,
                        "BitsPerComponent": 8,
                        "ColorSpace": PDFArray(
                            [
                                PDFName("Indexed"),
                                PDFName("DeviceRGB"),
                                len(palette) - 1,
                                _Literal(lookup),
                            ]
                        ),
                        "Interpolate": _Literal("false"),
                        "Filter": PDFName("FlateDecode"),
                    }
                ),
                zlib.compress(np.ascontiguousarray(image.indices).tobytes(), 1),
            )
            result: bytes = stream.format(document)
            return result

    return _IndexedImage()


def _rgb(color: RGBA) -> tuple[float, float, float]:
    return color[0], color[1], color[2]


class PDFRenderer(Renderer):
    """Draws scenes as pages of a PDF document.

    Options
    -------
    title, author, subject
        Document metadata (escaped by ReportLab).
    """

    name = "pdf"
    extensions = (".pdf",)
    multipage = True

    def __init__(
        self, *, title: str | None = None, author: str | None = None, subject: str | None = None
    ) -> None:
        self.meta = {"title": title, "author": author, "subject": subject}
        self._buffer = io.BytesIO()
        self.canvas: Any = None
        self._images = 0

    def begin_document(self, scenes: Sequence[Scene]) -> None:
        from reportlab.pdfgen.canvas import Canvas

        _register_fonts()
        first = scenes[0]
        self._buffer = io.BytesIO()
        self.canvas = Canvas(
            self._buffer, pagesize=(first.width, first.height), invariant=1, pageCompression=1
        )
        title = self.meta["title"] or first.title
        self.canvas.setTitle(title or "IzzyViz figure")
        self.canvas.setCreator("IzzyViz")
        self.canvas.setProducer("IzzyViz (ReportLab)")
        if self.meta["author"]:
            self.canvas.setAuthor(self.meta["author"])
        if self.meta["subject"]:
            self.canvas.setSubject(self.meta["subject"])

    def begin_page(self, scene: Scene, number: int) -> None:
        c = self.canvas
        c.setPageSize((scene.width, scene.height))
        c.transform(1, 0, 0, -1, 0, scene.height)
        if scene.background is not None:
            self._fill(scene.background)
            c.rect(0, 0, scene.width, scene.height, stroke=0, fill=1)

    def end_page(self, scene: Scene) -> None:
        self.canvas.showPage()

    def end_document(self) -> bytes:
        with _reportlab_settings():
            self.canvas.save()
        return self._buffer.getvalue()

    def push_group(self, group: Group) -> None:
        self.canvas.saveState()
        if group.transform is not None:
            self.canvas.transform(*group.transform)

    def pop_group(self, group: Group) -> None:
        self.canvas.restoreState()

    # -- paint -----------------------------------------------------------------------------

    def _fill(self, color: RGBA) -> None:
        self.canvas.setFillColorRGB(*_rgb(color))
        if color[3] < 1:
            self.canvas.setFillAlpha(color[3])

    def _stroke(self, color: RGBA, width: float) -> None:
        self.canvas.setStrokeColorRGB(*_rgb(color))
        self.canvas.setLineWidth(width)
        if color[3] < 1:
            self.canvas.setStrokeAlpha(color[3])

    def _paint(self, fill: RGBA | None, stroke: RGBA | None, width: float) -> tuple[int, int]:
        """Set the colours; returns the (stroke, fill) flags ReportLab's shape calls take."""
        if fill is not None:
            self._fill(fill)
        has_stroke = stroke is not None and width > 0
        if has_stroke and stroke is not None:
            self._stroke(stroke, width)
        return int(has_stroke), int(fill is not None)

    @contextmanager
    def _state(self) -> Iterator[Any]:
        self.canvas.saveState()
        try:
            yield self.canvas
        finally:
            self.canvas.restoreState()

    # -- primitives ------------------------------------------------------------------------

    def draw_rect(self, rect: Rect) -> None:
        with self._state() as c:
            stroke, fill = self._paint(rect.fill, rect.stroke, rect.stroke_width)
            if rect.radius > 0:
                c.roundRect(
                    rect.x, rect.y, rect.width, rect.height, rect.radius, stroke=stroke, fill=fill
                )
            else:
                c.rect(rect.x, rect.y, rect.width, rect.height, stroke=stroke, fill=fill)

    def draw_line(self, line: Line) -> None:
        with self._state() as c:
            self._stroke(line.stroke, line.width)
            c.line(line.x0, line.y0, line.x1, line.y1)

    def draw_polyline(self, polyline: Polyline) -> None:
        with self._state() as c:
            self._stroke(polyline.stroke, polyline.width)
            c.setLineJoin(1)
            c.setLineCap(1)
            path = c.beginPath()
            points = polyline.points.tolist()
            path.moveTo(*points[0])
            for x, y in points[1:]:
                path.lineTo(x, y)
            c.drawPath(path, stroke=1, fill=0)

    def draw_circle(self, circle: Circle) -> None:
        with self._state() as c:
            if isinstance(circle.fill, RadialGradient):
                path = c.beginPath()
                path.circle(circle.cx, circle.cy, circle.r)
                c.clipPath(path, stroke=0, fill=0)
                offsets = [offset for offset, _ in circle.fill.stops]
                colors = [self._color(color) for _, color in circle.fill.stops]
                c.radialGradient(circle.cx, circle.cy, circle.r, colors, offsets, extend=True)
                fill = None
            else:
                fill = circle.fill
            stroke, fill_flag = self._paint(fill, circle.stroke, circle.stroke_width)
            if stroke or fill_flag:
                c.circle(circle.cx, circle.cy, circle.r, stroke=stroke, fill=fill_flag)

    @staticmethod
    def _color(color: RGBA) -> Any:
        from reportlab.lib.colors import Color

        return Color(color[0], color[1], color[2], alpha=color[3])

    def draw_text(self, text: Text) -> None:
        c = self.canvas
        x = text.x - {"start": 0.0, "middle": text.width / 2, "end": text.width}[text.anchor]
        obj = c.beginText()
        obj.setTextTransform(1, 0, 0, -1, x, text.y)
        obj.setFont(FONT_NAMES[text.bold], text.size)
        obj.setFillColorRGB(*_rgb(text.fill))
        obj.textOut(text.text)
        c.drawText(obj)

    def draw_image(self, image: Image) -> None:
        c = self.canvas
        self._images += 1
        name = f"IzzyVizImage{self._images}"
        c._doc.addForm(name, _image_xobject(image))
        with self._state():
            # Image space is y-up: map its unit square onto the rectangle, top row at the top.
            c.transform(image.width, 0, 0, -image.height, image.x, image.y + image.height)
            c.doForm(name)

    def draw_cell_grid(self, grid: CellGrid) -> None:
        """Vector grids as one prepared content stream: per colour, ``rg`` then one ``re`` per
        cell and a single ``f``; coordinates are integer centipoints under one ``cm``."""
        if grid.mode == "image":
            super().draw_cell_grid(grid)
            return
        x, y = grid.x_edges, grid.y_edges
        if grid.gap > 0:
            self.draw_rect(Rect(x[0], y[0], x[-1] - x[0], y[-1] - y[0], fill=grid.gap_color))
        ops = ["q 0.01 0 0 0.01 0 0 cm"]
        for color, left, top, width, height in cells_by_color(grid):
            r, g, b = (v / 255 for v in grid.palette[color][:3].tolist())
            ops.append(f"{r:.4f} {g:.4f} {b:.4f} rg")
            ops.extend(
                f"{x0} {y0} {w} {h} re"
                for x0, y0, w, h in zip(
                    left.tolist(), top.tolist(), width.tolist(), height.tolist(), strict=True
                )
            )
            ops.append("f")
        ops.append("Q")
        self.canvas.addLiteral("\n".join(ops))
