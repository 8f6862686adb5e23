"""What ``izzyviz render`` reads: token files, and attention files opened in place.

:func:`open_attention` opens a file without reading its weights; indexing the result reads
only what is indexed, so drawing one head of a 4-D or 5-D file reads that head alone:

* ``.npy`` is memory-mapped (``np.load(mmap_mode="r")``): the matrix drawn reaches the
  engine as a ``numpy.memmap``, read block by block;
* ``.safetensors`` is opened lazily (safetensors' ``get_slice``): a head is read when it is
  selected, and nothing else;
* ``.pt``/``.pth`` is loaded with ``torch.load(mmap=True, weights_only=True)`` when ``torch.save``
  wrote it in its (default) zip format, so its tensors are mapped, not read; older files are
  read whole;
* ``.npz`` is zipped and cannot be mapped: only the selected array is read, whole.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from izzyviz.cli.common import UsageError, read_utf8

__all__ = ["IN_PLACE", "StoredTensor", "load_attention", "open_attention", "read_tokens"]

#: What ``izzyviz render --help`` says about reading files in place.
IN_PLACE = (
    ".npy files are memory-mapped and .safetensors files opened lazily, so only the head "
    "drawn is read; .pt files are memory-mapped when torch.save wrote them in its default zip "
    "format; .npz files are zipped, so the selected array is read whole."
)


def read_tokens(path: str | os.PathLike[str], flag: str = "--tokens") -> list[str]:
    """Tokens from a text file: a JSON list of strings, or one token per line (line ends
    removed, nothing else); ``flag`` is what errors call the file."""
    name, text = str(path), read_utf8(path, flag)
    # A JSON list of strings if the whole file is one; otherwise one token per line (a first
    # token such as "[CLS]" also starts with a bracket).
    if text.lstrip().startswith("["):
        try:
            tokens = json.loads(text)
        except json.JSONDecodeError:
            tokens = None
        if isinstance(tokens, list) and all(isinstance(t, str) for t in tokens):
            if not tokens:
                raise ValueError(f"{flag}: {name!r} holds an empty list")
            return tokens
    lines = text.splitlines()
    if not lines:
        raise ValueError(f"{flag}: {name!r} is empty")
    return lines


class StoredTensor:
    """One tensor of a ``.safetensors`` file, read lazily: indexing with integers narrows it
    down without reading; once a 2-D matrix (or less) is selected, that slice alone is read
    and returned (a torch tensor, or a numpy array without torch). Any other index, and
    :meth:`read`, read what they select."""

    __slots__ = ("_index", "_slice", "shape")

    def __init__(self, tensor_slice: Any, shape: Sequence[int], index: tuple[int, ...] = ()):
        self._slice, self._index = tensor_slice, index
        self.shape: tuple[int, ...] = tuple(int(n) for n in shape)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key: Any) -> Any:
        import numpy as np

        if not isinstance(key, (int, np.integer)) or not self.shape:
            return self.read()[key]
        if not -self.shape[0] <= key < self.shape[0]:
            raise IndexError(f"index {key} is out of range for {self.shape[0]} items")
        narrowed = StoredTensor(self._slice, self.shape[1:], (*self._index, int(key) % len(self)))
        return narrowed.read() if narrowed.ndim <= 2 else narrowed

    def read(self) -> Any:
        """Everything selected so far, read from the file."""
        return self._slice[self._index] if self._index else self._slice[:]


def _pick_name(names: Sequence[str], key: str | None, path: Path, what: str) -> str:
    """The entry ``key`` names (default: the first), refused when missing."""
    if not names:
        raise ValueError(f"FILE: {str(path)!r} holds no {what}s")
    if key is None:
        return names[0]
    if key not in names:
        raise UsageError(
            f"--key: {str(path)!r} has no {what} {key!r}; it holds {', '.join(map(repr, names))}"
        )
    return key


def _open_npy(path: Path, key: str | None) -> Any:
    import numpy as np

    if key is not None:
        raise UsageError("--key: a .npy file holds one array; drop --key")
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError as exc:
        raise ValueError(f"FILE: cannot read {str(path)!r} as .npy ({exc})") from None


def _open_npz(path: Path, key: str | None) -> Any:
    import numpy as np

    with np.load(path, allow_pickle=False) as archive:
        return archive[_pick_name(archive.files, key, path, "array")]


def _torch_load(path: Path) -> Any:
    """``torch.load`` of ``path``, memory-mapped when the file allows it."""
    try:
        import torch
    except ImportError:
        raise OSError(
            f"FILE: reading {path.suffix} files needs torch; install it (pip install torch) or "
            "save the attention with numpy.save"
        ) from None
    try:
        import zipfile

        mapped = zipfile.is_zipfile(path)  # torch.save's default format; older ones are not
        return torch.load(path, map_location="cpu", weights_only=True, mmap=mapped)
    except Exception as exc:  # torch raises UnpicklingError, RuntimeError, ...
        raise ValueError(f"FILE: cannot read {str(path)!r} with torch.load ({exc})") from None


def _open_pt(path: Path, key: str | None) -> Any:
    value = _torch_load(path)
    if isinstance(value, dict):
        return value[_pick_name(list(value), key, path, "array")]
    if key is not None:
        raise UsageError(f"--key: {str(path)!r} holds a {type(value).__name__}, not a dict")
    return value


def _open_safetensors(path: Path, key: str | None) -> Any:
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
        handle = safe_open(str(path), framework=framework)
        name = _pick_name(sorted(handle.keys()), key, path, "tensor")
        tensor_slice = handle.get_slice(name)
        return StoredTensor(tensor_slice, tensor_slice.get_shape())
    except (ValueError, UsageError):
        raise
    except Exception as exc:  # SafetensorError is not a ValueError
        raise ValueError(f"FILE: cannot read {str(path)!r} as safetensors ({exc})") from None


_OPENERS = {
    ".npy": _open_npy,
    ".npz": _open_npz,
    ".pt": _open_pt,
    ".pth": _open_pt,
    ".safetensors": _open_safetensors,
}


def open_attention(path: str | os.PathLike[str], key: str | None = None) -> Any:
    """Attention weights saved as ``.npy``, ``.npz`` (the first array, or ``key``), ``.pt``
    (a tensor, a list/tuple of per-layer tensors, or a dict: the first entry, or ``key``) or
    ``.safetensors`` (the first tensor by name, or ``key``), opened in place (see the module
    notes): indexing the result reads what is indexed."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"FILE: {str(path)!r} does not exist or is not a file")
    opener = _OPENERS.get(path.suffix.lower())
    if opener is None:
        raise UsageError(
            f"FILE: cannot tell the format of {str(path)!r}; expected .npy, .npz, .pt or "
            ".safetensors"
        )
    return opener(path, key)


def load_attention(path: str | os.PathLike[str], key: str | None = None) -> Any:
    """The whole array :func:`open_attention` opens, read (a ``.safetensors`` tensor is read
    into memory; the other formats come back as :func:`open_attention` gives them)."""
    value = open_attention(path, key)
    return value.read() if isinstance(value, StoredTensor) else value
