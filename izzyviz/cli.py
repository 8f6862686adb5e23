"""The ``izzyviz`` command: draw saved attention, run a local model, or write the demo figures.

::

    izzyviz render attention.npy --tokens tokens.txt -o attention.pdf
    izzyviz render attentions.pt --tokens tokens.json --layer 3 --head 7 -o head.svg --json
    izzyviz render attentions.safetensors --tokens tokens.txt --report -o report.pdf
    izzyviz model ./all-MiniLM-L6-v2 --text "The quick brown fox." --layer 0 --head 2
    izzyviz stats ./all-MiniLM-L6-v2 --texts corpus.txt -o stats.pdf --save stats.npz
    izzyviz demo --out figures
    izzyviz serve attention.npy --tokens tokens.txt

Expected errors print one line ``izzyviz: error: ...`` on standard error; the exit status says
whose move it is (see ``EXIT_STATUSES``): 2 when an argument is wrong (including a value that does
not fit the input, such as ``--layer 99`` for a 6-layer model), 1 when a file, the model or the
output cannot be used. An unexpected error (a bug) prints its traceback and exits with 3.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

__all__ = ["main"]

PROG = "izzyviz"
OUTPUT_SUFFIXES = (".pdf", ".svg", ".png", ".html")
EXIT_STATUSES = """\
exit status:
  0    success: every file was written
  1    a file, the model or the output folder cannot be used (missing, unreadable, invalid
       data, tokens that do not match the attention, a dependency not installed)
  2    an argument is wrong: an unknown or malformed option, options that conflict, or a
       value that does not fit the input (e.g. --layer 99 for a 6-layer model, --dpi too high)
  3    an unexpected error (a bug in izzyviz): the traceback is printed; please report it
  130  interrupted (Ctrl-C)
