"""The PNG backend's own drawing: text where the layout measured it, in the layout's fonts even
on a machine without them, both engines, transparency and every primitive."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

import izzyviz
from izzyviz.layout import text_node
from izzyviz.render import get_backend
from izzyviz.scene import Circle, Group, Line, Polyline, RadialGradient, Rect, Scene, rotation
from izzyviz.text import metrics

LABEL = "Self-attention of [CLS] over the quick brown fox"
SIZE = 20.0
DPI = 144


CJK_LABEL = "東京 attends to 中文"  # drawn in a fallback font (the test extra's, from PyPI)


def label_scene(bold: bool, label: str = LABEL) -> Scene:
    """One label starting at x = 20 pt on an otherwise empty page."""
    node = text_node(metrics(), 20, 40, label, SIZE, bold=bold)
    return Scene(node.width + 40, 60, Group((node,)))


def ink_span(png: bytes) -> tuple[float, float]:
    """Left and right edge, in points, of the non-white pixels of a PNG drawn at ``DPI``."""
    pixels = np.asarray(PILImage.open(io.BytesIO(png)).convert("L"))
    columns = np.nonzero((pixels < 128).any(axis=0))[0]
    return columns[0] * 72 / DPI, (columns[-1] + 1) * 72 / DPI


def check_label_width(bold: bool, label: str = LABEL, engine: str = "cairo") -> None:
    """The drawn label spans the advance width the layout measured (to the glyphs' side
    bearings): the backend drew the layout's fonts, not substitutes."""
    scene = label_scene(bold, label)
    text = scene.root.children[0]
    left, right = ink_span(get_backend("png")(dpi=DPI, engine=engine).render([scene]))
    # The ink starts and ends within a side bearing (under 0.1 em) of the advance box, and
    # spans it to within 2% (cairosvg hints advances); cairo's stand-in face is ~16% off.
    assert 20 <= left < 20 + 0.1 * SIZE, left
    assert abs((right - left) - text.width) < 0.02 * text.width + 0.2 * SIZE, (
        right - left,
        text.width,
    )


@pytest.mark.parametrize("bold", [False, True])
def test_text_spans_the_measured_width(bold: bool) -> None:
    check_label_width(bold)


def test_a_machine_without_the_fonts_draws_the_layouts_fonts(tmp_path: Path) -> None:
    # A fontconfig that knows no font at all (a bare container, or fallback fonts named only in
    # IZZYVIZ_FONT_PATH): cairo would fall back to its built-in "twin" face, which is narrower,
    # has no bold and no CJK.
    config = tmp_path / "fonts.conf"
    config.write_text(
        '<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd">'
        f"<fontconfig><cachedir>{tmp_path / 'cache'}</cachedir></fontconfig>"
    )
    assert metrics().runs(CJK_LABEL) is not None  # a CJK font from the test extra
    code = (
        "from tests.test_png import CJK_LABEL, check_label_width\n"
        "for engine in ('cairo', 'cairosvg'):\n"
        "    check_label_width(False, engine=engine)\n"
        "    check_label_width(True, engine=engine)\n"
        "    check_label_width(False, CJK_LABEL, engine=engine)\n"
    )
    env = {"FONTCONFIG_FILE": str(config), "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=Path(__file__).parent.parent, env=env,
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]


def test_end_and_middle_anchors_use_the_measured_width() -> None:
    fm = metrics()
    width = fm.width(LABEL, SIZE) + 40
    for anchor, x in (("end", width - 20), ("middle", width / 2)):
        node = text_node(fm, x, 40, LABEL, SIZE, anchor=anchor)
        png = get_backend("png")(dpi=DPI).render([Scene(width, 60, Group((node,)))])
        left, right = ink_span(png)
        centre = {"end": x - node.width / 2, "middle": x}[anchor]
        assert abs((left + right) / 2 - centre) < 1.5, (anchor, left, right)


def test_engine_is_checked_and_both_engines_draw_the_figure(tmp_path: Path) -> None:
    fig = izzyviz.heatmap(np.eye(3), list("abc"), list("abc"))
    with pytest.raises(ValueError, match=r"engine: expected one of 'cairo', 'cairosvg', got 'x'"):
        fig.save(tmp_path / "f.png", engine="x")
    assert not list(tmp_path.iterdir())
    a, b = (fig.render("png", dpi=50, engine=e) for e in ("cairo", "cairosvg"))
    assert PILImage.open(io.BytesIO(a)).size == PILImage.open(io.BytesIO(b)).size


def primitives_scene(background: tuple[float, float, float, float] | None) -> Scene:
    """One of every primitive, each in its own place on a 200 x 100 pt page."""
    blue, red = (0.0, 0.0, 1.0, 1.0), (1.0, 0.0, 0.0, 1.0)
    gradient = RadialGradient(((0.0, red), (1.0, (1.0, 0.0, 0.0, 0.0))))
    nodes = (
        Rect(10, 10, 30, 30, fill=blue),
        Rect(50, 10, 30, 30, fill=None, stroke=red, stroke_width=4, radius=8),
        Line(90, 10, 90, 40, blue, 4),
        Polyline(np.array([[100.0, 40], [115, 10], [130, 40]]), red, 3),
        Circle(160, 25, 15, fill=gradient),
        Group((Rect(0, 0, 30, 10, fill=blue),), transform=rotation(90, 0, 0), role="turned"),
    )
    return Scene(200, 100, Group(nodes), background=background)


def test_every_primitive_is_drawn_where_it_belongs() -> None:
    png = get_backend("png")(dpi=72).render([primitives_scene((1.0, 1.0, 1.0, 1.0))])
    image = np.asarray(PILImage.open(io.BytesIO(png)).convert("RGB")).astype(int)
    assert image.shape == (100, 200, 3)
    assert tuple(image[25, 25]) == (0, 0, 255)  # filled rectangle
    assert tuple(image[25, 65]) == (255, 255, 255)  # the stroked one is hollow...
    assert tuple(image[25, 51]) == (255, 0, 0)  # ...with a red edge
    assert tuple(image[25, 90]) == (0, 0, 255)  # line
    assert tuple(image[12, 115]) == (255, 0, 0)  # polyline apex
    assert image[25, 160, 0] == 255 and image[25, 160, 1] < 30  # gradient centre: red...
    assert image[25, 173, 1] > 150  # ...fading out towards the rim
    # The turned group: 30 x 10 pt going up from the origin (x 0..10, y -30..0) is off the page,
    # so the page's top-left corner stays white.
    assert tuple(image[2, 2]) == (255, 255, 255)


def test_a_page_without_background_keeps_alpha() -> None:
    png = get_backend("png")(dpi=72).render([primitives_scene(None)])
    image = PILImage.open(io.BytesIO(png))
    assert image.mode == "RGBA"
    pixels = np.asarray(image).astype(int)
    assert tuple(pixels[60, 100]) == (0, 0, 0, 0)  # untouched: fully transparent
    assert tuple(pixels[25, 25]) == (0, 0, 255, 255)
    # Half-transparent gradient pixels come back un-premultiplied: still pure red.
    ring = pixels[25, 170]
    assert 0 < ring[3] < 255 and ring[0] >= 250 and ring[1] == ring[2] == 0, ring


def test_a_translucent_background_is_flattened_onto_white() -> None:
    png = get_backend("png")(dpi=72).render([primitives_scene((0.0, 0.0, 0.0, 0.5))])
    image = PILImage.open(io.BytesIO(png))
    assert image.mode == "RGB"
    assert all(abs(c - 128) <= 1 for c in image.getpixel((100, 60)))
