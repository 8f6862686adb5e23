"""The attention weights of one call, for :mod:`izzyviz.capturing`: recomputed or taken as given.

An attention call arrives as one of two kinds of :class:`Call`:

* :class:`Recomputed`: the arguments of an ``AttentionInterface`` function whose own output has
  no weights (SDPA, flash, ...). :meth:`Recomputed.weights` computes ``softmax(Q Kᵀ · scale
  [softcap] + bias + mask)`` for the selected heads only, a block of query rows at a time into a
  preallocated CPU buffer. Without a mask (a causal or sliding-window pattern) a block multiplies
  only the keys its rows can see; the model's own attention call is not touched.
* :class:`Given`: weights the model computed itself (eager attention, or a module off the
  interface that returns them), of which the selected heads are copied out.

Both also say how many key columns hold positions (``keys``, of ``columns``): a static cache
hands self-attention its whole allocated length, whose unused tail the mask hides. A
cross-attention call keeps every column (:func:`whole`).

Buffers the size of a weight matrix are zero-filled by the operating system (:func:`zeros`):
columns a causal block never writes cost no memory until read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: Budget of one block of scores (one head, some query rows) in the compute dtype: enough rows
#: that multiplying them by the keys is efficient, few enough to stay near the CPU's caches
#: while the block is masked, normalised and copied out.
BLOCK_BYTES = 16 * 1024 * 1024


def zeros(shape: tuple[int, ...], dtype: Any) -> Any:
    """A zero CPU tensor in anonymous memory the operating system zeroes page by page on first
    touch (``numpy.zeros`` asks for huge pages, which a few touched cells fill whole)."""
    import math
    import mmap

    import torch

    size = math.prod(shape) * dtype.itemsize
    if size == 0:
        return torch.zeros(shape, dtype=dtype)
    return torch.frombuffer(mmap.mmap(-1, size), dtype=dtype).view(shape)


def compute_dtype(*dtypes: Any) -> Any:
    """float64 when any of ``dtypes`` is, else float32."""
    import torch

    return torch.float64 if torch.float64 in dtypes else torch.float32


def real_keys(mask: Any, queries: int, keys: int, top_left: bool) -> int:
    """How many leading key columns of a self-attention call hold positions fed so far: all
    of them, except under a static cache (more columns than positions, the unused tail masked
    in every row) or SDPA's top-left causal prefill. Without more keys than queries nothing is
    cut: padding to a fixed length masks columns that are still the text's."""
    import torch

    if keys <= queries:
        return keys
    if mask is None or not isinstance(mask, torch.Tensor) or mask.dim() < 2:
        return min(keys, queries) if top_left and queries > 1 else keys
    last = mask[:, :keys] if mask.dim() == 2 else mask[..., -1, :keys]
    allowed = last if last.dtype == torch.bool else last > torch.finfo(last.dtype).min / 2
    seen = allowed.reshape(-1, allowed.shape[-1]).any(dim=0).nonzero()
    return int(seen[-1]) + 1 if len(seen) else keys


@dataclass
class Given:
    """Weights the model computed itself, ``(batch, heads, queries, keys)``."""

    tensor: Any
    keys: int

    @property
    def columns(self) -> int:
        return int(self.tensor.shape[-1])

    @property
    def queries(self) -> int:
        return int(self.tensor.shape[-2])

    @property
    def heads(self) -> int:
        return int(self.tensor.shape[1])

    def weights(self, heads: tuple[int, ...], dtype: Any, block_bytes: int = BLOCK_BYTES) -> Any:
        """The selected heads' weights as a CPU tensor (``dtype``, or the model's float64 /
        float32 when None)."""
        chosen = self.tensor.detach()[:, list(heads), :, : self.keys]
        target = dtype or compute_dtype(chosen.dtype)
        out = zeros(tuple(chosen.shape), target)
        out.copy_(chosen)
        return out


