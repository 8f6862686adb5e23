"""Tests for izzyviz.inputs: attention selection, token display and the bundled samples."""

from __future__ import annotations

import numpy as np
import pytest

from izzyviz.inputs import (
    SAMPLE_NAMES,
    SampleAttention,
    display_token,
    display_tokens,
    load_sample,
    select_attention,
    stack_attentions,
)

SENTENCE = "The quick brown fox jumps over the lazy dog."


def random_attention(*shape: int, seed: int = 0) -> np.ndarray:
    """Row-stochastic random attention of the given shape (softmax over the last axis)."""
    logits = np.random.default_rng(seed).normal(size=shape)
    weights = np.exp(logits)
    return weights / weights.sum(axis=-1, keepdims=True)


# --------------------------------------------------------------------------------------------
# Real MiniLM outputs
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def minilm_run():
    """(model, encoded inputs, attentions tuple) of all-MiniLM-L6-v2 on one sentence."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from tests.models import minilm

    model, tokenizer = minilm()
    encoded = tokenizer(SENTENCE, return_tensors="pt")
    with torch.no_grad():
        outputs = model(**encoded, output_attentions=True)
    return model, tokenizer, encoded, outputs


def test_minilm_tuple(minilm_run):
    _, _, encoded, outputs = minilm_run
    attentions = outputs.attentions
    q = encoded["input_ids"].shape[1]
    assert isinstance(attentions, tuple) and len(attentions) == 6
    assert tuple(attentions[0].shape) == (1, 12, q, q)
    matrix = select_attention(attentions, 2, 5)
    assert matrix.dtype == np.float64 and matrix.shape == (q, q)
    np.testing.assert_allclose(matrix, attentions[2][0, 5].numpy(), rtol=0, atol=0)
    np.testing.assert_allclose(matrix.sum(axis=1), 1.0, atol=1e-5)
    # Negative indices count from the end.
    np.testing.assert_array_equal(
        select_attention(attentions, -1, -1), attentions[5][0, 11].numpy()
    )
    # A whole model output is accepted too.
    np.testing.assert_array_equal(select_attention(outputs, 2, 5), matrix)


def test_minilm_list_of_numpy_and_stacked(minilm_run):
    _, _, _, outputs = minilm_run
    as_numpy = [layer.numpy() for layer in outputs.attentions]
    expected = as_numpy[3][0, 7]
    np.testing.assert_array_equal(select_attention(as_numpy, 3, 7), expected)
    stacked5 = np.stack(as_numpy)  # (layers, batch, heads, q, k)
    np.testing.assert_array_equal(select_attention(stacked5, 3, 7), expected)
    stacked4 = stacked5[:, 0]  # (layers, heads, q, k): no batch axis
    np.testing.assert_array_equal(select_attention(stacked4, 3, 7), expected)
    np.testing.assert_array_equal(select_attention([a[0] for a in as_numpy], 3, 7), expected)
    for form in (outputs.attentions, as_numpy, stacked5, stacked4):
        full = stack_attentions(form)
        assert full.shape == (6, 12, *expected.shape) and full.dtype == np.float64
        np.testing.assert_array_equal(full[3, 7], expected)


@pytest.mark.parametrize("dtype_name", ["bfloat16", "float16"])
def test_half_precision_tensors(minilm_run, dtype_name):
    torch = pytest.importorskip("torch")
    _, _, _, outputs = minilm_run
    dtype = getattr(torch, dtype_name)
    half = tuple(layer.to(dtype) for layer in outputs.attentions)
    matrix = select_attention(half, 1, 4)
    assert matrix.dtype == np.float64
    np.testing.assert_array_equal(matrix, half[1][0, 4].float().numpy())
    np.testing.assert_allclose(matrix, outputs.attentions[1][0, 4].numpy(), atol=1e-2)
    stacked = torch.stack(half)  # stacked 5-D tensor
    np.testing.assert_array_equal(select_attention(stacked, 1, 4), matrix)
    np.testing.assert_array_equal(stack_attentions(stacked)[1, 4], matrix)


def test_requires_grad_tensor():
    torch = pytest.importorskip("torch")
    layer = torch.tensor(random_attention(1, 2, 3, 3), dtype=torch.float32, requires_grad=True)
    np.testing.assert_array_equal(select_attention((layer,), 0, 1), layer.detach()[0, 1].numpy())


def test_batch_of_two_picks_the_right_item(minilm_run):
    torch = pytest.importorskip("torch")
    model, tokenizer, _, _ = minilm_run
    texts = [SENTENCE, "Deep learning models are revolutionizing AI."]
    encoded = tokenizer(texts, padding=True, return_tensors="pt")
    single = tokenizer(texts[1], return_tensors="pt")
    with torch.no_grad():
        batched = model(**encoded, output_attentions=True).attentions
        alone = model(**single, output_attentions=True).attentions
    n = single["input_ids"].shape[1]
    second = select_attention(batched, 4, 2, batch_index=1)
    assert not np.allclose(second, select_attention(batched, 4, 2, batch_index=0))
    np.testing.assert_array_equal(second, batched[4][1, 2].numpy())
    # The second sentence is shorter and right-padded: its real block matches a solo run.
    np.testing.assert_allclose(second[:n, :n], select_attention(alone, 4, 2), atol=1e-5)
    np.testing.assert_array_equal(select_attention(batched, 4, 2, batch_index=-1), second)
    np.testing.assert_array_equal(stack_attentions(batched, batch_index=1)[4, 2], second)
    stacked = np.stack([layer.numpy() for layer in batched])
    np.testing.assert_array_equal(select_attention(stacked, 4, 2, batch_index=1), second)
    np.testing.assert_array_equal(stack_attentions(stacked, batch_index=1)[4, 2], second)


def test_sdpa_model_returns_empty_tuple():
    """transformers >= 5 returns ``attentions == ()`` for an SDPA model (the default)."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    from tests.models import minilm_path

    model = transformers.BertModel.from_pretrained(minilm_path(), attn_implementation="sdpa")
    tokenizer = transformers.BertTokenizerFast.from_pretrained(minilm_path())
    with torch.no_grad():
        outputs = model.eval()(**tokenizer(SENTENCE, return_tensors="pt"), output_attentions=True)
    assert outputs.attentions == ()
    with pytest.raises(ValueError, match='attn_implementation="eager"'):
        select_attention(outputs.attentions, 0, 0)
    with pytest.raises(ValueError, match='attn_implementation="eager"'):
        select_attention(outputs, 0, 0)
    with pytest.raises(ValueError, match='attn_implementation="eager"'):
        stack_attentions(outputs.attentions)


