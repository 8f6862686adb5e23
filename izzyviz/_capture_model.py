"""Where a model's attention is, for :mod:`izzyviz.capturing`: its stacks, named and counted as
transformers' ``output_attentions`` names and counts them.

A stack is the attention modules of one sub-model (the nearest ``PreTrainedModel`` above them,
its *owner*: ``LlamaModel``, ``BartEncoder``, ``T5Stack``, ...), one entry per call in a forward
pass of the owner. Each module reaches its weights by one of two routes:

* ``"interface"``: its forward looks its attention function up in transformers'
  ``ALL_ATTENTION_FUNCTIONS`` (nearly every model in transformers 5);
* ``"output"``: it computes the weights itself and returns them second in its output
  (:data:`OWN_WEIGHTS`: BLOOM, MPT, XGLM, DeBERTa v1-v3, LED's decoder).

Attention whose weights are not a (query x key) matrix (:data:`LOCAL_ATTENTION`: LongT5's and
LED's encoders) makes a refused stack, which says what to do instead when it is read.
A wrapper around one transformers model (``torch.nn.Sequential``, a SentenceTransformer) is
resolved to that model; a wrapper around several is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from izzyviz._validate import describe

EAGER_FALLBACK = (
    "load it with attn_implementation='eager' and call it with output_attentions=True instead"
)

#: Attention modules off the interface that return their own weights second in their output:
#: the keyword that makes them return the weights, or None when they always do.
OWN_WEIGHTS: dict[str, str | None] = {
    "BloomAttention": None,
    "MptAttention": None,
    "XGLMAttention": None,
    "DisentangledSelfAttention": "output_attentions",  # DeBERTa, DeBERTa-v2 and v3
    "LEDDecoderAttention": "output_attentions",
}
_LOCAL = (
    "{model}'s encoder uses {kind} ({cls}), whose weights are {shape}, not a (query x key) "
    "matrix izzyviz can capture; for those, run the encoder with attn_implementation='eager' "
    "and output_attentions=True. The decoder is captured as usual: use {use}"
)
#: Attention modules whose weights are not a (query x key) matrix: what they are instead.
LOCAL_ATTENTION: dict[str, tuple[str, str]] = {
    "LongT5LocalAttention": ("local attention", "(blocks, block, 3 x block) per block of tokens"),
    "LongT5TransientGlobalAttention": (
        "transient-global local attention",
        "(blocks, block, 3 x block + global) per block of tokens",
    ),
    "LEDEncoderSelfAttention": (
        "Longformer's sliding-window attention",
        "(tokens, window + global) bands",
    ),
}


@dataclass(frozen=True)
class Stack:
    """One stack of attention calls: its result name, the sub-model whose forward is one pass,
    its modules, the calls per pass (``depth``), the heads, and the route to the weights (or
    why it is refused)."""

    name: str
    owner: Any
    modules: tuple[Any, ...]
    depth: int
    heads: int
    route: str
    refusal: str | None = None


def route(module: Any) -> str | None:
    """``"interface"``, ``"output"`` or ``"local"`` for an attention module, else None."""
    name = type(module).__name__
    if name in LOCAL_ATTENTION:
        return "local"
    if name in OWN_WEIGHTS:
        return "output"
    function = getattr(type(module), "forward", None)
    while function is not None:
        code = getattr(function, "__code__", None)
        if code is not None and "ALL_ATTENTION_FUNCTIONS" in code.co_names:
            return "interface"
        function = getattr(function, "__wrapped__", None)
    return None


def head_count(module: Any) -> int | None:
    """How many query heads an attention module has, from its attributes or config."""
    for name in ("num_heads", "num_attention_heads", "n_heads", "n_head"):
        value = getattr(module, name, None)
        if isinstance(value, int):
            return value
    value = getattr(getattr(module, "config", None), "num_attention_heads", None)
    return value if isinstance(value, int) else None


def find_stacks(model: Any) -> list[Stack]:
    """The model's stacks of attention, named as transformers names its outputs."""
    root = _root(model)
    groups = _grouped(root)
    if not groups:
        raise TypeError(
            f"model: {type(root).__name__} does not route its attention through transformers' "
            f"AttentionInterface (an older or remote-code model), so izzyviz cannot capture it; "
            f"{EAGER_FALLBACK}"
        )
    encoder = None
    if getattr(root.config, "is_encoder_decoder", False) and hasattr(root, "get_encoder"):
        encoder = root.get_encoder()
    names: dict[str, str] = {}
    stacks: list[Stack] = []
    for owner_path, (owner, layers) in groups.items():
        in_encoder = encoder is not None and any(owner is m for m in encoder.modules())
        kind = "attentions" if encoder is None else "decoder_attentions"
        kind = "encoder_attentions" if in_encoder else kind
        if kind in names:
            raise TypeError(
                f"model: {type(root).__name__} has several sub-models with attention "
                f"({_path(names[kind])}, {_path(owner_path)}); capture one of them instead, "
                f"e.g. izzyviz.capture({_path(owner_path)}), or {EAGER_FALLBACK}"
            )
        names[kind] = owner_path
        crossed = not in_encoder and all(len(m) == 2 for m in layers)
        crossed = crossed and (encoder is not None or _adds_cross_attention(owner))
        if not crossed:
            stacks.append(_stack(kind, owner, [m for layer in layers for m in layer], root))
            continue
        stacks.append(_stack(kind, owner, [layer[0] for layer in layers], root))
        stacks.append(_stack("cross_attentions", owner, [layer[1] for layer in layers], root))
    return stacks


