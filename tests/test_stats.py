"""Head statistics over a corpus with the real MiniLM: exact, batch- and engine-independent.

The exactness tests load MiniLM in float64, so the model's own arithmetic (a float32 forward of
a text alone and in a padded batch differ by ~1e-7) does not hide what is tested: that the
reduction excludes padding and adds up the same in any batching, order or engine (1e-9).
"""

from __future__ import annotations

import copy
import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

import izzyviz
from izzyviz import headsums
from izzyviz.headstats import KEY_MEASURES, MEASURES, HeadStatistics, batch_sums
from izzyviz.layout import HIGHLIGHT
from izzyviz.scene import Rect
from izzyviz.stats import _torch_log, batch_attentions
from tests.models import minilm, minilm_path

SUBJECTS = ("the cat", "a dog", "my old neighbour", "the committee", "every student", "she")
VERBS = ("saw", "found", "ignored", "painted", "wrote about", "quietly left")
OBJECTS = ("the red house", "a letter", "three apples", "the river bank", "his bicycle", "it")
TAILS = ("", " yesterday", " in Paris", ", and then it rained", "; nobody noticed", " (twice)")


def sentences(count: int, seed: int = 0) -> list[str]:
    """``count`` made-up sentences of 3 to ~40 words with punctuation, reproducible."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        clauses = [
            f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)}{rng.choice(TAILS)}"
            for _ in range(rng.randint(1, 4))
        ]
        text = ", ".join(clauses)
        out.append(text[0].upper() + text[1:] + rng.choice((".", "!", "?", "...")))
    return out


CORPUS = sentences(300)


@pytest.fixture(scope="module")
def model64() -> tuple[Any, Any]:
    model, tokenizer = minilm()
    return copy.deepcopy(model).double(), tokenizer


def assert_same(a: HeadStatistics, b: HeadStatistics, rtol: float = 1e-9) -> None:
    assert (a.count, a.texts, a.skipped) == (b.count, b.texts, b.skipped)
    for name in a.measures:
        np.testing.assert_allclose(a.mean[name], b.mean[name], rtol=rtol, atol=1e-15, err_msg=name)
        # std = sqrt(E[x^2] - mean^2) loses digits where the spread is small against the mean
        np.testing.assert_allclose(a.std[name], b.std[name], rtol=max(rtol, 1e-7), atol=1e-12)
    np.testing.assert_allclose(a.offsets, b.offsets, rtol=rtol, atol=1e-15)


@pytest.fixture(scope="module")
def singles(model64: tuple[Any, Any]) -> HeadStatistics:
    """Float64 statistics of the first 24 texts, one text per batch: no padding anywhere."""
    return izzyviz.head_statistics(*model64, CORPUS[:24], batch_size=1, progress=False)


@pytest.fixture(scope="module")
def corpus_stats() -> HeadStatistics:
    """Statistics of all 300 texts, float32 as loaded."""
    return izzyviz.head_statistics(*minilm(), CORPUS, batch_size=32, progress=False)


def test_one_text_agrees_with_head_scores() -> None:
    model, tokenizer = minilm()
    text = "The quick brown fox, lazily, jumps over the dog."
    stats = izzyviz.head_statistics(model, tokenizer, [text], progress=False)
    inputs = tokenizer(text, return_tensors="pt")
    tokens = tokenizer.convert_ids_to_tokens(inputs["input_ids"][0])
    stack = izzyviz.stack_attentions(batch_attentions(model, dict(inputs)))
    assert stats.shape == (6, 12) and stats.texts == 1 and stats.count == len(tokens)
    for ours, theirs in (("entropy", "entropy"), ("distance", "diagonal_distance")):
        np.testing.assert_allclose(stats.mean[ours], izzyviz.head_scores(stack, tokens, theirs))
    special = izzyviz.head_scores(stack, tokens, "special_tokens")
    np.testing.assert_allclose(stats.mean["special_tokens"], special)
    np.testing.assert_allclose(stats.mean["cls"] + stats.mean["sep"], special)
    np.testing.assert_allclose(stats.mean["cls"], stack[..., 0].mean(-1))
    punctuation = [i for i, t in enumerate(tokens) if t in {",", "."}]
    np.testing.assert_allclose(stats.mean["punctuation"], stack[..., punctuation].sum(-1).mean(-1))
    n = len(tokens)
    np.testing.assert_allclose(stats.mean["self"], np.trace(stack, axis1=2, axis2=3) / n)
    np.testing.assert_allclose(stats.mean["previous"], np.trace(stack, -1, 2, 3) / n)
    np.testing.assert_allclose(stats.mean["next"], np.trace(stack, 1, 2, 3) / n)
    np.testing.assert_allclose(stats.offsets[..., stats.window - 1], stats.mean["previous"])
    np.testing.assert_allclose(stats.std["self"], np.diagonal(stack, 0, 2, 3).std(-1))


def test_padding_is_excluded_and_batching_does_not_matter(
    model64: tuple[Any, Any], singles: HeadStatistics
) -> None:
    model, tokenizer = model64
    texts = CORPUS[:24]
    lengths = [len(tokenizer(t)["input_ids"]) for t in texts]
    assert singles.count == sum(lengths) and singles.texts == len(texts)
    assert max(lengths) > 2 * min(lengths)  # batches of these really are padded
    # reversed, from a generator, in padded batches of 7
    batched = izzyviz.head_statistics(
        model, tokenizer, iter(texts[::-1]), batch_size=7, progress=False
    )
    assert_same(singles, batched)


def test_float32_default_is_close_to_float64(model64: tuple[Any, Any]) -> None:
    texts = CORPUS[:16]
    stats = izzyviz.head_statistics(*minilm(), texts, batch_size=16, progress=False)
    exact = izzyviz.head_statistics(*model64, texts, batch_size=16, progress=False)
    assert_same(stats, exact, rtol=1e-4)


@pytest.fixture(scope="module")
def ray_cluster() -> Any:
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def test_ray_gives_the_local_numbers(ray_cluster: Any, singles: HeadStatistics) -> None:
    folder = minilm_path()
    ray_stats = izzyviz.head_statistics(
        folder, None, CORPUS[:24], batch_size=10, engine="ray", dtype="float64", progress=False
    )
    assert_same(ray_stats, singles)
    assert ray_stats.source == str(folder)


def test_untokenisable_texts_are_counted_not_fatal(model64: tuple[Any, Any]) -> None:
    texts = ["A fine sentence.", "broken \ud800 surrogate", "Another one."]
    with pytest.warns(UserWarning, match="1 of 3 texts could not be tokenised"):
        stats = izzyviz.head_statistics(*model64, texts, batch_size=3, progress=False)
    clean = izzyviz.head_statistics(*model64, texts[::2], batch_size=3, progress=False)
    assert stats.skipped == 1 and stats.texts == 2
    assert_same(HeadStatistics(stats.mean, stats.std, stats.offsets, stats.count, 2), clean)


@pytest.mark.parametrize(
    ("texts", "error", "words"),
    [
        ([], ValueError, ["texts", "empty"]),
        (iter(()), ValueError, ["texts", "empty"]),
        (["ok", "fine", 3], TypeError, ["texts[2]", "string", "3"]),
        ("one string", TypeError, ["texts", "iterable of strings"]),
        (["\ud800"], ValueError, ["none of the 1 texts"]),
    ],
)
def test_bad_corpora_are_clear_errors(texts: Any, error: type, words: list[str]) -> None:
    model, tokenizer = minilm()
    with pytest.raises(error) as info:
        izzyviz.head_statistics(model, tokenizer, texts, progress=False)
    for word in words:
        assert word in str(info.value)


def test_bad_models_and_options_are_clear_errors(tmp_path: Path) -> None:
    model, tokenizer = minilm()
    for name in ("config.json", "model.safetensors", "vocab.txt"):  # every file, none usable
        (tmp_path / name).write_text("{}", encoding="utf-8")
    with pytest.raises(OSError, match=r"model: cannot load a (tokenizer|model) from"):
        izzyviz.head_statistics(tmp_path, None, ["hi"], progress=False)
    with pytest.raises(FileNotFoundError, match=r"model: .* is not a folder"):
        izzyviz.head_statistics(tmp_path / "missing", None, ["hi"], progress=False)
    calls: list[tuple[dict[str, Any], type, str]] = [
        ({"measures": ["sep", "nope"]}, ValueError, "measures: expected one of"),
        ({"measures": "sep"}, TypeError, "measures: expected a list"),
        ({"batch_size": 0}, ValueError, "batch_size: expected a positive integer, got 0"),
        ({"engine": "spark"}, ValueError, "engine: expected one of 'local', 'ray'"),
        ({"dtype": "float64"}, ValueError, "dtype: applies to a model folder only"),
        ({"window": 0}, ValueError, "window: expected a positive integer"),
    ]
    for options, error, message in calls:
        with pytest.raises(error, match=message):
            izzyviz.head_statistics(model, tokenizer, ["hi"], progress=False, **options)
    with pytest.raises(TypeError, match="tokenizer: expected a transformers tokenizer"):
        izzyviz.head_statistics(model, None, ["hi"], progress=False)


@pytest.mark.parametrize(
    ("window", "error", "message"),
    [
        (0, ValueError, "window: expected a positive integer, got 0"),
        (-3, ValueError, "window: expected a positive integer, got -3"),
        (1.5, TypeError, "window: expected a positive integer, got 1.5"),
        (True, TypeError, "window: expected a positive integer, got True"),
        ("8", TypeError, "window: expected a positive integer, got '8'"),
    ],
)
def test_a_bad_window_is_refused_by_name(window: Any, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        izzyviz.head_statistics(*minilm(), ["hi"], window=window, progress=False)


def test_a_huge_window_costs_what_the_texts_need() -> None:
    """Nine short texts with a window of 100,000 (issue 26: 4.6 GB): the profile stops at the
    longest text, and the numbers are those of a window that just reaches it."""
    import tracemalloc

    model, tokenizer = minilm()
    texts = CORPUS[:9]
    longest = max(len(tokenizer(text)["input_ids"]) for text in texts)
    tracemalloc.start()
    try:
        huge = izzyviz.head_statistics(model, tokenizer, texts, window=100_000, progress=False)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 50_000_000, peak  # numpy's allocations; the model's own are torch's
    assert huge.window == longest - 1
    exact = izzyviz.head_statistics(model, tokenizer, texts, window=longest - 1, progress=False)
    assert_same(huge, exact, rtol=0.0)


def test_save_load_figure_and_report(tmp_path: Path) -> None:
    stats = izzyviz.head_statistics(
        *minilm(), CORPUS[:24], measures=("sep", "entropy"), progress=False
    )
    assert stats.measures == ("sep", "entropy") and set(stats.mean) == {"sep", "entropy"}
    for suffix in (".npz", ".json"):
        loaded = HeadStatistics.load(stats.save(tmp_path / f"stats{suffix}"))
        assert_same(stats, loaded, rtol=0.0)
        assert loaded.source == stats.source
    assert json.loads((tmp_path / "stats.json").read_text())["count"] == stats.count
    with pytest.raises(ValueError, match=r"path: expected a \.npz or \.json file"):
        stats.save(tmp_path / "stats.txt")
    (tmp_path / "other.json").write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(ValueError, match="not a saved HeadStatistics file"):
        HeadStatistics.load(tmp_path / "other.json")

    fig = stats.figure("sep")
    values = [t.text for t in fig.scene.find("values")[0].children if hasattr(t, "text")]
    assert len(values) == 72 and f"{stats.mean['sep'][0, 0]:.3f}" in values
    with pytest.raises(ValueError, match="measure: expected one of 'sep', 'entropy'"):
        stats.figure("cls")

    import pypdf

    report = stats.report(tmp_path / "stats.pdf", top=5)
    reader = pypdf.PdfReader(tmp_path / "stats.pdf")
    assert len(reader.pages) == len(report.pages) == 3
    assert [o.title for o in reader.outline] == ["sep", "entropy", "offsets"]
    folder = stats.report(tmp_path / "pages.svg").data["files"]
    assert sorted(Path(f).name for f in folder) == ["entropy.svg", "offsets.svg", "sep.svg"]


def test_a_few_hundred_texts_find_the_previous_token_head(corpus_stats: HeadStatistics) -> None:
    stats = corpus_stats
    assert stats.texts == 300 and stats.skipped == 0
    layer, head, offset = stats.top_heads(1)[0]
    assert offset == -1 and stats.mean["previous"][layer, head] > 0.5
    for name in ("cls", "sep", "special_tokens", "previous", "self", "next", "punctuation"):
        assert ((stats.mean[name] >= 0) & (stats.mean[name] <= 1)).all(), name
    np.testing.assert_allclose(stats.mean["special_tokens"], stats.mean["cls"] + stats.mean["sep"])
    assert (stats.offsets.sum(-1) <= 1 + 1e-9).all()


def test_cli_writes_a_report_with_a_progress_bar(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(CORPUS[:20]) + "\n\n", encoding="utf-8")
    env = {"HF_HUB_OFFLINE": "1", "PYTHONSAFEPATH": "1", "TQDM_MININTERVAL": "0"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "izzyviz.cli",
            "stats",
            str(minilm_path()),
            "--texts",
            str(corpus),
            "-o",
            str(tmp_path / "stats.pdf"),
            "--save",
            str(tmp_path / "s.npz"),
        ],
        capture_output=True,
        text=True,
        env={**__import__("os").environ, **env},
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "IzzyViz: 20 texts" in result.stdout and "izzyviz stats" in result.stderr
    assert result.stdout.count("IzzyViz: saved") == 2, result.stdout
    assert HeadStatistics.load(tmp_path / "s.npz").texts == 20
    assert (tmp_path / "stats.pdf").stat().st_size > 0
    from izzyviz.cli import main

    assert main(["stats", str(tmp_path), "--texts", str(corpus), "--no-progress"]) == 1
    assert main(["stats", str(minilm_path()), "--texts", str(tmp_path / "none.txt")]) == 1


def test_engine_stays_torch_free() -> None:
    code = (
        "import sys, izzyviz, izzyviz.headstats, izzyviz.stats; "
        "assert izzyviz.head_statistics and izzyviz.HeadStatistics; "
        "assert not {'torch', 'transformers', 'ray'} & set(sys.modules), sorted(sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    assert set(MEASURES) >= {"cls", "sep", "previous", "punctuation"}


def test_an_sdpa_model_goes_through_capture_and_stays_sdpa() -> None:
    from transformers import BertModel

    sdpa = BertModel.from_pretrained(minilm_path()).eval()  # transformers 5 default: SDPA
    assert sdpa.config._attn_implementation != "eager"
    texts = CORPUS[:8]
    stats = izzyviz.head_statistics(sdpa, minilm()[1], texts, batch_size=4, progress=False)
    eager = izzyviz.head_statistics(*minilm(), texts, batch_size=4, progress=False)
    assert sdpa.config._attn_implementation != "eager"
    assert_same(stats, eager, rtol=1e-4)


def random_batch(
    lengths: list[int], left: set[int], causal: bool, seed: int = 0
) -> tuple[list[Any], Any, dict[str, Any]]:
    """Softmax attention of texts of these lengths in one padded batch (texts in ``left``
    padded on the left), 4 heads, 2 layers, with an exact 0 weight (underflow) in text 0."""
    rng = np.random.default_rng(seed)
    q = max(lengths)
    real = np.zeros((len(lengths), q), bool)
    for i, n in enumerate(lengths):
        if i in left:
            real[i, q - n :] = True
        else:
            real[i, :n] = True
    layers = []
    for _ in range(2):
        scores = rng.standard_normal((len(lengths), 4, q, q)) * 3
        scores[:, 0, 2, 0] = -1e4
        keys = np.broadcast_to(real[:, None, None, :], scores.shape)
        scores = np.where(keys, scores, -1e30)  # as the models' masks: exp gives exactly 0
        if causal:
            scores = np.where(np.tril(np.ones((q, q), bool)), scores, -1e30)
        weights = np.exp(scores - scores.max(-1, keepdims=True))
        layers.append(weights / weights.sum(-1, keepdims=True))
    key_sets = {n: (rng.random(real.shape) < 0.3) & real for n in KEY_MEASURES}
    return layers, real, key_sets


def reference_sums(layers: list[Any], real: Any, key_sets: dict[str, Any], window: int) -> Any:
    """Every measure's sum and sum of squares, straight from the definitions, text by text."""
    sums = np.zeros((len(MEASURES), 2, len(layers), layers[0].shape[1]))
    offsets = np.zeros((len(layers), layers[0].shape[1], 2 * window + 1))
    for t, mask in enumerate(real):
        pos = np.flatnonzero(mask)
        for i, layer in enumerate(layers):
            p = layer[t][:, pos][:, :, pos]  # (heads, n, n)
            n = len(pos)
            d = np.arange(n)[:, None] - np.arange(n)[None, :]
            rows = {
                "entropy": -np.where(p > 0, p * np.log(np.where(p > 0, p, 1)), 0).sum(-1),
                "distance": (p * np.abs(d)).sum(-1),
            }
            rows |= {k: p[:, :, key_sets[k][t][pos]].sum(-1) for k in KEY_MEASURES}
            for o in range(-window, window + 1):
                on = np.where(d == -o, p, 0).sum(-1)
                offsets[i, :, o + window] += on.sum(-1)
                rows |= {"previous": on} if o == -1 else {"self": on} if o == 0 else {}
                rows |= {"next": on} if o == 1 else {}
            for m, name in enumerate(MEASURES):
                sums[m, 0, i] += rows[name].sum(-1)
                sums[m, 1, i] += (rows[name] ** 2).sum(-1)
    return sums, offsets


