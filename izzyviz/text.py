"""Text: the bundled fonts, their metrics, and how tokens are shown.

Layout measures text here, from the same TrueType files the PDF backend embeds (DejaVu Sans and
DejaVu Sans Bold, bundled in ``izzyviz/fonts``), so the layout never depends on a backend. The
width table is read once with fontTools and cached.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

from izzyviz.scene import GlyphRun, Text

__all__ = [
    "DEFAULT_SPECIAL_TOKENS",
    "FONT_FILES",
    "Font",
    "FontFace",
    "FontMetrics",
    "MissingGlyphWarning",
    "TextMetrics",
    "font_path",
    "is_special_token",
    "metrics",
    "needs_shaping",
    "shorten",
    "show_controls",
    "valid_text",
]

FONT_FILES = {False: "DejaVuSans.ttf", True: "DejaVuSans-Bold.ttf"}
"""Bundled font file for regular (False) and bold (True) text."""

FONT_FAMILY = "DejaVu Sans"

DEFAULT_SPECIAL_TOKENS: frozenset[str] = frozenset(
    {
        "[CLS]", "[SEP]", "[PAD]", "[MASK]", "[UNK]", "[BOS]", "[EOS]",
        "<s>", "</s>", "<pad>", "<unk>", "<mask>", "<cls>", "<sep>", "<bos>", "<eos>",
        "<|endoftext|>", "<|startoftext|>", "<|im_start|>", "<|im_end|>", "<|pad|>",
        "<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>",
    }
)  # fmt: skip
"""Tokens drawn in bold by default: the special tokens of BERT, RoBERTa/BART, T5, GPT-2, Llama
and chat templates. Any token of the form ``<|...|>`` counts as special too. Pass
``special_tokens=`` to the drawing functions to replace this set."""

_CHAT_TOKEN = re.compile(r"<\|[^|<>\s]{1,40}\|>\Z")


def is_special_token(token: str, special_tokens: Iterable[str] | None = None) -> bool:
    """Whether ``token`` is drawn bold: it is in ``special_tokens`` (default
    :data:`DEFAULT_SPECIAL_TOKENS`), or, with the default set, of the form ``<|...|>``."""
    if special_tokens is None:
        return token in DEFAULT_SPECIAL_TOKENS or bool(_CHAT_TOKEN.match(token))
    return token in special_tokens


CONTROL_PICTURES: dict[int, str] = {
    **{code: chr(0x2400 + code) for code in range(0x20)},
    0x0A: "\u21b5",  # newline -> ↵
    0x09: "\u21e5",  # tab -> ⇥
    0x7F: "\u2421",  # DEL -> ␡
    **{code: f"\\x{code:02x}" for code in range(0x80, 0xA0)},
}
"""How control characters are shown: C0 as Unicode control pictures (newline and tab as arrows),
DEL as ␡, C1 as ``\\x..`` text. Labels never carry raw control characters into a file. The
pictures come from a small font bundled with IzzyViz, so every install draws them."""


# Lone surrogates (not text: no UTF-8 or UTF-16 form) and Unicode noncharacters (U+FDD0-FDEF
# and the last two code points of every plane, which renderers such as cairo reject).
_NOT_TEXT = re.compile(
    "[\ud800-\udfff\ufdd0-\ufdef"
    + "".join(f"{chr(p * 0x10000 + 0xFFFE)}{chr(p * 0x10000 + 0xFFFF)}" for p in range(17))
    + "]"
)


def valid_text(text: str) -> str:
    """``text`` with lone surrogates and noncharacters replaced by U+FFFD (the replacement
    character): the one text policy for every label, title and bookmark, so no backend meets
    a string it cannot encode. Document titles keep their control characters."""
    return _NOT_TEXT.sub("\ufffd", text)


def show_controls(text: str) -> str:
    """``text`` as IzzyViz draws it in every format: :func:`valid_text`, with control
    characters replaced by their visible form (:data:`CONTROL_PICTURES`)."""
    return valid_text(text.translate(CONTROL_PICTURES))


# Bidi classes that make a label right-to-left or reorder it.
_BIDI_CLASSES = frozenset({"R", "AL", "AN", "RLE", "RLO", "LRE", "LRO", "PDF", "RLI", "LRI", "FSI"})


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


# Classes that rule L1 of the bidi algorithm resets to the paragraph level at a label's end.
_TRAILING = frozenset({"WS", "BN", "LRI", "RLI", "FSI", "PDI"})


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


def shorten(text: str, limit: int = 24) -> str:
    """``text`` cut to at most ``limit`` characters, with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def font_path(bold: bool = False) -> Path:
    """The bundled TrueType file for regular or bold text."""
    return Path(str(resources.files("izzyviz") / "fonts" / FONT_FILES[bold]))


