"""IzzyViz: publication-grade heatmaps of transformer attention, as vector PDF, SVG and PNG.

>>> import numpy as np, izzyviz
>>> fig = izzyviz.heatmap(np.eye(3), ["a", "b", "c"], ["a", "b", "c"])
>>> path = fig.save("attention.svg")  # doctest: +SKIP

Public names are imported on first use, so ``import izzyviz`` stays fast and never loads torch,
transformers, matplotlib, ReportLab or cairosvg.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.2.0"

_EXPORTS: dict[str, str] = {
    "heatmap": "izzyviz.plot",
    "Figure": "izzyviz.figure",
    "ColorScale": "izzyviz.colors",
    "DEFAULT_SPECIAL_TOKENS": "izzyviz.text",
    "Renderer": "izzyviz.render",
    "register_backend": "izzyviz.render",
    "available_backends": "izzyviz.render",
}

__all__ = [
    "DEFAULT_SPECIAL_TOKENS",
    "ColorScale",
    "Figure",
    "Renderer",
    "available_backends",
    "heatmap",
    "register_backend",
]

if TYPE_CHECKING:
    from izzyviz.colors import ColorScale
    from izzyviz.figure import Figure
    from izzyviz.plot import heatmap
    from izzyviz.render import Renderer, available_backends, register_backend
    from izzyviz.text import DEFAULT_SPECIAL_TOKENS


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'izzyviz' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
