"""Tests for izzyviz.generation against teacher-forced forward passes of tiny real models."""

from __future__ import annotations

import copy
from types import SimpleNamespace

import numpy as np
import pytest

from izzyviz.generation import cross_attention_from_generate, decoder_self_attention_from_generate

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from tests import models  # noqa: E402
from tests.models import prompt_ids, tiny_bart, tiny_gpt2, tiny_t5  # noqa: E402

NEW_TOKENS = 6
PROMPT = 5
CASES = [(0, 0, 0), (1, 2, 1), (-1, -1, -1)]  # (layer, head, batch_index)


def generate(model, input_ids, **kwargs):
    return models.generate(model, input_ids, NEW_TOKENS, **kwargs)


@pytest.fixture(scope="module", params=["t5", "bart"])
def seq2seq(request):
    """(model, input_ids, generate output, teacher-forced forward output) for T5 and BART."""
    model = {"t5": tiny_t5, "bart": tiny_bart}[request.param]()
    input_ids = prompt_ids(PROMPT, batch=2)
    output = generate(model, input_ids)
    with torch.no_grad():
        forward = model(
            input_ids, decoder_input_ids=output.sequences[:, :-1], output_attentions=True
        )
    return model, input_ids, output, forward


@pytest.fixture(scope="module")
def gpt2():
    """(model, input_ids, generate output, forward output over sequences[:, :-1])."""
    model = tiny_gpt2()
    input_ids = prompt_ids(PROMPT, batch=2)
    output = generate(model, input_ids)
    with torch.no_grad():
        forward = model(output.sequences[:, :-1], output_attentions=True)
    return model, input_ids, output, forward


@pytest.mark.parametrize(("layer", "head", "batch_index"), CASES)
def test_cross_attention_matches_teacher_forcing(seq2seq, layer, head, batch_index):
    _, _, output, forward = seq2seq
    assert output.sequences.shape == (2, NEW_TOKENS + 1)  # decoder start + generated
    matrix = cross_attention_from_generate(output, layer, head, batch_index=batch_index)
    assert matrix.shape == (NEW_TOKENS, PROMPT) and matrix.dtype == np.float64
    expected = forward.cross_attentions[layer][batch_index, head].numpy()
    np.testing.assert_allclose(matrix, expected, atol=1e-5, rtol=0)
    np.testing.assert_allclose(matrix.sum(axis=1), 1.0, atol=1e-5)
    assert matrix.std(axis=1).min() > 1e-3  # far from uniform: a misalignment would show


def test_cross_attention_steps_are_concatenated(seq2seq):
    _, _, output, _ = seq2seq
    matrix = cross_attention_from_generate(output, 1, 3, batch_index=1)
    for step, layers in enumerate(output.cross_attentions):
        np.testing.assert_array_equal(matrix[step], layers[1][1, 3, -1].numpy())


@pytest.mark.parametrize(("layer", "head", "batch_index"), CASES)
def test_seq2seq_decoder_self_attention(seq2seq, layer, head, batch_index):
    _, _, output, forward = seq2seq
    matrix = decoder_self_attention_from_generate(output, layer, head, batch_index=batch_index)
    expected = forward.decoder_attentions[layer][batch_index, head].numpy()
    assert matrix.shape == (NEW_TOKENS, NEW_TOKENS)
    np.testing.assert_allclose(matrix, expected, atol=1e-5, rtol=0)


@pytest.mark.parametrize(("layer", "head", "batch_index"), CASES)
def test_gpt2_self_attention_matches_forward(gpt2, layer, head, batch_index):
    _, _, output, forward = gpt2
    total = PROMPT + NEW_TOKENS - 1  # the last generated token is never fed back
    assert output.sequences.shape == (2, PROMPT + NEW_TOKENS)
    assert len(output.attentions) == NEW_TOKENS
    matrix = decoder_self_attention_from_generate(output, layer, head, batch_index=batch_index)
    assert matrix.shape == (total, total) and matrix.dtype == np.float64
    expected = forward.attentions[layer][batch_index, head].numpy()
    np.testing.assert_allclose(matrix, expected, atol=1e-5, rtol=0)
    np.testing.assert_allclose(matrix.sum(axis=1), 1.0, atol=1e-5)
    assert np.all(np.triu(matrix, k=1) == 0)  # causal: no attention to future tokens


def test_gpt2_without_kv_cache(gpt2):
    """Without the cache every step recomputes all rows; the last row is the new one."""
    model, input_ids, cached, forward = gpt2
    output = generate(model, input_ids, use_cache=False)
    torch.testing.assert_close(output.sequences, cached.sequences)
    assert output.attentions[1][0].shape[-2] == PROMPT + 1
    matrix = decoder_self_attention_from_generate(output, 1, 1, batch_index=1)
    np.testing.assert_allclose(matrix, forward.attentions[1][1, 1].numpy(), atol=1e-5)


def test_seq2seq_without_kv_cache(seq2seq):
    model, input_ids, cached, forward = seq2seq
    output = generate(model, input_ids, use_cache=False)
    torch.testing.assert_close(output.sequences, cached.sequences)
    matrix = cross_attention_from_generate(output, 0, 1, batch_index=0)
    np.testing.assert_allclose(matrix, forward.cross_attentions[0][0, 1].numpy(), atol=1e-5)


def test_numpy_steps_are_accepted(gpt2):
    _, _, output, _ = gpt2
    as_numpy = SimpleNamespace(
        sequences=output.sequences.numpy(),
        attentions=tuple(tuple(layer.numpy() for layer in step) for step in output.attentions),
    )
    np.testing.assert_array_equal(
        decoder_self_attention_from_generate(as_numpy, 1, 2, batch_index=1),
        decoder_self_attention_from_generate(output, 1, 2, batch_index=1),
    )


