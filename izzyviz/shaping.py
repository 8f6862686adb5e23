"""Complex text: bidi order, HarfBuzz shaping into glyph runs, and the glyphs' outlines.

Labels in Arabic, Hebrew, Indic scripts or with emoji sequences cannot be drawn one character
per glyph, left to right. :func:`needs_shaping` says which labels those are; :class:`Shaper`
orders them by the Unicode bidi algorithm (python-bidi), shapes each run with HarfBuzz into
:class:`~izzyviz.scene.GlyphRun` s, and gives the glyphs' outlines, which every backend draws
as paths, so all formats show the same glyphs. Which font each character is in is decided before
(:meth:`izzyviz.text.FontChain.runs`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from izzyviz.fontfile import FontFace
from izzyviz.scene import GlyphRun, Text

__all__ = ["PathOp", "Shaper", "bidi_order", "has_rtl", "needs_shaping", "visual_order"]

# Bidi classes that make a label right-to-left or reorder it.
_BIDI_CLASSES = frozenset({"R", "AL", "AN", "RLE", "RLO", "LRE", "LRO", "PDF", "RLI", "LRI", "FSI"})
# Classes that rule L1 of the bidi algorithm resets to the paragraph level at a label's end.
_TRAILING = frozenset({"WS", "BN", "LRI", "RLI", "FSI", "PDI"})


def has_rtl(text: str) -> bool:
    """Whether ``text`` holds right-to-left letters, Arabic digits or bidi controls."""
    if text.isascii():
        return False
    import unicodedata

    return any(unicodedata.bidirectional(ch) in _BIDI_CLASSES for ch in text)


def needs_shaping(text: str) -> bool:
    """Whether ``text`` must be shaped and ordered before drawing: it holds right-to-left
    letters or bidi controls, combining marks, or joiners and variation selectors (Arabic,
    Hebrew, Indic scripts, emoji sequences). Other text maps one character to one glyph."""
    if text.isascii():
        return False
    import unicodedata

    return has_rtl(text) or any(unicodedata.category(ch) in ("Mn", "Mc", "Me", "Cf") for ch in text)


def _debug_list(info: str, field: str) -> str:
    """One list field of python-bidi's ``BidiInfo`` report (its text field escapes newlines,
    so a field name at the start of a line cannot come from the label)."""
    return info.split(f"\n    {field}: [", 1)[1].split("\n    ]", 1)[0]


def bidi_order(text: str) -> list[tuple[int, int]]:
    """The characters of ``text`` in the order they appear on the page, as ``(index, level)``
    pairs; odd levels run right to left. The embedding levels come from python-bidi (the
    ``unicode-bidi`` implementation of the Unicode bidi algorithm, brackets included), which
    reports them per UTF-8 byte; rules L1 and L2 then reorder the single line a label is."""
    if not text:
        return []
    import bidi

    info = str(bidi.get_display(text, debug=True))
    levels = [int(n) for n in re.findall(r"Level\(\s*(\d+)", _debug_list(info, "levels"))]
    classes = re.findall(r"([A-Z]+),", _debug_list(info, "original_classes"))
    base = int(re.findall(r"Level\(\s*(\d+)", _debug_list(info, "paragraphs"))[0])
    starts = [0]
    for ch in text[:-1]:
        starts.append(starts[-1] + len(ch.encode("utf-8")))
    levels, classes = [levels[b] for b in starts], [classes[b] for b in starts]
    for i in reversed(range(len(text))):  # L1: trailing whitespace takes the paragraph level
        if classes[i] not in _TRAILING:
            break
        levels[i] = base
    order = list(range(len(text)))
    odd = [level for level in levels if level % 2]
    for level in range(max(levels), min(odd, default=max(levels) + 1) - 1, -1):  # L2
        i = 0
        while i < len(order):
            j = i
            while j < len(order) and levels[order[j]] >= level:
                j += 1
            order[i:j] = order[i:j][::-1]
            i = j + 1
    return [(index, levels[index]) for index in order]


def visual_order(text: str) -> str:
    """``text`` in the order its characters appear on the page, unshaped, brackets mirrored
    (python-bidi's ``get_display``): how a PDF's text layer holds right-to-left text, which
    text extractors turn back into reading order."""
    if not has_rtl(text):
        return text
    import bidi

    return str(bidi.get_display(text))


PathOp = tuple[Any, ...]
"""One path operation: ``("M", x, y)``, ``("L", x, y)``, ``("C", x1, y1, x2, y2, x, y)`` or
``("Z",)``."""


class _OutlinePen:
    """Collects a glyph's outline from HarfBuzz as :data:`PathOp` tuples, scaled to ems."""

    def __init__(self, scale: float) -> None:
        self.scale = scale
        self.ops: list[PathOp] = []
        self._at = (0.0, 0.0)

    def _point(self, point: tuple[float, float]) -> tuple[float, float]:
        return point[0] * self.scale, point[1] * self.scale

    def moveTo(self, point: tuple[float, float]) -> None:
        self._at = self._point(point)
        self.ops.append(("M", *self._at))

    def lineTo(self, point: tuple[float, float]) -> None:
        self._at = self._point(point)
        self.ops.append(("L", *self._at))

    def curveTo(self, *points: tuple[float, float]) -> None:
        (x1, y1), (x2, y2), self._at = (self._point(p) for p in points)
        self.ops.append(("C", x1, y1, x2, y2, *self._at))

    def qCurveTo(self, control: tuple[float, float], end: tuple[float, float]) -> None:
        (x0, y0), (cx, cy), (x, y) = self._at, self._point(control), self._point(end)
        self.ops.append(
            ("C", x0 + 2 * (cx - x0) / 3, y0 + 2 * (cy - y0) / 3,
             x + 2 * (cx - x) / 3, y + 2 * (cy - y) / 3, x, y)
        )  # fmt: skip
        self._at = (x, y)

    def closePath(self) -> None:
        self.ops.append(("Z",))


Runs = tuple[tuple[str, str], ...]
"""A text split into ``(substring, font id)`` pieces."""


class Shaper:
    """Shapes text with HarfBuzz, in the fonts ``face`` looks up by font id, and draws the
    glyphs' outlines. HarfBuzz fonts, shaped labels and outlines are cached."""

    def __init__(self, face: Callable[[str], FontFace]) -> None:
        self.face = face
        self._shaped: dict[tuple[str, Runs], tuple[tuple[GlyphRun, ...], float]] = {}
        self._hb_fonts: dict[str, Any] = {}
        self._outlines: dict[tuple[str, int], tuple[PathOp, ...]] = {}

    def shape(self, text: str, runs: Runs) -> tuple[tuple[GlyphRun, ...], float]:
        """Glyph runs of ``text`` (split into font ``runs``) in visual order, one per font and
        direction, and their total advance in ems."""
        key = (text, runs)
        if key not in self._shaped:
            if len(self._shaped) > 4096:
                self._shaped.clear()
            fonts = [font for part, font in runs for _ in part]
            # Visually adjacent characters of one font and one bidi level are one run: they
            # are adjacent in the text too, so HarfBuzz shapes them with their context.
            pieces: list[tuple[str, int, list[int]]] = []
            for index, level in bidi_order(text):
                if pieces and pieces[-1][:2] == (fonts[index], level):
                    pieces[-1][2].append(index)
                else:
                    pieces.append((fonts[index], level, [index]))
            glyph_runs: list[GlyphRun] = []
            pen = 0.0
            for font, level, indices in pieces:
                part = text[min(indices) : max(indices) + 1]
                run, pen = self._shape_run(part, font, level % 2 == 1, pen)
                glyph_runs.append(run)
            self._shaped[key] = (tuple(glyph_runs), pen)
        return self._shaped[key]

    def hb_font(self, font_id: str) -> Any:
        """A HarfBuzz font for a font id, loaded on first use."""
        if font_id not in self._hb_fonts:
            import uharfbuzz as hb

            face = self.face(font_id)
            blob = hb.Blob.from_file_path(str(face.path))
            self._hb_fonts[font_id] = hb.Font(hb.Face(blob, face.index))
        return self._hb_fonts[font_id]

    def _shape_run(self, text: str, font_id: str, rtl: bool, pen: float) -> tuple[GlyphRun, float]:
        """One run shaped with HarfBuzz, its glyphs placed from ``pen`` (ems) on."""
        import uharfbuzz as hb

        buffer = hb.Buffer()
        buffer.add_str(text)
        buffer.guess_segment_properties()
        buffer.direction = "rtl" if rtl else "ltr"
        hb.shape(self.hb_font(font_id), buffer, {})
        em = self.face(font_id).units_per_em
        ids, xs, ys = [], [], []
        for info, position in zip(buffer.glyph_infos, buffer.glyph_positions, strict=True):
            ids.append(info.codepoint)
            xs.append(pen + position.x_offset / em)
            ys.append(position.y_offset / em)
            pen += position.x_advance / em
        return GlyphRun(font_id, tuple(ids), tuple(xs), tuple(ys)), pen

    def outline(self, font_id: str, glyph: int) -> tuple[PathOp, ...]:
        """The outline of one glyph, in ems, y up: ``("M", x, y)``, ``("L", x, y)``,
        ``("C", x1, y1, x2, y2, x, y)`` and ``("Z",)`` operations (quadratic curves
        raised to cubic ones, which every backend draws)."""
        key = (font_id, glyph)
        if key not in self._outlines:
            pen = _OutlinePen(1 / self.face(font_id).units_per_em)
            self.hb_font(font_id).draw_glyph_with_pen(glyph, pen)
            self._outlines[key] = tuple(pen.ops)
        return self._outlines[key]

    def text_path(self, text: Text) -> list[PathOp]:
        """The outlines of a shaped :class:`Text`'s glyphs, in the scene's points (y down)."""
        left, size = text.left, text.size
        ops: list[PathOp] = []
        for run in text.glyphs or ():
            for glyph, gx, gy in zip(run.ids, run.x, run.y, strict=True):
                x0, y0 = left + gx * size, text.y - gy * size
                for op in self.outline(run.font, glyph):
                    coords = [
                        x0 + v * size if i % 2 == 0 else y0 - v * size for i, v in enumerate(op[1:])
                    ]
                    ops.append((op[0], *coords))
        return ops
