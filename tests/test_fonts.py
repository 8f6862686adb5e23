"""Chosen fonts (issue 26, item 3): glyph-by-glyph fallback to the bundled fonts in every
backend, the faces of a .ttc collection used by weight, and font files that cannot be used
refused up front with one line naming them.

The fonts come from pip (matplotlib's DejaVu Serif and Computer Modern) or are built here from
them with fontTools: a collection, a font without a character map, a WOFF web font.
"""

from __future__ import annotations

import base64
import importlib.util
import io
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from fontTools.ttLib import TTCollection, TTFont
from pypdf import PdfReader

import izzyviz
from izzyviz.layout import text_node
from izzyviz.paper import find_font
from izzyviz.render import get_backend
from izzyviz.scene import Font, Group, Scene
from izzyviz.text import MissingGlyphWarning, metrics

_MPL = importlib.util.find_spec("matplotlib")
assert _MPL is not None and _MPL.submodule_search_locations
MPL_FONTS = Path(_MPL.submodule_search_locations[0]) / "mpl-data" / "fonts" / "ttf"
SERIF = MPL_FONTS / "DejaVuSerif.ttf"  # no Hebrew, no Arabic
SERIF_BOLD = MPL_FONTS / "DejaVuSerif-Bold.ttf"
LATIN = MPL_FONTS / "cmr10.ttf"  # Computer Modern: ASCII only
BUNDLED = {"DejaVuSans.ttf", "DejaVuSans-Bold.ttf"}
FORMATS = ("pdf", "svg", "png")
DPI = 144


def text_scene(label: str, font: Font | None = None, bold: bool = False) -> Scene:
    """One 24 pt label starting at x = 10 pt, measured and drawn in ``font``."""
    node = text_node(metrics(font), 10, 48, label, 24.0, bold=bold)
    return Scene(node.width + 20, 72, Group((node,)), font=font)


def raster(scene: Scene, fmt: str) -> np.ndarray:
    """``scene`` drawn by one backend and rasterised by a real renderer, as grey levels: the PDF
    by pdfium, the SVG by cairosvg (the PNG backend's ``cairosvg`` engine, which makes the
    page's fonts known to fontconfig first, as a viewer would have them from @font-face)."""
    import pypdfium2
    from PIL import Image

    if fmt == "pdf":
        page = pypdfium2.PdfDocument(get_backend("pdf")().render([scene]))[0]
        return np.asarray(page.render(scale=DPI / 72).to_pil().convert("L"), dtype=float)
    engine = "cairosvg" if fmt == "svg" else "cairo"
    png = get_backend("png")(dpi=DPI, engine=engine).render([scene])
    return np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=float)


def same_picture(a: np.ndarray, b: np.ndarray, tolerance: float = 1) -> bool:
    """Whether two grey-level pictures differ by less than ``tolerance`` per pixel on average."""
    h, w = min(a.shape[0], b.shape[0]), min(a.shape[1], b.shape[1])
    return bool(np.abs(a[:h, :w] - b[:h, :w]).mean() < tolerance)


def pdf_fonts(pdf: bytes) -> set[str]:
    page = PdfReader(io.BytesIO(pdf)).pages[0]
    return {str(f["/BaseFont"]) for f in page["/Resources"]["/Font"].values()}


# -- fallback ------------------------------------------------------------------------------------

CASES = [
    (SERIF, "שלום", False),  # Hebrew, shaped: glyph outlines
    (LATIN, "Привет", False),  # Cyrillic: a run in a fallback font
    (LATIN, "Ωï", True),
]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(("path", "label", "bold"), CASES)
def test_a_chosen_font_falls_back_to_the_bundled_font(
    fmt: str, path: Path, label: str, bold: bool
) -> None:
    """Characters the chosen font lacks are drawn as the default font draws them: the label,
    all of it in the fallback, is the same picture as in a default figure."""
    font = find_font(str(path))
    fm = metrics(font)
    assert all(ord(ch) not in fm.primary[bold].advances for ch in label)
    for _, font_id in fm.runs(label, bold) or ():
        assert fm.face(font_id).path.name in BUNDLED
    drawn = raster(text_scene(label, font, bold), fmt)
    default = raster(text_scene(label, None, bold), fmt)
    assert (drawn < 128).sum() > 50  # something is drawn ...
    assert same_picture(drawn, default)  # ... and it is DejaVu Sans, not boxes