def test_half_precision(gpt2):
    _, _, output, _ = gpt2
    half = SimpleNamespace(
        sequences=output.sequences,
        attentions=tuple(tuple(t.to(torch.bfloat16) for t in step) for step in output.attentions),
    )
    matrix = decoder_self_attention_from_generate(half, 0, 0)
    np.testing.assert_allclose(
        matrix, decoder_self_attention_from_generate(output, 0, 0), atol=1e-2
    )


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


def test_index_errors(gpt2, seq2seq):
    _, _, output, _ = gpt2
    with pytest.raises(IndexError, match=r"layer: index 2 is out of range for 2 layers"):
        decoder_self_attention_from_generate(output, 2, 0)
    with pytest.raises(IndexError, match=r"head: index -5 is out of range for 4 heads"):
        decoder_self_attention_from_generate(output, 0, -5)
    with pytest.raises(IndexError, match=r"batch_index: index 2 is out of range for 2 batch"):
        decoder_self_attention_from_generate(output, 0, 0, batch_index=2)
    _, _, output, _ = seq2seq
    with pytest.raises(IndexError, match=r"layer: index 3 is out of range for 2 layers"):
        cross_attention_from_generate(output, 3, 0)
    with pytest.raises(IndexError, match=r"batch_index: index -3"):
        cross_attention_from_generate(output, 0, 0, batch_index=-3)


def test_missing_attentions(gpt2, seq2seq):
    model, input_ids, _, _ = gpt2
    with torch.no_grad():
        plain = model.generate(
            input_ids,
            attention_mask=torch.ones_like(input_ids),
            max_new_tokens=2,
            return_dict_in_generate=True,
            do_sample=False,
        )
    assert plain.attentions is None
    with pytest.raises(ValueError, match=r"output\.attentions: got None; pass output_attentions"):
        decoder_self_attention_from_generate(plain, 0, 0)
    _, _, output, _ = seq2seq
    no_cross = SimpleNamespace(sequences=output.sequences, cross_attentions=())
    with pytest.raises(ValueError, match=r'output\.cross_attentions: got \(\).*"eager"'):
        cross_attention_from_generate(no_cross, 0, 0)


@pytest.mark.parametrize("kind", ["gpt2", "t5"])
def test_sdpa_generate_gives_empty_steps(kind):
    """Under SDPA, transformers >= 5 generate returns one empty tuple per step."""
    model = {"gpt2": tiny_gpt2, "t5": tiny_t5}[kind]()
    sdpa = type(model)._from_config(copy.deepcopy(model.config), attn_implementation="sdpa").eval()
    output = generate(sdpa, prompt_ids(PROMPT))
    steps = output.attentions if kind == "gpt2" else output.cross_attentions
    assert steps == ((),) * NEW_TOKENS
    with pytest.raises(ValueError, match=r'output\.\w+\[0\]: got an empty tuple.*"eager"'):
        decoder_self_attention_from_generate(output, 0, 0)
    if kind == "t5":
        with pytest.raises(ValueError, match=r'output\.cross_attentions\[0\].*"eager"'):
            cross_attention_from_generate(output, 0, 0)


def test_wrong_output_type():
    with pytest.raises(TypeError, match=r"output: expected the result of model\.generate"):
        cross_attention_from_generate((np.ones((1, 1, 1, 3)),), 0, 0)
    with pytest.raises(TypeError, match=r"output: expected the result of model\.generate"):
        decoder_self_attention_from_generate(None, 0, 0)


def test_beam_search_is_rejected(seq2seq):
    model, input_ids, _, _ = seq2seq
    output = generate(model, input_ids, num_beams=2)
    with pytest.raises(ValueError, match=r"output: beam search output"):
        cross_attention_from_generate(output, 0, 0)


def test_inconsistent_steps():
    step0 = (np.full((1, 1, 3, 3), 1 / 3),)
    wrong = (np.full((1, 1, 1, 5), 0.2),)  # should have 4 keys
    output = SimpleNamespace(sequences=np.zeros((1, 5)), attentions=(step0, wrong))
    with pytest.raises(ValueError, match=r"output\.attentions\[1\]: expected 4 keys .* got 5"):
        decoder_self_attention_from_generate(output, 0, 0)
    rect = SimpleNamespace(sequences=np.zeros((1, 5)), attentions=((np.ones((1, 1, 2, 3)),),))
    with pytest.raises(ValueError, match=r"expected a square \(prompt x prompt\) first step"):
        decoder_self_attention_from_generate(rect, 0, 0)
    cross = SimpleNamespace(sequences=np.zeros((1, 3)), cross_attentions=(step0, wrong))
    with pytest.raises(ValueError, match=r"same source length at every step, got lengths \[3, 5\]"):
        cross_attention_from_generate(cross, 0, 0)


def test_non_finite(gpt2):
    _, _, output, _ = gpt2
    steps = [list(step) for step in output.attentions]
    steps[2][1] = steps[2][1].clone()
    steps[2][1][0, 0, 0, 3] = float("nan")
    bad = SimpleNamespace(sequences=output.sequences, attentions=tuple(map(tuple, steps)))
    with pytest.raises(
        ValueError,
        match=r"output\.attentions\[2\] \(layer 1, head 0, batch_index 0\): expected finite "
        r"scores, found nan at index \(0, 3\)",
    ):
        decoder_self_attention_from_generate(bad, 1, 0)