A failed command leaves no half-written file."""
SHORT_EXIT_STATUSES = (
    "Exit status: 0 success, 1 a file, the model or the output cannot be used, 2 a wrong "
    "argument, 3 a bug, 130 interrupted (details: 'izzyviz --help')."
)
# Library arguments named in error messages, and the flags that set them: an error about one
# of them is the command line's (exit status 2) and names the flag the user typed.
FLAGS = {
    "layer": "--layer",
    "head": "--head",
    "batch_index": "--batch-index",
    "regions": "--region",
    "dpi": "--dpi",
    "cmap": "--cmap",
    "gamma": "--gamma",
    "vmin": "--vmin",
    "vmax": "--vmax",
    "top_n": "--top-n",
    "top": "--top",
    "enlarged_size": "--enlarged-size",
    "order_by": "--order-by",
    "title": "--title",
    "xlabel": "--xlabel",
    "ylabel": "--ylabel",
    "width": "--width",
    "font": "--font",
    "font_size": "--font-size",
    "style": "--style",
}


class UsageError(ValueError):
    """A wrong argument (exit status 2)."""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors: ``izzyviz: error: <message> (see 'izzyviz ... --help')``."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")


# --------------------------------------------------------------------------------------------
# Arguments
# --------------------------------------------------------------------------------------------


def _region(text: str) -> tuple[tuple[int, int], tuple[int, int]]:
    try:
        r0, c0, r1, c1 = (int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected ROW0,COL0,ROW1,COL1 (four integers), got {text!r}"
        ) from None
    return (r0, c0), (r1, c1)


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def _add_figure_options(parser: argparse.ArgumentParser) -> None:
    """Flags shared by ``render`` and ``model``: which head, how to draw it, where to write."""
    pick = parser.add_argument_group("which attention")
    pick.add_argument(
        "--layer",
        type=int,
        help="layer index, negative counts from the end (model: default -1, the last layer)",
    )
    pick.add_argument(
        "--head",
        type=int,
        help="head index, negative counts from the end (model: default 0)",
    )
    pick.add_argument(
        "--batch-index", type=int, default=0, help="sequence of the batch to draw (default 0)"
    )
    report = parser.add_argument_group("report (every head: an overview, then a page per head)")
    report.add_argument(
        "--report",
        action="store_true",
        help="write the overview and one page per head (a PDF, or a folder of SVG/PNG files)",
    )
    report.add_argument(
        "--order-by",
        choices=("entropy", "diagonal_distance", "special_tokens"),
        help="order report pages by a head measure (highest first)",
    )
    report.add_argument("--top", type=int, help="report only the first TOP heads")
    report.add_argument(
        "--no-progress", action="store_true", help="no progress bar on standard error"
    )
    look = parser.add_argument_group("drawing")
    look.add_argument(
        "--top-n", type=int, default=3, help="mark the N largest cells (default 3; 0: none)"
    )
    look.add_argument(
        "--enlarged-size",
        type=_positive,
        default=1.8,
        help="size factor of the rows and columns of marked cells (default 1.8)",
    )
    look.add_argument(
        "--gamma", type=_positive, default=1.5, help="colour scale exponent (default 1.5)"
    )
    look.add_argument("--cmap", default="Blues", help="colormap name (default Blues)")
    look.add_argument("--vmin", type=float, help="data value at the bottom of the colour scale")
    look.add_argument("--vmax", type=float, help="data value at the top of the colour scale")
    look.add_argument("--title", help="figure title")
    look.add_argument("--xlabel", help="label above the columns (default 'Tokens Attended to')")
    look.add_argument("--ylabel", help="label left of the rows (default 'Tokens Attending')")
    look.add_argument(
        "--region",
        type=_region,
        action="append",
        metavar="R0,C0,R1,C1",
        help="box the cells from (R0, C0) to (R1, C1), inclusive; repeatable",
    )
    look.add_argument(
        "--cells",
        choices=("auto", "vector", "image"),
        default="auto",
        help="draw cells as vector rectangles or one image (default auto)",
    )
    paper = parser.add_argument_group("figures for papers")
    paper.add_argument(
        "--style", choices=("column", "page"), help="column: 3.5 in, 8 pt; page: 7 in, 9 pt"
    )
    paper.add_argument("--width", type=_positive, help="page width in inches (height follows)")
    paper.add_argument("--font", help="font file (.ttf/.otf) or installed family name")
    paper.add_argument("--font-size", type=_positive, help="label size in points")
    look.add_argument(
        "--raw-tokens",
        action="store_true",
        help="show tokens as they are (no Ġ/▁ clean-up)",
    )
    out = parser.add_argument_group("output")
    out.add_argument(
        "-o",
        "--output",
        help="output file (.pdf, .svg, .png, or .html to explore it; for --report also a "
        "folder); "
        "default: next to the input, or ./attention.pdf",
    )
    out.add_argument("--dpi", type=_positive, help="resolution of PNG output (default 150)")
    out.add_argument(
        "--json",
        action="store_true",
        help="also write the numbers drawn (top cells, colour scale, regions) as JSON next to "
        "the figure",
    )


def _parser() -> argparse.ArgumentParser:
    from izzyviz import __version__

    parser = _Parser(
        prog=PROG,
        description="Publication-grade heatmaps of transformer attention (PDF, SVG, PNG).",
        epilog="Run 'izzyviz COMMAND --help' for the options of a command.\n\n" + EXIT_STATUSES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"izzyviz {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    render = commands.add_parser(
        "render",
        help="draw saved attention weights",
        epilog=SHORT_EXIT_STATUSES,
        description="Draw attention saved as .npy, .npz, .pt or .safetensors. A 2-D array is "
        "one matrix; a 3-D (heads, q, k), 4-D (layers, heads, q, k) or 5-D "
        "(layers, batch, heads, q, k) array, or a saved list of per-layer tensors, needs "
        "--layer and --head (or --report).",
    )
    render.add_argument(
        "file", metavar="FILE", help="attention file (.npy, .npz, .pt, .safetensors)"
    )
    render.add_argument(
        "--tokens",
        required=True,
        metavar="TOKENS_FILE",
        help="tokens: one per line, or a JSON list of strings",
    )
    render.add_argument(
        "--query-tokens",
        metavar="TOKENS_FILE",
        help="row tokens, when the attention is not square (cross-attention)",
    )
    render.add_argument("--key", help="array to read from a .npz, .pt or .safetensors file")
    _add_figure_options(render)

    from izzyviz.explorer.command import add_arguments  # the lead moves this into the new table

    add_arguments(commands.add_parser("serve", help="explore a long map in the browser",
                                      epilog=SHORT_EXIT_STATUSES))  # fmt: skip

    model = commands.add_parser(
        "model",
        help="run a local transformers model and draw its attention",
        epilog=SHORT_EXIT_STATUSES,
        description="Run a transformers model from a local folder (offline, its own attention "
        "implementation, e.g. SDPA) on TEXT and draw one head (--layer/--head, default the last "
        "layer's head 0; only that head is captured) or every head (--report). Needs torch and "
        "transformers.",
    )
    model.add_argument("model_dir", metavar="MODEL_DIR", help="folder with the model and tokenizer")
    text = model.add_mutually_exclusive_group(required=True)
    text.add_argument("--text", help="input text")
    text.add_argument("--text-file", metavar="FILE", help="read the input text from a UTF-8 file")
    model.add_argument("--text-pair", help="second segment (e.g. a context for a question)")
    _add_figure_options(model)

    stats = commands.add_parser(
        "stats",
        help="average head measures over a corpus and write a report",
        description="Run a local model on every line of a text file (blank lines skipped) and "
        "write one page per head measure (mean over every real query position) plus the "
        "relative-offset profiles of the top heads. Needs torch and transformers; "
        "--engine ray needs Ray Data (pip install 'izzyviz[ray]').",
    )
    stats.add_argument("model_dir", metavar="MODEL_DIR", help="folder with the model and tokenizer")
    stats.add_argument("--texts", required=True, metavar="FILE", help="corpus: one text per line")
    stats.add_argument(
        "-o", "--output", default="stats.pdf", help="report: a .pdf, or a folder of .svg/.png"
    )
    stats.add_argument("--save", metavar="FILE", help="also save the numbers (.npz or .json)")
    stats.add_argument(
        "--engine",
        choices=("local", "ray"),
        default="local",
        help="local: this process (default); ray: a Ray Data actor pool",
    )
    stats.add_argument("--batch-size", type=int, default=16, help="texts per forward pass")
    stats.add_argument("--max-length", type=int, default=512, help="truncate to N tokens")
    stats.add_argument("--workers", type=int, default=2, help="Ray actors (default 2)")
    stats.add_argument(
        "--num-cpus", type=_positive, default=0.5, help="CPUs per Ray actor (default 0.5)"
    )
    stats.add_argument("--num-gpus", type=_positive, help="GPUs per Ray actor")
    stats.add_argument("--address", help="Ray cluster to join (default: start a local one)")
    stats.add_argument("--top", type=int, default=12, help="heads with an offset profile")
    stats.add_argument(
        "--no-progress", action="store_true", help="no progress bar on standard error"
    )

    demo = commands.add_parser(
        "demo",
        help="write the demo figures",
        epilog=SHORT_EXIT_STATUSES,
        description="Write every demo figure (bundled sample attention, no torch needed).",
    )
    demo.add_argument(
        "--out", default="izzyviz-demo", help="output folder (default ./izzyviz-demo)"
    )
    return parser


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


def read_tokens(path: str | os.PathLike[str]) -> list[str]:
    """Tokens from a text file: a JSON list of strings, or one token per line (line ends
    removed, nothing else)."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"--tokens: {str(path)!r} does not exist or is not a file")
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"--tokens: {str(path)!r} is not UTF-8 text ({exc.reason})") from None
    # A JSON list of strings if the whole file is one; otherwise one token per line (a first
    # token such as "[CLS]" also starts with a bracket).
    if text.lstrip().startswith("["):
        try:
            tokens = json.loads(text)
        except json.JSONDecodeError:
            tokens = None
        if isinstance(tokens, list) and all(isinstance(t, str) for t in tokens):
            if not tokens:
                raise ValueError(f"--tokens: {str(path)!r} holds an empty list")
            return tokens
    lines = text.splitlines()
    if not lines:
        raise ValueError(f"--tokens: {str(path)!r} is empty")
    return lines


