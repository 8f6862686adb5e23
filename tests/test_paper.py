"""Figures that fit the paper (issue 16): ``width=``, ``font=``, ``font_size=`` and ``style=``.

The sizes are read back from the files with real parsers: the PDF's page box and the ``Tf``
operators of its content stream (pypdf), the SVG's attributes, the PNG's pixel width. Fonts come
from pip packages only: STIX (a Times-like serif with a bold face) from matplotlib, Noto Sans
(no separate bold file) from manimgx-fonts.
"""

from __future__ import annotations

import importlib.util
import io
import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from pypdf import PdfReader

import izzyviz
from izzyviz.heads import overview, report
from izzyviz.layout import Style
from izzyviz.paper import READABLE_SIZE, figure_style, find_font
from izzyviz.scene import Text
from tests.system_tools import require

_MPL = importlib.util.find_spec("matplotlib")
assert _MPL is not None and _MPL.submodule_search_locations
STIX_DIR = Path(_MPL.submodule_search_locations[0]) / "mpl-data" / "fonts" / "ttf"
STIX = STIX_DIR / "STIXGeneral.ttf"
STIX_BOLD = STIX_DIR / "STIXGeneralBol.ttf"

WORDS = "[CLS] the quick brown fox jumps over the lazy dog near the river [SEP]".split()


def _tokens(n: int) -> list[str]:
    return ["[CLS]", *(WORDS[1 + i % (len(WORDS) - 2)] for i in range(n - 2)), "[SEP]"]


def _attention(n: int) -> np.ndarray:
    rng = np.random.default_rng(n)
    a = rng.random((n, n)) ** 4 + 2 * np.eye(n)
    return a / a.sum(axis=1, keepdims=True)


def _heatmap(n: int, **options: object) -> izzyviz.Figure:
    tokens = _tokens(n)
    return izzyviz.heatmap(_attention(n), tokens, tokens, title="A title", **options)


def _pdf_text_sizes(pdf: bytes) -> list[float]:
    """The size of every ``Tf`` (set font) operator in the PDF's page content."""
    page = PdfReader(io.BytesIO(pdf)).pages[0]
    content = page.get_contents().get_data().decode("latin-1")
    return [float(size) for size in re.findall(r"/\S+ ([\d.]+) Tf", content)]


def _texts(fig: izzyviz.Figure, role: str) -> list[Text]:
    return [n for g in fig.scene.find(role) for n in g.walk() if isinstance(n, Text)]


