"""``izzyviz serve``: explore a long attention map in the browser, its tiles cut on demand from
a memory-mapped ``.npy`` by a server on this machine (:func:`izzyviz.explorer.serve.serve`).
Building its parser imports neither numpy nor ``http.server``."""

from __future__ import annotations

import argparse

from izzyviz.cli.common import Command, count, positive, scale_end
from izzyviz.cli.files import read_tokens

__all__ = ["COMMAND", "DEFAULT_PORT"]

DEFAULT_PORT = 8765


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "file", metavar="FILE",
        help="attention: a float16/32 .npy, 2-D, or (layers, heads, q, k) with --layer/--head",
    )  # fmt: skip
    parser.add_argument("--layer", type=int, default=-1, help="layer of a 4-D file (default -1)")
    parser.add_argument("--head", type=int, default=0, help="head of a 4-D file (default 0)")
    parser.add_argument(
        "--tokens", required=True, metavar="TOKENS_FILE",
        help="tokens: one per line, or a JSON list of strings",
    )  # fmt: skip
    parser.add_argument(
        "--query-tokens", metavar="TOKENS_FILE",
        help="row tokens, when the attention is not square (cross-attention)",
    )  # fmt: skip
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"default {DEFAULT_PORT}")
    parser.add_argument(
        "--host", default="127.0.0.1", help="a loopback address (default 127.0.0.1)"
    )
    look = parser.add_argument_group("drawing (as izzyviz render)")
    look.add_argument("--top-n", type=count, default=3, help="list and ring the N largest cells")
    look.add_argument("--gamma", type=positive, default=1.5, help="colour scale exponent")
    look.add_argument("--cmap", default="Blues", help="colormap name (default Blues)")
    look.add_argument(
        "--norm", choices=("auto", "power", "linear", "log"), default="auto",
        help="colour scale (default auto: power up to 128 tokens, log beyond)",
    )  # fmt: skip
    look.add_argument("--vmin", type=scale_end, help="bottom of the colour scale, or a percentile")
    look.add_argument("--vmax", type=scale_end, help="top of the colour scale, or a percentile")
    look.add_argument("--pool", choices=("max", "mean"), default="max", help="how pixels pool")
    look.add_argument("--title", help="title above the map")


def _check_tokens(
    path: str, shape: tuple[int, int], tokens: list[str], query: list[str] | None
) -> None:
    rows, cols = shape
    for flag, given, wanted, axis in (
        ("--tokens", tokens, cols, "columns"),
        ("--query-tokens" if query else "--tokens", query or tokens, rows, "rows"),
    ):
        if len(given) != wanted:
            hint = "" if rows == cols or query else " (give the row tokens with --query-tokens)"
            raise ValueError(
                f"{flag}: got {len(given)} tokens, but the matrix {path!r} is {rows} x {cols} "
                f"({wanted} {axis}){hint}"
            )


def _run(args: argparse.Namespace) -> int:
    from izzyviz.explorer.serve import check_address, open_npy, serve
    from izzyviz.inputs import pick_attention

    check_address(args.host, args.port)  # before the map is read
    tokens = read_tokens(args.tokens)
    query = None if args.query_tokens is None else read_tokens(args.query_tokens, "--query-tokens")
    matrix = open_npy(args.file, (2, 4))
    if matrix.ndim == 4:  # one head's view of the file, still read in place
        matrix = pick_attention(matrix, args.layer, args.head)
    _check_tokens(args.file, matrix.shape, tokens, query)
    options = {
        name: getattr(args, name) for name in ("top_n", "gamma", "cmap", "norm", "vmin", "vmax")
    }
    print(f"IzzyViz: reading {args.file} ({matrix.shape[0]} x {matrix.shape[1]}) ...", flush=True)
    serve(matrix, tokens, query_tokens=query, host=args.host, port=args.port, pool=args.pool,
          title=args.title, **options)  # fmt: skip
    return 0


COMMAND = Command(
    name="serve",
    help="explore a long map in the browser",
    description="Serve a 2-D float16 or float32 .npy attention map (memory-mapped: any size) as "
    "the explorer page of izzyviz.explore on http://127.0.0.1:PORT, its tiles cut on demand. "
    "Ctrl-C stops it.",
    add_arguments=_add_arguments,
    run=_run,
)
