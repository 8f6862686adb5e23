"""SVG backend: the scene written directly as SVG 1.1 text.

Every text node and attribute value is escaped (labels are data, never markup), characters XML
cannot hold are replaced, and numbers are formatted with a fixed number of decimals, so the same
scene always gives the same bytes. Large cell grids become one embedded palette PNG; small ones
become one ``<path>`` per colour, split every few thousand cells because XML parsers slow down
badly on multi-megabyte attributes.
"""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from izzyviz import scene as nodes
from izzyviz.raster import cells_by_color, encode_png
from izzyviz.render import Renderer
from izzyviz.text import metrics

__all__ = ["SVGRenderer", "fmt"]

CELLS_PER_PATH = 2000
# Characters XML 1.0 forbids (C0 controls but tab/newline/return, surrogates, U+FFFE/U+FFFF).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def fmt(value: float) -> str:
    """A number with at most three decimals and no trailing zeros (``-0`` becomes ``0``)."""
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _text(value: str) -> str:
    return escape(_NOT_XML.sub("\ufffd", value))


def _attr(value: str) -> str:
    return quoteattr(_NOT_XML.sub("\ufffd", value), {"\n": "&#10;", "\r": "&#13;", "\t": "&#9;"})


def _paint(color: nodes.RGBA | None, kind: str) -> str:
    if color is None:
        return f' {kind}="none"'
    r, g, b, a = (round(c * 255) for c in color)
    out = f' {kind}="#{r:02x}{g:02x}{b:02x}"'
    if a < 255:
        out += f' {kind}-opacity="{fmt(color[3])}"'
    return out


def _outline(color: nodes.RGBA | None, width: float) -> str:
    """The stroke attributes of a shape's outline (none when it has no colour or width)."""
    if color is None or width <= 0:
        return ""
    return _paint(color, "stroke") + f' stroke-width="{fmt(width)}"'


def _css_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


