"""Where fonts are found: the family names ``font=`` accepts, and the fallback fonts tried, in
order, for characters a figure's font lacks.

Both look in the same places: the bundled fonts, files and folders named in ``IZZYVIZ_FONT_PATH``,
the fonts of IzzyViz's font packages from PyPI (:data:`PACKAGE_FONTS`, found where pip put them
without importing them), and the usual system font folders (:data:`FONT_DIRS`).
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

from izzyviz._validate import describe
from izzyviz.fontfile import CONTROL_FONT_FILE, FontFace, font_path
from izzyviz.scene import Font

__all__ = [
    "FALLBACK_FONT_FILES",
    "FONT_DIRS",
    "FONT_SUFFIXES",
    "PACKAGE_FONTS",
    "fallback_faces",
    "fallback_font_paths",
    "find_font",
    "installed_families",
]

FONT_SUFFIXES = (".ttf", ".otf", ".ttc")

_NOTO_SCRIPTS = (
    "Armenian Bengali Devanagari Ethiopic Georgian Gujarati Gurmukhi Kannada Khmer Lao "
    "Malayalam Myanmar Oriya Sinhala Tamil Telugu Thai"
).split()

PACKAGE_FONTS = (
    ("paperang_p2_fonts_cjk", "fonts/wqy-microhei.ttc"),  # izzyviz[cjk]: CJK and Hangul
    ("manimgx_fonts", "NotoEmoji[wght].ttf"),  # izzyviz[scripts]: emoji, symbols, scripts
    ("manimgx_fonts", "NotoSansSymbols[wght].ttf"),
    *(("manimgx_fonts", f"NotoSans{script}[wght].ttf") for script in _NOTO_SCRIPTS),
)
"""Fallback fonts that come from PyPI packages (the ``cjk`` and ``scripts`` extras), as
``(module, file inside it)``: found where pip installed them, without importing them. All
have TrueType outlines."""

# Fallback fonts tried, in order, for characters the bundled DejaVu fonts lack. Only fonts with
# TrueType outlines qualify: ReportLab cannot embed CFF (PostScript-outline) fonts.
FALLBACK_FONT_FILES = (
    "DroidSansFallbackFull.ttf",  # CJK (Debian: fonts-droid-fallback)
    "DroidSansFallback.ttf",
    "wqy-zenhei.ttc",  # CJK (fonts-wqy-zenhei)
    "wqy-microhei.ttc",
    "Symbola.ttf",  # emoji and symbols (fonts-symbola)
    "Symbola_hint.ttf",
    "NotoSansSymbols2-Regular.ttf",
    "NotoEmoji-Regular.ttf",
    "unifont.ttf",
)
FONT_DIRS = (
    "/usr/share/fonts",
    "/usr/local/share/fonts",
    "~/.local/share/fonts",
    "~/.fonts",
    "/Library/Fonts",
    "/System/Library/Fonts",
    "C:/Windows/Fonts",
)


def _package_fonts() -> list[Path]:
    """The :data:`PACKAGE_FONTS` files that are installed."""
    import importlib.util

    found: list[Path] = []
    for module, name in PACKAGE_FONTS:
        spec = importlib.util.find_spec(module)
        for folder in (spec.submodule_search_locations or []) if spec else []:
            path = Path(folder) / name
            if path.is_file():
                found.append(path)
                break
    return found


def _system_fonts() -> list[Path]:
    """The :data:`FALLBACK_FONT_FILES` found in the usual system font folders."""
    by_name: dict[str, Path] = {}
    for folder in FONT_DIRS:
        root = Path(folder).expanduser()
        if root.is_dir():
            for name in FALLBACK_FONT_FILES:
                if name not in by_name:
                    hit = next(iter(sorted(root.rglob(name))), None)
                    if hit is not None:
                        by_name[name] = hit
    return [by_name[name] for name in FALLBACK_FONT_FILES if name in by_name]


def fallback_font_paths() -> list[Path]:
    """Font files to try, in order, for characters the bundled fonts lack: the bundled
    control-pictures font; those named in the ``IZZYVIZ_FONT_PATH`` environment variable
    (files or folders, separated by ``os.pathsep``); fonts from PyPI packages
    (:data:`PACKAGE_FONTS`, e.g. ``pip install "izzyviz[cjk]"``); then
    :data:`FALLBACK_FONT_FILES` found in the usual system font folders."""
    import os

    found = [font_path().parent / CONTROL_FONT_FILE]
    for entry in filter(None, os.environ.get("IZZYVIZ_FONT_PATH", "").split(os.pathsep)):
        path = Path(entry).expanduser()
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.suffix.lower() in (".ttf", ".ttc")))
        elif path.is_file():
            found.append(path)
    return found + _package_fonts() + _system_fonts()


def fallback_faces() -> list[FontFace]:
    """The fallback fonts (:func:`fallback_font_paths`) that can be used, read once per value of
    ``IZZYVIZ_FONT_PATH``."""
    return list(_fallback_faces(os.environ.get("IZZYVIZ_FONT_PATH", "")))


@lru_cache(maxsize=4)
def _fallback_faces(env: str) -> tuple[FontFace, ...]:
    return tuple(FontFace.read(path) for path in fallback_font_paths() if _has_outlines(path))


def _has_outlines(path: Path) -> bool:
    from fontTools.ttLib import TTFont

    try:
        with TTFont(str(path), lazy=True, fontNumber=0) as font:
            return "glyf" in font
    except Exception:  # a broken or unsupported file is simply not a fallback
        return False


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
