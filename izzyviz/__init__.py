"""IzzyViz: publication-grade heatmaps of transformer attention, as vector PDF, SVG and PNG.

>>> import numpy as np, izzyviz
>>> fig = izzyviz.heatmap(np.eye(3), ["a", "b", "c"], ["a", "b", "c"])
>>> path = fig.save("attention.svg")  # doctest: +SKIP

A matrix takes one road, each stage in its own module and entered once, never calling back::

    the door      source.as_source       Matrix: checked, kept as it came (memmap, tensor, mask)
    summary       summary.summarize      MatrixSummary: read once in row blocks: range, top
                                         cells, values pooled into the display pixels
    colour        summary.paint          CellImage: those values as palette indices of a
                  (colors.ColorScale)    ColorScale (normalisation + colormap)
    layout        layout.heatmap_panel   Panel: cells, labels, marks, colour bar, titles, as
                                         scene nodes (layout.fitted_style fits a paper's width)
    scene         layout.page            Scene: frozen dataclasses in points (scene.py)
    backends      Figure.save            bytes of a PDF, SVG or PNG (render.py, backends/)

:class:`izzyviz.job.HeatmapJob` runs the stages for one panel; the seed functions
(``visualization``), the analysis views (``views``) and the head overview and report
(``heads``) are modes of it: data, not copies. Model-facing code (``capturing``, ``stats``,
``headstats``) hands plain arrays to the door and never reaches below it.

Public names are imported on first use, so ``import izzyviz`` stays fast and never loads torch,
transformers, matplotlib, ReportLab or cairosvg.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from typing import TYPE_CHECKING, Any

__version__ = "0.2.0"


def _use_checkout_backends() -> None:
    """Map ``izzyviz.backends`` to the checkout's ``backends/`` folder when running from source.

    An installed izzyviz carries ``izzyviz/backends/`` (setuptools' ``package-dir`` mapping). From a
    clone (no install, or Python started in the repository root so the source ``izzyviz/`` shadows
    the installed copy) the backends sit beside the package, and only this mapping finds them.
    """
    package_dir = os.path.dirname(os.path.abspath(__file__))
    if os.path.isdir(os.path.join(package_dir, "backends")) or "izzyviz.backends" in sys.modules:
        return
    folder = os.path.join(os.path.dirname(package_dir), "backends")
    init = os.path.join(folder, "__init__.py")
    if not os.path.isfile(init):
        return
    spec = importlib.util.spec_from_file_location(
        "izzyviz.backends", init, submodule_search_locations=[folder]
    )
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    sys.modules["izzyviz.backends"] = module
    spec.loader.exec_module(module)


_use_checkout_backends()

_EXPORTS: dict[str, str] = {
    "heatmap": "izzyviz.plot",
    "explore": "izzyviz.explorer",
    "Explorer": "izzyviz.explorer",
    "overview": "izzyviz.heads",
    "report": "izzyviz.heads",
    "visualize_attention_encoder_only": "izzyviz.visualization",
    "visualize_attention_decoder_only": "izzyviz.visualization",
    "visualize_attention_encoder_decoder": "izzyviz.visualization",
    "select_attention": "izzyviz.inputs",
    "stack_attentions": "izzyviz.inputs",
    "display_tokens": "izzyviz.inputs",
    "load_sample": "izzyviz.inputs",
    "cross_attention_from_generate": "izzyviz.generation",
    "decoder_self_attention_from_generate": "izzyviz.generation",
    "capture": "izzyviz.capturing",
    "aggregate": "izzyviz.aggregation",
    "attention_rollout": "izzyviz.aggregation",
    "merge_subwords": "izzyviz.aggregation",
    "head_scores": "izzyviz.aggregation",
    "rank_heads": "izzyviz.aggregation",
    "head_statistics": "izzyviz.stats",
    "HeadStatistics": "izzyviz.headstats",
    "find_attention_regions_with_merging": "izzyviz.regions",
    "compare_two_attentions_with_circles": "izzyviz.views",
    "check_stability_heatmap_with_gradient_color": "izzyviz.views",
    "visualize_attention_evolution_sparklines": "izzyviz.views",
    "visualize_attention_with_detected_regions": "izzyviz.views",
    "Figure": "izzyviz.figure",
    "figure_style": "izzyviz.paper",
    "PRESETS": "izzyviz.paper",
    "ColorScale": "izzyviz.colors",
    "DEFAULT_SPECIAL_TOKENS": "izzyviz.text",
    "Renderer": "izzyviz.render",
    "register_backend": "izzyviz.render",
    "available_backends": "izzyviz.render",
}

__all__ = [
    "DEFAULT_SPECIAL_TOKENS",
    "PRESETS",
    "ColorScale",
    "Explorer",
    "Figure",
    "HeadStatistics",
    "Renderer",
    "aggregate",
    "attention_rollout",
    "available_backends",
    "capture",
    "check_stability_heatmap_with_gradient_color",
    "compare_two_attentions_with_circles",
    "cross_attention_from_generate",
    "decoder_self_attention_from_generate",
    "display_tokens",
    "explore",
    "figure_style",
    "find_attention_regions_with_merging",
    "head_scores",
    "head_statistics",
    "heatmap",
    "load_sample",
    "merge_subwords",
    "overview",
    "rank_heads",
    "register_backend",
    "report",
    "select_attention",
    "stack_attentions",
    "visualize_attention_decoder_only",
    "visualize_attention_encoder_decoder",
    "visualize_attention_encoder_only",
    "visualize_attention_evolution_sparklines",
    "visualize_attention_with_detected_regions",
]

if TYPE_CHECKING:
    from izzyviz.aggregation import (
        aggregate,
        attention_rollout,
        head_scores,
        merge_subwords,
        rank_heads,
    )
    from izzyviz.capturing import capture
    from izzyviz.colors import ColorScale
    from izzyviz.explorer import Explorer, explore
    from izzyviz.figure import Figure
    from izzyviz.generation import (
        cross_attention_from_generate,
        decoder_self_attention_from_generate,
    )
    from izzyviz.heads import overview, report
    from izzyviz.headstats import HeadStatistics
    from izzyviz.inputs import display_tokens, load_sample, select_attention, stack_attentions
    from izzyviz.paper import PRESETS, figure_style
    from izzyviz.plot import heatmap
    from izzyviz.regions import find_attention_regions_with_merging
    from izzyviz.render import Renderer, available_backends, register_backend
    from izzyviz.stats import head_statistics
    from izzyviz.text import DEFAULT_SPECIAL_TOKENS
    from izzyviz.views import (
        check_stability_heatmap_with_gradient_color,
        compare_two_attentions_with_circles,
        visualize_attention_evolution_sparklines,
        visualize_attention_with_detected_regions,
    )
    from izzyviz.visualization import (
        visualize_attention_decoder_only,
        visualize_attention_encoder_decoder,
        visualize_attention_encoder_only,
    )


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'izzyviz' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
