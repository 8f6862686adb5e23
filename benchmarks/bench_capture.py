#!/usr/bin/env python
"""Benchmark izzyviz.capture against the plain SDPA forward and eager ``output_attentions``.

    python benchmarks/bench_capture.py                    # 1k, 4k, 8k, 16k tokens (minutes)
    python benchmarks/bench_capture.py --sizes 1024,4096 --runs 1
    python benchmarks/bench_capture.py --eager-max 8192   # let eager run up to 8k (big memory)

The model is a small random Llama (4 layers, hidden 128, 4 query heads sharing 2 key/value
heads: GQA) on CPU. Every (size, mode) case runs in a fresh subprocess, so its peak RSS is its
own. Modes: ``plain`` (the SDPA forward, the baseline), ``capture`` (the same forward inside
``izzyviz.capture(model, layers=-1, heads=0)``), ``eager`` (``attn_implementation="eager"`` with
``output_attentions=True``). Eager keeps layers x heads x n² float32 weights plus a layer's
transient scores; above ``--eager-max`` tokens its memory is estimated and it is not run.

Goals: capture of one head at 16,384 tokens peaks at most 1.5 GB above the plain forward, and
takes at most 2x the plain forward's time from 4,096 tokens up.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import check, emit, fmt_bytes, fmt_time, max_rss, print_table, run_worker, timed

SIZES = (1024, 4096, 8192, 16384)
LAYERS, HIDDEN, HEADS, KV_HEADS = 4, 128, 4, 2
EAGER_MAX = 4096
GB = 1000**3
CASE_TIMEOUT = 1200.0


def eager_bytes(n: int) -> int:
    """Eager's attention memory: every layer's returned weights plus one layer's scores and
    softmax in flight (float32)."""
    return (LAYERS + 2) * HEADS * n * n * 4


def build(implementation: str) -> Any:
    import torch
    from transformers import LlamaConfig, LlamaModel

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=1000,
        hidden_size=HIDDEN,
        intermediate_size=2 * HIDDEN,
        num_hidden_layers=LAYERS,
        num_attention_heads=HEADS,
        num_key_value_heads=KV_HEADS,
        max_position_embeddings=max(SIZES),
        attn_implementation=implementation,
    )
    return LlamaModel(config).eval()


def worker(mode: str, n: int, runs: int) -> None:
    import torch

    import izzyviz

    model = build("eager" if mode == "eager" else "sdpa")
    ids = torch.randint(0, 1000, (1, n), generator=torch.Generator().manual_seed(n))
    with torch.no_grad():
        model(ids[:, :64])  # warm-up: lazy imports, kernels
    base = max_rss()

    def plain() -> Any:
        with torch.no_grad():
            return model(ids, use_cache=False).last_hidden_state

    def captured() -> Any:
        with torch.no_grad(), izzyviz.capture(model, layers=-1, heads=0) as cap:
            model(ids, use_cache=False)
        return cap.attentions

    def eager() -> Any:
        with torch.no_grad():
            return model(ids, use_cache=False, output_attentions=True).attentions

    seconds, _ = timed({"plain": plain, "capture": captured, "eager": eager}[mode], runs)
    emit({"time": seconds, "rss_base": base})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--runs", type=int, default=3, help="timed runs per case (median)")
    parser.add_argument("--eager-max", type=int, default=EAGER_MAX)
    parser.add_argument("--worker", nargs=3, metavar=("MODE", "N", "RUNS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        mode, n, runs = args.worker
        worker(mode, int(n), int(runs))
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    rows = []
    for n in sizes:
        runs = args.runs if n <= 4096 else 1
        plain = run_worker(__file__, ["plain", n, runs], CASE_TIMEOUT)
        cap = run_worker(__file__, ["capture", n, runs], CASE_TIMEOUT)
        if n <= args.eager_max:
            eager = run_worker(__file__, ["eager", n, runs], CASE_TIMEOUT)
            eager_text = _cell(eager)
        else:
            eager_text = f"not run: needs ~{eager_bytes(n) / GB:.0f} GB"
        goals = []
        if "error" not in plain and "error" not in cap:
            extra = cap["rss_peak"] - plain["rss_peak"]
            ratio = cap["time"] / plain["time"]
            if n >= 16384:
                goals.append(check(extra <= 1.5 * GB, "mem<=+1.5GB"))
            if n >= 4096:
                goals.append(check(ratio <= 2.0, "time<=2x"))
            extra_text, ratio_text = fmt_bytes(extra), f"{ratio:.2f}x"
        else:
            extra_text = ratio_text = "-"
        rows.append(
            [str(n), _cell(plain), _cell(cap), ratio_text, extra_text, eager_text, " ".join(goals)]
        )
    print(
        f"Llama {LAYERS} layers, hidden {HIDDEN}, {HEADS} heads / {KV_HEADS} kv heads, CPU; "
        "capture = one layer, one head; time (median) / peak RSS"
    )
    headers = ["tokens", "plain SDPA", "capture", "cap/plain", "cap RSS extra", "eager", "goals"]
    print_table(headers, rows, "rrrrrll")


def _cell(result: dict[str, Any]) -> str:
    if "error" in result:
        return f"failed ({result['error']})"
    return f"{fmt_time(result['time'])} / {fmt_bytes(result['rss_peak'])}"


if __name__ == "__main__":
    main()
