"""The ``izzyviz`` command: draw saved attention, run a local model, average a corpus, or write
the demo figures and a sample to try them on.

::

    izzyviz sample --out attention.npy --tokens tokens.txt
    izzyviz render attention.npy --tokens tokens.txt --layer -1 --head 3 -o head.svg --json
    izzyviz render attentions.safetensors --report -o report.pdf
    izzyviz model ./all-MiniLM-L6-v2 --text "The quick brown fox." --layer 0 --head 2
    izzyviz stats ./all-MiniLM-L6-v2 --texts corpus.txt -o stats.pdf --save stats.npz
    izzyviz demo --out figures

Each subcommand is a module of this package that defines a :class:`~izzyviz.cli.common.Command`
(its name, help, arguments and ``run``); :data:`COMMANDS` lists them. To add one, write
``izzyviz/cli/NAME.py`` with ``COMMAND = Command(...)`` and add it to :data:`COMMANDS`.

Expected errors print one line ``izzyviz: error: ...`` on standard error, and warnings one line
``izzyviz: warning: ...``; the exit status says whose move it is (see
:data:`~izzyviz.cli.common.EXIT_STATUSES`): 2 when an argument is wrong (including a value that
does not fit the input, such as ``--layer 99`` for a 6-layer model), 1 when a file, the model
or the output cannot be used. An unexpected error (a bug) prints its traceback and exits with 3.
"""

from __future__ import annotations

import argparse
import re
import sys
import traceback
import warnings
from collections.abc import Sequence
from typing import Any

from izzyviz.cli import demo, model, render, serve, stats
from izzyviz.cli.common import EXIT_STATUSES, FLAGS, PROG, Command, Parser, UsageError, warn
from izzyviz.cli.files import load_attention, read_tokens

__all__ = ["COMMANDS", "load_attention", "main", "read_tokens"]

#: The subcommands, in the order ``izzyviz --help`` lists them.
COMMANDS: dict[str, Command] = {
    command.name: command
    for command in (
        render.COMMAND,
        model.COMMAND,
        stats.COMMAND,
        serve.COMMAND,
        demo.DEMO,
        demo.SAMPLE,
    )
}


def _parser() -> argparse.ArgumentParser:
    """The ``izzyviz`` parser, with one subparser per entry of :data:`COMMANDS`."""
    from izzyviz import __version__
    from izzyviz.cli.common import SHORT_EXIT_STATUSES

    parser = Parser(
        prog=PROG,
        description="Publication-grade heatmaps of transformer attention (PDF, SVG, PNG).",
        epilog="Run 'izzyviz COMMAND --help' for the options of a command.\n\n" + EXIT_STATUSES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"izzyviz {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    commands.required = True
    for command in COMMANDS.values():
        sub = commands.add_parser(
            command.name,
            help=command.help,
            description=command.description,
            epilog=SHORT_EXIT_STATUSES,
        )
        command.add_arguments(sub)
    return parser


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


def _show_warning(message: Any, category: Any, *args: Any, **kwargs: Any) -> None:
    warn(str(message))


def _run(argv: Sequence[str] | None) -> int:
    """Parse ``argv`` and run its command, warnings shown one line each."""
    with warnings.catch_warnings():
        warnings.simplefilter("default", UserWarning)
        warnings.showwarning = _show_warning
        args = _parser().parse_args(argv)
        return COMMANDS[args.command].run(args)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``izzyviz`` command with ``argv`` (default ``sys.argv[1:]``); returns the exit
    status (see ``EXIT_STATUSES``): 0 on success, 1 when a file, the model or the output cannot
    be used, 2 when an argument is wrong, 3 on an unexpected error, 130 when interrupted."""
    try:
        return _run(argv)
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
