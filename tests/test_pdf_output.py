"""The PDF file itself (issue 11, items 5 and 8).

* The same call gives the same bytes from any thread: the backend never changes ReportLab's
  process-wide settings (``rl_config``) or functions while it renders.
* Every font a PDF references is embedded (``pdffonts`` and pypdf agree): no base-14 Helvetica.
* The document information holds only what the user gave (title, author, subject) and the
  program that made it: no "anonymous" author, no "unspecified" subject, no invented dates.
* Metadata options are checked before anything is drawn, with errors naming the option.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pypdf import PdfReader

import izzyviz
from tests import figures
from tests.system_tools import require

SAMPLE = izzyviz.load_sample("quick_start")


def _report(path: Path) -> Any:
    from izzyviz.heads import report

    return report(SAMPLE.attentions[:2, :2], SAMPLE.tokens, path, progress=False, title="r")


FIGURES: dict[str, Callable[[Path], Any]] = {
    "vector-cells": lambda p: figures.quick_start().save(p),
    "image-cells": lambda p: izzyviz.heatmap(
        np.random.default_rng(1).random((40, 40)), list("ab" * 20), list("cd" * 20), cells="image"
    ).save(p, author="Ada", subject="cells"),
    "report": _report,
}


def _save(name: str, path: Path) -> bytes:
    FIGURES[name](path)
    return path.read_bytes()


# -- the same bytes from any thread ---------------------------------------------------------------


def test_threads_give_the_bytes_of_a_single_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reportlab import rl_config

    names = list(FIGURES)
    expected = {name: _save(name, tmp_path / f"one-{name}.pdf") for name in names}
    results: list[tuple[str, bytes]] = []
    for round in range(6):
        # Each burst starts from ReportLab's defaults, as in a fresh process: the old
        # backend's save/restore of rl_config.useA85 raced only while no save had finished.
        monkeypatch.setattr(rl_config, "useA85", 1)
        barrier = threading.Barrier(8)

        def work(
            worker: int, round: int = round, start: threading.Barrier = barrier
        ) -> list[tuple[str, bytes]]:
            start.wait()
            return [(n, _save(n, tmp_path / f"{round}-{worker}-{n}.pdf")) for n in names]

        with ThreadPoolExecutor(8) as pool:
            results.extend(item for batch in pool.map(work, range(8)) for item in batch)
        assert rl_config.useA85 == 1
    assert len(results) == 6 * 8 * len(names)
    differing = [name for name, data in results if data != expected[name]]
    assert not differing, f"{len(differing)} of {len(results)} PDFs differ: {set(differing)}"
    assert all(b"/ASCII85Decode" not in data for _, data in results)


def test_reportlab_settings_and_functions_are_left_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reportlab import rl_config
    from reportlab.pdfbase import ttfonts

    reference = _save("vector-cells", tmp_path / "before.pdf")
    monkeypatch.setattr(rl_config, "useA85", 1)  # a user's own choice for their documents
    settings = {k: v for k, v in vars(rl_config).items() if isinstance(v, (int, float, str))}
    assert _save("vector-cells", tmp_path / "after.pdf") == reference
    assert {k: v for k, v in vars(rl_config).items() if k in settings} == settings
    assert ttfonts.makeToUnicodeCMap.__module__ == "reportlab.pdfbase.ttfonts"


def test_characters_beyond_the_bmp_copy_out_of_the_pdf(tmp_path: Path) -> None:
    # U+10300 (Old Italic) is in the bundled DejaVu Sans: its ToUnicode entry needs a
    # surrogate pair, which our own CMap writes now that ReportLab's is no longer patched.
    token = "\U00010300\U00010301"
    fig = izzyviz.heatmap(np.eye(2), [token, "b"], ["c", "d"], top_n=0)
    text = PdfReader(fig.save(tmp_path / "astral.pdf")).pages[0].extract_text()
    assert token in text


FALLBACK_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuMathTeXGyre.ttf")
FALLBACK_SCRIPT = """
import sys, threading, numpy as np, izzyviz
from concurrent.futures import ThreadPoolExecutor
from pypdf import PdfReader
token = "\\U0001d400\\U0001d401x"  # math bold A, B: not in DejaVu Sans, in the fallback font
fig = izzyviz.heatmap(np.eye(2), [token, "b"], ["c", "d"], top_n=0)
start = threading.Barrier(8)
def work(i):
    start.wait()
    return fig.save(f"{sys.argv[1]}/{i}.pdf").read_bytes()
