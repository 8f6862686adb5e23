"""Head measures summed exactly over one batch of attention: :func:`batch_sums` and :class:`Sums`.

This module is numpy only. :func:`batch_sums` turns one batch of attention weights (float32 or
float64, with masks saying which positions are real and which keys are special) into
:class:`Sums`: float64 sums and sums of squares of every measure per ``(layer, head)``, the
summed weight by relative offset, and counts. Each text's per-row values are computed on its own
block of real positions, whatever it is batched with, and sums of two batches add, so a corpus
split into any batches, in any order, over any number of workers, reduces to the same numbers
(up to float64 rounding, ~1e-16 relative). The offset profile covers the offsets the texts can
have (at most the longest text's length less one), whatever window is asked for, so it costs
memory by text length. :class:`izzyviz.headstats.HeadStatistics` holds the result; running a
model is the job of :mod:`izzyviz.stats`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import itertools
import math
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from numpy.typing import NDArray

from izzyviz._validate import check_nonnegative_int

__all__ = ["KEY_MEASURES", "MEASURES", "Sums", "batch_sums"]

#: Every measure :func:`izzyviz.head_statistics` computes, each per real query position.
MEASURES = (
    "entropy",
    "cls",
    "sep",
    "special_tokens",
    "previous",
    "self",
    "next",
    "distance",
    "punctuation",
)
#: Measures that are the total weight on a set of keys (given as a boolean key mask).
KEY_MEASURES = ("cls", "sep", "special_tokens", "punctuation")
# The position offset of the neighbour measures (they are read off the offset profile).
NEIGHBOURS = {"previous": -1, "self": 0, "next": 1}
# Attention weights reduced per piece: small enough that a piece stays in the CPU cache between
# the passes over it, large enough that the per-call overhead does not count.
CHUNK = 1 << 18
# Attention weights per layer worth a thread: below that, threads cost more than they share.
THREAD_WORK = 1 << 17


@dataclasses.dataclass(frozen=True, slots=True)
class Sums:
    """Partial sums over some query positions; ``a + b`` covers both.

    Attributes
    ----------
    measures
        The measure names, in the order of ``values``' first axis.
    values
        ``(measures, 2, layers, heads)``: per measure, the sum of its per-row values and the sum
        of their squares, over real query positions.
    offsets
        ``(layers, heads, 2 * reach + 1)``: summed weight on the key at offset ``-reach ..
        reach`` from the query (0 where that position is outside the text). ``reach`` is the
        window asked for, or less where no text is that long: sums of different reaches add.
    count
        Real query positions summed.
    texts
        Texts measured.
    skipped
        Texts that could not be tokenised.
    """

    measures: tuple[str, ...]
    values: NDArray[np.float64]
    offsets: NDArray[np.float64]
    count: int = 0
    texts: int = 0
    skipped: int = 0

    @classmethod
    def zeros(cls, measures: Sequence[str], layers: int, heads: int, reach: int = 0) -> Sums:
        """Sums of nothing, for a model of that shape (offsets ``-reach .. reach``)."""
        return cls(
            tuple(measures),
            np.zeros((len(measures), 2, layers, heads)),
            np.zeros((layers, heads, 2 * reach + 1)),
        )

    @property
    def reach(self) -> int:
        """The offset profile covers ``-reach .. reach``."""
        return (self.offsets.shape[-1] - 1) // 2

    def __add__(self, other: Sums) -> Sums:
        if (
            other.measures != self.measures
            or other.values.shape != self.values.shape
            or other.offsets.shape[:-1] != self.offsets.shape[:-1]
        ):
            raise ValueError(
                f"cannot add sums of {other.measures} {other.values.shape} to sums of "
                f"{self.measures} {self.values.shape}"
            )
        wide, narrow = sorted((self, other), key=lambda sums: -sums.reach)
        offsets = wide.offsets.copy()
        start = wide.reach - narrow.reach
        offsets[..., start : start + narrow.offsets.shape[-1]] += narrow.offsets
        return Sums(
            self.measures,
            self.values + other.values,
            offsets,
            self.count + other.count,
            self.texts + other.texts,
            self.skipped + other.skipped,
        )

    def to_row(self) -> dict[str, NDArray[Any]]:
        """The sums as one row of arrays (each with a leading axis of 1), e.g. for Ray Data."""
        return {
            "values": self.values[None],
            "offsets": self.offsets[None],
            "counts": np.array([[self.count, self.texts, self.skipped]], dtype=np.int64),
        }

    @classmethod
    def from_row(cls, measures: Sequence[str], row: Mapping[str, Any]) -> Sums:
        """Sums from one row written by :meth:`to_row` (without its leading axis)."""
        count, texts, skipped = (int(n) for n in np.asarray(row["counts"]))
        values = np.asarray(row["values"], dtype=np.float64)
        offsets = np.asarray(row["offsets"], dtype=np.float64)
        return cls(tuple(measures), values, offsets, count, texts, skipped)


def _text_runs(real: NDArray[np.bool_]) -> list[tuple[int, int, int, int]]:
    """Runs of consecutive texts with the same real positions, as ``(first, stop, start, end)``:
    texts ``first:stop`` have their real positions within ``start:end`` (padding lies outside,
    on either side), and the same mask there."""
    runs: list[tuple[int, int, int, int]] = []
    for text, row in enumerate(real):
        where = np.flatnonzero(row)
        if where.size == 0:
            continue
        if runs and np.array_equal(real[runs[-1][0]], row):
            runs[-1] = (runs[-1][0], text + 1, runs[-1][2], runs[-1][3])
        else:
            runs.append((text, text + 1, int(where[0]), int(where[-1]) + 1))
    return runs


def _diagonals(matrices: NDArray[Any], window: int, out: NDArray[np.float64]) -> None:
    """Write into ``out`` (``(m, q, 2 * window + 1)``) each query's weight on the key ``d``
    positions away in ``matrices`` (``(m, q, q)``), 0 where that key is outside.

    A strided view (stepping one row and one column at a time) reads them without a copy for
    the rows whose whole window is inside; the ``window`` rows at each edge read a zero-padded
    copy of their few columns."""
    q = matrices.shape[-1]
    top = min(window, q)
    bottom = max(q - window, top)
    for first, stop in ((0, top), (top, bottom), (bottom, q)):
        if stop == first:
            continue
        lo, hi = first - window, stop + window  # the columns these rows' windows cover
        if lo >= 0 and hi <= q:
            source = matrices[:, first:, lo:]
        else:
            source = np.zeros((len(matrices), stop - first, hi - lo), matrices.dtype)
            source[:, :, max(lo, 0) - lo : min(hi, q) - lo] = matrices[
                :, first:stop, max(lo, 0) : min(hi, q)
            ]
        s_matrix, s_row, s_column = source.strides
        out[:, first:stop] = np.lib.stride_tricks.as_strided(
            source,
            shape=(len(matrices), stop - first, 2 * window + 1),
            strides=(s_matrix, s_row + s_column, s_column),
            writeable=False,
        )


def _entropy(piece: NDArray[Any], work: NDArray[Any], out: NDArray[Any], log: Any) -> None:
    """Write ``-sum p log p`` of every row of ``piece`` into ``out``, using ``work`` (the
    piece's shape and dtype). A weight of 0 adds 0: where one makes a row NaN (0 * log 0),
    the logs are raised to that of the smallest float and the row is summed again; pieces
    without zeros (encoders, whose padding is cut away) skip that pass."""
    with np.errstate(divide="ignore", invalid="ignore"):
        log(piece, out=work)
        np.einsum("mqk,mqk->mq", piece, work, out=out)
        if np.isnan(out).any():
            np.maximum(work, np.log(np.finfo(work.dtype).tiny), out=work)
            np.einsum("mqk,mqk->mq", piece, work, out=out)
    np.negative(out, out=out)


def _measure_rows(
    matrices: NDArray[Any],
    members: NDArray[Any] | None,
    entropy: bool,
    distance: bool,
    log: Any,
    rows: NDArray[Any],
) -> None:
    """Fill ``rows`` (``(measures, m, q)``: entropy, distance, then one per key set, each if
    wanted) for ``matrices`` (``(m, q, q)``, one attention matrix per text and head;
    ``members``, ``(m, q, sets)``, marks the keys of each set).

    The matrices are taken a few at a time (:data:`CHUNK` weights), so that the passes over a
    piece (log, products) find it in the CPU cache."""
    q = matrices.shape[-1]
    step = max(1, CHUNK // (q * q))
    scratch = np.empty(min(step, len(matrices)) * q * q, matrices.dtype)
    offsets = np.abs(np.subtract.outer(np.arange(q), np.arange(q))).astype(matrices.dtype)
    for first in range(0, len(matrices), step):
        piece = matrices[first : first + step]
        out = rows[:, first : first + len(piece)]
        if entropy:
            _entropy(piece, scratch[: piece.size].reshape(piece.shape), out[0], log)
        if distance:
            np.einsum("mqk,qk->mq", piece, offsets, out=out[int(entropy)])
        if members is not None:  # one product serves every key measure
            product = np.matmul(piece, members[first : first + len(piece)])
            out[int(entropy) + int(distance) :] = product.transpose(2, 0, 1)


def _work(run: tuple[int, int, int, int]) -> int:
    """Attention weights per head in a run of texts ``(first, stop, start, end)``."""
    first, stop, start, end = run
    return (stop - first) * (end - start) ** 2


def _jobs(
    layer: NDArray[Any],
    runs: Sequence[tuple[int, int, int, int]],
    members: Sequence[NDArray[Any] | None],
    names: Sequence[str],
    log: Any,
    threads: int,
) -> tuple[list[list[tuple[Any, ...]]], list[NDArray[Any]]]:
    """The :func:`_measure_rows` calls that measure one layer, in ``threads`` bundles of about
    equal work (a long run of texts is cut into parts, short runs share a bundle), and the rows
    each run's calls fill."""
    total = sum(_work(run) for run in runs)
    entropy, distance = "entropy" in names, "distance" in names
    bundles: list[list[tuple[Any, ...]]] = [[] for _ in range(threads)]
    outputs, done = [], 0.0
    for (first, stop, start, end), sets in zip(runs, members, strict=True):
        q = end - start
        matrices = layer[first:stop, :, start:end, start:end].reshape(-1, q, q)
        rows = np.empty((len(names), len(matrices), q), layer.dtype)
        outputs.append(rows)
        share = _work((first, stop, start, end)) / total / len(matrices)
        parts = min(len(matrices), math.ceil(threads * share * len(matrices)))
        cuts = [len(matrices) * k // parts for k in range(parts + 1)]
        for lo, hi in itertools.pairwise(cuts):
            part = None if sets is None else sets[lo:hi].astype(layer.dtype, copy=False)
            middle = done + share * (hi - lo) / 2  # which bundle: where the part's middle falls
            bundles[min(threads - 1, int(middle * threads))].append(
                (matrices[lo:hi], part, entropy, distance, log, rows[:, lo:hi])
            )
            done += share * (hi - lo)
    return [bundle for bundle in bundles if bundle], outputs


def _measure_bundle(jobs: Sequence[tuple[Any, ...]]) -> None:
    for job in jobs:
        _measure_rows(*job)


def batch_sums(
    attentions: Sequence[Any],
    real: NDArray[np.bool_],
    key_sets: Mapping[str, NDArray[np.bool_]],
    measures: Sequence[str],
    window: int,
    *,
    log: Any = np.log,
    threads: int = 1,
) -> Sums:
    """Sums of every measure over one batch of self-attention.

    Each text is measured on its own block of real positions (padding rows and keys are cut
    away, not masked), so its per-row values are computed the same way whatever it is batched
    with. Per-row values (a row's entropy, distance, weight on a key set or at an offset) are
    computed in the attention's own dtype (float32 rows of a few thousand terms are accurate
    to ~1e-6 relative, float64 ones to ~1e-15) and summed over rows, texts and batches in
    float64.

    Parameters
    ----------
    attentions
        One ``(batch, heads, q, q)`` float32 or float64 array per layer. Weights on padding
        keys must be 0.
    real
        ``(batch, q)``: True at real (non-padding) positions.
    key_sets
        ``(batch, q)`` key masks for the measures of :data:`KEY_MEASURES` that are wanted.
    measures
        Names from :data:`MEASURES`.
    window
        Offsets ``-window .. window`` of the relative-offset profile (a positive integer); the
        sums cover only the offsets a text of the batch can have (see :attr:`Sums.reach`).
    log
        The natural logarithm, called as ``log(x, out=y)``: numpy's by default;
        :mod:`izzyviz.stats` passes torch's, which is vectorised (numpy's float32 log is
        scalar on CPUs without AVX-512) and about a third faster.
    threads
        Threads sharing the work (numpy and ``log`` release the GIL), at most one per
        :data:`THREAD_WORK` weights of a layer; the result is the same for any number.
    """
    threads = check_nonnegative_int(threads, "threads", 1)
    window = check_nonnegative_int(window, "window", 1)
    keys = [name for name in measures if name in KEY_MEASURES]
    names = [name for name in ("entropy", "distance") if name in measures] + keys
    batch, heads, q, _ = np.shape(attentions[0])
    runs = _text_runs(real)
    # Offsets beyond the longest text's length hold no weight in any text: memory by length.
    reach = min(window, max([end - start - 1 for _, _, start, end in runs] + [1]))
    members = [  # per run, the key sets of each of its matrices (texts x heads); 0/1 is exact
        np.repeat(np.stack([key_sets[n][a:b, c:d] for n in keys], -1), heads, 0).astype("f4")
        if keys
        else None
        for a, b, c, d in runs
    ]
    weights = real.astype(np.float64)
    result = Sums.zeros(measures, len(attentions), heads, reach)
    threads = max(1, min(threads, heads * sum(_work(run) for run in runs) // THREAD_WORK))
    with ThreadPoolExecutor(threads) if threads > 1 else contextlib.nullcontext() as pool:
        apply = map if pool is None else pool.map
        for i, layer in enumerate(attentions):
            a = np.asarray(layer)
            if a.dtype not in (np.float32, np.float64):
                a = a.astype(np.float64)
            jobs, outputs = _jobs(a, runs, members, names, log, threads)
            # Padding keys carry no weight, so the offset profile is read off the whole batch
            # (its padding rows cleared below: a fully masked row may hold NaN).
            profile = np.empty((batch * heads, q, 2 * reach + 1))
            tasks = [functools.partial(_diagonals, a.reshape(-1, q, q), reach, profile)]
            tasks += [functools.partial(_measure_bundle, bundle) for bundle in jobs]
            list(apply(lambda task: task(), tasks))
            profile = profile.reshape(batch, heads, q, -1)
            np.copyto(profile, 0.0, where=~real[:, None, :, None])
            values = np.zeros((len(names), batch, heads, q))
            for (first, stop, start, end), rows in zip(runs, outputs, strict=True):
                shape = (len(names), stop - first, heads, end - start)
                values[:, first:stop, :, start:end] = rows.reshape(shape)
            by_name = dict(zip(names, values, strict=True))
            by_name |= {n: profile[..., reach + d] for n, d in NEIGHBOURS.items()}
            per_row = np.stack([by_name[name] for name in measures])
            result.values[:, 0, i] = np.einsum("mbhq,bq->mh", per_row, weights)
            result.values[:, 1, i] = np.einsum("mbhq,bq->mh", per_row * per_row, weights)
            result.offsets[i] = np.einsum("bhqo,bq->ho", profile, weights)
    return dataclasses.replace(result, count=int(real.sum()), texts=real.shape[0])
