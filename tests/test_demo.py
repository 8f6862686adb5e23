"""``izzyviz demo`` (:func:`izzyviz.demo.write_demo`): every seed figure, without torch."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pypdf
import pytest
from PIL import Image

from izzyviz.demo import main, write_demo
from izzyviz.inputs import display_tokens, load_sample, select_attention

ROOT = Path(__file__).resolve().parents[1]

#: Every file of the demo and a title its text must hold.
EXPECTED = {
    "quick_start.pdf": "Custom Self-Attention Heatmap Title",
    "quick_start.svg": "Custom Self-Attention Heatmap Title",
    "quick_start.png": None,
    "self_attention_heatmap.pdf": "Self-Attention Heatmap",
    "QC_attention_heatmaps.pdf": "All -> All (All tokens attending to all tokens)",
    "decoder_self_attention_heatmap.pdf": "Self-Attention Heatmap (Full Sequence)",
    "decoder_self_attention_source_tokens_heatmap.pdf": "Self-Attention Heatmap (Source Tokens)",
    "decoder_generated_to_source_attention_heatmap.pdf": (
        "Generated Tokens attending to Source Tokens"
    ),
    "decoder_self_attention_generated_tokens_heatmap.pdf": (
        "Self-Attention Heatmap (Generated Tokens)"
    ),
    "cross_attention_heatmap.pdf": "Cross-Attention Heatmap (Decoder to Encoder)",
    "encoder_self_attention_heatmap.pdf": "Encoder Self-Attention Heatmap",
    "seq2seq_decoder_self_attention_heatmap.pdf": "Decoder Self-Attention Heatmap",
}
STAND_INS = [name for name in EXPECTED if "decoder" in name or "encoder" in name]
NO_TORCH = "import sys; sys.modules['torch'] = None; sys.modules['transformers'] = None; "


def _env() -> dict[str, str]:
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    return env


def check_files(out: Path, paths: list[Path] | None = None) -> None:
    """All demo files exist and parse; PDF text holds each title."""
    assert sorted(p.name for p in out.iterdir()) == sorted(EXPECTED)
    if paths is not None:
        assert [p.name for p in paths] == list(EXPECTED)
        assert all(p.parent == out for p in paths)
    for name, title in EXPECTED.items():
        data = (out / name).read_bytes()
        if name.endswith(".pdf"):
            reader = pypdf.PdfReader(io.BytesIO(data))
            assert len(reader.pages) == 1
            text = reader.pages[0].extract_text()
            assert title in text, name
            if name in STAND_INS:
                assert "(MiniLM stand-in)" in text, name
            assert "Ġ" not in text
        elif name.endswith(".svg"):
            ET.fromstring(data)
            assert title in data.decode("utf-8")
        else:
            image = Image.open(io.BytesIO(data))
            assert image.format == "PNG" and min(image.size) > 200


def test_write_demo(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "figures" / "demo"  # parents are created
    paths = write_demo(out)
    check_files(out, paths)
    assert capsys.readouterr().out.splitlines() == [f"IzzyViz: saved {p}" for p in paths]


def test_quick_start_is_the_seed_example(tmp_path: Path) -> None:
    write_demo(str(tmp_path))
    sample = load_sample("quick_start")
    matrix = select_attention(sample.attentions, -1, 8)
    threshold = np.sort(matrix, axis=None)[-5]
    values = [f"{v:.3f}" for v in matrix[matrix >= threshold]]
    text = pypdf.PdfReader(tmp_path / "quick_start.pdf").pages[0].extract_text()
    words = text.split()
    for value in values:
        assert value in words
    assert " ".join(sample.tokens) in text
    svg = (tmp_path / "quick_start.svg").read_text(encoding="utf-8")
    for value in values:
        assert value in svg


def test_question_context_has_five_panels(tmp_path: Path) -> None:
    write_demo(tmp_path)
    text = pypdf.PdfReader(tmp_path / "QC_attention_heatmaps.pdf").pages[0].extract_text()
    for title in (
        "A -> A (Question attending to Question)",
        "B -> B (Context attending to Context)",
        "B -> A (Context attending to Question)",
        "A -> B (Question attending to Context)",
        "All -> All (All tokens attending to all tokens)",
    ):
        assert title in text


def test_stand_ins_use_readable_subword_markers(tmp_path: Path) -> None:
    write_demo(tmp_path)
    for name in ("decoder_self_attention_heatmap.pdf", "cross_attention_heatmap.pdf"):
        text = pypdf.PdfReader(tmp_path / name).pages[0].extract_text()
        assert "▁quick" in text or "▁capital" in text
    cross = pypdf.PdfReader(tmp_path / "cross_attention_heatmap.pdf").pages[0].extract_text()
    for label in display_tokens(["▁what", "▁france", "</s>", "▁paris"]):
        assert label in cross.split()


def test_rewriting_is_deterministic(tmp_path: Path) -> None:
    first = {p.name: p.read_bytes() for p in write_demo(tmp_path / "a")}
    second = {p.name: p.read_bytes() for p in write_demo(tmp_path / "b")}
    assert first == second


def test_main_default_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main([]) == 0
    check_files(tmp_path / "izzyviz-demo")


def test_main_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    assert "--out" in capsys.readouterr().out


def test_runs_without_torch(tmp_path: Path) -> None:
    """``python -m izzyviz.demo`` with torch and transformers made unimportable."""
    out = tmp_path / "out"
    code = (
        NO_TORCH + "import runpy; "
        f"sys.argv = ['izzyviz.demo', '--out', {str(out)!r}]; "
        "runpy.run_module('izzyviz.demo', run_name='__main__')"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=_env(), timeout=300
    )
    assert result.returncode == 0, result.stderr
    check_files(out)
    assert len(result.stdout.splitlines()) == len(EXPECTED)


def test_python_dash_m(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "izzyviz.demo", "--out", "figs"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=_env(),
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    check_files(tmp_path / "figs")


def test_izzyviz_demo_command(tmp_path: Path) -> None:
    """The ``izzyviz demo`` console script (izzyviz.cli) calls write_demo."""
    pytest.importorskip("izzyviz.cli")
    script = shutil.which("izzyviz", path=str(Path(sys.executable).parent))
    if script is None:
        pytest.skip("the izzyviz console script is not installed")
    result = subprocess.run(
        [script, "demo", "--out", "figs"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=_env(),
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    check_files(tmp_path / "figs")
