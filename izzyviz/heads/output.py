"""Writing several pages: one PDF, or one SVG or PNG file per page in a folder, every page or
none."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from izzyviz._io import atomic_files, write_atomic
from izzyviz._validate import (
    check_positive,
    describe,
)
from izzyviz.figure import Figure
from izzyviz.scene import (
    Scene,
)

__all__ = ["check_output", "write_files", "write_pages"]


def _output(path: Any, format: str | None) -> tuple[Path, str | None]:
    """``(target, folder_format)``: the PDF file (format None) or the folder and its page
    format."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path: expected a file or folder path, got {describe(path)}")
    target = Path(path)
    suffix = target.suffix.lower()
    if format is not None and format not in ("svg", "png"):
        raise ValueError(
            f"format: expected 'svg' or 'png' (the format of each page in a folder), "
            f"got {describe(format)}"
        )
    if suffix == ".pdf" and not target.is_dir():
        if format is not None:
            raise ValueError(f"format: {format!r} does not apply to the PDF file {str(target)!r}")
        return target, None
    if suffix in (".svg", ".png") and not target.is_dir():
        return target.with_suffix(""), format or suffix[1:]
    if target.is_dir() or suffix == "":
        return target, format or "svg"
    raise ValueError(
        f"path: cannot tell what to write from {str(target)!r}; expected a .pdf file, "
        "a .svg or .png name (one file per page in a folder of that name) or a folder"
    )


def check_output(path: Any, format: str | None, dpi: Any) -> tuple[Path, str | None]:
    """:func:`_output`, after checking ``dpi`` and that the parent folder exists."""
    if dpi is not None:
        check_positive(dpi, "dpi")
    target, folder_format = _output(path, format)
    if dpi is not None and folder_format != "png":
        raise ValueError(f"dpi: applies to PNG pages only, got {dpi!r} for {str(path)!r}")
    if not target.parent.is_dir():
        what = repr(str(target)) if folder_format is None else f"the folder {str(target)!r}"
        raise FileNotFoundError(f"path: folder {str(target.parent)!r} does not exist (for {what})")
    return target, folder_format


def write_files(
    pages: Sequence[Scene],
    names: Sequence[str],
    target: Path,
    folder_format: str | None,
    *,
    dpi: float | None,
    title: str,
    tick: Callable[[], Any] = lambda: None,
) -> list[Path]:
    """Write ``pages`` as one PDF (``folder_format`` None) or as ``<name>.<format>`` files in the
    folder ``target``; ``tick`` is called after each page."""
    if folder_format is None:
        from izzyviz.backends.pdf import PDFRenderer

        class _Ticking(PDFRenderer):
            def end_page(self, scene: Scene) -> None:
                super().end_page(scene)
                tick()

        return [write_atomic(target, _Ticking(title=title).render(pages))]
    options: dict[str, Any] = {} if dpi is None else {"dpi": dpi}
    if folder_format == "png":  # refuse a dpi too high for any page before drawing one
        from izzyviz.backends.png import PNGRenderer, check_page_size

        check_page_size(pages, PNGRenderer(**options).dpi)
    target.mkdir(exist_ok=True)
    files: list[Path] = []
    with atomic_files() as write:  # every page or none
        for scene, name in zip(pages, names, strict=True):
            page_bytes = Figure(scene).render(folder_format, **options)
            files.append(write(target / f"{name}.{folder_format}", page_bytes))
            tick()
    return files


def write_pages(
    pages: Sequence[Scene],
    names: Sequence[str],
    path: str | os.PathLike[str],
    *,
    format: str | None = None,
    dpi: float | None = None,
    title: str = "IzzyViz",
) -> list[Path]:
    """Write several pages the way :func:`report` does.

    Parameters
    ----------
    pages
        The pages (their ``bookmarks`` become the PDF outline).
    names
        One file name (without extension) per page, for a folder.
    path, format, dpi
        A ``.pdf`` file, or a ``.svg``/``.png`` name or folder: as for :func:`report`.
    title
        The PDF's document title.

    Returns
    -------
    list of Path
        The files written.
    """
    target, folder_format = check_output(path, format, dpi)
    return write_files(pages, names, target, folder_format, dpi=dpi, title=title)
