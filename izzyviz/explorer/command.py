"""``izzyviz serve`` on the command line: its arguments and how they reach
:func:`izzyviz.explorer.serve.serve`. Kept apart from the server so that building the command
line's parser imports neither numpy nor ``http.server``."""

from __future__ import annotations

import argparse

__all__ = ["DEFAULT_PORT", "add_arguments", "run"]

DEFAULT_PORT = 8765


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``izzyviz serve``, for the command line's parser."""
    parser.add_argument("file", metavar="FILE", help="attention matrix: a 2-D float16/32 .npy")
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
    look.add_argument("--top-n", type=int, default=3, help="list and ring the N largest cells")
    look.add_argument("--gamma", type=float, default=1.5, help="colour scale exponent")
    look.add_argument("--cmap", default="Blues", help="colormap name (default Blues)")
    look.add_argument("--vmin", type=float, help="data value at the bottom of the colour scale")
    look.add_argument("--vmax", type=float, help="data value at the top of the colour scale")
    look.add_argument("--pool", choices=("max", "mean"), default="max", help="how pixels pool")
    look.add_argument("--title", help="title above the map")


def run(args: argparse.Namespace, tokens: list[str], query_tokens: list[str] | None) -> int:
    """``izzyviz serve`` with parsed ``args`` and the tokens read from their files."""
    from izzyviz.explorer.serve import open_npy, serve

    matrix = open_npy(args.file)
    rows, cols = matrix.shape
    for flag, given, count, axis in (
        ("--tokens", tokens, cols, "columns"),
        ("--query-tokens" if query_tokens else "--tokens", query_tokens or tokens, rows, "rows"),
    ):
        if len(given) != count:
            square = (
                "" if rows == cols or query_tokens else " (give the row tokens with --query-tokens)"
            )
            raise ValueError(
                f"{flag}: got {len(given)} tokens, but the matrix {args.file!r} is {rows} x "
                f"{cols} ({count} {axis}){square}"
            )
    options = {name: getattr(args, name) for name in ("top_n", "gamma", "cmap", "vmin", "vmax")}
    print(f"IzzyViz: reading {args.file} ({rows} x {cols}) ...", flush=True)
    serve(
        matrix, tokens, query_tokens=query_tokens, host=args.host, port=args.port,
        pool=args.pool, title=args.title, **options,
    )  # fmt: skip
    return 0