def test_fallback_inside_a_word_keeps_the_chosen_font_around_it(tmp_path: Path) -> None:
    fig = izzyviz.heatmap(np.eye(2), ["naïve", "[CLS]"], ["Ωmega", "x"], font=str(LATIN))
    fm = metrics(find_font(str(LATIN)))
    runs = fm.runs("naïve")
    assert runs is not None
    assert [(part, fm.face(f).path.name) for part, f in runs] == [
        ("na", "cmr10.ttf"),
        ("ï", "DejaVuSans.ttf"),
        ("ve", "cmr10.ttf"),
    ]
    names = pdf_fonts(fig.to_pdf())
    assert any(name.endswith("+DejaVuSans") for name in names), names
    # The SVG embeds the fallback face too (subset), so browsers without it draw the same.
    svg = fig.to_svg()
    faces = re.findall(r'@font-face\{font-family:"([^"]+)";font-weight:(\d+);', svg)
    assert ("DejaVu Sans", "400") in faces and ("cmr10", "400") in faces
    root = ET.fromstring(svg)
    spans = [s for s in root.iter("{http://www.w3.org/2000/svg}tspan") if s.text == "ï"]
    assert spans and spans[0].get("font-family") == "DejaVu Sans"


def test_characters_no_font_has_still_warn_with_a_chosen_font() -> None:
    with pytest.warns(MissingGlyphWarning, match="U\\+F0003"):
        izzyviz.heatmap(np.eye(1), ["x\U000f0003"], ["y"], font=str(SERIF))


# -- collections -----------------------------------------------------------------------------------


def renamed(path: Path, family: str, style: str) -> TTFont:
    """The font at ``path`` under a family name no installed font has."""
    font = TTFont(str(path))
    names = font["name"]
    for record in list(names.names):
        if record.nameID in (1, 16):
            names.setName(family, record.nameID, record.platformID, record.platEncID, record.langID)
        elif record.nameID in (4, 6):
            full = f"{family}-{style}" if record.nameID == 6 else f"{family} {style}"
            names.setName(full, record.nameID, record.platformID, record.platEncID, record.langID)
    return font


