"""izzyviz.capture on real transformers models: weights equal eager ``output_attentions``, outputs
are bitwise those of an uncaptured run, and the model and transformers are left as they were.

Every family is built small from its Config class (BERT is the real MiniLM) and loaded with its
default attention implementation (SDPA, except Gemma 2 and GPT-OSS, which transformers runs
eagerly); the reference is a deep copy switched to eager attention.
"""

from __future__ import annotations

import copy
import functools
import json
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

import izzyviz  # noqa: E402
from izzyviz.generation import (  # noqa: E402
    cross_attention_from_generate,
    decoder_self_attention_from_generate,
)
from tests.models import (  # noqa: E402
    VOCAB_SIZE,
    assert_matches_eager,
    devices,
    minilm,
    minilm_path,
    prompt_ids,
)

TOLERANCE = 1e-5
WINDOW = 4  # sliding window of the Mistral, Gemma 2 and GPT-OSS models (sequences are longer)
SMALL = {"vocab_size": VOCAB_SIZE, "hidden_size": 64, "intermediate_size": 128}
DECODER = {
    **SMALL,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "max_position_embeddings": 128,
    "initializer_range": 0.5,
    "pad_token_id": 2,
    "bos_token_id": 0,
    "eos_token_id": 1,
}
#: GQA with a sliding window shorter than the test sequences.
LOCAL = {**DECODER, "num_key_value_heads": 2, "head_dim": 16, "sliding_window": WINDOW}


def _llama() -> Any:
    from transformers import LlamaConfig, LlamaForCausalLM

    return LlamaForCausalLM(LlamaConfig(**DECODER, num_key_value_heads=2))  # GQA


def _qwen3() -> Any:
    from transformers import Qwen3Config, Qwen3ForCausalLM

    return Qwen3ForCausalLM(Qwen3Config(**DECODER, num_key_value_heads=1, head_dim=16))  # MQA


def _mistral() -> Any:
    from transformers import MistralConfig, MistralForCausalLM

    return MistralForCausalLM(MistralConfig(**LOCAL))


def _gemma2() -> Any:
    from transformers import Gemma2Config, Gemma2ForCausalLM

    config = Gemma2Config(**LOCAL, attn_logit_softcapping=2.0, query_pre_attn_scalar=20)
    return Gemma2ForCausalLM(config)


def _gpt_oss() -> Any:
    from transformers import GptOssConfig, GptOssForCausalLM

    config = GptOssConfig(**LOCAL, num_local_experts=4, num_experts_per_tok=2)
    model = GptOssForCausalLM(config)
    with torch.no_grad():
        for layer in model.model.layers:
            layer.self_attn.sinks.normal_(0.0, 2.0)  # learned sinks, far from zero
    return model


def _gpt2() -> Any:
    from transformers import GPT2Config, GPT2LMHeadModel

    config = GPT2Config(
        vocab_size=VOCAB_SIZE, n_positions=64, n_embd=32, n_layer=2, n_head=4,
        initializer_range=0.5, bos_token_id=0, eos_token_id=1, pad_token_id=2,
    )  # fmt: skip
    return GPT2LMHeadModel(config)


def _t5() -> Any:
    from transformers import T5Config, T5ForConditionalGeneration

    config = T5Config(
        vocab_size=VOCAB_SIZE, d_model=32, d_kv=8, d_ff=64, num_layers=2, num_decoder_layers=2,
        num_heads=4, pad_token_id=0, eos_token_id=1, decoder_start_token_id=0,
    )  # fmt: skip
    return T5ForConditionalGeneration(config)


def _bart() -> Any:
    from transformers import BartConfig, BartForConditionalGeneration

    config = BartConfig(
        vocab_size=VOCAB_SIZE, d_model=32, encoder_layers=2, decoder_layers=2,
        encoder_attention_heads=4, decoder_attention_heads=4, encoder_ffn_dim=64,
        decoder_ffn_dim=64, max_position_embeddings=64, pad_token_id=1, bos_token_id=0,
        eos_token_id=2, decoder_start_token_id=2, forced_bos_token_id=None,
        forced_eos_token_id=None, init_std=0.5,
    )  # fmt: skip
    return BartForConditionalGeneration(config)


def _bert() -> Any:
    from transformers import BertModel

    return BertModel.from_pretrained(minilm_path())


