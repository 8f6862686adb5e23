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
    "FontMetrics",
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


def shorten(text: str, limit: int = 24) -> str:
    """``text`` cut to at most ``limit`` characters, with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def font_path(bold: bool = False) -> Path:
    """The bundled TrueType file for regular or bold text."""
    return Path(str(resources.files("izzyviz") / "fonts" / FONT_FILES[bold]))


class TextMetrics(Protocol):
    """What layout needs to know about text; swap in another for tests or other fonts."""

    ascent: float
    descent: float
    cap_height: float

    def width(self, text: str, size: float, bold: bool = False) -> float:
        """Advance width of ``text`` in points at font ``size``."""
        ...


@dataclass(frozen=True, slots=True)
class _FontTable:
    advances: dict[int, int]
    missing: int
    units_per_em: int
    ascent: int
    descent: int
    cap_height: int

    @classmethod
    def read(cls, path: Path) -> _FontTable:
        from fontTools.ttLib import TTFont

        with TTFont(str(path), lazy=True) as font:
            metrics = font["hmtx"].metrics
            cmap = font.getBestCmap()
            advances = {code: metrics[glyph][0] for code, glyph in cmap.items()}
            os2 = font["OS/2"]
            cap = getattr(os2, "sCapHeight", 0) or int(0.73 * font["head"].unitsPerEm)
            return cls(
                advances=advances,
                missing=metrics[font.getGlyphOrder()[0]][0],
                units_per_em=font["head"].unitsPerEm,
                ascent=font["hhea"].ascent,
                descent=font["hhea"].descent,
                cap_height=cap,
            )

    def width(self, text: str) -> float:
        get, missing = self.advances.get, self.missing
        return sum(get(ord(ch), missing) for ch in text) / self.units_per_em


class FontMetrics:
    """Metrics of the bundled DejaVu fonts (or any regular/bold pair of TrueType files)."""

    def __init__(self, regular: Path | None = None, bold: Path | None = None) -> None:
        self._tables = {
            False: _FontTable.read(regular or font_path(False)),
            True: _FontTable.read(bold or font_path(True)),
        }
        table = self._tables[False]
        em = table.units_per_em
        self.ascent = table.ascent / em
        self.descent = table.descent / em
        self.cap_height = table.cap_height / em

    def width(self, text: str, size: float, bold: bool = False) -> float:
        """Advance width of ``text`` in points at font ``size`` (no kerning, as backends)."""
        return self._tables[bold].width(text) * size

    def covers(self, char: str, bold: bool = False) -> bool:
        """Whether the font has a glyph for ``char``."""
        return ord(char) in self._tables[bold].advances


@lru_cache(maxsize=1)
def metrics() -> FontMetrics:
    """The shared metrics of the bundled fonts (read on first use)."""
    return FontMetrics()
