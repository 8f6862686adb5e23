"""The files :class:`~izzyviz.headstats.HeadStatistics` saves: ``.npz`` and ``.json``.

:func:`encode` writes the fields of a result (a JSON header of counts, plus ``mean`` and ``std``
arrays per measure and the ``offsets`` array) in either format; floats round-trip exactly.
:func:`read` reads them back for :meth:`~izzyviz.headstats.HeadStatistics.load`, which checks
the values themselves. Before anything a file asks for is allocated, the format version is
compared, and every ``.npz`` member's dtype and shape is checked against the bytes the member
holds, so a damaged or crafted file is refused, never half read.
"""

from __future__ import annotations

import io
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["FORMAT", "FORMAT_VERSION", "NewerFormatError", "encode", "read"]

FORMAT = "izzyviz.HeadStatistics"
FORMAT_VERSION = 1
"""The version :func:`encode` writes; :func:`read` reads this version only."""

ARRAYS = ("mean", "std", "offsets")
# Deflate expands at most ~1032-fold: a member declaring more bytes than that is crafted.
_MAX_EXPANSION = 1032
_MAX_HEADER = 1 << 16  # characters of the .npz's JSON header


class NewerFormatError(ValueError):
    """The file was written by a newer IzzyViz, in a format version this one cannot read."""


def encode(fields: dict[str, Any], suffix: str) -> bytes:
    """The bytes of a ``.json`` or ``.npz`` file holding ``fields``: what
    :meth:`~izzyviz.headstats.HeadStatistics.to_dict` returns, with ``mean`` and ``std`` as
    ``{measure: array}`` and ``offsets`` as an array."""
    header = {key: value for key, value in fields.items() if key not in ARRAYS}
    if suffix == ".json":
        plain = {
            "mean": {n: np.asarray(v).tolist() for n, v in fields["mean"].items()},
            "std": {n: np.asarray(v).tolist() for n, v in fields["std"].items()},
            "offsets": np.asarray(fields["offsets"]).tolist(),
        }
        return json.dumps(header | plain).encode("utf-8")
    arrays: dict[str, Any] = {"header": np.array(json.dumps(header)), "offsets": fields["offsets"]}
    arrays |= {f"mean:{n}": v for n, v in fields["mean"].items()}
    arrays |= {f"std:{n}": v for n, v in fields["std"].items()}
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def read(path: Path) -> dict[str, Any]:
    """The fields of a ``.npz`` or ``.json`` file written by :func:`encode`, in the form
    :func:`encode` takes them, their values not yet checked.

    Raises
    ------
    NewerFormatError
        The file's format version is newer than :data:`FORMAT_VERSION`.
    ValueError
        Anything else wrong with the file: the reason, without the file's name.
    """
    if path.suffix.lower() == ".npz":
        return _read_npz(path)
    data = json.loads(path.read_text(encoding="utf-8"))
    _check_header(data)
    return dict(data)


def _check_header(header: Any) -> None:
    """Refuse a header that is not this format or of another version."""
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ValueError("not written by HeadStatistics.save")
    version = header.get("version")
    if isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION:
        raise NewerFormatError(
            f"was written by a newer IzzyViz (HeadStatistics format version {version}; this "
            f"IzzyViz reads version {FORMAT_VERSION}): upgrade IzzyViz (pip install -U "
            "izzyviz) to read it"
        )
    if version != FORMAT_VERSION or isinstance(version, bool):
        raise ValueError(f"version: expected {FORMAT_VERSION}, got {version!r}")


def _read_npz(path: Path) -> dict[str, Any]:
    """The fields of a ``.npz``: every member's header checked first, then the arrays read."""
    import zipfile

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