BUILDERS = {
    "bert": _bert,
    "gpt2": _gpt2,
    "llama": _llama,
    "qwen3": _qwen3,
    "mistral": _mistral,
    "gemma2": _gemma2,
    "gpt_oss": _gpt_oss,
    "t5": _t5,
    "bart": _bart,
}
ENCODER_DECODER = ("t5", "bart")
FIELDS = {
    "bert": ("attentions",),
    "t5": ("encoder_attentions", "decoder_attentions", "cross_attentions"),
    "bart": ("encoder_attentions", "decoder_attentions", "cross_attentions"),
}


@functools.cache
def models(family: str) -> tuple[Any, Any]:
    """``(model as loaded by default, eager copy)``; read-only."""
    torch.manual_seed(0)
    model = BUILDERS[family]().eval()
    eager = copy.deepcopy(model)
    eager.set_attn_implementation("eager")
    return model, eager


def batch(family: str) -> dict[str, Any]:
    """A padded batch of two: right padding for encoders, left padding for decoders."""
    if family == "bert":
        _, tokenizer = minilm()
        texts = ["The quick brown fox jumps over the lazy dog.", "A short one."]
        return dict(tokenizer(texts, return_tensors="pt", padding=True))
    ids = prompt_ids(12, batch=2)
    mask = torch.ones_like(ids)
    if family in ENCODER_DECODER:
        mask[1, -4:] = 0
        return {"input_ids": ids, "attention_mask": mask, "decoder_input_ids": prompt_ids(5, 2, 1)}
    mask[1, :4] = 0
    return {"input_ids": ids, "attention_mask": mask}


def run(model: Any, inputs: dict[str, Any], **kwargs: Any) -> Any:
    with torch.no_grad():
        return model(**inputs, **kwargs)


# -- exact, output unchanged, every family ----------------------------------------------------


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("family", [f for f in BUILDERS if f != "gpt_oss"])  # no float64 experts
def test_a_chosen_subset_equals_eager_and_outputs_are_unchanged(family: str, device: str) -> None:
    """In float64, so that the eager reference differs only by eager's float32 softmax (every
    layer of every family: tests/test_capture_zoo.py)."""
    model, eager = (copy.deepcopy(m).double().to(device) for m in models(family))
    inputs = {k: v.to(device) for k, v in batch(family).items()}
    plain = run(model, inputs)[0]
    with izzyviz.capture(model, layers=[-1], heads=[2, 0]) as cap:
        captured = run(model, inputs)
    assert torch.allclose(captured[0], plain, rtol=0, atol=0, equal_nan=True)
    reference = run(eager, inputs, output_attentions=True)
    for name in FIELDS.get(family, ("attentions",)):
        layers_used, heads_used = cap.selection[name]
        (got,) = getattr(cap, name)
        assert_matches_eager(got, getattr(reference, name)[layers_used[0]][:, list(heads_used)])
    assert cap.layers == ((5,) if family == "bert" else (1,))


def test_sliding_window_longer_than_sequence_is_honoured() -> None:
    model, _ = models("mistral")
    assert model.config._attn_implementation == "sdpa"
    with izzyviz.capture(model, layers=0, heads=1) as cap:
        run(model, {"input_ids": prompt_ids(12)})
    weights = cap.attentions[0][0, 0]
    rows, cols = np.indices(weights.shape)
    assert torch.all(weights[torch.from_numpy((rows - cols >= WINDOW) | (cols > rows))] == 0)
    assert torch.all(weights[torch.from_numpy((rows - cols < WINDOW) & (cols <= rows))] > 0)


# -- generate ---------------------------------------------------------------------------------


def _generate(model: Any, inputs: dict[str, Any], **kwargs: Any) -> Any:
    with torch.no_grad():
        return model.generate(
            **inputs, max_new_tokens=5, min_new_tokens=5, do_sample=False, **kwargs
        )


def whole_matrix(reference: Any, layer: int, head: int, b: int) -> Any:
    """The eager per-step attentions of ``generate`` stacked into one (positions x positions)
    matrix, each later step's row right-aligned: a sliding-window cache (Mistral, Gemma 2,
    GPT-OSS) keeps only the last keys, which :func:`decoder_self_attention_from_generate`
    rejects."""
    steps = [step[layer][b, head].numpy() for step in reference.attentions]
    positions = steps[0].shape[0] + len(steps) - 1
    matrix = np.zeros((positions, positions))
    matrix[: steps[0].shape[0], : steps[0].shape[1]] = steps[0]
    for row, step in enumerate(steps[1:], start=steps[0].shape[0]):
        matrix[row, row + 1 - step.shape[1] : row + 1] = step[-1]
    return matrix


