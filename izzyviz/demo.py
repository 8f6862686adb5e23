"""``izzyviz demo``: every figure of the original IzzyViz README, from the bundled sample.

:func:`write_demo` needs no model, no torch and no network: it draws the attention of
all-MiniLM-L6-v2 bundled with IzzyViz (:func:`izzyviz.load_sample`).

* **Encoder-only** figures are real: the quick start ("The quick brown fox jumps over the lazy
  dog.", layer -1, head 8, top 5, region (4, 4)-(8, 8), custom title, as PDF, SVG and PNG),
  self-attention ("Deep learning models are revolutionizing AI.") and question-context (five
  panels on one page).
* **Decoder-only** and **encoder-decoder** figures use MiniLM attention as a *stand-in*, since
  no GPT-2 or T5 weights ship with IzzyViz; their titles end in "(MiniLM stand-in)".
  Decoder-only: the quick-start sentence without ``[CLS]``/``[SEP]``, spelled as GPT-2
  byte-level tokens (``Ġquick``), with a causal mask applied and rows renormalised; its first
  five tokens play the prompt ("source") and the rest the "generated" tokens.
  Encoder-decoder: the question/context sample, spelled as SentencePiece tokens (``▁paris``);
  the question is the "source" (encoder input) and the context the "generated" (decoder) text.
  Cross-attention is the context-to-question block of the map with rows renormalised,
  encoder self-attention the question block, decoder self-attention the causally masked
  context block.

Run it as ``izzyviz demo --out DIR`` or ``python -m izzyviz.demo --out DIR``.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from izzyviz.inputs import load_sample
from izzyviz.visualization import (
    DECODER_ONLY_USE_CASES,
    visualize_attention_decoder_only,
    visualize_attention_encoder_decoder,
    visualize_attention_encoder_only,
)

__all__ = ["DEFAULT_OUT", "main", "write_demo"]

#: Folder :func:`write_demo` writes to by default.
DEFAULT_OUT = "izzyviz-demo"
STAND_IN = " (MiniLM stand-in)"
#: (layer, head) of the maps used as stand-ins: a head that mostly attends to the previous
#: token (decoder-like), and a head that aligns equal words (translation-like).
DECODER_HEAD = (2, 11)
ENCODER_DECODER_HEAD = (1, 1)
PROMPT_LENGTH = 5


def _normalise(matrix: NDArray[np.floating], causal: bool = False) -> NDArray[np.float64]:
    """Rows rescaled to sum to 1 (after zeroing the future when ``causal``)."""
    out = np.tril(matrix) if causal else np.array(matrix)
    out = out.astype(np.float64)
    sums = out.sum(axis=-1, keepdims=True)
    return np.divide(out, sums, out=np.zeros_like(out), where=sums > 0)


def _gpt2_tokens(wordpieces: Sequence[str]) -> list[str]:
    """WordPiece tokens spelled as GPT-2 byte-level BPE tokens (``Ġ`` marks a space)."""
    tokens: list[str] = []
    for i, piece in enumerate(wordpieces):
        if piece.startswith("##"):
            tokens.append(piece[2:])
        elif i == 0:
            tokens.append(piece.capitalize())
        else:
            tokens.append(piece if not piece.isalnum() else "Ġ" + piece)
    return tokens


def _t5_tokens(wordpieces: Sequence[str]) -> list[str]:
    """WordPiece tokens spelled as SentencePiece tokens (``▁`` marks a word start)."""
    tokens: list[str] = []
    for piece in wordpieces:
        if piece == "[SEP]":
            tokens.append("</s>")
        elif piece.startswith("##"):
            tokens.append(piece[2:])
        else:
            tokens.append("▁" + piece if piece.isalnum() else piece)
    return tokens


def write_demo(out_dir: str | os.PathLike[str] = DEFAULT_OUT) -> list[Path]:
    """Write every seed figure into ``out_dir`` (created if missing) and return the paths.

    Prints one ``IzzyViz: saved <path>`` line per file. See the module docstring for what each
    figure shows; the decoder-only and encoder-decoder figures are MiniLM stand-ins.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return [*_encoder_only(out), *_decoder_only(out), *_encoder_decoder(out)]