@lru_cache(maxsize=32)
def _subset(path: Path, index: int, chars: str) -> bytes:
    """The font at ``path`` (``index`` in a collection) with only the glyphs of ``chars``, as
    TrueType bytes (the same bytes every time: no new timestamp)."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    font = TTFont(str(path), fontNumber=index, recalcTimestamp=False)
    options = subset.Options(notdef_outline=True)
    options.drop_tables += ["FFTM"]  # FontForge's timestamps: "don't know how to subset"
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=[ord(c) for c in chars])
    subsetter.subset(font)
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


class SVGRenderer(Renderer):
    """Writes one page as an SVG document."""

    name = "svg"
    extensions = (".svg",)

    def __init__(self) -> None:
        self._out: list[str] = []
        self._ids = 0
        self._fonts = metrics()

    def _new_id(self, prefix: str) -> str:
        self._ids += 1
        return f"{prefix}{self._ids}"

    def begin_document(self, scenes: Sequence[nodes.Scene]) -> None:
        self._out = []
        self._ids = 0

    def begin_page(self, scene: nodes.Scene, number: int) -> None:
        self._fonts = metrics(scene.font)
        w, h = fmt(scene.width), fmt(scene.height)
        self._out.append(
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<svg xmlns="http://www.w3.org/2000/svg" '
            f'xmlns:xlink="http://www.w3.org/1999/xlink" version="1.1" '
            f'width="{w}pt" height="{h}pt" viewBox="0 0 {w} {h}" '
            f"font-family={_attr(self._fonts.primary[False].family)}>\n"
        )
        if scene.title:
            self._out.append(f"<title>{_text(scene.title)}</title>\n")
        self._out.append(self._font_faces(scene))
        if scene.background is not None:
            self._out.append(
                f'<rect width="{w}" height="{h}"{_paint(scene.background, "fill")}/>\n'
            )

    def _font_faces(self, scene: nodes.Scene) -> str:
        """``@font-face`` rules carrying the faces a page in a chosen font (``scene.font``)
        draws its text in, each subset to the characters drawn in it: the chosen font's regular
        and bold faces, and the fallback fonts of characters it lacks. Viewers without those
        fonts installed show them. Nothing for the default font."""
        if scene.font is None:
            return ""
        fm = self._fonts
        primary = {fm.primary_id(False): 400}
        primary.setdefault(fm.primary_id(True), 700)  # no bold face: bold text in the regular
        used: dict[str, set[str]] = {font_id: set() for font_id in primary}
        for node in scene.root.walk():
            if isinstance(node, nodes.Text):
                for part, font_id in node.runs or ((node.text, fm.primary_id(node.bold)),):
                    # Shaped text is drawn as outlines, over invisible text in the page's font.
                    if node.glyphs is None or font_id == fm.primary_id(node.bold):
                        used.setdefault(font_id, set()).update(part)
        rules = []
        for font_id, chars in used.items():
            face = fm.face(font_id)
            weight = primary.get(font_id, 700 if face.weight >= 600 else 400)
            if chars:
                subset = _subset(face.path, face.index, "".join(sorted(chars)))
                rules.append(
                    f"@font-face{{font-family:{_css_string(face.family)};font-weight:{weight};"
                    f"src:url(data:font/ttf;base64,{base64.b64encode(subset).decode()}) "
                    'format("truetype")}'
                )
        return f"<defs><style>{escape(''.join(rules))}</style></defs>\n" if rules else ""

    def end_page(self, scene: nodes.Scene) -> None:
        self._out.append("</svg>\n")

    def end_document(self) -> bytes:
        return "".join(self._out).encode("utf-8")

    def push_group(self, group: nodes.Group) -> None:
        attrs = ""
        if group.role:
            attrs += f" class={_attr(group.role)}"
        if group.transform is not None:
            attrs += f' transform="matrix({" ".join(fmt(v) for v in group.transform)})"'
        if group.link:
            self._out.append(f"<a xlink:href={_attr(group.link)}>")
        self._out.append(f"<g{attrs}>\n")

    def pop_group(self, group: nodes.Group) -> None:
        self._out.append("</g>\n")
        if group.link:
            self._out.append("</a>\n")

    def draw_rect(self, rect: nodes.Rect) -> None:
        radius = f' rx="{fmt(rect.radius)}"' if rect.radius > 0 else ""
        self._out.append(
            f'<rect x="{fmt(rect.x)}" y="{fmt(rect.y)}" width="{fmt(rect.width)}" '
            f'height="{fmt(rect.height)}"{radius}{_paint(rect.fill, "fill")}'
            f"{_outline(rect.stroke, rect.stroke_width)}/>\n"
        )

    def draw_line(self, line: nodes.Line) -> None:
        self._out.append(
            f'<line x1="{fmt(line.x0)}" y1="{fmt(line.y0)}" x2="{fmt(line.x1)}" '
            f'y2="{fmt(line.y1)}"{_paint(line.stroke, "stroke")} '
            f'stroke-width="{fmt(line.width)}"/>\n'
        )

    def draw_polyline(self, polyline: nodes.Polyline) -> None:
        points = " ".join(f"{fmt(x)},{fmt(y)}" for x, y in polyline.points.tolist())
        self._out.append(
            f'<polyline points="{points}" fill="none"{_paint(polyline.stroke, "stroke")} '
            f'stroke-width="{fmt(polyline.width)}" stroke-linejoin="round" '
            'stroke-linecap="round"/>\n'
        )

    def draw_circle(self, circle: nodes.Circle) -> None:
        fill = circle.fill
        if isinstance(fill, nodes.RadialGradient):
            gid = self._new_id("grad")
            stops = "".join(
                f'<stop offset="{fmt(offset)}" stop-color="#{round(c[0] * 255):02x}'
                f'{round(c[1] * 255):02x}{round(c[2] * 255):02x}" '
                f'stop-opacity="{fmt(c[3])}"/>'
                for offset, c in fill.stops
            )
            self._out.append(f'<radialGradient id="{gid}">{stops}</radialGradient>\n')
            paint = f' fill="url(#{gid})"'
        else:
            paint = _paint(fill, "fill")
        self._out.append(
            f'<circle cx="{fmt(circle.cx)}" cy="{fmt(circle.cy)}" r="{fmt(circle.r)}"'
            f"{paint}{_outline(circle.stroke, circle.stroke_width)}/>\n"
        )

    def draw_text(self, text: nodes.Text) -> None:
        weight = ' font-weight="bold"' if text.bold else ""
        if text.glyphs is not None:
            element = self._glyphs(text, weight)
        elif text.runs is not None:
            element = self._runs(text, weight)
        else:
            anchor = f' text-anchor="{text.anchor}"' if text.anchor != "start" else ""
            element = (
                f'<text x="{fmt(text.x)}" y="{fmt(text.y)}" font-size="{fmt(text.size)}"'
                f"{weight}{anchor}{_paint(text.fill, 'fill')}>{_text(text.text)}</text>"
            )
        if text.full_text is not None:
            element = f"<g><title>{_text(text.full_text)}</title>{element}</g>"
        self._out.append(element + "\n")

    def _runs(self, text: nodes.Text, weight: str) -> str:
        """Text with fallback-font runs: each run a ``tspan`` placed where the layout measured
        it, so viewers that measure anchored multi-font text their own way (cairosvg) agree."""
        fm = self._fonts
        x = text.left
        spans = []
        for part, font_id in text.runs or ():
            family = "" if font_id == fm.primary_id(text.bold) else fm.face(font_id).family
            font = f" font-family={_attr(family)}" if family else ""
            spans.append(f'<tspan x="{fmt(x)}"{font}>{_text(part)}</tspan>')
            face = fm.primary[text.bold] if not family else fm.face(font_id)
            x += face.width(part) * text.size
        return (
            f'<text y="{fmt(text.y)}" font-size="{fmt(text.size)}"{weight}'
            f"{_paint(text.fill, 'fill')}>{''.join(spans)}</text>"
        )

    def _glyphs(self, text: nodes.Text, weight: str) -> str:
        """Shaped text as its glyph outlines (one path, drawn alike by every viewer and by the
        other backends), over the same text left invisible, in logical order, stretched to the
        glyphs' width: what a reader selects, searches and copies."""
        d = " ".join(op[0] + " ".join(fmt(v) for v in op[1:]) for op in self._fonts.text_path(text))
        left = text.left
        invisible = (
            f'<text x="{fmt(left)}" y="{fmt(text.y)}" font-size="{fmt(text.size)}"'
            f'{weight} fill-opacity="0" textLength="{fmt(text.width)}"'
            f' lengthAdjust="spacingAndGlyphs">{_text(text.text)}</text>'
        )
        return f'<g><path d="{d}"{_paint(text.fill, "fill")}/>{invisible}</g>'

    def draw_image(self, image: nodes.Image) -> None:
        data = base64.b64encode(encode_png(image)).decode("ascii")
        self._out.append(
            f'<image x="{fmt(image.x)}" y="{fmt(image.y)}" width="{fmt(image.width)}" '
            f'height="{fmt(image.height)}" preserveAspectRatio="none" '
            f'image-rendering="optimizeSpeed" xlink:href="data:image/png;base64,{data}"/>\n'
        )

    def draw_vector_cells(self, grid: nodes.CellGrid) -> None:
        """Vector grids: one path per colour (split every ``CELLS_PER_PATH`` cells), with crisp
        edges where no gap hides the seams between abutting cells."""
        crisp = ' shape-rendering="crispEdges"' if grid.gap == 0 else ""
        self._out.append(f'<g transform="scale(0.01)"{crisp}>\n')
        for color, left, top, width, height in cells_by_color(grid):
            r, g, b, a = grid.palette[color].tolist()
            paint = _paint((r / 255, g / 255, b / 255, a / 255), "fill")
            cells = list(
                zip(left.tolist(), top.tolist(), width.tolist(), height.tolist(), strict=True)
            )
            for s in range(0, len(cells), CELLS_PER_PATH):
                d = "".join(
                    f"M{x0} {y0}h{w}v{h}h{-w}z" for x0, y0, w, h in cells[s : s + CELLS_PER_PATH]
                )
                self._out.append(f'<path{paint} d="{d}"/>\n')
        self._out.append("</g>\n")
