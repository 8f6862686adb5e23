#!/usr/bin/env python
"""Benchmark izzyviz.capture against the plain SDPA forward measured in the same run.

    python benchmarks/bench_capture.py                      # 8k, 16k and 32k tokens (minutes)
    python benchmarks/bench_capture.py --sizes 2048,4096    # a quick look
    python benchmarks/bench_capture.py --baseline-src /path/to/older/checkout

The model is a small random Llama on CPU: 4 layers, hidden 256, 4 query heads of 64 sharing 2
key/value heads (GQA), as in issue 24. Every (size, mode) case runs in a fresh subprocess
(``benchmarks/harness.py``), so its peak RSS is its own. Modes:

* ``plain``: the SDPA forward, ``use_cache=False`` (the baseline, and the peak RSS the others
  are compared with);
* ``one head``: the same forward inside ``izzyviz.capture(model, layers=-1, heads=0,
  dtype=torch.float16)``;
* ``one layer``: every head of the last layer, float16.

A capturing case times a plain forward before each captured one, in the same process: ``x plain``
is the median of those pairs' ratios, so a machine busy with other work slows both alike.

``--baseline-src`` also runs ``one head`` with the izzyviz found in that source folder (an older
checkout), for memory and time before a change.

Goals (issue 24): one head costs at most 1.2x the plain forward and one layer at most 2x, at
32k tokens; a capture's peak RSS exceeds the plain forward's by at most the captured tensor plus
64 MB (the tensor is float16, heads x n²; causal zeros are never written, so the kernel keeps
untouched pages unallocated and the extra is often below the tensor's size).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import check, emit, fmt_bytes, fmt_time, print_table, run_worker, timed

SIZES = (8192, 16384, 32768)
LAYERS, HIDDEN, HEADS, KV_HEADS = 4, 256, 4, 2
MB = 1024 * 1024
CASE_TIMEOUT = 1800.0
#: mode -> (heads captured, time goal as a multiple of the plain forward, checked at >= 32k)
MODES = {"plain": (0, None), "one head": (1, 1.2), "one layer": (HEADS, 2.0)}


def build() -> Any:
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
    )
    return LlamaModel(config).eval()


def worker(mode: str, n: int, runs: int) -> None:
    import torch

    import izzyviz

    model = build()
    ids = torch.randint(0, 1000, (1, n), generator=torch.Generator().manual_seed(n))
    with torch.no_grad():
        model(ids[:, :64])  # warm-up: lazy imports, kernels
    heads = MODES[mode][0]

    def plain() -> Any:
        with torch.no_grad():
            return model(ids, use_cache=False).last_hidden_state

    def captured() -> Any:
        chosen = list(range(heads))
        with torch.no_grad(), izzyviz.capture(model, -1, chosen, dtype=torch.float16) as cap:
            model(ids, use_cache=False)
        return cap.attentions

    if heads == 0:
        seconds, _ = timed(plain, runs)
        emit({"time": seconds, "ratio": 1.0, "tensor": 0})
        return
    # Plain and captured forwards alternate, so that both see the same load: the ratio is the
    # median of each pair's.
    pairs = [(timed(plain, 1)[0], timed(captured, 1)[0]) for _ in range(runs)]
    emit({
        "time": statistics.median(c for _, c in pairs),
        "ratio": statistics.median(c / p for p, c in pairs),
        "tensor": heads * n * n * 2,
    })  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--runs", type=int, default=3, help="timed runs per case (median)")
    parser.add_argument("--baseline-src", help="a source folder holding an older izzyviz")
    parser.add_argument("--worker", nargs=3, metavar=("MODE", "N", "RUNS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        mode, n, runs = args.worker
        worker(mode.replace("_", " "), int(n), int(runs))
        return
    rows = []
    for n in [int(s) for s in args.sizes.split(",")]:
        cases = {mode: run_worker(__file__, [mode.replace(" ", "_"), n, args.runs], CASE_TIMEOUT)
                 for mode in MODES}  # fmt: skip
        if args.baseline_src:
            env = {"PYTHONPATH": os.path.abspath(args.baseline_src)}
            cases["one head (baseline src)"] = run_worker(
                __file__, ["one_head", n, args.runs], CASE_TIMEOUT, env
            )
        rows += _rows(n, cases)
    print(
        f"Llama {LAYERS} layers, hidden {HIDDEN}, {HEADS} heads / {KV_HEADS} kv heads, CPU, "
        "float16 capture of the last layer; time (median), x plain (median ratio to a plain "
        "forward run just before), peak RSS"
    )
    headers = ["tokens", "mode", "time", "x plain", "peak RSS", "RSS - plain", "tensor", "goals"]
    print_table(headers, rows, "rlrrrrrl")


def _rows(n: int, cases: dict[str, dict[str, Any]]) -> list[list[str]]:
    plain = cases["plain"]
    rows = []
    for mode, result in cases.items():
        if "error" in result:
            rows.append([str(n), mode, f"failed ({result['error']})", "", "", "", "", ""])
            continue
        ratio = extra = goals = ""
        if mode != "plain" and "error" not in plain:
            times = result["ratio"]
            more = result["rss_peak"] - plain["rss_peak"]
            ratio, extra = f"{times:.2f}x", fmt_bytes(more)
            goal = MODES.get(mode, (0, None))[1]
            marks = [check(more <= result["tensor"] + 64 * MB, "mem")]
            if goal is not None and n >= 32768:
                marks.append(check(times <= goal, f"time<={goal}x"))
            goals = " ".join(marks)
        tensor = fmt_bytes(result["tensor"]) if result["tensor"] else "-"
        cells = [fmt_time(result["time"]), ratio, fmt_bytes(result["rss_peak"]), extra, tensor]
        rows.append([str(n), mode, *cells, goals])
    return rows


if __name__ == "__main__":
    main()
