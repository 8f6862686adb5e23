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


def reference_top(matrix: np.ndarray, top_n: int, spare: int = 64) -> list[tuple[int, int]]:
    """The top cells as the docs define them, by brute force: the ``top_n`` largest values as
    written beside each other (``format_numbers(..., 3)``, parsed back); a group of cells that
    read the same is marked whole or not at all; a group at the boundary is left out, unless it
    is the largest value itself (then the whole group). Looks at the ``top_n + spare`` largest
    cells, enough for maps without long ties."""
    from izzyviz.numbers import format_numbers

    flat = np.asarray(matrix, dtype=np.float64).ravel()
    order = np.argsort(-flat, kind="stable")[: top_n + spare]
    read = np.array([float(label) for label in format_numbers(flat[order], 3)])
    if len(read) <= top_n:
        chosen = order
    elif read[top_n] < read[top_n - 1]:
        chosen = order[read >= read[top_n - 1]]
    elif (read > read[top_n - 1]).any():
        chosen = order[read > read[top_n - 1]]
    else:
        chosen = order[read == read[0]]
    cols = np.asarray(matrix).shape[1]
    return sorted((int(i) // cols, int(i) % cols) for i in chosen)
