"""The explorer's HTML: one element holding the map's description, its tiles (when the page is a
file) and the viewer's script and style, scoped under the ``.izv`` class so that it can sit in a
notebook's page beside others.

The description (``meta``) is JSON in a ``<script type="application/json">`` element: shape,
levels, labels, colour bar, top cells, regions, small print per level, and where tiles come
from. A file carries every tile as base64 in a second JSON element; a served page fetches them
from ``base`` (see :mod:`izzyviz.explorer.serve`).
"""

from __future__ import annotations

import base64
import html
import json
from functools import lru_cache
from importlib.resources import files
from typing import Any

from izzyviz.explorer.engine import level_note
from izzyviz.explorer.pyramid import TILE, Pyramid

__all__ = ["MAX_RINGS", "describe", "document", "element"]

#: Top cells ringed on the map (the static figure calls out as many); all are listed.
MAX_RINGS = 20


@lru_cache(maxsize=2)
def _asset(name: str) -> str:
    return (files("izzyviz.explorer") / "static" / name).read_text(encoding="utf-8")


def _hex(rgb: Any, unit: float = 1.0) -> str:
    """Red, green and blue (bytes, or with ``unit=255`` floats in [0, 1]) as ``#rrggbb``."""
    return "#" + "".join(f"{round(float(v) * unit):02x}" for v in list(rgb)[:3])


def describe(pyramid: Pyramid, base: str | None = None) -> dict[str, Any]:
    """The page's description of ``pyramid``'s map; ``base`` is the URL tiles are fetched
    from (None: they are in the page)."""
    facts, geometry = pyramid.facts, pyramid.geometry
    scale = "" if facts.scale.norm == "power" else " · " + facts.scale.describe()
    return {
        "rows": geometry.rows,
        "cols": geometry.cols,
        "tile": TILE,
        "levels": geometry.levels,
        "notes": [level_note(facts.pool, 1 << k) + scale for k in range(geometry.levels)],
        "values": pyramid.value_dtype,
        "pool": facts.pool,
        "title": facts.title,
        "xlabel": facts.xlabel,
        "ylabel": facts.ylabel,
        "x_labels": facts.x_labels,
        "y_labels": facts.y_labels,
        "bold_x": facts.bold_x,
        "bold_y": facts.bold_y,
        "palette": [_hex(row) for row in facts.palette],
        "ramp": [_hex(row) for row in facts.scale.ramp],
        "under": None if facts.scale.under is None else _hex(facts.scale.under),
        "ticks": [[label, round(fraction, 6)] for label, fraction in facts.ticks],
        "top": [list(cell) for cell in facts.top],
        "rings": MAX_RINGS,
        "regions": [list(region) for region in facts.regions],
        "region_color": _hex(facts.region_color, 255.0),
        "base": base,
    }


def _json(value: Any) -> str:
    """JSON safe inside a ``<script>`` element (no ``<``, ``>`` or ``&`` as such)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def _tiles_json(pyramid: Pyramid) -> bytes:
    """Every tile of ``pyramid`` as base64, in one JSON object (bytes: its tens of megabytes
    are copied as few times as possible)."""
    parts = [b'"' + key.encode() + b'":"' + base64.b64encode(data) + b'"'
             for key, data in pyramid.all_tiles()]  # fmt: skip
    return b"{" + b",".join(parts) + b"}"


def element(meta: dict[str, Any], tiles: bytes | None = None, page: bool = False) -> bytes:
    """The explorer's element, as UTF-8: ``meta`` (see :func:`describe`), the tiles' JSON when
    they are in the page, and the viewer. ``page``: it fills a whole browser window."""
    classes = "izv izv-page" if page else "izv"
    label = html.escape(meta.get("title") or "attention map", quote=True)
    head = "".join([
        f'<div class="{classes}" tabindex="0" role="application" aria-label="{label}">',
        "<style>", _asset("explorer.css"), "</style>",
        '<div class="izv-title"></div>',
        '<div class="izv-bar">',
        '<button type="button" class="izv-in" title="Zoom in (+)">+</button>',
        '<button type="button" class="izv-out" title="Zoom out (-)">−</button>',
        '<button type="button" class="izv-fit" title="Whole map (0)">Fit</button>',
        '<input type="search" class="izv-search" placeholder="Find a token (Enter: next)" '
        'aria-label="Find a token">',
        '<span class="izv-status"></span></div>',
        '<div class="izv-main"><div class="izv-view"><canvas class="izv-canvas"></canvas>',
        '<div class="izv-tip" hidden></div>',
        '<p class="izv-wait">The explorer draws with JavaScript: in an untrusted notebook, '
        "trust it (File &gt; Trust Notebook) to see the map.</p></div>",
        '<div class="izv-side"><h4>Colour scale</h4><canvas class="izv-bar-canvas"></canvas>',
        '<ul class="izv-list izv-found"></ul>',
        '<h4>Top cells</h4><ol class="izv-list izv-top"></ol></div></div>',
        '<div class="izv-note"></div>',
        '<script type="application/json" class="izv-meta">', _json(meta), "</script>",
    ]).encode("utf-8")  # fmt: skip
    inside = b"" if tiles is None else b'<script type="application/json" class="izv-tiles">'
    end = b"" if tiles is None else b"</script>"
    viewer = ("<script>" + _asset("explorer.js") + "</script></div>").encode("utf-8")
    return b"".join([head, inside, tiles or b"", end, viewer])


def document(meta: dict[str, Any], tiles: bytes | None = None) -> bytes:
    """A whole HTML page around :func:`element`, as UTF-8."""
    title = html.escape(meta.get("title") or "IzzyViz explorer")
    head = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title}</title><style>html,body{{margin:0;padding:0}}</style></head><body>"
    )
    return head.encode("utf-8") + element(meta, tiles, page=True) + b"</body></html>\n"


def file_page(pyramid: Pyramid) -> bytes:
    """The self-contained page of ``pyramid``, as UTF-8: every tile inside."""
    return document(describe(pyramid), _tiles_json(pyramid))


def notebook_element(pyramid: Pyramid) -> str:
    """The element of ``pyramid`` for a notebook: every tile inside, no page around it."""
    return element(describe(pyramid), _tiles_json(pyramid)).decode("utf-8")
