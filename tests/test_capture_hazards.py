"""izzyviz.capture gives the right weights or a clear error, never a silent wrong answer.

Each test here was written against the first capture (a process-wide patch of
``AttentionInterface.get_interface``) and seen to fail: wrapped models, static caches, decoding
that reorders or rewinds rows, interrupted forwards, captures left from another thread or out of
order, ``torch.compile`` elsewhere, and dtype spellings.
"""

from __future__ import annotations

import copy
import threading
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

import izzyviz  # noqa: E402
from tests.models import minilm, minilm_path, prompt_ids, tiny  # noqa: E402

TOLERANCE = 1e-5


def llama() -> Any:
    return tiny("llama", "AutoModelForCausalLM", num_key_value_heads=2)


def eager_copy(model: Any) -> Any:
    eager = copy.deepcopy(model)
    eager.set_attn_implementation("eager")
    return eager


def bert_sdpa() -> Any:
    from transformers import BertModel

    return BertModel.from_pretrained(minilm_path()).eval()


def max_difference(a: Any, b: Any) -> float:
    a, b = torch.as_tensor(a).detach().double(), torch.as_tensor(b).detach().double()
    return float((a - b).abs().max())


def greedy(model: Any, ids: Any, **kwargs: Any) -> Any:
    with torch.no_grad():
        return model.generate(
            ids, max_new_tokens=3, min_new_tokens=3, do_sample=False, pad_token_id=2, **kwargs
        )


# -- wrapped models ---------------------------------------------------------------------------


def test_a_wrapped_model_counts_layers_as_the_inner_model_does() -> None:
    bert = bert_sdpa()
    _, tokenizer = minilm()
    inputs = dict(tokenizer("The quick brown fox jumps.", return_tensors="pt"))
    wrapped = torch.nn.Sequential(bert)
    with torch.no_grad(), izzyviz.capture(wrapped, layers=-1, heads=3) as cap:
        bert(**inputs)
    reference = minilm()[0](**inputs, output_attentions=True).attentions
    assert cap.layers == (5,)
    assert max_difference(cap.attentions[0][:, 0], reference[5][:, 3]) <= TOLERANCE


def test_a_sentence_transformer_reports_every_layer_of_its_model() -> None:
    sentence_transformers = pytest.importorskip("sentence_transformers")
    model = sentence_transformers.SentenceTransformer(str(minilm_path()), device="cpu")
    with torch.no_grad(), izzyviz.capture(model) as cap:
        model.encode(["A sentence to embed."])
    assert len(cap.attentions) == 6 and cap.layers == tuple(range(6))


def test_a_wrapper_of_several_models_is_refused_with_their_paths() -> None:
    pair = torch.nn.ModuleDict({"left": bert_sdpa(), "right": llama()})
    with pytest.raises(TypeError, match=r"'left'.*'right'.*capture one of them"):
        izzyviz.capture(pair)


# -- generate() -------------------------------------------------------------------------------


def test_a_static_cache_is_trimmed_to_the_real_positions() -> None:
    model = llama()
    first, second = prompt_ids(7, seed=1), prompt_ids(4, seed=2)
    with izzyviz.capture(model, layers=-1, heads=1) as cap:
        greedy(model, first, cache_implementation="static")
        sequences = greedy(model, second, cache_implementation="static")
    fed = sequences[:, :-1]
    with torch.no_grad():
        reference = eager_copy(model)(fed, output_attentions=True).attentions[-1][:, 1]
    assert cap.attentions[0].shape == (1, 1, 6, 6)
    assert max_difference(cap.attentions[0][:, 0], reference) <= TOLERANCE


@pytest.mark.parametrize(
    ("options", "mode"),
    [
        ({"num_beams": 3, "num_return_sequences": 3}, "beam"),
        ({"prompt_lookup_num_tokens": 3}, "assisted"),
        ({"assistant_model": "self"}, "assisted"),
    ],
    ids=["beam-search", "prompt-lookup", "assisted"],
)
def test_decoding_that_reorders_or_rewinds_rows_is_refused(
    options: dict[str, Any], mode: str
) -> None:
    model = llama()
    if options.get("assistant_model") == "self":
        options = {**options, "assistant_model": copy.deepcopy(model)}
    ids = torch.tensor([[5, 6, 7, 5, 6, 7, 5, 6]])
    with (
        izzyviz.capture(model) as cap,
        pytest.raises(ValueError, match=rf"(?i)capture.*{mode}.*greedy or sampl"),
    ):
        greedy(model, ids, **options)
    with pytest.raises(ValueError, match="nothing was captured"):
        _ = cap.attentions


