"""The files :class:`~izzyviz.headstats.HeadStatistics` saves and loads: ``.npz`` and ``.json``.

:func:`save` writes a result's counts as a JSON header, with the ``mean`` and ``std`` arrays of
every measure and the ``offsets`` array; floats round-trip exactly. :func:`load` reads it back
through the result's own checks. Before anything a file asks for is allocated, its format
version is compared, and every ``.npz`` member's dtype and shape is checked against the bytes
the member holds, so a damaged or crafted file is one ``ValueError`` naming it, never half read.
Both are also methods of :class:`~izzyviz.headstats.HeadStatistics`.
"""

from __future__ import annotations

import io
import json
import math
import os
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

import numpy as np
from numpy.typing import NDArray

from izzyviz._io import write_atomic
from izzyviz._validate import describe

__all__ = ["FORMAT", "FORMAT_VERSION", "load", "save"]

FORMAT = "izzyviz.HeadStatistics"
FORMAT_VERSION = 1
"""The version :func:`save` writes; :func:`load` reads this version only."""

_ARRAYS = ("mean", "std", "offsets")
# Deflate expands at most ~1032-fold: a member declaring more bytes than that is crafted.
_MAX_EXPANSION = 1032
_MAX_HEADER = 1 << 16  # characters of the .npz's JSON header


# How a damaged or crafted file fails to be read: zip, zlib, numpy, json and our own checks.
_DAMAGED = (
    OSError, ValueError, KeyError, TypeError, EOFError, RecursionError, OverflowError,
    NotImplementedError, zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error,
)  # fmt: skip


class Saved(Protocol):
    """What :func:`save` reads of a :class:`~izzyviz.headstats.HeadStatistics`."""

    mean: dict[str, NDArray[np.float64]]
    std: dict[str, NDArray[np.float64]]
    offsets: NDArray[np.float64]

    def to_dict(self) -> dict[str, Any]: ...


Loaded = TypeVar("Loaded")


class _NewerFormatError(ValueError):
    """The file was written by a newer IzzyViz, in a format version this one cannot read."""


def save(stats: Saved, path: str | os.PathLike[str]) -> Path:
    """Write to ``path``: ``.npz`` (numpy arrays) or ``.json`` (readable anywhere); floats
    round-trip exactly in both. Written atomically."""
    suffix = _path(path).suffix.lower()
    if suffix not in (".npz", ".json"):
        raise ValueError(f"path: expected a .npz or .json file, got {str(path)!r}")
    fields = stats.to_dict()
    if suffix == ".json":
        return write_atomic(path, json.dumps(fields).encode("utf-8"))
    header = {key: value for key, value in fields.items() if key not in _ARRAYS}
    arrays: dict[str, Any] = {"header": np.array(json.dumps(header)), "offsets": stats.offsets}
    arrays |= {f"mean:{n}": v for n, v in stats.mean.items()}
    arrays |= {f"std:{n}": v for n, v in stats.std.items()}
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return write_atomic(path, buffer.getvalue())


def load(cls: Callable[..., Loaded], path: str | os.PathLike[str]) -> Loaded:
    """Read statistics written by :meth:`save` (``.npz`` or ``.json``).

    Raises
    ------
    FileNotFoundError
        There is no such file.
    ValueError
        Anything else: the file is not one :meth:`save` wrote (damaged, of another format, or
        crafted), or was written by a newer IzzyViz (the message says to upgrade). The format
        version, every count and every array's shape and size are checked before anything the
        file asks for is allocated.
    """
    target = _path(path)
    try:
        fields = _read_npz(target) if target.suffix.lower() == ".npz" else _read_json(target)
        return cls(
            fields["mean"],
            fields["std"],
            fields["offsets"],
            fields["count"],
            fields["texts"],
            fields.get("skipped", 0),
            fields.get("source", ""),
        )
    except FileNotFoundError:
        raise FileNotFoundError(f"path: no file {str(target)!r}") from None
    except _NewerFormatError as exc:
        raise ValueError(f"path: {str(target)!r} {exc}") from None
    except _DAMAGED as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise ValueError(
            f"path: {str(target)!r} is not a saved HeadStatistics file ({reason})"
        ) from None


