"""PDF backend: the scene drawn with ReportLab, fonts embedded, text kept as real text.

The page is flipped once (our scenes are y-down, PDF is y-up) and every string is flipped back.
Cell grids bypass ReportLab's per-shape API, which costs microseconds per call: vector grids
become a content stream built with numpy (integer centipoints under one scaling matrix, one fill
per colour), image grids one Indexed-colour image XObject compressed by us.
"""

from __future__ import annotations

import io
import threading
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from izzyviz import scene as nodes
from izzyviz._validate import check_optional_text
from izzyviz.raster import cells_by_color
from izzyviz.render import Renderer
from izzyviz.text import FontMetrics, metrics, valid_text, visual_order

__all__ = ["PDFRenderer"]

FONT_NAMES = {"regular": "IzzyViz-DejaVuSans", "bold": "IzzyViz-DejaVuSans-Bold"}


def _to_unicode_cmap(fontname: str, subset: Sequence[int]) -> str:
    """ReportLab's ToUnicode CMap, but with characters beyond U+FFFF written as UTF-16
    surrogate pairs as the PDF spec requires (ReportLab writes ``<1F600>``, which readers
    reject, so emoji tokens could not be copied or searched)."""
    entries = [
        f"<{i:02X}> <{chr(code).encode('utf-16-be').hex().upper()}>"
        for i, code in enumerate(subset)
    ]
    return "\n".join([
        "/CIDInit /ProcSet findresource begin", "12 dict begin", "begincmap",
        "/CIDSystemInfo", f"<< /Registry ({fontname})", f"/Ordering ({fontname})",
        "/Supplement 0", ">> def", f"/CMapName /{fontname} def", "/CMapType 2 def",
        "1 begincodespacerange", f"<00> <{len(subset) - 1:02X}>", "endcodespacerange",
        f"{len(subset)} beginbfchar", *entries, "endbfchar", "endcmap",
        "CMapName currentdict /CMap defineresource pop", "end", "end",
    ])  # fmt: skip


_font_lock = threading.Lock()
_font_names: dict[str, str] = {}


def _font_name(fonts: FontMetrics, font_id: str) -> str:
    """The ReportLab name of a text run's font (``"regular"``, ``"bold"``, or the id of a chosen
    or fallback font of ``fonts``), registering the font with ReportLab on first use.

    Registering fonts is the only process-wide ReportLab state this backend touches: once per
    font, under a lock, with a name made from the font file rather than from the order of first
    use, so a PDF's bytes do not depend on what was drawn before or in another thread."""
    name = _font_names.get(font_id)
    if name is not None:
        return name
    with _font_lock:
        if font_id not in _font_names:
            face = fonts.face(font_id)
            kind = "" if face in fonts.primary.values() else "Fallback-"
            name = FONT_NAMES.get(font_id, f"IzzyViz-{kind}{face.path.stem}-{face.index}")
            while name in _font_names.values():  # two fallback files with the same name
                name += "x"
            _register(name, face.path, face.index)
            _font_names[font_id] = name
    return _font_names[font_id]


