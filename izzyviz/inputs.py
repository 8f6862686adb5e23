"""Attention inputs as they really come out of models, and readable token labels.

``select_attention`` and ``stack_attentions`` accept every common form of attention weights:

* the tuple ``transformers`` returns with ``output_attentions=True`` (one ``(batch, heads, q, k)``
  tensor per layer), or a list of such tensors or numpy arrays;
* a list of per-layer ``(heads, q, k)`` arrays (no batch axis);
* a stacked array ``(layers, batch, heads, q, k)``, or ``(layers, heads, q, k)`` (no batch axis);
* torch tensors on any device and of any dtype (bfloat16 and float16 included).

``display_tokens`` turns byte-level BPE and SentencePiece tokens into readable labels, and
``load_sample`` loads the attention maps bundled with the package (no torch needed).

Nothing here imports torch or transformers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np
from numpy.typing import NDArray

from izzyviz._validate import check_bool, check_index, describe, label_text
from izzyviz.source import Matrix, as_float_array, as_source, to_numpy
from izzyviz.text import CONTROL_PICTURES

__all__ = [
    "SAMPLE_NAMES",
    "SampleAttention",
    "display_token",
    "display_tokens",
    "load_sample",
    "select_attention",
    "stack_attentions",
]

EAGER_HINT = (
    "the model probably ran with SDPA or flash attention, which return no attention weights "
    '(transformers >= 5 then returns an empty tuple); load it with attn_implementation="eager", '
    'e.g. AutoModel.from_pretrained(name, attn_implementation="eager"), and call it with '
    "output_attentions=True"
)


# --------------------------------------------------------------------------------------------
# Attention tensors
# --------------------------------------------------------------------------------------------


def _shape(value: Any) -> tuple[int, ...]:
    """Shape of an array or tensor without converting it (nested lists are converted)."""
    shape = getattr(value, "shape", None)
    if shape is None or not hasattr(value, "ndim"):
        return np.shape(to_numpy(value, "attentions"))
    return tuple(int(n) for n in shape)


def _layers(attentions: Any, name: str) -> tuple[Any, int, bool]:
    """Return ``(container, n_layers, stacked)`` for any accepted form of ``attentions``.

    ``container[i]`` is layer ``i`` (a tensor or array, not yet converted). ``stacked`` is True
    when ``attentions`` is one 4-D or 5-D array rather than a sequence of per-layer arrays.
    """
    if attentions is None:
        raise ValueError(f"{name}: got None; {EAGER_HINT}")
    # A whole model output (BaseModelOutput, ...) instead of its ``.attentions`` field.
    if not isinstance(attentions, (tuple, list)) and not hasattr(attentions, "shape"):
        if hasattr(attentions, "attentions"):
            return _layers(attentions.attentions, f"{name}.attentions")
    if isinstance(attentions, str):
        raise TypeError(f"{name}: expected attention weights, got {describe(attentions)}")
    if isinstance(attentions, (tuple, list)):
        if len(attentions) == 0:
            raise ValueError(f"{name}: got an empty {type(attentions).__name__}; {EAGER_HINT}")
        return attentions, len(attentions), False
    shape = _shape(attentions)
    if len(shape) not in (4, 5):
        raise ValueError(
            f"{name}: expected a tuple or list of per-layer arrays, or a stacked 5-D array "
            f"(layers, batch, heads, q, k) or 4-D array (layers, heads, q, k), "
            f"got {describe(attentions)}"
        )
    if shape[0] == 0:
        raise ValueError(f"{name}: got {describe(attentions)} with no layers; {EAGER_HINT}")
    return attentions, shape[0], True


def _batch_item(layer: Any, shape: tuple[int, ...], batch_index: Any, name: str) -> tuple[Any, int]:
    """Select ``batch_index`` from one layer of shape ``(batch, heads, q, k)`` or
    ``(heads, q, k)`` (no batch axis: only batch_index 0 or -1 is valid).

    Returns the selected ``(heads, q, k)`` item and the resolved batch index.
    """
    if len(shape) not in (3, 4):
        raise ValueError(
            f"{name}: expected a 4-D (batch, heads, q, k) or 3-D (heads, q, k) array per layer, "
            f"got {describe(layer)}"
        )
    batch = shape[0] if len(shape) == 4 else 1
    index = check_index(batch_index, "batch_index", batch, "batch items")
    return (layer[index] if len(shape) == 4 else layer), index


def select_attention(
    attentions: Any, layer: int, head: int, *, batch_index: int = 0
) -> NDArray[np.float64]:
    """Return the attention matrix of one layer and head as a float64 ``(q, k)`` array.

    Parameters
    ----------
    attentions
        Attention weights in any form listed in the module docstring, e.g. ``outputs.attentions``
        of a transformers model run with ``output_attentions=True``. A model output object with
        an ``attentions`` field is accepted too, and so is one 2-D ``(q, k)`` map (then
        ``layer`` and ``head`` must be 0 or -1).
    layer, head
        Layer and head index; negative values count from the end.
    batch_index
        Which item of the batch to show. Inputs without a batch axis count as a batch of one.

    Returns
    -------
    numpy.ndarray
        ``(q, k)`` float64 array: row ``i`` is how much query token ``i`` attends to each key.

    Raises
    ------
    ValueError
        If ``attentions`` is None or empty (the model did not run with eager attention), has the
        wrong number of dimensions, or contains NaN or infinite values.
    IndexError
        If ``layer``, ``head`` or ``batch_index`` is out of range.

    Notes
    -----
    Only the selected matrix is converted to numpy, so picking one head of a large model on a
    GPU copies ``q * k`` numbers, not the whole stack.
    """
    return _select(attentions, layer, head, batch_index, "attentions")


def _select(
    attentions: Any, layer: Any, head: Any, batch_index: Any, name: str
) -> NDArray[np.float64]:
    """:func:`select_attention` with ``name`` used for ``attentions`` in error messages."""
    return as_float_array(*_pick(attentions, layer, head, batch_index, name), 2)


def select_source(
    attentions: Any, layer: Any, head: Any, batch_index: Any = 0, name: str = "attentions"
) -> tuple[Matrix, str]:
    """The matrix :func:`select_attention` selects, as it is (a float16 capture stays float16;
    see :func:`izzyviz.source.as_source`; its values are checked block by block when read),
    and the name that errors about it use."""
    item, item_name = _pick(attentions, layer, head, batch_index, name)
    return as_source(item, item_name), item_name


def _pick(attentions: Any, layer: Any, head: Any, batch_index: Any, name: str) -> tuple[Any, str]:
    """The ``(q, k)`` item of ``attentions`` at ``layer``, ``head``, ``batch_index``, not yet
    converted, and the name that errors about it use."""
    if hasattr(attentions, "shape") and len(_shape(attentions)) == 2:
        # One (q, k) map, e.g. from decoder_self_attention_from_generate: layer 0, head 0.
        check_index(layer, "layer", 1, "layers (a single 2-D map was given)")
        check_index(head, "head", 1, "heads (a single 2-D map was given)")
        check_index(batch_index, "batch_index", 1, "batch items")
        return attentions, name
    container, n_layers, stacked = _layers(attentions, name)
    li = check_index(layer, "layer", n_layers, "layers")
    per_layer = container[li]
    shape = _shape(container)[1:] if stacked else _shape(per_layer)
    item, bi = _batch_item(per_layer, shape, batch_index, name if stacked else f"{name}[{li}]")
    hi = check_index(head, "head", _shape(item)[0], "heads")
    return item[hi], f"{name} (layer {li}, head {hi}, batch_index {bi})"


def layer_head_counts(attentions: Any) -> tuple[int, int]:
    """``(layers, heads)`` of ``attentions`` in any form :func:`select_attention` accepts (a
    single 2-D map counts as one layer with one head), without converting the weights."""
    if hasattr(attentions, "shape") and len(_shape(attentions)) == 2:
        return 1, 1
    container, n_layers, stacked = _layers(attentions, "attentions")
    shape = _shape(container)[1:] if stacked else _shape(container[0])
    if len(shape) not in (3, 4):
        raise ValueError(
            "attentions: expected a 4-D (batch, heads, q, k) or 3-D (heads, q, k) array per "
            f"layer, got shape {shape}"
        )
    return n_layers, shape[-3]


def stack_attentions(attentions: Any, *, batch_index: int = 0) -> NDArray[np.float64]:
    """Return all layers and heads of one batch item as a float64 ``(layers, heads, q, k)`` array.

    Accepts the same inputs and raises the same errors as :func:`select_attention`; in addition
    every layer must have the same ``(heads, q, k)`` shape.
    """
    container, n_layers, stacked = _layers(attentions, "attentions")
    if stacked:
        shape = _shape(container)
        if len(shape) == 5:
            index = check_index(batch_index, "batch_index", shape[1], "batch items")
            container = container[:, index]
        else:
            check_index(batch_index, "batch_index", 1, "batch items")
        return as_float_array(container, "attentions", 4)
    layers: list[NDArray[np.float64]] = []
    for li in range(n_layers):
        per_layer = container[li]
        item, _ = _batch_item(per_layer, _shape(per_layer), batch_index, f"attentions[{li}]")
        array = as_float_array(item, f"attentions[{li}]", 3)
        if layers and array.shape != layers[0].shape:
            raise ValueError(
                f"attentions[{li}]: expected (heads, q, k) = {layers[0].shape} like layer 0, "
                f"got {array.shape}"
            )
        layers.append(array)
    return np.stack(layers)


# --------------------------------------------------------------------------------------------
# Token labels
# --------------------------------------------------------------------------------------------

#: Shown for the space markers of byte-level BPE (``Ġ``) and SentencePiece (``▁``).
SPACE_MARK = "\u2581"  # ▁
#: Shown for an empty token.
EMPTY_MARK = "\u2205"  # ∅

# Byte-level BPE (GPT-2, RoBERTa, Llama 3, ...) maps bytes to printable characters: space -> Ġ,
# newline -> Ċ, tab -> ĉ. Raw newline and tab get the same arrows so decoded and byte-level
# tokens look alike; the other raw control characters become Unicode control pictures
# (C0 -> U+2400 + code, DEL -> ␡) or ``\x..`` text (C1), never raw.
_TRANSLATION: dict[int, str] = {
    0x0120: SPACE_MARK,  # Ġ
    0x2581: SPACE_MARK,  # ▁
    0x010A: "\u21b5",  # Ċ -> ↵
    0x0109: "\u21e5",  # ĉ -> ⇥
    **CONTROL_PICTURES,
}


def display_token(token: str) -> str:
    """Return a readable label for one token.

    * ``Ġ`` (byte-level BPE space) and ``▁`` (SentencePiece space) become ``▁``;
    * ``Ċ`` and raw ``\\n`` become ``↵``; ``ĉ`` and raw ``\\t`` become ``⇥``;
    * other raw C0 control characters become control pictures (``\\x00`` -> ``␀``, ``\\r`` ->
      ``␍``), DEL becomes ``␡`` and C1 controls become the text ``\\x80`` ... ``\\x9f``;
    * the empty token becomes ``∅``;
    * everything else, including the other byte-level characters such as ``č`` (byte 0x0D),
      is kept as it is.

    Examples
    --------
    >>> display_token("Ġfox"), display_token("▁fox"), display_token("Ċ")
    ('▁fox', '▁fox', '↵')
    """
    if not isinstance(token, str):
        raise TypeError(f"token: expected a string, got {describe(token)}")
    if token == "":
        return EMPTY_MARK
    return token.translate(_TRANSLATION)


def display_tokens(tokens: Sequence[str] | NDArray[Any], raw: bool = False) -> list[str]:
    """Return readable labels for ``tokens`` (see :func:`display_token`).

    Parameters
    ----------
    tokens
        A sequence (or 1-D numpy array) of token strings, e.g. from
        ``tokenizer.convert_ids_to_tokens(ids)``. ``bytes`` tokens are decoded as UTF-8 with
        invalid bytes shown as ``\\x..``; None is refused (see
        :func:`izzyviz._validate.label_text`).
    raw
        If True, return the tokens unchanged (as ``str``).
    """
    if isinstance(tokens, (str, bytes)) or not isinstance(tokens, (Sequence, np.ndarray)):
        raise TypeError(f"tokens: expected a sequence of strings, got {describe(tokens)}")
    if isinstance(tokens, np.ndarray) and tokens.ndim != 1:
        raise ValueError(f"tokens: expected a 1-D array of strings, got {describe(tokens)}")
    texts = [label_text(t, "tokens", k) for k, t in enumerate(tokens)]
    return texts if check_bool(raw, "raw") else [display_token(t) for t in texts]


# --------------------------------------------------------------------------------------------
# Bundled sample attention
# --------------------------------------------------------------------------------------------

#: Names accepted by :func:`load_sample`.
SAMPLE_NAMES = ("quick_start", "self_attention", "question_context")
SAMPLE_FILE = "sample_attention.npz"


@dataclass(frozen=True)
class SampleAttention:
    """Attention of all-MiniLM-L6-v2 on one example sentence, bundled with IzzyViz.

    Attributes
    ----------
    name
        Sample name, one of :data:`SAMPLE_NAMES`.
    text
        The input text (question and context separated by ``" | "`` for ``question_context``).
    tokens
        WordPiece tokens, including ``[CLS]`` and ``[SEP]``.
    attentions
        float32 array of shape ``(layers, heads, q, q)`` = ``(6, 12, len(tokens), len(tokens))``.
        Stored as float16 and renormalised on loading so every row sums to 1.
    question_end
        For question/context pairs, the number of tokens of the first segment (``[CLS]``, the
        question and its ``[SEP]``); None otherwise.
    """

    name: str
    text: str
    tokens: list[str]
    attentions: NDArray[np.float32]
    question_end: int | None


def load_sample(name: str = "quick_start") -> SampleAttention:
    """Load one of the bundled attention samples (works without torch).

    Parameters
    ----------
    name
        One of ``"quick_start"`` ("The quick brown fox jumps over the lazy dog."),
        ``"self_attention"`` ("Deep learning models are revolutionizing AI.") or
        ``"question_context"`` (a question and a context paragraph about Paris).

    Examples
    --------
    >>> sample = load_sample("quick_start")
    >>> matrix = sample.attentions[-1, 0]  # last layer, head 0
    """
    if name not in SAMPLE_NAMES:
        raise ValueError(f"name: unknown sample {name!r}; expected one of {SAMPLE_NAMES}")
    with (resources.files("izzyviz.data") / SAMPLE_FILE).open("rb") as handle:
        with np.load(handle) as data:
            question_end = int(data[f"{name}.question_end"])
            attentions = data[f"{name}.attentions"].astype(np.float32)
            return SampleAttention(
                name=name,
                text=str(data[f"{name}.text"]),
                tokens=[str(t) for t in data[f"{name}.tokens"]],
                attentions=attentions / attentions.sum(axis=-1, keepdims=True),
                question_end=question_end if question_end >= 0 else None,
            )
