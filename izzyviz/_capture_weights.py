"""The attention weights of one call, for :mod:`izzyviz.capturing`: recomputed or taken as given.

An attention call arrives as one of two kinds of :class:`Call`:

* :class:`Recomputed`: the arguments of an ``AttentionInterface`` function whose own output has
  no weights (SDPA, flash, ...). :meth:`Recomputed.weights` computes ``softmax(Q Kᵀ · scale
  [softcap] + bias + mask)`` for the selected heads only, a block of query rows at a time into a
  preallocated CPU buffer. Without a mask (a causal or sliding-window pattern) a block multiplies
  only the keys its rows can see; the model's own attention call is not touched.
* :class:`Given`: weights the model computed itself (eager attention, or a module off the
  interface that returns them), of which the selected heads are copied out.

Both also say how many key columns are real (:attr:`Call.keys`): a static cache hands attention
its whole allocated length, whose unused tail the mask hides.

Buffers the size of a weight matrix are zero-filled by the operating system (``numpy.zeros``):
columns a causal block never writes cost no memory until read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: Budget of one block of scores in the compute dtype: small enough to stay in the CPU's cache
#: while the block is scaled, masked, normalised and copied out.
BLOCK_BYTES = 4 * 1024 * 1024
_NUMPY_NAMES = {"float16": "float16", "float32": "float32", "float64": "float64"}


def zeros(shape: tuple[int, ...], dtype: Any) -> Any:
    """A zero CPU tensor whose pages the operating system provides zeroed on first touch."""
    import numpy as np
    import torch

    name = str(dtype).removeprefix("torch.")
    if name == "bfloat16":
        return torch.from_numpy(np.zeros(shape, np.uint16)).view(torch.bfloat16)
    return torch.from_numpy(np.zeros(shape, _NUMPY_NAMES[name]))


def compute_dtype(*dtypes: Any) -> Any:
    """float64 when any of ``dtypes`` is, else float32."""
    import torch

    return torch.float64 if torch.float64 in dtypes else torch.float32


def select_heads(tensor: Any, heads: tuple[int, ...], count: int) -> Any:
    """``tensor[:, heads]`` when it has one entry per head, else the tensor (broadcast)."""
    if tensor.dim() < 4 or tensor.shape[1] == 1:
        return tensor
    if tensor.shape[1] != count:
        raise ValueError(f"capture: a mask or bias with {tensor.shape[1]} heads, expected {count}")
    return tensor[:, list(heads)]


def real_keys(mask: Any, queries: int, keys: int, top_left: bool) -> int:
    """How many leading key columns hold real positions: all of them, except under a static
    cache (allocated length, unused tail masked) or SDPA's top-left causal prefill."""
    import torch

    if mask is None or not isinstance(mask, torch.Tensor) or mask.dim() < 2:
        return min(keys, queries) if top_left and queries > 1 else keys
    last = mask[..., -1, :keys]
    allowed = last if last.dtype == torch.bool else last > torch.finfo(last.dtype).min / 2
    seen = allowed.reshape(-1, allowed.shape[-1]).any(dim=0).nonzero()
    return int(seen[-1]) + 1 if len(seen) else keys


@dataclass
class Given:
    """Weights the model computed itself, ``(batch, heads, queries, keys)``."""

    tensor: Any
    keys: int

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
    def queries(self) -> int:
        return int(self.query.shape[-2])

    @property
    def heads(self) -> int:
        return int(self.query.shape[1])

    def weights(self, heads: tuple[int, ...], dtype: Any, block_bytes: int = BLOCK_BYTES) -> Any:
        """``softmax(Q Kᵀ · scale + ...)`` of the selected heads as a CPU tensor, computed
        ``block_bytes`` of scores at a time."""
        import torch

        batch, count, queries, _ = self.query.shape
        work = compute_dtype(self.query.dtype, dtype)
        selected = torch.tensor(heads, device=self.query.device)
        groups = count // self.key.shape[1]
        query = self.query.detach()[:, selected].to(work)
        keys = self.key.detach()[:, selected // groups, : self.keys].to(work).transpose(-1, -2)
        mask = None if self.mask is None else select_heads(self.mask, heads, count)
        bias = None if self.bias is None else select_heads(self.bias, heads, count)
        out = zeros((batch, len(heads), queries, self.keys), dtype or work)
        row_bytes = batch * len(heads) * self.keys * work.itemsize
        rows = max(1, min(queries, block_bytes // max(1, row_bytes)))
        scratch = torch.empty(rows * row_bytes // work.itemsize, dtype=work, device=query.device)
        sinks = None
        if self.sinks is not None:
            sinks = self.sinks.detach()[list(heads)].to(work).view(1, -1, 1, 1)
        with torch.no_grad():
            for start in range(0, queries, rows):
                stop = min(queries, start + rows)
                first, last = self._columns(start, stop)
                scores = scratch[: batch * len(heads) * (stop - start) * (last - first)]
                scores = scores.view(batch, len(heads), stop - start, last - first)
                torch.matmul(query[:, :, start:stop], keys[..., first:last], out=scores)
                self._adjust(scores, mask, bias, start, stop, first, last)
                if sinks is None:
                    torch.ops.aten._softmax.out(scores, -1, False, out=scores)
                else:
                    total = torch.logaddexp(torch.logsumexp(scores, -1, keepdim=True), sinks)
                    scores.sub_(total).exp_()
                out[:, :, start:stop, first:last].copy_(scores)
        return out

    def _columns(self, start: int, stop: int) -> tuple[int, int]:
        """The key columns rows ``start:stop`` can see (all, when a mask decides)."""
        if self.mask is not None:
            return 0, self.keys
        last = min(self.keys, stop + self.offset) if self.causal else self.keys
        first = 0 if self.window is None else max(0, start + self.offset - self.window + 1)
        return min(first, last - 1), last

    def _adjust(
        self, scores: Any, mask: Any, bias: Any, start: int, stop: int, first: int, last: int
    ) -> None:
        """Scale, soft-cap, add bias and mask, in place, as the model's attention does."""
        import torch

        lowest = torch.finfo(scores.dtype).min
        scores.mul_(self.scaling)
        if self.softcap is not None:
            scores.div_(self.softcap).tanh_().mul_(self.softcap)
        if bias is not None:
            scores.add_(bias[:, :, start:stop, first:last])
        if mask is not None and mask.dtype == torch.bool:
            scores.masked_fill_(~mask[:, :, start:stop, first:last], lowest)
        elif mask is not None:
            scores.add_(mask[:, :, start:stop, first:last])
        if mask is not None or not (self.causal or self.window is not None):
            return
        rows = torch.arange(start, stop, device=scores.device)[:, None] + self.offset
        if self.causal:  # only the columns right of the block's first row can be in the future
            edge = max(first, start + self.offset + 1)
            columns = torch.arange(edge, last, device=scores.device)
            scores[..., edge - first :].masked_fill_(columns > rows, lowest)
        if self.window is not None:  # only the columns left of the last row's window edge
            edge = min(last, stop - 1 + self.offset - self.window + 1)
            columns = torch.arange(first, max(first, edge), device=scores.device)
            scores[..., : len(columns)].masked_fill_(columns <= rows - self.window, lowest)


Call = Given | Recomputed


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