@dataclass(frozen=True, slots=True)
class Font:
    """A font family chosen for a figure's text: its regular face and, when the family has one,
    its bold face (``bold`` None: bold text is drawn in the regular face). Paths are TrueType
    files (``index``: the font inside a .ttc collection). See :func:`izzyviz.paper.find_font`.
    """

    family: str
    regular: Path
    bold: Path | None = None
    regular_index: int = 0
    bold_index: int = 0


class MissingGlyphWarning(UserWarning):
    """Some characters of a label have no glyph in any font IzzyViz could find."""


class TextMetrics(Protocol):
    """What layout needs to know about text; swap in another for tests or other fonts."""

    ascent: float
    descent: float
    cap_height: float

    def width(self, text: str, size: float, bold: bool = False) -> float:
        """Advance width of ``text`` in points at font ``size``."""
        ...

    def runs(self, text: str, bold: bool = False) -> tuple[tuple[str, str], ...] | None:
        """``text`` split into ``(substring, font id)`` runs when it needs fallback fonts,
        else None (all of it in the primary font)."""
        ...

    def shape(self, text: str, bold: bool = False) -> tuple[GlyphRun, ...] | None:
        """``text`` shaped and in visual order as glyph runs, or None when each character
        is simply one glyph left to right."""
        ...


@dataclass(frozen=True, slots=True)
class FontFace:
    """One TrueType font file (or one font of a collection) that text can be drawn in."""

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
            )

    def width(self, text: str) -> float:
        """Advance width of ``text`` in ems."""
        get, missing = self.advances.get, self.missing
        return sum(get(ord(ch), missing) for ch in text) / self.units_per_em


CONTROL_FONT_FILE = "IzzyVizControlPictures.ttf"
"""Bundled font with the control pictures (U+2400-U+2421) that DejaVu lacks; built from DejaVu
by ``tools/make_control_font.py``."""

_NOTO_SCRIPTS = (
    "Armenian Bengali Devanagari Ethiopic Georgian Gujarati Gurmukhi Kannada Khmer Lao "
    "Malayalam Myanmar Oriya Sinhala Tamil Telugu Thai"
).split()

PACKAGE_FONTS = (
    ("paperang_p2_fonts_cjk", "fonts/wqy-microhei.ttc"),  # izzyviz[cjk]: CJK and Hangul
    ("manimgx_fonts", "NotoEmoji[wght].ttf"),  # izzyviz[scripts]: emoji, symbols, scripts
    ("manimgx_fonts", "NotoSansSymbols[wght].ttf"),
    *(("manimgx_fonts", f"NotoSans{script}[wght].ttf") for script in _NOTO_SCRIPTS),
)
"""Fallback fonts that come from PyPI packages (the ``cjk`` and ``scripts`` extras), as
``(module, file inside it)``: found where pip installed them, without importing them. All
have TrueType outlines."""

# Fallback fonts tried, in order, for characters the bundled DejaVu fonts lack. Only fonts with
# TrueType outlines qualify: ReportLab cannot embed CFF (PostScript-outline) fonts.
FALLBACK_FONT_FILES = (
    "DroidSansFallbackFull.ttf",  # CJK (Debian: fonts-droid-fallback)
    "DroidSansFallback.ttf",
    "wqy-zenhei.ttc",  # CJK (fonts-wqy-zenhei)
    "wqy-microhei.ttc",
    "Symbola.ttf",  # emoji and symbols (fonts-symbola)
    "Symbola_hint.ttf",
    "NotoSansSymbols2-Regular.ttf",
    "NotoEmoji-Regular.ttf",
    "unifont.ttf",
)
FONT_DIRS = (
    "/usr/share/fonts",
    "/usr/local/share/fonts",
    "~/.local/share/fonts",
    "~/.fonts",
    "/Library/Fonts",
    "/System/Library/Fonts",
    "C:/Windows/Fonts",
)


