"""Summaries of a model's attention: averages, attention rollout, word-level merging and
head ranking.

Every function taking ``attentions`` accepts what ``model(..., output_attentions=True)``
returns (a tuple of per-layer ``(batch, heads, q, k)`` tensors), a list of per-layer numpy
arrays (``(batch, heads, q, k)`` or ``(heads, q, k)``), or one stacked array of shape
``(layers, batch, heads, q, k)`` or ``(layers, heads, q, k)``. ``batch_index`` picks the
sequence when there is a batch axis.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import reduce
from typing import Any

import numpy as np
from numpy.typing import NDArray

from izzyviz._validate import (
    as_int,
    check_bool,
    check_choice,
    check_index,
    check_labels,
    check_optional_count,
    describe,
)
from izzyviz.inputs import stack_attentions
from izzyviz.source import as_float_array

__all__ = [
    "DEFAULT_SPECIAL_TOKENS",
    "aggregate",
    "attention_rollout",
    "head_scores",
    "merge_subwords",
    "rank_heads",
]

#: Tokens counted as "special" by ``head_scores(..., measure="special_tokens")`` by default.
DEFAULT_SPECIAL_TOKENS: frozenset[str] = frozenset(
    {
        "[CLS]",
        "[SEP]",
        "[PAD]",
        "[MASK]",
        "[UNK]",
        "<s>",
        "</s>",
        "<pad>",
        "<unk>",
        "<mask>",
        "<|endoftext|>",
    }
)

_OVER = ("heads", "layers", "both")
_HOW = ("mean", "max")
_MEASURES = ("entropy", "diagonal_distance", "special_tokens")
# Word-start markers: SentencePiece ("▁") and byte-level BPE ("Ġ").
_WORD_START = ("▁", "Ġ")
_CONTINUATION = "##"  # WordPiece


def _as_stack(attentions: Any, batch_index: Any) -> NDArray[np.float64]:
    """Return ``attentions`` as a float64 array of shape ``(layers, heads, q, k)``."""
    return stack_attentions(attentions, batch_index=batch_index)


def _check_nonnegative(stack: NDArray[np.float64], name: str) -> None:
    if (stack < 0).any():
        raise ValueError(f"{name}: expected non-negative attention weights, found {stack.min():g}")


def aggregate(
    attentions: Any, over: str = "heads", how: str = "mean", *, batch_index: int = 0
) -> NDArray[np.float64]:
    """Reduce attention over heads, layers or both.

    Parameters
    ----------
    attentions
        Per-layer attention (see the module docstring for accepted forms).
    over : {"heads", "layers", "both"}
        Axis to reduce: ``"heads"`` gives ``(layers, q, k)``, ``"layers"`` gives
        ``(heads, q, k)`` and ``"both"`` gives ``(q, k)``.
    how : {"mean", "max"}
        Reduction applied elementwise.
    batch_index : int
        Sequence to use when the input has a batch axis.

    Returns
    -------
    numpy.ndarray
        The reduced float64 array.
    """
    check_choice(over, _OVER, "over")
    check_choice(how, _HOW, "how")
    stack = _as_stack(attentions, batch_index)
    axes: dict[str, tuple[int, ...]] = {"heads": (1,), "layers": (0,), "both": (0, 1)}
    axis = axes[over]
    reduced = stack.mean(axis=axis) if how == "mean" else stack.max(axis=axis)
    return np.asarray(reduced, dtype=np.float64)


def _check_end_layer(value: Any, count: int) -> int:
    end = as_int(value, "end_layer", "an integer or None")
    if not -count <= end <= count:
        raise IndexError(
            f"end_layer: {end} is out of range for {count} layers "
            f"(expected {-count} to {count}; the end is exclusive)"
        )
    return end + count if end < 0 else end


def attention_rollout(
    attentions: Any,
    start_layer: int = 0,
    end_layer: int | None = None,
    *,
    batch_index: int = 0,
) -> NDArray[np.float64]:
    """Attention rollout (Abnar & Zuidema, 2020).

    For every layer ``l`` in ``range(layers)[start_layer:end_layer]`` the heads are averaged,
    ``A_l = mean_h attn[l, h]``, the residual connection is modelled as
    ``Â_l = (A_l + I) / 2`` and each row of ``Â_l`` is rescaled to sum to 1. The rollout is
    the product ``Â_last @ ... @ Â_first`` (later layers on the left), so row ``i`` says how
    much the output at position ``i`` of the last layer draws on each input position of the
    first layer.

    Parameters
    ----------
    attentions
        Per-layer self-attention with square ``q == k`` maps; weights must be non-negative.
    start_layer : int
        First layer included (negative counts from the end).
    end_layer : int or None
        Layer *after* the last one included, like a slice end: ``None`` runs through the
        last layer, ``-1`` stops before it. The range must contain at least one layer.
    batch_index : int
        Sequence to use when the input has a batch axis.

    Returns
    -------
    numpy.ndarray
        ``(q, q)`` float64 matrix whose rows sum to 1.
    """
    stack = _as_stack(attentions, batch_index)
    count, _, q, k = stack.shape
    if q != k:
        raise ValueError(
            f"attentions: rollout needs square self-attention (q == k), got q={q}, k={k}"
        )
    _check_nonnegative(stack, "attentions")
    start = check_index(start_layer, "start_layer", count, "layers")
    end = count if end_layer is None else _check_end_layer(end_layer, count)
    if end <= start:
        raise ValueError(
            f"end_layer: {end_layer!r} leaves no layers after start_layer={start_layer!r} "
            f"(layer {start}); expected an end after the start (the end is exclusive)"
        )
    mixed = 0.5 * (stack[start:end].mean(axis=1) + np.eye(q))
    mixed /= mixed.sum(axis=-1, keepdims=True)
    # Later layers multiply from the left: Â_{end-1} @ ... @ Â_start.
    return reduce(lambda acc, layer: layer @ acc, mixed[1:], mixed[0])


def _word_starts(word_ids: Any, count: int) -> tuple[NDArray[np.intp], list[Any]]:
    """Indices where a new word (or a special token) starts, and the ids as a list."""
    if isinstance(word_ids, str) or not isinstance(word_ids, Sequence | np.ndarray):
        raise TypeError(f"word_ids: expected a sequence of ints and None, got {describe(word_ids)}")
    ids = list(word_ids)
    if len(ids) != count:
        raise ValueError(f"word_ids: got {len(ids)} ids, but the matrix has {count} rows")
    for position, wid in enumerate(ids):
        if wid is not None and (isinstance(wid, bool) or not isinstance(wid, (int, np.integer))):
            raise TypeError(
                f"word_ids: expected ints or None, got {describe(wid)} at position {position}"
            )
    starts = [i for i, wid in enumerate(ids) if i == 0 or wid is None or wid != ids[i - 1]]
    return np.asarray(starts, dtype=np.intp), ids


def _join_pieces(pieces: list[str]) -> str:
    """Join subword pieces into the word they spell."""
    first = pieces[0]
    for marker in _WORD_START:
        if first.startswith(marker):
            first = first[len(marker) :]
            break
    rest = [p[len(_CONTINUATION) :] if p.startswith(_CONTINUATION) else p for p in pieces[1:]]
    word = first + "".join(rest)
    return word if word else "".join(pieces)


def merge_subwords(
    matrix: Any, word_ids: Any, tokens: Any
) -> tuple[NDArray[np.float64], list[str]]:
    """Merge subword tokens of square self-attention into whole words.

    Rows of one word are averaged and columns of one word are summed, so rows that summed
    to 1 still do. Consecutive positions sharing a word id form one word; positions whose id
    is ``None`` (special tokens) stay on their own. A word id that reappears after a different
    one starts a new word, which keeps sentence pairs apart (their ids restart at 0).

    Parameters
    ----------
    matrix
        ``(..., n, n)`` attention; leading axes (e.g. layers and heads) are kept. Only square
        self-attention is supported: rows and columns share ``word_ids`` and ``tokens``.
    word_ids : sequence of int or None
        One id per position, as from a fast tokenizer's ``encoding.word_ids()``.
    tokens : sequence of str
        One token per position. Word labels join their pieces, dropping WordPiece ``##``
        continuation markers and a leading SentencePiece ``▁`` or byte-BPE ``Ġ``; special
        tokens keep their text.

    Returns
    -------
    merged : numpy.ndarray
        ``(..., w, w)`` float64 array, words in order of first appearance.
    labels : list of str
        One label per word.
    """
    array = as_float_array(matrix, "matrix", (2, 3, 4))
    n, m = array.shape[-2:]
    if n != m:
        raise ValueError(
            f"matrix: expected square self-attention (..., n, n), got {describe(array)}"
        )
    labels = check_labels(tokens, "tokens", n, "rows")
    starts, ids = _word_starts(word_ids, n)
    sizes = np.diff(np.append(starts, n))
    rows = np.add.reduceat(array, starts, axis=-2) / sizes[:, None]
    merged = np.add.reduceat(rows, starts, axis=-1)
    words = [
        labels[s] if ids[s] is None else _join_pieces(labels[s : s + size])
        for s, size in zip(starts.tolist(), sizes.tolist(), strict=True)
    ]
    return merged, words


def head_scores(
    attentions: Any,
    tokens: Sequence[str] | None = None,
    measure: str = "entropy",
    *,
    special_tokens: Iterable[str] | None = None,
    batch_index: int = 0,
) -> NDArray[np.float64]:
    """Score every attention head with one number.

    Each measure is computed per query row from the weights ``p`` (used as given, expected
    to be non-negative and sum to 1) and averaged over the query rows:

    ``"entropy"``
        ``-sum_k p_k log p_k`` (natural log, ``0 log 0 = 0``). ``log(k)`` for uniform
        attention, 0 for attention on one token.
    ``"diagonal_distance"``
        ``sum_k p_k |q - k|``: the expected distance, in tokens, between the query position
        and the attended position. Square self-attention only.
    ``"special_tokens"``
        Total weight on key positions whose token is special (``tokens`` required).

    Parameters
    ----------
    attentions
        Per-layer attention (see the module docstring).
    tokens : sequence of str, optional
        One token per key position; needed for ``"special_tokens"``.
    measure : {"entropy", "diagonal_distance", "special_tokens"}
        Which score to compute.
    special_tokens : iterable of str, optional
        Tokens counted as special; replaces :data:`DEFAULT_SPECIAL_TOKENS`.
    batch_index : int
        Sequence to use when the input has a batch axis.

    Returns
    -------
    numpy.ndarray
        ``(layers, heads)`` float64 scores.
    """
    check_choice(measure, _MEASURES, "measure")
    stack = _as_stack(attentions, batch_index)
    _check_nonnegative(stack, "attentions")
    q, k = stack.shape[-2:]
    labels = None if tokens is None else check_labels(tokens, "tokens", k, "key columns")
    if measure == "entropy":
        logs = np.log(stack, out=np.zeros_like(stack), where=stack > 0)
        per_row = -(stack * logs).sum(axis=-1)
    elif measure == "diagonal_distance":
        if q != k:
            raise ValueError(
                "attentions: measure='diagonal_distance' needs square self-attention "
                f"(q == k), got q={q}, k={k}"
            )
        positions = np.arange(q)
        distance = np.abs(positions[:, None] - positions[None, :])
        per_row = (stack * distance).sum(axis=-1)
    else:
        if labels is None:
            raise ValueError(
                "tokens: measure='special_tokens' needs one token string per key position, got None"
            )
        if special_tokens is None:
            special = DEFAULT_SPECIAL_TOKENS
        elif isinstance(special_tokens, str):
            raise TypeError(
                f"special_tokens: expected a collection of strings, got {special_tokens!r}"
            )
        else:
            special = frozenset(special_tokens)
        mask = np.fromiter((label in special for label in labels), dtype=bool, count=k)
        per_row = stack[..., mask].sum(axis=-1)
    return np.asarray(per_row.mean(axis=-1), dtype=np.float64)


def rank_heads(
    attentions: Any,
    tokens: Sequence[str] | None = None,
    measure: str = "entropy",
    descending: bool = True,
    top: int | None = None,
    *,
    special_tokens: Iterable[str] | None = None,
    batch_index: int = 0,
) -> list[tuple[int, int, float]]:
    """Rank heads by :func:`head_scores`.

    Parameters
    ----------
    attentions, tokens, measure, special_tokens, batch_index
        As for :func:`head_scores`.
    descending : bool
        ``True`` puts the highest score first. Ties keep (layer, head) order.
    top : int, optional
        Keep only the first ``top`` heads (at least 1); ``None`` keeps all.

    Returns
    -------
    list of (layer, head, score)
        Sorted heads.
    """
    check_bool(descending, "descending")
    top = check_optional_count(top, "top")
    scores = head_scores(
        attentions, tokens, measure, special_tokens=special_tokens, batch_index=batch_index
    )
    flat = scores.ravel()
    order = np.argsort(-flat if descending else flat, kind="stable")[:top]
    heads = scores.shape[1]
    return [(int(i // heads), int(i % heads), float(flat[i])) for i in order]
