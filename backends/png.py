"""PNG backend: the scene drawn with cairo.

By default the scene is drawn straight onto a cairo image surface through cairocffi (the binding
cairosvg itself draws with): no SVG is written and parsed again, and each label is one
``show_text`` call rather than cairosvg's per-letter layout, several times faster on a labelled
page. ``engine="cairosvg"`` instead rasterises the SVG backend's output with cairosvg, the
reference path; both give the same picture (tests compare them pixel by pixel).

Either way cells become one image at the output resolution plus grid lines, and we encode the
surface ourselves (zlib level 1, "up" filter), which is several times faster than cairo's PNG
writer on a full page. Text uses the fonts the layout measured: the bundled DejaVu fonts are
made known to fontconfig, so a server without them draws the same glyphs.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from izzyviz import scene as nodes
from izzyviz._validate import check_choice, check_positive
from izzyviz.backends.svg import SVGRenderer
from izzyviz.raster import encode_rgb_png, grid_image
from izzyviz.render import Renderer
from izzyviz.text import metrics

__all__ = ["MAX_PIXELS", "MAX_SIDE", "PNGRenderer"]

ENGINES = ("cairo", "cairosvg")
# The largest page we draw: about 1.2 GB peak at 100 megapixels, where cairo's own limit (and
# memory) would otherwise fail half way. 10,000 x 10,000 pixels is a 10-inch figure at 1000 dpi.
MAX_PIXELS = 100_000_000
MAX_SIDE = 32_767  # cairo image surfaces are at most this wide and high


@functools.cache
def _fontconfig_add_file() -> Any:
    """fontconfig's ``FcConfigAppFontAddFile``, or None where cairo has no fontconfig."""
    name = ctypes.util.find_library("fontconfig")
    if name is None:
        return None
    try:
        add = ctypes.CDLL(name).FcConfigAppFontAddFile
    except (OSError, AttributeError):
        return None
    add.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    return add


@functools.cache
def _register_font(path: Path) -> None:
    """Add a font file the layout measured to fontconfig's application fonts, once, so cairo's
    ``select_font_face`` finds it by family name even where it is not installed (the bundled
    DejaVu on a bare server, a fallback font named only in ``IZZYVIZ_FONT_PATH``)."""
    add = _fontconfig_add_file()
    if add is not None:
        add(None, str(path).encode())