@pytest.fixture(scope="module")
def collection(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A .ttc of DejaVu Serif, regular and bold, under its own family name."""
    path = tmp_path_factory.mktemp("ttc") / "IzzyTestSerif.ttc"
    ttc = TTCollection()
    # Bold first: the regular face is chosen by weight, not by position.
    ttc.fonts = [
        renamed(SERIF_BOLD, "IzzyTestSerif", "Bold"),
        renamed(SERIF, "IzzyTestSerif", "Book"),
    ]
    ttc.save(str(path))
    return path


def test_a_collection_is_used_by_weight(collection: Path) -> None:
    font = find_font(str(collection))
    assert (font.regular, font.regular_index) == (collection, 1)
    assert (font.bold, font.bold_index) == (collection, 0)
    fig = izzyviz.heatmap(np.eye(2), ["[CLS]", "text"], ["a", "b"], font=str(collection))
    names = pdf_fonts(fig.to_pdf())  # ReportLab names a collection's faces "<name>-<index>"
    assert any("+IzzyTestSerif-Bold" in n for n in names), names
    assert any("+IzzyTestSerif-Book" in n for n in names), names
    faces = re.findall(
        r'font-family:"IzzyTestSerif";font-weight:(\d+);src:url\(data:font/ttf;base64,([^)]+)\)',
        fig.to_svg(),
    )
    assert sorted(weight for weight, _ in faces) == ["400", "700"]
    for weight, data in faces:  # each rule carries the face of its weight
        subset = TTFont(io.BytesIO(base64.b64decode(data)))
        assert subset["OS/2"].usWeightClass == int(weight)


@pytest.mark.parametrize("fmt", ["svg", "png"])
def test_a_collections_bold_face_draws_alike_in_every_format(collection: Path, fmt: str) -> None:
    """The PDF embeds the collection's faces themselves; SVG and PNG find them by family name
    (no installed font has it), and draw the same bold glyphs. (Two rasterisers differ by 2-4
    grey levels per pixel on the same glyphs; the regular face would differ by 26.)"""
    font = find_font(str(collection))
    scene = text_scene("Bold [CLS]", font, bold=True)
    reference = raster(scene, "pdf")
    regular = raster(text_scene("Bold [CLS]", font), "pdf")
    assert (reference < 128).sum() > 1.2 * (regular < 128).sum()  # the bold face is heavier
    assert same_picture(raster(scene, fmt), reference, tolerance=6)


# -- files that cannot be used ---------------------------------------------------------------------


def without(table: str, directory: Path) -> Path:
    font = TTFont(str(SERIF))
    del font[table]
    path = directory / f"no-{table.strip()}.ttf"
    font.save(str(path))
    return path


def woff(directory: Path, name: str = "serif.woff") -> Path:
    font = TTFont(str(SERIF))
    font.flavor = "woff"
    path = directory / name
    font.save(str(path))
    return path


def unusable(kind: str, directory: Path) -> tuple[Path, str]:
    """A font file that cannot be used, and the words its error must hold."""
    if kind == "woff":
        return woff(directory), "WOFF web font"
    if kind == "woff-named-ttf":
        return woff(directory, "serif-woff.ttf"), "WOFF web font"
    if kind == "woff2":
        path = directory / "serif.woff2"
        path.write_bytes(b"wOF2" + bytes(200))
        return path, "WOFF2 web font"
    if kind == "truncated":
        path = directory / "cut.ttf"
        path.write_bytes(SERIF.read_bytes()[:5000])
        return path, "cannot be read"
    if kind == "restricted":
        font = TTFont(str(SERIF))
        font["OS/2"].fsType = 2  # licence: restricted, no embedding
        path = directory / "restricted.ttf"
        font.save(str(path))
        return path, "licence that does not allow embedding"
    return without(kind, directory), {
        "cmap": "no character map",
        "hmtx": "no 'hmtx' table",
        "glyf": "no glyph outlines",
    }[kind]


KINDS = ["cmap", "hmtx", "glyf", "woff", "woff-named-ttf", "woff2", "truncated", "restricted"]


@pytest.mark.parametrize("kind", KINDS)
def test_a_font_file_that_cannot_be_used_is_refused_in_one_line(kind: str, tmp_path: Path) -> None:
    path, words = unusable(kind, tmp_path)
    with pytest.raises(ValueError) as caught:
        izzyviz.heatmap(np.eye(2), ["a", "b"], ["c", "d"], font=str(path))
    message = str(caught.value)
    assert message.startswith(f"font: {str(path)!r} ") and words in message, message
    assert "\n" not in message


def test_the_cli_refuses_a_woff_font_as_a_wrong_argument(tmp_path: Path) -> None:
    path = woff(tmp_path)
    sample, tokens = tmp_path / "m.npy", tmp_path / "tokens.txt"
    np.save(sample, np.eye(3))
    tokens.write_text("a\nb\nc\n")
    result = subprocess.run(
        [sys.executable, "-m", "izzyviz.cli", "render", str(sample), "--tokens", str(tokens),
         "-o", str(tmp_path / "o.pdf"), "--font", str(path)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode in (1, 2), result.stderr
    assert "WOFF web font" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "o.pdf").exists()


def test_a_family_whose_only_face_cannot_be_used_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    font = renamed(SERIF, "IzzyTestWoff", "Book")
    font.flavor = "woff"
    font.save(str(tmp_path / "disguised.ttf"))
    monkeypatch.setenv("IZZYVIZ_FONT_PATH", str(tmp_path))
    with pytest.raises(ValueError, match=r"font: .*disguised\.ttf' is a WOFF web font"):
        find_font("IzzyTestWoff")


FALLBACK_SCRIPT = """
import sys, warnings, numpy as np, izzyviz
from izzyviz.text import MissingGlyphWarning
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    fig = izzyviz.heatmap(np.eye(1), ["x\\U000f0123"], ["y"])
    pdf = fig.to_pdf(); fig.to_svg(); fig.to_png()
print(sorted({type(w.message).__name__ + ": " + str(w.message)[:200] for w in caught}))
"""


def private_use_font(directory: Path, flavor: str | None) -> Path:
    """DejaVu Serif with U+F0123 (private use: in no other font) drawn as its "A"."""
    from fontTools.ttLib.tables._c_m_a_p import CmapSubtable

    font = TTFont(str(SERIF))
    table = CmapSubtable.newSubtable(12)
    table.platformID, table.platEncID, table.language = 3, 10, 0
    table.cmap = {**font.getBestCmap(), 0xF0123: "A"}
    tables = font["cmap"].tables
    tables[:] = [t for t in tables if t.format != 12] + [table]
    font.flavor = flavor
    path = directory / f"pua-{flavor}.ttf"
    font.save(str(path))
    return path


@pytest.mark.parametrize("flavor", [None, "woff"])
def test_a_fallback_font_that_cannot_be_used_is_skipped_by_name(
    flavor: str | None, tmp_path: Path
) -> None:
    path = private_use_font(tmp_path, flavor)
    env = {**os.environ, "IZZYVIZ_FONT_PATH": str(path)}
    result = subprocess.run(
        [sys.executable, "-c", FALLBACK_SCRIPT], env=env, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    if flavor is None:
        assert result.stdout.strip() == "[]"  # drawn from the font named in IZZYVIZ_FONT_PATH
    else:
        assert f"{str(path)!r} is a WOFF web font" in result.stdout, result.stdout
        assert "MissingGlyphWarning" in result.stdout


def test_font_checks_cost_nothing_for_the_default_font() -> None:
    """The default figure neither checks nor reads a chosen font (and imports no ReportLab)."""
    code = (
        "import sys, izzyviz\n"
        "izzyviz.heatmap([[0.1, 0.9], [0.5, 0.5]], ['a', 'b'], ['a', 'b'])\n"
        "print('reportlab' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
