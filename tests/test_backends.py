"""Backends on real files: parsed by real parsers, rasterised by real renderers."""

from __future__ import annotations

import io
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

import izzyviz
from izzyviz.render import Renderer, get_backend, register_backend
from izzyviz.scene import Scene
from tests import figures
from tests.figures import TOKENS

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def quick_start() -> izzyviz.Figure:
    return figures.quick_start()


def top_values(fig: izzyviz.Figure) -> list[str]:
    return [f"{v:.3f}" for _, _, v in fig.data["panels"][0]["top_cells"]]


def rasterise_pdf(data: bytes, width: int) -> np.ndarray:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(data)
    page = pdf[0]
    bitmap = page.render(scale=width / page.get_width())
    image = np.asarray(bitmap.to_pil().convert("RGB"))
    page.close()
    pdf.close()
    return image


def rasterise_svg(svg: bytes, width: int) -> np.ndarray:
    import cairosvg

    png = cairosvg.svg2png(bytestring=svg, output_width=width)
    return np.asarray(PILImage.open(io.BytesIO(png)).convert("RGB"))


def test_pdf_text_holds_title_labels_and_values(
    quick_start: izzyviz.Figure, tmp_path: Path
) -> None:
    from pypdf import PdfReader

    path = quick_start.save(tmp_path / "q.pdf")
    reader = PdfReader(path)
    assert len(reader.pages) == 1
    text = reader.pages[0].extract_text()
    assert "Custom Self-Attention Heatmap Title" in text
    assert "Tokens Attended to" in text and "Tokens Attending" in text
    for token in set(TOKENS):
        assert token in text
    for value in top_values(quick_start):
        assert value in text
    fonts = {f["/BaseFont"] for f in reader.pages[0]["/Resources"]["/Font"].values()}
    assert any("DejaVuSans" in str(f) for f in fonts)  # embedded TrueType, not outlines
    assert reader.metadata.title == "Custom Self-Attention Heatmap Title"


def test_svg_is_valid_xml_with_real_text(quick_start: izzyviz.Figure, tmp_path: Path) -> None:
    path = quick_start.save(tmp_path / "q.svg")
    root = ET.parse(path).getroot()
    assert root.tag == f"{SVG}svg"
    strings = [t.text for t in root.iter(f"{SVG}text")]
    assert "Custom Self-Attention Heatmap Title" in strings
    assert set(TOKENS) <= set(strings)
    assert set(top_values(quick_start)) <= set(strings)


def test_png_decodes_at_the_requested_dpi(quick_start: izzyviz.Figure, tmp_path: Path) -> None:
    path = quick_start.save(tmp_path / "q.png", dpi=72)
    with PILImage.open(path) as image:
        assert image.format == "PNG"
        w, h = quick_start.size
        assert abs(image.width - w) <= 1 and abs(image.height - h) <= 1
    big = PILImage.open(io.BytesIO(quick_start.to_png(dpi=144)))
    assert abs(big.width - 2 * w) <= 2


def test_pdf_and_svg_rasterise_to_the_same_picture(quick_start: izzyviz.Figure) -> None:
    width = 900
    a = rasterise_pdf(quick_start.to_pdf(), width).astype(int)
    b = rasterise_svg(quick_start.to_svg().encode(), width).astype(int)
    assert abs(a.shape[0] - b.shape[0]) <= 1
    h = min(a.shape[0], b.shape[0])
    same = (np.abs(a[:h] - b[:h]).max(axis=2) <= 24).mean()
    assert same >= 0.97, f"only {same:.1%} of pixels agree"


