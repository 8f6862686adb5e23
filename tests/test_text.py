"""Text in every script: fonts, fallback, right-to-left order, extraction from the PDF."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pytest
from pypdf import PdfReader

import izzyviz
from izzyviz.text import MissingGlyphWarning, metrics, visual_order

SCRIPTS = {
    "latin": "café",
    "cyrillic": "Привет",
    "greek": "Ελλάδα",
    "hebrew": "שלום",
    "arabic": "مرحبا",
    "cjk": "東京",
    "hangul": "한국",
    "emoji": "😀",
}


def pdf_text(fig: izzyviz.Figure, tmp_path) -> str:  # type: ignore[no-untyped-def]
    path = fig.save(tmp_path / "t.pdf")
    return PdfReader(path).pages[0].extract_text()


def test_every_script_has_a_font() -> None:
    fm = metrics()
    for name, token in SCRIPTS.items():
        runs = fm.runs(token) or ((token, "regular"),)
        for part, font_id in runs:
            face = fm.face(font_id)
            assert all(ord(ch) in face.advances for ch in part), (name, part, face.path)


def test_pdf_text_equals_the_tokens(tmp_path) -> None:  # type: ignore[no-untyped-def]
    tokens = list(SCRIPTS.values())
    n = len(tokens)
    fig = izzyviz.heatmap(np.eye(n), tokens, tokens, top_n=0, xlabel=None, ylabel=None)
    lines = pdf_text(fig, tmp_path).splitlines()
    # Row labels come out one per line, in order, exactly as the tokens.
    assert lines[:n] == tokens
    reader = PdfReader(tmp_path / "t.pdf")
    fonts = {str(f["/BaseFont"]) for f in reader.pages[0]["/Resources"]["/Font"].values()}
    assert any("Fallback" in f for f in fonts), fonts  # CJK came from an embedded fallback font


def test_svg_names_fallback_fonts_for_the_runs_that_need_them(tmp_path) -> None:  # type: ignore[no-untyped-def]
    fig = izzyviz.heatmap(np.eye(2), ["東京x", "a"], ["a", "b"], top_n=0)
    root = ET.fromstring(fig.to_svg())
    spans = list(root.iter("{http://www.w3.org/2000/svg}tspan"))
    assert [s.text for s in spans] == ["東京"]
    assert spans[0].get("font-family") == metrics().face(metrics().runs("東")[0][1]).family


def test_right_to_left_labels_are_drawn_in_visual_order() -> None:
    assert visual_order("abc") == "abc"
    assert visual_order("שלום") == "םולש"
    assert visual_order("abc שלום 12") == "abc םולש 12"
    assert visual_order("שלום עולם") == "םלוע םולש"
    fig = izzyviz.heatmap(np.eye(1), ["שלום"], ["x"], top_n=0)
    (labels,) = fig.scene.find("x-labels")
    texts = [n for n in labels.walk() if isinstance(n, izzyviz.scene.Text)]  # type: ignore[attr-defined]
    assert texts[0].text == "םולש" and texts[0].full_text == "שלום"
    assert 'unicode-bidi="bidi-override"' in fig.to_svg()


def test_characters_no_font_has_warn_once_and_name_them() -> None:
    lonely = "\U000f0001"  # Supplementary Private Use Area: in no font
    with pytest.warns(MissingGlyphWarning, match="U\\+F0001"):
        fig = izzyviz.heatmap(np.eye(1), [lonely + "x"], ["y"], top_n=0)
    assert fig.to_pdf().startswith(b"%PDF")
