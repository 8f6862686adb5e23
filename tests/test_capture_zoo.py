"""izzyviz.capture across transformers' model zoo, against eager ``output_attentions``.

Every architecture is built tiny and random from its Config class (:func:`tests.models.tiny`:
hidden 32, 2 layers, 4 heads) with the attention transformers picks by default (SDPA where the
model offers it), in float64 where the model runs in float64, so that the eager reference and the
captured model agree up to eager's own float32 softmax. The batch has a padded row. Checked for
each: the model's outputs are bitwise those of an uncaptured run; every stack has as many layers
as eager's and each layer's weights equal eager's; the model is left as it was.
"""

from __future__ import annotations

import copy
import sys
from typing import Any

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

import izzyviz  # noqa: E402
from tests.models import assert_matches_eager, devices, prompt_ids, tiny  # noqa: E402

WINDOW = 4
SHARED_GROUPS = {"num_hidden_layers": 4, "num_hidden_groups": 2, "inner_group_num": 2}
#: id -> (model type, overrides); encoders get right padding, decoders left padding.
ZOO: dict[str, tuple[str, dict[str, Any]]] = {
    name: (name, {})
    for name in (
        "llama", "qwen2", "qwen3", "gemma", "phi", "phi3", "gpt2", "gpt_neox", "gptj",
        "codegen", "opt", "falcon", "stablelm", "olmo", "olmo2", "cohere", "starcoder2",
        "granite", "smollm3", "gpt_bigcode", "biogpt", "glm", "glm4", "mixtral", "qwen2_moe",
        "qwen3_moe", "bert", "roberta", "distilbert", "electra", "modernbert", "t5", "mt5",
        "umt5", "bart", "mbart", "pegasus", "marian", "m2m_100", "nllb-moe",
        # off the attention interface: the modules' own weights
        "bloom", "mpt", "xglm", "deberta", "deberta-v2", "led", "longt5",
    )
}  # fmt: skip
ZOO |= {
    "mistral": ("mistral", {"sliding_window": WINDOW}),
    "gemma2": ("gemma2", {"sliding_window": WINDOW, "attn_logit_softcapping": 2.0}),
    "gemma3": ("gemma3_text", {"sliding_window": WINDOW}),
    "gpt_oss": ("gpt_oss", {"sliding_window": WINDOW}),
    "deepseek_v3": ("deepseek_v3", {"num_key_value_heads": 4}),
    "albert": ("albert", {}),  # one module shared by both layers
    "albert-groups": ("albert", SHARED_GROUPS),  # 2 groups of 2 modules, run 4 times: 8 calls
}
#: Models whose kernels have no float64 (grouped matmul of the experts; XGLM's mask).
FLOAT32 = {"mixtral", "qwen2_moe", "qwen3_moe", "gpt_oss", "xglm"}
ENCODERS = {"bert", "roberta", "distilbert", "electra", "modernbert", "albert", "albert-groups"}
ENCODERS |= {"deberta", "deberta-v2"}
#: Encoders whose attention is local (blocks or bands), refused with what to do instead.
LOCAL = {"led": "Longformer's sliding-window attention", "longt5": "local attention"}


def build(name: str, device: str = "cpu") -> Any:
    model_type, overrides = ZOO[name]
    model = tiny(model_type, **overrides)
    if name == "gpt_oss":
        with torch.no_grad():
            for layer in model.layers:
                layer.self_attn.sinks.normal_(0.0, 2.0)  # learned sinks, far from zero
    model = model if name in FLOAT32 else model.double()
    return model.to(device)


def padded_batch(name: str, model: Any) -> dict[str, Any]:
    ids = prompt_ids(10, batch=2).to(model.device)
    mask = torch.ones_like(ids)
    encoder_decoder = model.config.is_encoder_decoder
    if name in ENCODERS or encoder_decoder:
        mask[1, -3:] = 0
    else:
        mask[1, :3] = 0
    inputs = {"input_ids": ids, "attention_mask": mask}
    if encoder_decoder:
        inputs["decoder_input_ids"] = prompt_ids(5, 2, 1).to(model.device)
    return inputs


def eager_copy(model: Any) -> Any:
    eager = copy.deepcopy(model)
    eager.set_attn_implementation("eager")
    return eager


