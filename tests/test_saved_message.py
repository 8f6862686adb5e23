"""One message for every file IzzyViz writes (issue 11, item 3).

``IzzyViz: saved <path>`` is printed once per file written, by ``fig.save``, the seed
functions (``save_path``), ``report`` (a PDF or a folder of pages), the demo and the command
line, and never for data returned in memory or for a failed save.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import izzyviz

SAMPLE = izzyviz.load_sample("quick_start")
T = SAMPLE.tokens
M = SAMPLE.attentions[-1, 0]


def saved_lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return capsys.readouterr().out.splitlines()


def test_fig_save_announces_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fig = izzyviz.heatmap(M, T, T)
    for ext in ("pdf", "svg", "png"):
        path = fig.save(tmp_path / f"a.{ext}")
        assert saved_lines(capsys) == [f"IzzyViz: saved {path}"]
    fig.to_pdf(), fig.to_svg(), fig.to_png(dpi=20)
    assert saved_lines(capsys) == []


def test_seed_functions_announce_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "s.svg"
    izzyviz.visualize_attention_encoder_only(SAMPLE.attentions, T, layer=0, head=0, save_path=path)
    assert saved_lines(capsys) == [f"IzzyViz: saved {path}"]


def test_report_announces_every_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stack = SAMPLE.attentions[:1, :2]
    izzyviz.report(stack, T, tmp_path / "r.pdf", progress=False)
    assert saved_lines(capsys) == [f"IzzyViz: saved {tmp_path / 'r.pdf'}"]
    fig = izzyviz.report(stack, T, tmp_path / "pages.svg", progress=False)
    assert saved_lines(capsys) == [f"IzzyViz: saved {f}" for f in fig.data["files"]]
    assert len(fig.data["files"]) == 3


def test_a_failed_save_announces_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fig = izzyviz.heatmap(np.eye(3), list("abc"), list("abc"))
    with pytest.raises(FileNotFoundError):
        fig.save(tmp_path / "missing" / "x.pdf")
    with pytest.raises(ValueError, match="dpi"):
        fig.save(tmp_path / "x.png", dpi=1e6)
    assert saved_lines(capsys) == []
    assert list(tmp_path.iterdir()) == []
