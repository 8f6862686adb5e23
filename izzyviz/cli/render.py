"""``izzyviz render``: draw attention saved in a file, reading only the head drawn.

The file is opened in place (:mod:`izzyviz.cli.files`): a memory-mapped ``.npy`` reaches the
engine as a ``numpy.memmap``, and one head of a 4-D or 5-D file is read without the rest.
Tokens are optional: without ``--tokens`` the axes are labelled with positions.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from izzyviz.cli.common import Command, UsageError
from izzyviz.cli.drawing import (
    add_figure_options,
    axis_labels,
    check_flags,
    default_output,
    draw_head,
    draw_report,
    ndim,
    pick_head,
)
from izzyviz.cli.files import IN_PLACE, open_attention, read_tokens

__all__ = ["COMMAND"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``FILE``, the token files, ``--key``, and the figure flags."""
    parser.add_argument(
        "file", metavar="FILE", help="attention file (.npy, .npz, .pt, .safetensors)"
    )
    parser.add_argument(
        "--tokens",
        metavar="TOKENS_FILE",
        help="tokens: one per line, or a JSON list of strings (default: positions 0, 1, ...; "
        "long maps add position ticks)",
    )
    parser.add_argument(
        "--query-tokens",
        metavar="TOKENS_FILE",
        help="row tokens, when the attention is not square (cross-attention)",
    )
    parser.add_argument("--key", help="array to read from a .npz, .pt or .safetensors file")
    add_figure_options(parser)


def run(args: argparse.Namespace) -> int:
    """Check the flags, read the tokens, open the file in place, draw."""
    check_flags(args)
    tokens = None if args.tokens is None else read_tokens(args.tokens)
    query_tokens = None
    if args.query_tokens is not None:
        query_tokens = read_tokens(args.query_tokens, "--query-tokens")
    attentions = open_attention(args.file, args.key)
    source = Path(args.file)
    record = {"file": str(source), "key": args.key}
    shape = _matrix_shape(attentions)
    labels = axis_labels(tokens, query_tokens, shape)
    if args.report:
        stack = attentions.read() if hasattr(attentions, "read") else attentions
        output = default_output(args, source.stem, source.parent, None)
        draw_report(args, stack, labels, output, record)
        return 0
    if ndim(attentions) == 2:
        if args.layer is not None or args.head is not None:
            raise UsageError("a 2-D matrix has no layers or heads; drop --layer/--head")
        output = default_output(args, source.stem, source.parent, None)
        draw_head(args, attentions, labels, output, record, None)
        return 0
    matrix, picked = pick_head(attentions, args.layer, args.head, args.batch_index)
    output = default_output(args, source.stem, source.parent, picked)
    draw_head(args, matrix, labels, output, record, picked)
    return 0


def _matrix_shape(attentions: object) -> tuple[int, ...]:
    """The shape of the matrices in ``attentions`` (an array, a tensor, or a list of
    per-layer ones), refused below 2-D."""
    from izzyviz._validate import describe

    first = attentions
    while isinstance(first, (list, tuple)) and first:
        first = first[0]
    shape = tuple(int(n) for n in getattr(first, "shape", ()))
    if len(shape) < 2:
        raise ValueError(
            f"FILE: expected a 2-D attention matrix or a stack of them, got {describe(first)}"
        )
    return shape[-2:]


COMMAND = Command(
    name="render",
    help="draw saved attention weights",
    description="Draw attention saved as .npy, .npz, .pt or .safetensors. A 2-D array is one "
    "matrix; a 3-D (heads, q, k), 4-D (layers, heads, q, k) or 5-D (layers, batch, heads, q, k) "
    "array, or a saved list of per-layer tensors, needs --layer and --head (or --report). "
    + IN_PLACE,
    add_arguments=add_arguments,
    run=run,
)
