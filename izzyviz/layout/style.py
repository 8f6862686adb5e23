"""Sizes, fonts and colours of a heatmap figure: the :class:`Style` every layout step reads."""

from __future__ import annotations

import math
from dataclasses import dataclass

from izzyviz.scene import RGBA
from izzyviz.text import Font

__all__ = [
    "BLACK",
    "CALLOUT",
    "DARK_TEXT",
    "FAINT",
    "HIGHLIGHT",
    "LEGEND_EDGE",
    "REGION_RED",
    "SIN45",
    "WHITE",
    "Region",
    "Style",
]

BLACK: RGBA = (0.0, 0.0, 0.0, 1.0)
WHITE: RGBA = (1.0, 1.0, 1.0, 1.0)
DARK_TEXT: RGBA = (0.15, 0.15, 0.15, 1.0)
# matplotlib's "yellowgreen" at 50% opacity over white, as the original's label highlight.
HIGHLIGHT: RGBA = (0.802, 0.902, 0.598, 1.0)
REGION_RED: RGBA = (1.0, 0.0, 0.0, 1.0)
CALLOUT: RGBA = (0.85, 0.33, 0.0, 1.0)
FAINT: RGBA = (0.45, 0.45, 0.45, 1.0)
LEGEND_EDGE: RGBA = (0.8, 0.8, 0.8, 1.0)  # matplotlib's legend frame
SIN45 = math.sqrt(0.5)

Region = tuple[int, int, int, int]
"""An inclusive cell range ``(row0, col0, row1, col1)``."""


@dataclass(frozen=True, slots=True)
class Style:
    """Sizes (points) and fonts of a heatmap figure; the defaults give a page comparable to the
    original IzzyViz's 10 x 10 inch figure.

    ``page_width`` (points) fixes the page's width: each panel is fitted inside it (see
    :func:`izzyviz.layout.fitted_style`), titles are cut to it, and the page is exactly that
    wide; None lets the width follow the content. ``font`` is the font of every text (None: the
    bundled DejaVu Sans). :func:`izzyviz.paper.figure_style` makes the styles for papers.
    """

    max_width: float = 540.0
    max_height: float = 560.0
    max_cell: float = 48.0
    max_aspect: float = 1.5
    min_extent: float = 24.0
    title_size: float = 14.0
    axis_label_size: float = 12.0
    label_size: float = 10.0
    min_label_size: float = 6.0
    value_size: float = 10.0
    min_value_size: float = 4.0
    max_callouts: int = 20
    callout_ring: float = 3.5
    tick_length: float = 3.5
    tick_width: float = 0.8
    label_pad: float = 3.0
    highlight_pad: float = 2.0
    max_label_chars: int = 24
    max_title_chars: int = 100
    colorbar_gap: float = 12.0
    colorbar_width: float = 18.0
    colorbar_ticks: int = 7
    gap: float = 0.75
    margin: float = 12.0
    panel_spacing: float = 28.0
    vector_cell_limit: int = 128 * 128
    display_dpi: float = 150.0
    position_size: float = 6.0
    position_ticks: int = 8
    caption_size: float = 8.0
    page_width: float | None = None
    font: Font | None = None
