"""``izzyviz model``: run a local transformers model on a text and draw its attention.

Every argument is checked before the model loads: the folder's files, the text, ``--layer``
and ``--head`` against the counts in ``config.json`` (with the words ``render`` uses), and every
drawing option, by laying the figure out once on the real tokens (:func:`check_drawing`). A
text longer than the model's positions is cut there, with a one-line warning saying where.
Only the head drawn is captured (:func:`izzyviz.capture`), or every head with ``--report``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from izzyviz.cli.common import Command, UsageError, read_text_file, warn
from izzyviz.cli.drawing import (
    Picked,
    add_figure_options,
    check_drawing,
    check_flags,
    default_output,
    draw_head,
    draw_report,
)

if TYPE_CHECKING:
    from izzyviz.pretrained import FolderShape

__all__ = ["COMMAND"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``MODEL_DIR``, the text, and the figure flags."""
    parser.add_argument(
        "model_dir", metavar="MODEL_DIR", help="folder with the model and tokenizer"
    )
    text = parser.add_mutually_exclusive_group(required=True)
    text.add_argument("--text", help="input text")
    text.add_argument("--text-file", metavar="FILE", help="read the input text from a UTF-8 file")
    parser.add_argument("--text-pair", help="second segment (e.g. a context for a question)")
    add_figure_options(parser)


def _text(args: argparse.Namespace) -> tuple[str, str]:
    """The input text, and what errors and warnings call it; empty text is refused."""
    if args.text_file is not None:
        return read_text_file(args.text_file, "--text-file"), f"--text-file {args.text_file!r}"
    for flag, value in (("--text", args.text), ("--text-pair", args.text_pair)):
        if value is not None and not value.strip():
            raise UsageError(f"{flag}: expected some text, got {value!r}")
    return args.text, "--text"


def _check_counts(args: argparse.Namespace, shape: FolderShape) -> Picked | None:
    """Check ``--layer``, ``--head`` and ``--batch-index`` against the model's counts in
    ``config.json`` (the default ``--layer -1 --head 0`` set on ``args``); returns the head
    that will be drawn, when the config gives both counts."""
    from izzyviz._validate import check_index

    if not args.report:  # the documented defaults, each on its own
        args.layer = -1 if args.layer is None else args.layer
        args.head = 0 if args.head is None else args.head
    layer = head = None
    if args.layer is not None and shape.layers is not None:
        layer = check_index(args.layer, "layer", shape.layers, "layers")
    if args.head is not None and shape.heads is not None:
        head = check_index(args.head, "head", shape.heads, "heads")
    check_index(args.batch_index, "batch_index", 1, "batch items")  # one text: a batch of one
    if layer is None or head is None or shape.heads is None:
        return None
    return Picked(layer, head, shape.layers, shape.heads)


def _tokenize(tokenizer: Any, text: str, pair: str | None, positions: int | None, name: str) -> Any:
    """The model inputs of ``text`` (and ``pair``), cut to the model's ``positions`` with a
    warning that says where."""
    from izzyviz.pretrained import cut_lengths

    cut = {"truncation": True, "max_length": positions} if positions else {}
    inputs = tokenizer(text, pair, return_tensors="pt", **cut)
    length = inputs["input_ids"].shape[1]
    full = cut_lengths(tokenizer, [(text, pair)], [length], positions).get(0)
    if full is not None:
        where = ""
        if pair is None and getattr(tokenizer, "is_fast", False):
            offsets = tokenizer(text, return_offsets_mapping=True, **cut)["offset_mapping"]
            kept = max(end for _, end in offsets)
            where = f" (the text up to character {kept:,} of {len(text):,})"
        warn(
            f"{name}: {full:,} tokens, more than the model's {positions} positions; cut to the "
            f"first {positions}{where}"
        )
    return inputs


def run(args: argparse.Namespace) -> int:
    """Check everything, then load the model, capture the head(s) and draw."""
    from izzyviz.pretrained import check_model_folder, folder_shape, load_model, load_tokenizer

    check_flags(args)
    folder = check_model_folder(args.model_dir, "MODEL_DIR")
    text, name = _text(args)
    shape = folder_shape(folder)
    expected = _check_counts(args, shape)
    tokenizer = load_tokenizer(folder, name="MODEL_DIR")
    inputs = _tokenize(tokenizer, text, args.text_pair, shape.positions, name)
    ids = inputs["input_ids"][0].tolist()
    tokens = [str(t) for t in tokenizer.convert_ids_to_tokens(ids)]
    check_drawing(args, tokens, None if args.output is None else Path(args.output), expected)
    # The model's own attention (SDPA by default): capture records the weights beside it.
    model = load_model(folder, attn_implementation=None, name="MODEL_DIR")
    source = {"model": str(folder), "text": text, "text_pair": args.text_pair}
    labels = (tokens, tokens)
    if args.report:
        attentions = _capture(model, inputs, None, None).attentions
        output = default_output(args, "attention", Path(), None)
        draw_report(args, attentions, labels, output, source)
        return 0
    cap = _capture(model, inputs, args.layer, args.head)
    picked = _picked(model, cap)
    matrix = cap.attentions[0][0, 0]
    output = default_output(args, "attention", Path(), picked)
    draw_head(args, matrix, labels, output, source, picked)
    return 0


def _capture(model: Any, inputs: Any, layer: int | None, head: int | None) -> Any:
    """Run ``model`` on ``inputs`` inside :func:`izzyviz.capture` of ``layer``/``head`` (None:
    every one); returns the capture."""
    import torch

    from izzyviz.capturing import capture

    try:
        cap = capture(model, layer, head)
    except IndexError as exc:  # a config without counts: name the flag's argument, as render
        name = "layer" if str(exc).startswith("layers") else "head"
        raise IndexError(f"{name}:{str(exc).split(':', 1)[1]}") from None
    with torch.no_grad(), cap:
        model(**inputs)
    return cap


def _picked(model: Any, cap: Any) -> Picked:
    """The head captured, by absolute index, and the model's layer and head counts."""
    config = model.config
    heads = getattr(config, "num_attention_heads", None) or int(cap.attentions[0].shape[1])
    return Picked(cap.layers[0], cap.heads[0], getattr(config, "num_hidden_layers", None), heads)


COMMAND = Command(
    name="model",
    help="run a local transformers model and draw its attention",
    description="Run a transformers model from a local folder (offline, its own attention "
    "implementation, e.g. SDPA) on TEXT and draw one head (--layer/--head, default the last "
    "layer's head 0; only that head is captured) or every head (--report). Every argument is "
    "checked before the model loads; a text longer than the model's positions is cut there, "
    "with a warning. Needs torch and transformers.",
    add_arguments=add_arguments,
    run=run,
)