def _register(name: str, path: Path, index: int) -> None:
    """Register a TrueType font whose ToUnicode CMaps are :func:`_to_unicode_cmap`'s. The fix
    lives in this font class, not in a patch of ReportLab's module, so other users of ReportLab
    in the process keep ReportLab's own behaviour."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import SUBSETN, TTFont

    class _Font(TTFont):
        def addObjects(self, doc: Any) -> None:
            # ReportLab forgets the subsets once it has written them: keep them to rewrite the
            # ToUnicode streams it registered under 'toUnicodeCMap:<subset font name>'.
            state = self.state.get(doc)
            subsets = [list(s) for s in state.subsets] if state is not None else []
            super().addObjects(doc)
            face = self.face
            for n, subset in enumerate(subsets):
                base = (SUBSETN(n) + b"+" + face.name + face.subfontNameX).decode("pdfdoc")
                doc.idToObject["toUnicodeCMap:" + base].content = _to_unicode_cmap(base, subset)

    pdfmetrics.registerFont(_Font(name, str(path), subfontIndex=index))


def _encode_missing(name: str, text: str) -> None:
    """Give characters that the font ``name`` lacks a code of their own, drawn as the font's
    missing-glyph box: ReportLab would write them all as code 0, which the text layer reads as
    NUL, so a label with a character no font has could not be found or copied."""
    from reportlab.pdfbase import pdfmetrics

    face = pdfmetrics.getFont(name).face
    for code in map(ord, text):
        if code not in face.charToGlyph and code != 0xA0:
            face.charWidths[code] = face.defaultWidth
            face.charToGlyph[code] = 0


def _string_width(name: str, text: str, size: float) -> float:
    from reportlab.pdfbase import pdfmetrics

    return float(pdfmetrics.stringWidth(text, name, size))


def _document_info(entries: dict[str, str | None]) -> Any:
    """The document information dictionary: the non-empty ``entries`` (PDF keys such as
    ``"Title"``) and the creating program, nothing else (ReportLab's own would add an
    "anonymous" author, an "unspecified" subject and made-up dates)."""
    from reportlab.pdfbase.pdfdoc import PDFDictionary, PDFObject, PDFString

    given = {key: value for key, value in entries.items() if value}
    given |= {"Creator": "IzzyViz", "Producer": "IzzyViz (ReportLab)"}

    class _Info(PDFObject):
        def digest(self, md5: Any) -> None:  # feeds the document ID, as ReportLab's does
            for value in given.values():
                md5.update(value.encode("utf-8", "surrogatepass"))

        def format(self, document: Any) -> bytes:
            info = PDFDictionary({key: PDFString(value) for key, value in given.items()})
            result: bytes = info.format(document)
            return result

    return _Info()


def _image_xobject(image: nodes.Image) -> Any:
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


def _rgb(color: nodes.RGBA) -> tuple[float, float, float]:
    return color[0], color[1], color[2]


def _page_link(link: str) -> int | None:
    """The page number (counted from 1) of a ``"#page-N"`` link, else None."""
    if link.startswith("#page-") and link[6:].isdigit():
        return int(link[6:])
    return None


def _link_targets(scenes: Sequence[nodes.Scene]) -> set[int]:
    """Numbers of the pages (from 1) that some group links to with ``"#page-N"``."""
    targets: set[int] = set()
    stack: list[nodes.Group] = [scene.root for scene in scenes]
    while stack:
        group = stack.pop()
        if group.link is not None:
            page = _page_link(group.link)
            if page is not None:
                targets.add(page)
        stack.extend(child for child in group.children if isinstance(child, nodes.Group))
    return targets


def _link_area(group: nodes.Group) -> tuple[float, float, float, float] | None:
    """Bounding box, in the group's coordinates, of its own shapes (rectangles, images, cell
    grids, circles): the clickable area of a linked group. None if it has no such child."""
    boxes: list[tuple[float, float, float, float]] = []
    for child in group.children:
        if isinstance(child, (nodes.Rect, nodes.Image)):
            boxes.append((child.x, child.y, child.x + child.width, child.y + child.height))
        elif isinstance(child, nodes.CellGrid):
            x, y = child.x_edges, child.y_edges
            boxes.append((float(x[0]), float(y[0]), float(x[-1]), float(y[-1])))
        elif isinstance(child, nodes.Circle):
            r = child.r
            boxes.append((child.cx - r, child.cy - r, child.cx + r, child.cy + r))
    if not boxes:
        return None
    x0s, y0s, x1s, y1s = zip(*boxes, strict=True)
    return min(x0s), min(y0s), max(x1s), max(y1s)


class PDFRenderer(Renderer):
    """Draws scenes as pages of a PDF document.

    Options
    -------
    title, author, subject
        Document information (strings). The title defaults to the first page's title; only
        what is given is written, with IzzyViz as the creator.

    Pages with ``Scene.bookmarks`` get outline entries; a group with ``link="#page-N"`` becomes
    a link annotation to page ``N`` (counted from 1) over its shapes' area, other links become
    URI links. Links to pages the document does not have are dropped.
    """

    name = "pdf"
    extensions = (".pdf",)
    multipage = True

    def __init__(
        self, *, title: str | None = None, author: str | None = None, subject: str | None = None
    ) -> None:
        self.meta: dict[str, str | None] = {}
        for key, value in (("Title", title), ("Author", author), ("Subject", subject)):
            text = check_optional_text(value, key.lower())
            # The text policy of labels and titles, so that every value can be written.
            self.meta[key] = None if text is None else valid_text(text)
        self._buffer = io.BytesIO()
        self.canvas: Any = None
        self._images = 0
        self._pages = 0
        self._targets: set[int] = set()
        self._fonts = metrics()

    def begin_document(self, scenes: Sequence[nodes.Scene]) -> None:
        from reportlab.pdfgen.canvas import Canvas

        first = scenes[0]
        fonts = metrics(first.font)
        self._buffer = io.BytesIO()
        # Our own font as the initial one: ReportLab's default (Helvetica) would be referenced
        # by every page and never embedded, which publishers' preflight checks reject.
        self.canvas = Canvas(
            self._buffer,
            pagesize=(first.width, first.height),
            invariant=1,
            pageCompression=1,
            initialFontName=_font_name(fonts, fonts.primary_id()),
        )
        meta = {"Title": first.title} | {k: v for k, v in self.meta.items() if v}
        self.canvas._doc.info = _document_info(meta)
        self._pages = len(scenes)
        self._targets = _link_targets(scenes)
        if any(scene.bookmarks for scene in scenes):
            self.canvas.showOutline()

    def begin_page(self, scene: nodes.Scene, number: int) -> None:
        self._fonts = metrics(scene.font)
        c = self.canvas
        c.setPageSize((scene.width, scene.height))
        c.transform(1, 0, 0, -1, 0, scene.height)
        if scene.background is not None:
            self._fill(scene.background)
            c.rect(0, 0, scene.width, scene.height, stroke=0, fill=1)
        if scene.bookmarks or number + 1 in self._targets:
            c.bookmarkPage(f"page-{number + 1}")
        for index, title in enumerate(scene.bookmarks):
            # ReportLab keys outline entries by destination: one destination per entry.
            key = f"page-{number + 1}" + (f"-{index}" if index else "")
            if index:
                c.bookmarkPage(key)
            c.addOutlineEntry(title, key, level=0)

    def end_page(self, scene: nodes.Scene) -> None:
        from reportlab.pdfbase.pdfdoc import PDFStream, PDFZCompress

        self.canvas.showPage()
        # Give the page its compressed content stream now: left to ReportLab, the filters are
        # chosen at save time from the process-wide rl_config.useA85.
        page = self.canvas._doc.Pages.pages[-1]
        page.Contents = PDFStream(content=page.stream, filters=[PDFZCompress])

    def end_document(self) -> bytes:
        self.canvas.save()
        return self._buffer.getvalue()

    def push_group(self, group: nodes.Group) -> None:
        self.canvas.saveState()
        if group.transform is not None:
            self.canvas.transform(*group.transform)
        if group.link:
            self._link(group)

    def _link(self, group: nodes.Group) -> None:
        """A link annotation over the group's area (in the current, flipped coordinates)."""
        area = _link_area(group)
        link = group.link
        if area is None or not link:
            return
        page = _page_link(link)
        if page is not None:
            if 1 <= page <= self._pages:
                self.canvas.linkRect("", f"page-{page}", area, relative=1, thickness=0)
        elif not link.startswith("#"):
            self.canvas.linkURL(link, area, relative=1, thickness=0)

    def pop_group(self, group: nodes.Group) -> None:
        self.canvas.restoreState()

    # -- paint -----------------------------------------------------------------------------

    def _fill(self, color: nodes.RGBA) -> None:
        self.canvas.setFillColorRGB(*_rgb(color))
        if color[3] < 1:
            self.canvas.setFillAlpha(color[3])

    def _stroke(self, color: nodes.RGBA, width: float) -> None:
        self.canvas.setStrokeColorRGB(*_rgb(color))
        self.canvas.setLineWidth(width)
        if color[3] < 1:
            self.canvas.setStrokeAlpha(color[3])

    def _paint(
        self, fill: nodes.RGBA | None, stroke: nodes.RGBA | None, width: float
    ) -> tuple[int, int]:
        """Set the colours; returns the (stroke, fill) flags ReportLab's shape calls take."""
        if fill is not None:
            self._fill(fill)
        has_stroke = stroke is not None and width > 0
        if has_stroke and stroke is not None:
            self._stroke(stroke, width)
        return int(has_stroke), int(fill is not None)

    @contextmanager
    def _state(self, *colors: nodes.RGBA | None) -> Iterator[Any]:
        """A saved graphics state, needed only where something outlives the shape: opacity
        (given ``colors`` with alpha < 1), clipping or line styles. Opaque colours and line
        widths are set anew by every shape, so those skip the q/Q pair."""
        if colors and all(c is None or c[3] >= 1 for c in colors):
            yield self.canvas
            return
        self.canvas.saveState()
        try:
            yield self.canvas
        finally:
            self.canvas.restoreState()

    # -- primitives ------------------------------------------------------------------------

    def draw_rect(self, rect: nodes.Rect) -> None:
        with self._state(rect.fill, rect.stroke) as c:
            stroke, fill = self._paint(rect.fill, rect.stroke, rect.stroke_width)
            if rect.radius > 0:
                c.roundRect(
                    rect.x, rect.y, rect.width, rect.height, rect.radius, stroke=stroke, fill=fill
                )
            else:
                c.rect(rect.x, rect.y, rect.width, rect.height, stroke=stroke, fill=fill)

    def draw_line(self, line: nodes.Line) -> None:
        with self._state(line.stroke) as c:
            self._stroke(line.stroke, line.width)
            c.line(line.x0, line.y0, line.x1, line.y1)

    def draw_polyline(self, polyline: nodes.Polyline) -> None:
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

    def draw_circle(self, circle: nodes.Circle) -> None:
        with self._state() as c:
            if isinstance(circle.fill, nodes.RadialGradient):
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
    def _color(color: nodes.RGBA) -> Any:
        from reportlab.lib.colors import Color

        return Color(color[0], color[1], color[2], alpha=color[3])

    def draw_text(self, text: nodes.Text) -> None:
        if text.glyphs is not None:
            self._draw_glyphs(text)
            return
        c = self.canvas
        x = text.left
        obj = c.beginText()
        obj.setTextTransform(1, 0, 0, -1, x, text.y)
        obj.setFillColorRGB(*_rgb(text.fill))
        fonts = self._fonts
        for part, font_id in text.runs or ((text.text, fonts.primary_id(text.bold)),):
            name = _font_name(fonts, font_id)
            _encode_missing(name, part)
            obj.setFont(name, text.size)
            obj.textOut(part)
        c.drawText(obj)

    def _draw_glyphs(self, text: nodes.Text) -> None:
        """Shaped text: its glyph outlines filled as one path, under the same text in
        invisible type (render mode 3) so that the PDF stays searchable and copyable. The
        invisible text is in visual order, as PDF producers write right-to-left text, and
        stretched to the glyphs' width so a selection covers them."""
        c = self.canvas
        with self._state(text.fill):
            self._fill(text.fill)
            path = c.beginPath()
            for op in self._fonts.text_path(text):
                {"M": path.moveTo, "L": path.lineTo, "C": path.curveTo, "Z": path.close}[op[0]](
                    *op[1:]
                )
            c.drawPath(path, stroke=0, fill=1)
        name = _font_name(self._fonts, self._fonts.primary_id(text.bold))
        shown = visual_order(text.text)
        _encode_missing(name, shown)
        natural = _string_width(name, shown, text.size)
        x = text.left
        obj = c.beginText()
        obj.setTextTransform(1, 0, 0, -1, x, text.y)
        obj.setTextRenderMode(3)
        obj.setFont(name, text.size)
        if natural > 0:
            obj.setHorizScale(100 * text.width / natural)
        obj.textOut(shown)
        c.drawText(obj)

    def draw_image(self, image: nodes.Image) -> None:
        c = self.canvas
        self._images += 1
        name = f"IzzyVizImage{self._images}"
        c._doc.addForm(name, _image_xobject(image))
        with self._state():
            # Image space is y-up: map its unit square onto the rectangle, top row at the top.
            c.transform(image.width, 0, 0, -image.height, image.x, image.y + image.height)
            c.doForm(name)

    def draw_vector_cells(self, grid: nodes.CellGrid) -> None:
        """Vector grids as one prepared content stream: per colour, ``rg`` then one ``re`` per
        cell and a single ``f``; coordinates are integer centipoints under one ``cm``."""
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
