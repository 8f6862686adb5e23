"""What every ``izzyviz`` subcommand shares: its entry in the command table, one-line usage
errors, argument types, the exit statuses, and reading text files and writing JSON.

A subcommand is a :class:`Command`: a name, a line of help, a function that adds its arguments
to its parser and a function that runs it. Errors are exceptions: :class:`UsageError` (or a
library ``ValueError``/``IndexError`` about an argument a flag in :data:`FLAGS` sets) exits
with 2, any other ``ValueError``/``OSError`` with 1; :func:`izzyviz.cli.main` prints them as
one line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

PROG = "izzyviz"
EXIT_STATUSES = """\
exit status:
  0    success: every file was written
  1    a file, the model or the output folder cannot be used (missing, unreadable, empty,
       invalid data, tokens that do not match the attention, a dependency not installed)
  2    an argument is wrong: an unknown or malformed option, options that conflict, or a
       value that does not fit the input (e.g. --layer 99 for a 6-layer model, --dpi too high)
  3    an unexpected error (a bug in izzyviz): the traceback is printed; please report it
  130  interrupted (Ctrl-C)
Every argument is checked before a model loads or a corpus runs, and a failed command leaves
no half-written file."""
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
    "norm": "--norm",
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
    "max_length": "--max-length",
    "host": "--host",
    "port": "--port",
}


class UsageError(ValueError):
    """A wrong argument (exit status 2)."""


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors: ``izzyviz: error: <message> (see 'izzyviz ... --help')``."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")


@dataclass(frozen=True)
class Command:
    """One subcommand: ``izzyviz NAME ...``.

    Attributes
    ----------
    name
        The word typed after ``izzyviz``.
    help
        One line for ``izzyviz --help``.
    description
        The paragraph that opens ``izzyviz NAME --help``.
    add_arguments
        Adds the subcommand's arguments to its parser.
    run
        Runs it on the parsed arguments; returns the exit status (0), or raises.
    """

    name: str
    help: str
    description: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


# -- argument types ------------------------------------------------------------------------


def positive(text: str) -> float:
    """A finite number above 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def scale_end(text: str) -> float | str:
    """A colour scale's end: a number, or a percentile of the matrix such as ``99.9%``."""
    if text.strip().endswith("%"):
        return text.strip()  # checked by the library, which names the flag
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a number or a percentile such as 99.9%, got {text!r}"
        ) from None


def _integer(text: str, least: int, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    if value < least:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
    return value


def positive_int(text: str) -> int:
    """An integer of at least 1."""
    return _integer(text, 1, "a positive integer")


def count(text: str) -> int:
    """An integer of at least 0."""
    return _integer(text, 0, "an integer of at least 0")


def region(text: str) -> tuple[tuple[int, int], tuple[int, int]]:
    """``ROW0,COL0,ROW1,COL1`` as ``((row0, col0), (row1, col1))``."""
    try:
        r0, c0, r1, c1 = (int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected ROW0,COL0,ROW1,COL1 (four integers), got {text!r}"
        ) from None
    return (r0, c0), (r1, c1)


# -- files ---------------------------------------------------------------------------------


def read_utf8(path: str | os.PathLike[str], flag: str) -> str:
    """The UTF-8 text of the file ``path`` given with ``flag``, refused when it is missing or
    not UTF-8."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"{flag}: {str(path)!r} does not exist or is not a file")
    try:
        return Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{flag}: {str(path)!r} is not UTF-8 text ({exc.reason})") from None


def read_text_file(path: str | os.PathLike[str], flag: str) -> str:
    """:func:`read_utf8`, refused when the file holds no text (empty or only whitespace)."""
    text = read_utf8(path, flag)
    if not text.strip():
        raise ValueError(f"{flag}: {str(path)!r} holds no text (it is empty or only whitespace)")
    return text


def check_folder(path: str | os.PathLike[str], flag: str) -> Path:
    """``path`` as a Path, refused when the folder it goes into does not exist."""
    target = Path(path)
    if not target.parent.is_dir():
        raise FileNotFoundError(
            f"{flag}: folder {str(target.parent)!r} does not exist (for {str(target)!r})"
        )
    return target


def _json_default(value: Any) -> Any:
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def write_json(path: Path, data: dict[str, Any]) -> Path:
    """Write ``data`` as UTF-8 JSON to ``path``, atomically (announced as every file is)."""
    from izzyviz._io import write_atomic

    text = json.dumps(data, indent=2, ensure_ascii=False, default=_json_default)
    return write_atomic(path, (text + "\n").encode("utf-8"))


def warn(message: str) -> None:
    """Print ``izzyviz: warning: <message>`` on standard error, on one line."""
    print(f"{PROG}: warning: {' '.join(message.split())}", file=sys.stderr)