def _pick(items: dict[str, Any], key: str | None, path: Path) -> Any:
    if not items:
        raise ValueError(f"FILE: {str(path)!r} holds no arrays")
    if key is None:
        return next(iter(items.values()))
    if key not in items:
        raise UsageError(
            f"--key: {str(path)!r} has no array {key!r}; it holds {', '.join(map(repr, items))}"
        )
    return items[key]


def load_attention(path: str | os.PathLike[str], key: str | None = None) -> Any:
    """Attention weights saved as ``.npy``, ``.npz`` (the first array, or ``key``), ``.pt``
    (a tensor, a list/tuple of per-layer tensors, or a dict: the first entry, or ``key``) or
    ``.safetensors`` (the first tensor by name, or ``key``)."""
    import numpy as np

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"FILE: {str(path)!r} does not exist or is not a file")
    suffix = path.suffix.lower()
    if suffix == ".npy":
        if key is not None:
            raise UsageError("--key: a .npy file holds one array; drop --key")
        return np.load(path, allow_pickle=False)
    if suffix == ".npz":
        with np.load(path, allow_pickle=False) as archive:
            return _pick({name: archive[name] for name in archive.files}, key, path)
    if suffix in (".pt", ".pth"):
        try:
            import torch
        except ImportError:
            raise OSError(
                f"FILE: reading {suffix} files needs torch; install it (pip install torch) or "
                "save the attention with numpy.save"
            ) from None
        try:
            value = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # torch raises UnpicklingError, RuntimeError, ...
            raise ValueError(f"FILE: cannot read {str(path)!r} with torch.load ({exc})") from None
        if isinstance(value, dict):
            return _pick(value, key, path)
        if key is not None:
            raise UsageError(f"--key: {str(path)!r} holds a {type(value).__name__}, not a dict")
        return value
    if suffix == ".safetensors":
        try:
            from safetensors import safe_open
        except ImportError:
            raise OSError(
                "FILE: reading .safetensors files needs the safetensors package; "
                "install it (pip install safetensors)"
            ) from None
        from importlib.util import find_spec

        # bfloat16 tensors can only be read through torch.
        framework = "pt" if find_spec("torch") is not None else "np"
        try:
            with safe_open(str(path), framework=framework) as handle:
                names = sorted(handle.keys())
                if key is not None and key not in names:
                    raise UsageError(
                        f"--key: {str(path)!r} has no tensor {key!r}; it holds "
                        f"{', '.join(map(repr, names))}"
                    )
                if not names:
                    raise ValueError(f"FILE: {str(path)!r} holds no tensors")
                return handle.get_tensor(key if key is not None else names[0])
        except (ValueError, UsageError):
            raise
        except Exception as exc:  # SafetensorError is not a ValueError
            raise ValueError(f"FILE: cannot read {str(path)!r} as safetensors ({exc})") from None
    raise UsageError(
        f"FILE: cannot tell the format of {str(path)!r}; expected .npy, .npz, .pt or .safetensors"
    )


