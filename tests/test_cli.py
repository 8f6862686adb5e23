"""The ``izzyviz`` command end to end: real files in, real files out, one-line errors."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import izzyviz
from izzyviz.cli import _parser, load_attention, main, read_tokens

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import bench_cli

SAMPLE = izzyviz.load_sample("quick_start")
TOKENS = SAMPLE.tokens  # 12 WordPiece tokens, starting with [CLS]


def run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONSAFEPATH": "1"}
    return subprocess.run(
        [sys.executable, "-m", "izzyviz.cli", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=300,
        check=False,
    )


def one_line_error(result: subprocess.CompletedProcess[str], status: int, *words: str) -> None:
    assert result.returncode == status, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("izzyviz: error: ")
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in lines[0]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cli")
    np.save(folder / "stack.npy", SAMPLE.attentions)
    np.save(folder / "matrix.npy", SAMPLE.attentions[5, 3])
    np.savez(folder / "arrays.npz", stack=SAMPLE.attentions, noise=np.zeros(3))
    (folder / "tokens.txt").write_text("\n".join(TOKENS) + "\n", encoding="utf-8")
    (folder / "tokens.json").write_text(json.dumps(TOKENS), encoding="utf-8")
    (folder / "short.txt").write_text("\n".join(TOKENS[:-1]), encoding="utf-8")
    return folder


# -- loading ---------------------------------------------------------------------------------------


def test_tokens_files_one_per_line_or_json(files: Path) -> None:
    assert read_tokens(files / "tokens.txt") == TOKENS
    assert read_tokens(files / "tokens.json") == TOKENS
    with pytest.raises(FileNotFoundError, match="--tokens"):
        read_tokens(files / "nope.txt")


def test_attention_files_of_every_format(files: Path, tmp_path: Path) -> None:
    np.testing.assert_array_equal(load_attention(files / "stack.npy"), SAMPLE.attentions)
    np.testing.assert_array_equal(load_attention(files / "arrays.npz"), SAMPLE.attentions)
    assert load_attention(files / "arrays.npz", "noise").shape == (3,)
    with pytest.raises(ValueError, match="'noise'"):
        load_attention(files / "arrays.npz", "missing")
    torch = pytest.importorskip("torch")
    torch.save({"attn": torch.tensor(SAMPLE.attentions)}, tmp_path / "a.pt")
    np.testing.assert_array_equal(load_attention(tmp_path / "a.pt").numpy(), SAMPLE.attentions)
    safetensors = pytest.importorskip("safetensors.torch")
    bf16 = torch.tensor(SAMPLE.attentions).to(torch.bfloat16)
    safetensors.save_file({"b": bf16, "a": bf16 * 0}, str(tmp_path / "a.safetensors"))
    assert float(load_attention(tmp_path / "a.safetensors").abs().sum()) == 0  # first by name
    loaded = load_attention(tmp_path / "a.safetensors", "b")
    assert loaded.dtype == torch.bfloat16 and tuple(loaded.shape) == SAMPLE.attentions.shape


# -- render ------------------------------------------------------------------------------------


def test_render_matrix_to_png_with_json(files: Path, tmp_path: Path) -> None:
    out = tmp_path / "head.png"
    result = run(
        "render", files / "matrix.npy", "--tokens", files / "tokens.txt", "-o", out,
        "--json", "--top-n", "4", "--region", "1,1,3,4", "--region", "0,0,0,0",
        "--gamma", "1", "--cmap", "viridis", "--dpi", "60", "--title", "Head 5.3",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"IzzyViz: saved {out}",
        f"IzzyViz: saved {out.with_suffix('.json')}",
    ]
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    data = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    matrix = SAMPLE.attentions[5, 3].astype(np.float64)
    assert data["vmin"] == pytest.approx(matrix.min()) and data["vmax"] == pytest.approx(
        matrix.max()
    )
    assert data["gamma"] == 1.0 and data["cmap"] == "viridis"
    assert data["regions"] == [[1, 1, 3, 4], [0, 0, 0, 0]]
    assert data["file"] == str(out) and data["tokens"] == TOKENS
    top = data["panels"][0]["top_cells"]
    assert len(top) == 4
    assert sorted(v for *_, v in top) == pytest.approx(sorted(matrix.ravel())[-4:])
    for r, c, v in top:
        assert matrix[r, c] == pytest.approx(v)


def test_render_takes_the_norm_and_percentile_ends(files: Path, tmp_path: Path) -> None:
    out = tmp_path / "head.svg"
    result = run(
        "render", files / "matrix.npy", "--tokens", files / "tokens.txt", "-o", out, "--json",
        "--norm", "log", "--vmax", "99%", "--vmin", "1e-3",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    data = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    matrix = SAMPLE.attentions[5, 3]
    assert data["norm"] == "log" and data["vmin"] == 1e-3
    assert data["vmax"] == float(np.percentile(matrix, 99, method="inverted_cdf"))
    bad = run("render", files / "matrix.npy", "-o", tmp_path / "x.pdf", "--vmax", "hundred%")
    one_line_error(bad, 2, "vmax", "percentile")
    assert not (tmp_path / "x.pdf").exists()
    wrong = run("render", files / "matrix.npy", "-o", tmp_path / "x.pdf", "--norm", "sqrt")
    one_line_error(wrong, 2, "--norm")


def test_render_one_head_of_a_stack_from_npz_and_torch(files: Path, tmp_path: Path) -> None:
    from pypdf import PdfReader

    out = tmp_path / "npz.svg"
    result = run(
        "render", files / "arrays.npz", "--key", "stack", "--tokens", files / "tokens.json",
        "--layer", "-1", "--head", "2", "-o", out, "--xlabel", "keys", "--raw-tokens",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "keys" in out.read_text(encoding="utf-8")

    torch = pytest.importorskip("torch")
    torch.save([torch.tensor(layer)[None] for layer in SAMPLE.attentions], tmp_path / "a.pt")
    result = run(
        "render", tmp_path / "a.pt", "--tokens", files / "tokens.txt", "--layer", "2",
        "--head", "3", "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    pdf = tmp_path / "a_layer2_head3.pdf"  # default: next to the input
    assert "fox" in PdfReader(pdf).pages[0].extract_text()
    data = json.loads(pdf.with_suffix(".json").read_text(encoding="utf-8"))
    assert (data["layer"], data["head"]) == (2, 3)
    expected = SAMPLE.attentions[2, 3]
    for r, c, v in data["panels"][0]["top_cells"]:
        assert expected[r, c] == pytest.approx(v, rel=1e-6)


def test_render_report_from_safetensors(files: Path, tmp_path: Path) -> None:
    from pypdf import PdfReader

    safetensors = pytest.importorskip("safetensors.numpy")
    safetensors.save_file({"attentions": SAMPLE.attentions}, str(tmp_path / "a.safetensors"))
    out = tmp_path / "report.pdf"
    result = run(
        "render", tmp_path / "a.safetensors", "--tokens", files / "tokens.txt", "--report",
        "--order-by", "special_tokens", "--top", "4", "-o", out, "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    reader = PdfReader(out)
    assert len(reader.pages) == 5 and len(reader.outline) == 4
    data = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    assert data["order_by"] == "special_tokens" and len(data["pages"]) == 4
    scores = [p["score"] for p in data["pages"]]
    assert scores == sorted(scores, reverse=True)
    assert data["files"] == [str(out)]


def test_render_report_into_a_folder(files: Path, tmp_path: Path) -> None:
    result = run(
        "render", files / "stack.npy", "--tokens", files / "tokens.txt", "--report",
        "-o", tmp_path / "pages.svg", "--json", "--no-progress",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # --no-progress: no bar
    folder = tmp_path / "pages"
    assert len(list(folder.glob("*.svg"))) == 73
    assert json.loads((folder / "report.json").read_text(encoding="utf-8"))["kind"] == "report"


# -- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "status", "words"),
    [
        (["render", "{f}/missing.npy", "--tokens", "{f}/tokens.txt"], 1, ["missing.npy"]),
        (["render", "{f}/matrix.npy", "--tokens", "{f}/missing.txt"], 1, ["--tokens"]),
        (["render", "{f}/matrix.npy", "--tokens", "{f}/short.txt"], 1, ["11 tokens", "12 x 12"]),
        (["render", "{f}/stack.npy", "--tokens", "{f}/tokens.txt"], 2, ["--layer", "--head"]),
        (
            [
                "render",
                "{f}/stack.npy",
                "--tokens",
                "{f}/tokens.txt",
                "--layer",
                "9",
                "--head",
                "0",
            ],
            2,
            ["--layer", "out of range"],
        ),
        (["render", "{f}/matrix.npy", "--tokens", "{f}/tokens.txt", "--bogus"], 2, ["--bogus"]),
        (
            ["render", "{f}/matrix.npy", "--tokens", "{f}/tokens.txt", "--region", "1,2"],
            2,
            ["--region", "ROW0"],
        ),
        (
            ["render", "{f}/matrix.npy", "--tokens", "{f}/tokens.txt", "--region", "0,0,20,20"],
            2,
            ["--region", "outside"],
        ),
        (["render", "{f}/matrix.npy", "--tokens", "{f}/tokens.txt", "--gamma", "-1"], 2, ["gamma"]),
        (["render", "{f}/matrix.npy", "--tokens", "{f}/tokens.txt", "--cmap", "no"], 2, ["--cmap"]),
        (["render", "{f}/matrix.npy", "--tokens", "{f}/tokens.txt", "-o", "x.jpg"], 2, ["x.jpg"]),
        (["render", "{f}/matrix.npy", "--tokens", "{f}/tokens.txt", "--dpi", "90"], 2, ["--dpi"]),
        (["render", "{f}/tokens.txt", "--tokens", "{f}/tokens.txt"], 2, ["format"]),
        (["render", "{f}/arrays.npz", "--key", "x", "--tokens", "{f}/tokens.txt"], 2, ["'x'"]),
        (["model", "{f}/no-model", "--text", "hi"], 1, ["MODEL_DIR"]),
        ([], 2, ["COMMAND"]),
        (["paint"], 2, ["paint"]),
    ],
)
def test_errors_are_one_line_with_a_status(
    files: Path, tmp_path: Path, args: list[str], status: int, words: list[str]
) -> None:
    result = run(*(a.replace("{f}", str(files)) for a in args), cwd=tmp_path)
    one_line_error(result, status, *words)
    assert list(tmp_path.iterdir()) == []  # nothing half-written


@pytest.mark.parametrize(
    ("flags", "words"),
    [
        (["--layer", "99"], ["--layer", "99", "out of range", "6 layers"]),
        (["--layer", "99", "--head", "0"], ["--layer", "out of range"]),
        (["--layer", "0", "--head", "12"], ["--head", "12", "out of range", "12 heads"]),
        (["--head", "40"], ["--head", "out of range"]),
        (["--layer", "1"], ["--head", "missing", "0 to 11"]),
        (["--head", "1"], ["--layer", "missing", "0 to 5"]),
        (["--layer", "0", "--head", "0", "--batch-index", "3"], ["--batch-index", "out of range"]),
    ],
)
def test_render_names_the_flag_out_of_range_or_missing(
    files: Path, tmp_path: Path, flags: list[str], words: list[str]
) -> None:
    result = run("render", files / "stack.npy", "--tokens", files / "tokens.txt", *flags,
                 cwd=tmp_path)  # fmt: skip
    one_line_error(result, 2, *words)
    assert "5-D" not in result.stderr and "4-D" not in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_dpi_beyond_the_pixel_budget_is_a_usage_error(files: Path, tmp_path: Path) -> None:
    out = tmp_path / "big.png"
    for dpi in ("1e6", "5000"):
        result = run("render", files / "matrix.npy", "--tokens", files / "tokens.txt",
                     "-o", out, "--dpi", dpi, cwd=tmp_path)  # fmt: skip
        one_line_error(result, 2, "--dpi", "pixels")
    assert list(tmp_path.iterdir()) == []


def test_unexpected_errors_exit_3_with_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from izzyviz import cli

    def broken(args: object) -> int:
        raise RuntimeError("a bug")

    monkeypatch.setitem(cli.COMMANDS, "demo", dataclasses.replace(cli.COMMANDS["demo"], run=broken))
    assert main(["demo"]) == 3
    err = capsys.readouterr().err
    assert "Traceback" in err and "RuntimeError: a bug" in err
    assert err.strip().splitlines()[-1].startswith("izzyviz: internal error: RuntimeError: a bug")


def test_exit_statuses_are_documented() -> None:
    from tests.test_readme import README

    help_text = run("--help").stdout
    readme = README.read_text(encoding="utf-8")
    for text in (help_text, readme):
        assert "exit status" in text.lower()
        for status in ("0", "1", "2", "3", "130"):
            assert re.search(rf"^\s*(- )?`?{status}`?(:|\s)", text, re.M), (status, text)


def test_main_in_process_returns_the_status(
    files: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "m.pdf"
    assert main(["render", str(files / "matrix.npy"), "--tokens", str(files / "tokens.txt"),
                 "-o", str(out)]) == 0  # fmt: skip
    assert out.is_file()
    assert main(["render", str(files / "matrix.npy"), "--tokens", str(files / "short.txt")]) == 1
    assert capsys.readouterr().err.startswith("izzyviz: error: --tokens")
    assert main(["--version"]) == 0
    assert izzyviz.__version__ in capsys.readouterr().out


def test_help_documents_every_flag() -> None:
    parser = _parser()
    result = run("--help")
    assert result.returncode == 0
    for command in ("render", "model", "demo"):
        assert command in result.stdout
    commands = next(a for a in parser._actions if a.dest == "command")
    for name, sub in commands.choices.items():  # type: ignore[union-attr]
        text = run(name, "--help").stdout
        for action in sub._actions:
            for flag in action.option_strings:
                assert flag in text, (name, flag)
            assert action.help, (name, action.dest)


# -- model and demo ------------------------------------------------------------------------------


def test_model_command_runs_minilm_offline(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from pypdf import PdfReader

    from tests.models import minilm_path

    out = tmp_path / "minilm.pdf"
    result = run(
        "model", minilm_path(), "--text", "Where is Paris?", "--text-pair",
        "Paris is in France.", "--layer", "0", "--head", "5", "-o", out, "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    text = PdfReader(out).pages[0].extract_text()
    assert "paris" in text and "[SEP]" in text
    data = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    assert data["tokens"][0] == "[CLS]" and data["tokens"].count("[SEP]") == 2
    assert data["source"]["text_pair"] == "Paris is in France."

    report = tmp_path / "minilm-report.pdf"
    result = run("model", minilm_path(), "--text", "A short one.", "--report", "-o", report)
    assert result.returncode == 0, result.stderr
    assert len(PdfReader(report).outline) == 72


@pytest.mark.parametrize(
    ("flags", "layer", "head"), [(["--layer", "-1"], 5, 0), (["--head", "3"], 5, 3)]
)
def test_model_layer_or_head_alone_uses_the_default(
    tmp_path: Path, flags: list[str], layer: int, head: int
) -> None:
    pytest.importorskip("transformers")
    from tests.models import minilm_path

    result = run("model", minilm_path(), "--text", "hi", *flags, "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = tmp_path / f"attention_layer{layer}_head{head}.pdf"  # named by absolute index
    assert result.stdout.splitlines()[0] == f"IzzyViz: saved {out.name}"
    data = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    assert (data["layer"], data["head"]) == (layer, head)


def test_model_folder_says_which_files_are_missing(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run("model", empty, "--text", "hi", cwd=tmp_path)
    one_line_error(result, 1, "MODEL_DIR", str(empty), "config.json", "weights", "tokenizer")
    (empty / "config.json").write_text("{}", encoding="utf-8")
    result = run("model", empty, "--text", "hi", cwd=tmp_path)
    one_line_error(result, 1, "weights", "tokenizer")
    assert "config.json" not in result.stderr.split("lacks", 1)[-1]


def test_demo_command_writes_into_the_folder(tmp_path: Path) -> None:
    pytest.importorskip("izzyviz.demo")
    result = run("demo", "--out", tmp_path / "demo")
    assert result.returncode == 0, result.stderr
    assert any((tmp_path / "demo").iterdir())


# -- reading files in place (issue 27) ---------------------------------------------------------


def test_a_memmapped_npy_reaches_the_engine_as_a_memmap(
    files: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The matrix the block reader gets is the file's memmap (or a view of one head of it), so
    a long map is read block by block as the library reads it."""
    from izzyviz import job as plot

    seen: list[object] = []
    original = plot.summarize

    def spy(data: object, *args: object, **kwargs: object) -> object:
        seen.append(data)
        return original(data, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(plot, "summarize", spy)
    assert main(["render", str(files / "matrix.npy"), "-o", str(tmp_path / "m.pdf")]) == 0
    args = ["render", str(files / "stack.npy"), "--layer", "2", "--head", "3"]
    assert main([*args, "-o", str(tmp_path / "h.pdf")]) == 0
    assert len(seen) == 2
    for data, name in zip(seen, ("matrix.npy", "stack.npy"), strict=True):
        assert isinstance(data, np.memmap) and Path(str(data.filename)).name == name
    np.testing.assert_array_equal(seen[1], SAMPLE.attentions[2, 3])


def _write_stack(path: Path, stack: np.ndarray) -> None:
    if path.suffix == ".npy":
        np.save(path, stack)
    elif path.suffix == ".pt":
        torch = pytest.importorskip("torch")
        torch.save(torch.from_numpy(stack), path)
    else:
        pytest.importorskip("safetensors").numpy.save_file({"attentions": stack}, str(path))


def _read_during(path: Path, action: Any) -> int:
    """Bytes read from disk while ``action()`` runs, ``path`` dropped from the page cache."""
    bench_cli.evict(str(path))
    before = bench_cli.read_bytes()
    action()
    return bench_cli.read_bytes() - before


@pytest.mark.parametrize("suffix", [".npy", ".safetensors", ".pt"])
def test_one_head_of_a_4d_file_is_read_without_the_rest(tmp_path: Path, suffix: str) -> None:
    """Drawing one head of a 4-D file, dropped from the page cache first, reads from disk
    (/proc/self/io) at most twice the head's 32 MiB (the kernel reads ahead around mapped
    pages), as the library does drawing that head from a memmap; the old code read all 128."""
    if not Path("/proc/self/io").exists() or not hasattr(os, "posix_fadvise"):
        pytest.skip("needs /proc/self/io and posix_fadvise (Linux)")
    pytest.importorskip("safetensors.numpy")
    rng = np.random.default_rng(0)
    stack = np.empty((2, 2, 4096, 4096), np.float16)
    for layer, head in np.ndindex(2, 2):
        stack[layer, head] = rng.random((4096, 4096), dtype=np.float32)
    reference, path = tmp_path / "reference.npy", tmp_path / f"stack{suffix}"
    np.save(reference, stack)
    _write_stack(path, stack)
    labels = [str(i) for i in range(4096)]
    izzyviz.heatmap(stack[0, 0], labels, labels).save(tmp_path / "warm.png")
    library = _read_during(
        reference,
        lambda: izzyviz.heatmap(np.load(reference, mmap_mode="r")[1, 1], labels, labels).save(
            tmp_path / "library.png"
        ),
    )
    head = stack[1, 1].nbytes
    if library < head // 2:
        pytest.skip("the page cache cannot be dropped here (tmpfs?)")
    tokens = tmp_path / "tokens.txt"
    tokens.write_text("\n".join(labels), encoding="utf-8")
    args = ["render", str(path), "--tokens", str(tokens), "--layer", "1", "--head", "1"]
    assert main([*args, "-o", str(tmp_path / "warm_cli.png")]) == 0  # modules it imports: cached
    statuses: list[int] = []
    read = _read_during(path, lambda: statuses.append(main([*args, "-o", str(tmp_path / "h.png")])))
    assert statuses == [0]
    assert library <= 2 * head and read <= 2 * head, (read, library, head)


def test_npz_reads_only_the_selected_array(tmp_path: Path) -> None:
    """An .npz is zipped (no memmap): the array asked for is read, the others never are (here
    one that is not a valid array at all)."""
    import zipfile

    path = tmp_path / "mixed.npz"
    np.savez(path, good=SAMPLE.attentions[0, 0])
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("broken.npy", b"not an array")
    out = tmp_path / "good.svg"
    assert main(["render", str(path), "--key", "good", "-o", str(out)]) == 0
    assert main(["render", str(path), "--key", "broken", "-o", str(tmp_path / "x.svg")]) == 1


def test_tokens_are_optional_positions_label_the_axes(files: Path, tmp_path: Path) -> None:
    out = tmp_path / "positions.svg"
    result = run("render", files / "matrix.npy", "-o", out, "--json", "--top-n", "0")
    assert result.returncode == 0, result.stderr
    data = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    assert data["tokens"] == [str(i) for i in range(12)]
    text = out.read_text(encoding="utf-8")
    assert ">11</text>" in text and "[CLS]" not in text
    help_text = run("render", "--help").stdout
    assert "default: positions" in help_text
    for words in ("memory-mapped", "only the head drawn is read", ".npz", "read whole"):
        assert words in " ".join(help_text.split()), words


def test_long_heads_are_titled_and_named_by_absolute_index(files: Path, tmp_path: Path) -> None:
    from pypdf import PdfReader

    stack = tmp_path / "stack.npy"
    stack.write_bytes((files / "stack.npy").read_bytes())
    result = run("render", stack, "--tokens", files / "tokens.txt", "--layer", "-1", "--head", "-9")
    assert result.returncode == 0, result.stderr
    pdf = tmp_path / "stack_layer5_head3.pdf"  # never "layer-1"
    assert result.stdout.strip() == f"IzzyViz: saved {pdf}"
    assert "Layer 5 of 6, head 3 of 12" in PdfReader(pdf).pages[0].extract_text()
    result = run("render", stack, "--layer", "0", "--head", "1", "--title", "Mine", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Mine" in PdfReader(tmp_path / "stack_layer0_head1.pdf").pages[0].extract_text()


# -- the sample command, and the table of commands --------------------------------------------


def test_sample_writes_files_render_reads(tmp_path: Path) -> None:
    result = run("sample", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"IzzyViz: saved {name}" for name in ("attention.npy", "tokens.txt")
    ]
    np.testing.assert_array_equal(np.load(tmp_path / "attention.npy"), SAMPLE.attentions)
    assert read_tokens(tmp_path / "tokens.txt") == TOKENS
    result = run("sample", "self_attention", "--out", "x.pt", cwd=tmp_path)
    one_line_error(result, 2, "--out", ".npy", "x.pt")


def test_a_new_subcommand_is_one_entry_in_the_table(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from izzyviz import cli
    from izzyviz.cli.common import Command

    def add_arguments(parser: object) -> None:
        parser.add_argument("--port", type=int, default=8000, help="port")  # type: ignore[attr-defined]

    def serve(args: object) -> int:
        print(f"serving on {args.port}")  # type: ignore[attr-defined]
        return 0

    command = Command("serve", "serve figures", "Serve figures.", add_arguments, serve)
    monkeypatch.setitem(cli.COMMANDS, "serve", command)
    assert main(["serve", "--port", "9"]) == 0
    assert capsys.readouterr().out == "serving on 9\n"
    assert main(["--help"]) == 0
    assert "serve figures" in capsys.readouterr().out
