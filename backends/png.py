"""PNG backend: the SVG backend's output rasterised by cairosvg."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from izzyviz.backends.svg import SVGRenderer

from izzyviz._validate import check_positive
from izzyviz.scene import Scene

__all__ = ["PNGRenderer"]


class PNGRenderer(SVGRenderer):
    """Draws one page as a PNG image.

    Options
    -------
    dpi
        Resolution in pixels per inch (default 150): a 720 pt page is ``10 * dpi`` pixels wide.
    """

    name = "png"
    extensions = (".png",)

    def __init__(self, *, dpi: float = 150.0, **options: Any) -> None:
        super().__init__(**options)
        self.dpi = check_positive(dpi, "dpi")

    def render(self, scenes: Sequence[Scene]) -> bytes:
        import cairosvg

        svg = SVGRenderer.render(self, scenes)
        png: bytes = cairosvg.svg2png(bytestring=svg, dpi=self.dpi, unsafe=False)
        return png