def test_sampled_sequences_each_get_their_own_rows() -> None:
    model = llama()
    torch.manual_seed(3)
    with izzyviz.capture(model, layers=0) as cap, torch.no_grad():
        sequences = model.generate(
            prompt_ids(5), max_new_tokens=4, do_sample=True, num_return_sequences=3,
            pad_token_id=2,
        )  # fmt: skip
    eager = eager_copy(model)
    assert cap.attentions[0].shape[0] == 3
    for row, sequence in enumerate(sequences):
        with torch.no_grad():
            reference = eager(sequence[None, :-1], output_attentions=True).attentions[0]
        assert max_difference(cap.attentions[0][row], reference[0]) <= TOLERANCE


# -- interrupted forwards ---------------------------------------------------------------------


def test_an_interrupted_forward_says_so_instead_of_mixing_inputs() -> None:
    model = llama()
    with izzyviz.capture(model) as cap:
        with torch.no_grad():
            model(prompt_ids(6, seed=1))

        def interrupt(*_: Any) -> None:
            raise KeyboardInterrupt

        handle = model.model.layers[1].register_forward_pre_hook(interrupt)
        with pytest.raises(KeyboardInterrupt), torch.no_grad():
            model(prompt_ids(6, seed=2))
        handle.remove()
        with pytest.raises(RuntimeError, match="interrupted"):
            _ = cap.attentions
        with torch.no_grad():
            model(prompt_ids(6, seed=2))
    with torch.no_grad():
        reference = eager_copy(model)(prompt_ids(6, seed=2), output_attentions=True).attentions
    for got, expected in zip(cap.attentions, reference, strict=True):
        assert max_difference(got, expected) <= TOLERANCE


# -- leaving: other threads, out of order -----------------------------------------------------


def _untouched(model: Any) -> bool:
    """No izzyviz attribute, hook or forward left on any module."""
    return all(
        "forward" not in vars(m)
        and "_validate_generation_mode" not in vars(m)
        and not m._forward_hooks
        and not m._forward_pre_hooks
        for m in model.modules()
    )


def test_a_capture_left_from_another_thread_stops_and_restores_the_model() -> None:
    model = llama()
    cap = izzyviz.capture(model, layers=0)
    cap.__enter__()
    with torch.no_grad():
        model(prompt_ids(5))
    errors: list[BaseException] = []

    def leave() -> None:
        try:
            cap.__exit__(None, None, None)
        except BaseException as exc:  # the old capture raised a ContextVar ValueError here
            errors.append(exc)

    thread = threading.Thread(target=leave)
    thread.start()
    thread.join(30)
    assert errors == []
    with torch.no_grad():
        model(prompt_ids(9))  # after the exit: not recorded
    assert cap.attentions[0].shape == (1, 4, 5, 5)
    assert _untouched(model)


def test_nested_captures_left_out_of_order_leave_nothing_active() -> None:
    model = llama()
    outer = izzyviz.capture(model, layers=0)
    inner = izzyviz.capture(model, layers=1)
    outer.__enter__()
    inner.__enter__()
    outer.__exit__(None, None, None)
    with torch.no_grad():
        model(prompt_ids(4))
    inner.__exit__(None, None, None)
    with torch.no_grad():
        model(prompt_ids(7))
    assert inner.attentions[0].shape == (1, 4, 4, 4)
    with pytest.raises(ValueError, match="nothing was captured"):
        _ = outer.attentions
    with izzyviz.capture(model, layers=0) as fresh, torch.no_grad():
        model(prompt_ids(3))
    assert fresh.attentions[0].shape == (1, 4, 3, 3)
    assert _untouched(model)