def _encoder_only(out: Path) -> list[Path]:
    """The seed README's quick start in all three formats, self-attention and
    question-context."""
    quick = load_sample("quick_start")
    written = [out / f"quick_start.{ext}" for ext in ("pdf", "svg", "png")]
    for path in written:
        visualize_attention_encoder_only(
            quick.attentions, quick.tokens, layer=-1, head=8, top_n=5, mode="self_attention",
            left_top_cells=[(4, 4)], right_bottom_cells=[(8, 8)],
            plot_titles=["Custom Self-Attention Heatmap Title"], save_path=path,
        )  # fmt: skip
    sample = load_sample("self_attention")
    written.append(out / "self_attention_heatmap.pdf")
    visualize_attention_encoder_only(
        sample.attentions, sample.tokens, layer=-1, head=0, mode="self_attention",
        save_path=written[-1],
    )  # fmt: skip
    qc = load_sample("question_context")
    written.append(out / "QC_attention_heatmaps.pdf")
    visualize_attention_encoder_only(
        qc.attentions, qc.tokens, layer=-1, head=0, question_end=qc.question_end,
        mode="question_context", save_path=written[-1],
    )  # fmt: skip
    return written


#: Decoder-only use case -> its file; "full_sequence" shows every token as one sequence.
DECODER_FILES = {
    "full_sequence": "decoder_self_attention_heatmap.pdf",
    "self_attention_source": "decoder_self_attention_source_tokens_heatmap.pdf",
    "generated_to_source": "decoder_generated_to_source_attention_heatmap.pdf",
    "self_attention_generated": "decoder_self_attention_generated_tokens_heatmap.pdf",
}


def _decoder_only(out: Path) -> list[Path]:
    """The quick-start sentence as a causal GPT-2-style sequence, in every use case."""
    quick = load_sample("quick_start")
    layer, head = DECODER_HEAD
    causal = _normalise(quick.attentions[layer, head, 1:-1, 1:-1], causal=True)
    tokens = _gpt2_tokens(quick.tokens[1:-1])
    written = []
    for use_case, name in DECODER_FILES.items():
        source, generated = (
            (tokens, []) if use_case == "full_sequence"
            else (tokens[:PROMPT_LENGTH], tokens[PROMPT_LENGTH:])
        )  # fmt: skip
        written.append(out / name)
        visualize_attention_decoder_only(
            causal[None, None], source, generated, layer=0, head=0,  # (layers=1, heads=1, q, k)
            use_case=use_case, save_path=written[-1],
            plot_titles=[DECODER_ONLY_USE_CASES[use_case].views[0].title + STAND_IN],
        )  # fmt: skip
    return written


def _encoder_decoder(out: Path) -> list[Path]:
    """The question as the encoder's input, the context as the decoder's output."""
    qc = load_sample("question_context")
    layer, head = ENCODER_DECODER_HEAD
    split = qc.question_end or 0
    full = qc.attentions[layer, head]
    matrices = {
        "cross_attention": (
            "cross_attention_heatmap.pdf",
            _normalise(full[split:, 1:split]),
            "Cross-Attention Heatmap (Decoder to Encoder)",
        ),
        "encoder_self_attention": (
            "encoder_self_attention_heatmap.pdf",
            _normalise(full[1:split, 1:split]),
            "Encoder Self-Attention Heatmap",
        ),
        "decoder_self_attention": (
            "seq2seq_decoder_self_attention_heatmap.pdf",
            _normalise(full[split:, split:], causal=True),
            "Decoder Self-Attention Heatmap",
        ),
    }
    written = []
    for use_case, (name, matrix, title) in matrices.items():
        written.append(out / name)
        visualize_attention_encoder_decoder(
            matrix, _t5_tokens(qc.tokens[1:split]), _t5_tokens(qc.tokens[split:]),  # no [CLS]
            plot_title=title + STAND_IN, save_path=written[-1], use_case=use_case,
        )  # fmt: skip
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m izzyviz.demo [--out DIR]``: write the demo figures; returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="izzyviz demo",
        description="Write every seed IzzyViz figure (PDF, plus SVG and PNG of the quick start) "
        "from the attention maps bundled with IzzyViz. Needs no model and no torch.",
    )
    parser.add_argument(
        "--out",
        default=DEFAULT_OUT,
        metavar="DIR",
        help=f"folder to write to (created if missing; default: {DEFAULT_OUT})",
    )
    args = parser.parse_args(argv)
    write_demo(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
