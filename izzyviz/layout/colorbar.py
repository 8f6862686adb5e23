"""The colour bar: the colormap drawn along a bar, with ticks at data values placed where the
colour scale puts them."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from izzyviz.colors import ColorScale
from izzyviz.layout.style import BLACK, Style
from izzyviz.layout.texts import text_node
from izzyviz.numbers import format_numbers
from izzyviz.scene import CellGrid, Group, Line, Node
from izzyviz.text import TextMetrics

__all__ = ["colorbar"]


def colorbar(
    scale: ColorScale,
    x: float,
    top: float,
    height: float,
    fm: TextMetrics,
    style: Style,
    ticks: Sequence[tuple[str, float]] | None = None,
) -> tuple[Group, float]:
    """A colour bar: the colormap drawn linearly from bottom to top of ``height`` points, with
    ``style.colorbar_ticks`` ticks at evenly spaced data values placed at their normalised
    positions (or the given ``(label, fraction from the bottom)`` ticks). Returns the group and
    the x where its labels end."""
    width = style.colorbar_width
    steps = len(scale.palette)
    bar = CellGrid(
        np.array([x, x + width]),
        np.linspace(top, top + height, steps + 1),
        np.arange(steps - 1, -1, -1, dtype=np.uint8).reshape(steps, 1),
        scale.palette,
        mode="image",
    )
    if ticks is None:
        values = scale.ticks(style.colorbar_ticks)
        fractions = scale.normalize(values).tolist()
        labels = format_numbers(values, 2, keep_apart=True)
        ticks = list(zip(labels, fractions, strict=True))
    nodes: list[Node] = [bar]
    right = reach = x + width
    size = style.label_size
    for label, fraction in ticks:
        y = top + height * (1.0 - fraction)
        nodes.append(Line(right, y, right + style.tick_length, y, BLACK, style.tick_width))
        tx = right + style.tick_length + style.label_pad
        text = text_node(fm, tx, y + fm.cap_height * size / 2, label, size)
        nodes.append(text)
        reach = max(reach, tx + text.width)
    return Group(tuple(nodes), role="colorbar"), reach
