"""Drawing for ``izzyviz render`` and ``izzyviz model``: their shared flags, the checks made
before any work, the head (or report) drawn, its default title and file name, and the JSON
written beside the figure.

Both commands go the same way, so the same mistake gets the same words from either: flags are
checked (:func:`check_flags`), a head is picked by absolute index (:func:`pick_head`), and the
figure is drawn (:func:`draw_head`, :func:`draw_report`) with a title and file name that name
that head ("Layer 5 of 6, head 3 of 12", ``..._layer5_head3.pdf``).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from izzyviz.cli.common import (
    UsageError,
    check_folder,
    count,
    positive,
    positive_int,
    region,
    scale_end,
    write_json,
)

__all__ = [
    "OUTPUT_SUFFIXES",
    "Picked",
    "add_figure_options",
    "axis_labels",
    "check_drawing",
    "check_flags",
    "default_output",
    "draw_head",
    "draw_report",
    "ndim",
    "pick_head",
]

OUTPUT_SUFFIXES = (".pdf", ".svg", ".png", ".html")


def _add_pick_options(parser: argparse.ArgumentParser) -> None:
    pick = parser.add_argument_group("which attention")
    pick.add_argument(
        "--layer",
        type=int,
        help="layer index, negative counts from the end (model: default -1, the last layer)",
    )
    pick.add_argument(
        "--head", type=int, help="head index, negative counts from the end (model: default 0)"
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
    report.add_argument("--top", type=positive_int, help="report only the first TOP heads")
    report.add_argument(
        "--no-progress", action="store_true", help="no progress bar on standard error"
    )


def _add_look_options(parser: argparse.ArgumentParser) -> None:
    look = parser.add_argument_group("drawing")
    look.add_argument(
        "--top-n", type=count, default=3, help="mark the N largest cells (default 3; 0: none)"
    )
    look.add_argument(
        "--enlarged-size",
        type=positive,
        default=1.8,
        help="size factor of the rows and columns of marked cells (default 1.8)",
    )
    look.add_argument(
        "--gamma", type=positive, default=1.5, help="colour scale exponent (default 1.5)"
    )
    look.add_argument("--cmap", default="Blues", help="colormap name (default Blues)")
    look.add_argument(
        "--norm",
        choices=("auto", "power", "linear", "log"),
        default="auto",
        help="colour scale: power (gamma), linear or log (decades; zeros apart); default auto: "
        "power up to 128 tokens, log beyond",
    )
    look.add_argument(
        "--vmin", type=scale_end, help="value at the bottom of the colour scale, or a percentile"
    )
    look.add_argument(
        "--vmax", type=scale_end, help="value at the top of the colour scale, or a percentile "
        "of the matrix such as 99.9%%",
    )  # fmt: skip
    look.add_argument(
        "--title", help="figure title (default: the layer and head drawn, e.g. 'Layer 5 of 6')"
    )
    look.add_argument("--xlabel", help="label above the columns (default 'Tokens Attended to')")
    look.add_argument("--ylabel", help="label left of the rows (default 'Tokens Attending')")
    look.add_argument(
        "--region",
        type=region,
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
    look.add_argument(
        "--raw-tokens", action="store_true", help="show tokens as they are (no Ġ/▁ clean-up)"
    )
    paper = parser.add_argument_group("figures for papers")
    paper.add_argument(
        "--style", choices=("column", "page"), help="column: 3.5 in, 8 pt; page: 7 in, 9 pt"
    )
    paper.add_argument("--width", type=positive, help="page width in inches (height follows)")
    paper.add_argument("--font", help="font file (.ttf/.otf) or installed family name")
    paper.add_argument("--font-size", type=positive, help="label size in points")


def add_figure_options(parser: argparse.ArgumentParser) -> None:
    """Flags shared by ``render`` and ``model``: which head, how to draw it, where to write."""
    _add_pick_options(parser)
    _add_look_options(parser)
    out = parser.add_argument_group("output")
    out.add_argument(
        "-o",
        "--output",
        help="output file (.pdf, .svg, .png, or .html to explore it in a browser; for --report "
        "also a folder); default: next to "
        "the input (model: in this folder), named after the head, e.g. attention_layer5_head0.pdf",
    )
    out.add_argument("--dpi", type=positive, help="resolution of PNG output (default 150)")
    out.add_argument(
        "--json",
        action="store_true",
        help="also write the numbers drawn (top cells, colour scale, regions) as JSON next to "
        "the figure",
    )


def check_flags(args: argparse.Namespace) -> None:
    """Refuse flags that conflict, and an output whose format or folder cannot be used,
    before anything is read."""
    if args.report:
        if args.layer is not None or args.head is not None:
            raise UsageError("--report draws every head; drop --layer/--head")
    else:
        for flag in ("order_by", "top"):
            if getattr(args, flag) is not None:
                raise UsageError(f"--{flag.replace('_', '-')} applies to --report only")
    output = Path("attention.pdf" if args.output is None else args.output)  # PDF by default
    if args.report and output.suffix.lower() == ".html":
        raise UsageError("--report: an .html page explores one head; drop --report")
    suffixes = (*OUTPUT_SUFFIXES, "") if args.report else OUTPUT_SUFFIXES
    if output.suffix.lower() not in suffixes and not (args.report and output.is_dir()):
        raise UsageError(
            f"--output: cannot tell the format of {str(output)!r}; use .pdf, .svg, .png or .html"
            + (" (or a folder)" if args.report else "")
        )
    if args.dpi is not None and output.suffix.lower() != ".png":
        what = "the default PDF" if args.output is None else repr(str(output))
        raise UsageError(f"--dpi applies to PNG output only, not {what} (-o NAME.png)")
    check_folder(output, "--output")


def ndim(value: Any) -> int:
    """Dimensions of an array, tensor or (nested) list of them, without reading them."""
    if isinstance(value, (list, tuple)):
        return 1 + ndim(value[0]) if value else 1
    return len(getattr(value, "shape", ()))


@dataclass(frozen=True)
class Picked:
    """The head a figure shows, by absolute index, and the counts it is one of (``layer`` and
    ``layers`` are None when the attention has no layer axis)."""

    layer: int | None
    head: int
    layers: int | None
    heads: int
    batch_index: int = 0

    @property
    def title(self) -> str:
        """``"Layer 5 of 6, head 3 of 12"`` (``"Head 3 of 12"`` without layers)."""
        head = f"head {self.head} of {self.heads}"
        return f"Layer {self.layer} of {self.layers}, {head}" if self.layers else head.capitalize()

    @property
    def name(self) -> str:
        """``"layer5_head3"`` (``"head3"`` without layers), for file names."""
        head = f"head{self.head}"
        return head if self.layer is None else f"layer{self.layer}_{head}"

    @property
    def data(self) -> dict[str, Any]:
        """What the figure's JSON says of the head."""
        return {"layer": self.layer, "head": self.head, "batch_index": self.batch_index}


