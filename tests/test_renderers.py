"""Every output format in two independent renderers, and the pictures agree.

PDF: PDFium (pypdfium2) and poppler (``pdftoppm``). SVG: cairo (cairosvg) and a browser engine
(headless Chromium, skipped when it is not installed). All comparisons are made at the same pixel
size: 96 dpi, where one CSS pixel is 0.75 pt so Chromium shows the SVG at its natural size.

Agreement is the share of pixels whose channels differ by at most ``TOLERANCE`` (anti-aliasing
and hinting differ between engines), over the whole picture and over its "ink" (pixels that are
not white in either picture: cells, text, lines).
"""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import izzyviz
from tests import figures
from tests.system_tools import require

TOLERANCE = 24
DPI = 96
SCRIPTS = ["東京", "中文", "שלום", "עולם", "😀", "🚀", "café", "Привет"]


# -- renderers ------------------------------------------------------------------------------------


def pdfium(path: Path, dpi: float) -> np.ndarray:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(path))
    try:
        page = pdf[0]
        image = np.asarray(page.render(scale=dpi / 72).to_pil().convert("RGB"))
        page.close()
    finally:
        pdf.close()
    return image


def poppler(path: Path, dpi: float) -> np.ndarray:
    exe = require("pdftoppm")
    stem = path.with_name(f"{path.stem}-poppler-{dpi:g}")
    subprocess.run(
        [exe, "-r", f"{dpi:g}", "-png", "-singlefile", str(path), str(stem)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    with Image.open(stem.with_suffix(".png")) as image:
        return np.asarray(image.convert("RGB"))


def cairo(path: Path, dpi: float) -> np.ndarray:
    import cairosvg

    png = cairosvg.svg2png(url=str(path), dpi=dpi)
    with Image.open(io.BytesIO(png)) as image:
        return np.asarray(image.convert("RGB"))


def chromium(path: Path, width: int, height: int) -> np.ndarray:
    """A headless Chromium screenshot of the SVG file, at 1 CSS pixel per device pixel, with
    no network, no GPU and a throw-away profile."""
    exe = require("chromium")
    out = path.with_name(f"{path.stem}-chromium.png")
    profile = path.with_name(f"{path.stem}-chromium-profile")
    subprocess.run(
        [
            exe,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
            f"--user-data-dir={profile}",
            f"--window-size={width},{height}",
            f"--screenshot={out}",
            path.resolve().as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    with Image.open(out) as image:
        return np.asarray(image.convert("RGB"))


def agreement(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(share of all pixels, share of ink pixels) that agree within ``TOLERANCE``; the pictures
    may differ by one pixel in size (rounding of fractional page sizes)."""
    assert abs(a.shape[0] - b.shape[0]) <= 1 and abs(a.shape[1] - b.shape[1]) <= 1, (
        a.shape,
        b.shape,
    )
    h, w = min(a.shape[0], b.shape[0]), min(a.shape[1], b.shape[1])
    a, b = a[:h, :w].astype(np.int16), b[:h, :w].astype(np.int16)
    close = np.abs(a - b).max(axis=2) <= TOLERANCE
    ink = (a.min(axis=2) < 235) | (b.min(axis=2) < 235)
    return float(close.mean()), float(close[ink].mean())


# -- figures --------------------------------------------------------------------------------------


def _scripts() -> izzyviz.Figure:
    rng = np.random.default_rng(0)
    n = len(SCRIPTS)
    return izzyviz.heatmap(rng.random((n, n)), SCRIPTS, SCRIPTS, title="東京 שלום 😀 café")


FIGURES = {"quick_start": figures.quick_start, "scripts": _scripts}


@pytest.fixture(scope="module", params=list(FIGURES))
def files(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The figure saved as ``fig.pdf``, ``fig.svg``, ``fig.png`` and (with the cairosvg engine)
    ``fig-cairosvg.png`` in a folder of its own."""
    folder = tmp_path_factory.mktemp(request.param)
    fig = FIGURES[request.param]()
    fig.save(folder / "fig.pdf")
    fig.save(folder / "fig.svg")
    fig.save(folder / "fig.png", dpi=DPI)
    fig.save(folder / "fig-cairosvg.png", dpi=DPI, engine="cairosvg")
    return folder


# Measured on Debian 12 with the fonts of .ci/run (quick_start / scripts, all pixels / ink):
#   PDFium vs poppler (72 dpi)        98.4% / 93.1%   98.2% / 96.8%
#   cairosvg vs Chromium 156 (96 dpi) 98.5% / 93.4%   98.2% / 96.6%
#   PDFium (PDF) vs cairosvg (SVG)    98.0% / 91.7%   97.4% / 95.2%
#   poppler (PDF) vs cairosvg (SVG)   98.2% / 92.3%   97.7% / 95.7%
#   PNG: cairo vs cairosvg engine     99.1% / 96.2%   99.0% / 98.2%
#   PNG: cairo / cairosvg vs PDFium   98.8% / 98.4%   97.7% / 97.1% (all pixels)
# and for the 4096-token figure at 18 dpi (all pixels): PDFium vs poppler 95.2%, PDFium vs
# cairosvg 96.3%, poppler vs cairosvg 95.1%.
# The thresholds leave a few points for other library versions.


def test_pdf_in_pdfium_and_poppler_agree(files: Path) -> None:
    a = pdfium(files / "fig.pdf", 72)
    b = poppler(files / "fig.pdf", 72)
    assert a.shape == b.shape
    every, ink = agreement(a, b)
    assert every >= 0.96 and ink >= 0.88, f"{every:.1%} of pixels, {ink:.1%} of ink agree"


def test_svg_in_cairo_and_chromium_agree(files: Path) -> None:
    a = cairo(files / "fig.svg", DPI)
    b = chromium(files / "fig.svg", a.shape[1], a.shape[0])
    every, ink = agreement(a, b)
    assert every >= 0.96 and ink >= 0.88, f"{every:.1%} of pixels, {ink:.1%} of ink agree"


def test_pdf_and_svg_draw_the_same_picture(files: Path) -> None:
    a = pdfium(files / "fig.pdf", DPI)
    b = cairo(files / "fig.svg", DPI)
    every, ink = agreement(a, b)
    assert every >= 0.95 and ink >= 0.86, f"{every:.1%} of pixels, {ink:.1%} of ink agree"
    c = poppler(files / "fig.pdf", DPI)
    every, ink = agreement(c, b)
    assert every >= 0.95 and ink >= 0.86, f"poppler: {every:.1%} / {ink:.1%} agree"


def test_png_engines_draw_the_same_picture_as_the_pdf(files: Path) -> None:
    # The default engine draws the scene with cairo directly; "cairosvg" rasterises the SVG.
    # Both must show the PDF's picture, and each other's up to text anti-aliasing.
    with Image.open(files / "fig.png") as a, Image.open(files / "fig-cairosvg.png") as b:
        direct, via_svg = np.asarray(a.convert("RGB")), np.asarray(b.convert("RGB"))
    assert direct.shape == via_svg.shape
    every, ink = agreement(direct, via_svg)
    assert every >= 0.98 and ink >= 0.92, f"engines: {every:.1%} / {ink:.1%}"
    reference = pdfium(files / "fig.pdf", DPI)
    for name, png in (("cairo", direct), ("cairosvg", via_svg)):
        every, ink = agreement(png, reference)
        assert every >= 0.95 and ink >= 0.86, f"{name} vs PDF: {every:.1%} / {ink:.1%}"


def test_long_sequence_opens_and_rasterises_everywhere(tmp_path: Path) -> None:
    """A 4096-token attention map: small files (image cells), and every renderer draws it."""
    n = 4096
    # Local attention with a little noise (no ties, so labels are thinned to what fits): smooth
    # enough that at 18 dpi, where a pixel covers ~100 cells, PDF renderers (which average) and
    # cairo (which samples: image-rendering optimizeSpeed) see the same picture.
    i = np.arange(n, dtype=np.float64)
    noise = np.random.default_rng(0).random((n, n))
    m = np.exp(-np.abs(i[:, None] - i[None, :]) / 1000.0) * (1 + 0.01 * noise)
    labels = [f"tok{i}" for i in range(n)]
    fig = izzyviz.heatmap(m, labels, labels, top_n=3, title="4096 tokens")
    w, h = fig.size
    assert w < 2000 and h < 2000
    pdf = fig.save(tmp_path / "long.pdf")
    svg = fig.save(tmp_path / "long.svg")
    assert pdf.stat().st_size < 40e6 and svg.stat().st_size < 40e6
    dpi = 18
    pictures = {
        "pdfium": pdfium(pdf, dpi),
        "poppler": poppler(pdf, dpi),
        "cairo": cairo(svg, dpi),
    }
    for name, picture in pictures.items():
        blue = (picture[..., 2].astype(int) - picture[..., 0].astype(int)) > 40
        assert blue.mean() > 0.2, f"{name} drew no cells ({blue.mean():.1%} blue)"
    every, _ = agreement(pictures["pdfium"], pictures["poppler"])
    assert every >= 0.92, f"PDFium vs poppler: {every:.1%}"
    every, _ = agreement(pictures["pdfium"], pictures["cairo"])
    assert every >= 0.92, f"PDF vs SVG: {every:.1%}"
