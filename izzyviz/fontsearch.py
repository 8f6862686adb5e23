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
from izzyviz.fontfile import (
    FontFace,
    control_font_path,
    fallback_face,
    font_path,
    font_problem,
)
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

# Fallback fonts tried, in order, for characters the bundled DejaVu fonts lack. Only fonts
# :func:`font_problem` passes qualify: e.g. ReportLab cannot embed CFF (PostScript-outline) fonts.
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


def _env_entries(env: str) -> list[Path]:
    """The files and folders named in an ``IZZYVIZ_FONT_PATH`` value."""
    return [Path(entry).expanduser() for entry in filter(None, env.split(os.pathsep))]


def _package_folders(module: str) -> list[Path]:
    """The folders of an installed package, found without importing it (none if absent)."""
    import importlib.util

    spec = importlib.util.find_spec(module)
    return [Path(f) for f in (spec.submodule_search_locations or [])] if spec else []


def _package_fonts() -> list[Path]:
    """The :data:`PACKAGE_FONTS` files that are installed."""
    found: list[Path] = []
    for module, name in PACKAGE_FONTS:
        found += [f / name for f in _package_folders(module) if (f / name).is_file()][:1]
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


def _env_fonts(env: str) -> list[Path]:
    """The font files ``IZZYVIZ_FONT_PATH`` names: files as they are, folders' TrueType files."""
    found: list[Path] = []
    for path in _env_entries(env):
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.suffix.lower() in (".ttf", ".ttc")))
        elif path.is_file():
            found.append(path)
    return found


def fallback_font_paths(env: str | None = None) -> list[Path]:
    """Font files to try, in order, for characters the bundled fonts lack: the bundled
    control-pictures font; those named in the ``IZZYVIZ_FONT_PATH`` environment variable
    (files or folders, separated by ``os.pathsep``); fonts from PyPI packages
    (:data:`PACKAGE_FONTS`, e.g. ``pip install "izzyviz[cjk]"``); then
    :data:`FALLBACK_FONT_FILES` found in the usual system font folders. ``env``: a value of
    ``IZZYVIZ_FONT_PATH`` to use instead of the environment's."""
    named = _env_fonts(os.environ.get("IZZYVIZ_FONT_PATH", "") if env is None else env)
    return [control_font_path(), *named, *_package_fonts(), *_system_fonts()]


def fallback_faces() -> list[FontFace]:
    """The fallback fonts (:func:`fallback_font_paths`) that can be used (see
    :func:`~izzyviz.fontfile.font_problem`), read once per value of ``IZZYVIZ_FONT_PATH``. A
    file named there that cannot be used is skipped with a warning naming it."""
    return list(_fallback_faces(os.environ.get("IZZYVIZ_FONT_PATH", "")))


@lru_cache(maxsize=4)
def _fallback_faces(env: str) -> tuple[FontFace, ...]:
    named = set(_env_fonts(env))
    faces = []
    for path in fallback_font_paths(env):
        problem = font_problem(path)
        if problem is None:
            faces.append(fallback_face(path))
        elif path in named:
            import warnings

            warnings.warn(
                f"izzyviz: IZZYVIZ_FONT_PATH: {str(path)!r} {problem}; it is skipped",
                UserWarning,
                stacklevel=2,
            )
    return tuple(faces)


# -- fonts chosen with font= -----------------------------------------------------------------


class _Face(NamedTuple):
    """One installed font: where it is, its family and whether it is bold or italic."""

    path: Path
    number: int
    family: str
    weight: int
    italic: bool

    @property
    def problem(self) -> str | None:
        """Why this face cannot be used, or None (see :func:`font_problem`)."""
        return font_problem(self.path, self.number)


def find_font(font: Any) -> Font:
    """The :class:`~izzyviz.scene.Font` that ``font`` names: a TrueType/OpenType file (``str``
    or path-like ending in .ttf, .otf or .ttc, or an existing file), whose bold face is looked
    for in the file itself (a .ttc collection) and among the fonts next to it; or the family
    name of an installed font (:func:`installed_families`), matched without regard to case.

    Raises
    ------
    ValueError
        The file, or every face of the family, cannot be used (see
        :func:`~izzyviz.fontfile.font_problem`); one line names the file and why.
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


def _nearest(weight: int) -> Any:
    return lambda face: (abs(face.weight - weight), str(face.path), face.number)


@lru_cache(maxsize=16)  # a report asks once per page
def _font_file(path: Path) -> Font:
    """The font a file names: its upright face nearest the regular weight (its only face, for
    most files), with a bold face from the same collection or a sibling file of the family."""
    if not path.is_file():
        raise FileNotFoundError(f"font: no such font file {str(path)!r}")
    faces = _read_faces(path)
    usable = [face for face in faces if face.problem is None]
    if not usable:
        raise ValueError(f"font: {str(path)!r} {font_problem(path, 0)}")
    regular = min([f for f in usable if not f.italic] or usable, key=_nearest(400))
    siblings = [
        face
        for sibling in sorted(path.parent.iterdir())
        if sibling.suffix.lower() in FONT_SUFFIXES and sibling != path
        for face in _read_faces(sibling)
        if face.family.casefold() == regular.family.casefold()
    ]
    return _family((*faces, *siblings), regular)


@lru_cache(maxsize=16)
def _family(faces: tuple[_Face, ...], regular: _Face | None = None) -> Font:
    """The regular face (upright, weight nearest 400) and the bold one (upright, weight 600 or
    more, nearest 700) of one family's faces; only faces that can be used count."""
    upright = [f for f in faces if not f.italic and f.problem is None]
    if regular is None:
        if not upright:
            broken = next((f for f in faces if f.problem is not None), None)
            if broken is not None:
                raise ValueError(
                    f"font: no face of the family {faces[0].family!r} can be used: "
                    f"{str(broken.path)!r} {broken.problem}"
                )
            raise ValueError(
                f"font: the family {faces[0].family!r} has no upright face "
                f"(found {', '.join(str(f.path) for f in faces)})"
            )
        regular = min(upright, key=_nearest(400))
    bolds = [f for f in upright if f.weight >= 600 and f.weight > regular.weight]
    bold = min(bolds, key=_nearest(700)) if bolds else None
    return Font(
        regular.family,
        regular.path,
        bold.path if bold else None,
        regular.number,
        bold.number if bold else 0,
    )


def _read_faces(path: Path) -> list[_Face]:
    """The fonts in one file (several in a .ttc collection), or none when it is not a font."""
    from fontTools.ttLib import TTCollection, TTFont

    faces = []
    try:
        with open(path, "rb") as file:
            count = len(TTCollection(file, lazy=True).fonts) if file.read(4) == b"ttcf" else 1
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


def _installed() -> dict[str, list[_Face]]:
    return _index(os.environ.get("IZZYVIZ_FONT_PATH", ""))


@lru_cache(maxsize=4)
def _index(env: str) -> dict[str, list[_Face]]:
    """Installed faces by case-folded family name (read once per ``IZZYVIZ_FONT_PATH``)."""
    folders = [font_path().parent, *_env_entries(env)]
    for module in dict.fromkeys(module for module, _ in PACKAGE_FONTS):
        folders += _package_folders(module)
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