# --------------------------------------------------------------------------------------------
# Error paths (numpy only)
# --------------------------------------------------------------------------------------------

LAYERS = tuple(random_attention(2, 3, 4, 5, seed=i) for i in range(4))  # 4 x (2, 3, 4, 5)


@pytest.mark.parametrize("empty", [(), [], None, np.zeros((0, 1, 2, 3, 3))])
def test_empty_attentions_mention_eager(empty):
    with pytest.raises(ValueError, match=r'SDPA.*attn_implementation="eager"'):
        select_attention(empty, 0, 0)
    with pytest.raises(ValueError, match='attn_implementation="eager"'):
        stack_attentions(empty)


def test_model_output_without_attentions():
    from types import SimpleNamespace

    output = SimpleNamespace(last_hidden_state=np.ones((1, 3, 4)), attentions=None)
    with pytest.raises(ValueError, match=r"attentions\.attentions: got None; .*output_attentions"):
        select_attention(output, 0, 0)


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        (
            {"layer": 4, "head": 0},
            r"layer: index 4 is out of range for 4 layers \(expected -4 to 3\)",
        ),
        ({"layer": -5, "head": 0}, r"layer: index -5 .*expected -4 to 3"),
        (
            {"layer": 0, "head": 3},
            r"head: index 3 is out of range for 3 heads \(expected -3 to 2\)",
        ),
        ({"layer": 0, "head": -4}, r"head: index -4"),
        ({"layer": 0, "head": 0, "batch_index": 2}, r"batch_index: index 2 .* 2 batch items"),
        ({"layer": 0, "head": 0, "batch_index": -3}, r"batch_index: index -3"),
    ],
)
def test_index_errors(kwargs, pattern):
    for form in (LAYERS, list(LAYERS), np.stack(LAYERS)):
        with pytest.raises(IndexError, match=pattern):
            select_attention(form, **kwargs)