def _ndim(value: Any) -> int:
    if isinstance(value, (list, tuple)):
        return 1 + _ndim(value[0]) if value else 1
    return len(getattr(value, "shape", ()))


# --------------------------------------------------------------------------------------------
# Drawing
# --------------------------------------------------------------------------------------------


def _heatmap_options(args: argparse.Namespace) -> dict[str, Any]:
    options: dict[str, Any] = {
        "top_n": args.top_n,
        "enlarged_size": args.enlarged_size,
        "gamma": args.gamma,
        "cmap": args.cmap,
        "vmin": args.vmin,
        "vmax": args.vmax,
        "regions": args.region,
        "cells": args.cells,
    }
    if args.xlabel is not None:
        options["xlabel"] = args.xlabel
    if args.ylabel is not None:
        options["ylabel"] = args.ylabel
    for name in ("width", "font", "font_size", "style"):
        if getattr(args, name) is not None:
            options[name] = getattr(args, name)
    return options


def _check_flags(args: argparse.Namespace, output: Path) -> None:
    if args.report:
        if args.layer is not None or args.head is not None:
            raise UsageError("--report draws every head; drop --layer/--head")
        if output.suffix.lower() == ".html":
            raise UsageError("--report: an .html page explores one head; drop --report")
    else:
        for flag in ("order_by", "top"):
            if getattr(args, flag) is not None:
                raise UsageError(f"--{flag.replace('_', '-')} applies to --report only")
        if output.suffix.lower() not in OUTPUT_SUFFIXES:
            raise UsageError(
                f"--output: cannot tell the format of {str(output)!r}; use .pdf, .svg, .png or "
                ".html"
            )
    if args.dpi is not None and output.suffix.lower() != ".png":
        raise UsageError(f"--dpi applies to PNG output only, not {str(output)!r}")
    if args.top is not None and args.top < 1:
        raise UsageError(f"--top: expected a positive integer, got {args.top}")


