"""Record the attention weights of chosen layers and heads from an unchanged transformers model.

::

    with izzyviz.capture(model, layers=[-1], heads=[0, 3]) as cap:
        model(**inputs)               # or model.generate(...), or a pipeline calling the model
    cap.attentions                    # one CPU tensor per captured layer: (batch, 2, q, k)

While the ``with`` block is open, the model's own attention modules report each call to the
capture (:mod:`izzyviz._capture_hooks`: changes made on this model only, undone on exit). The
model's attention function (SDPA, eager, flash, ...) still computes the output, untouched;
beside it the selected heads' weights are recomputed, or taken from the model where it computes
them itself (:mod:`izzyviz._capture_weights`). Layers are named and counted as transformers'
``output_attentions`` counts them: one entry per call in a forward pass
(:mod:`izzyviz._capture_model`). Calls made in other threads are not recorded.

torch and transformers are imported lazily; ``import izzyviz`` never loads them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from izzyviz import _capture_hooks as hooks
from izzyviz._capture_model import Stack, find_stacks
from izzyviz._capture_weights import BLOCK_BYTES, Call, whole, zeros
from izzyviz._validate import check_index, check_nonnegative_int, describe

__all__ = ["AttentionCapture", "capture"]

#: Default byte budget of one block of scores (some query rows of one head, all their keys).
DEFAULT_CHUNK_BYTES = BLOCK_BYTES
_DTYPE_NAMES = {
    "float16": "float16", "half": "float16", "fp16": "float16",
    "bfloat16": "bfloat16", "bf16": "bfloat16",
    "float32": "float32", "float": "float32", "single": "float32", "fp32": "float32",
    "float64": "float64", "double": "float64", "fp64": "float64",
}  # fmt: skip
_CROSS = "cross_attentions"


@dataclass
class _Record:
    """The rows captured so far for one layer of one stack."""

    heads: tuple[int, ...]
    blocks: list[tuple[Any, int]] = field(default_factory=list)  # (tensor, first column)
    rows: int = 0
    run: int = 0  # the run (fresh pass and the cached passes after it) the rows belong to
    last_pass: int = 0


@dataclass
class _Pass:
    """Where a sub-model's forward passes are: the current one, its calls so far per stack,
    whether it finished, and the run it belongs to."""

    number: int = 0
    calls: dict[str, int] = field(default_factory=dict)
    done: bool = False
    fresh: bool | None = None
    run: int = 0


# --------------------------------------------------------------------------------------------
# Arguments
# --------------------------------------------------------------------------------------------


def _indices(value: Any, name: str, size: int, what: str) -> tuple[int, ...]:
    """``None`` (all), one index or a sequence of indices, resolved and checked for duplicates."""
    if value is None:
        return tuple(range(size))
    if isinstance(value, (str, bytes)) or not (
        isinstance(value, Sequence) or hasattr(value, "__index__")
    ):
        raise TypeError(
            f"{name}: expected None, an integer or a sequence of integers, got {describe(value)}"
        )
    if getattr(value, "ndim", 0) > 0:  # a numpy array or tensor of indices
        value = value.tolist()
    items = [value] if hasattr(value, "__index__") else list(value)
    if not items:
        raise ValueError(f"{name}: expected at least one index, got {describe(value)}")
    resolved = tuple(check_index(item, name, size, what) for item in items)
    if len(set(resolved)) != len(resolved):
        raise ValueError(
            f"{name}: got {describe(value)}, which names the same {what[:-1]} twice "
            f"(resolved: {list(resolved)}); expected distinct indices"
        )
    return resolved


def _dtype(value: Any) -> Any:
    """The torch dtype ``value`` spells (torch dtype, numpy dtype or type, or a name), or None
    to follow the model (float64 for a float64 model, else float32)."""
    import numpy as np
    import torch

    if value is None:
        return None
    if isinstance(value, str):
        name, shown = value.lower().removeprefix("torch.").removeprefix("numpy."), repr(value)
    elif isinstance(value, torch.dtype):
        name = shown = str(value).removeprefix("torch.")
        shown = f"torch.{name}"
    else:
        try:
            name = np.dtype(value).name
        except TypeError:
            raise TypeError(
                f"dtype: expected a floating-point dtype (float16, bfloat16, float32 or float64, "
                f"as a torch dtype, numpy dtype or name), got {describe(value)}"
            ) from None
        shown = f"numpy.{name}" if isinstance(value, type) else name
    if name not in _DTYPE_NAMES:
        raise ValueError(
            f"dtype: expected a floating-point dtype (float16, bfloat16, float32 or float64, as "
            f"a torch dtype, numpy dtype or name), got {shown}"
        )
    return getattr(torch, _DTYPE_NAMES[name])


# --------------------------------------------------------------------------------------------
# The public context manager
# --------------------------------------------------------------------------------------------


class AttentionCapture:
    """Records attention weights of chosen layers and heads; made by :func:`capture`.

    Attributes
    ----------
    layers, heads : tuple of int
        Absolute layer and head indices captured, in order (of the first stack: the encoder for
        encoder-decoder models; :attr:`selection` has every stack's).
    selection : dict
        ``{stack name: (layers, heads)}`` for every stack captured.
    open : bool
        Whether the capture is recording (inside its ``with`` block).
    """

    def __init__(
        self,
        model: Any,
        layers: Any = None,
        heads: Any = None,
        *,
        dtype: Any = None,
        chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    ) -> None:
        self.dtype = _dtype(dtype)
        self.chunk_bytes = check_nonnegative_int(chunk_bytes, "chunk_bytes", minimum=1)
        stacks = find_stacks(model)
        usable = [s for s in stacks if s.refusal is None]
        if not usable:
            raise TypeError(f"model: {stacks[0].refusal}")
        self.selection: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {}
        self._stacks: dict[str, Stack] = {s.name: s for s in stacks}
        self._records: dict[tuple[str, int], _Record] = {}
        self._stack_of: dict[int, Stack] = {}
        for stack in usable:
            chosen = _indices(layers, "layers", stack.depth, "layers")
            heads_chosen = _indices(heads, "heads", stack.heads, "heads")
            self.selection[stack.name] = (chosen, heads_chosen)
            self._records.update({(stack.name, i): _Record(heads_chosen) for i in chosen})
            self._stack_of.update({id(m): stack for m in stack.modules})
        self._passes = {id(s.owner): _Pass() for s in usable}
        self._changes = hooks.changes(usable, model)
        self.objects = {id(obj) for obj, _ in self._changes}
        self.layers, self.heads = next(iter(self.selection.values()))
        self.open = False

    # -- context manager ------------------------------------------------------------------

    def __enter__(self) -> AttentionCapture:
        if self.open:
            raise RuntimeError("capture: this capture is already open; make a new one")
        done: list[tuple[Any, str]] = []
        try:
            for obj, kind in self._changes:
                hooks.acquire(obj, kind)
                done.append((obj, kind))
        except BaseException:
            for obj, kind in reversed(done):
                hooks.release(obj, kind)
            raise
        self.open = True
        hooks.activate(self)
        return self

    def __exit__(self, *exc: object) -> None:
        """Stop recording and undo this capture's changes to the model; from any thread, in
        any order with other captures."""
        if not self.open:
            return
        self.open = False
        hooks.deactivate(self)
        for obj, kind in reversed(self._changes):
            hooks.release(obj, kind)

    # -- results --------------------------------------------------------------------------

    def _result(self, name: str) -> tuple[Any, ...]:
        if name not in self.selection:
            stack = self._stacks.get(name)
            if stack is not None and stack.refusal is not None:
                raise TypeError(f"cap.{name}: {stack.refusal}")
            have = ", ".join(f"cap.{n}" for n in self.selection)
            raise AttributeError(f"cap.{name}: this model has no {name}; use {have}")
        layers = self.selection[name][0]
        records = [self._records[(name, layer)] for layer in layers]
        missing = [layer for layer, r in zip(layers, records, strict=True) if not r.blocks]
        if missing:
            raise ValueError(
                f"cap.{name}: nothing was captured for layer(s) {missing}; call the model "
                "inside the 'with izzyviz.capture(...)' block"
            )
        owner = self._stacks[name].owner
        state = self._passes[id(owner)]
        if not state.done:
            raise RuntimeError(
                f"cap.{name}: the last forward pass of {type(owner).__name__} was interrupted "
                "before it finished, so its layers would mix two inputs; run the model again "
                "inside the capture"
            )
        stale = [i for i, r in zip(layers, records, strict=True) if r.last_pass < state.number]
        if stale:
            raise RuntimeError(
                f"cap.{name}: layer(s) {stale} did not run in the last forward pass of "
                f"{type(owner).__name__}, so they hold an earlier input"
            )
        return tuple(_assemble(record) for record in records)

    @property
    def attentions(self) -> tuple[Any, ...]:
        """One CPU tensor per captured layer, ``(batch, len(heads), q, k)`` (single-stack
        models)."""
        return self._result("attentions")

    @property
    def encoder_attentions(self) -> tuple[Any, ...]:
        """Encoder self-attention per captured layer (encoder-decoder models)."""
        return self._result("encoder_attentions")

    @property
    def decoder_attentions(self) -> tuple[Any, ...]:
        """Decoder self-attention per captured layer (encoder-decoder models)."""
        return self._result("decoder_attentions")

    @property
    def cross_attentions(self) -> tuple[Any, ...]:
        """Decoder-to-encoder attention per captured layer, ``(batch, heads, steps, source)``."""
        return self._result("cross_attentions")

    # -- what the hooks report ------------------------------------------------------------

    def on_pass(self, owner: Any, done: bool) -> None:
        """A forward pass of ``owner`` starts (``done=False``) or finishes."""
        state = self._passes[id(owner)]
        if done:
            state.done = True
            return
        state.number, state.calls, state.done, state.fresh = state.number + 1, {}, False, None

    def on_call(self, module: Any, call: Call) -> None:
        """One call of an attention module: the next layer of its stack in this pass."""
        stack = self._stack_of[id(module)]
        call = whole(call) if stack.name == _CROSS else call
        state = self._passes[id(stack.owner)]
        layer = state.calls.get(stack.name, 0)
        state.calls[stack.name] = layer + 1
        if stack.name != _CROSS and state.fresh is None:  # no keys cached before: a new run
            state.fresh = call.keys <= call.queries
            state.run += state.fresh
        record = self._records.get((stack.name, layer))
        if record is None:
            return
        if call.heads <= max(record.heads):
            raise ValueError(
                f"heads: {list(record.heads)} asked, but this attention call has only "
                f"{call.heads} heads"
            )
        if record.run != state.run:
            record.blocks, record.rows, record.run = [], 0, state.run
        first_column = 0 if stack.name == _CROSS else max(0, record.rows + call.queries - call.keys)
        weights = call.weights(record.heads, self.dtype, self.chunk_bytes)
        record.blocks.append((weights, first_column))
        record.rows += call.queries
        record.last_pass = state.number


def capture(
    model: Any,
    layers: int | Sequence[int] | None = None,
    heads: int | Sequence[int] | None = None,
    *,
    dtype: Any = None,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
) -> AttentionCapture:
    """Record the attention weights of chosen layers and heads while a model runs.

    The model keeps its attention implementation (SDPA by default in transformers 5, or eager,
    flash, ...), which still computes every output: outputs are bitwise those of an uncaptured
    run. Beside it, izzyviz computes ``softmax(Q Kᵀ · scale + mask)`` for the selected heads
    only, honouring what the model's attention honours (grouped/multi-query heads, causal,
    boolean and additive masks, padding, sliding windows, soft-capping, learned sinks, T5's
    relative position bias, the model's own scaling), a block of query rows at a time. Where the
    model computes weights itself (eager attention; BLOOM, MPT, XGLM, DeBERTa v1-v3 and LED's
    decoder, which do not use ``AttentionInterface``) those are copied instead. The weights
    equal eager ``output_attentions`` (within 1e-5; eager's own softmax runs in float32).

    Layers are named and counted as ``output_attentions`` counts them: one entry per call of an
    attention module in a forward pass, so ALBERT's shared layer gives ``num_hidden_layers``
    entries. A module wrapping one transformers model (``torch.nn.Sequential``, a
    SentenceTransformer) is captured as that model.

    Parameters
    ----------
    model
        A transformers model (>= 5), or a module wrapping exactly one.
    layers
        Layer indices to capture (negative counts from the end), one index, or None for all.
        For encoder-decoder models they apply to the encoder and the decoder alike.
    heads
        Head indices to capture, one index, or None for all.
    dtype
        Storage dtype of the captured weights: float16, bfloat16, float32 or float64, as a torch
        dtype, a numpy dtype or a name (``"half"``, ``"torch.float16"``, ...). None (default)
        follows the model: float64 for a float64 model (computed in float64), else float32.
        float16 and bfloat16 halve the memory.
    chunk_bytes
        Byte budget of one block of scores (one head, some query rows) while computing
        (default 16 MiB).

    Returns
    -------
    AttentionCapture
        A context manager. After ``model(...)`` or ``model.generate(...)`` inside the ``with``
        block, ``cap.attentions`` (single-stack models) or ``cap.encoder_attentions``,
        ``cap.decoder_attentions`` and ``cap.cross_attentions`` (encoder-decoder models) are
        tuples of tensors in CPU memory, whatever device the model runs on, one per captured
        layer, shaped ``(batch, len(heads), q, k)``. Under ``generate()`` with a KV cache (a
        static one too) each step's rows are appended, so the self-attention is the whole
        (positions fed x positions) matrix with zeros above the diagonal; a new forward pass
        without cache starts over. Only calls made in the thread (or asyncio task) that opened
        the capture are recorded; it may be closed from any thread.

    Raises
    ------
    TypeError
        If the model's attention is neither on ``AttentionInterface`` nor one izzyviz knows
        (use ``attn_implementation="eager"`` and ``output_attentions=True`` instead), if a
        wrapper holds several models, or if ``layers``/``heads`` are not integers.
    IndexError
        If a layer or head index is out of range.
    ValueError
        For duplicate indices, a ``dtype`` that is not floating point or a ``chunk_bytes``
        below 1; from ``generate()`` inside the capture, for beam search, assisted or
        prompt-lookup decoding (their rows do not stay with the sequences returned).
    RuntimeError
        When results are read after a forward pass that did not finish (interrupted).

    Examples
    --------
    >>> with izzyviz.capture(model, layers=-1, heads=[0, 3]) as cap:  # doctest: +SKIP
    ...     model(**inputs)
    >>> izzyviz.heatmap(cap.attentions[0][0, 1], tokens, tokens)  # doctest: +SKIP
    """
    return AttentionCapture(model, layers, heads, dtype=dtype, chunk_bytes=chunk_bytes)


def _assemble(record: _Record) -> Any:
    """The record's blocks as one ``(batch, heads, rows, columns)`` tensor (causal zeros where a
    block is narrower), kept as the record's only block."""
    if len(record.blocks) == 1 and record.blocks[0][1] == 0:
        return record.blocks[0][0]
    first = record.blocks[0][0]
    width = max(block.shape[-1] + start for block, start in record.blocks)
    whole = zeros((*first.shape[:2], record.rows, width), first.dtype)
    row = 0
    for block, start in record.blocks:
        whole[:, :, row : row + block.shape[-2], start : start + block.shape[-1]] = block
        row += block.shape[-2]
    record.blocks = [(whole, 0)]
    return whole
