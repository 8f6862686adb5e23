"""``izzyviz demo`` and ``izzyviz sample``: the demo figures, and a bundled attention sample
written as files to try the other commands on (no torch needed for either)."""

from __future__ import annotations

import argparse
from pathlib import Path

from izzyviz.cli.common import Command, UsageError, check_folder

__all__ = ["DEMO", "SAMPLE"]


def _add_demo_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out", default="izzyviz-demo", help="output folder (default ./izzyviz-demo)"
    )


def _demo(args: argparse.Namespace) -> int:
    try:
        from izzyviz.demo import write_demo
    except ImportError as exc:
        raise OSError(f"the demo is not available in this installation ({exc})") from None

    write_demo(Path(args.out))  # prints one line per file it writes
    return 0


def _add_sample_arguments(parser: argparse.ArgumentParser) -> None:
    from izzyviz.inputs import SAMPLE_NAMES

    parser.add_argument(
        "name",
        nargs="?",
        default="quick_start",
        choices=SAMPLE_NAMES,
        help="which sample (default quick_start: 'The quick brown fox jumps over the lazy dog.')",
    )
    parser.add_argument(
        "--out",
        default="attention.npy",
        help="attention file to write, a (layers, heads, q, k) .npy (default attention.npy)",
    )
    parser.add_argument(
        "--tokens",
        default="tokens.txt",
        metavar="TOKENS_FILE",
        help="token file to write, one token per line (default tokens.txt)",
    )


def _sample(args: argparse.Namespace) -> int:
    import io

    import numpy as np

    from izzyviz._io import atomic_files
    from izzyviz.inputs import load_sample

    if Path(args.out).suffix.lower() != ".npy":
        raise UsageError(f"--out: expected a .npy file, got {args.out!r}")
    out, tokens = check_folder(args.out, "--out"), check_folder(args.tokens, "--tokens")
    sample = load_sample(args.name)
    buffer = io.BytesIO()
    np.save(buffer, sample.attentions)
    with atomic_files() as write:  # both files or neither, each announced
        write(out, buffer.getvalue())
        write(tokens, ("\n".join(sample.tokens) + "\n").encode("utf-8"))
    return 0


DEMO = Command(
    name="demo",
    help="write the demo figures",
    description="Write every demo figure (bundled sample attention, no torch needed).",
    add_arguments=_add_demo_arguments,
    run=_demo,
)
SAMPLE = Command(
    name="sample",
    help="write a bundled attention sample and its tokens, to try 'render' on",
    description="Write the attention of all-MiniLM-L6-v2 on an example sentence (bundled, no "
    "torch needed) as a (layers, heads, q, k) = (6, 12, q, q) float32 .npy file, and its "
    "tokens one per line.",
    add_arguments=_add_sample_arguments,
    run=_sample,
)
