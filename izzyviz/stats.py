"""``izzyviz.head_statistics``: head measures averaged over a corpus, locally or on Ray.

The texts stream through in batches: each batch is tokenised (padded on the right to its
longest text, whatever side the tokenizer pads, so that every text keeps positions 0, 1, ...),
run through the model, and its attention reduced at once to float64 partial sums
(:func:`izzyviz.headstats.batch_sums`), so neither all texts nor all attentions are ever held.
With ``engine="ray"`` the texts become a Ray Data dataset and ``map_batches`` runs an actor pool;
each actor loads the model once and returns partial sums, which the driver adds up. Sums add
exactly (up to float64 rounding), so the result does not depend on batching, worker count or
order; only the model's own float32 arithmetic differs slightly between a text run alone and
in a padded batch (~1e-7; load the model in float64 with ``dtype="float64"`` to remove it).

torch, transformers and ray are imported only when a function here runs.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import tempfile
import time
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from izzyviz._validate import (
    check_choice,
    check_nonnegative_int,
    check_positive,
    describe,
)
from izzyviz.headstats import MEASURES, HeadStatistics, Sums, batch_sums
from izzyviz.pretrained import (
    cut_lengths,
    load_model,
    load_pretrained,
    load_tokenizer,
    model_positions,
)
from izzyviz.source import to_numpy

__all__ = ["ENGINES", "batch_attentions", "head_statistics", "load_pretrained"]

ENGINES = ("local", "ray")
# Texts handed to Ray Data per dataset (the driver holds at most this many at once).
RAY_CHUNK = 65_536
# Tokeniser markers stripped before deciding whether a token is punctuation.
_MARKERS = ("##", "Ġ", "▁")


def batch_attentions(model: Any, inputs: dict[str, Any]) -> tuple[Any, ...]:
    """One batch's attention weights: a ``(batch, heads, q, k)`` CPU tensor per layer.

    An eager model returns the very weights it used (``output_attentions``). Any other
    attention implementation (SDPA, ...) goes through :func:`izzyviz.capture`, which recomputes
    them in float32; without ``izzyviz.capture`` such a model is switched to eager in place.
    """
    import torch

    import izzyviz

    with torch.inference_mode():
        capture = getattr(izzyviz, "capture", None)
        if model.config._attn_implementation != "eager":
            if callable(capture):
                with capture(model) as cap:
                    model(**inputs)
                return tuple(cap.attentions)
            model.set_attn_implementation("eager")
        return tuple(a.cpu() for a in model(**inputs, output_attentions=True).attentions)


def _torch_log(x: NDArray[Any], out: NDArray[Any]) -> NDArray[Any]:
    """``np.log(x, out=out)`` computed by torch: vectorised, about a third faster than
    numpy's float32 log, the same values to an ulp."""
    import torch

    torch.log(torch.from_numpy(x), out=torch.from_numpy(out))
    return out


