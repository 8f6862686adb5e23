"""Local transformers model folders: checked, read and loaded offline, and texts cut to fit.

:func:`check_model_folder` refuses a folder that lacks a config, weights or tokenizer files,
naming what is missing, before torch or transformers is imported; :func:`folder_shape` reads the
layer, head and position counts from ``config.json`` without loading anything. The loaders
(:func:`load_tokenizer`, :func:`load_model`, :func:`load_pretrained`) run offline and turn every
failure into one ``OSError`` naming the folder. :func:`cut_lengths` finds the texts a tokenizer
cut at ``max_length``. The command line and :func:`izzyviz.head_statistics` share all of these,
so they refuse the same folders with the same words.

torch and transformers are imported only when a loader runs.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "MODEL_FILES",
    "FolderShape",
    "check_model_folder",
    "cut_lengths",
    "folder_shape",
    "load_model",
    "load_pretrained",
    "load_tokenizer",
    "model_positions",
]

# What a transformers model folder holds (as save_pretrained writes it): any one file of each.
MODEL_FILES = {
    "config.json": ("config.json",),
    "model weights (model.safetensors or pytorch_model.bin)": (
        "model.safetensors",
        "model.safetensors.index.json",
        "pytorch_model.bin",
        "pytorch_model.bin.index.json",
    ),
    "tokenizer files (tokenizer.json, vocab.txt, vocab.json, spiece.model or tokenizer.model)": (
        "tokenizer.json",
        "vocab.txt",
        "vocab.json",
        "spiece.model",
        "sentencepiece.bpe.model",
        "tokenizer.model",
    ),
}
# config.json keys that hold the layer, head and position counts, by model family.
_LAYER_KEYS = ("num_hidden_layers", "n_layer", "num_layers")
_HEAD_KEYS = ("num_attention_heads", "n_head", "num_heads")
_POSITION_KEYS = ("max_position_embeddings", "n_positions")


def check_model_folder(folder: str | os.PathLike[str], name: str = "model") -> Path:
    """Refuse a folder that is missing or lacks a config, weights or tokenizer files, naming
    what it lacks (before torch and transformers are imported); ``name`` is what errors call
    it. Returns the folder as a Path.

    Raises
    ------
    FileNotFoundError
        The folder is missing, or lacks one of :data:`MODEL_FILES`.
    """
    path = Path(folder)
    if not path.is_dir():
        raise FileNotFoundError(f"{name}: {str(path)!r} is not a folder")
    missing = [
        what for what, names in MODEL_FILES.items() if not any((path / n).is_file() for n in names)
    ]
    if missing:
        raise FileNotFoundError(
            f"{name}: {str(path)!r} is not a transformers model folder: it lacks "
            f"{'; '.join(missing)}. Give a folder written by save_pretrained (model and tokenizer)"
        )
    return path


@dataclass(frozen=True)
class FolderShape:
    """What ``config.json`` says of a model: layers, attention heads per layer and positions
    (each None when the config does not say)."""

    layers: int | None
    heads: int | None
    positions: int | None


def _first_int(config: Mapping[str, Any], keys: Sequence[str]) -> int | None:
    for key in keys:
        value = config.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


def folder_shape(folder: str | os.PathLike[str]) -> FolderShape:
    """Layers, heads and positions of the model in ``folder``, from its ``config.json`` (read
    as JSON: nothing is imported or loaded); counts the config does not hold are None."""
    try:
        config = json.loads((Path(folder) / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        config = None
    if not isinstance(config, dict):
        return FolderShape(None, None, None)
    return FolderShape(
        _first_int(config, _LAYER_KEYS),
        _first_int(config, _HEAD_KEYS),
        _first_int(config, _POSITION_KEYS),
    )


def model_positions(model: Any) -> int | None:
    """How many positions a loaded model has (``max_position_embeddings``, ``n_positions``),
    or None when its config names no limit (e.g. relative positions)."""
    config = getattr(model, "config", None)
    if config is None:
        return None
    return _first_int({k: getattr(config, k, None) for k in _POSITION_KEYS}, _POSITION_KEYS)


def _transformers() -> Any:
    """The transformers module, offline and quiet."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        import transformers
        from transformers.utils import logging as hf_logging
    except ImportError:
        raise OSError(
            "reading a model folder needs torch and transformers; install them "
            "(pip install 'izzyviz[transformers]')"
        ) from None
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    return transformers