def _package_fonts() -> list[Path]:
    """The :data:`PACKAGE_FONTS` files that are installed."""
    import importlib.util

    found: list[Path] = []
    for module, name in PACKAGE_FONTS:
        spec = importlib.util.find_spec(module)
        for folder in (spec.submodule_search_locations or []) if spec else []:
            path = Path(folder) / name
            if path.is_file():
                found.append(path)
                break
    return found


def _system_fonts() -> list[Path]:
    """The :data:`FALLBACK_FONT_FILES` found in the usual system font folders."""
    by_name: dict[str, Path] = {}
    for folder in FONT_DIRS:
        root = Path(folder).expanduser()
        if root.is_dir():
            for name in FALLBACK_FONT_FILES:
                if name not in by_name:
                    hit = next(iter(sorted(root.rglob(name))), None)
                    if hit is not None:
                        by_name[name] = hit
    return [by_name[name] for name in FALLBACK_FONT_FILES if name in by_name]


def fallback_font_paths() -> list[Path]:
    """Font files to try, in order, for characters the bundled fonts lack: the bundled
    control-pictures font; those named in the ``IZZYVIZ_FONT_PATH`` environment variable
    (files or folders, separated by ``os.pathsep``); fonts from PyPI packages
    (:data:`PACKAGE_FONTS`, e.g. ``pip install "izzyviz[cjk]"``); then
    :data:`FALLBACK_FONT_FILES` found in the usual system font folders."""
    import os

    found = [Path(str(resources.files("izzyviz") / "fonts" / CONTROL_FONT_FILE))]
    for entry in filter(None, os.environ.get("IZZYVIZ_FONT_PATH", "").split(os.pathsep)):
        path = Path(entry).expanduser()
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.suffix.lower() in (".ttf", ".ttc")))
        elif path.is_file():
            found.append(path)
    return found + _package_fonts() + _system_fonts()


def _has_outlines(path: Path) -> bool:
    from fontTools.ttLib import TTFont

    try:
        with TTFont(str(path), lazy=True, fontNumber=0) as font:
            return "glyf" in font
    except Exception:  # a broken or unsupported file is simply not a fallback
        return False


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


CHOSEN_ASCENT, CHOSEN_DESCENT = 0.93, 0.24
"""Most a chosen font's ascent and descent count for, in ems (about the bundled DejaVu's)."""