@pytest.mark.parametrize("family", [f for f in BUILDERS if f != "bert"])
def test_generate_appends_rows_into_the_whole_matrix(family: str) -> None:
    model, eager = models(family)
    inputs = {k: v for k, v in batch(family).items() if k != "decoder_input_ids"}
    with izzyviz.capture(model, layers=[0, -1], heads=[3, 1]) as cap:
        sequences = _generate(model, inputs)
    reference = _generate(eager, inputs, output_attentions=True, return_dict_in_generate=True)
    assert torch.equal(sequences, reference.sequences)
    name = "decoder_attentions" if family in ENCODER_DECODER else "attentions"
    positions = sequences.shape[1] - 1
    for position, layer in enumerate((0, 1)):
        for column, head in enumerate((3, 1)):
            for b in range(2):
                if family in ENCODER_DECODER:
                    expected = decoder_self_attention_from_generate(
                        reference, layer, head, batch_index=b
                    )
                else:
                    expected = whole_matrix(reference, layer, head, b)
                got = getattr(cap, name)[position][b, column].numpy()
                assert got.shape == expected.shape == (positions, positions)
                assert np.abs(got - expected).max() <= TOLERANCE
                if family in ENCODER_DECODER:
                    cross = cross_attention_from_generate(reference, layer, head, batch_index=b)
                    got = cap.cross_attentions[position][b, column].numpy()
                    assert got.shape == cross.shape and np.abs(got - cross).max() <= TOLERANCE


def test_a_new_forward_starts_over_instead_of_appending() -> None:
    model, _ = models("llama")
    with izzyviz.capture(model, layers=0, heads=0) as cap:
        run(model, {"input_ids": prompt_ids(9)})
        run(model, {"input_ids": prompt_ids(6)})
    assert cap.attentions[0].shape == (1, 1, 6, 6)


# -- options ----------------------------------------------------------------------------------


def test_dtype_and_tiny_chunks_give_the_same_weights() -> None:
    model, _ = models("llama")
    inputs = batch("llama")
    with izzyviz.capture(model, heads=[1, 3]) as whole:
        run(model, inputs)
    with izzyviz.capture(model, heads=[1, 3], chunk_bytes=1) as rows:  # one query row a chunk
        run(model, inputs)
    with izzyviz.capture(model, heads=[1, 3], dtype="bfloat16") as half:
        run(model, inputs)
    for a, b, c in zip(whole.attentions, rows.attentions, half.attentions, strict=True):
        assert (a - b).abs().max() <= TOLERANCE  # only the matmul blocking differs
        assert c.dtype == torch.bfloat16 and (c.float() - a).abs().max() < 1e-2


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"layers": [5]}, IndexError, ["layers", "5", "2 layers"]),
        ({"layers": [0, -2]}, ValueError, ["layers", "twice"]),
        ({"heads": [4]}, IndexError, ["heads", "4", "4 heads"]),
        ({"heads": "0"}, TypeError, ["heads", "'0'"]),
        ({"heads": [0.5]}, TypeError, ["heads", "0.5"]),
        ({"layers": [True]}, TypeError, ["layers", "True"]),
        ({"layers": []}, ValueError, ["layers", "at least one"]),
        ({"heads": np.array([0, 4])}, IndexError, ["heads", "4"]),
        ({"dtype": "int8"}, ValueError, ["dtype", "int8"]),
        ({"chunk_bytes": 0}, ValueError, ["chunk_bytes", "0"]),
    ],
)
def test_bad_arguments_fail_before_the_model_runs(
    kwargs: dict[str, Any], error: type[Exception], words: list[str]
) -> None:
    model, _ = models("llama")
    with pytest.raises(error) as info:
        izzyviz.capture(model, **kwargs)
    assert all(word in str(info.value) for word in words), str(info.value)


def test_a_model_without_the_attention_interface_names_the_eager_fallback() -> None:
    from transformers import XLNetConfig, XLNetModel

    model = XLNetModel(XLNetConfig(vocab_size=32, d_model=16, n_layer=1, n_head=2, d_inner=32))
    with pytest.raises(TypeError, match=r"XLNetModel.*AttentionInterface.*'eager'"):
        izzyviz.capture(model)
    with pytest.raises(TypeError, match="model: expected a transformers model, got 'gpt2'"):
        izzyviz.capture("gpt2")


def test_results_name_what_is_missing() -> None:
    model, _ = models("llama")
    cap = izzyviz.capture(model, layers=-1)
    with pytest.raises(ValueError, match=r"cap.attentions: nothing was captured for layer\(s\) "):
        _ = cap.attentions
    with pytest.raises(AttributeError, match=r"cap\.cross_attentions: .* use cap\.attentions"):
        _ = cap.cross_attentions


