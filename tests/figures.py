"""Figures shared by the backend and renderer tests."""

from __future__ import annotations

import numpy as np

import izzyviz

TOKENS = "[CLS] the quick brown fox jumps over the lazy dog . [SEP]".split()


def quick_start_matrix() -> np.ndarray:
    """A seeded 12 x 12 attention-like matrix for the seed README's quick-start sentence."""
    return np.random.default_rng(0).dirichlet(np.full(12, 0.3), size=12)


def quick_start() -> izzyviz.Figure:
    """The quick-start figure: 12 tokens, top_n=5, one region, a custom title."""
    return izzyviz.heatmap(
        quick_start_matrix(),
        TOKENS,
        TOKENS,
        top_n=5,
        regions=[((4, 4), (8, 8))],
        title="Custom Self-Attention Heatmap Title",
    )