def test_batch_index_without_batch_axis():
    no_batch = [layer[0] for layer in LAYERS]  # per-layer (heads, q, k)
    np.testing.assert_array_equal(select_attention(no_batch, 1, 2), LAYERS[1][0, 2])
    np.testing.assert_array_equal(select_attention(no_batch, 1, 2, batch_index=-1), LAYERS[1][0, 2])
    with pytest.raises(IndexError, match=r"batch_index: index 1 is out of range for 1 batch"):
        select_attention(no_batch, 1, 2, batch_index=1)
    with pytest.raises(IndexError, match=r"batch_index: index 1"):
        select_attention(np.stack(no_batch), 1, 2, batch_index=1)
    with pytest.raises(IndexError, match=r"batch_index: index 1"):
        stack_attentions(np.stack(no_batch), batch_index=1)
    with pytest.raises(IndexError, match=r"batch_index: index 3"):
        stack_attentions(np.stack(LAYERS), batch_index=3)


def test_index_type_errors():
    with pytest.raises(TypeError, match=r"layer: expected an integer index, got 1\.5"):
        select_attention(LAYERS, 1.5, 0)
    with pytest.raises(TypeError, match=r"head: expected an integer index, got True"):
        select_attention(LAYERS, 0, True)
    with pytest.raises(TypeError, match=r"batch_index: expected an integer index"):
        select_attention(LAYERS, 0, 0, batch_index="0")


def test_wrong_ndim():
    with pytest.raises(ValueError, match=r"attentions: expected a tuple or list .* got array of "):
        select_attention(np.ones(3), 0, 0)
    with pytest.raises(
        ValueError, match=r"attentions: expected a tuple .*shape \(1, 2, 3, 4, 5, 6\)"
    ):
        select_attention(np.ones((1, 2, 3, 4, 5, 6)), 0, 0)
    with pytest.raises(ValueError, match=r"attentions\[1\]: expected a 4-D .* or 3-D .*\(3, 3\)"):
        select_attention([np.ones((1, 1, 3, 3)), np.ones((3, 3))], 1, 0)
    with pytest.raises(ValueError, match=r"attentions\[1\]: expected a 4-D"):
        stack_attentions([np.ones((1, 1, 3, 3)), np.ones((3, 3))])
    with pytest.raises(TypeError, match=r"attentions: expected attention weights, got 'abc'"):
        select_attention("abc", 0, 0)


def test_stack_shape_mismatch():
    with pytest.raises(
        ValueError, match=r"attentions\[1\]: expected \(heads, q, k\) = \(3, 4, 5\)"
    ):
        stack_attentions([LAYERS[0], LAYERS[1][:, :, :2]])


def test_non_finite_values_say_where():
    bad = [layer.copy() for layer in LAYERS]
    bad[2][1, 0, 3, 1] = np.nan
    with pytest.raises(
        ValueError,
        match=r"attentions \(layer 2, head 0, batch_index 1\): expected finite scores, "
        r"found nan at index \(3, 1\)",
    ):
        select_attention(bad, 2, 0, batch_index=1)
    select_attention(bad, 2, 1, batch_index=1)  # other heads are fine
    with pytest.raises(ValueError, match=r"attentions\[2\]: expected finite scores.*\(0, 3, 1\)"):
        stack_attentions(bad, batch_index=1)
    stacked = np.stack(bad)
    stacked[0, 0, 0, 0, 0] = np.inf
    with pytest.raises(ValueError, match=r"found inf at index \(0, 0, 0, 0\)"):
        stack_attentions(stacked)


def test_nested_lists_are_accepted():
    nested = [layer.tolist() for layer in LAYERS]
    np.testing.assert_allclose(select_attention(nested, 1, 2, batch_index=1), LAYERS[1][1, 2])
    np.testing.assert_allclose(stack_attentions(nested), np.stack(LAYERS)[:, 0])


# --------------------------------------------------------------------------------------------
# Token display
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "shown"),
    [
        ("Ġthe", "▁the"),
        ("▁the", "▁the"),
        ("Ġ", "▁"),
        ("ĠĠĠ", "▁▁▁"),
        ("Ċ", "↵"),
        ("ĊĊ", "↵↵"),
        ("ĉ", "⇥"),
        ("\n", "↵"),
        ("\t", "⇥"),
        ("č", "č"),  # byte-level carriage return stays as it is
        ("Ā", "Ā"),  # byte-level NUL stays as it is
        ("\r", "\u240d"),
        ("a\x00b", "a\u2400b"),
        ("\x1b[0m", "\u241b[0m"),
        ("\x7f", "\u2421"),
        ("\x85", "\\x85"),
        ("\x9f", "\\x9f"),
        ("", "∅"),
        ("##ing", "##ing"),
        ("[CLS]", "[CLS]"),
        ("é", "é"),
        ("Ã©", "Ã©"),
    ],
)
def test_display_token(token, shown):
    assert display_token(token) == shown