def test_image_cells_match_vector_cells(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    m = rng.random((40, 40))
    labels = [str(i) for i in range(40)]
    vector = izzyviz.heatmap(m, labels, labels, cells="vector")
    image = izzyviz.heatmap(m, labels, labels, cells="image")
    width = 800
    for render in (
        lambda f: rasterise_pdf(f.to_pdf(), width),
        lambda f: rasterise_svg(f.to_svg().encode(), width),
    ):
        a, b = render(vector).astype(int), render(image).astype(int)
        same = (np.abs(a - b).max(axis=2) <= 24).mean()
        assert same >= 0.95, f"only {same:.1%} of pixels agree"


def test_same_call_gives_identical_bytes(quick_start: izzyviz.Figure) -> None:
    assert quick_start.to_pdf() == quick_start.to_pdf()
    assert quick_start.to_svg() == quick_start.to_svg()
    assert quick_start.to_png() == quick_start.to_png()


def test_backend_chosen_by_extension_or_override(
    quick_start: izzyviz.Figure, tmp_path: Path
) -> None:
    path = quick_start.save(tmp_path / "figure.out", format="svg")
    assert path.read_bytes().startswith(b"<?xml")
    path = quick_start.save(tmp_path / "figure.pdf.tmp", backend="pdf")
    assert path.read_bytes().startswith(b"%PDF")
    with pytest.raises(ValueError, match="cannot tell the format"):
        quick_start.save(tmp_path / "figure.xyz")
    with pytest.raises(ValueError, match="backend: unknown backend 'nope'"):
        quick_start.save(tmp_path / "figure.pdf", backend="nope")
    with pytest.raises(TypeError, match="unknown option"):
        quick_start.save(tmp_path / "figure.svg", dpi=3)
    assert not (tmp_path / "figure.xyz").exists() and not (tmp_path / "figure.svg").exists()


class _Exploding(Renderer):
    name = "exploding"
    extensions = (".boom",)

    def render(self, scenes: Sequence[Scene]) -> bytes:
        raise RuntimeError("backend failed half way")

    begin_document = begin_page = end_page = push_group = pop_group = None  # type: ignore[assignment]
    draw_rect = draw_line = draw_polyline = draw_circle = draw_text = draw_image = None  # type: ignore[assignment]
    end_document = None  # type: ignore[assignment]


def test_failed_render_leaves_existing_file_untouched(
    quick_start: izzyviz.Figure, tmp_path: Path
) -> None:
    register_backend("exploding", _Exploding, extensions=[".boom"])
    target = tmp_path / "keep.boom"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="half way"):
        quick_start.save(target)
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.boom"]
    with pytest.raises(FileNotFoundError, match="does not exist"):
        quick_start.save(tmp_path / "missing" / "q.pdf")


def test_builtin_backends_cannot_be_replaced() -> None:
    with pytest.raises(ValueError, match="built-in"):
        register_backend("pdf", _Exploding)
    assert get_backend("PDF").name == "pdf"
    assert {"pdf", "svg", "png", "exploding"} <= set(izzyviz.available_backends())


def test_entry_point_backends_are_discovered(tmp_path: Path) -> None:
    """A third-party backend installed as a distribution with an ``izzyviz.backends`` entry
    point is found by name and by its extension."""
    dist = tmp_path / "izzyviz_txt-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: izzyviz-txt\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[izzyviz.backends]\ntxt = izzyviz_txt:TextRenderer\n")
    (tmp_path / "izzyviz_txt.py").write_text(
        "from izzyviz.backends.svg import SVGRenderer\n"
        "class TextRenderer(SVGRenderer):\n"
        "    name = 'txt'\n    extensions = ('.txt',)\n"
    )
    script = (
        "import sys, numpy as np, izzyviz\n"
        f"sys.path.insert(0, {str(tmp_path)!r})\n"
        "fig = izzyviz.heatmap(np.eye(2), ['a','b'], ['a','b'])\n"
        f"print(fig.save({str(tmp_path / 'out.txt')!r}))\n"
        "print('txt' in izzyviz.available_backends())\n"
    )
    env = {"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True
    )
    assert result.stdout.split()[-1] == "True"
    assert (tmp_path / "out.txt").read_text().startswith("<?xml")


def test_import_stays_light() -> None:
    code = (
        "import sys, izzyviz\n"
        "fig = izzyviz.heatmap([[0.1, 0.9], [0.5, 0.5]], ['a', 'b'], ['a', 'b'])\n"
        "heavy = {'torch', 'transformers', 'matplotlib', 'reportlab', 'cairosvg', 'uharfbuzz',"
        " 'bidi'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_notebooks_get_svg_or_png_for_huge_figures(monkeypatch: pytest.MonkeyPatch) -> None:
    import izzyviz.figure

    fig = izzyviz.heatmap(np.eye(3), list("abc"), list("abc"))
    bundle = fig._repr_mimebundle_()
    assert list(bundle) == ["image/svg+xml"] and bundle["image/svg+xml"] == fig._repr_svg_()
    monkeypatch.setattr(izzyviz.figure, "NOTEBOOK_SVG_LIMIT", 100)
    bundle = fig._repr_mimebundle_()
    assert list(bundle) == ["image/png"] and bundle["image/png"].startswith(b"\x89PNG")
