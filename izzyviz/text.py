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
from typing import Protocol

__all__ = [
    "DEFAULT_SPECIAL_TOKENS",
    "FONT_FILES",
    "FontFace",
    "FontMetrics",
    "MissingGlyphWarning",
    "TextMetrics",
    "font_path",
    "is_special_token",
    "metrics",
    "shorten",
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


# Strong right-to-left letters: Hebrew, Arabic, Syriac, Thaana, NKo, Samaritan, Mandaic and the
# RTL presentation forms.
_RTL_CHARS = "\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc"
_RTL = re.compile(f"[{_RTL_CHARS}]")
_RTL_RUN = re.compile(f"[{_RTL_CHARS}](?:[{_RTL_CHARS}\\s]*[{_RTL_CHARS}])?")


CONTROL_PICTURES: dict[int, str] = {
    **{code: chr(0x2400 + code) for code in range(0x20)},
    0x0A: "\u21b5",  # newline -> ↵
    0x09: "\u21e5",  # tab -> ⇥
    0x7F: "\u2421",  # DEL -> ␡
    **{code: f"\\x{code:02x}" for code in range(0x80, 0xA0)},
}
"""How control characters are shown: C0 as Unicode control pictures (newline and tab as arrows),
DEL as ␡, C1 as ``\\x..`` text. Labels never carry raw control characters into a file."""


# Unicode noncharacters (U+FDD0-FDEF and the last two code points of every plane): not text,
# and renderers such as cairo reject strings holding them.
_NONCHARACTERS = re.compile(
    "[\ufdd0-\ufdef"
    + "".join(f"{chr(p * 0x10000 + 0xFFFE)}{chr(p * 0x10000 + 0xFFFF)}" for p in range(17))
    + "]"
)


def show_controls(text: str) -> str:
    """``text`` with every control character replaced by its visible form (and noncharacters
    by U+FFFD, the replacement character)."""
    return _NONCHARACTERS.sub("\ufffd", text.translate(CONTROL_PICTURES))


def has_rtl(text: str) -> bool:
    """Whether ``text`` holds right-to-left letters."""
    return _RTL.search(text) is not None


def visual_order(text: str) -> str:
    """``text`` in the order its characters appear on the page, for renderers that draw glyphs
    left to right: runs of right-to-left letters are reversed (a small subset of the Unicode
    bidi algorithm, enough for tokens), and a label that starts right-to-left has its runs
    laid out right to left. Left-to-right text comes back unchanged."""
    if not has_rtl(text):
        return text
    pieces: list[tuple[str, bool]] = []
    last = 0
    for match in _RTL_RUN.finditer(text):
        if match.start() > last:
            pieces.append((text[last : match.start()], False))
        pieces.append((match.group()[::-1], True))
        last = match.end()
    if last < len(text):
        pieces.append((text[last:], False))
    if pieces[0][1]:
        pieces.reverse()
    return "".join(piece for piece, _ in pieces)


def shorten(text: str, limit: int = 24) -> str:
    """``text`` cut to at most ``limit`` characters, with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def font_path(bold: bool = False) -> Path:
    """The bundled TrueType file for regular or bold text."""
    return Path(str(resources.files("izzyviz") / "fonts" / FONT_FILES[bold]))


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
    def read(cls, path: Path, index: int = 0, id: str | None = None) -> FontFace:
        """Read the metrics of ``path`` (font ``index`` of a .ttc collection)."""
        from fontTools.ttLib import TTFont

        with TTFont(str(path), lazy=True, fontNumber=index) as font:
            metrics = font["hmtx"].metrics
            cmap = font.getBestCmap() or {}
            advances = {code: metrics[glyph][0] for code, glyph in cmap.items()}
            os2 = font["OS/2"] if "OS/2" in font else None
            em = font["head"].unitsPerEm
            cap = getattr(os2, "sCapHeight", 0) or int(0.73 * em)
            family = font["name"].getBestFamilyName() or path.stem
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


def fallback_font_paths() -> list[Path]:
    """Font files to try for characters the bundled fonts lack: those named in the
    ``IZZYVIZ_FONT_PATH`` environment variable (files or folders, separated by
    ``os.pathsep``) first, then :data:`FALLBACK_FONT_FILES` found in the usual system font
    folders."""
    import os

    found: list[Path] = []
    for entry in filter(None, os.environ.get("IZZYVIZ_FONT_PATH", "").split(os.pathsep)):
        path = Path(entry).expanduser()
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.suffix.lower() in (".ttf", ".ttc")))
        elif path.is_file():
            found.append(path)
    by_name: dict[str, Path] = {}
    for folder in FONT_DIRS:
        root = Path(folder).expanduser()
        if root.is_dir():
            for name in FALLBACK_FONT_FILES:
                if name not in by_name:
                    hit = next(iter(sorted(root.rglob(name))), None)
                    if hit is not None:
                        by_name[name] = hit
    found.extend(by_name[name] for name in FALLBACK_FONT_FILES if name in by_name)
    return found


def _has_outlines(path: Path) -> bool:
    from fontTools.ttLib import TTFont

    try:
        with TTFont(str(path), lazy=True, fontNumber=0) as font:
            return "glyf" in font
    except Exception:  # a broken or unsupported file is simply not a fallback
        return False


class FontMetrics:
    """Metrics of the bundled DejaVu fonts, with per-character fallback to system fonts.

    Characters the bundled font lacks are drawn in the first fallback font that has them (see
    :func:`fallback_font_paths`); characters no font has draw as the bundled font's empty box,
    with one :class:`MissingGlyphWarning` naming them.
    """

    def __init__(self, regular: Path | None = None, bold: Path | None = None) -> None:
        self.primary = {
            False: FontFace.read(regular or font_path(False), id="regular"),
            True: FontFace.read(bold or font_path(True), id="bold"),
        }
        face = self.primary[False]
        em = face.units_per_em
        self.ascent = face.ascent / em
        self.descent = face.descent / em
        self.cap_height = face.cap_height / em
        self._fallbacks: list[FontFace] | None = None
        self._by_id: dict[str, FontFace] = {f.id: f for f in self.primary.values()}
        self._warned: set[str] = set()

    def fallbacks(self) -> list[FontFace]:
        """The fallback fonts, read on first need."""
        if self._fallbacks is None:
            self._fallbacks = [FontFace.read(p) for p in fallback_font_paths() if _has_outlines(p)]
            self._by_id.update((f.id, f) for f in self._fallbacks)
        return self._fallbacks

    def face(self, font_id: str) -> FontFace:
        """The font a run of text names."""
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
            "empty boxes. Install a font that covers them (e.g. Debian's fonts-droid-fallback "
            "for CJK, fonts-symbola for emoji) or name one in IZZYVIZ_FONT_PATH.",
            MissingGlyphWarning,
            stacklevel=4,
        )

    def width(self, text: str, size: float, bold: bool = False) -> float:
        """Advance width of ``text`` in points at font ``size`` (no kerning, as backends)."""
        runs = self.runs(text, bold)
        if runs is None:
            return self.primary[bold].width(text) * size
        return sum(self.face(font).width(part) for part, font in runs) * size

    def covers(self, char: str, bold: bool = False) -> bool:
        """Whether the bundled font has a glyph for ``char``."""
        return ord(char) in self.primary[bold].advances


@lru_cache(maxsize=1)
def metrics() -> FontMetrics:
    """The shared metrics of the bundled fonts (read on first use)."""
    return FontMetrics()
