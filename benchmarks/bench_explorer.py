#!/usr/bin/env python
"""The interactive explorer (issue 23): the HTML file at 4,096 tokens, its first paint in
headless Chromium, and a 32,768-token map through ``izzyviz serve``.

    python benchmarks/bench_explorer.py                    # every case (~5 min, 2 GB of disk)
    python benchmarks/bench_explorer.py --cases file,paint # the 4,096-token file only
    python benchmarks/bench_explorer.py --data /tmp/a32k.npy  # reuse a 32k float16 .npy

Inputs are bench_long's ``structured`` map (soft noise, a sink column, a previous-token diagonal,
one bright cell) as float16, and ``causal``: the same with the upper triangle zero and rows
renormalised, as a decoder's map is. Each case runs in a fresh interpreter (harness.py). The
baseline, measured in the same run, is the static figure of the same map: ``heatmap().save``
of a PNG (time, RSS, size) and that PNG opened in Chromium (load event).

Cases: ``file`` (explore().save, median of 3, and file size), ``paint`` (navigation to the
first complete paint of the file, median of 3 loads), ``serve`` (32,768 tokens from a memmapped
float16 .npy: server start, first paint, each zoom step from the overview down to one cell per
64 pixels, the server's peak RSS). Chromium is Debian's, through the DevTools protocol.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import numpy as np
from bench_long import input_rows
from harness import MB, check, emit, fmt_bytes, fmt_time, max_rss, print_table, run_worker

FILE_TOKENS = 4096
SERVE_TOKENS = 32768
TIMEOUT = 1800.0
ROOT = "document.querySelector('.izv')"
GOALS = {"file_s": 2.0, "file_mb": 10.0, "paint_s": 1.0, "serve_paint_s": 2.0,
         "step_s": 0.2, "rss_mb": 1024.0}  # fmt: skip


def make(n: int, kind: str) -> np.ndarray:
    """The ``kind`` input as float16, in blocks of rows."""
    out = np.empty((n, n), dtype=np.float16)
    for r0 in range(0, n, 1024):
        out[r0 : r0 + 1024] = rows(n, kind, r0, min(n, r0 + 1024))
    return out


def rows(n: int, kind: str, r0: int, r1: int) -> np.ndarray:
    block = input_rows(n, "structured", r0, r1)
    if kind == "causal":
        block[np.arange(r1 - r0)[:, None] < np.arange(n)[None, :] - r0] = 0.0
        block /= block.sum(axis=1, keepdims=True)
    return block


def browser() -> Any:
    from tests.chromium import Browser
    from tests.system_tools import find

    exe = find("chromium")
    if exe is None:
        raise SystemExit("chromium is not installed (Debian: apt-get install chromium)")
    return Browser(exe)


# -- workers ---------------------------------------------------------------------------------


def worker_file(kind: str, out: str, static: bool) -> None:
    import izzyviz

    matrix = make(FILE_TOKENS, kind)
    tokens = [f"tok{i}" for i in range(FILE_TOKENS)]
    izzyviz.explore(np.eye(4), list("abcd"), list("abcd")).html()  # warm-up
    izzyviz.heatmap(np.eye(4), list("abcd"), list("abcd")).render("png")
    times, cpu = [], []
    for _ in range(3):
        t0, c0 = time.perf_counter(), time.process_time()
        if static:
            izzyviz.heatmap(matrix, tokens, tokens, title=kind).save(out)
        else:
            izzyviz.explore(matrix, tokens, tokens, title=kind).save(out)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    emit({"time": statistics.median(times), "cpu": statistics.median(cpu),
          "size": os.path.getsize(out)})  # fmt: skip


def worker_paint(path: str) -> None:
    """Median of 3 loads: navigation start to the first complete paint (a static image: to
    its load event)."""
    samples = []
    with browser() as page:
        for _ in range(3):
            page.open(Path(path).resolve().as_uri())
            if path.endswith(".html"):
                samples.append(float(page.wait_for(f"{ROOT}.dataset.firstPaint")) / 1000)
            else:
                timing = "performance.getEntriesByType('navigation')[0].loadEventEnd"
                samples.append(float(page.evaluate(timing)) / 1000)
    emit({"time": statistics.median(samples)})


def worker_serve(path: str) -> None:
    from izzyviz.explorer.serve import start

    t0 = time.perf_counter()
    server = start(path, [f"tok{i}" for i in range(SERVE_TOKENS)], port=0)
    ready = time.perf_counter() - t0
    threading.Thread(target=server.serve_forever, daemon=True).start()
    steps: list[float] = []
    with browser() as page:
        page.open(server.url)
        paint = float(page.wait_for(f"{ROOT}.dataset.firstPaint")) / 1000
        for _ in range(12):  # overview (64 cells a pixel) to 64 pixels a cell
            before = page.evaluate(f"{ROOT}.dataset.complete")
            page.key("+")
            page.wait_for(f"{ROOT}.dataset.complete !== {before!r}", timeout=60)
            steps.append(float(page.evaluate(f"{ROOT}.dataset.step")) / 1000)
    server.shutdown()
    emit({"ready": ready, "paint": paint, "steps": steps, "rss": max_rss()})


def worker_write(path: str) -> None:
    out = np.lib.format.open_memmap(path, "w+", np.float16, (SERVE_TOKENS, SERVE_TOKENS))
    for r0 in range(0, SERVE_TOKENS, 1024):
        out[r0 : r0 + 1024] = rows(SERVE_TOKENS, "causal", r0, r0 + 1024)
    out.flush()
    emit({})


# -- the run -----------------------------------------------------------------------------------


def file_rows(folder: str, cases: list[str]) -> tuple[list[list[str]], list[str]]:
    table, misses = [], []
    for kind in ("structured", "causal"):
        html, png = os.path.join(folder, f"{kind}.html"), os.path.join(folder, f"{kind}.png")
        for label, out, static in (("explorer file", html, False), ("static PNG", png, True)):
            print(f"  ... {kind} {label}", file=sys.stderr, flush=True)
            r = run_worker(__file__, ["file", kind, out, int(static)], TIMEOUT)
            if "error" in r:
                table.append([kind, label, "ERROR " + r["error"], "", "", "", "", ""])
                continue
            paint = run_worker(__file__, ["paint", out], TIMEOUT) if "paint" in cases else {}
            goals = []
            if not static:
                goals = [
                    check(r["time"] <= GOALS["file_s"], "t<=2s"),
                    check(r["size"] <= GOALS["file_mb"] * MB, "file<=10MB"),
                ]
                if "time" in paint:
                    goals.append(check(paint["time"] <= GOALS["paint_s"], "paint<=1s"))
            misses += [f"{kind} {g}" for g in goals if g.endswith("MISS")]
            table.append([kind, label, fmt_time(r["time"]), fmt_time(r["cpu"]),
                          fmt_bytes(r["size"]), f"{r['rss_peak'] / MB:.0f} MB",
                          fmt_time(paint.get("time")), "; ".join(goals) or "-"])  # fmt: skip
    return table, misses


def serve_rows(data: str | None, folder: str) -> tuple[list[list[str]], list[str]]:
    path = data or os.path.join(folder, "causal_32k.npy")
    if data is None:
        print(f"  ... writing {path} (2 GB)", file=sys.stderr, flush=True)
        run_worker(__file__, ["write", path], TIMEOUT)
    print("  ... serve", file=sys.stderr, flush=True)
    r = run_worker(__file__, ["serve", path], TIMEOUT)
    if "error" in r:
        return [["serve 32768", "ERROR " + r["error"]]], ["serve failed"]
    worst = max(r["steps"])
    goals = [
        check(r["paint"] <= GOALS["serve_paint_s"], "paint<=2s"),
        check(worst <= GOALS["step_s"], "step<=200ms"),
        check(r["rss"] <= GOALS["rss_mb"] * MB, "rss<=1GB"),
    ]
    steps = " ".join(f"{s * 1000:.0f}" for s in r["steps"])
    table = [
        ["server ready (2 passes over 2 GB)", fmt_time(r["ready"])],
        ["first paint", fmt_time(r["paint"])],
        ["zoom steps, ms (overview -> 64 px a cell)", steps],
        ["slowest zoom step", fmt_time(worst)],
        ["server peak RSS", f"{r['rss'] / MB:.0f} MB"],
        ["goals", "; ".join(goals)],
    ]
    return table, [g for g in goals if g.endswith("MISS")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", default="file,paint,serve")
    parser.add_argument("--data", help="a 32,768 x 32,768 float16 .npy to serve (else written)")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        kind, *rest = args.worker
        {
            "file": lambda: worker_file(rest[0], rest[1], rest[2] == "1"),
            "paint": lambda: worker_paint(rest[0]),
            "serve": lambda: worker_serve(rest[0]),
            "write": lambda: worker_write(rest[0]),
        }[kind]()
        return 0
    cases = args.cases.split(",")
    misses: list[str] = []
    with tempfile.TemporaryDirectory(prefix="izzyviz-explorer-") as folder:
        if "file" in cases:
            table, missed = file_rows(folder, cases)
            misses += missed
            print()
            print_table(["input", "4,096 tokens", "time", "cpu", "file", "peak RSS",
                         "first paint", "goals"], table, "llrrrrrl")  # fmt: skip
        if "serve" in cases:
            table, missed = serve_rows(args.data, folder)
            misses += missed
            print()
            print_table(["32,768 tokens via izzyviz serve (causal, float16 memmap)", ""],
                        table, "ll")  # fmt: skip
    print(
        "\ntime: median of 3 warm runs in a fresh process (cpu: its CPU time, both threads; on "
        "a shared machine the wall time is mostly other processes'); first paint: navigation "
        "start to the first frame with every visible tile drawn (static PNG: its load event), "
        "median of 3 loads; zoom step: key '+' to the next complete frame, in the page."
    )
    print("\nAll goals met." if not misses else f"\nMISSED ({len(misses)}): " + "; ".join(misses))
    return 0


if __name__ == "__main__":
    sys.exit(main())