def _root(model: Any) -> Any:
    """The one transformers model in ``model`` (``model`` itself, or the one it wraps)."""
    from transformers import PreTrainedModel

    if isinstance(model, PreTrainedModel):
        return model
    if not callable(getattr(model, "named_modules", None)):
        raise TypeError(f"model: expected a transformers model, got {describe(model)}")
    tops: list[tuple[str, Any]] = []
    for path, module in model.named_modules():
        inside = any(path.startswith(top + ".") for top, _ in tops)
        if isinstance(module, PreTrainedModel) and not inside:
            tops.append((path, module))
    tops = [(path, top) for path, top in tops if _grouped(top)] or tops
    if len(tops) == 1:
        return tops[0][1]
    if not tops:
        raise TypeError(
            f"model: {type(model).__name__} holds no transformers model (PreTrainedModel); "
            "expected a transformers model or a module wrapping one"
        )
    paths = ", ".join(repr(path) for path, _ in tops)
    raise TypeError(
        f"model: {type(model).__name__} wraps several transformers models ({paths}), so its "
        f"layers are ambiguous; capture one of them, e.g. izzyviz.capture(model.{tops[0][0]})"
    )


def _grouped(root: Any) -> dict[str, tuple[Any, list[list[Any]]]]:
    """``{owner path: (owner, layers)}``: each attention module under its nearest
    ``PreTrainedModel``, grouped by the layer (first numbered part of its path) it sits in."""
    from transformers import PreTrainedModel

    owners: dict[str, Any] = {}
    groups: dict[str, tuple[Any, dict[str, list[Any]]]] = {}
    for path, module in root.named_modules():
        if isinstance(module, PreTrainedModel):
            owners[path] = module
        if route(module) is None:
            continue
        owner_path = max((p for p in owners if p == "" or path.startswith(p + ".")), key=len)
        relative = path[len(owner_path) :].lstrip(".")
        match = re.match(r"^(.*?\d+)(\.|$)", relative)
        layer = match.group(1) if match else relative
        _, layers = groups.setdefault(owner_path, (owners[owner_path], {}))
        layers.setdefault(layer, []).append(module)
    return {path: (owner, list(layers.values())) for path, (owner, layers) in groups.items()}


def _adds_cross_attention(owner: Any) -> bool:
    return bool(getattr(getattr(owner, "config", None), "add_cross_attention", False))


def _stack(name: str, owner: Any, modules: list[Any], root: Any) -> Stack:
    routes = {route(m) or "none" for m in modules}
    kind = routes.pop() if len(routes) == 1 else "mixed"
    if kind == "local":
        cls = type(modules[0]).__name__
        what, shape = LOCAL_ATTENTION[cls]
        refusal = _LOCAL.format(
            model=type(root).__name__, kind=what, cls=cls, shape=shape,
            use="cap.decoder_attentions and cap.cross_attentions",
        )  # fmt: skip
        return Stack(name, owner, tuple(modules), len(modules), 0, kind, refusal)
    if kind == "mixed":
        raise TypeError(
            f"model: {type(root).__name__} mixes attention izzyviz can and cannot read in one "
            f"stack ({sorted(type(m).__name__ for m in modules)}); {EAGER_FALLBACK}"
        )
    heads = head_count(modules[0])
    if heads is None:
        raise TypeError(
            f"model: cannot tell how many heads {type(modules[0]).__name__} has; {EAGER_FALLBACK}"
        )
    return Stack(name, owner, tuple(modules), _depth(owner, len(modules)), heads, kind)


def _depth(owner: Any, modules: int) -> int:
    """Calls per pass: one per module, except where layers share modules. ALBERT runs its
    ``num_hidden_groups`` groups of modules ``num_hidden_layers`` times in all."""
    config = getattr(owner, "config", None)
    groups = getattr(config, "num_hidden_groups", None)
    layers = getattr(config, "num_hidden_layers", None)
    if isinstance(groups, int) and isinstance(layers, int) and groups > 0:
        return layers * modules // groups
    return modules


def _path(path: str) -> str:
    return "model" if not path else f"model.{path}"