def _path(path: Any) -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path: expected a .npz or .json file path, got {describe(path)}")
    return Path(path)


def _read_json(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text(encoding="utf-8"))
    _check_header(data)
    return dict(data)


def _check_header(header: Any) -> None:
    """Refuse a header that is not this format or of another version."""
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ValueError("not written by HeadStatistics.save")
    version = header.get("version")
    if isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION:
        raise _NewerFormatError(
            f"was written by a newer IzzyViz (HeadStatistics format version {version}; this "
            f"IzzyViz reads version {FORMAT_VERSION}): upgrade IzzyViz (pip install -U "
            "izzyviz) to read it"
        )
    if version != FORMAT_VERSION or isinstance(version, bool):
        raise ValueError(f"version: expected {FORMAT_VERSION}, got {version!r}")


def _read_npz(path: Path) -> dict[str, Any]:
    """The fields of a ``.npz``: every member's header checked first, then the arrays read."""
    with zipfile.ZipFile(path) as archive:
        members = {info.filename.removesuffix(".npy"): info for info in archive.infolist()}
        if "header" not in members or "offsets" not in members:
            raise ValueError("no 'header' or 'offsets' array")
        wanted = {
            name: info
            for name, info in members.items()
            if name in ("header", "offsets") or name.partition(":")[0] in ("mean", "std")
        }
        layouts = {name: _member_layout(archive, info) for name, info in wanted.items()}
        _check_layouts(layouts)
        arrays = {name: _read_member(archive, info) for name, info in wanted.items()}
    header = json.loads(str(arrays.pop("header")))
    _check_header(header)
    fields: dict[str, Any] = dict(header)
    fields["offsets"] = arrays.pop("offsets")
    for name, array in arrays.items():
        kind, _, measure = name.partition(":")
        fields.setdefault(kind, {})[measure] = array
    return fields


def _member_layout(archive: Any, info: Any) -> tuple[np.dtype[Any], tuple[int, ...]]:
    """The dtype and shape an ``.npz`` member declares, checked against the bytes it holds."""
    name = info.filename
    with archive.open(info) as file:
        version = np.lib.format.read_magic(file)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(file)
        elif version == (2, 0):
            shape, _, dtype = np.lib.format.read_array_header_2_0(file)
        else:
            raise ValueError(f"{name}: unknown .npy format version {version}")
        data = info.file_size - file.tell()
    if dtype.hasobject or dtype.kind not in "iufU":
        raise ValueError(f"{name}: expected numbers, got dtype {dtype}")
    declared = math.prod(shape) * dtype.itemsize
    if declared != data or info.file_size > _MAX_EXPANSION * info.compress_size + 1024:
        raise ValueError(
            f"{name}: its header declares shape {shape} of {dtype} ({declared:,} bytes), "
            f"but it holds {data:,} bytes"
        )
    return dtype, tuple(shape)


def _check_layouts(layouts: dict[str, tuple[np.dtype[Any], tuple[int, ...]]]) -> None:
    """The members a result is made of, with the shapes it needs: one short header string,
    ``(layers, heads)`` means and standard deviations, ``(layers, heads, k)`` offsets."""
    dtype, shape = layouts["header"]
    if dtype.kind != "U" or shape != () or dtype.itemsize > 4 * _MAX_HEADER:
        raise ValueError(f"header: expected a short string, got {shape} of {dtype}")
    grids = {name: shape for name, (_, shape) in layouts.items() if ":" in name}
    offsets = layouts["offsets"][1]
    if len(offsets) != 3 or any(shape != offsets[:2] for shape in grids.values()):
        raise ValueError(
            f"offsets, mean, std: expected (layers, heads, k) offsets and (layers, heads) "
            f"means, got offsets {offsets} and {grids}"
        )


def _read_member(archive: Any, info: Any) -> NDArray[Any]:
    with archive.open(info) as file:
        array: NDArray[Any] = np.lib.format.read_array(file, allow_pickle=False)
    return array
