"""Atomic file writes: a failed render leaves nothing behind and never clobbers a file.

Each file is written to a temporary file in its destination's folder and renamed over the
destination, so readers see the old file or the new one, never part of one. Around that rename:

* a symbolic link is written through, as editors do: its target gets the new content and the
  link stays a link (a dangling link gets its target created; a loop is refused);
* an existing file keeps its permission bits; a new file gets the umask's default;
* a read-only file (no write permission bit, or not writable by us) is refused with a
  ``PermissionError`` naming it, and so is a folder or other non-file in the way;
* temporaries have short names, ``.izzyviz-XXXXXXXX.tmp`` (8 hex digits), so any legal file
  name can be saved. A save holds a shared lock (``flock``) on the folder while its
  temporaries are there; the first save into a folder in each process, finding no other save
  there (the exclusive lock), removes the temporaries left by writers that died between write
  and rename (e.g. SIGKILL). Where ``flock`` does not exist (Windows) none are removed.

:func:`atomic_files` writes several files (a report's pages) all or nothing: every target is
checked and every temporary written before the first rename.

Every file IzzyViz writes goes through here, which is also the one place that announces it:
one line ``IzzyViz: saved <path>`` per file, once it is in place, logged at INFO level on the
``logging`` logger ``"izzyviz"``, whose own handler prints it on standard output. To silence it
(a server rendering thousands of figures)::

    logging.getLogger("izzyviz").setLevel(logging.WARNING)

or route it to your own logging with ``logger.handlers.clear(); logger.propagate = True``.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import secrets
import stat
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no flock, so no clean-up of abandoned temporaries
    fcntl = None  # type: ignore[assignment]

__all__ = ["LOGGER", "SAVED_PREFIX", "TEMP_NAME", "atomic_files", "write_atomic"]

SAVED_PREFIX = "IzzyViz: saved "


class _Stdout(logging.Handler):
    """Prints each record on whatever ``sys.stdout`` is when it is logged (a notebook's cell,
    a test's capture), as ``print`` would."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            print(self.format(record), file=sys.stdout, flush=True)
        except Exception:  # pragma: no cover - logging's own policy for broken streams
            self.handleError(record)


#: Where IzzyViz announces the files it writes (INFO); set its level to WARNING for silence.
LOGGER = logging.getLogger("izzyviz")
if not LOGGER.handlers:
    LOGGER.addHandler(_Stdout())
    LOGGER.setLevel(logging.INFO)
    LOGGER.propagate = False

TEMP_NAME = re.compile(r"\.izzyviz-[0-9a-f]{8}\.tmp")

Writer = Callable[[str | os.PathLike[str], bytes], Path]


def write_atomic(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (see the module's notes), announce
    ``IzzyViz: saved <path>`` (see :data:`LOGGER`) and return ``path``.

    Either the whole file appears (replacing any old one) or, on any error, nothing changes.
    """
    with atomic_files() as write:
        return write(path, data)


@contextmanager
def atomic_files() -> Iterator[Writer]:
    """Write several files all or nothing.

    Yields ``write(path, data) -> path``: each call checks ``path`` and writes ``data`` to a
    temporary file; when the block ends without error the temporaries are renamed into place,
    each announced as ``IzzyViz: saved <path>``.
    On any error every temporary is removed and no destination has changed (unless a rename
    itself fails part way, which keeps the files renamed before it).
    """
    temps: list[tuple[Path, Path]] = []  # (temporary, destination), in the order written
    announced: list[Path] = []  # the paths as given, printed once each is in place
    locks: dict[Path, int | None] = {}  # folder -> descriptor holding its shared lock

    def write(path: str | os.PathLike[str], data: bytes) -> Path:
        given = Path(path)
        destination, mode = _destination(given)
        folder = destination.parent
        if folder not in locks:
            _remove_abandoned(folder)
            locks[folder] = _share(folder)
        temp = _create_temp(destination, given)
        temps.append((temp, destination))
        announced.append(given)
        with os.fdopen(os.open(temp, os.O_WRONLY | _BINARY), "wb") as handle:
            handle.write(data)
        if mode is not None:
            os.chmod(temp, mode)
        return given

    try:
        yield write
        while temps:
            os.replace(*temps[0])
            temps.pop(0)
            LOGGER.info("%s%s", SAVED_PREFIX, announced.pop(0))
    finally:
        for temp, _ in temps:
            with suppress(FileNotFoundError):
                temp.unlink()
        for fd in locks.values():
            if fd is not None:
                os.close(fd)


def _error(kind: type[OSError], code: int, message: str, given: Path, real: Path) -> OSError:
    """An error naming the path given and, when it is a link, the file it leads to."""
    if real == given.absolute():
        return kind(code, f"path: {message}", str(given))
    return kind(code, f"path: {message}", str(given), None, str(real))


def _destination(given: Path) -> tuple[Path, int | None]:
    """The file to replace (symbolic links followed) and its permission bits (None if new)."""
    real = Path(os.path.realpath(given))
    if real.is_symlink():  # realpath stops where links loop
        raise _error(OSError, errno.ELOOP, "symbolic links loop; no file to write", given, real)
    if not real.parent.is_dir():
        raise FileNotFoundError(
            f"path: folder {str(real.parent)!r} does not exist (for {str(given)!r})"
        )
    try:
        info = os.stat(real)
    except FileNotFoundError:
        return real, None
    if stat.S_ISDIR(info.st_mode):
        raise _error(IsADirectoryError, errno.EISDIR, "a folder is in the way", given, real)
    if not stat.S_ISREG(info.st_mode):
        raise _error(OSError, errno.EINVAL, "not a regular file; write fig.render(...) to it "
                     "yourself", given, real)  # fmt: skip
    mode = stat.S_IMODE(info.st_mode)
    if not mode & 0o222 or not os.access(real, os.W_OK):
        raise _error(PermissionError, errno.EACCES, "the file is read-only; make it writable "
                     "or save under another name", given, real)  # fmt: skip
    return real, mode


def _create_temp(destination: Path, given: Path) -> Path:
    """A new, empty temporary file next to ``destination``, with the umask's default mode."""
    folder = destination.parent
    while True:
        temp = folder / f".izzyviz-{secrets.token_hex(4)}.tmp"
        try:
            os.close(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _BINARY, 0o666))
            return temp
        except FileExistsError:
            continue
        except PermissionError as exc:
            message = f"cannot create files in folder {str(folder)!r}"
            raise _error(PermissionError, errno.EACCES, message, given, destination) from exc


def _share(folder: Path) -> int | None:
    """Hold a shared lock on ``folder`` while our temporaries are in it: clean-up (which needs
    the exclusive lock) then leaves them alone. None where folders cannot be locked."""
    if fcntl is None:
        return None
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
    except OSError:
        os.close(fd)
        return None
    return fd


_BINARY = getattr(os, "O_BINARY", 0)
# Folders this process has cleaned: scanning costs about 5 ms per 1,000 entries, so once is enough.
_cleaned: set[Path] = set()


def _remove_abandoned(folder: Path) -> None:
    """Remove our temporaries from ``folder`` if no save is writing there (nobody shares the
    folder's lock): they are what a writer that died left. Once per folder and process."""
    if fcntl is None or folder in _cleaned:
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # fails while a save writes there
        for entry in os.scandir(folder):
            if TEMP_NAME.fullmatch(entry.name) and entry.is_file(follow_symlinks=False):
                with suppress(FileNotFoundError):
                    os.unlink(entry.path)
        _cleaned.add(folder)
    except OSError:
        pass  # busy, or no locks here: try again at the next save
    finally:
        os.close(fd)
