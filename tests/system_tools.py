"""System programs some tests drive (poppler, Chromium, qpdf, Ghostscript), found or skipped.

A fresh machine has none of them; CI installs them (``.ci/run``), so the tests that need them run
there and skip elsewhere with the program's name and the Debian package that provides it.
"""

from __future__ import annotations

import shutil

import pytest

#: Program -> the Debian package that provides it.
PACKAGES = {
    "pdftoppm": "poppler-utils",
    "pdftotext": "poppler-utils",
    "pdffonts": "poppler-utils",
    "pdfinfo": "poppler-utils",
    "chromium": "chromium",
    "qpdf": "qpdf",
    "gs": "ghostscript",
}


def find(name: str) -> str | None:
    """The path of program ``name`` (Chromium under any of its usual names), or None."""
    names = (
        ("chromium", "chromium-browser", "google-chrome", "chrome")
        if name == "chromium"
        else (name,)
    )
    for candidate in names:
        path = shutil.which(candidate)
        if path is not None:
            return path
    return None


def require(name: str) -> str:
    """The path of program ``name``; the calling test is skipped, naming it, when it is absent."""
    path = find(name)
    if path is None:
        package = PACKAGES.get(name, name)
        pytest.skip(f"{name} is not installed (Debian: apt-get install {package})")
    return path
