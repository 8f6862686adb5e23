"""Attention matrices from ``model.generate(...)`` outputs, without re-running the model.

Call ``generate`` with ``output_attentions=True, return_dict_in_generate=True`` on a model
loaded with ``attn_implementation="eager"`` and greedy or sampled decoding. ``generate`` then
records attention once per generation step: ``output.attentions`` (decoder-only models) or
``output.decoder_attentions`` and ``output.cross_attentions`` (encoder-decoder models) are tuples
over steps, each a tuple over layers of ``(batch, heads, q_step, k_step)`` tensors. The first step
covers every input position; each later step adds the one new token (``q_step`` is 1 with the KV
cache, or all positions so far without it, in which case its last row is the new one).

Alignment with ``output.sequences`` (``n = output.sequences.shape[1]``): the last token of
``sequences`` is produced by the last step but never fed back, so the matrices below have
``n - 1`` rows, one per model *input* position ``sequences[:, :-1]``. Row ``i`` is the attention
of the position that predicts ``sequences[:, i + 1]``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from izzyviz._validate import describe
from izzyviz.inputs import EAGER_HINT, _select

__all__ = ["cross_attention_from_generate", "decoder_self_attention_from_generate"]


def _steps(output: Any, field: str) -> tuple[Any, ...]:
    """The per-step attentions ``output.<field>``, checked to be present and non-empty."""
    if isinstance(output, (tuple, list)) or not hasattr(output, "sequences"):
        raise TypeError(
            f"output: expected the result of model.generate(..., output_attentions=True, "
            f"return_dict_in_generate=True), got {describe(output)}"
        )
    if getattr(output, "beam_indices", None) is not None:
        raise ValueError(
            "output: beam search output; its per-step attentions belong to beams that are "
            "reordered at every step and cannot be stitched together. Use greedy or sampled "
            "decoding, or run the model once on output.sequences with output_attentions=True"
        )
    steps = getattr(output, field, None)
    if not steps:
        raise ValueError(
            f"output.{field}: got {describe(steps)}; pass output_attentions=True and "
            f"return_dict_in_generate=True to generate, and note that {EAGER_HINT}"
        )
    return tuple(steps)


def _rows(output: Any, field: str, layer: int, head: int, batch_index: int) -> list[Any]:
    """One matrix per step: all rows of step 0, then the last row of each later step."""
    steps = _steps(output, field)
    first = _select(steps[0], layer, head, batch_index, f"output.{field}[0]")
    later = [
        _select(step, layer, head, batch_index, f"output.{field}[{s}]")[-1]
        for s, step in enumerate(steps[1:], start=1)
    ]
    return [first, *later]


def cross_attention_from_generate(
    output: Any, layer: int, head: int, *, batch_index: int = 0
) -> NDArray[np.float64]:
    """Return the (decoder positions x source tokens) cross-attention of a ``generate`` run.

    For encoder-decoder models (T5, BART, ...). Replaces the loop over
    ``output.cross_attentions`` that concatenates one row per generation step.

    Parameters
    ----------
    output
        Result of ``model.generate(input_ids, output_attentions=True,
        return_dict_in_generate=True)`` with greedy or sampled decoding.
    layer, head
        Decoder layer and head; negative values count from the end.
    batch_index
        Which sequence of the batch (after ``num_return_sequences`` expansion) to show.

    Returns
    -------
    numpy.ndarray
        float64 array of shape ``(output.sequences.shape[1] - 1, source_length)``. Row ``i`` is
        the attention of decoder input token ``output.sequences[batch_index, i]`` (the decoder
        start token for ``i = 0``, then ``generated[:i]``), i.e. of the step that predicted
        ``output.sequences[batch_index, i + 1]``. Label rows with ``sequences[:-1]`` (inputs) or
        ``sequences[1:]`` (predictions); columns are the encoder input tokens, padding included.

    Raises
    ------
    ValueError
        If the output holds no attention (model not run with eager attention, or
        ``output_attentions`` not set), comes from beam search, or holds NaN or infinite values.
    IndexError
        If ``layer``, ``head`` or ``batch_index`` is out of range.
    """
    rows = _rows(output, "cross_attentions", layer, head, batch_index)
    widths = {row.shape[-1] for row in rows}
    if len(widths) != 1:
        raise ValueError(
            f"output.cross_attentions: expected the same source length at every step, "
            f"got lengths {sorted(widths)}"
        )
    return np.vstack(rows)


def decoder_self_attention_from_generate(
    output: Any, layer: int, head: int, *, batch_index: int = 0
) -> NDArray[np.float64]:
    """Return the full causal self-attention matrix of a ``generate`` run.

    For decoder-only models (GPT-2, Llama, ...) it uses ``output.attentions``; for
    encoder-decoder models it uses ``output.decoder_attentions``. With the KV cache, step 0
    gives the ``(prompt x prompt)`` block and each later step one row that is one key longer;
    they are stacked into a square matrix whose upper triangle (future tokens) is 0.

    Parameters
    ----------
    output
        Result of ``model.generate(input_ids, output_attentions=True,
        return_dict_in_generate=True)`` with greedy or sampled decoding.
    layer, head
        Layer and head; negative values count from the end.
    batch_index
        Which sequence of the batch to show.

    Returns
    -------
    numpy.ndarray
        float64 array of shape ``(n - 1, n - 1)`` with ``n = output.sequences.shape[1]``
        (``n - 1 = prompt_length + new_tokens - 1`` for decoder-only models). Row and column
        ``i`` are token ``output.sequences[batch_index, i]``: the matrix equals the attention of
        one forward pass over ``output.sequences[:, :-1]``. The last generated token is never
        fed back to the model, so it has no row. Left padding of a batched prompt is included.

    Raises
    ------
    ValueError
        As :func:`cross_attention_from_generate`, and if the steps do not form a causal
        sequence (each step one key longer than the previous).
    IndexError
        If ``layer``, ``head`` or ``batch_index`` is out of range.
    """
    field = "decoder_attentions" if hasattr(output, "decoder_attentions") else "attentions"
    first, *later = _rows(output, field, layer, head, batch_index)
    prompt = first.shape[0]
    if first.shape[1] != prompt:
        raise ValueError(
            f"output.{field}[0]: expected a square (prompt x prompt) first step, got shape "
            f"{first.shape}; generation that starts from a given past_key_values is not supported"
        )
    total = prompt + len(later)
    matrix = np.zeros((total, total))
    matrix[:prompt, :prompt] = first
    for s, row in enumerate(later, start=1):
        if row.shape[0] != prompt + s:
            raise ValueError(
                f"output.{field}[{s}]: expected {prompt + s} keys (prompt of {prompt} plus "
                f"{s} generated), got {row.shape[0]}"
            )
        matrix[prompt + s - 1, : prompt + s] = row
    return matrix
