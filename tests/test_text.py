"""Text in every script: fonts, fallback, right-to-left order, extraction from the PDF."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from pypdf import PdfReader

import izzyviz
from izzyviz.text import MissingGlyphWarning, metrics, visual_order
from tests.system_tools import require

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
    assert any("WenQuanYi" in f for f in fonts), fonts  # CJK came from an embedded fallback font


def test_svg_names_fallback_fonts_for_the_runs_that_need_them(tmp_path) -> None:  # type: ignore[no-untyped-def]
    fig = izzyviz.heatmap(np.eye(2), ["東京x", "a"], ["a", "b"], top_n=0)
    root = ET.fromstring(fig.to_svg())
    spans = list(root.iter("{http://www.w3.org/2000/svg}tspan"))
    assert [s.text for s in spans] == ["東京", "x"]
    assert spans[0].get("font-family") == metrics().face(metrics().runs("東")[0][1]).family
    assert spans[1].get("font-family") is None  # the page's DejaVu Sans
    # Each run starts where the layout measured it, whatever the viewer's own measurement.
    x0, x1 = (float(s.get("x")) for s in spans)  # type: ignore[arg-type]
    text = next(t for t in root.iter("{http://www.w3.org/2000/svg}text") if len(t))
    size = float(text.get("font-size"))  # type: ignore[arg-type]
    assert x1 - x0 == pytest.approx(metrics().width("東京", size), abs=0.01)


def test_right_to_left_labels_are_drawn_in_visual_order() -> None:
    assert visual_order("abc") == "abc"
    assert visual_order("שלום") == "םולש"
    # A number after a right-to-left word joins its run (rules W7 and N1).
    assert visual_order("abc שלום 12") == "abc 12 םולש"
    assert visual_order("שלום עולם") == "םלוע םולש"
    fig = izzyviz.heatmap(np.eye(1), ["שלום"], ["x"], top_n=0)
    (labels,) = fig.scene.find("x-labels")
    texts = [n for n in labels.walk() if isinstance(n, izzyviz.scene.Text)]  # type: ignore[attr-defined]
    # The node keeps the text in logical order; its glyphs are in visual order.
    assert texts[0].text == "שלום" and texts[0].full_text is None
    (run,) = texts[0].glyphs
    nominal = [metrics().shaper.hb_font("regular").get_nominal_glyph(ord(ch)) for ch in "שלום"]
    assert list(run.ids) == nominal[::-1]


def test_characters_no_font_has_warn_once_and_name_them() -> None:
    lonely = "\U000f0001"  # Supplementary Private Use Area: in no font
    with pytest.warns(MissingGlyphWarning, match="U\\+F0001"):
        fig = izzyviz.heatmap(np.eye(1), [lonely + "x"], ["y"], top_n=0)
    assert fig.to_pdf().startswith(b"%PDF")


# -- shaping, bidi, control pictures, text layer (issue 11, items 2, 8 and 12) ---------------

DPI = 144


def text_scene(label: str, size: float = 24.0) -> izzyviz.scene.Scene:  # type: ignore[name-defined]
    """One label starting at x = 10 pt on an otherwise empty page."""
    from izzyviz.layout import text_node
    from izzyviz.scene import Group, Scene

    node = text_node(metrics(), 10, 2 * size, label, size)
    return Scene(node.width + 20, 3 * size, Group((node,)))


def raster(scene: izzyviz.scene.Scene, fmt: str) -> np.ndarray:  # type: ignore[name-defined]
    """The scene drawn by one backend and rasterised by a real renderer, as grey levels."""
    import io

    import cairosvg
    import pypdfium2
    from PIL import Image

    from izzyviz.render import get_backend

    if fmt == "png":
        png = get_backend("png")(dpi=DPI).render([scene])
    elif fmt == "svg":
        png = cairosvg.svg2png(bytestring=get_backend("svg")().render([scene]), dpi=DPI)
    else:
        page = pypdfium2.PdfDocument(get_backend("pdf")().render([scene]))[0]
        return np.asarray(page.render(scale=DPI / 72).to_pil().convert("L"), dtype=float)
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGBA").convert("L"), dtype=float)


def ink_width(pixels: np.ndarray) -> int:
    """Columns from the first inked one to the last."""
    columns = np.nonzero((pixels < 128).any(axis=0))[0]
    return int(columns[-1] - columns[0] + 1)


@pytest.mark.parametrize("fmt", ["pdf", "svg", "png"])
def test_arabic_is_joined_alike_in_every_format(fmt: str) -> None:
    joined, apart = "مرحبا", "\u200c".join("مرحبا")  # ZWNJ keeps each letter unjoined
    # Joined letters take their narrow connecting forms; drawn one by one (as before shaping)
    # each takes its wide isolated form.
    drawn = raster(text_scene(joined), fmt)
    assert ink_width(drawn) < 0.8 * ink_width(raster(text_scene(apart), fmt))
    reference = raster(text_scene(joined), "png")
    h, w = min(reference.shape[0], drawn.shape[0]), min(reference.shape[1], drawn.shape[1])
    assert np.abs(reference[:h, :w] - drawn[:h, :w]).mean() < 3  # the same glyphs, same place


def test_mixed_direction_labels_follow_the_unicode_bidi_algorithm(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import bidi

    for label in ("مرحبا abc", "שלום (1)", "abc שלום 12", "x مرحبا 123 abc שלום (x)"):
        assert visual_order(label) == bidi.get_display(label), label
    # Right-to-left paragraph: the Arabic word on the right, then a space, then "abc".
    assert visual_order("مرحبا abc") == "abc ابحرم"
    runs = metrics().shape("مرحبا abc")
    assert runs is not None
    first = metrics().shape("abc\u200f")  # "abc" shaped alone, left to right
    assert first is not None and runs[0].ids == first[0].ids
    # Width comes from the shaped glyphs, so layout matches the drawing.
    end = runs[-1].x[-1]
    assert metrics().width("مرحبا abc", 10) > end * 10
    # The text layer reads back as two words, not "abcمرحبا" with the space moved.
    fig = izzyviz.heatmap(np.eye(1), ["مرحبا abc"], ["x"], top_n=0, xlabel=None, ylabel=None)
    (line,) = [line for line in pdf_text(fig, tmp_path).splitlines() if "abc" in line]
    assert line.split() == ["abc", "مرحبا"]


def test_control_characters_draw_as_control_pictures_from_the_bundled_font() -> None:
    label = "a\x00b\x1bc\x7f"
    fm = metrics()
    runs = fm.runs(izzyviz.text.show_controls(label))  # type: ignore[attr-defined]
    assert runs is not None
    pictures = [fm.face(font) for part, font in runs if font not in ("regular", "bold")]
    assert [face.path.name for face in pictures] == ["IzzyVizControlPictures.ttf"] * 3
    # Each picture draws ink (not an empty box): the label is darker than "abc" alone.
    for fmt in ("pdf", "svg", "png"):
        with_pictures = (raster(text_scene(label), fmt) < 128).sum()
        letters = (raster(text_scene("abc"), fmt) < 128).sum()
        assert with_pictures > 1.5 * letters, fmt


def test_characters_no_font_has_reach_the_pdf_text_layer(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import subprocess

    lonely = "\U000f0002"  # Supplementary Private Use Area: in no font
    with pytest.warns(MissingGlyphWarning):
        fig = izzyviz.heatmap(np.eye(1), [f"x{lonely}y"], ["z"], top_n=0, xlabel=None)
    text = pdf_text(fig, tmp_path)
    assert f"x{lonely}y" in text and "\x00" not in text
    poppler = subprocess.run(
        [require("pdftotext"), str(tmp_path / "t.pdf"), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert lonely in poppler and "\x00" not in poppler  # (poppler splits "xéy" words too)


def test_lone_surrogates_become_replacement_characters_in_every_format(tmp_path) -> None:  # type: ignore[no-untyped-def]
    fig = izzyviz.heatmap(np.eye(2), ["a\udc80", "b"], ["c", "d"], title="T\ud800x")
    reader = PdfReader(fig.save(tmp_path / "s.pdf"))
    assert reader.metadata.title == "T\ufffdx"
    assert "T\ufffdx" in reader.pages[0].extract_text()
    assert "a\ufffd" in reader.pages[0].extract_text()
    root = ET.fromstring(fig.to_svg())
    assert root.find("{http://www.w3.org/2000/svg}title").text == "T\ufffdx"  # type: ignore[union-attr]
    assert fig.to_png(dpi=30).startswith(b"\x89PNG")


def test_cjk_and_hangul_fonts_come_from_pip(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import importlib.util
    import subprocess

    spec = importlib.util.find_spec("paperang_p2_fonts_cjk")
    assert spec is not None and spec.submodule_search_locations
    package = Path(next(iter(spec.submodule_search_locations)))
    fm = metrics()
    for token in ("東京", "한국"):
        ((_, font),) = fm.runs(token) or ()
        assert fm.face(font).path.is_relative_to(package), fm.face(font).path
    fig = izzyviz.heatmap(np.eye(2), ["東京", "한국"], ["a", "b"], top_n=0)
    listing = subprocess.run(
        [require("pdffonts"), str(fig.save(tmp_path / "c.pdf"))],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(row for row in listing.splitlines() if "WenQuanYi" in row)
    assert "TrueType" in line and " yes " in line  # embedded TrueType outlines


def test_indic_conjuncts_are_shaped_with_a_font_from_pip(tmp_path) -> None:  # type: ignore[no-untyped-def]
    word = "नमस्ते"  # "namaste": स्ते is one conjunct
    runs = metrics().shape(word)
    assert runs is not None
    ((font, ids),) = {(run.font, run.ids) for run in runs}
    assert "NotoSansDevanagari" in metrics().face(font).path.name
    assert len(ids) < len(word)  # the virama joined two consonants into one glyph
    fig = izzyviz.heatmap(np.eye(1), [word], ["x"], top_n=0, xlabel=None, ylabel=None)
    assert word in pdf_text(fig, tmp_path)


# -- where text lives (issue 21: no import cycles, the scene types know nothing of fonts) ------


def _imports() -> dict[str, set[str]]:
    """Every izzyviz module and the izzyviz modules it imports anywhere: at the top, inside
    functions, or for type checking only (the package itself, which any submodule loads, is
    left out)."""
    import ast

    root = Path(__file__).parent.parent
    files = {f"izzyviz.{p.stem}": p for p in (root / "izzyviz").glob("*.py")}
    files |= {f"izzyviz.backends.{p.stem}": p for p in (root / "backends").glob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module == "izzyviz":
                found |= {f"izzyviz.{alias.name}" for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("izzyviz."):
                found.add(str(node.module))
            elif isinstance(node, ast.Import):
                found |= {a.name for a in node.names if a.name.startswith("izzyviz.")}
        graph[name] = found & set(files) - {name}
    return graph


def _reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for module in graph[todo.pop()] - seen:
            seen.add(module)
            todo.append(module)
    return seen


def test_the_scene_knows_nothing_of_fonts() -> None:
    graph = _imports()
    assert _reachable(graph, "izzyviz.scene") == {"izzyviz.textpolicy"}
    assert graph["izzyviz.textpolicy"] == set()


@pytest.mark.parametrize(
    "module",
    [
        "scene", "textpolicy", "text", "fontfile", "fontsearch", "shaping", "paper", "render",
        "headstats", "headsums", "statsfile", "statsfigures",
        "backends.pdf", "backends.svg", "backends.png",
    ],
)  # fmt: skip
def test_no_import_cycle_passes_through(module: str) -> None:
    graph = _imports()
    name = f"izzyviz.{module}"
    assert name not in _reachable(graph, name)