def _pdffonts(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "f.pdf"
    path.write_bytes(pdf)
    return subprocess.run([require("pdffonts"), str(path)], capture_output=True, text=True).stdout


# -- sizes -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("style", "inches", "points"), [("column", 3.5, 8.0), ("page", 7.0, 9.0)])
@pytest.mark.parametrize("n", [12, 128])
def test_pdf_page_is_the_width_and_labels_are_the_font_size(
    style: str, inches: float, points: float, n: int
) -> None:
    fig = _heatmap(n, style=style)
    pdf = fig.to_pdf()
    box = PdfReader(io.BytesIO(pdf)).pages[0].mediabox
    assert float(box.width) == inches * 72
    sizes = _pdf_text_sizes(pdf)
    assert min(sizes) >= READABLE_SIZE
    labels = _texts(fig, "x-labels") + _texts(fig, "y-labels")
    assert {t.size for t in labels} == {points}
    assert sizes.count(points) >= len(labels)  # every label is drawn at font_size in the PDF


def test_128_tokens_at_a_column_are_thinned_not_shrunk() -> None:
    fig = _heatmap(128, style="column")
    rows = _texts(fig, "y-labels")
    assert 5 < len(rows) < 128
    assert {t.size for t in rows} == {8.0}
    assert all(t.size >= READABLE_SIZE for t in fig.scene.root.walk() if isinstance(t, Text))


def test_explicit_options_override_the_preset() -> None:
    fig = _heatmap(12, style="column", width=3.3, font_size=7)
    assert fig.size[0] == pytest.approx(3.3 * 72)
    assert {t.size for t in _texts(fig, "y-labels")} == {7.0}
    assert figure_style(style="page", font_size=10).label_size == 10
    assert figure_style(style="page", font_size=10).page_width == 7 * 72


def test_title_and_axis_titles_scale_from_the_font_size() -> None:
    fig = _heatmap(12, font_size=8)
    (title,) = _texts(fig, "title")
    (xlabel,) = _texts(fig, "xlabel")
    assert title.size == pytest.approx(8 * 1.4) and xlabel.size == pytest.approx(8 * 1.2)


def test_everything_drawn_stays_inside_the_page() -> None:
    long_title = "A very long title that would never fit into one column of a paper " * 2
    tokens = [f"token_number_{i}" for i in range(40)]
    fig = izzyviz.heatmap(_attention(40), tokens, tokens, title=long_title, style="column")
    png = fig.to_png(dpi=100)
    from PIL import Image

    image = np.asarray(Image.open(io.BytesIO(png)).convert("L"))
    assert image.shape[1] == round(3.5 * 100)
    assert (image[:, :2] == 255).all() and (image[:, -2:] == 255).all()  # nothing cut off
    (title,) = _texts(fig, "title")
    assert title.text.endswith("…") and title.width <= 3.5 * 72


def test_svg_and_png_have_the_same_width(tmp_path: Path) -> None:
    fig = _heatmap(128, style="column")
    root = ET.fromstring(fig.to_svg())
    assert root.get("width") == "252pt"
    sizes = {float(e.get("font-size")) for e in root.iter() if e.get("font-size")}
    assert min(sizes) >= READABLE_SIZE and 8.0 in sizes
    from PIL import Image

    for dpi in (150, 300):
        assert Image.open(io.BytesIO(fig.to_png(dpi=dpi))).size[0] == round(3.5 * dpi)


def test_default_look_is_unchanged() -> None:
    assert figure_style() == Style()
    assert _heatmap(12).to_pdf() == _heatmap(12, width=None, font=None, style=None).to_pdf()


# -- fonts -----------------------------------------------------------------------------------


def test_font_file_is_embedded_named_and_drawn(tmp_path: Path) -> None:
    fig = _heatmap(12, font=str(STIX), style="column")
    fonts = _pdffonts(fig.to_pdf(), tmp_path)
    regular = [line for line in fonts.splitlines() if "+STIXGeneral-Regular " in line]
    bold = [line for line in fonts.splitlines() if "+STIXGeneral-Bold " in line]
    assert regular and bold  # [CLS] and [SEP] are bold: the family's bold face
    assert all(" yes " in line for line in regular + bold)  # embedded
    assert "DejaVu" not in fonts
    root = ET.fromstring(fig.to_svg())
    assert root.get("font-family") == "STIXGeneral"
    dejavu = _heatmap(12, style="column").to_png()
    assert fig.to_png() != dejavu
    from PIL import Image

    a = np.asarray(Image.open(io.BytesIO(fig.to_png())).convert("L"))
    b = np.asarray(Image.open(io.BytesIO(dejavu)).convert("L"))
    rows = min(a.shape[0], b.shape[0])
    assert a.shape[1] == b.shape[1] and (a[:rows] != b[:rows]).mean() > 0.005


def test_svg_carries_the_chosen_font(tmp_path: Path) -> None:
    """The SVG embeds the chosen font (subset to the characters drawn, regular and bold), so a
    browser without it installed draws it: Chromium's picture changes when the embedded faces
    are taken out (STIX is not a font Chromium knows)."""
    import base64
    import re

    from fontTools.ttLib import TTFont

    svg = _heatmap(12, font=str(STIX), style="column").to_svg()
    faces = re.findall(r"font-weight:(\d+);src:url\(data:font/ttf;base64,([A-Za-z0-9+/=]+)\)", svg)
    assert sorted(w for w, _ in faces) == ["400", "700"]
    for weight, data in faces:
        font = TTFont(io.BytesIO(base64.b64decode(data)))
        covered = {chr(c) for c in font.getBestCmap()}
        drawn = "quickbrownfox" if weight == "400" else "[CLS]"
        assert set(drawn) <= covered and len(covered) < 60  # a subset
    assert svg == _heatmap(12, font=str(STIX), style="column").to_svg()  # same bytes each time
    (tmp_path / "with.svg").write_text(svg)
    (tmp_path / "without.svg").write_text(re.sub(r"<defs><style>.*?</style></defs>", "", svg))
    from test_renderers import chromium

    shown = chromium(tmp_path / "with.svg", 400, 400)
    fallback = chromium(tmp_path / "without.svg", 400, 400)
    assert (shown != fallback).any(axis=-1).mean() > 0.002


def test_font_family_name(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("IZZYVIZ_FONT_PATH", str(STIX_DIR))
    font = find_font("stixgeneral")  # any case
    assert (font.regular, font.bold) == (STIX, STIX_BOLD)
    fig = _heatmap(12, font="STIXGeneral")
    assert "+STIXGeneral-Bold " in _pdffonts(fig.to_pdf(), tmp_path)


def test_family_without_bold_draws_bold_in_regular() -> None:
    font = find_font("Noto Sans")  # manimgx-fonts: one variable-weight file, no bold file
    assert font.bold is None
    fig = _heatmap(12, font="Noto Sans")
    assert fig.to_pdf().startswith(b"%PDF")


def test_characters_the_font_lacks_fall_back() -> None:
    fig = izzyviz.heatmap(np.eye(2), ["東京", "a"], ["東京", "a"], font=str(STIX))
    (label,) = [t for t in _texts(fig, "x-labels") if t.text == "東京"]
    assert label.runs is not None and "wqy" in label.runs[0][1]
    assert b"WenQuanYi" in fig.to_pdf()


# -- every drawing function ------------------------------------------------------------------


def test_every_drawing_function_takes_the_options(tmp_path: Path) -> None:
    sample = izzyviz.load_sample("quick_start")
    n = len(sample.tokens)
    att = np.asarray(sample.attentions[0, 0])
    figs = [
        izzyviz.visualize_attention_encoder_only(
            sample.attentions, sample.tokens, 0, 0, save_path=tmp_path / "a.pdf", style="column"
        ),
        izzyviz.compare_two_attentions_with_circles(
            att, att.T, sample.tokens, save_path=tmp_path / "b.pdf", style="column"
        ),
        izzyviz.visualize_attention_with_detected_regions(
            att, sample.tokens, sample.tokens, save_path=tmp_path / "c.pdf", style="page"
        ),
        overview(sample.attentions, sample.tokens, style="column"),
        report(sample.attentions[:2, :2], sample.tokens, tmp_path / "r.pdf", progress=False,
               width=5, font_size=8),
    ]  # fmt: skip
    widths = [3.5, 3.5, 7.0, 3.5, 5.0]
    for fig, inches in zip(figs, widths, strict=True):
        assert all(page.width == inches * 72 for page in fig.pages), (fig, n)
    pages = PdfReader(tmp_path / "r.pdf").pages
    assert [float(p.mediabox.width) for p in pages] == [360.0] * len(pages)


def test_question_context_panels_fit_the_column(tmp_path: Path) -> None:
    sample = izzyviz.load_sample("quick_start")
    fig = izzyviz.visualize_attention_encoder_only(
        sample.attentions, sample.tokens, 0, 0, question_end=5, mode="question_context",
        save_path=tmp_path / "qc.pdf", style="column",
    )  # fmt: skip
    assert fig.size[0] == 252
    for panel in fig.scene.root.children:
        assert panel.transform is not None and panel.transform[4] >= 0


# -- errors ----------------------------------------------------------------------------------


def test_width_too_small_names_the_smallest_that_works() -> None:
    with pytest.raises(ValueError, match=r"width: 1 in is too narrow") as caught:
        _heatmap(12, width=1, font_size=8)
    smallest = float(re.search(r"smallest width that works is ([\d.]+) in", str(caught.value))[1])
    assert 1 < smallest < 3.5
    assert _heatmap(12, width=smallest, font_size=8).size[0] == pytest.approx(smallest * 72)


def test_overview_too_narrow_names_the_smallest_width_that_works() -> None:
    sample = izzyviz.load_sample("quick_start")
    with pytest.raises(ValueError, match=r"width: 1.5 in is too narrow for an overview") as caught:
        izzyviz.overview(sample.attentions, sample.tokens, width=1.5)
    smallest = float(re.search(r"smallest width that works is ([\d.]+) in", str(caught.value))[1])
    fig = izzyviz.overview(sample.attentions, sample.tokens, width=smallest)
    assert fig.size[0] == pytest.approx(smallest * 72)


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"width": 0}, ValueError, r"width: expected a positive number, got 0\.0"),
        ({"width": float("nan")}, ValueError, r"width: expected a positive number"),
        ({"width": float("inf")}, ValueError, r"width: expected a positive number"),
        ({"font_size": -8}, ValueError, r"font_size: expected a positive number"),
        ({"width": "3.5in"}, TypeError, r"width: expected a positive number, got '3.5in'"),
        ({"style": "poster"}, ValueError, r"style: expected one of 'column', 'page'"),
        ({"font": "/no/such/font.ttf"}, FileNotFoundError, r"font: no such font file"),
        ({"font": "Times New Roman"}, ValueError, r"font: no installed font family .*DejaVu"),
        ({"font": 12}, TypeError, r"font: expected a font file path"),
    ],
)
def test_bad_options_name_the_argument(
    options: dict[str, object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        _heatmap(3, **options)


def test_a_file_that_is_not_a_font(tmp_path: Path) -> None:
    fake = tmp_path / "fake.ttf"
    fake.write_text("not a font")
    with pytest.raises(ValueError, match=r"font: .*fake.ttf' is not a TrueType/OpenType font"):
        _heatmap(3, font=fake)


def test_cli_render_takes_the_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from izzyviz.cli import main

    np.save(tmp_path / "a.npy", _attention(12))
    (tmp_path / "t.txt").write_text("\n".join(_tokens(12)), encoding="utf-8")
    common = ["render", str(tmp_path / "a.npy"), "--tokens", str(tmp_path / "t.txt")]
    out = tmp_path / "fig.pdf"
    assert main([*common, "--style", "column", "--font-size", "7", "-o", str(out)]) == 0
    assert float(PdfReader(out).pages[0].mediabox.width) == 252
    assert 7.0 in _pdf_text_sizes(out.read_bytes())
    assert main([*common, "--width", "0.5", "-o", str(tmp_path / "narrow.pdf")]) == 2
    assert "--width: 0.5 in is too narrow" in capsys.readouterr().err
    assert not (tmp_path / "narrow.pdf").exists()


def test_overview_of_many_heads_keeps_text_readable() -> None:
    stack = np.random.default_rng(0).random((4, 16, 8, 8))
    fig = overview(stack, [f"t{i}" for i in range(8)], style="column")
    assert fig.size[0] == 252
    sizes = [t.size for t in fig.scene.root.walk() if isinstance(t, Text)]
    assert min(sizes) >= READABLE_SIZE
    pdf_sizes = _pdf_text_sizes(fig.to_pdf())
    assert min(pdf_sizes) >= READABLE_SIZE


def test_value_tags_stay_over_the_heatmap() -> None:
    """A top cell at the right edge gets its value tag on its left, not over the colour bar."""
    n = 128
    matrix = np.full((n, n), 0.01)
    matrix[n - 1, n - 1] = matrix[0, 0] = 1.0
    fig = izzyviz.heatmap(matrix, _tokens(n), _tokens(n), top_n=2, style="column")
    (heat,) = fig.scene.find("heatmap")
    right = heat.children[0].x_edges[-1]
    tags = [n for g in fig.scene.find("values") for n in g.children if hasattr(n, "radius")]
    assert len(tags) == 2 and all(0 <= t.x and t.x + t.width <= right for t in tags)


def test_chosen_font_label_boxes_are_not_taller_than_text() -> None:
    from izzyviz.text import CHOSEN_ASCENT, metrics

    fm = metrics(find_font(str(STIX)))
    assert fm.ascent <= CHOSEN_ASCENT and fm.descent >= -0.24
