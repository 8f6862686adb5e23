"""PNG backend: the SVG backend's output rasterised by cairosvg.

cairosvg draws the SVG onto a cairo image surface; we encode that surface ourselves (zlib level 1
with the "up" filter), which is several times faster than cairo's PNG writer on a full page.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from izzyviz._validate import check_positive
from izzyviz.backends.svg import SVGRenderer
from izzyviz.raster import encode_rgb_png, grid_image
from izzyviz.scene import CellGrid, Image, Scene

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

    def draw_cell_grid(self, grid: CellGrid) -> None:
        """Every grid as one image at the output resolution plus its grid lines: the result is
        pixels anyway, and cairosvg parses thousands of cell paths slowly."""
        self.draw_image(self.cell_image(grid))
        self.draw_grid_lines(grid)

    def cell_image(self, grid: CellGrid) -> Image:
        """Cells sampled at the output resolution: a 4096-token grid needs no 4096-pixel image
        (encoded, embedded and decoded again) to fill ~1100 pixels."""
        return grid_image(grid, pixels_per_point=self.dpi / 72)

    def render(self, scenes: Sequence[Scene]) -> bytes:
        from cairosvg.parser import Tree
        from cairosvg.surface import PNGSurface

        svg = SVGRenderer.render(self, scenes)
        # Drawing happens when the surface is made; we read its pixels instead of calling
        # finish(), which would run cairo's slower PNG writer.
        surface = PNGSurface(Tree(bytestring=svg, unsafe=False), None, self.dpi).cairo
        surface.flush()
        width, height, stride = surface.get_width(), surface.get_height(), surface.get_stride()
        data = np.frombuffer(surface.get_data(), dtype=np.uint8).reshape(height, stride)
        bgra = data[:, : width * 4].reshape(height, width, 4)
        # cairo stores premultiplied BGRA. A page with a background is flattened onto white
        # (only the fractional last pixel row/column is not covered); one without keeps alpha.
        alpha = bgra[..., 3:4].astype(np.uint16)
        rgb = bgra[..., 2::-1].astype(np.uint16)
        if scenes[0].background is not None:
            return encode_rgb_png(np.ascontiguousarray(rgb + (255 - alpha), dtype=np.uint8))
        rgb = np.where(alpha > 0, (rgb * 255 + alpha // 2) // np.maximum(alpha, 1), 0)
        rgba = np.concatenate([rgb, alpha], axis=2).astype(np.uint8)
        return encode_rgb_png(rgba)
