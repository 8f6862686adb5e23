"""Property-based tests: random shapes, values, labels (any Unicode) and options always give
files that parse (SVG: xml.etree, PDF: pypdf) and rasterise (cairosvg, PDFium), with no warning
but :class:`izzyviz.text.MissingGlyphWarning` for characters no installed font has."""

from __future__ import annotations

import contextlib
import io
import tempfile
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import izzyviz
from izzyviz.text import MissingGlyphWarning

SVG_NS = "{http://www.w3.org/2000/svg}"
SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Finite scores: ordinary attention weights, tiny and huge magnitudes (|x| <= 1e30, the range
# the issue names; see test_hardening for the full float64 range) and constants.
finite = st.one_of(
    st.floats(0.0, 1.0),
    st.floats(-1e30, 1e30, allow_nan=False, allow_infinity=False, allow_subnormal=False),
    st.sampled_from([0.0, 1e-30, -1e-30, 1e30, -1e30, 0.5]),
)


@st.composite
def matrices(
    draw: st.DrawFn, max_side: int = 40, shape: tuple[int, int] | None = None
) -> np.ndarray:
    if shape is None:
        shape = (draw(st.integers(1, max_side)), draw(st.integers(1, max_side)))
    rows, cols = shape
    if draw(st.booleans()):
        return np.full((rows, cols), draw(finite))
    # A few distinct values spread over the matrix keep generation fast for 40 x 40.
    values = draw(st.lists(finite, min_size=1, max_size=6))
    picks = draw(hnp.arrays(np.int8, (rows, cols), elements=st.integers(0, len(values) - 1)))
    return np.asarray(values, dtype=np.float64)[picks]


# Any text: hypothesis never generates surrogates; add control characters, right-to-left
# scripts, combining marks, emoji and empty strings on purpose.
label = st.one_of(
    st.text(max_size=30),
    st.text(st.characters(codec="utf-8", categories=["Cc", "Cf", "Zs", "Zl", "Zp"]), max_size=8),
    st.text(st.sampled_from("שלוםمرحبا東京한국😀🚀\u0301\u202e\u200b<>&\"']]>"), max_size=12),
    st.just(""),
)


def labels(n: int) -> st.SearchStrategy[list[str]]:
    return st.lists(label, min_size=n, max_size=n)


def _check_outputs(fig: izzyviz.Figure) -> None:
    import cairosvg
    import pypdfium2 as pdfium
    from pypdf import PdfReader

    svg = fig.to_svg().encode("utf-8")
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG_NS}svg"
    w, h = fig.size
    assert 0 < w < 2000 and 0 < h < 2000, fig.size
    # Small rasters keep the test fast; the point is that they do not fail.
    png = cairosvg.svg2png(bytestring=svg, output_width=max(1, round(w / 4)))
    assert png.startswith(b"\x89PNG")
    pdf = fig.to_pdf()
    assert len(PdfReader(io.BytesIO(pdf)).pages) == len(fig.pages)
    document = pdfium.PdfDocument(pdf)
    try:
        page = document[0]
        bitmap = page.render(scale=0.25)
        assert bitmap.width > 0
        page.close()
    finally:
        document.close()


def _only_glyph_warnings(caught: list[warnings.WarningMessage]) -> None:
    others = [w for w in caught if not issubclass(w.category, MissingGlyphWarning)]
    assert not others, [f"{w.category.__name__}: {w.message}" for w in others]


def _run(draw_figure: Any) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig = draw_figure()
        _check_outputs(fig)
    _only_glyph_warnings(caught)


@st.composite
def heatmap_calls(draw: st.DrawFn) -> tuple[np.ndarray, list[str], list[str], dict[str, Any]]:
    m = draw(matrices())
    rows, cols = m.shape
    options: dict[str, Any] = {
        "top_n": draw(st.integers(0, 10)),
        "gamma": draw(st.floats(0.05, 8.0)),
        "enlarged_size": draw(st.floats(0.2, 4.0)),
        "cells": draw(st.sampled_from(["auto", "vector", "image"])),
        "show_values": draw(st.booleans()),
        "title": draw(st.none() | label),
        "xlabel": draw(st.none() | label),
        "ylabel": draw(st.none() | label),
    }
    boxes = []
    for _ in range(draw(st.integers(0, 3))):
        r0, r1 = sorted(draw(st.lists(st.integers(0, rows - 1), min_size=2, max_size=2)))
        c0, c1 = sorted(draw(st.lists(st.integers(0, cols - 1), min_size=2, max_size=2)))
        boxes.append(((r0, c0), (r1, c1)))
    options["regions"] = boxes
    return m, draw(labels(cols)), draw(labels(rows)), options


@SETTINGS
@given(heatmap_calls())
def test_heatmap_always_parses_and_rasterises(
    call: tuple[np.ndarray, list[str], list[str], dict[str, Any]],
) -> None:
    m, xs, ys, options = call
    _run(lambda: izzyviz.heatmap(m, xs, ys, **options))


def _saved(draw_figure: Any) -> izzyviz.Figure:
    """Run a drawing function that saves as it draws (to a temporary SVG); the figure it
    returns is checked like any other."""
    with tempfile.TemporaryDirectory() as folder, contextlib.redirect_stdout(io.StringIO()):
        path = Path(folder) / "figure.svg"
        fig: izzyviz.Figure = draw_figure(path)
        ET.parse(path)
    return fig


@SETTINGS
@given(st.data())
def test_encoder_decoder_always_parses_and_rasterises(data: st.DataObject) -> None:
    m = data.draw(matrices(max_side=12))
    rows, cols = m.shape
    source, generated = data.draw(labels(cols)), data.draw(labels(rows))
    top_n = data.draw(st.integers(0, 10))
    gamma = data.draw(st.floats(0.1, 5.0))
    _run(
        lambda: _saved(
            lambda path: izzyviz.visualize_attention_encoder_decoder(
                m, source, generated, top_n=top_n, gamma=gamma, save_path=path
            )
        )
    )


@SETTINGS
@given(st.data())
def test_views_always_parse_and_rasterise(data: st.DataObject) -> None:
    m = data.draw(matrices(max_side=10))
    rows, cols = m.shape
    other = data.draw(matrices(shape=m.shape))
    n = min(rows, cols)
    square, other_square = m[:n, :n], other[:n, :n]
    tokens = data.draw(labels(n))
    xs, ys = data.draw(labels(cols)), data.draw(labels(rows))
    view = data.draw(st.sampled_from(["circles", "stability", "sparklines", "regions"]))
    calls = {
        "circles": lambda path: izzyviz.compare_two_attentions_with_circles(
            square, other_square, tokens, save_path=path
        ),
        "stability": lambda path: izzyviz.check_stability_heatmap_with_gradient_color(
            [m, other], xs, ys, save_path=path
        ),
        "sparklines": lambda path: izzyviz.visualize_attention_evolution_sparklines(
            [square, other_square, square], tokens, save_path=path
        ),
        "regions": lambda path: izzyviz.visualize_attention_with_detected_regions(
            m, xs, ys, label_regions=True, save_path=path
        ),
    }
    _run(lambda: _saved(calls[view]))
