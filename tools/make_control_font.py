"""Build ``izzyviz/fonts/IzzyVizControlPictures.ttf``: the Unicode control pictures
(U+2400-U+2421, ``␀`` to ``␡``) that DejaVu Sans lacks, drawn from DejaVu Sans's own capital
letters set small on a diagonal, the way the Unicode charts show them.

Labels show control characters as these pictures (see ``izzyviz.text.CONTROL_PICTURES``);
shipping them in a small font of our own means every install draws them, with TrueType outlines
that ReportLab can embed. Run from the repository root after changing the design::

    python tools/make_control_font.py
"""

from __future__ import annotations

from pathlib import Path

from fontTools.fontBuilder import FontBuilder
from fontTools.pens.recordingPen import DecomposingRecordingPen
from fontTools.pens.transformPen import TransformPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTFont

FONTS = Path(__file__).resolve().parent.parent / "izzyviz" / "fonts"
FAMILY = "IzzyViz Control Pictures"

NAMES = (
    "NUL SOH STX ETX EOT ENQ ACK BEL BS HT LF VT FF CR SO SI "
    "DLE DC1 DC2 DC3 DC4 NAK SYN ETB CAN EM SUB ESC FS GS RS US SP DEL"
).split()
SCALE = 0.5  # letter size relative to DejaVu's capitals
STEP = 0.8  # horizontal step between letters, as a share of a scaled letter's advance


def build(source: Path, target: Path) -> None:
    """Write the control-pictures font built from the glyphs of ``source``."""
    src = TTFont(str(source))
    glyph_set, cmap, hmtx = src.getGlyphSet(), src.getBestCmap(), src["hmtx"]
    em = src["head"].unitsPerEm
    cap = src["glyf"]["H"].yMax  # DejaVu's OS/2 table predates sCapHeight
    side = round(0.06 * em)
    glyphs = {".notdef": TTGlyphPen(None).glyph()}
    advances = {".notdef": em // 2}
    mapping = {}
    for offset, name in enumerate(NAMES):
        code = 0x2400 + offset
        pen = TTGlyphPen(None)
        x = float(side)
        drop = cap * (1 - SCALE) / max(len(name) - 1, 1)
        for i, letter in enumerate(name):
            source_glyph = cmap[ord(letter)]
            recording = DecomposingRecordingPen(glyph_set)
            glyph_set[source_glyph].draw(recording)
            y = cap * (1 - SCALE) - i * drop
            recording.replay(TransformPen(pen, (SCALE, 0, 0, SCALE, x, y)))
            x += hmtx[source_glyph][0] * SCALE * STEP
        glyph_name = f"uni{code:04X}"
        glyphs[glyph_name] = pen.glyph()
        advances[glyph_name] = round(x + side + hmtx[cmap[ord(name[-1])]][0] * SCALE * (1 - STEP))
        mapping[code] = glyph_name
    builder = FontBuilder(em, isTTF=True)
    builder.setupGlyphOrder(list(glyphs))
    builder.setupCharacterMap(mapping)
    builder.setupGlyf(glyphs)
    glyf = builder.font["glyf"]
    builder.setupHorizontalMetrics(
        {name: (advances[name], getattr(glyf[name], "xMin", 0)) for name in glyphs}
    )
    hhea = src["hhea"]
    builder.setupHorizontalHeader(ascent=hhea.ascent, descent=hhea.descent)
    builder.setupNameTable(
        {
            "familyName": FAMILY,
            "styleName": "Regular",
            "copyright": "Glyphs derived from DejaVu Sans (Bitstream Vera licence, see "
            "LICENSE-DejaVu.txt); not a DejaVu or Bitstream Vera font.",
        }
    )
    builder.setupOS2(
        sTypoAscender=hhea.ascent,
        sTypoDescender=hhea.descent,
        usWinAscent=hhea.ascent,
        usWinDescent=-hhea.descent,
        sCapHeight=cap,
        fsType=0,
    )
    builder.setupPost()
    builder.save(str(target))


if __name__ == "__main__":
    build(FONTS / "DejaVuSans.ttf", FONTS / "IzzyVizControlPictures.ttf")