class FontMetrics:
    """Metrics of a figure's fonts (the bundled DejaVu fonts, or a :class:`Font`), with
    per-character fallback to other fonts.

    Characters the bundled font lacks are drawn in the first fallback font that has them (see
    :func:`fallback_font_paths`); characters no font has draw as the bundled font's empty box,
    with one :class:`MissingGlyphWarning` naming them. Text that needs shaping (see
    :func:`needs_shaping`) is shaped with HarfBuzz and ordered by the Unicode bidi algorithm
    (:meth:`shape`), and measured from the result; :meth:`outline` gives the glyphs' outlines
    that every backend then draws.
    """

    def __init__(self, font: Font | None = None) -> None:
        if font is None:  # the bundled DejaVu, under the ids the backends have always used
            self.primary = {
                False: FontFace.read(font_path(False), id="regular", family=FONT_FAMILY),
                True: FontFace.read(font_path(True), id="bold", family=FONT_FAMILY),
            }
        else:  # ids made from the files, so two fonts never share a backend registration
            regular = FontFace.read(font.regular, font.regular_index, family=font.family)
            bold = regular
            if font.bold is not None:
                bold = FontFace.read(font.bold, font.bold_index, family=font.family)
            self.primary = {False: regular, True: bold}
        face = self.primary[False]
        em = face.units_per_em
        self.ascent = face.ascent / em
        self.descent = face.descent / em
        if font is not None:  # boxes around labels sized for text, not for the tallest glyphs
            self.ascent = min(self.ascent, CHOSEN_ASCENT)  # (STIX reaches 1.06 em for math)
            self.descent = max(self.descent, -CHOSEN_DESCENT)
        self.cap_height = face.cap_height / em
        self._fallbacks: list[FontFace] | None = None
        self._by_id: dict[str, FontFace] = {f.id: f for f in self.primary.values()}
        self._warned: set[str] = set()
        self._shaped: dict[tuple[str, bool], tuple[tuple[GlyphRun, ...], float]] = {}
        self._hb_fonts: dict[str, Any] = {}
        self._outlines: dict[tuple[str, int], tuple[PathOp, ...]] = {}

    def fallbacks(self) -> list[FontFace]:
        """The fallback fonts, read on first need."""
        if self._fallbacks is None:
            self._fallbacks = [FontFace.read(p) for p in fallback_font_paths() if _has_outlines(p)]
            self._by_id.update((f.id, f) for f in self._fallbacks)
        return self._fallbacks

    def face(self, font_id: str) -> FontFace:
        """The font a run of text names (a fallback font is read on first need)."""
        if font_id not in self._by_id:
            self.fallbacks()
        return self._by_id[font_id]

    def runs(self, text: str, bold: bool = False) -> tuple[tuple[str, str], ...] | None:
        """``text`` split into ``(substring, font id)`` runs if some characters need a
        fallback font; None when the primary font has them all (the usual case)."""
        primary = self.primary[bold]
        if all(ord(ch) in primary.advances for ch in text):
            return None
        pieces: list[tuple[str, str]] = []
        missing: list[str] = []
        for ch in text:
            code = ord(ch)
            face = primary
            if code not in primary.advances:
                face = next((f for f in self.fallbacks() if code in f.advances), primary)
                if face is primary and not ch.isspace():
                    missing.append(ch)
            if pieces and pieces[-1][1] == face.id:
                pieces[-1] = (pieces[-1][0] + ch, face.id)
            else:
                pieces.append((ch, face.id))
        self._warn(missing)
        return tuple(pieces)

    def _warn(self, missing: list[str]) -> None:
        new = sorted(set(missing) - self._warned)
        if not new:
            return
        self._warned.update(new)
        import warnings

        names = ", ".join(f"{ch!r} (U+{ord(ch):04X})" for ch in new[:10])
        more = f" and {len(new) - 10} more" if len(new) > 10 else ""
        warnings.warn(
            f"izzyviz: no available font has a glyph for {names}{more}; they will show as "
            'empty boxes. Install a font that covers them (pip install "izzyviz[cjk]" for '
            'CJK and Hangul, "izzyviz[scripts]" for emoji and more scripts) or name one in '
            "IZZYVIZ_FONT_PATH.",
            MissingGlyphWarning,
            stacklevel=4,
        )

    def width(self, text: str, size: float, bold: bool = False) -> float:
        """Advance width of ``text`` in points at font ``size``: the shaped width for text
        that needs shaping, else the sum of the glyphs' advances (no kerning, as backends)."""
        if needs_shaping(text):
            return self._shape(text, bold)[1] * size
        runs = self.runs(text, bold)
        if runs is None:
            return self.primary[bold].width(text) * size
        return sum(self.face(font).width(part) for part, font in runs) * size

    def shape(self, text: str, bold: bool = False) -> tuple[GlyphRun, ...] | None:
        """``text`` shaped by HarfBuzz and laid out by the Unicode bidi algorithm, as glyph
        runs in visual order (one run per font and direction); None for text that needs
        neither (see :func:`needs_shaping`), which backends draw as plain text."""
        return self._shape(text, bold)[0] if needs_shaping(text) else None

    def _shape(self, text: str, bold: bool) -> tuple[tuple[GlyphRun, ...], float]:
        """Glyph runs of ``text`` and their total advance in ems, cached."""
        key = (text, bold)
        if key not in self._shaped:
            if len(self._shaped) > 4096:
                self._shaped.clear()
            runs = self.runs(text, bold) or ((text, self.primary[bold].id),)
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

    def _hb_font(self, font_id: str) -> Any:
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
        hb.shape(self._hb_font(font_id), buffer, {})
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
            self._hb_font(font_id).draw_glyph_with_pen(glyph, pen)
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

    def covers(self, char: str, bold: bool = False) -> bool:
        """Whether the primary font has a glyph for ``char``."""
        return ord(char) in self.primary[bold].advances

    def primary_id(self, bold: bool = False) -> str:
        """The font id of text drawn without fallback runs."""
        return self.primary[bold].id


@lru_cache(maxsize=8)
def metrics(font: Font | None = None) -> FontMetrics:
    """The shared metrics of ``font`` (default: the bundled fonts), read on first use."""
    return FontMetrics(font)
