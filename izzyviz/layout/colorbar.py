"""The colour bar: the colormap drawn along a bar, with ticks at data values placed where the
colour scale puts them."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from izzyviz.colors import ColorScale
from izzyviz.layout.style import BLACK, Style
from izzyviz.layout.texts import text_node
from izzyviz.numbers import format_log_ticks, format_numbers
from izzyviz.scene import RGBA, CellGrid, Group, Line, Node, Rect
from izzyviz.text import TextMetrics

__all__ = ["bar_ticks", "colorbar", "scientific", "under_height"]

FRAME: RGBA = (0.6, 0.6, 0.6, 1.0)


def bar_ticks(scale: ColorScale, style: Style) -> list[tuple[str, float]]:
    """The colour bar's ticks as ``(label, fraction from the bottom)``: ``style.colorbar_ticks``
    evenly spaced data values, or a log scale's decades, placed where the scale puts them."""
    values = scale.ticks(style.colorbar_ticks)
    fractions = scale.normalize(values).tolist()
    if scale.norm == "log":
        labels = format_log_ticks(values)
    else:
        labels = format_numbers(values, 2, keep_apart=True)
    return list(zip(labels, fractions, strict=True))


def scientific(scale: ColorScale, style: Style) -> bool:
    """Whether the colour bar writes a number in scientific notation (the cells' values then
    do too, so one number reads one way in a figure)."""
    return any("e" in label for label, _ in bar_ticks(scale, style))


def under_height(scale: ColorScale, style: Style) -> float:
    """How far below the bar its zero swatch reaches (0 without one)."""
    return 0.0 if scale.under is None else style.colorbar_width * (UNDER_GAP + UNDER_SIDE)


UNDER_GAP, UNDER_SIDE = 0.4, 0.8  # the zero swatch's gap and height, in bar widths


def colorbar(
    scale: ColorScale,
    x: float,
    top: float,
    height: float,
    fm: TextMetrics,
    style: Style,
    ticks: Sequence[tuple[str, float]] | None = None,
) -> tuple[Group, float]:
    """A colour bar: the scale's ramp drawn linearly from bottom to top of ``height`` points,
    with :func:`bar_ticks` (or the given ``(label, fraction from the bottom)`` ticks); a log scale's
    zero colour is a framed swatch below it, labelled 0. Returns the group and the x where its
    labels end."""
    width = style.colorbar_width
    ramp = scale.ramp
    steps = len(ramp)
    bar = CellGrid(
        np.array([x, x + width]),
        np.linspace(top, top + height, steps + 1),
        np.arange(steps - 1, -1, -1, dtype=np.uint8).reshape(steps, 1),
        ramp,
        mode="image",
    )
    nodes: list[Node] = [bar]
    placed = [(label, top + height * (1.0 - f)) for label, f in ticks or bar_ticks(scale, style)]
    if scale.under is not None:
        swatch_top = top + height + width * UNDER_GAP
        r, g, b, a = (float(c) / 255 for c in scale.under)
        nodes.append(Rect(x, swatch_top, width, width * UNDER_SIDE, fill=(r, g, b, a),
                          stroke=FRAME, stroke_width=0.5))  # fmt: skip
        placed.append(("0", swatch_top + width * UNDER_SIDE / 2))
    right = reach = x + width
    size = style.label_size
    for label, y in placed:
        nodes.append(Line(right, y, right + style.tick_length, y, BLACK, style.tick_width))
        tx = right + style.tick_length + style.label_pad
        text = text_node(fm, tx, y + fm.cap_height * size / 2, label, size)
        nodes.append(text)
        reach = max(reach, tx + text.width)
    return Group(tuple(nodes), role="colorbar"), reach