def untouched(model: Any) -> bool:
    return all(
        "forward" not in vars(m) and not m._forward_hooks and not m._forward_pre_hooks
        for m in model.modules()
    )


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("name", sorted(ZOO))
def test_weights_equal_eager_and_outputs_are_unchanged(name: str, device: str) -> None:
    model = build(name, device)
    inputs = padded_batch(name, model)
    with torch.no_grad():
        plain = model(**inputs)
        with izzyviz.capture(model) as cap:
            captured = model(**inputs)
        reference = eager_copy(model)(**inputs, output_attentions=True)
    assert torch.allclose(captured[0], plain[0], rtol=0, atol=0, equal_nan=True)
    assert untouched(model)
    names = list(cap.selection)
    assert names == (["attentions"] if "encoder_attentions" not in reference else [])  + [
        n for n in ("encoder_attentions", "decoder_attentions", "cross_attentions")
        if n in names
    ]  # fmt: skip
    for field in names:
        got, expected = getattr(cap, field), getattr(reference, field)
        assert cap.selection[field][0] == tuple(range(len(expected)))
        for tensor, eager in zip(got, expected, strict=True):
            assert tensor.device.type == "cpu"
            assert tensor.dtype == (torch.float32 if name in FLOAT32 else torch.float64)
            assert_matches_eager(tensor, eager)


@pytest.mark.parametrize("name", sorted(LOCAL))
def test_local_attention_encoders_are_refused_with_what_to_do(name: str) -> None:
    model = build(name)
    inputs = padded_batch(name, model)
    with izzyviz.capture(model, layers=-1) as cap, torch.no_grad():
        model(**inputs)
    assert cap.decoder_attentions[0].shape == (2, 4, 5, 5)
    with pytest.raises(TypeError, match=rf"{LOCAL[name]}.*output_attentions=True.*decoder"):
        _ = cap.encoder_attentions
    with pytest.raises(TypeError, match=LOCAL[name]):
        izzyviz.capture(model.get_encoder())


def test_weights_asked_for_by_the_caller_are_still_returned() -> None:
    model = build("deberta-v2")
    inputs = padded_batch("deberta-v2", model)
    with izzyviz.capture(model, heads=[2]) as cap, torch.no_grad():
        silent = model(**inputs)
        asked = model(**inputs, output_attentions=True)
    assert silent.attentions is None
    for got, returned in zip(cap.attentions, asked.attentions, strict=True):
        assert torch.equal(got[:, 0], returned[:, 2])


@pytest.mark.parametrize("name", ["gemma2", "gpt_oss"])
def test_an_attention_function_without_weights_is_recomputed_exactly(name: str) -> None:
    """A registered attention function that returns no weights (as SDPA or flash) makes capture
    recompute them: soft-capping (Gemma 2) and learned sinks (gpt-oss) included."""
    from transformers import AttentionInterface, AttentionMaskInterface
    from transformers.masking_utils import eager_mask
    from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS

    def weightless(*args: Any, **kwargs: Any) -> tuple[Any, None]:
        output, _ = ALL_ATTENTION_FUNCTIONS.get_interface("eager", eager)(*args, **kwargs)
        return output, None

    model = build(name)
    eager = sys.modules[type(model.layers[0].self_attn).__module__].eager_attention_forward
    AttentionInterface.register("izzyviz_weightless", weightless)
    AttentionMaskInterface.register("izzyviz_weightless", eager_mask)
    recomputed = copy.deepcopy(model)
    recomputed.set_attn_implementation("izzyviz_weightless")
    inputs = padded_batch(name, model)
    with izzyviz.capture(recomputed) as cap, torch.no_grad():
        recomputed(**inputs)
    with torch.no_grad():
        reference = model(**inputs, output_attentions=True).attentions
    for got, expected in zip(cap.attentions, reference, strict=True):
        assert_matches_eager(got, expected)


def test_a_window_given_only_as_an_argument_equals_eager() -> None:
    """Flash attention gets no mask, only ``sliding_window`` (and causality from the module):
    here a CPU function called the same way stands in for it."""
    from transformers import AttentionInterface, AttentionMaskInterface

    def windowed(module: Any, query: Any, key: Any, value: Any, mask: Any, **kwargs: Any) -> Any:
        assert mask is None
        rows = torch.arange(query.shape[-2])[:, None] + key.shape[-2] - query.shape[-2]
        columns = torch.arange(key.shape[-2])
        seen = (columns <= rows) & (columns > rows - kwargs["sliding_window"])
        output = torch.nn.functional.scaled_dot_product_attention(
            query, key, value, attn_mask=seen, scale=kwargs["scaling"], enable_gqa=True
        )
        return output.transpose(1, 2).contiguous(), None

    AttentionInterface.register("izzyviz_windowed", windowed)
    AttentionMaskInterface.register("izzyviz_windowed", lambda *args, **kwargs: None)
    model = build("mistral")
    windowless = copy.deepcopy(model)
    windowless.set_attn_implementation("izzyviz_windowed")
    ids = prompt_ids(20)
    with izzyviz.capture(windowless, chunk_bytes=3 * 8 * 20) as cap, torch.no_grad():
        windowless(ids)
    with torch.no_grad():
        reference = eager_copy(model)(ids, output_attentions=True).attentions
    for got, expected in zip(cap.attentions, reference, strict=True):
        assert_matches_eager(got, expected)