def pick_head(
    attentions: Any, layer: int | None, head: int | None, batch_index: int
) -> tuple[Any, Picked]:
    """The matrix ``layer``/``head``/``batch_index`` pick from a 3-D to 5-D array or a list of
    per-layer arrays, as it is stored (only that matrix is read), and which head it is. The
    flags given are checked first (``--layer 99`` is out of range whether or not ``--head`` is
    there), then a missing one is asked for with the choices the attention offers."""
    from izzyviz._validate import check_index
    from izzyviz.inputs import layer_head_counts, pick_attention

    stacked = isinstance(attentions, (list, tuple)) or ndim(attentions) != 3
    stack = attentions if stacked else [attentions]  # one layer's (heads, q, k)
    layers, heads = layer_head_counts(stack)
    if layer is not None or not stacked:
        layer = check_index(0 if layer is None else layer, "layer", layers, "layers")
    if head is not None:
        head = check_index(head, "head", heads, "heads")
    choices = {
        "--layer": f"{layers} layers (0 to {layers - 1})",
        "--head": f"{heads} heads in each layer (0 to {heads - 1})",
    }
    missing = [flag for flag, value in (("--layer", layer), ("--head", head)) if value is None]
    if missing:
        raise UsageError(
            f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} missing: the "
            f"attention has {' and '.join(choices[flag] for flag in missing)}; choose with "
            f"{' and '.join(missing)} (negative counts from the end), or draw every head with "
            "--report"
        )
    assert layer is not None and head is not None
    matrix = pick_attention(stack, layer, head, batch_index=batch_index)
    if not stacked:
        return matrix, Picked(None, head, None, heads, batch_index)
    return matrix, Picked(layer, head, layers, heads, batch_index)


def default_output(
    args: argparse.Namespace, stem: str, folder: Path, picked: Picked | None
) -> Path:
    """``--output``, or a PDF in ``folder`` named after ``stem`` and the head drawn."""
    if args.output is not None:
        return Path(args.output)
    if args.report:
        return folder / f"{stem}_report.pdf"
    return folder / (f"{stem}.pdf" if picked is None else f"{stem}_{picked.name}.pdf")


def _positions(count: int) -> list[str]:
    return [str(i) for i in range(count)]


def axis_labels(
    tokens: list[str] | None, query_tokens: list[str] | None, shape: tuple[int, ...]
) -> tuple[list[str], list[str]]:
    """``(column labels, row labels)`` of a ``(q, k)`` matrix: the tokens given, or positions
    ("0", "1", ...) without them; refused when their counts do not fit."""
    q, k = shape[-2:]
    columns = _positions(k) if tokens is None else tokens
    if len(columns) != k:
        raise ValueError(
            f"--tokens: got {len(columns)} tokens, but the attention matrix is {q} x {k} "
            "(one token per column expected)"
        )
    if query_tokens is not None:
        rows = query_tokens
    elif tokens is None and q != k:
        rows = _positions(q)
    else:  # the same labels (a non-square matrix with --tokens alone is refused below)
        rows = columns
    if len(rows) != q:
        raise ValueError(
            f"--{'tokens' if query_tokens is None else 'query-tokens'}: got {len(rows)} "
            f"tokens, but the attention matrix has {q} rows"
            + (" (not square: give the row tokens with --query-tokens)" if q != k else "")
        )
    return columns, rows