def _reduce(arrays: list[NDArray[Any]], real: NDArray[np.bool_], *args: Any) -> Sums:
    """:func:`batch_sums` with torch's log, on as many threads as torch runs the model on
    (torch itself single-threaded meanwhile, so the two do not multiply)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return batch_sums(arrays, real, *args, log=_torch_log, threads=threads)
    finally:
        torch.set_num_threads(threads)


def _is_punctuation(token: str) -> bool:
    for marker in _MARKERS:
        token = token.removeprefix(marker)
    return bool(token) and all(unicodedata.category(c).startswith("P") for c in token)


class _Measurer:
    """A model and tokenizer, and what is needed to turn a list of texts into :class:`Sums`."""

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        measures: Sequence[str],
        window: int,
        max_length: int | None,
    ) -> None:
        self.model, self.tokenizer = model, tokenizer
        self.measures, self.window, self.max_length = tuple(measures), window, max_length
        vocabulary = tokenizer.convert_ids_to_tokens(list(range(len(tokenizer))))
        self.punctuation = np.fromiter(
            (_is_punctuation(str(t)) for t in vocabulary), bool, len(vocabulary)
        )
        ids = (tokenizer.sep_token_id, tokenizer.eos_token_id)
        self.sep_ids = np.array([i for i in ids if i is not None], dtype=np.int64)
        probe = self._encode(["a"])
        attentions = batch_attentions(model, probe[0])
        self.shape = (len(attentions), int(attentions[0].shape[1]))
        #: Seconds spent so far in the model's forward pass and in reducing its attention.
        self.seconds = {"model": 0.0, "statistics": 0.0}
        #: Texts cut to ``max_length`` so far, and the longest one's length in tokens.
        self.cut = {"texts": 0, "longest": 0}

    def _encode(self, texts: list[str]) -> tuple[dict[str, Any], NDArray[np.bool_]]:
        """Model inputs and the special-token mask of a batch (raises if the tokenizer does)."""
        encoded = self.tokenizer(
            texts,
            padding=True,
            padding_side="right",  # left padding would move a text's absolute positions
            truncation=self.max_length is not None,
            max_length=self.max_length,
            return_tensors="pt",
            return_special_tokens_mask=True,
        )
        special = encoded.pop("special_tokens_mask").numpy().astype(bool)
        device = getattr(self.model, "device", None)
        return {k: v.to(device) for k, v in encoded.items()}, special

    def _tokenisable(self, texts: list[str]) -> list[str]:
        """The texts the tokenizer accepts and gives at least one token for."""
        kept = []
        for text in texts:
            try:
                inputs, _ = self._encode([text])
            except Exception:
                continue
            if inputs["input_ids"].shape[1] > 0:
                kept.append(text)
        return kept

    def __call__(self, texts: list[str]) -> Sums:
        layers, heads = self.shape
        empty = Sums.zeros(self.measures, layers, heads)
        try:
            inputs, special = self._encode(texts)
            if inputs["input_ids"].shape[1] == 0:
                raise ValueError("no tokens")
            kept = texts
        except Exception:
            kept = self._tokenisable(texts)
            if not kept:
                return Sums(empty.measures, empty.values, empty.offsets, 0, 0, len(texts))
            inputs, special = self._encode(kept)
        ids = inputs["input_ids"].cpu().numpy()
        real = inputs["attention_mask"].cpu().numpy().astype(bool)
        cut = cut_lengths(self.tokenizer, kept, real.sum(axis=1), self.max_length)
        self.cut["texts"] += len(cut)
        self.cut["longest"] = max(self.cut["longest"], *cut.values(), 0)
        first = np.zeros_like(real)  # padded on the right (_encode): every text starts at 0
        first[:, 0] = True
        key_sets = {
            "cls": special & real & first,
            "sep": np.isin(ids, self.sep_ids) & real,
            "special_tokens": special & real,
            "punctuation": self.punctuation[ids] & real,
        }
        start = time.perf_counter()
        attentions = batch_attentions(self.model, inputs)
        middle = time.perf_counter()
        arrays = [to_numpy(a, "attentions") for a in attentions]
        sums = _reduce(arrays, real, key_sets, self.measures, self.window)
        if not np.isfinite(sums.values).all():
            raise ValueError(
                "model: its attention weights over real tokens hold NaN or infinity (are its "
                "weights finite?)"
            )
        self.seconds["model"] += middle - start
        self.seconds["statistics"] += time.perf_counter() - middle
        return Sums(
            sums.measures, sums.values, sums.offsets, sums.count, len(kept), len(texts) - len(kept)
        )


class _RayWorker:
    """A Ray Data actor: loads the model once, turns each batch of texts into one row of sums."""

    def __init__(self, source: Any, dtype: str | None, options: dict[str, Any]) -> None:
        model, tokenizer = load_pretrained(source, dtype)
        self.measure = _Measurer(model, tokenizer, **options)

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        before = dict(self.measure.cut)
        row = self.measure([str(t) for t in batch["text"]]).to_row()
        cut = self.measure.cut
        # The texts of this batch cut to max_length, and the longest length seen so far.
        return row | {"cut": np.array([[cut["texts"] - before["texts"], cut["longest"]]])}


@contextlib.contextmanager
def _model_folder(folder: Any, model: Any, tokenizer: Any, own_tokenizer: Any) -> Iterator[Any]:
    """A folder Ray actors can load the model from: the given one, or (a loaded model, or a
    folder with another tokenizer) a temporary ``save_pretrained`` copy, visible to actors on
    this machine (transformers models do not pickle)."""
    if folder is not None and tokenizer is own_tokenizer:
        yield folder
        return
    with tempfile.TemporaryDirectory(prefix="izzyviz-model-") as copy:
        model.save_pretrained(copy)
        tokenizer.save_pretrained(copy)
        yield copy


def _checked(texts: Iterable[Any]) -> Iterator[str]:
    """The texts, each checked to be a string (the first that is not raises)."""
    for n, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"texts[{n}]: expected a string, got {describe(text)}")
        yield text


def _chunks(texts: Iterator[str], size: int) -> Iterator[list[str]]:
    while chunk := list(itertools.islice(texts, size)):
        yield chunk


def _local_sums(measure: _Measurer, texts: Iterator[str], batch_size: int, bar: Any) -> Sums:
    total = Sums.zeros(measure.measures, *measure.shape)
    for batch in _chunks(texts, batch_size):
        total = total + measure(batch)
        bar.update(len(batch))
    return total


def _ray_sums(
    source: Any,
    dtype: str | None,
    options: dict[str, Any],
    texts: Iterator[str],
    *,
    batch_size: int,
    workers: int,
    num_cpus: float,
    num_gpus: float | None,
    address: str | None,
    start: Sums,
    bar: Any,
    cut: dict[str, int],
) -> Sums:
    try:
        import ray
        import ray.data
    except ImportError:
        raise OSError("engine='ray' needs Ray Data: pip install 'izzyviz[ray]'") from None
    started = not ray.is_initialized()
    if started:
        ray.init(address=address, include_dashboard=False, log_to_driver=False)
    try:
        ray.data.DataContext.get_current().enable_progress_bars = False
        total = start
        for chunk in _chunks(texts, RAY_CHUNK):
            dataset = ray.data.from_items([{"text": t} for t in chunk]).map_batches(
                _RayWorker,
                fn_constructor_args=(source, dtype, options),
                batch_size=batch_size,
                batch_format="numpy",
                compute=ray.data.ActorPoolStrategy(size=workers),
                num_cpus=num_cpus,
                num_gpus=num_gpus,
            )
            for row in dataset.iter_rows():
                sums = Sums.from_row(options["measures"], row)
                total = total + sums
                cut["texts"] += int(row["cut"][0])
                cut["longest"] = max(cut["longest"], int(row["cut"][1]))
                bar.update(sums.texts + sums.skipped)
        return total
    finally:
        if started:
            ray.shutdown()


def _check_measures(measures: Any) -> tuple[str, ...]:
    if isinstance(measures, str) or not isinstance(measures, Iterable):
        raise TypeError(f"measures: expected a list of measure names, got {describe(measures)}")
    names = tuple(measures)
    for name in names:
        check_choice(name, MEASURES, "measures")
    if not names or len(set(names)) != len(names):
        raise ValueError(f"measures: expected distinct names from {MEASURES}, got {names}")
    return names


def head_statistics(
    model: Any,
    tokenizer: Any,
    texts: Iterable[str],
    *,
    measures: Sequence[str] = MEASURES,
    batch_size: int = 16,
    max_length: int | None = 512,
    window: int = 8,
    engine: str = "local",
    progress: bool = True,
    dtype: str | None = None,
    workers: int = 2,
    num_cpus: float = 0.5,
    num_gpus: float | None = None,
    address: str | None = None,
) -> HeadStatistics:
    """Average head measures over a corpus: which heads look at [CLS], [SEP], the previous
    token, punctuation, broadly or sharply, and in which layers.

    Every measure is computed per real (non-padding) query position of every text, from that
    query's attention row ``p`` over the text's keys, and averaged over all of them.

    Parameters
    ----------
    model
        A loaded transformers model (encoder-only or decoder-only), or a local model folder
        (then ``tokenizer`` may be None and is read from the same folder).
    tokenizer
        The model's tokenizer (needs a padding token when ``batch_size > 1``), or a folder.
    texts
        Any iterable of strings (a list, a generator, a file's lines, a ``datasets`` column):
        read once, in batches.
    measures
        Names from :data:`izzyviz.headstats.MEASURES`:

        ``"entropy"`` ``-sum p log p`` (nats); ``"cls"`` weight on each text's first real
        token when it is special ([CLS], BOS), wherever the tokenizer pads; ``"sep"`` on
        [SEP]/EOS tokens; ``"special_tokens"`` on all special tokens (padding is never
        counted); ``"previous"``, ``"self"``, ``"next"`` on the token before, itself, after (0
        when there is none); ``"distance"`` the expected ``|q - k|``;
        ``"punctuation"`` on tokens made of punctuation characters.
    batch_size
        Texts per forward pass (per actor call with Ray).
    max_length
        Cut texts to this many tokens; at least one more than the special tokens the tokenizer
        adds (``max_length=1`` is refused, not ignored). Texts longer than the model's
        positions (``max_position_embeddings``) are cut there, whatever ``max_length`` says
        (None: only there), with one warning saying how many were cut and where.
    window
        The relative-offset profile ``stats.offsets`` covers ``-window .. window`` (or less,
        when no text is that long: memory goes by the texts' length, not the window).
    engine
        ``"local"`` (this process) or ``"ray"`` (Ray Data, ``pip install 'izzyviz[ray]'``).
    progress
        Show a progress bar (tqdm, on standard error) counting texts.
    dtype
        With a model folder: load the weights as this torch dtype. ``"float64"`` makes the
        result independent of batching to ~1e-12 (float32 forwards of a text alone and in a
        padded batch differ by ~1e-7).
    workers, num_cpus, num_gpus
        Ray only: actors in the pool, and CPUs and GPUs each actor reserves (fractional CPUs
        let two actors share one core).
    address
        Ray only: the cluster to join (e.g. ``"auto"`` or ``"ray://host:10001"``); default: join
        the running Ray of this process, else start a local one (shut down afterwards).

    Returns
    -------
    HeadStatistics
        ``mean`` and ``std`` per measure, ``offsets``, ``count``, ``texts`` and ``skipped``
        (texts the tokenizer rejected: counted, not fatal).

    Examples
    --------
    >>> stats = izzyviz.head_statistics(model, tokenizer, texts)  # doctest: +SKIP
    >>> stats.figure("sep").save("sep.pdf")  # doctest: +SKIP
    """
    names = _check_measures(measures)
    batch_size = check_nonnegative_int(batch_size, "batch_size", 1)
    if max_length is not None:
        max_length = check_nonnegative_int(max_length, "max_length", 1)
    window = check_nonnegative_int(window, "window", 1)
    check_choice(engine, ENGINES, "engine")
    if not isinstance(progress, (bool, np.bool_)):
        raise TypeError(f"progress: expected True or False, got {describe(progress)}")
    if isinstance(texts, (str, bytes)) or not isinstance(texts, Iterable):
        raise TypeError(f"texts: expected an iterable of strings, got {describe(texts)}")
    workers = check_nonnegative_int(workers, "workers", 1)
    check_positive(num_cpus, "num_cpus")
    folder = isinstance(model, (str, os.PathLike))
    loaded, tokenizer, own_tokenizer = _model_and_tokenizer(
        model, tokenizer, dtype, batch_size, max_length
    )
    positions = model_positions(loaded)
    limit = max_length if positions is None else min(max_length or positions, positions)
    options: dict[str, Any] = {"measures": names, "window": window, "max_length": limit}
    measure = _Measurer(loaded, tokenizer, **options)  # fails early on a model we cannot run

    from tqdm.auto import tqdm

    stream = _checked(texts)
    total = len(texts) if isinstance(texts, Sequence) else None
    folder_or_none = model if folder else None
    with (
        tqdm(total=total, desc="izzyviz stats", unit="text", disable=not progress) as bar,
        contextlib.nullcontext(folder_or_none)
        if engine == "local"
        else _model_folder(folder_or_none, loaded, tokenizer, own_tokenizer) as source,
    ):
        if engine == "local":
            sums = _local_sums(measure, stream, batch_size, bar)
        else:
            sums = _ray_sums(
                source,
                dtype,
                options,
                stream,
                batch_size=batch_size,
                workers=workers,
                num_cpus=num_cpus,
                num_gpus=num_gpus,
                address=address,
                start=Sums.zeros(names, *measure.shape),
                bar=bar,
                cut=measure.cut,
            )
    _warn(sums, measure.cut, limit if limit == positions else None)
    return HeadStatistics.from_sums(sums, source=str(model) if folder else type(model).__name__)


def _model_and_tokenizer(
    model: Any, tokenizer: Any, dtype: str | None, batch_size: int, max_length: int | None
) -> tuple[Any, Any, Any]:
    """``(model, tokenizer, the model folder's own tokenizer or None)`` for
    :func:`head_statistics`: a folder's tokenizer is loaded and checked before its model."""
    folder = isinstance(model, (str, os.PathLike))
    own_tokenizer = None
    if folder:
        own_tokenizer = load_tokenizer(model)
        tokenizer = own_tokenizer if tokenizer is None else tokenizer
    elif dtype is not None:
        raise ValueError("dtype: applies to a model folder only; convert a loaded model yourself")
    if isinstance(tokenizer, (str, os.PathLike)):
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(tokenizer, local_files_only=True)
    if tokenizer is None or not callable(tokenizer):
        raise TypeError(f"tokenizer: expected a transformers tokenizer, got {describe(tokenizer)}")
    if batch_size > 1 and tokenizer.pad_token is None:
        raise ValueError(
            "tokenizer: has no padding token, needed for batch_size > 1; set one "
            "(tokenizer.pad_token = tokenizer.eos_token) or use batch_size=1"
        )
    specials = int(getattr(tokenizer, "num_special_tokens_to_add", lambda: 0)())
    if max_length is not None and max_length <= specials:
        raise ValueError(
            f"max_length: expected at least {specials + 1} (the tokenizer adds {specials} "
            f"special tokens to every text, and at least one token of the text must remain), "
            f"got {max_length}"
        )
    return (load_model(model, dtype) if folder else model), tokenizer, own_tokenizer


def _warn(sums: Sums, cut: dict[str, int], positions: int | None) -> None:
    """Refuse an empty result; warn about skipped texts, and about texts cut at the model's
    ``positions`` (None: texts were cut, if at all, at the ``max_length`` asked for)."""
    import warnings

    if sums.texts + sums.skipped == 0:
        raise ValueError("texts: expected at least one text, got an empty iterable")
    if sums.texts == 0:
        raise ValueError(f"texts: none of the {sums.skipped} texts could be tokenised")
    if sums.skipped:
        warnings.warn(
            f"texts: {sums.skipped} of {sums.skipped + sums.texts} texts could not be "
            "tokenised and were skipped (stats.skipped)",
            stacklevel=3,
        )
    if cut["texts"] and positions is not None:
        warnings.warn(
            f"texts: {cut['texts']} of {sums.texts} texts are longer than the model's "
            f"{positions} positions and were cut to their first {positions} tokens (the "
            f"longest has {cut['longest']:,})",
            stacklevel=3,
        )
