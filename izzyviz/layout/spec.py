"""What the layout is given and what it gives back: the :class:`HeatmapSpec` of a panel (its
summarised, painted matrix, labels and marks) and the laid-out :class:`Panel`."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from izzyviz.colors import ColorScale
from izzyviz.layout.style import REGION_RED, WHITE, Region
from izzyviz.scene import RGBA, Group, Node
from izzyviz.summary import CellImage, MatrixSummary

__all__ = ["CellLayout", "HeatmapSpec", "LegendEntry", "Overlay", "Panel"]


@dataclass(frozen=True, slots=True, eq=False)
class CellLayout:
    """Where the cells of a heatmap ended up: handed to overlays that draw inside cells."""

    x_edges: NDArray[np.float64]
    y_edges: NDArray[np.float64]
    shape: tuple[int, int]
    scale: ColorScale
    top_rows: NDArray[np.intp]
    top_cols: NDArray[np.intp]
    top_values: NDArray[np.float64]

    @property
    def top_mask(self) -> NDArray[np.bool_]:
        """Boolean mask of the top cells."""
        mask = np.zeros(self.shape, dtype=bool)
        mask[self.top_rows, self.top_cols] = True
        return mask

    @property
    def centers(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Cell centres along x (per column) and y (per row)."""
        return (self.x_edges[:-1] + self.x_edges[1:]) / 2, (
            self.y_edges[:-1] + self.y_edges[1:]
        ) / 2

    @property
    def sizes(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Cell widths (per column) and heights (per row)."""
        return np.diff(self.x_edges), np.diff(self.y_edges)


Overlay = Callable[[CellLayout], Sequence[Node]]


@dataclass(frozen=True, slots=True)
class LegendEntry:
    """One legend row and its label: a short sample of a line (colour, width in points), or a
    ``mark`` (e.g. a circle: ``mark(x, y, radius)`` draws it centred on ``(x, y)``), drawn over
    a swatch of the background it appears on."""

    label: str
    line: RGBA = (0.0, 0.0, 0.0, 0.0)
    width: float = 1.0
    swatch: RGBA = WHITE
    mark: Callable[[float, float, float], Node] | None = None


@dataclass(frozen=True, slots=True, eq=False)
class HeatmapSpec:
    """Everything one heatmap panel shows. Modes of the public API differ only in this data.

    Parameters
    ----------
    summary
        The matrix as the summary stage read it (:func:`izzyviz.summary.summarize`): its shape,
        range, top cells and the values of its display pixels. Rows attend, columns are
        attended to.
    image
        Those values in colours (:func:`izzyviz.summary.paint`): one palette index per display
        pixel, or per cell with ``full_resolution``.
    x_labels, y_labels
        Column and row labels, already in display form.
    scale
        The colour scale (shared between panels of one figure).
    enlarged_size
        Rows and columns holding a top cell are this many times the normal size.
    regions
        Inclusive ``(row0, col0, row1, col1)`` cell ranges boxed in ``region_color``.
    overlay
        Called with the final :class:`CellLayout`; its nodes are drawn over the cells.
    cells
        ``"vector"``, ``"image"`` or ``"auto"`` (vector up to ``Style.vector_cell_limit`` cells).
    gap, gap_color
        Width and colour of the lines between cells; by default thin white lines that fade
        out as cells shrink.
    full_resolution
        ``image`` has one pixel per cell however many there are (no pooling note).
    legend
        Rows of a legend drawn below the colour bar.
    """

    summary: MatrixSummary
    image: CellImage
    x_labels: Sequence[str]
    y_labels: Sequence[str]
    scale: ColorScale
    enlarged_size: float = 1.8
    title: str | None = None
    xlabel: str | None = "Tokens Attended to"
    ylabel: str | None = "Tokens Attending"
    regions: Sequence[Region] = ()
    region_color: RGBA = REGION_RED
    region_width: float = 2.0
    special_tokens: Iterable[str] | None = None
    show_values: bool | Literal["all"] = True
    overlay: Overlay | None = None
    cells: Literal["auto", "vector", "image"] = "auto"
    colorbar: bool = True
    gap: float | None = None
    gap_color: RGBA = WHITE
    legend: Sequence[LegendEntry] = ()
    role: str = "panel"
    full_resolution: bool = False


@dataclass(frozen=True, slots=True)
class Panel:
    """A laid-out heatmap: its nodes (heatmap top-left at the origin) and their bounding box."""

    group: Group
    bounds: tuple[float, float, float, float]
    cells: CellLayout = field(repr=False)
