"""The command line refuses what it cannot do before it does anything: the same usage errors
in the same words from ``render`` and ``model``, each before a model loads or a corpus runs;
empty texts; texts longer than the model (cut, with a warning)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from tests.test_cli import files, one_line_error, run

__all__ = ["files"]  # the fixture, shared with test_cli.py

SENTENCE = "The quick brown fox jumps over the lazy dog."  # MiniLM: the 12 tokens of TOKENS


@pytest.fixture(scope="module")
def unloadable_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """MiniLM's config and tokenizer with weights that cannot load: a command that got past
    its checks would fail with status 1 ("cannot load a model"), so status 2 shows that it
    checked first, before loading."""
    pytest.importorskip("transformers")
    from tests.models import minilm_path

    folder = tmp_path_factory.mktemp("unloadable")
    for name in ("config.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt"):
        (folder / name).write_bytes((minilm_path() / name).read_bytes())
    (folder / "special_tokens_map.json").write_bytes(
        (minilm_path() / "special_tokens_map.json").read_bytes()
    )
    (folder / "model.safetensors").write_bytes(b"not weights")
    return folder


FLAG_ERRORS = [
    ["--layer", "99"],
    ["--layer", "-7", "--head", "0"],
    ["--layer", "0", "--head", "12"],
    ["--layer", "0", "--head", "0", "--batch-index", "3"],
    ["--layer", "0", "--head", "0", "-o", "x.jpg"],
    ["--layer", "0", "--head", "0", "--dpi", "90"],
    ["--layer", "0", "--head", "0", "-o", "x.png", "--dpi", "1e6"],
    ["--report", "--layer", "1"],
    ["--layer", "0", "--head", "0", "--top", "3"],
    ["--layer", "0", "--head", "0", "--region", "0,0,20,20"],
    ["--layer", "0", "--head", "0", "--cmap", "no-such-map"],
    ["--layer", "0", "--head", "0", "--width", "0.5"],
    ["--layer", "0", "--head", "0", "--top-n", "-1"],
    ["--report", "--top", "0"],
]


@pytest.mark.parametrize("flags", FLAG_ERRORS, ids=" ".join)
def test_render_and_model_refuse_the_same_flags_in_the_same_words(
    files: Path, unloadable_model: Path, tmp_path: Path, flags: list[str]
) -> None:
    """Usage errors exit 2, with the same message from both commands, and ``model`` gives it
    before loading the model (its weights here cannot load)."""
    render = run("render", files / "stack.npy", "--tokens", files / "tokens.txt", *flags,
                 cwd=tmp_path)  # fmt: skip
    model = run("model", unloadable_model, "--text", SENTENCE, *flags, cwd=tmp_path)
    one_line_error(render, 2)
    one_line_error(model, 2)
    same = model.stderr.replace("izzyviz model --help", "izzyviz render --help")
    if "--width" in flags or "1e6" in flags:  # model's advice comes from a stand-in matrix
        same, render_words = (re.sub(r"\d[\d,.]*", "N", m) for m in (same, render.stderr))
        assert same == render_words
    else:
        assert same == render.stderr  # (argparse's own errors point to the command's --help)
    assert list(tmp_path.iterdir()) == []


def test_model_refuses_empty_text_and_overwrites_nothing(
    unloadable_model: Path, tmp_path: Path
) -> None:
    out = tmp_path / "figure.pdf"
    out.write_bytes(b"the previous figure")
    empty, blank = tmp_path / "empty.txt", tmp_path / "blank.txt"
    empty.write_text("", encoding="utf-8")
    blank.write_text(" \n\t\n", encoding="utf-8")
    model = ["model", unloadable_model, "-o", out]
    one_line_error(run(*model, "--text", ""), 2, "--text", "expected some text, got ''")
    one_line_error(run(*model, "--text", "  "), 2, "--text", "expected some text")
    one_line_error(run(*model, "--text", "hi", "--text-pair", ""), 2, "--text-pair")
    for path in (empty, blank):
        one_line_error(run(*model, "--text-file", path), 1, "--text-file", str(path), "no text")
    assert out.read_bytes() == b"the previous figure"


def test_a_text_longer_than_the_model_is_cut_with_a_warning(tmp_path: Path) -> None:
    pytest.importorskip("transformers")
    from tests.models import minilm_path

    long = tmp_path / "long.txt"
    long.write_text(" ".join(["word"] * 3000) + " end", encoding="utf-8")
    out = tmp_path / "long.png"
    result = run("model", minilm_path(), "--text-file", long, "-o", out, "--json", "--top-n", "0")
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        f"izzyviz: warning: --text-file {str(long)!r}: 3,003 tokens, more than the model's 512 "
        "positions; cut to the first 512 (the text up to character 2,549 of 15,003)"
    ]
    data = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    assert len(data["tokens"]) == 512 and data["tokens"][-1] == "[SEP]"


STATS_ERRORS = [
    (["--save", "x.txt"], ["--save", ".npz or .json", "x.txt"]),
    (["-o", "x.txt"], ["--output", "x.txt"]),
    (["--top", "0"], ["--top", "positive integer", "'0'"]),
    (["--batch-size", "0"], ["--batch-size", "positive integer", "'0'"]),
    (["--max-length", "0"], ["--max-length", "positive integer"]),
    (["--max-length", "1"], ["--max-length", "at least 3", "2 special tokens"]),
    (["--workers", "0"], ["--workers"]),
    (["--engine", "spark"], ["--engine", "spark"]),
]


@pytest.mark.parametrize(("flags", "words"), STATS_ERRORS, ids=lambda v: " ".join(v))
def test_stats_refuses_its_flags_before_the_corpus_runs(
    unloadable_model: Path, tmp_path: Path, flags: list[str], words: list[str]
) -> None:
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(f"{SENTENCE}\n", encoding="utf-8")
    result = run("stats", unloadable_model, "--texts", corpus, *flags, cwd=tmp_path)
    one_line_error(result, 2, *words)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus.txt"]


def test_stats_refuses_an_empty_corpus_naming_it(unloadable_model: Path, tmp_path: Path) -> None:
    for name, content in (("empty.txt", ""), ("blank.txt", "\n  \n\n")):
        corpus = tmp_path / name
        corpus.write_text(content, encoding="utf-8")
        result = run("stats", unloadable_model, "--texts", corpus, cwd=tmp_path)
        one_line_error(result, 1, "--texts", str(corpus), "no text")
    result = run("stats", unloadable_model, "--texts", tmp_path / "none.txt", cwd=tmp_path)
    one_line_error(result, 1, "--texts", "none.txt", "does not exist")
    assert not (tmp_path / "stats.pdf").exists()


def test_model_width_advice_comes_early_and_works(unloadable_model: Path, tmp_path: Path) -> None:
    """The smallest width ``model`` names before loading (from a stand-in matrix whose top
    cells sit on the longest labels) works for the real figure, and is no narrower than what
    ``render`` says for MiniLM's real attention of that sentence."""
    pytest.importorskip("torch")
    from tests.models import minilm_path

    def advice(result: subprocess.CompletedProcess[str]) -> float:
        one_line_error(result, 2, "--width")
        return float(re.findall(r"smallest width that works is ([\d.]+) in", result.stderr)[0])

    narrow = ["--layer", "-1", "--head", "3", "--width", "1"]
    early = advice(run("model", unloadable_model, "--text", SENTENCE, *narrow, cwd=tmp_path))
    sample = run("sample", cwd=tmp_path)
    assert sample.returncode == 0, sample.stderr
    render = run("render", "attention.npy", "--tokens", "tokens.txt", *narrow, cwd=tmp_path)
    assert early >= advice(render)
    out = tmp_path / "fits.pdf"
    flags = ["--layer", "-1", "--head", "3", "--width", str(early), "-o", out]
    result = run("model", minilm_path(), "--text", SENTENCE, *flags)
    assert result.returncode == 0, result.stderr


SERVE_ERRORS = [
    (["--gamma", "-1"], "--gamma: expected a positive number, got '-1'"),
    (["--gamma", "nan"], "--gamma: expected a positive number"),
    (["--port", "99999"], "--port: expected a port number from 0"),
    (["--host", "0.0.0.0"], "--host: expected a loopback address"),
    (["--top-n", "-1"], "--top-n: expected an integer of at least 0"),
]


@pytest.mark.parametrize(
    ("flags", "words"), SERVE_ERRORS, ids=[" ".join(flags) for flags, _ in SERVE_ERRORS]
)
def test_serve_refuses_its_flags_as_render_does(files: Path, flags: list[str], words: str) -> None:
    """``serve``'s drawing flags take ``render``'s types, and its own are named as flags: a
    usage error exits 2 before the map is read or a port is opened."""
    result = run("serve", files / "matrix.npy", "--tokens", files / "tokens.txt", *flags)
    one_line_error(result, 2, words)
    assert "reading" not in result.stdout
