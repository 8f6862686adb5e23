"""``izzyviz stats``: average head measures over a corpus and write a report.

Everything the run needs is checked before the model loads or a text is read past the first:
the model folder, the corpus (a file with some text), the report and ``--save`` paths, and the
numbers (``--top``, ``--batch-size``, ... are positive). The work is
:func:`izzyviz.head_statistics`; its warnings (texts cut at the model's positions, texts it
could not tokenise) are printed as one line each.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from importlib.util import find_spec
from pathlib import Path

from izzyviz.cli.common import Command, UsageError, check_folder, positive, positive_int

__all__ = ["COMMAND"]

SAVE_SUFFIXES = (".npz", ".json")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``MODEL_DIR``, ``--texts``, the outputs, batching and the Ray options."""
    parser.add_argument(
        "model_dir", metavar="MODEL_DIR", help="folder with the model and tokenizer"
    )
    parser.add_argument("--texts", required=True, metavar="FILE", help="corpus: one text per line")
    parser.add_argument(
        "-o", "--output", default="stats.pdf", help="report: a .pdf, or a folder of .svg/.png"
    )
    parser.add_argument("--save", metavar="FILE", help="also save the numbers (.npz or .json)")
    parser.add_argument(
        "--engine",
        choices=("local", "ray"),
        default="local",
        help="local: this process (default); ray: a Ray Data actor pool",
    )
    parser.add_argument(
        "--batch-size", type=positive_int, default=16, help="texts per forward pass"
    )
    parser.add_argument(
        "--max-length",
        type=positive_int,
        default=512,
        help="cut texts to N tokens (and always to the model's positions)",
    )
    parser.add_argument("--workers", type=positive_int, default=2, help="Ray actors (default 2)")
    parser.add_argument(
        "--num-cpus", type=positive, default=0.5, help="CPUs per Ray actor (default 0.5)"
    )
    parser.add_argument("--num-gpus", type=positive, help="GPUs per Ray actor")
    parser.add_argument("--address", help="Ray cluster to join (default: start a local one)")
    parser.add_argument("--top", type=positive_int, default=12, help="heads with an offset profile")
    parser.add_argument(
        "--no-progress", action="store_true", help="no progress bar on standard error"
    )


def _corpus(path: Path) -> Iterator[str]:
    """The non-blank lines of a text file, read lazily."""
    with path.open(encoding="utf-8") as handle:
        try:
            for line in handle:
                if line.strip():
                    yield line.rstrip("\r\n")
        except UnicodeDecodeError as exc:
            raise ValueError(f"--texts: {str(path)!r} is not UTF-8 text ({exc.reason})") from None


def _check_corpus(name: str) -> Path:
    """The corpus file, refused when missing or without a line of text (read up to its first
    one)."""
    path = Path(name)
    if not path.is_file():
        raise FileNotFoundError(f"--texts: {name!r} does not exist or is not a file")
    if next(_corpus(path), None) is None:
        raise ValueError(f"--texts: {name!r} holds no text (it is empty or every line is blank)")
    return path


def _check_outputs(args: argparse.Namespace) -> None:
    """Refuse a report path or ``--save`` file the run could not write, before it starts."""
    from izzyviz.heads.output import check_output

    try:
        check_output(args.output, None, None)
    except ValueError as exc:
        raise UsageError(str(exc).replace("path:", "--output:", 1)) from None
    except FileNotFoundError as exc:
        raise FileNotFoundError(str(exc).replace("path:", "--output:", 1)) from None
    if args.save is not None:
        if Path(args.save).suffix.lower() not in SAVE_SUFFIXES:
            raise UsageError(f"--save: expected a .npz or .json file, got {args.save!r}")
        check_folder(args.save, "--save")


def run(args: argparse.Namespace) -> int:
    """Check everything, run the corpus, write the report (and ``--save``)."""
    from izzyviz.pretrained import check_model_folder
    from izzyviz.stats import head_statistics

    folder = check_model_folder(args.model_dir, "MODEL_DIR")
    corpus = _check_corpus(args.texts)
    _check_outputs(args)
    if args.engine == "ray" and find_spec("ray") is None:
        raise OSError("--engine ray needs Ray Data: pip install 'izzyviz[ray]'")
    try:
        stats = head_statistics(
            folder,
            None,
            _corpus(corpus),
            batch_size=args.batch_size,
            max_length=args.max_length,
            engine=args.engine,
            progress=not args.no_progress,
            workers=args.workers,
            num_cpus=args.num_cpus,
            num_gpus=args.num_gpus,
            address=args.address,
        )
    except OSError as exc:  # name the command-line operand, not the function's argument
        raise type(exc)(str(exc).replace("model:", "MODEL_DIR:", 1)) from None
    skipped = f", {stats.skipped} skipped (not tokenisable)" if stats.skipped else ""
    print(f"IzzyViz: {stats.texts} texts, {stats.count} query positions{skipped}")
    stats.report(args.output, top=args.top)  # each file written announces itself
    if args.save:
        stats.save(args.save)
    return 0


COMMAND = Command(
    name="stats",
    help="average head measures over a corpus and write a report",
    description="Run a local model on every line of a text file (blank lines skipped) and "
    "write one page per head measure (mean over every real query position) plus the "
    "relative-offset profiles of the top heads. Every argument is checked before the model "
    "loads. Needs torch and transformers; --engine ray needs Ray Data "
    "(pip install 'izzyviz[ray]').",
    add_arguments=add_arguments,
    run=run,
)
