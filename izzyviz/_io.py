"""Atomic file writes: a failed render leaves nothing behind and never clobbers a file.

Every file IzzyViz writes goes through :func:`write_atomic`, which is also the one place that
announces it: one line ``IzzyViz: saved <path>`` on standard output per file written.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["SAVED_PREFIX", "write_atomic"]

SAVED_PREFIX = "IzzyViz: saved "


def write_atomic(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder, then rename,
    and print ``IzzyViz: saved <path>``.

    Either the whole file appears (replacing any old one) or, on any error, nothing changes
    and nothing is printed.
    """
    target = Path(path)
    folder = target.parent
    if not folder.is_dir():
        raise FileNotFoundError(
            f"path: folder {str(folder)!r} does not exist (for {str(target)!r})"
        )
    fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(temp, 0o666 & ~_umask())
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    print(f"{SAVED_PREFIX}{target}")
    return target


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