def _heatmap_options(args: argparse.Namespace) -> dict[str, Any]:
    options: dict[str, Any] = {
        "top_n": args.top_n,
        "enlarged_size": args.enlarged_size,
        "gamma": args.gamma,
        "cmap": args.cmap,
        "vmin": args.vmin,
        "vmax": args.vmax,
        "norm": args.norm,
        "regions": args.region,
        "cells": args.cells,
    }
    for name in ("xlabel", "ylabel", "width", "font", "font_size", "style"):
        if getattr(args, name) is not None:
            options[name] = getattr(args, name)
    return options


def _finish(
    args: argparse.Namespace, data: dict[str, Any], json_path: Path, output: Path, source: Any
) -> None:
    """Write the figure's JSON (with ``--json``)."""
    if args.json:
        data["regions"] = [[r0, c0, r1, c1] for (r0, c0), (r1, c1) in args.region or []]
        write_json(json_path, data | {"file": str(output), "source": source})


def draw_head(
    args: argparse.Namespace,
    matrix: Any,
    labels: tuple[list[str], list[str]],
    output: Path,
    source: dict[str, Any],
    picked: Picked | None,
) -> None:
    """Draw one matrix with its ``(column, row)`` labels and write it (and its JSON)."""
    from izzyviz.inputs import display_tokens
    from izzyviz.plot import heatmap

    columns, rows = labels
    title = args.title if args.title is not None or picked is None else picked.title
    shown = display_tokens(columns, raw=args.raw_tokens)
    shown_rows = shown if rows is columns else display_tokens(rows, raw=args.raw_tokens)
    fig = heatmap(matrix, shown, shown_rows, title=title, **_heatmap_options(args))
    fig.save(output, **({} if args.dpi is None else {"dpi": args.dpi}))
    data = (picked.data if picked else {}) | fig.data | {"tokens": columns}
    _finish(args, data, output.with_suffix(".json"), output, source)


def draw_report(
    args: argparse.Namespace,
    attentions: Any,
    labels: tuple[list[str], list[str]],
    output: Path,
    source: dict[str, Any],
) -> None:
    """Write the report of every head (an overview, then a page per head) and its JSON."""
    from izzyviz.heads import report

    if ndim(attentions) < 4:
        raise UsageError(
            "--report: needs the attention of every layer (4-D or 5-D, or a list of "
            f"per-layer arrays), got a {ndim(attentions)}-D array"
        )
    columns, rows = labels
    fig = report(
        attentions,
        columns,
        output,
        order_by=args.order_by,
        top=args.top,
        progress=not args.no_progress,
        batch_index=args.batch_index,
        title=args.title,
        raw_tokens=args.raw_tokens,
        query_tokens=None if rows is columns else rows,
        dpi=args.dpi,
        **_heatmap_options(args),
    )
    written = [Path(f) for f in fig.data["files"]]
    pdf = output.suffix.lower() == ".pdf"
    json_path = output.with_suffix(".json") if pdf else written[0].parent / "report.json"
    _finish(args, dict(fig.data) | {"tokens": columns}, json_path, output, source)


def _stand_in(labels: list[str], top_n: int, low: float, high: float) -> Any:
    """A matrix with values from ``low`` to ``high`` whose ``top_n`` largest cells sit on the
    rows and columns of the longest labels: the top cells' labels are always shown and their
    rows and columns enlarged, so this is about the widest figure these labels can make."""
    import numpy as np

    n = len(labels)
    matrix = np.linspace(low, (low + high) / 2, n * n).reshape(n, n)
    longest = np.argsort([-len(label) for label in labels], kind="stable")[:top_n]
    step = (high - low) / (2 * n * n)
    for rank, index in enumerate(longest):
        matrix[index, index] = high - rank * step
    return matrix


def check_drawing(
    args: argparse.Namespace, tokens: list[str], output: Path | None, picked: Picked | None
) -> None:
    """Lay out the figure once with a stand-in matrix (:func:`_stand_in`) of the real size,
    labels and title (of ``picked``, when known), so that every drawing option (colour map,
    font, width, regions, a PNG's dpi) is refused before the model that computes the real
    matrix loads. As the stand-in is about the widest figure the labels can make, a width it
    accepts should fit the real figure too; one that does not is refused after the model
    runs, in the same words."""
    from izzyviz.inputs import display_tokens
    from izzyviz.plot import heatmap
    from izzyviz.render import resolve_backend

    labels = display_tokens(tokens, raw=args.raw_tokens)
    low = args.vmin if args.vmin is not None else min(0.0, (args.vmax or 1.0) - 1.0)
    high = args.vmax if args.vmax is not None else max(1.0, low + 1.0)
    stand_in = _stand_in(labels, args.top_n, low, high)
    title = args.title if args.title is not None or picked is None else picked.title
    fig = heatmap(stand_in, labels, labels, title=title, **_heatmap_options(args))
    if output is not None and output.suffix.lower() == ".png":
        renderer = resolve_backend(str(output))(**({} if args.dpi is None else {"dpi": args.dpi}))
        renderer.check(fig.pages)