def test_torch_compile_in_another_thread_keeps_working() -> None:
    captured, other = llama(), llama()
    ids = prompt_ids(6)
    with torch.no_grad():
        expected = other(ids).logits
    result: dict[str, Any] = {}

    def compile_other() -> None:
        try:
            compiled = torch.compile(other, fullgraph=True, backend="eager")
            with torch.no_grad():
                result["logits"] = compiled(ids).logits
        except BaseException as exc:
            result["error"] = exc

    with izzyviz.capture(captured):
        thread = threading.Thread(target=compile_other)
        thread.start()
        thread.join(300)
    torch._dynamo.reset()
    assert "error" not in result, repr(result.get("error"))
    assert torch.equal(result["logits"], expected)


# -- dtypes -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spelling", "stored"),
    [
        (np.float16, "float16"),
        (np.dtype("float32"), "float32"),
        ("float16", "float16"),
        ("torch.bfloat16", "bfloat16"),
        ("half", "float16"),
        ("float64", "float64"),
        (torch.float64, "float64"),
        (None, "float32"),
    ],
)
def test_dtype_spellings_are_accepted(spelling: Any, stored: str) -> None:
    model = llama()
    with izzyviz.capture(model, layers=0, dtype=spelling) as cap, torch.no_grad():
        model(prompt_ids(4))
    assert cap.attentions[0].dtype == getattr(torch, stored)


@pytest.mark.parametrize(
    ("spelling", "named"),
    [
        (np.int8, "numpy.int8"),
        (np.dtype("complex64"), "complex64"),
        ("int8", "'int8'"),
        (torch.int32, "torch.int32"),
        (3, "3"),
    ],
)
def test_other_dtypes_are_refused_by_name(spelling: Any, named: str) -> None:
    with pytest.raises((TypeError, ValueError), match=rf"dtype: .*float16.*{named}"):
        izzyviz.capture(llama(), dtype=spelling)


def test_a_float64_model_gives_float64_weights_that_do_not_depend_on_the_batch() -> None:
    model = llama().double()
    ids = prompt_ids(8, batch=2)
    mask = torch.ones_like(ids)
    mask[1, :3] = 0
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    with izzyviz.capture(model) as alone, torch.no_grad():
        model(ids[1:, 3:])
    with izzyviz.capture(model) as batched, torch.no_grad():
        model(ids, attention_mask=mask, position_ids=positions)
    with torch.no_grad():  # eager's softmax runs in float32; its padded rows are NaN in float64
        reference = eager_copy(model)(ids[1:, 3:], output_attentions=True).attentions
    for one, two, expected in zip(alone.attentions, batched.attentions, reference, strict=True):
        assert one.dtype == two.dtype == torch.float64
        assert max_difference(one, expected) <= 1e-6
        assert max_difference(two[1:, :, 3:, 3:], one) <= 1e-12


def test_head_statistics_of_a_float64_model_do_not_depend_on_the_batch_size() -> None:
    """Float32 weights made them drift by ~1e-7 between batch sizes."""
    model = bert_sdpa().double()
    _, tokenizer = minilm()
    long = "The quick brown fox jumps over the lazy dog, and then it runs far away. " * 12
    texts = ["A short one.", long, "Why not? " * 30]  # padded to 200 tokens in a batch
    one, three = (
        izzyviz.head_statistics(model, tokenizer, texts, batch_size=size, progress=False)
        for size in (1, 3)
    )
    for name in one.mean:
        assert np.allclose(one.mean[name], three.mean[name], rtol=1e-12, atol=1e-15), name


def test_padding_to_a_fixed_length_keeps_every_column() -> None:
    """Pad columns masked in every row are still columns: only a cache's unused tail is cut."""
    model = tiny("t5", "AutoModelForSeq2SeqLM")
    ids = prompt_ids(9, batch=2)
    mask = torch.ones_like(ids)
    mask[:, -3:] = 0  # both rows padded to 9, as tokenizer(padding="max_length") does
    inputs = {"input_ids": ids, "attention_mask": mask, "decoder_input_ids": prompt_ids(4, 2, 1)}
    with izzyviz.capture(model) as cap, torch.no_grad():
        model(**inputs)
    with torch.no_grad():
        reference = eager_copy(model)(**inputs, output_attentions=True)
    for name in ("encoder_attentions", "cross_attentions"):
        for got, expected in zip(getattr(cap, name), getattr(reference, name), strict=True):
            assert got.shape == expected.shape
            assert max_difference(got, expected) <= TOLERANCE
