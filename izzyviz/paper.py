"""Figures that fit a paper: a page width, a font and a text size.

Every drawing function takes the same four options and hands them to :func:`figure_style`,
which checks them once and returns the :class:`~izzyviz.layout.Style` the one layout path uses:

- ``width``: the page width in inches. The layout fits cells, labels, colour bar and titles into
  it (see :func:`izzyviz.layout.heatmap_panel`); the height follows the content.
- ``font``: a TrueType/OpenType file, or the family name of an installed font
  (:func:`find_font`). The layout measures text in it; the PDF and the SVG embed it (subset),
  the PNG draws it. Characters it lacks fall back to other fonts as always.
- ``font_size``: the labels' size in points. Titles and axis titles scale from it; no text is
  ever drawn smaller than :data:`READABLE_SIZE` (or ``font_size`` if that is smaller): labels
  are thinned instead.
- ``style``: a preset of :data:`PRESETS` (``"column"``, ``"page"``); ``width`` and
  ``font_size`` given with it win.

With none of them the figure looks exactly as it always has.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from izzyviz._validate import check_choice, check_positive
from izzyviz.fontsearch import find_font, installed_families
from izzyviz.layout import Style
from izzyviz.scene import Font

__all__ = ["PRESETS", "READABLE_SIZE", "figure_style", "find_font", "installed_families"]

PRESETS: dict[str, tuple[float, float]] = {"column": (3.5, 8.0), "page": (7.0, 9.0)}
"""``style=`` presets as ``(width in inches, font size in points)``: one column of a two-column
paper, and the full text width."""

READABLE_SIZE = 6.0
"""The smallest text (points) a fitted figure draws: its small print (pooling notes, position
ticks) and values moved out of cells that are too small for them."""

DEFAULT_SIZE = 10.0  # the default style's labels: the size a width given alone keeps


def figure_style(
    width: Any = None, font: Any = None, font_size: Any = None, style: Any = None
) -> Style:
    """The layout :class:`~izzyviz.layout.Style` for the ``width=``, ``font=``,
    ``font_size=`` and ``style=`` options every drawing function takes (see the module
    docstring); the default :class:`Style` when all are None.

    Raises
    ------
    ValueError
        An unknown preset, a size that is not a positive finite number, a font file that is not
        a font, a family name no installed font has.
    FileNotFoundError
        ``font`` names a file that does not exist.
    """
    preset_width: float | None = None
    preset_size: float | None = None
    if style is not None:
        preset_width, preset_size = PRESETS[check_choice(style, PRESETS, "style")]
    inches = preset_width if width is None else check_positive(width, "width")
    size = preset_size if font_size is None else check_positive(font_size, "font_size")
    chosen = None if font is None else find_font(font)
    if inches is None and size is None:
        return Style(font=chosen)
    return _sized_style(inches, size or DEFAULT_SIZE, chosen)


def _sized_style(inches: float | None, size: float, font: Font | None) -> Style:
    """The default style with every length scaled to ``size`` point labels, labels that never
    shrink, small print no smaller than :data:`READABLE_SIZE`, and a page ``inches`` wide."""
    base = Style()
    k = size / base.label_size
    floor = min(READABLE_SIZE, size)
    scaled = {
        name: getattr(base, name) * k
        for name in (
            "title_size", "axis_label_size", "value_size", "tick_length", "label_pad",
            "highlight_pad", "colorbar_gap", "colorbar_width", "panel_spacing", "callout_ring",
        )
    }  # fmt: skip
    margin = size / 2
    page_width = None if inches is None else inches * 72
    room = (page_width or base.max_width) - 2 * margin
    return dataclasses.replace(
        base,
        **scaled,
        label_size=size,
        min_label_size=size,
        min_value_size=floor,
        position_size=max(base.position_size * k, floor),
        caption_size=size,
        margin=margin,
        max_width=room,
        max_height=room * 1.2,
        page_width=page_width,
        font=font,
    )
