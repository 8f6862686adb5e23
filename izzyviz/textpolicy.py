"""The text policy: what a token becomes before it is measured and written into a file.

Special tokens are drawn bold, control characters are shown as visible pictures, lone
surrogates and noncharacters become U+FFFD, and long labels are shortened: the same rules for
every label, title, bookmark and document property in every format. This module imports nothing
from IzzyViz, so the scene and every other module can use it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = [
    "CONTROL_PICTURES",
    "DEFAULT_SPECIAL_TOKENS",
    "is_special_token",
    "shorten",
    "show_controls",
    "valid_text",
]

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
    character): the one text policy for every label, title, bookmark and document property, so
    no backend meets a string it cannot encode. Document titles keep their control characters."""
    return _NOT_TEXT.sub("\ufffd", text)


def show_controls(text: str) -> str:
    """``text`` as IzzyViz draws it in every format: :func:`valid_text`, with control
    characters replaced by their visible form (:data:`CONTROL_PICTURES`)."""
    return valid_text(text.translate(CONTROL_PICTURES))


def shorten(text: str, limit: int = 24) -> str:
    """``text`` cut to at most ``limit`` characters, with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
