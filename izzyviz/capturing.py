"""Record the attention weights of chosen layers and heads from an unchanged transformers model.

::

    with izzyviz.capture(model, layers=[-1], heads=[0, 3]) as cap:
        model(**inputs)               # or model.generate(...), or a pipeline calling the model
    cap.attentions                    # one CPU tensor per captured layer: (batch, 2, q, k)

transformers (>= 5) sends every attention call through ``ALL_ATTENTION_FUNCTIONS.get_interface``.
While a capture is active anywhere, that lookup hands out a thin wrapper: the model's own attention
function (SDPA, eager, flash, ...) still computes the output, untouched, and beside it this module
computes ``softmax(Q Kᵀ · scale [softcap] + bias + mask)`` for the selected heads only, in
query-row chunks under a byte budget, into one CPU buffer per layer. Which captures see a call is
decided by a context variable, so nested captures and other threads never leak into each other.

torch and transformers are imported lazily; ``import izzyviz`` never loads them.
"""

from __future__ import annotations

import contextvars
import inspect
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from izzyviz._validate import check_index, check_nonnegative_int, describe

__all__ = ["AttentionCapture", "capture"]

#: Default byte budget of one chunk of float32 scores (query rows x keys x selected heads).
DEFAULT_CHUNK_BYTES = 64 * 1024 * 1024
EAGER_FALLBACK = (
    "load it with attn_implementation='eager' and call it with output_attentions=True instead"
)
_DTYPES = ("float32", "float16", "bfloat16")

# The captures active in the current thread/task, innermost last.
_ACTIVE: contextvars.ContextVar[tuple[AttentionCapture, ...]] = contextvars.ContextVar(
    "izzyviz_active_captures", default=()
)
_PATCH_LOCK = threading.Lock()
_PATCH: dict[str, Any] = {"users": 0}


# --------------------------------------------------------------------------------------------
# Finding the attention modules of a model
# --------------------------------------------------------------------------------------------


@dataclass
class _Stack:
    """One stack of layers: its name in the results and each layer's attention module."""

    name: str
    layers: list[Any]
    heads: int


@dataclass
class _Record:
    """The rows captured so far for one attention module (one layer's self- or cross-attention)."""

    heads: tuple[int, ...]
    pair: _Record | None = None  # a cross-attention restarts when its layer's self-attention does
    blocks: list[tuple[Any, int]] = field(default_factory=list)  # (tensor, first column)
    rows: int = 0
    runs: int = 0
    pair_runs: int = 0


def _calls_attention_interface(module: Any) -> bool:
    forward = inspect.unwrap(type(module).forward)
    code = getattr(forward, "__code__", None)
    return code is not None and "ALL_ATTENTION_FUNCTIONS" in code.co_names


def _head_count(module: Any) -> int | None:
    for name in ("num_heads", "num_attention_heads", "n_heads", "n_head"):
        value = getattr(module, name, None)
        if isinstance(value, int):
            return value
    value = getattr(getattr(module, "config", None), "num_attention_heads", None)
    return value if isinstance(value, int) else None


