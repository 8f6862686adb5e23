"""The axes of a panel: token labels along rows and columns (thinned where they crowd), light
position ticks for long maps, and the small print under the heatmap."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from izzyviz.layout.geometry import label_size, position_label, position_step, thin
from izzyviz.layout.style import BLACK, FAINT, SIN45, Style
from izzyviz.layout.texts import Context, text_node
from izzyviz.scene import Group, Line, Node, compose, rotation, translation
from izzyviz.text import is_special_token

__all__ = ["axis_labels", "note", "positions"]


def axis_labels(
    ctx: Context,
    labels: Sequence[str],
    centers: NDArray[np.float64],
    pitch: float,
    marked: NDArray[np.bool_],
    axis: Literal["x", "y"],
) -> tuple[Group, float]:
    """Tick labels along one axis; returns the group and how far it reaches from the heatmap
    edge.

    Labels keep their size down to the style's smallest, then column labels turn from 45° to
    upright when that lets every one of them be shown, and only then are labels thinned out
    (the top cells' first); a thinned label carries its position ("412 the")."""
    style = ctx.style
    needed, angle = (1.25, 0.0) if axis == "y" else _column_angle(pitch, style)
    size = label_size(pitch, needed, style)
    shown = thin(centers, marked, size * needed)
    thinned = len(shown) < len(labels)
    offset = style.tick_length + style.label_pad
    nodes: list[Node] = []
    reach = 0.0
    for i in shown:
        label = f"{i} {labels[i]}" if thinned else labels[i]
        bold = is_special_token(labels[i], ctx.spec.special_tokens)
        c = float(centers[i])
        if axis == "y":
            text = ctx.text(0.0, ctx.centred_baseline(0.0, size), label, size, bold=bold,
                            anchor="end")  # fmt: skip
            nodes.append(Line(-style.tick_length, c, 0.0, c, BLACK, style.tick_width))
            transform = translation(-offset, c)
            reach = max(reach, offset + text.width + style.highlight_pad)
        else:
            # Start each label at its tick and run it up and to the right, so neighbours stay
            # parallel and never collide (centring them, as matplotlib does, makes long labels
            # crowd their left neighbours). A little way along the ray, so the tick below does
            # not read as a dash.
            start = style.label_pad
            text = ctx.text(start, ctx.centred_baseline(0.0, size), label, size, bold=bold)
            nodes.append(Line(c, -style.tick_length, c, 0.0, BLACK, style.tick_width))
            transform = compose(translation(c, -offset), rotation(angle))
            rise = SIN45 if angle == 45.0 else 1.0  # upright: straight up
            reach = max(reach, offset + (start + text.width + size) * rise + style.highlight_pad)
        nodes.append(ctx.label(text, transform, bool(marked[i]), f"{axis}-label"))
    return Group(tuple(nodes), role=f"{axis}-labels"), reach


def _column_angle(pitch: float, style: Style) -> tuple[float, float]:
    """How much room (per point of size) column labels ``pitch`` points apart need, and their
    angle: 45° as the original draws them, or upright where that shows every label and 45°
    would not."""
    slanted = 1.25 / SIN45
    if pitch >= label_size(pitch, slanted, style) * slanted:
        return slanted, 45.0
    if pitch >= label_size(pitch, 1.25, style) * 1.25:
        return 1.25, 90.0
    return slanted, 45.0


def positions(
    ctx: Context, count: int, pitch: float, extent: float, axis: Literal["x", "y"]
) -> tuple[Group, float]:
    """Light position ticks (0, 1k, 2k, ...) below the heatmap (columns) or right of it (rows),
    so a cell of a long map can be located when most labels are thinned out. Returns the group
    and how far it reaches beyond the heatmap's edge at ``extent``."""
    style, fm = ctx.style, ctx.fm
    size, tick = style.position_size, style.tick_length * 0.6
    nodes: list[Node] = []
    reach = tick + size * 1.25
    for index in range(0, count + 1, position_step(count, style.position_ticks)):
        at = index * pitch
        label = position_label(index)
        nodes.append(
            Line(at, extent, at, extent + tick, FAINT, 0.4)
            if axis == "x"
            else Line(extent, at, extent + tick, at, FAINT, 0.4)
        )
        if axis == "x":
            node = text_node(fm, at, extent + tick + size, label, size, anchor="middle", fill=FAINT)
            ctx.bounds.add(at - node.width / 2, extent, at + node.width / 2, extent + reach)
        else:
            x = extent + tick + 1.5
            node = text_node(fm, x, ctx.centred_baseline(at, size), label, size, fill=FAINT)
            reach = max(reach, x + node.width - extent)
            ctx.bounds.add(extent, at - size, x + node.width, at + size)
        nodes.append(node)
    return Group(tuple(nodes), role=f"{axis}-positions"), reach


def note(ctx: Context, lines: Sequence[str], y: float) -> Group:
    """Small print under the heatmap, one line each: how pixels were pooled, the colour
    scale."""
    size = ctx.style.position_size
    nodes = []
    for k, line in enumerate(lines):
        node = text_node(ctx.fm, 0.0, y + size + k * size * 1.25, line, size, fill=FAINT)
        ctx.bounds.add(0.0, y, node.width, y + (k + 1) * size * 1.25)
        nodes.append(node)
    return Group(tuple(nodes), role="note")
