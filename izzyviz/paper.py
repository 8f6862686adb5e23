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
import os
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

from izzyviz._validate import check_choice, check_positive, describe
from izzyviz.layout import Style
from izzyviz.text import FONT_DIRS, PACKAGE_FONTS, Font, font_path

__all__ = ["PRESETS", "READABLE_SIZE", "figure_style", "find_font", "installed_families"]

PRESETS: dict[str, tuple[float, float]] = {"column": (3.5, 8.0), "page": (7.0, 9.0)}
"""``style=`` presets as ``(width in inches, font size in points)``: one column of a two-column
paper, and the full text width."""

READABLE_SIZE = 6.0
"""The smallest text (points) a fitted figure draws: its small print (pooling notes, position
ticks) and values moved out of cells that are too small for them."""

FONT_SUFFIXES = (".ttf", ".otf", ".ttc")
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


# -- fonts ---------------------------------------------------------------------------------------


class _Face(NamedTuple):
    """One installed font: where it is, its family and whether it is bold or italic."""

    path: Path
    number: int
    family: str
    weight: int
    italic: bool


def find_font(font: Any) -> Font:
    """The :class:`~izzyviz.text.Font` that ``font`` names: a TrueType/OpenType file (``str``
    or path-like ending in .ttf, .otf or .ttc, or an existing file), whose bold face is looked
    for among the fonts next to it; or the family name of an installed font
    (:func:`installed_families`), matched without regard to case.
    """
    if isinstance(font, os.PathLike) or (
        isinstance(font, str)
        and (font.lower().endswith(FONT_SUFFIXES) or os.sep in font or Path(font).is_file())
    ):
        return _font_file(Path(os.fspath(font)).expanduser().resolve())
    if not isinstance(font, str) or not font.strip():
        raise TypeError(
            f"font: expected a font file path or an installed font's family name, "
            f"got {describe(font)}"
        )
    faces = _installed().get(font.strip().casefold())
    if not faces:
        _index.cache_clear()  # a font installed since the last look
        faces = _installed().get(font.strip().casefold())
    if not faces:
        families = installed_families()
        shown = ", ".join(families[:12]) + (
            f" and {len(families) - 12} more" if len(families) > 12 else ""
        )
        raise ValueError(
            f"font: no installed font family is named {font!r}; installed: {shown}. Give a "
            "font file's path, or name a folder of fonts in IZZYVIZ_FONT_PATH"
        )
    return _family(tuple(faces))


def installed_families() -> list[str]:
    """The family names ``font=`` accepts: the fonts in the system font folders, in the folders
    of IzzyViz's font packages (``izzyviz[cjk]``, ``izzyviz[scripts]``) and in
    ``IZZYVIZ_FONT_PATH``, sorted."""
    return sorted({faces[0].family for faces in _installed().values()}, key=str.casefold)


@lru_cache(maxsize=16)  # a report asks once per page
def _font_file(path: Path) -> Font:
    if not path.is_file():
        raise FileNotFoundError(f"font: no such font file {str(path)!r}")
    faces = _read_faces(path)
    if not faces:
        raise ValueError(
            f"font: {str(path)!r} is not a TrueType/OpenType font (fontTools cannot read it)"
        )
    regular = faces[0]
    if not _has_glyf(path, regular.number):
        raise ValueError(
            f"font: {str(path)!r} has PostScript (CFF) outlines, which cannot be embedded in "
            "the PDF; give the TrueType (.ttf) version of the font"
        )
    siblings = [
        face
        for sibling in sorted(path.parent.iterdir())
        if sibling.suffix.lower() in FONT_SUFFIXES and sibling != path
        for face in _read_faces(sibling)
        if face.family.casefold() == regular.family.casefold()
    ]
    return _family((regular, *siblings), regular)


@lru_cache(maxsize=16)
def _family(faces: tuple[_Face, ...], regular: _Face | None = None) -> Font:
    """The regular face (upright, weight nearest 400) and the bold one (upright, weight 600 or
    more, nearest 700) of one family's faces; only faces with TrueType outlines count."""
    upright = [f for f in faces if not f.italic and _has_glyf(f.path, f.number)]
    if regular is None:
        if not upright:
            raise ValueError(
                f"font: the family {faces[0].family!r} has no upright TrueType face "
                f"(found {', '.join(str(f.path) for f in faces)})"
            )
        regular = min(upright, key=lambda f: (abs(f.weight - 400), str(f.path)))
    bolds = [f for f in upright if f.weight >= 600 and f.weight > regular.weight]
    bold = min(bolds, key=lambda f: (abs(f.weight - 700), str(f.path))) if bolds else None
    return Font(
        regular.family,
        regular.path,
        bold.path if bold else None,
        regular.number,
        bold.number if bold else 0,
    )


def _read_faces(path: Path) -> list[_Face]:
    """The fonts in one file (several in a .ttc), or none when it is not a font."""
    from fontTools.ttLib import TTCollection, TTFont

    faces = []
    try:
        with open(path, "rb") as file:
            if path.suffix.lower() == ".ttc":
                count = len(TTCollection(file, lazy=True).fonts)
            else:
                count = 1
            for index in range(count):
                file.seek(0)
                font = TTFont(file, lazy=True, fontNumber=index)
                family = font["name"].getBestFamilyName() or path.stem
                os2 = font["OS/2"] if "OS/2" in font else None
                weight = getattr(os2, "usWeightClass", 400)
                italic = bool(getattr(os2, "fsSelection", 0) & 1)
                faces.append(_Face(path, index, str(family), int(weight), italic))
    except Exception:  # fontTools fails in many ways on a file that is not a font
        return []
    return faces


def _has_glyf(path: Path, index: int) -> bool:
    from fontTools.ttLib import TTFont

    with TTFont(str(path), lazy=True, fontNumber=index) as font:
        return "glyf" in font


def _installed() -> dict[str, list[_Face]]:
    return _index(os.environ.get("IZZYVIZ_FONT_PATH", ""))


@lru_cache(maxsize=4)
def _index(env: str) -> dict[str, list[_Face]]:
    """Installed faces by case-folded family name (read once per ``IZZYVIZ_FONT_PATH``)."""
    import importlib.util

    folders = [font_path().parent]
    folders += [Path(entry).expanduser() for entry in filter(None, env.split(os.pathsep))]
    for module in dict.fromkeys(module for module, _ in PACKAGE_FONTS):
        spec = importlib.util.find_spec(module)
        folders += [Path(f) for f in (spec.submodule_search_locations or [])] if spec else []
    folders += [Path(folder).expanduser() for folder in FONT_DIRS]
    files: list[Path] = []
    for folder in folders:
        if folder.is_file():
            files.append(folder)
        elif folder.is_dir():
            files += sorted(p for p in folder.rglob("*") if p.suffix.lower() in FONT_SUFFIXES)
    by_family: dict[str, list[_Face]] = {}
    for file in dict.fromkeys(files):
        for face in _read_faces(file):
            by_family.setdefault(face.family.casefold(), []).append(face)
    return by_family
