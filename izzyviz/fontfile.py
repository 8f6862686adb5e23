"""One font file: the bundled ones, a face's metrics, and whether a file can be used at all.

Every font IzzyViz draws with, chosen or fallback, passes :func:`font_problem` first: the PDF
embeds it with ReportLab, HarfBuzz shapes with it and cairo draws it, so a file none of them can
use (a WOFF web font, PostScript outlines, no character map, a licence that forbids embedding) is
refused up front with one line naming it, never half way through a save. Its metrics are then
read once with fontTools (:class:`FontFace`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

__all__ = [
    "CONTROL_FONT_FILE",
    "FONT_FAMILY",
    "FONT_FILES",
    "FontFace",
    "bundled_face",
    "control_font_path",
    "fallback_face",
    "font_path",
    "font_problem",
]

FONT_FILES = {False: "DejaVuSans.ttf", True: "DejaVuSans-Bold.ttf"}
"""Bundled font file for regular (False) and bold (True) text."""

FONT_FAMILY = "DejaVu Sans"

CONTROL_FONT_FILE = "IzzyVizControlPictures.ttf"
"""Bundled font with the control pictures (U+2400-U+2421) that DejaVu lacks; built from DejaVu
by ``tools/make_control_font.py``."""

# Tables ReportLab reads to embed a TrueType font (OS/2 is optional).
_REQUIRED_TABLES = ("head", "hhea", "hmtx", "maxp", "loca", "name", "post")
_WEB_FONTS = {b"wOFF": "a WOFF web font", b"wOF2": "a WOFF2 web font"}


def font_path(bold: bool = False) -> Path:
    """The bundled TrueType file for regular or bold text."""
    return Path(str(resources.files("izzyviz") / "fonts" / FONT_FILES[bold]))


def control_font_path() -> Path:
    """The bundled font of control pictures (:data:`CONTROL_FONT_FILE`)."""
    return Path(str(resources.files("izzyviz") / "fonts" / CONTROL_FONT_FILE))


@dataclass(frozen=True, slots=True)
class FontFace:
    """One TrueType font file (or one font of a collection) that text can be drawn in.

    ``advances`` maps each character's code point to its advance width, and ``missing`` is the
    width of the missing-glyph box, in font units (``units_per_em`` to the em), as are
    ``ascent``, ``descent`` and ``cap_height``. ``weight`` is the OS/2 weight class (400
    regular, 700 bold). ``id`` names the face in :class:`~izzyviz.scene.Text` runs and glyph
    runs.
    """

    id: str
    path: Path
    index: int
    family: str
    advances: dict[int, int]
    missing: int
    units_per_em: int
    ascent: int
    descent: int
    cap_height: int
    weight: int = 400

    @classmethod
    def read(
        cls, path: Path, index: int = 0, id: str | None = None, family: str | None = None
    ) -> FontFace:
        """Read the metrics of ``path`` (font ``index`` of a .ttc collection); its family
        name too unless given (fontTools' ``name`` table pulls in its OpenType layout code,
        and with it HarfBuzz: 0.1 s that plain Latin labels need not pay)."""
        from fontTools.ttLib import TTFont

        with TTFont(str(path), lazy=True, fontNumber=index) as font:
            metrics = font["hmtx"].metrics
            cmap = font.getBestCmap() or {}
            advances = {code: metrics[glyph][0] for code, glyph in cmap.items()}
            os2 = font["OS/2"] if "OS/2" in font else None
            em = font["head"].unitsPerEm
            cap = getattr(os2, "sCapHeight", 0) or int(0.73 * em)
            family = family or font["name"].getBestFamilyName() or path.stem
            return cls(
                id=id or f"{path}#{index}",
                path=path,
                index=index,
                family=str(family),
                advances=advances,
                missing=metrics[font.getGlyphOrder()[0]][0],
                units_per_em=em,
                ascent=font["hhea"].ascent,
                descent=font["hhea"].descent,
                cap_height=cap,
                weight=int(getattr(os2, "usWeightClass", 400)),
            )

    def width(self, text: str) -> float:
        """Advance width of ``text`` in ems."""
        get, missing = self.advances.get, self.missing
        return sum(get(ord(ch), missing) for ch in text) / self.units_per_em


@lru_cache(maxsize=2)
def bundled_face(bold: bool = False) -> FontFace:
    """The bundled DejaVu Sans (regular or bold), under the ids the backends have always used
    for it (``"regular"``, ``"bold"``)."""
    return FontFace.read(font_path(bold), id="bold" if bold else "regular", family=FONT_FAMILY)


@lru_cache(maxsize=256)
def fallback_face(path: Path) -> FontFace:
    """The metrics of a fallback font file (its first font), read once per process."""
    return FontFace.read(path)


@lru_cache(maxsize=256)
def font_problem(path: Path, index: int = 0) -> str | None:
    """Why font ``index`` of the file ``path`` cannot draw text in every format, as the end of
    a sentence that starts with the file's name ("is a WOFF web font, ..."); None when it can.

    Checked once per file: the file is a TrueType font or collection (not a web font, not
    PostScript outlines), fontTools reads the tables layout measures with, it maps Unicode
    characters to glyphs, and ReportLab can embed it in a PDF (its parser, and the licence
    bits it honours).
    """
    try:
        with open(path, "rb") as file:
            problem = _file_problem(file, path, index)
    except OSError as exc:
        return f"cannot be read ({exc.strerror})"
    return problem or _embedding_problem(path, index)


def _file_problem(file: Any, path: Path, index: int) -> str | None:
    """What keeps the open font ``file`` from being read and drawn, or None."""
    magic = file.read(4)
    if magic in _WEB_FONTS:
        brotli = "pip install brotli; " if magic == b"wOF2" else ""  # fontTools' WOFF2 decoder
        return (
            f"is {_WEB_FONTS[magic]}, which cannot be embedded in a PDF; convert it to TrueType "
            f"first ({brotli}fonttools ttLib -o font.ttf {path.name}) and give the .ttf"
        )
    from fontTools.ttLib import TTFont

    file.seek(0)
    try:
        font = TTFont(file, lazy=True, fontNumber=index)
    except Exception:  # fontTools fails in many ways on a file that is not a font
        return "is not a TrueType/OpenType font (fontTools cannot read it)"
    try:
        return _table_problem(font)
    except Exception as exc:
        return f"cannot be read as a font (fontTools: {_one_line(exc)})"


def _table_problem(font: Any) -> str | None:
    """What the tables of an open font lack for drawing, or None."""
    if "CFF " in font or "CFF2" in font:
        return (
            "has PostScript (CFF) outlines, which cannot be embedded in the PDF; give the "
            "TrueType (.ttf) version of the font"
        )
    if "glyf" not in font:
        return "has no glyph outlines (no 'glyf' table)"
    if "cmap" not in font:
        return "has no character map (no 'cmap' table), so no character can be drawn in it"
    missing = [table for table in _REQUIRED_TABLES if table not in font]
    if missing:
        return f"has no {', '.join(repr(t) for t in missing)} table, which fonts need"
    if not font.getBestCmap():
        return "has no Unicode character map, so no character can be drawn in it"
    os2 = font["OS/2"] if "OS/2" in font else None
    fs_type = int(getattr(os2, "fsType", 0))
    if fs_type == 0x0002 or fs_type & 0x0300:  # as ReportLab reads it
        return (
            f"has a licence that does not allow embedding (OS/2 fsType {fs_type:#06x}), so it "
            "cannot go into a PDF"
        )
    if not (font["hmtx"].metrics and font["hhea"].numberOfHMetrics and font["head"].unitsPerEm):
        return "has no glyph widths (empty 'hmtx', 'hhea' or 'head' table)"
    return None


def _embedding_problem(path: Path, index: int) -> str | None:
    """What ReportLab, which embeds fonts in PDFs, finds wrong with the font, or None."""
    from reportlab.pdfbase.ttfonts import TTFontFile

    try:
        TTFontFile(str(path), validate=0, subfontIndex=index)
    except Exception as exc:  # its parser fails in many ways: TTFError, struct.error, ...
        return f"cannot be embedded in a PDF (ReportLab: {_one_line(exc)})"
    return None


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