# -- generate() with left padding -------------------------------------------------------------

GENERATORS = {
    "llama": "AutoModelForCausalLM",
    "gemma3": "AutoModelForCausalLM",
    "gpt_oss": "AutoModelForCausalLM",
    "t5": "AutoModelForSeq2SeqLM",
}


def generator(name: str, device: str) -> Any:
    model_type, overrides = ZOO[name]
    if name == "gemma3":
        overrides = {**overrides, "layer_types": ["sliding_attention", "full_attention"]}
    model = tiny(model_type, GENERATORS[name], **overrides)
    if name == "gpt_oss":
        with torch.no_grad():
            for layer in model.model.layers:
                layer.self_attn.sinks.normal_(0.0, 2.0)
    model.generation_config.decoder_start_token_id = 0
    return (model if name in FLOAT32 else model.double()).to(device)


def teacher_forced(model: Any, name: str, inputs: dict[str, Any], sequences: Any) -> Any:
    """Eager attention over what generate() fed the model, in one forward pass."""
    eager = eager_copy(model)
    with torch.no_grad():
        if name == "t5":
            return eager(**inputs, decoder_input_ids=sequences[:, :-1], output_attentions=True)
        mask = torch.cat([inputs["attention_mask"], torch.ones_like(sequences[:, 12:-1])], -1)
        positions = (mask.cumsum(-1) - 1).masked_fill(mask == 0, 1)  # as generate() counts
        return eager(sequences[:, :-1], attention_mask=mask, position_ids=positions,
                     output_attentions=True)  # fmt: skip


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_generate_with_left_padding_gives_each_position_its_row(name: str, device: str) -> None:
    model = generator(name, device)
    ids = prompt_ids(12, batch=2).to(device)
    mask = torch.ones_like(ids)
    mask[1, -4:] = 0 if name == "t5" else 1
    mask[1, :4] = 1 if name == "t5" else 0  # the decoders' pad is on the left
    inputs = {"input_ids": ids, "attention_mask": mask}
    with izzyviz.capture(model, heads=[3, 1]) as cap, torch.no_grad():
        sequences = model.generate(
            **inputs, max_new_tokens=6, min_new_tokens=6, do_sample=False, pad_token_id=2
        )
    reference = teacher_forced(model, name, inputs, sequences)
    fields = ["decoder_attentions", "cross_attentions"] if name == "t5" else ["attentions"]
    for field in fields:
        eager_field = "attentions" if field == "attentions" else field
        for got, expected in zip(getattr(cap, field), getattr(reference, eager_field), strict=True):
            assert_matches_eager(got, expected[:, [3, 1]])


def test_shared_modules_are_counted_per_call_and_chosen_from_the_end() -> None:
    model = build("albert-groups")
    inputs = padded_batch("albert-groups", model)
    with izzyviz.capture(model, layers=[-1, 1], heads=0) as cap, torch.no_grad():
        model(**inputs)
        model(**inputs)  # a second pass starts the count again
    with torch.no_grad():
        reference = eager_copy(model)(**inputs, output_attentions=True).attentions
    assert len(reference) == 8 and cap.layers == (7, 1)
    for got, layer in zip(cap.attentions, (7, 1), strict=True):
        assert_matches_eager(got, reference[layer][:, :1])


@pytest.mark.parametrize("chunk_bytes", [None, 3 * 8 * 20], ids=["whole", "3-row-blocks"])
@pytest.mark.parametrize("name", ["llama", "mistral", "gemma3", "qwen3", "gpt2", "t5"])
def test_causal_and_window_patterns_without_a_mask_equal_eager(
    name: str, chunk_bytes: int | None
) -> None:
    """One unpadded text: SDPA gets no mask, only is_causal, and capture multiplies only the
    keys each block of rows can see (the sliding window's too), here in blocks of 3 rows."""
    model = build(name)
    inputs = {"input_ids": prompt_ids(20).to(model.device)}
    if model.config.is_encoder_decoder:
        inputs["decoder_input_ids"] = prompt_ids(20, 1, 1)
    options = {} if chunk_bytes is None else {"chunk_bytes": chunk_bytes}
    with izzyviz.capture(model, **options) as cap, torch.no_grad():
        model(**inputs)
    with torch.no_grad():
        reference = eager_copy(model)(**inputs, output_attentions=True)
    field = "decoder_attentions" if model.config.is_encoder_decoder else "attentions"
    for got, expected in zip(getattr(cap, field), getattr(reference, field), strict=True):
        assert_matches_eager(got, expected)