with ThreadPoolExecutor(8) as pool:
    outputs = list(pool.map(work, range(8)))
assert len(set(outputs)) == 1, "threads wrote different PDFs"
assert token in PdfReader(f"{sys.argv[1]}/0.pdf").pages[0].extract_text()
"""


def test_fallback_fonts_are_embedded_and_their_text_copies_out(tmp_path: Path) -> None:
    if not FALLBACK_FONT.is_file():
        pytest.skip(f"{FALLBACK_FONT} (Debian: fonts-dejavu-extra) is not installed")
    env = {**os.environ, "IZZYVIZ_FONT_PATH": str(FALLBACK_FONT)}
    subprocess.run(
        [sys.executable, "-c", FALLBACK_SCRIPT, str(tmp_path)], env=env, check=True, timeout=300
    )
    names = [row[0] for row in _pdffonts(tmp_path / "0.pdf")]
    assert any("DejaVuMathTeXGyre" in name for name in names), names
    assert all(row[-5] == "yes" for row in _pdffonts(tmp_path / "0.pdf"))


# -- every font embedded --------------------------------------------------------------------------


def _pdffonts(path: Path) -> list[list[str]]:
    exe = require("pdffonts")
    out = subprocess.run([exe, str(path)], capture_output=True, text=True, check=True).stdout
    return [line.split() for line in out.splitlines()[2:]]


@pytest.mark.parametrize("name", FIGURES)
def test_pdffonts_lists_only_embedded_fonts(name: str, tmp_path: Path) -> None:
    path = tmp_path / "f.pdf"
    FIGURES[name](path)
    rows = _pdffonts(path)
    assert rows, "the figure draws text, so some font must be listed"
    for row in rows:
        # name type [type] encoding emb sub uni object-id generation
        assert row[-5] == "yes", f"font {row[0]} is not embedded"
    assert not any("Helvetica" in row[0] for row in rows)


@pytest.mark.parametrize("name", FIGURES)
def test_every_font_resource_carries_its_font_file(name: str, tmp_path: Path) -> None:
    path = tmp_path / "f.pdf"
    FIGURES[name](path)
    reader = PdfReader(path)
    seen = 0
    for page in reader.pages:
        fonts = page["/Resources"].get_object().get("/Font", {})
        for font in fonts.values():
            font = font.get_object()
            descriptor = font["/FontDescriptor"].get_object()
            assert "/FontFile2" in descriptor, font["/BaseFont"]
            seen += 1
    assert seen


# -- metadata -------------------------------------------------------------------------------------


def _info(path: Path) -> dict[str, str]:
    reader = PdfReader(path)
    assert reader.metadata is not None
    return {key: str(value) for key, value in reader.metadata.items()}


def test_only_the_metadata_given_is_written(tmp_path: Path) -> None:
    fig = izzyviz.heatmap(np.eye(2), ["a", "b"], ["c", "d"], title=None)
    info = _info(fig.save(tmp_path / "bare.pdf"))
    assert set(info) == {"/Creator", "/Producer"}, info
    assert info["/Creator"] == "IzzyViz"
    given = {"title": "T", "author": "Ada", "subject": "heads"}
    info = _info(fig.save(tmp_path / "given.pdf", **given))
    assert info == {
        "/Title": "T",
        "/Author": "Ada",
        "/Subject": "heads",
        "/Creator": "IzzyViz",
        "/Producer": info["/Producer"],
    }
    assert "anonymous" not in str(info) and "unspecified" not in str(info)


def test_figure_title_is_the_document_title(tmp_path: Path) -> None:
    fig = izzyviz.heatmap(np.eye(2), ["a", "b"], ["c", "d"], title="drawn")
    assert _info(fig.save(tmp_path / "t.pdf"))["/Title"] == "drawn"
    assert _info(fig.save(tmp_path / "u.pdf", title="given"))["/Title"] == "given"


@pytest.mark.parametrize("option", ["title", "author", "subject"])
@pytest.mark.parametrize("value", [123, b"bytes", ["a"], 1.5, True])
def test_metadata_must_be_text(option: str, value: Any, tmp_path: Path) -> None:
    fig = izzyviz.heatmap(np.eye(2), ["a", "b"], ["c", "d"])
    with pytest.raises(TypeError) as info:
        fig.save(tmp_path / "m.pdf", **{option: value})
    message = str(info.value)
    assert message.startswith(f"{option}: expected a string or None"), message
    assert repr(value) in message
    assert list(tmp_path.iterdir()) == []