def _stacks(model: Any) -> list[_Stack]:
    """The model's stacks of attention modules, named as transformers names its outputs."""
    if not callable(getattr(model, "named_modules", None)):
        raise TypeError(f"model: expected a transformers model, got {describe(model)}")
    groups: dict[str, dict[int, list[Any]]] = {}
    for name, module in model.named_modules():
        if not _calls_attention_interface(module):
            continue
        match = re.match(r"^(.*?)\.?(\d+)(\.|$)", name)
        if match is None:
            continue
        groups.setdefault(match.group(1), {}).setdefault(int(match.group(2)), []).append(module)
    if not groups:
        raise TypeError(
            f"model: {type(model).__name__} does not route its attention through transformers' "
            f"AttentionInterface (an older or remote-code model), so izzyviz cannot capture it; "
            f"{EAGER_FALLBACK}"
        )
    encoder = model.get_encoder() if hasattr(model, "get_encoder") else None
    stacks = []
    for prefix, layers in groups.items():
        modules = [layers[i] for i in sorted(layers)]
        heads = _head_count(modules[0][0])
        if heads is None:
            raise TypeError(
                f"model: cannot tell how many heads the attention of {prefix!r} has; "
                f"{EAGER_FALLBACK}"
            )
        stacks.append((prefix, modules, heads))
    if not getattr(getattr(model, "config", None), "is_encoder_decoder", False):
        if len(stacks) != 1:
            found = ", ".join(repr(p) for p, _, _ in stacks)
            raise TypeError(
                f"model: {type(model).__name__} has several stacks of attention layers ({found}); "
                f"capture one of its sub-models instead, or {EAGER_FALLBACK}"
            )
        prefix, modules, heads = stacks[0]
        return [_Stack("attentions", [m[0] for m in modules], heads)]
    result = []
    for _prefix, modules, heads in stacks:
        in_encoder = encoder is not None and any(modules[0][0] is m for m in encoder.modules())
        if in_encoder:
            result.append(_Stack("encoder_attentions", [m[0] for m in modules], heads))
        else:
            result.append(_Stack("decoder_attentions", [m[0] for m in modules], heads))
            if all(len(m) > 1 for m in modules):
                cross_heads = _head_count(modules[0][1]) or heads
                result.append(_Stack("cross_attentions", [m[1] for m in modules], cross_heads))
    return result


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
    import torch

    if value is None:
        return torch.float32
    name = value if isinstance(value, str) else str(value).removeprefix("torch.")
    if name not in _DTYPES:
        raise ValueError(
            f"dtype: expected one of torch.float32, torch.float16, torch.bfloat16 (or their "
            f"names), got {describe(value)}"
        )
    return getattr(torch, name)


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
        self.selection: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {}
        self._records: dict[int, _Record] = {}
        self._order: dict[str, list[_Record]] = {}
        for stack in _stacks(model):
            chosen = _indices(layers, "layers", len(stack.layers), "layers")
            heads_chosen = _indices(heads, "heads", stack.heads, "heads")
            self.selection[stack.name] = (chosen, heads_chosen)
            order: list[_Record] = []
            for index in chosen:
                module = stack.layers[index]
                pair = None
                if stack.name == "cross_attentions":
                    pair = self._order["decoder_attentions"][len(order)]
                record = _Record(heads_chosen, pair)
                self._records[id(module)] = record
                order.append(record)
            self._order[stack.name] = order
        self.layers, self.heads = next(iter(self.selection.values()))
        self._token: contextvars.Token[tuple[AttentionCapture, ...]] | None = None

    # -- context manager ------------------------------------------------------------------

    def __enter__(self) -> AttentionCapture:
        if self._token is not None:
            raise RuntimeError("capture: this capture is already active; make a new one")
        _install()
        self._token = _ACTIVE.set((*_ACTIVE.get(), self))
        return self

    def __exit__(self, *exc: object) -> None:
        token, self._token = self._token, None
        if token is not None:
            _ACTIVE.reset(token)
            _uninstall()

    # -- results --------------------------------------------------------------------------

    def _result(self, name: str) -> tuple[Any, ...]:
        if name not in self._order:
            have = ", ".join(f"cap.{n}" for n in self._order)
            raise AttributeError(f"cap.{name}: this model has no {name}; use {have}")
        records = self._order[name]
        missing = [i for i, r in zip(self.selection[name][0], records, strict=True) if not r.blocks]
        if missing:
            raise ValueError(
                f"cap.{name}: nothing was captured for layer(s) {missing}; call the model "
                "inside the 'with izzyviz.capture(...)' block"
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

    # -- recording ------------------------------------------------------------------------

    def _record(self, implementation: str, call: _Call) -> None:
        record = self._records.get(id(call.module))
        if record is None:
            return
        q, k = call.query.shape[-2], call.key.shape[-2]
        if call.query.shape[1] <= max(record.heads):
            raise ValueError(
                f"heads: {list(record.heads)} asked, but this attention call has only "
                f"{call.query.shape[1]} heads"
            )
        if record.pair is None and k <= q:  # a fresh forward (no cache): a new run
            record.blocks, record.rows, record.runs = [], 0, record.runs + 1
        elif record.pair is not None and record.pair.runs != record.pair_runs:
            record.blocks, record.rows, record.pair_runs = [], 0, record.pair.runs
        weights = _weights(call, record.heads, implementation, self.dtype, self.chunk_bytes)
        first_column = 0 if record.pair is not None else max(0, record.rows + q - k)
        record.blocks.append((weights, first_column))
        record.rows += q


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
    flash, ...), which still computes every output: logits are bitwise those of an uncaptured
    run, and nothing of the model is changed. Beside it, izzyviz computes
    ``softmax(Q Kᵀ · scale + mask)`` for the selected heads only, honouring what the model's
    attention honours (grouped/multi-query heads, causal, boolean and additive masks, padding,
    sliding windows, soft-capping, learned sinks, T5's relative position bias, the model's own
    scaling), in query-row chunks of at most ``chunk_bytes``. The weights equal eager
    ``output_attentions`` (float32: within 1e-5).

    Parameters
    ----------
    model
        A transformers model (>= 5) whose attention goes through ``AttentionInterface``.
    layers
        Layer indices to capture (negative counts from the end), one index, or None for all.
        For encoder-decoder models they apply to the encoder and the decoder alike.
    heads
        Head indices to capture, one index, or None for all.
    dtype
        Storage dtype of the captured weights: ``torch.float32`` (default), ``torch.float16``
        or ``torch.bfloat16`` (or their names), which halve the memory.
    chunk_bytes
        Byte budget of one chunk of float32 scores while computing (default 64 MiB).

    Returns
    -------
    AttentionCapture
        A context manager. After ``model(...)`` or ``model.generate(...)`` inside the ``with``
        block, ``cap.attentions`` (single-stack models) or ``cap.encoder_attentions``,
        ``cap.decoder_attentions`` and ``cap.cross_attentions`` (encoder-decoder models) are
        tuples of CPU tensors, one per captured layer, shaped ``(batch, len(heads), q, k)``.
        Under ``generate()`` with a KV cache each step's rows are appended, so the self-attention
        is the whole (positions fed x positions) matrix with zeros above the diagonal; a new
        forward pass without cache starts over.

    Raises
    ------
    TypeError
        If the model does not route attention through transformers' ``AttentionInterface``
        (use ``attn_implementation="eager"`` and ``output_attentions=True`` instead), or if
        ``layers``/``heads`` are not integers.
    IndexError
        If a layer or head index is out of range.
    ValueError
        For duplicate indices, an unknown ``dtype`` or a ``chunk_bytes`` below 1.

    Examples
    --------
    >>> with izzyviz.capture(model, layers=-1, heads=[0, 3]) as cap:  # doctest: +SKIP
    ...     model(**inputs)
    >>> izzyviz.heatmap(cap.attentions[0][0, 1], tokens, tokens)  # doctest: +SKIP
    """
    return AttentionCapture(model, layers, heads, dtype=dtype, chunk_bytes=chunk_bytes)


# --------------------------------------------------------------------------------------------
# The interception of AttentionInterface.get_interface
# --------------------------------------------------------------------------------------------


def _interface() -> Any:
    try:
        from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS
    except ImportError as exc:  # pragma: no cover - depends on the installed version
        raise ImportError(f"capture needs transformers >= 5 ({exc})") from None
    if not hasattr(ALL_ATTENTION_FUNCTIONS, "get_interface"):  # pragma: no cover
        raise ImportError(
            f"capture needs transformers >= 5 (AttentionInterface.get_interface); {EAGER_FALLBACK}"
        )
    return ALL_ATTENTION_FUNCTIONS


def _install() -> None:
    """Wrap ``ALL_ATTENTION_FUNCTIONS.get_interface`` while at least one capture is active."""
    with _PATCH_LOCK:
        if _PATCH["users"] == 0:
            interface = _interface()
            original = interface.get_interface
            _PATCH["saved"] = interface.__dict__.get("get_interface")

            def get_interface(attn_implementation: str, default: Callable[..., Any]) -> Any:
                function = original(attn_implementation, default)
                captures = _ACTIVE.get()
                if not captures:
                    return function
                return _recording(function, attn_implementation, captures)

            interface.get_interface = get_interface
        _PATCH["users"] += 1


def _uninstall() -> None:
    """Undo :func:`_install` when the last active capture ends, restoring the exact state."""
    with _PATCH_LOCK:
        _PATCH["users"] -= 1
        if _PATCH["users"] == 0:
            interface = _interface()
            saved = _PATCH.pop("saved")
            if saved is None:
                del interface.get_interface
            else:
                interface.get_interface = saved


def _recording(
    function: Callable[..., Any], implementation: str, captures: tuple[AttentionCapture, ...]
) -> Callable[..., Any]:
    def attention(module: Any, *args: Any, **kwargs: Any) -> Any:
        output = function(module, *args, **kwargs)
        call = None
        for cap in captures:
            if id(module) in cap._records:
                call = call or _Call.bind(function, module, args, kwargs)
                cap._record(implementation, call)
        return output

    return attention


@dataclass
class _Call:
    """The arguments of one attention call that the weights depend on."""

    module: Any
    query: Any
    key: Any
    mask: Any
    scaling: float | None
    is_causal: bool | None
    softcap: float | None
    sliding_window: int | None
    sinks: Any
    position_bias: Any

    @classmethod
    def bind(
        cls,
        function: Callable[..., Any],
        module: Any,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> _Call:
        values = dict(kwargs)
        try:
            parameters = inspect.signature(function).parameters
            bound = inspect.signature(function).bind(module, *args, **kwargs).arguments
            for name, param in parameters.items():
                if param.kind is inspect.Parameter.VAR_KEYWORD:
                    values.update(bound.pop(name, {}))
            values.update(bound)
            positional = [values[n] for n in list(parameters)[1:5]]
        except (TypeError, ValueError, KeyError):  # no signature: the documented convention
            positional = [*args[:4], kwargs.get("attention_mask")][:4]
        query, key, _value, mask = positional
        sinks = values.get("s_aux", values.get("sinks"))
        return cls(
            module,
            query,
            key,
            mask,
            values.get("scaling"),
            values.get("is_causal"),
            values.get("softcap"),
            values.get("sliding_window"),
            sinks,
            values.get("position_bias"),
        )


# --------------------------------------------------------------------------------------------
# The weights
# --------------------------------------------------------------------------------------------


def _heads_of(tensor: Any, heads: tuple[int, ...], count: int) -> Any:
    """``tensor[:, heads]`` when it has one entry per head, else the tensor (broadcast)."""
    if tensor.shape[1] == 1:
        return tensor
    if tensor.shape[1] != count:
        raise ValueError(f"capture: a mask or bias with {tensor.shape[1]} heads, expected {count}")
    return tensor[:, list(heads)]


def _weights(
    call: _Call, heads: tuple[int, ...], implementation: str, dtype: Any, budget: int
) -> Any:
    """``softmax(Q Kᵀ · scale + mask)`` of the selected heads, chunk by chunk, on the CPU."""
    import torch

    query, key = call.query, call.key
    batch, count, q, _dim = query.shape
    k = key.shape[-2]
    groups = count // key.shape[1]
    scaling = call.scaling if call.scaling is not None else query.shape[-1] ** -0.5
    mask, bias = call.mask, call.position_bias
    if mask is not None and not isinstance(mask, torch.Tensor):
        raise TypeError(
            f"capture: cannot read a {type(mask).__name__} attention mask "
            f"({implementation!r} attention); load the model with attn_implementation='sdpa' "
            "or 'eager'"
        )
    if mask is not None:
        mask = _heads_of(mask[..., :k], heads, count)
    if bias is not None:
        bias = _heads_of(bias[..., :k], heads, count)
    causal = mask is None and implementation not in ("eager", "paged|eager") and q > 1
    causal = causal and (
        call.is_causal if call.is_causal is not None else getattr(call.module, "is_causal", True)
    )
    offset = 0 if implementation == "sdpa" else k - q  # sdpa aligns is_causal to the top left
    window = call.sliding_window if mask is None else None
    sinks = None if call.sinks is None else call.sinks[list(heads)].float().view(1, -1, 1, 1)
    lowest = torch.finfo(torch.float32).min
    selected = torch.tensor(heads, device=query.device)
    keys = key.detach()[:, selected // groups].float().transpose(-1, -2)
    out = torch.empty((batch, len(heads), q, k), dtype=dtype, device="cpu")
    rows = max(1, budget // max(1, batch * len(heads) * k * 4))
    columns = torch.arange(k, device=query.device)
    with torch.no_grad():
        for start in range(0, q, rows):
            stop = min(q, start + rows)
            scores = torch.matmul(query.detach()[:, selected, start:stop].float(), keys)
            scores *= scaling
            if call.softcap is not None:
                scores = torch.tanh(scores / call.softcap) * call.softcap
            if bias is not None:
                scores += bias[:, :, start:stop].float()
            if mask is not None and mask.dtype == torch.bool:
                scores.masked_fill_(~mask[:, :, start:stop], lowest)
            elif mask is not None:
                scores += mask[:, :, start:stop].float()
            if causal or window is not None:
                row = torch.arange(start, stop, device=query.device)[:, None] + offset
                if causal:
                    scores.masked_fill_(columns > row, lowest)
                if window is not None:
                    scores.masked_fill_(columns <= row - window, lowest)
            if sinks is None:
                probs = torch.softmax(scores, dim=-1)
            else:
                total = torch.logaddexp(torch.logsumexp(scores, -1, keepdim=True), sinks)
                probs = torch.exp(scores - total)
            out[:, :, start:stop] = probs
    return out


def _assemble(record: _Record) -> Any:
    """The record's blocks as one ``(batch, heads, rows, columns)`` tensor (causal zeros where a
    block is narrower), kept as the record's only block."""
    import torch

    if len(record.blocks) == 1 and record.blocks[0][1] == 0:
        return record.blocks[0][0]
    first = record.blocks[0][0]
    width = max(block.shape[-1] + start for block, start in record.blocks)
    whole = torch.zeros((*first.shape[:2], record.rows, width), dtype=first.dtype)
    row = 0
    for block, start in record.blocks:
        whole[:, :, row : row + block.shape[-2], start : start + block.shape[-1]] = block
        row += block.shape[-2]
    record.blocks = [(whole, 0)]
    return whole