# -- state: restored, nested, threads ---------------------------------------------------------


def _interface_state() -> dict[str, Any]:
    from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS

    return dict(vars(ALL_ATTENTION_FUNCTIONS))


def test_model_and_transformers_are_restored_also_on_an_exception() -> None:
    model, _ = models("bart")
    before_state = _interface_state()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    hooks = [len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules()]
    with pytest.raises(RuntimeError, match="boom"), izzyviz.capture(model) as cap:
        run(model, batch("bart"))
        raise RuntimeError("boom")
    assert _interface_state() == before_state
    assert model.config._attn_implementation == "sdpa"
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert hooks == [len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules()]
    assert cap.encoder_attentions[0].shape == (2, 4, 12, 12)  # what ran before is kept


def test_nested_captures_each_keep_their_own_selection_and_time() -> None:
    model, _ = models("gpt2")
    with izzyviz.capture(model, layers=0, heads=0) as outer:
        run(model, {"input_ids": prompt_ids(7)})
        with izzyviz.capture(model, layers=1) as inner:
            run(model, {"input_ids": prompt_ids(5)})
        run(model, {"input_ids": prompt_ids(3)})
    assert outer.attentions[0].shape == (1, 1, 3, 3)
    assert inner.attentions[0].shape == (1, 4, 5, 5)


def test_threads_do_not_see_each_others_captures() -> None:
    model, _ = models("gpt2")
    seen: dict[str, Any] = {}
    started, go = threading.Event(), threading.Event()

    def other() -> None:
        started.set()
        go.wait(10)
        seen["plain"] = run(model, {"input_ids": prompt_ids(4)})[0]  # no capture in this thread
        with izzyviz.capture(model, heads=1) as cap:
            run(model, {"input_ids": prompt_ids(6)})
        seen["own"] = cap.attentions[0].shape

    thread = threading.Thread(target=other)
    thread.start()
    started.wait(10)
    with izzyviz.capture(model, layers=0) as mine:
        go.set()
        thread.join(30)
        run(model, {"input_ids": prompt_ids(8)})
    assert mine.attentions[0].shape == (1, 4, 8, 8)
    assert seen["own"] == (1, 1, 6, 6)
    assert _interface_state().get("get_interface") is None


# -- into the drawing functions ---------------------------------------------------------------


def test_results_feed_heatmap_rollout_scores_and_report(tmp_path: Path) -> None:
    model, tokenizer = models("bert")[0], minilm()[1]
    inputs = tokenizer("The cat sat on the mat.", return_tensors="pt")
    tokens = tokenizer.convert_ids_to_tokens(inputs["input_ids"][0])
    with izzyviz.capture(model, heads=[0, 5]) as cap:
        run(model, dict(inputs))
    fig = izzyviz.heatmap(cap.attentions[-1][0, 1], tokens, tokens)
    assert fig.save(tmp_path / "head.svg").stat().st_size > 0
    rollout = izzyviz.attention_rollout(cap.attentions)
    assert rollout.shape == (len(tokens), len(tokens))
    assert izzyviz.head_scores(cap.attentions, tokens).shape == (6, 2)
    assert izzyviz.overview(cap.attentions, tokens).data is not None
    izzyviz.visualize_attention_encoder_only(
        cap.attentions, tokens, layer=-1, head=0, save_path=str(tmp_path / "seed.pdf")
    )
    assert (tmp_path / "seed.pdf").stat().st_size > 0


# -- the model command ------------------------------------------------------------------------


def test_model_command_captures_one_head_of_a_long_text_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from izzyviz.cli import main

    text = tmp_path / "long.txt"
    text.write_text("The quick brown fox jumps over the lazy dog. " * 40, encoding="utf-8")
    out = tmp_path / "head.png"
    args = ["model", str(minilm_path()), "--text-file", str(text), "-o", str(out), "--json"]
    assert main([*args, "--layer", "2", "--head", "-1", "--top-n", "0"]) == 0
    data = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    assert (data["layer"], data["head"], len(data["tokens"])) == (2, 11, 402)  # absolute
    assert out.stat().st_size > 0
    assert main([*args, "--layer", "6", "--head", "0"]) == 2  # a usage error, before loading
    assert capsys.readouterr().err.splitlines()[-1].startswith("izzyviz: error: --layer: index 6")
    assert main([*args[:2], "--text-file", str(tmp_path / "missing.txt")]) == 1
    assert "--text-file" in capsys.readouterr().err
