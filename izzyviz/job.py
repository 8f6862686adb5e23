"""The one road of a matrix to a laid-out panel, for every figure function::

    matrix ─ source.as_source ─▶ Matrix            (checked once, kept as it came)
           ─ summary.summarize ─▶ MatrixSummary    (read once: range, top cells, pixels)
           ─ summary.paint ─────▶ CellImage        (the shown values in the scale's colours)
           ─ layout ────────────▶ Panel ─ page ─▶ Scene ─ Figure ─ backends ─▶ file

:class:`HeatmapJob` holds a matrix and its options once checked; :meth:`HeatmapJob.panel` runs
the road for one :class:`~izzyviz.layout.Style` (a PNG at another dpi asks again).
:func:`izzyviz.heatmap` takes it with one panel; the seed functions, the analysis views and the
explorer take it with theirs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from izzyviz._validate import (
    check_bool,
    check_choice,
    check_labels,
    check_nonnegative_int,
    check_optional_text,
    check_positive,
    check_regions,
    check_show_values,
    check_special_tokens,
)
from izzyviz.colors import ColorScale, ScaleRequest, parse_color
from izzyviz.layout import (
    HeatmapSpec,
    Panel,
    Style,
    display_bounds,
    fitted_style,
    heatmap_panel,
)
from izzyviz.layout.colorbar import scientific
from izzyviz.source import Matrix
from izzyviz.summary import POOL_RULES, MatrixSummary, Pool, paint, summarize

__all__ = ["CELL_MODES", "HeatmapJob"]

CELL_MODES = ("auto", "vector", "image")


@dataclass(frozen=True, slots=True, eq=False)
class HeatmapJob:
    """A matrix and the options of its panel, checked once: :meth:`panel` summarises, paints
    and lays it out for a style. Build it with :meth:`of`."""

    source: Matrix
    name: str
    top_n: int
    pool: Pool
    full_resolution: bool
    scale: ColorScale | None
    request: ScaleRequest
    spec_options: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        source: Matrix,
        x_labels: Sequence[str],
        y_labels: Sequence[str],
        *,
        scale: ColorScale | None = None,
        gamma: float = 1.5,
        cmap: str = "Blues",
        vmin: float | str | None = None,
        vmax: float | str | None = None,
        norm: str = "auto",
        top_n: int = 3,
        pool: str = "max",
        full_resolution: bool = False,
        name: str = "matrix",
        **options: Any,
    ) -> HeatmapJob:
        """Check the options every heatmap-drawing function shares against ``source`` (a matrix
        from :func:`izzyviz.source.as_source`); ``scale`` fixes the colours (shared between
        panels), else they span the matrix as ``gamma``, ``cmap``, ``vmin``, ``vmax`` and
        ``norm`` ask (:class:`~izzyviz.colors.ScaleRequest`). Errors about values call the
        matrix ``name``."""
        rows, cols = source.shape
        options["x_labels"] = check_labels(x_labels, "x_labels", cols, "columns")
        options["y_labels"] = check_labels(y_labels, "y_labels", rows, "rows")
        top_n = check_nonnegative_int(top_n, "top_n")
        check_choice(pool, POOL_RULES, "pool")
        full_resolution = check_bool(full_resolution, "full_resolution")
        _check_spec_options(options, (rows, cols))
        request = ScaleRequest.of(gamma, cmap, norm, vmin, vmax)
        return cls(source, name, top_n, pool, full_resolution, scale,  # type: ignore[arg-type]
                   request, options)  # fmt: skip

    def summarize(self, style: Style) -> MatrixSummary:
        """The matrix read once, pooled into the display pixels of ``style``'s heatmap."""
        bounds = display_bounds(self.source.shape, style)  # type: ignore[arg-type]
        wanted = () if self.scale is not None else self.request.percentiles
        return summarize(self.source, self.top_n, *bounds, self.pool, self.name, wanted)

    def colors(self, *summaries: MatrixSummary) -> ColorScale:
        """The fixed scale, or one spanning the summarised matrix (or the panels of one figure:
        several summaries)."""
        if self.scale is not None:
            return self.scale
        shown = [s.display for s in summaries]
        longest = max(max(s.shape) for s in summaries)
        return self.request.resolve(
            min(s.vmin for s in summaries), max(s.vmax for s in summaries), shown,
            (longest, longest), summaries[0].percentiles,
        )  # fmt: skip

    def spec(self, summary: MatrixSummary, scale: ColorScale, style: Style) -> HeatmapSpec:
        """The panel's spec: the summary painted in ``scale``'s colours, its top cells written
        as ``style``'s colour bar writes numbers, with the options."""
        full = self.source if self.full_resolution else None
        image = paint(summary, scale, full)
        summary = summary.written_as(scientific(scale, style))
        return HeatmapSpec(summary, image, scale=scale, full_resolution=self.full_resolution,
                           **self.spec_options)  # fmt: skip

    def panel(self, style: Style, summary: MatrixSummary | None = None) -> tuple[Panel, ColorScale]:
        """The panel laid out in ``style`` (fitted to its page width, the matrix pooled into
        the fitted heatmap's pixels) and its colour scale; ``summary``: the matrix already
        summarised for ``style``."""
        summary = summary or self.summarize(style)
        scale = self.colors(summary)
        spec = self.spec(summary, scale, style)
        fitted = fitted_style(spec, style)
        if not summary.fits(*display_bounds(summary.shape, fitted)):
            spec = self.spec(self.summarize(fitted), scale, fitted)  # a narrower map: fewer pixels
        return heatmap_panel(spec, fitted), scale


def _check_spec_options(options: dict[str, Any], shape: tuple[int, int]) -> None:
    """Check (and convert in place) the options that go into a :class:`HeatmapSpec`."""
    if "enlarged_size" in options:
        options["enlarged_size"] = check_positive(options["enlarged_size"], "enlarged_size")
    cells = options.get("cells", "auto")
    check_choice(cells, CELL_MODES, "cells")
    for text in ("title", "xlabel", "ylabel"):
        check_optional_text(options.get(text), text)
    if "show_values" in options:
        options["show_values"] = check_show_values(options["show_values"])
    if options.get("special_tokens") is not None:
        options["special_tokens"] = check_special_tokens(options["special_tokens"])
    options["regions"] = check_regions(options.get("regions"), shape)
    if "region_color" in options:
        options["region_color"] = parse_color(options["region_color"], "region_color")