def _json_default(value: Any) -> Any:
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def _write_json(path: Path, data: dict[str, Any]) -> Path:
    """Write ``data`` as UTF-8 JSON to ``path``, atomically."""
    from izzyviz._io import write_atomic

    text = json.dumps(data, indent=2, ensure_ascii=False, default=_json_default)
    return write_atomic(path, (text + "\n").encode("utf-8"))


def _draw(
    args: argparse.Namespace,
    attentions: Any,
    tokens: list[str],
    output: Path,
    source: dict[str, Any],
    query_tokens: list[str] | None = None,
    picked: dict[str, Any] | None = None,
) -> int:
    """Draw one head (or a matrix) or the report, write the figure (and its JSON); ``picked``
    names the layer and head a 2-D matrix came from."""
    import numpy as np

    from izzyviz._validate import describe
    from izzyviz.inputs import display_tokens

    _check_flags(args, output)
    options = _heatmap_options(args)
    written: list[Path]
    if args.report:
        from izzyviz.heads import report

        if _ndim(attentions) < 4:
            raise UsageError(
                "--report: needs the attention of every layer (4-D or 5-D, or a list of "
                f"per-layer arrays), got a {_ndim(attentions)}-D array"
            )
        fig = report(
            attentions,
            tokens,
            output,
            order_by=args.order_by,
            top=args.top,
            progress=not args.no_progress,
            batch_index=args.batch_index,
            title=args.title,
            raw_tokens=args.raw_tokens,
            query_tokens=query_tokens,
            dpi=args.dpi,
            **options,
        )
        written = [Path(f) for f in fig.data["files"]]
        data = dict(fig.data)
        json_path = (
            output.with_suffix(".json") if output.suffix.lower() == ".pdf" else
            written[0].parent / "report.json"
        )  # fmt: skip
    else:
        from izzyviz.plot import heatmap

        ndim = _ndim(attentions)
        if ndim < 2:
            raise ValueError(
                "FILE: expected a 2-D attention matrix or a stack of them, "
                f"got {describe(attentions)}"
            )
        if ndim == 2:
            if picked is None and (args.layer is not None or args.head is not None):
                raise UsageError("a 2-D matrix has no layers or heads; drop --layer/--head")
            matrix = attentions
            picked = picked or {}
        else:
            if ndim == 3 and not isinstance(attentions, (list, tuple)):
                attentions = attentions[None]  # one layer's (heads, q, k)
                if args.layer is None:
                    args.layer = 0
            matrix = _select_head(attentions, args)
            picked = {"layer": args.layer, "head": args.head, "batch_index": args.batch_index}
        q, k = np.shape(matrix)
        if len(tokens) != k:
            raise ValueError(
                f"--tokens: got {len(tokens)} tokens, but the attention matrix is {q} x {k} "
                f"(one token per column expected)"
            )
        rows = tokens if query_tokens is None else query_tokens
        if len(rows) != q:
            raise ValueError(
                f"--{'tokens' if query_tokens is None else 'query-tokens'}: got {len(rows)} "
                f"tokens, but the attention matrix has {q} rows"
                + (" (not square: give the row tokens with --query-tokens)" if q != k else "")
            )
        fig = heatmap(
            matrix,
            display_tokens(tokens, raw=args.raw_tokens),
            display_tokens(rows, raw=args.raw_tokens),
            title=args.title,
            **options,
        )
        save_options = {} if args.dpi is None else {"dpi": args.dpi}
        written = [fig.save(output, **save_options)]
        data = {**picked, **fig.data}
        json_path = output.with_suffix(".json")
    data["regions"] = [[r0, c0, r1, c1] for (r0, c0), (r1, c1) in args.region or []]
    data["tokens"] = tokens
    if args.json:  # every file written is announced by the library: "IzzyViz: saved <path>"
        data["file"] = str(output)
        data["source"] = source
        _write_json(json_path, data)
    return 0