def _cannot_load(exc: Exception, name: str, path: Path, what: str) -> OSError:
    reason = " ".join(str(exc).split()) or type(exc).__name__
    return OSError(f"{name}: cannot load a {what} from {str(path)!r}: {reason}")


def load_tokenizer(folder: str | os.PathLike[str], *, name: str = "model") -> Any:
    """The tokenizer of the model folder ``folder`` (checked with :func:`check_model_folder`),
    offline.

    Raises
    ------
    OSError
        The folder is not a model folder, or its tokenizer cannot be loaded.
    """
    path = check_model_folder(folder, name)
    transformers = _transformers()
    try:
        return transformers.AutoTokenizer.from_pretrained(path, local_files_only=True)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise _cannot_load(exc, name, path, "tokenizer") from None


def load_model(
    folder: str | os.PathLike[str],
    dtype: str | None = None,
    *,
    attn_implementation: str | None = "eager",
    name: str = "model",
) -> Any:
    """The model of the folder ``folder`` (checked with :func:`check_model_folder`), offline,
    in eval mode; ``dtype`` and ``attn_implementation`` as for :func:`load_pretrained`.

    Raises
    ------
    OSError
        The folder is not a model folder, or its model cannot be loaded.
    """
    path = check_model_folder(folder, name)
    transformers = _transformers()
    options: dict[str, Any] = {"local_files_only": True}
    if attn_implementation is not None:
        options["attn_implementation"] = attn_implementation
    if dtype is not None:
        options["dtype"] = dtype
    try:
        return transformers.AutoModel.from_pretrained(path, **options).eval()
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise _cannot_load(exc, name, path, "model") from None


def load_pretrained(
    folder: str | os.PathLike[str],
    dtype: str | None = None,
    *,
    attn_implementation: str | None = "eager",
    name: str = "model",
) -> tuple[Any, Any]:
    """``(model, tokenizer)`` from a local folder (offline), in eval mode.

    Parameters
    ----------
    folder
        A folder with ``config.json``, weights and tokenizer files (``save_pretrained``'s).
    dtype
        Load the weights as this torch dtype (e.g. ``"float64"``); default as saved.
    attn_implementation
        The attention implementation to load (eager by default: it returns its own weights);
        None for the model's default (SDPA), whose weights :func:`izzyviz.capture` records.
    name
        What errors call the folder (the argument or command-line operand it came from).

    Raises
    ------
    OSError
        The folder is missing, lacks model files (named), or holds no loadable model or
        tokenizer.
    """
    tokenizer = load_tokenizer(folder, name=name)
    model = load_model(folder, dtype, attn_implementation=attn_implementation, name=name)
    return model, tokenizer


def cut_lengths(
    tokenizer: Any, texts: Sequence[Any], lengths: Sequence[int], max_length: int | None
) -> dict[int, int]:
    """``{index: full length in tokens}`` of the texts the tokenizer cut to ``max_length``.

    ``lengths`` are the texts' lengths in tokens as tokenised with ``truncation=True,
    max_length=max_length`` (the attention mask's sums); ``texts`` holds strings, or
    ``(text, pair)`` tuples. Only the texts that reached ``max_length`` are tokenised again,
    whole.
    """
    cut = {}
    for index, length in enumerate(lengths):
        if max_length is not None and int(length) >= max_length:
            text = texts[index] if isinstance(texts[index], tuple) else (texts[index],)
            full = len(tokenizer(*text, truncation=False)["input_ids"])
            if full > max_length:
                cut[index] = full
    return cut
