"""Text metrics: what the layout knows about text, measured without any backend.

:func:`metrics` gives a figure's :class:`FontMetrics`: widths, ascent and descent, read with
fontTools from the same font files the backends embed and draw (the bundled DejaVu Sans, or a
chosen :class:`~izzyviz.scene.Font`), so layout never depends on a backend. Characters the
figure's font lacks are drawn in the first fallback font that has them (:class:`FontChain`),
and labels that need it are shaped (:mod:`izzyviz.shaping`).

The pieces live in their own modules: the text policy in :mod:`izzyviz.textpolicy`, font files
in :mod:`izzyviz.fontfile`, where fonts are found in :mod:`izzyviz.fontsearch`, shaping in
:mod:`izzyviz.shaping`. Their public names are also importable from here.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Protocol

from izzyviz.fontfile import FONT_FILES, FontFace, bundled_face, font_path
from izzyviz.fontsearch import fallback_faces
from izzyviz.scene import Font, GlyphRun, Text
from izzyviz.shaping import PathOp, Shaper, needs_shaping, visual_order
from izzyviz.textpolicy import (
    CONTROL_PICTURES,
    DEFAULT_SPECIAL_TOKENS,
    is_special_token,
    shorten,
    show_controls,
    valid_text,
)

__all__ = [
    "CONTROL_PICTURES",
    "DEFAULT_SPECIAL_TOKENS",
    "FONT_FILES",
    "Font",
    "FontChain",
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
    "visual_order",
]


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


CHOSEN_ASCENT, CHOSEN_DESCENT = 0.93, 0.24
"""Most a chosen font's ascent and descent count for, in ems (about the bundled DejaVu's)."""


class FontChain:
    """The fonts a figure's text is drawn in, in the order they are tried for each character.

    First the figure's font (``primary``, regular and bold: the bundled DejaVu Sans, or a chosen
    :class:`~izzyviz.scene.Font`), then, glyph by glyph, the fallback fonts (:meth:`fallbacks`),
    read on first need. Characters no font has draw as the primary font's empty box, with one
    :class:`MissingGlyphWarning` naming them.
    """

    def __init__(self, font: Font | None = None) -> None:
        if font is None:  # the bundled DejaVu, under the ids the backends have always used
            self.primary = {False: bundled_face(False), True: bundled_face(True)}
        else:  # ids made from the files, so two fonts never share a backend registration
            regular = FontFace.read(font.regular, font.regular_index, family=font.family)
            bold = regular
            if font.bold is not None:
                bold = FontFace.read(font.bold, font.bold_index, family=font.family)
            self.primary = {False: regular, True: bold}
        self.chosen = font is not None
        self._fallbacks: dict[bool, list[FontFace]] | None = None
        self._by_id: dict[str, FontFace] = {f.id: f for f in self.primary.values()}
        self._warned: set[str] = set()

    def fallbacks(self, bold: bool = False) -> list[FontFace]:
        """The fallback fonts tried, in order, for text of that weight (read on first need):
        with a chosen font, the bundled DejaVu Sans in the weight the text is drawn in comes
        first, so no character the default font draws shows as a box; then the fallback fonts
        that can be used (:func:`~izzyviz.fontsearch.fallback_faces`)."""
        if self._fallbacks is None:
            common = fallback_faces()
            self._fallbacks = {False: common, True: common}
            if self.chosen:
                self._fallbacks = {
                    False: [bundled_face(False), *common],
                    True: [bundled_face(True), *common],
                }
            for faces in self._fallbacks.values():
                self._by_id.update((f.id, f) for f in faces)
        return self._fallbacks[bold]

    def face(self, font_id: str) -> FontFace:
        """The font a run of text names (a fallback font is read on first need)."""
        if font_id not in self._by_id:
            self.fallbacks()
        return self._by_id[font_id]

    def primary_id(self, bold: bool = False) -> str:
        """The font id of text drawn without fallback runs."""
        return self.primary[bold].id

    def covers(self, char: str, bold: bool = False) -> bool:
        """Whether the primary font has a glyph for ``char``."""
        return ord(char) in self.primary[bold].advances

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
                face = next((f for f in self.fallbacks(bold) if code in f.advances), primary)
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


class FontMetrics(FontChain):
    """Metrics of a figure's fonts (see :class:`FontChain`): the :class:`TextMetrics` layout
    measures with, from the fonts the backends draw.

    Text that needs shaping (see :func:`~izzyviz.shaping.needs_shaping`) is shaped with
    HarfBuzz and ordered by the Unicode bidi algorithm (:meth:`shape`), and measured from the
    result; :attr:`shaper` gives the glyphs' outlines (:meth:`~izzyviz.shaping.Shaper.text_path`)
    that every backend then draws.
    """

    def __init__(self, font: Font | None = None) -> None:
        super().__init__(font)
        self.shaper = Shaper(self.face)
        face = self.primary[False]
        em = face.units_per_em
        self.ascent = face.ascent / em
        self.descent = face.descent / em
        if font is not None:  # boxes around labels sized for text, not for the tallest glyphs
            self.ascent = min(self.ascent, CHOSEN_ASCENT)  # (STIX reaches 1.06 em for math)
            self.descent = max(self.descent, -CHOSEN_DESCENT)
        self.cap_height = face.cap_height / em

    def width(self, text: str, size: float, bold: bool = False) -> float:
        """Advance width of ``text`` in points at font ``size``: the shaped width for text
        that needs shaping, else the sum of the glyphs' advances (no kerning, as backends)."""
        if needs_shaping(text):
            return self._shaped(text, bold)[1] * size
        runs = self.runs(text, bold)
        if runs is None:
            return self.primary[bold].width(text) * size
        return sum(self.face(font).width(part) for part, font in runs) * size

    def shape(self, text: str, bold: bool = False) -> tuple[GlyphRun, ...] | None:
        """``text`` shaped by HarfBuzz and laid out by the Unicode bidi algorithm, as glyph
        runs in visual order (one run per font and direction); None for text that needs
        neither (see :func:`~izzyviz.shaping.needs_shaping`), which backends draw as plain
        text."""
        return self._shaped(text, bold)[0] if needs_shaping(text) else None

    def _shaped(self, text: str, bold: bool) -> tuple[tuple[GlyphRun, ...], float]:
        runs = self.runs(text, bold) or ((text, self.primary_id(bold)),)
        return self.shaper.shape(text, runs)

    def text_path(self, text: Text) -> list[PathOp]:
        """The outlines of a shaped :class:`~izzyviz.scene.Text`'s glyphs, in the scene's
        points (y down), as :data:`~izzyviz.shaping.PathOp` s."""
        return self.shaper.text_path(text)


@lru_cache(maxsize=8)
def metrics(font: Font | None = None) -> FontMetrics:
    """The shared metrics of ``font`` (default: the bundled fonts), read on first use."""
    return FontMetrics(font)