def _select_head(attentions: Any, args: argparse.Namespace) -> Any:
    """The matrix ``--layer``/``--head``/``--batch-index`` pick. The flags given are checked
    first (``--layer 99`` is out of range whether or not ``--head`` is there), then a missing
    one is asked for with the choices the attention offers."""
    from izzyviz.inputs import layer_head_counts, select_attention

    matrix = select_attention(
        attentions,
        0 if args.layer is None else args.layer,
        0 if args.head is None else args.head,
        batch_index=args.batch_index,
    )
    layers, heads = layer_head_counts(attentions)
    choices = {
        "--layer": f"{layers} layers (0 to {layers - 1})",
        "--head": f"{heads} heads in each layer (0 to {heads - 1})",
    }
    missing = [flag for flag, value in (("--layer", args.layer), ("--head", args.head))
               if value is None]  # fmt: skip
    if missing:
        raise UsageError(
            f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} missing: the "
            f"attention has {' and '.join(choices[flag] for flag in missing)}; choose with "
            f"{' and '.join(missing)} (negative counts from the end), or draw every head with "
            "--report"
        )
    return matrix


def _default_output(args: argparse.Namespace, stem: str, folder: Path) -> Path:
    if args.output is not None:
        return Path(args.output)
    if args.report:
        return folder / f"{stem}_report.pdf"
    if args.layer is not None and args.head is not None:
        return folder / f"{stem}_layer{args.layer}_head{args.head}.pdf"
    return folder / f"{stem}.pdf"


def _render(args: argparse.Namespace) -> int:
    tokens = read_tokens(args.tokens)
    attentions = load_attention(args.file, args.key)
    source = Path(args.file)
    output = _default_output(args, source.stem, source.parent)
    query_tokens = None if args.query_tokens is None else read_tokens(args.query_tokens)
    return _draw(
        args, attentions, tokens, output, {"file": str(source), "key": args.key}, query_tokens
    )


# What a transformers model folder holds (as save_pretrained writes it): any one file of each.
MODEL_FILES = {
    "config.json": ("config.json",),
    "model weights (model.safetensors or pytorch_model.bin)": (
        "model.safetensors",
        "model.safetensors.index.json",
        "pytorch_model.bin",
        "pytorch_model.bin.index.json",
    ),
    "tokenizer files (tokenizer.json, vocab.txt, vocab.json, spiece.model or tokenizer.model)": (
        "tokenizer.json",
        "vocab.txt",
        "vocab.json",
        "spiece.model",
        "sentencepiece.bpe.model",
        "tokenizer.model",
    ),
}


def check_model_folder(folder: Path) -> None:
    """Refuse a ``MODEL_DIR`` that is not a folder or lacks a config, weights or a tokenizer,
    naming what is missing (before torch and transformers are imported)."""
    if not folder.is_dir():
        raise FileNotFoundError(f"MODEL_DIR: {str(folder)!r} is not a folder")
    missing = [
        what
        for what, names in MODEL_FILES.items()
        if not any((folder / name).is_file() for name in names)
    ]
    if missing:
        raise FileNotFoundError(
            f"MODEL_DIR: {str(folder)!r} is not a transformers model folder: it lacks "
            f"{'; '.join(missing)}. Give a folder written by save_pretrained (model and tokenizer)"
        )


def _model(args: argparse.Namespace) -> int:
    folder = Path(args.model_dir)
    check_model_folder(folder)
    from izzyviz.capturing import capture
    from izzyviz.inputs import select_attention
    from izzyviz.stats import load_pretrained

    text = args.text if args.text_file is None else _read_text(args.text_file)
    # The model's own attention (SDPA by default): capture records the weights beside it.
    model, tokenizer = load_pretrained(folder, attn_implementation=None, name="MODEL_DIR")
    import torch

    inputs = tokenizer(text, args.text_pair, return_tensors="pt")
    tokens = [str(t) for t in tokenizer.convert_ids_to_tokens(inputs["input_ids"][0].tolist())]
    if not args.report:  # the documented defaults, each on its own
        args.layer = -1 if args.layer is None else args.layer
        args.head = 0 if args.head is None else args.head
    output = _default_output(args, "attention", Path.cwd())
    one = not args.report
    try:
        cap = capture(model, args.layer if one else None, args.head if one else None)
    except IndexError as exc:  # name the flag rather than capture's argument
        flag = "--layer" if str(exc).startswith("layers") else "--head"
        raise IndexError(f"{flag}{str(exc).split(':', 1)[1]}") from None
    with torch.no_grad(), cap:
        model(**inputs)
    source = {"model": str(folder), "text": text, "text_pair": args.text_pair}
    if not one:
        return _draw(args, cap.attentions, tokens, output, source)
    picked = {"layer": args.layer, "head": args.head, "batch_index": args.batch_index}
    matrix = select_attention(cap.attentions, 0, 0, batch_index=args.batch_index)
    return _draw(args, matrix, tokens, output, source, picked=picked)


