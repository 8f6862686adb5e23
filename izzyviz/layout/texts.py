"""Text in a panel: measured text nodes, titles cut to fit, labels with their highlight, and the
:class:`Context` every part of a panel is laid out in."""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

from izzyviz.layout.geometry import Bounds
from izzyviz.layout.spec import HeatmapSpec
from izzyviz.layout.style import BLACK, HIGHLIGHT, Style
from izzyviz.scene import (
    RGBA,
    Group,
    Node,
    Rect,
    Text,
    Transform,
    apply,
    compose,
    rotation,
    translation,
)
from izzyviz.text import TextMetrics, shorten, show_controls

__all__ = ["Context", "fit_text", "text_node", "titles", "wrap"]


def text_node(
    fm: TextMetrics,
    x: float,
    y: float,
    label: str,
    size: float,
    *,
    bold: bool = False,
    anchor: Literal["start", "middle", "end"] = "start",
    fill: RGBA = BLACK,
    limit: int | None = None,
) -> Text:
    """A measured :class:`Text` for any label, title or caption: control characters made
    visible (see :func:`izzyviz.text.show_controls`), cut to ``limit`` characters, fallback
    fonts named where the bundled font lacks a glyph, and text that needs it shaped and laid
    out right to left by the Unicode bidi algorithm."""
    visible = show_controls(label)
    shown = visible if limit is None else shorten(visible, limit)
    return Text(
        x,
        y,
        shown,
        size,
        fm.width(shown, size, bold),
        fill,
        bold,
        anchor,
        full_text=label if shown != label else None,
        runs=fm.runs(shown, bold),
        glyphs=fm.shape(shown, bold),
    )


def fit_text(fm: TextMetrics, text: str, size: float, width: float, bold: bool = False) -> str:
    """``text`` cut (with an ellipsis) to fit ``width`` points at ``size``."""
    if fm.width(text, size, bold) <= width:
        return text
    lo, hi = 0, len(text)
    while lo < hi:  # longest prefix that fits with the ellipsis
        mid = (lo + hi + 1) // 2
        if fm.width(text[:mid] + "…", size, bold) <= width:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo].rstrip() + "…"


def wrap(fm: TextMetrics, text: str, size: float, width: float) -> list[str]:
    """``text`` broken at spaces into lines at most ``width`` points wide (a word longer than
    that gets a line of its own)."""
    lines: list[str] = []
    for word in text.split(" "):
        if lines and fm.width(f"{lines[-1]} {word}", size) <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines


class Context:
    """What every part of one panel is laid out with: its spec, style and font metrics, and the
    bounding box of everything drawn so far."""

    def __init__(self, spec: HeatmapSpec, style: Style, fm: TextMetrics) -> None:
        self.spec, self.style, self.fm = spec, style, fm
        self.bounds = Bounds()

    def text(self, x: float, y: float, label: str, size: float, **options: Any) -> Text:
        """:func:`text_node` with these metrics, cut to the style's label length unless
        ``limit`` says otherwise (None: no limit)."""
        options.setdefault("limit", self.style.max_label_chars)
        return text_node(self.fm, x, y, label, size, **options)

    def centred_baseline(self, y: float, size: float) -> float:
        """Baseline that centres capitals and digits vertically on ``y``."""
        return y + self.fm.cap_height * size / 2

    def label(self, text: Text, transform: Transform, highlight: bool, role: str) -> Group:
        """A label in its own coordinates (anchor at the origin), with an optional rounded
        highlight behind it; its corners go into the bounds."""
        pad, size = self.style.highlight_pad, text.size
        x0 = text.x + {"start": 0.0, "middle": -text.width / 2, "end": -text.width}[text.anchor]
        top = text.y - self.fm.ascent * size * 0.8
        bottom = text.y - self.fm.descent * size
        box = (x0 - pad, top - pad, x0 + text.width + pad, bottom + pad)
        children: list[Node] = []
        if highlight:
            children.append(
                Rect(box[0], box[1], box[2] - box[0], box[3] - box[1], fill=HIGHLIGHT, radius=2.5)
            )
        children.append(text)
        corners = [(box[0], box[1]), (box[2], box[1]), (box[0], box[3]), (box[2], box[3])]
        self.bounds.add_points(apply(transform, corners))
        return Group(tuple(children), transform=transform, role=role)

    def fitted_title(self, text: str, size: float, centre: float) -> tuple[Text, float]:
        """A centred title and the x of its centre: ``centre``, or on a fixed page width the
        nearest x that keeps the title and everything laid out so far within the page."""
        style = self.style
        node = self.text(0.0, 0.0, text, size, anchor="middle", limit=style.max_title_chars)
        if style.page_width is None:
            return node, centre
        room = style.page_width - 2 * style.margin
        if node.width > room:
            node = self.text(0.0, 0.0, fit_text(self.fm, node.text, size, room), size,
                             anchor="middle", limit=None)  # fmt: skip
        left, _, right, _ = self.bounds.box
        half = node.width / 2
        low, high = right - room + half, left + room - half
        return node, min(max(centre, low), high) if low <= high else centre


def titles(
    ctx: Context, width: float, height: float, x_reach: float, y_reach: float
) -> list[Group]:
    """The title and x-axis title, stacked upwards from the column labels and centred on the
    heatmap (``width`` x ``height``), and the y-axis title left of the row labels. On a fixed
    page width they are cut to the page and moved sideways to stay on it."""
    spec, style = ctx.spec, ctx.style
    groups: list[Group] = []
    if spec.ylabel:  # first, so titles kept on a fixed page width keep clear of it too
        size = style.axis_label_size
        node = ctx.text(0.0, 0.0, spec.ylabel, size, anchor="middle", limit=style.max_title_chars)
        transform = compose(translation(-y_reach - 6.0, height / 2), rotation(90.0))
        corners = [(-node.width / 2, -size), (node.width / 2, 0.25)]
        ctx.bounds.add_points(apply(transform, corners))
        groups.append(Group((node,), transform=transform, role="ylabel"))
    baseline = -x_reach - 6.0
    for text, size, role in (
        (spec.xlabel, style.axis_label_size, "xlabel"),
        (spec.title, style.title_size, "title"),
    ):
        if text:
            node, centre = ctx.fitted_title(text, size, width / 2)
            node = dataclasses.replace(node, x=centre, y=baseline)
            half = node.width / 2
            ctx.bounds.add(centre - half, baseline - size, centre + half, baseline + size / 4)
            groups.append(Group((node,), role=role))
            baseline -= size * 1.25
    return groups[1:] + groups[:1] if spec.ylabel else groups  # the ylabel drawn last