@pytest.mark.parametrize("causal", [False, True])
def test_batch_sums_follow_the_definitions_in_any_padding_and_threads(
    causal: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(headsums, "THREAD_WORK", 1)  # small layers get threads too
    lengths = [30, 7, 19, 30, 1, 12]
    layers, real, key_sets = random_batch(lengths, left={2, 5}, causal=causal)
    values, offsets = reference_sums(layers, real, key_sets, window=4)
    layers[0][1, :, -1] = np.nan  # a fully masked padding row (text 1 is 7 tokens of 30)
    for threads in (1, 3):
        for log in (np.log, _torch_log):
            sums = batch_sums(layers, real, key_sets, MEASURES, 4, log=log, threads=threads)
            assert np.isfinite(sums.values).all()
            np.testing.assert_allclose(sums.values, values, rtol=1e-12, atol=1e-12)
            np.testing.assert_allclose(sums.offsets, offsets, rtol=1e-12, atol=1e-12)
            assert (sums.count, sums.texts) == (sum(lengths), len(lengths))


def test_a_padded_float32_text_sums_as_when_alone() -> None:
    """Each text is measured on its own block of real positions, so padding around it (or its
    neighbours in the batch) changes none of its float32 per-row values."""
    lengths = [25, 9, 16]
    layers, real, key_sets = random_batch(lengths, left={1}, causal=False, seed=3)
    layers = [layer.astype(np.float32) for layer in layers]
    batched = batch_sums(layers, real, key_sets, MEASURES, 8, threads=2)
    alone = None
    for t in range(len(lengths)):
        pos = np.flatnonzero(real[t])
        one = [layer[t : t + 1][:, :, pos][:, :, :, pos].copy() for layer in layers]
        keys = {n: v[t : t + 1, pos] for n, v in key_sets.items()}
        sums = batch_sums(one, np.ones((1, len(pos)), bool), keys, MEASURES, 8)
        alone = sums if alone is None else alone + sums
    assert alone is not None
    np.testing.assert_allclose(batched.values, alone.values, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(batched.offsets, alone.offsets, rtol=1e-9, atol=1e-12)


def test_the_grid_highlights_only_the_labels_of_top_cells() -> None:
    mean = np.arange(72, dtype=float).reshape(6, 12) / 100
    mean[1, 4] = 5.0  # the top three: (1, 4), (5, 11), (5, 10)
    stats = HeadStatistics({"sep": mean}, {"sep": mean}, np.zeros((6, 12, 3)), 10, 2)

    def highlighted(fig: Any, role: str) -> list[str]:
        return [
            next(c.text for c in g.children if hasattr(c, "text"))
            for g in fig.scene.find(role)
            if any(isinstance(c, Rect) and c.fill == HIGHLIGHT for c in g.children)
        ]

    fig = stats.figure("sep")
    assert highlighted(fig, "x-label") == ["4", "10", "11"]
    assert highlighted(fig, "y-label") == ["1", "5"]
    assert len(fig.scene.find("values")[0].children) == 72  # still every value written
    assert highlighted(stats.figure("sep", top=0), "y-label") == []


@pytest.fixture(scope="module")
def llama_left() -> tuple[Any, Any]:
    """A tiny random Llama (RoPE, grouped-query heads) with the MiniLM tokenizer padding on
    the left, as decoder tokenizers usually do."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaModel

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=30522,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        pad_token_id=0,
        initializer_range=0.5,
        attn_implementation="eager",
    )
    tokenizer = AutoTokenizer.from_pretrained(minilm_path(), padding_side="left")
    return LlamaModel(config).eval(), tokenizer


def test_left_padding_does_not_change_any_measure(llama_left: tuple[Any, Any]) -> None:
    """[CLS] is each text's first real token, not position 0 of the padded batch: "cls" (and
    every other measure) is the same in batches of 1 and 4 when the tokenizer pads on the left."""
    model, tokenizer = llama_left
    texts = CORPUS[:8]
    alone = izzyviz.head_statistics(model, tokenizer, texts, batch_size=1, progress=False)
    batched = izzyviz.head_statistics(model, tokenizer, texts, batch_size=4, progress=False)
    mask = np.array(tokenizer(texts[:4], padding=True)["attention_mask"])
    assert not mask[:, 0].all() and mask[:, -1].all()  # really padded on the left
    assert alone.mean["cls"].min() > 0.01
    assert_same(alone, batched, rtol=1e-5)


def test_left_padding_does_not_shift_learned_positions() -> None:
    """GPT-2 learns a vector per absolute position: a text padded on the left would be read
    from position 3 instead of 0 and attend differently. A batch gives what each text alone
    does."""
    import torch
    from transformers import AutoTokenizer, GPT2Config, GPT2Model

    torch.manual_seed(0)
    config = GPT2Config(
        vocab_size=30522, n_embd=32, n_layer=2, n_head=4, n_positions=128, pad_token_id=0,
        bos_token_id=101, eos_token_id=102, initializer_range=0.5, attn_implementation="eager",
    )  # fmt: skip
    model = GPT2Model(config).eval()
    tokenizer = AutoTokenizer.from_pretrained(minilm_path(), padding_side="left")
    texts = CORPUS[:8]
    alone = izzyviz.head_statistics(model, tokenizer, texts, batch_size=1, progress=False)
    batched = izzyviz.head_statistics(model, tokenizer, texts, batch_size=4, progress=False)
    assert_same(alone, batched, rtol=1e-5)


def test_a_folder_without_model_files_says_what_it_lacks(tmp_path: Path) -> None:
    """As the command line says it: not an OSError about sentencepiece or tiktoken."""
    (tmp_path / "README.md").write_text("# notes\n", encoding="utf-8")
    with pytest.raises(FileNotFoundError) as info:
        izzyviz.head_statistics(tmp_path, None, ["hi"], progress=False)
    message = str(info.value)
    assert message.startswith(f"model: {str(tmp_path)!r} is not a transformers model folder")
    for word in ("config.json", "weights", "tokenizer files"):
        assert word in message
    assert "sentencepiece" not in message and "tiktoken" not in message


@pytest.mark.parametrize("max_length", [None, 4096])
def test_texts_longer_than_the_model_are_cut_with_a_warning(max_length: int | None) -> None:
    model, tokenizer = minilm()
    long = " ".join(["word"] * 3000)  # 3,002 tokens; MiniLM has 512 positions
    texts = ["A short text.", long]
    with pytest.warns(UserWarning) as caught:
        stats = izzyviz.head_statistics(
            model, tokenizer, texts, max_length=max_length, batch_size=2, progress=False
        )
    assert [str(w.message) for w in caught] == [
        "texts: 1 of 2 texts are longer than the model's 512 positions and were cut to their "
        "first 512 tokens (the longest has 3,002)"
    ]
    assert stats.count == len(tokenizer("A short text.")["input_ids"]) + 512


def test_max_length_always_takes_effect() -> None:
    model, tokenizer = minilm()
    with pytest.raises(ValueError, match=r"max_length: expected at least 3 \(the tokenizer adds 2"):
        izzyviz.head_statistics(model, tokenizer, ["hello there"], max_length=1, progress=False)
    stats = izzyviz.head_statistics(
        model, tokenizer, ["hello there world", "a b c d e"], max_length=3, progress=False
    )
    assert stats.count == 6  # [CLS] one token [SEP], twice: cut as asked, no warning


def test_left_padding_gives_no_nan_rows_in_float64(llama_left: tuple[Any, Any]) -> None:
    """transformers' float64 mask overflows to -inf, so a causal model's rows that see only
    left padding come out NaN; texts are padded on the right, where no real row does."""
    model, tokenizer = llama_left
    model64 = copy.deepcopy(model).double()
    alone = izzyviz.head_statistics(model64, tokenizer, CORPUS[:4], batch_size=1, progress=False)
    batched = izzyviz.head_statistics(model64, tokenizer, CORPUS[:4], batch_size=4, progress=False)
    assert_same(alone, batched, rtol=1e-6)  # Llama's eager softmax runs in float32


def test_nan_attention_is_refused_not_averaged(llama_left: tuple[Any, Any]) -> None:
    """A model whose weights went NaN: the statistics say so instead of coming back NaN."""
    import torch

    model, tokenizer = llama_left
    broken = copy.deepcopy(model)
    with torch.no_grad():
        broken.layers[1].self_attn.q_proj.weight[0, 0] = float("nan")
    with pytest.raises(ValueError, match=r"NaN or infinity \(are its weights finite\?\)"):
        izzyviz.head_statistics(broken, tokenizer, CORPUS[:4], batch_size=4, progress=False)