def _read_text(path: str) -> str:
    if not Path(path).is_file():
        raise FileNotFoundError(f"--text-file: {path!r} does not exist or is not a file")
    try:
        return Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"--text-file: {path!r} is not UTF-8 text ({exc.reason})") from None


def _corpus(path: Path) -> Any:
    """The non-blank lines of a text file, read lazily."""
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield line.rstrip("\r\n")


def _as_model_dir(exc: OSError) -> OSError:
    """The same error, naming the command-line argument instead of the function's."""
    return type(exc)(str(exc).replace("model:", "MODEL_DIR:", 1))


def _stats(args: argparse.Namespace) -> int:
    from izzyviz.stats import head_statistics

    check_model_folder(Path(args.model_dir))
    corpus = Path(args.texts)
    if not corpus.is_file():
        raise FileNotFoundError(f"--texts: no file {str(corpus)!r}")
    try:
        stats = head_statistics(
            args.model_dir,
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
    except OSError as exc:
        raise _as_model_dir(exc) from None
    skipped = f", {stats.skipped} skipped (not tokenisable)" if stats.skipped else ""
    print(f"IzzyViz: {stats.texts} texts, {stats.count} query positions{skipped}")
    stats.report(args.output, top=args.top)  # each file written announces itself
    if args.save:
        stats.save(args.save)
    return 0


def _demo(args: argparse.Namespace) -> int:
    try:
        from izzyviz.demo import write_demo
    except ImportError as exc:
        raise OSError(f"the demo is not available in this installation ({exc})") from None

    write_demo(Path(args.out))  # prints one line per file it writes
    return 0


def _serve(args: argparse.Namespace) -> int:
    from izzyviz.explorer.command import run

    query = None if args.query_tokens is None else read_tokens(args.query_tokens)
    return run(args, read_tokens(args.tokens), query)


COMMANDS = {"render": _render, "model": _model, "stats": _stats, "demo": _demo, "serve": _serve}


def _fail(message: str, status: int) -> int:
    text = " ".join(message.split()) or "unknown error"
    print(f"{PROG}: error: {text}", file=sys.stderr)
    return status


def _flag_error(exc: Exception) -> str | None:
    """A library error about an argument a flag sets (``"layer: ..."``, ``"regions[0]: ..."``),
    reworded to name the flag; None for any other error."""
    match = re.match(r"(\w+)(\[\d+\])?: ", str(exc))
    if match is None or match[1] not in FLAGS:
        return None
    return f"{FLAGS[match[1]]}: {str(exc)[match.end() :]}"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``izzyviz`` command with ``argv`` (default ``sys.argv[1:]``); returns the exit
    status (see ``EXIT_STATUSES``): 0 on success, 1 when a file, the model or the output cannot
    be used, 2 when an argument is wrong, 3 on an unexpected error, 130 when interrupted."""
    try:
        args = _parser().parse_args(argv)
        return COMMANDS[args.command](args)
    except SystemExit as exc:  # --help and --version
        return exc.code if isinstance(exc.code, int) else 0
    except UsageError as exc:
        return _fail(str(exc), 2)
    except (ValueError, TypeError, IndexError) as exc:
        flagged = _flag_error(exc)
        return _fail(flagged, 2) if flagged is not None else _fail(str(exc), 1)
    except OSError as exc:
        return _fail(str(exc), 1)
    except MemoryError:
        return _fail("out of memory", 1)
    except KeyboardInterrupt:
        return _fail("interrupted", 130)
    except Exception as exc:
        traceback.print_exc()
        print(
            f"{PROG}: internal error: {type(exc).__name__}: {exc} (a bug in izzyviz: please "
            "report it with the traceback above)",
            file=sys.stderr,
        )
        return 3


if __name__ == "__main__":
    sys.exit(main())
