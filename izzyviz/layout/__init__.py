"""The layout stage: pure functions from a summarised, painted matrix and its labels to a scene.

Every heatmap IzzyViz draws goes through :func:`heatmap_panel`: a :class:`HeatmapSpec` says what
to draw (the matrix's summary and colours, its labels, the colour scale, which regions to box,
what else to put in the cells) and the panel comes back as a group of scene nodes with its
bounds. :func:`fitted_style` fits a panel to a paper's page width; :func:`page` stacks panels
on a page. The parts of a panel live in their own modules: :mod:`~izzyviz.layout.geometry`
(cell sizes, pixels, label thinning), :mod:`~izzyviz.layout.axes` (labels, position ticks),
:mod:`~izzyviz.layout.marks` (values, callouts, regions, legend),
:mod:`~izzyviz.layout.colorbar` and :mod:`~izzyviz.layout.texts` (titles). Nothing here reads a
matrix or imports a backend.
"""

from izzyviz.layout.colorbar import colorbar
from izzyviz.layout.geometry import display_bounds
from izzyviz.layout.panel import MIN_MAP_WIDTH, TooNarrow, fitted_style, heatmap_panel, page
from izzyviz.layout.spec import CellLayout, HeatmapSpec, LegendEntry, Overlay, Panel
from izzyviz.layout.style import HIGHLIGHT, Region, Style
from izzyviz.layout.texts import fit_text, text_node

__all__ = [
    "HIGHLIGHT",
    "MIN_MAP_WIDTH",
    "CellLayout",
    "HeatmapSpec",
    "LegendEntry",
    "Overlay",
    "Panel",
    "Region",
    "Style",
    "TooNarrow",
    "colorbar",
    "display_bounds",
    "fit_text",
    "fitted_style",
    "heatmap_panel",
    "page",
    "text_node",
]