@dataclass
class Recomputed:
    """The arguments of one attention call whose weights are recomputed.

    ``offset`` aligns the causal diagonal: query row ``i`` sees key columns ``<= i + offset``.
    """

    query: Any
    key: Any
    mask: Any
    scaling: float
    causal: bool
    offset: int
    keys: int
    softcap: float | None = None
    window: int | None = None
    sinks: Any = None
    bias: Any = None

    @property
    def columns(self) -> int:
        return int(self.key.shape[-2])

    @property
    def queries(self) -> int:
        return int(self.query.shape[-2])

    @property
    def heads(self) -> int:
        return int(self.query.shape[1])

    def weights(self, heads: tuple[int, ...], dtype: Any, block_bytes: int = BLOCK_BYTES) -> Any:
        """``softmax(Q Kᵀ · scale + ...)`` of the selected heads as a CPU tensor, one head of
        one batch row at a time, in blocks of query rows whose scores fit ``block_bytes``."""
        import torch

        batch, count, queries, _ = self.query.shape
        work = compute_dtype(self.query.dtype, dtype)
        out = zeros((batch, len(heads), queries, self.keys), dtype or work)
        rows = max(1, min(queries, block_bytes // (self.keys * work.itemsize)))
        scratch = torch.empty(rows * self.keys, dtype=work, device=self.query.device)
        groups = count // self.key.shape[1]
        with torch.no_grad():
            for b in range(batch):
                for column, head in enumerate(heads):
                    query = self.query[b, head].detach().to(work)
                    keys = self.key[b, head // groups, : self.keys].detach().to(work).t()
                    extra = _Extra.of(self, b, head, count, work)
                    for start in range(0, queries, rows):
                        stop = min(queries, start + rows)
                        first, last = self._columns(start, stop)
                        scores = scratch[: (stop - start) * (last - first)]
                        scores = scores.view(stop - start, last - first)
                        block = (query[start:stop], keys[:, first:last])
                        torch.addmm(scores, *block, beta=0, alpha=self.scaling, out=scores)
                        self._normalise(scores, extra, start, stop, first)
                        out[b, column, start:stop, first:last].copy_(scores)
        return out

    def _columns(self, start: int, stop: int) -> tuple[int, int]:
        """The key columns rows ``start:stop`` can see (all, when a mask decides)."""
        if self.mask is not None:
            return 0, self.keys
        last = min(self.keys, stop + self.offset) if self.causal else self.keys
        last = max(1, last)
        first = 0 if self.window is None else max(0, start + self.offset - self.window + 1)
        return min(first, last - 1), last

    def _normalise(self, scores: Any, extra: _Extra, start: int, stop: int, first: int) -> None:
        """Soft-cap, add bias and mask, then softmax, in place, as the model does (the
        scores come scaled)."""
        import torch

        lowest = torch.finfo(scores.dtype).min
        last = first + scores.shape[-1]
        if self.softcap is not None:
            scores.div_(self.softcap).tanh_().mul_(self.softcap)
        if extra.bias is not None:
            scores.add_(extra.bias[start:stop, first:last])
        if extra.mask is not None and extra.mask.dtype == torch.bool:
            scores.masked_fill_(~extra.mask[start:stop, first:last], lowest)
        elif extra.mask is not None:
            scores.add_(extra.mask[start:stop, first:last])
        elif self.causal or self.window is not None:
            self._band(scores, start, stop, first, lowest)
        if extra.sinks is None and scores.is_cpu:  # in place: no second buffer to fill
            torch.ops.aten._softmax.out(scores, -1, False, out=scores)
        elif extra.sinks is None:
            scores.copy_(torch.softmax(scores, -1))
        else:
            total = torch.logaddexp(torch.logsumexp(scores, -1, keepdim=True), extra.sinks)
            scores.sub_(total).exp_()

    def _band(self, scores: Any, start: int, stop: int, first: int, lowest: float) -> None:
        """Hide what the causal diagonal and the sliding window hide: only the columns of the
        block where its rows disagree are compared."""
        import torch

        last = first + scores.shape[-1]
        rows = torch.arange(start, stop, device=scores.device)[:, None] + self.offset
        if self.causal:  # columns right of the first row's diagonal
            edge = max(first, start + self.offset + 1)
            columns = torch.arange(edge, last, device=scores.device)
            scores[:, edge - first :].masked_fill_(columns > rows, lowest)
        if self.window is not None:  # columns left of the last row's window edge
            edge = min(last, stop + self.offset - self.window)
            columns = torch.arange(first, max(first, edge), device=scores.device)
            scores[:, : len(columns)].masked_fill_(columns <= rows - self.window, lowest)


@dataclass
class _Extra:
    """What one (batch row, head) adds to its scores: bias, mask (``queries x keys``, maybe
    broadcast) and sink logit."""

    bias: Any
    mask: Any
    sinks: Any

    @classmethod
    def of(cls, call: Recomputed, b: int, head: int, count: int, work: Any) -> _Extra:
        def plane(tensor: Any) -> Any:
            if tensor is None:
                return None
            if tensor.dim() == 4 and tensor.shape[1] not in (1, count):
                raise ValueError(
                    f"capture: a mask or bias with {tensor.shape[1]} heads, expected {count}"
                )
            row = tensor[b if tensor.shape[0] > 1 else 0]
            row = row[head if row.shape[0] > 1 else 0] if row.dim() == 3 else row
            return row.expand(call.queries, row.shape[-1])[:, : call.keys].detach()

        sinks = None if call.sinks is None else call.sinks.detach()[head].to(work)
        bias = plane(call.bias)
        return cls(None if bias is None else bias.to(work), plane(call.mask), sinks)


Call = Given | Recomputed


def whole(call: Call) -> Call:
    """``call`` with every key column kept (a cross-attention's keys are the source's)."""
    import dataclasses

    return call if call.keys == call.columns else dataclasses.replace(call, keys=call.columns)


def interface_call(
    function: Any,
    implementation: str,
    module: Any,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    output: Any,
) -> Call:
    """The :class:`Call` of ``function(module, *args, **kwargs)`` (an ``AttentionInterface``
    function: query, key, value, mask, then keywords), which returned ``output``."""
    import torch

    values = dict(kwargs)
    if len(args) > 4:  # keywords given by position: their order is the function's own
        import inspect

        values.update(inspect.signature(function).bind_partial(module, *args).arguments)
    query, key = args[0], args[1]
    mask = args[3] if len(args) > 3 else values.get("attention_mask")
    queries, keys = query.shape[-2], key.shape[-2]
    if mask is not None and not isinstance(mask, torch.Tensor):
        raise TypeError(
            f"capture: cannot read a {type(mask).__name__} attention mask ({implementation!r} "
            "attention); load the model with attn_implementation='sdpa' or 'eager'"
        )
    causal = values.get("is_causal")
    causal = getattr(module, "is_causal", True) if causal is None else causal
    causal = bool(causal) and mask is None and queries > 1 and "eager" not in implementation
    top_left = causal and implementation == "sdpa"  # SDPA aligns is_causal to the top left
    real = real_keys(mask, queries, keys, top_left)
    given = output[1] if isinstance(output, tuple) and len(output) > 1 else None
    if isinstance(given, torch.Tensor) and tuple(given.shape[-2:]) == (queries, keys):
        return Given(given, real)
    if mask is not None and mask.dim() == 2:  # a key-padding mask (flash attention)
        mask = mask[:, None, None, :].bool()
    scaling = values.get("scaling")
    return Recomputed(
        query,
        key,
        mask,
        query.shape[-1] ** -0.5 if scaling is None else float(scaling),
        causal,
        0 if top_left else real - queries,
        real,
        softcap=values.get("softcap"),
        window=values.get("sliding_window") if mask is None else None,
        sinks=values.get("s_aux", values.get("sinks")),
        bias=values.get("position_bias"),
    )