def _encode_surface(surface: Any, opaque: bool) -> bytes:
    """The pixels of a cairo ARGB32 image surface as PNG bytes.

    cairo stores premultiplied BGRA. An ``opaque`` surface (drawn over an opaque background) is
    written as RGB; otherwise colours are un-premultiplied and alpha is kept."""
    surface.flush()
    width, height, stride = surface.get_width(), surface.get_height(), surface.get_stride()
    data = np.frombuffer(surface.get_data(), dtype=np.uint8).reshape(height, stride)
    bgra = data[:, : width * 4].reshape(height, width, 4)
    rgb = np.empty((height, width, 3), dtype=np.uint8)
    for channel in range(3):  # channel by channel: far faster than copying a reversed view
        rgb[..., channel] = bgra[..., 2 - channel]
    if opaque:
        return encode_rgb_png(rgb)
    alpha = bgra[..., 3:4].astype(np.uint16)
    straight = np.where(alpha > 0, (rgb * np.uint16(255) + alpha // 2) // np.maximum(alpha, 1), 0)
    return encode_rgb_png(np.concatenate([straight, alpha], axis=2).astype(np.uint8))


def _page_pixels(scene: nodes.Scene, dpi: float) -> tuple[float, float]:
    """Width and height of ``scene`` in pixels at ``dpi``, as :meth:`PNGRenderer.begin_page`
    rounds them (floats, so an absurd ``dpi`` cannot overflow)."""
    scale = dpi / 72
    return max(1.0, float(round(scene.width * scale))), max(1.0, float(round(scene.height * scale)))


def _fits(scene: nodes.Scene, dpi: float) -> bool:
    width, height = _page_pixels(scene, dpi)
    return width * height <= MAX_PIXELS and max(width, height) <= MAX_SIDE


def check_page_size(scenes: Sequence[nodes.Scene], dpi: float) -> None:
    """Refuse a ``dpi`` that makes a page larger than ``MAX_PIXELS`` pixels or ``MAX_SIDE`` on a
    side, before anything is allocated; the error names the largest ``dpi`` that fits."""
    for scene in scenes:
        if _fits(scene, dpi):
            continue
        largest = math.floor(
            72
            * min(
                math.sqrt(MAX_PIXELS / (scene.width * scene.height)),
                MAX_SIDE / max(scene.width, scene.height),
            )
        )
        while largest > 1 and not _fits(scene, largest):
            largest -= 1
        width, height = _page_pixels(scene, dpi)
        raise ValueError(
            f"dpi: {dpi:g} makes the {scene.width:g} x {scene.height:g} pt page "
            f"{width:,.0f} x {height:,.0f} pixels; a PNG page may have at most {MAX_PIXELS:,} "
            f"pixels and {MAX_SIDE:,} on a side: use at most dpi={largest} for this figure, "
            "or save a PDF or SVG (vector, sharp at any size)"
        )


class _DeviceCells(Renderer):
    """Cell grids as one image at the output resolution plus grid lines: the result is pixels
    anyway. A 4096-token grid needs no 4096-pixel image to fill ~1100 pixels, and cairosvg
    parses cell paths slowly."""

    dpi: float

    def draw_cell_grid(self, grid: nodes.CellGrid) -> None:
        self.draw_image(self.cell_image(grid))
        self.draw_grid_lines(grid)

    def cell_image(self, grid: nodes.CellGrid) -> nodes.Image:
        return grid_image(grid, pixels_per_point=self.dpi / 72)


class _RasterSVG(_DeviceCells, SVGRenderer):
    """The SVG the ``cairosvg`` engine rasterises."""

    def __init__(self, dpi: float) -> None:
        super().__init__()
        self.dpi = dpi


class PNGRenderer(_DeviceCells):
    """Draws one page as a PNG image.

    Options
    -------
    dpi
        Resolution in pixels per inch (default 150): a 720 pt page is ``10 * dpi`` pixels wide.
        A page may have at most ``MAX_PIXELS`` (100 million) pixels and ``MAX_SIDE`` (32,767)
        on a side; a larger ``dpi`` raises ``ValueError`` before anything is drawn.
    engine
        ``"cairo"`` (default) draws the scene directly with cairo; ``"cairosvg"`` rasterises
        the SVG backend's output with cairosvg (slower; the same picture).
    """

    name = "png"
    extensions = (".png",)

    def __init__(
        self, *, dpi: float = 150.0, engine: Literal["cairo", "cairosvg"] = "cairo"
    ) -> None:
        self.dpi = check_positive(dpi, "dpi")
        self.engine = check_choice(engine, ENGINES, "engine")
        self._ctx: Any = None
        self._surface: Any = None
        self._opaque = True
        self._font: tuple[str, bool] | None = None
        self._fonts = metrics()

    @property
    def display_dpi(self) -> float:  # type: ignore[override]
        """Long maps pool their cells into this PNG's own pixels."""
        return self.dpi

    def check(self, scenes: Sequence[nodes.Scene]) -> None:
        check_page_size(scenes, self.dpi)

    def render(self, scenes: Sequence[nodes.Scene]) -> bytes:
        self.check(scenes)
        if self.engine == "cairosvg" and len(scenes) == 1:
            from cairosvg.parser import Tree
            from cairosvg.surface import PNGSurface

            self.begin_document(scenes)
            svg = _RasterSVG(self.dpi).render(scenes)
            # Drawing happens when the surface is made; we read its pixels instead of calling
            # finish(), which would run cairo's slower PNG writer.
            opaque = scenes[0].background is not None
            tree = Tree(bytestring=svg, unsafe=False)
            background = "white" if opaque else None
            surface = PNGSurface(tree, None, self.dpi, background_color=background).cairo
            return _encode_surface(surface, opaque)
        return super().render(scenes)

    # -- document --------------------------------------------------------------------------

    def begin_document(self, scenes: Sequence[nodes.Scene]) -> None:
        """Make every font the scenes' text uses known to fontconfig (see ``_register_font``)."""
        for scene in scenes:
            fonts = metrics(scene.font)
            for face in fonts.primary.values():
                _register_font(face.path)
            for node in scene.root.walk():
                if isinstance(node, nodes.Text) and node.runs is not None:
                    for _, font_id in node.runs:
                        _register_font(fonts.face(font_id).path)

    def begin_page(self, scene: nodes.Scene, number: int) -> None:
        import cairocffi as cairo

        scale = self.dpi / 72
        # The page rounded to whole pixels, as cairosvg sizes it: both engines agree.
        width = max(1, round(scene.width * scale))
        height = max(1, round(scene.height * scale))
        self._surface = cairo.ImageSurface(cairo.FORMAT_ARGB32, width, height)
        self._ctx = cairo.Context(self._surface)
        # Glyph advances as the font defines them (not rounded to pixels), so text spans the
        # width the layout measured.
        options = cairo.FontOptions()
        options.set_hint_metrics(cairo.HINT_METRICS_OFF)
        self._ctx.set_font_options(options)
        self._font = None
        self._fonts = metrics(scene.font)
        self._opaque = scene.background is not None
        if scene.background is not None:
            # White first, so a translucent background still gives an opaque page.
            self._ctx.set_source_rgb(1, 1, 1)
            self._ctx.paint()
            self._ctx.set_source_rgba(*scene.background)
            self._ctx.paint()
        self._ctx.scale(scale, scale)

    def end_page(self, scene: nodes.Scene) -> None:
        self._ctx = None

    def end_document(self) -> bytes:
        surface, self._surface = self._surface, None
        return _encode_surface(surface, self._opaque)

    def push_group(self, group: nodes.Group) -> None:
        import cairocffi as cairo

        self._ctx.save()
        if group.transform is not None:
            self._ctx.transform(cairo.Matrix(*group.transform))

    def pop_group(self, group: nodes.Group) -> None:
        self._ctx.restore()
        self._font = None  # restore() also restores the font the group may have changed

    # -- primitives ----------------------------------------------------------------------

    def _paint(self, fill: nodes.RGBA | None, stroke: nodes.RGBA | None, width: float) -> None:
        """Fill and/or stroke the current path, then clear it."""
        ctx = self._ctx
        if fill is not None:
            ctx.set_source_rgba(*fill)
            ctx.fill_preserve()
        if stroke is not None and width > 0:
            ctx.set_source_rgba(*stroke)
            ctx.set_line_width(width)
            ctx.stroke_preserve()
        ctx.new_path()

    def draw_rect(self, rect: nodes.Rect) -> None:
        ctx = self._ctx
        r = min(rect.radius, rect.width / 2, rect.height / 2)
        if r > 0:
            x0, y0 = rect.x, rect.y
            x1, y1 = x0 + rect.width, y0 + rect.height
            ctx.new_sub_path()
            ctx.arc(x1 - r, y0 + r, r, -math.pi / 2, 0)
            ctx.arc(x1 - r, y1 - r, r, 0, math.pi / 2)
            ctx.arc(x0 + r, y1 - r, r, math.pi / 2, math.pi)
            ctx.arc(x0 + r, y0 + r, r, math.pi, 3 * math.pi / 2)
            ctx.close_path()
        else:
            ctx.rectangle(rect.x, rect.y, rect.width, rect.height)
        self._paint(rect.fill, rect.stroke, rect.stroke_width)

    def draw_line(self, line: nodes.Line) -> None:
        self._ctx.move_to(line.x0, line.y0)
        self._ctx.line_to(line.x1, line.y1)
        self._paint(None, line.stroke, line.width)

    def draw_polyline(self, polyline: nodes.Polyline) -> None:
        import cairocffi as cairo

        ctx = self._ctx
        points = polyline.points.tolist()
        if not points:
            return
        ctx.move_to(*points[0])
        for x, y in points[1:]:
            ctx.line_to(x, y)
        ctx.save()
        ctx.set_line_join(cairo.LINE_JOIN_ROUND)
        ctx.set_line_cap(cairo.LINE_CAP_ROUND)
        self._paint(None, polyline.stroke, polyline.width)
        ctx.restore()

    def draw_circle(self, circle: nodes.Circle) -> None:
        import cairocffi as cairo

        ctx = self._ctx
        ctx.arc(circle.cx, circle.cy, circle.r, 0, 2 * math.pi)
        fill = circle.fill
        if isinstance(fill, nodes.RadialGradient):
            gradient = cairo.RadialGradient(circle.cx, circle.cy, 0, circle.cx, circle.cy, circle.r)
            for offset, color in fill.stops:
                gradient.add_color_stop_rgba(offset, *color)
            ctx.set_source(gradient)
            ctx.fill_preserve()
            fill = None
        self._paint(fill, circle.stroke, circle.stroke_width)

    def draw_text(self, text: nodes.Text) -> None:
        import cairocffi as cairo

        ctx = self._ctx
        ctx.set_source_rgba(*text.fill)
        if text.glyphs is not None:  # shaped text: the glyph outlines, as every backend
            draw = {"M": ctx.move_to, "L": ctx.line_to, "C": ctx.curve_to, "Z": ctx.close_path}
            for op in self._fonts.text_path(text):
                draw[op[0]](*op[1:])
            ctx.fill()
            return
        ctx.set_font_size(text.size)
        ctx.move_to(text.left, text.y)
        # Each run is drawn where the previous one ended.
        fonts = self._fonts
        for part, font_id in text.runs or ((text.text, fonts.primary_id(text.bold)),):
            family = fonts.face(font_id).family
            if self._font != (family, text.bold):
                weight = cairo.FONT_WEIGHT_BOLD if text.bold else cairo.FONT_WEIGHT_NORMAL
                ctx.select_font_face(family, cairo.FONT_SLANT_NORMAL, weight)
                self._font = (family, text.bold)
            ctx.show_text(part)
        ctx.new_path()

    def draw_image(self, image: nodes.Image) -> None:
        import cairocffi as cairo

        height, width = image.indices.shape
        # The palette as premultiplied native-endian ARGB words, then one lookup per pixel.
        palette = np.asarray(image.palette, dtype=np.uint32)
        alpha = palette[:, 3]
        premultiplied = (palette[:, :3] * alpha[:, None] + 127) // 255
        words = (alpha << 24) | (premultiplied[:, 0] << 16) | (premultiplied[:, 1] << 8)
        words |= premultiplied[:, 2]
        pixels = np.ascontiguousarray(words[image.indices], dtype=np.uint32)
        stride = cairo.ImageSurface.format_stride_for_width(cairo.FORMAT_ARGB32, width)
        assert stride == width * 4  # ARGB32 rows need no padding
        source = cairo.ImageSurface.create_for_data(
            pixels.view(np.uint8), cairo.FORMAT_ARGB32, width, height, stride
        )
        ctx = self._ctx
        ctx.save()
        ctx.translate(image.x, image.y)
        ctx.scale(image.width / width, image.height / height)
        ctx.set_source_surface(source, 0, 0)
        # Nearest-pixel sampling and no extension: the image's edges snap to whole device
        # pixels instead of blending with what lies below.
        ctx.get_source().set_filter(cairo.FILTER_NEAREST)
        ctx.paint()
        ctx.restore()