def test_display_token_never_emits_control_characters():
    every = "".join(chr(code) for code in range(0x2600))
    shown = display_token(every)
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in shown)


def test_display_tokens():
    tokens = ["Ġthe", "Ġquick", "Ċ", "fox"]
    assert display_tokens(tokens) == ["▁the", "▁quick", "↵", "fox"]
    assert display_tokens(tokens, raw=True) == tokens
    assert display_tokens(np.array(tokens)) == ["▁the", "▁quick", "↵", "fox"]
    assert display_tokens(("▁a", b"\xe2\x96\x81b", b"\xff")) == ["▁a", "▁b", "\\xff"]
    assert display_tokens([]) == []
    from tests.models import fake_tokens

    assert display_tokens(fake_tokens(3)) == ["▁the", "quick", "▁brown"]
    assert display_tokens(fake_tokens(2, prefix="▁")) == ["▁the", "quick"]
    with pytest.raises(TypeError, match=r"tokens: expected a sequence of strings, got 'Ġthe'"):
        display_tokens("Ġthe")
    with pytest.raises(ValueError, match=r"tokens: expected a 1-D array"):
        display_tokens(np.array([["a", "b"]]))
    with pytest.raises(TypeError, match=r"token: expected a string, got 3"):
        display_token(3)  # type: ignore[arg-type]


def test_display_real_wordpiece_tokens(minilm_run):
    _, tokenizer, encoded, _ = minilm_run
    tokens = tokenizer.convert_ids_to_tokens(encoded["input_ids"][0].tolist())
    assert display_tokens(tokens) == tokens  # WordPiece tokens need no change


# --------------------------------------------------------------------------------------------
# Bundled samples
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_load_sample(name):
    sample = load_sample(name)
    assert isinstance(sample, SampleAttention) and sample.name == name
    q = len(sample.tokens)
    assert sample.tokens[0] == "[CLS]" and sample.tokens[-1] == "[SEP]"
    assert all(isinstance(t, str) for t in sample.tokens)
    assert sample.attentions.dtype == np.float32
    assert sample.attentions.shape == (6, 12, q, q)
    np.testing.assert_allclose(sample.attentions.sum(axis=-1), 1.0, atol=1e-5)
    assert select_attention(sample.attentions, -1, 0).shape == (q, q)
    if name == "question_context":
        assert sample.question_end == sample.tokens.index("[SEP]") + 1 == 9
        assert sample.tokens[1:8] == ["what", "is", "the", "capital", "of", "france", "?"]
    else:
        assert sample.question_end is None
    if name == "quick_start":
        assert sample.text == SENTENCE
        assert sample.tokens[1:-1] == SENTENCE.lower().replace(".", " .").split()


def test_load_sample_matches_model(minilm_run):
    _, _, _, outputs = minilm_run
    sample = load_sample("quick_start")
    expected = np.stack([layer[0].numpy() for layer in outputs.attentions])
    np.testing.assert_allclose(sample.attentions, expected, atol=2e-3)


def test_load_sample_unknown_name():
    with pytest.raises(ValueError, match=r"name: unknown sample 'nope'; expected one of"):
        load_sample("nope")


def test_sample_file_is_small():
    from importlib import resources

    size = (resources.files("izzyviz.data") / "sample_attention.npz").read_bytes().__len__()
    assert size < 300_000


def test_inputs_does_not_import_torch():
    import subprocess
    import sys

    code = (
        "import sys, izzyviz.inputs, izzyviz.generation;"
        "izzyviz.inputs.load_sample('quick_start');"
        "assert 'torch' not in sys.modules and 'transformers' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_single_map_is_layer_0_head_0():
    m = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(select_attention(m, 0, 0), m)
    np.testing.assert_array_equal(select_attention(m, -1, -1), m)
    with pytest.raises(IndexError, match=r"layer: index 1 is out of range for 1 layers \(a single"):
        select_attention(m, 1, 0)
    with pytest.raises(IndexError, match=r"head: index 2 is out of range for 1 heads"):
        select_attention(m, 0, 2)
