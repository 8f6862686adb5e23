"""Every head at once: an overview grid of small heatmaps (:mod:`~izzyviz.heads.grid`), and
a multi-page report (:mod:`~izzyviz.heads.pages`: the overview, then one heatmap page per head,
chosen and ordered by :mod:`~izzyviz.heads.select`, written by :mod:`~izzyviz.heads.output`).
"""

from izzyviz.heads.grid import HeadKey, overview
from izzyviz.heads.output import write_pages
from izzyviz.heads.pages import report
from izzyviz.heads.select import MEASURES

__all__ = ["MEASURES", "HeadKey", "overview", "report", "write_pages"]
