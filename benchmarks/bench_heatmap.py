#!/usr/bin/env python
"""Benchmark IzzyViz heatmaps against the original matplotlib way of drawing them.

    python benchmarks/bench_heatmap.py                 # full run (several minutes)
    python benchmarks/bench_heatmap.py --quick         # 12 and 64 tokens, 1 run
    python benchmarks/bench_heatmap.py --sizes 12,64 --formats pdf,svg --runs 3 --no-baseline

Every (size, format) case runs in a fresh subprocess, so peak memory (``ru_maxrss``) belongs to
that case alone. See benchmarks/README.md for what each column means.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (
    MB,
    check,
    fmt_bytes,
    fmt_time,
    importtime_total,
    max_rss,
    print_table,
    worker_env,
)
from harness import run_worker as _run_worker

ALL_SIZES = (12, 64, 256, 1024, 4096)
ALL_FORMATS = ("pdf", "svg", "png")
BASELINE_TIMEOUT = 60.0  # seconds per matplotlib figure
CASE_TIMEOUT = 600.0  # seconds per IzzyViz subprocess (all its runs)
QUICK_RUNS = 20
IMPORT_RUNS = 7
SEED = 20240917


# -- the test figure --------------------------------------------------------------------------


def make_case(n: int) -> tuple[Any, list[str], list[tuple[tuple[int, int], tuple[int, int]]]]:
    """A seeded n x n softmax-like attention matrix, "tok<i>" labels and one region.

    Built in place so the only big allocation is the matrix itself (n=4096: 128 MiB)."""
    import numpy as np

    rng = np.random.default_rng(SEED + n)
    m = rng.standard_normal((n, n))
    m *= 3.0
    np.exp(m, out=m)
    m /= m.sum(axis=1, keepdims=True)
    labels = [f"tok{i}" for i in range(n)]
    r0 = n // 4
    r1 = min(n - 1, r0 + max(1, n // 8))
    return m, labels, [((r0, r0), (r1, r1))]


# -- workers (run in subprocesses) -------------------------------------------------------------


def worker_izzy(n: int, fmt: str, runs: int, outdir: str) -> None:
    import numpy  # noqa: F401

    import izzyviz

    matrix, labels, regions = make_case(n)
    rss_base = max_rss()
    path = os.path.join(outdir, f"izzyviz_{n}.{fmt}")

    # Warm-up on a tiny figure: loads the backend, fonts and lazy modules (first use is
    # measured separately by the quick-start row).
    tm, tl, _ = make_case(4)
    izzyviz.heatmap(tm, tl, tl, top_n=1).save(os.path.join(outdir, f"warm.{fmt}"))

    times, build_times = [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        fig = izzyviz.heatmap(
            matrix,
            labels,
            labels,
            top_n=3,
            enlarged_size=1.8,
            gamma=1.5,
            title=f"Self-attention, {n} tokens",
            regions=regions,
        )
        t1 = time.perf_counter()
        fig.save(path)
        t2 = time.perf_counter()
        times.append(t2 - t0)
        build_times.append(t1 - t0)
        del fig
    result = {
        "times": times,
        "build_times": build_times,
        "rss_base": rss_base,
        "rss_peak": max_rss(),
        "size": os.path.getsize(path),
        "path": path,
    }
    print("RESULT " + json.dumps(result), flush=True)


def baseline_figure(
    n: int, fmt: str, path: str, matrix: Any, labels: list[str], regions: Any
) -> None:
    """The figure drawn the way the original IzzyViz (0.1, matplotlib + a patched seaborn
    heatmap) draws it: a 10 x 10 in figure, a pcolormesh with variable row/column sizes,
    PowerNorm(gamma) + Blues, white cell borders, one ``ax.text`` per cell (the value for top
    cells, '' elsewhere), top tick labels rotated 45 degrees with highlight boxes for top
    rows/columns, a colour bar beside the axes, a red region box, tight_layout, savefig."""
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib import patches
    from matplotlib.colors import PowerNorm
    from mpl_toolkits.axes_grid1 import make_axes_locatable

    top_n, enlarged, gamma = 3, 1.8, 1.5
    data = matrix
    vmin, vmax = float(data.min()), float(data.max())
    flat = data.ravel()
    k = min(top_n, flat.size)
    threshold = np.partition(flat, -k)[-k]
    top_cells = list(zip(*np.nonzero(data >= threshold), strict=True))

    widths = np.ones(n)
    heights = np.ones(n)
    for r, c in top_cells:
        widths[c] = enlarged
        heights[r] = enlarged
    xe = np.concatenate([[0.0], np.cumsum(widths)])
    ye = np.concatenate([[0.0], np.cumsum(heights)])

    fig, ax = plt.subplots(figsize=(10, 10))
    norm = PowerNorm(gamma=gamma, vmin=vmin, vmax=vmax)
    cmap = plt.get_cmap("Blues")
    mesh = ax.pcolormesh(xe, ye, data, cmap=cmap, norm=norm, edgecolors="white", linewidth=1.0)
    ax.set_xlim(0, xe[-1])
    ax.set_ylim(ye[-1], 0)
    ax.set_aspect("equal")

    # One text object per cell, as seaborn's annotate loop does (colour by cell luminance).
    annot = np.full(data.shape, "", dtype=object)
    for r, c in top_cells:
        annot[r, c] = f"{data[r, c]:.3f}"
    rgba = mesh.to_rgba(data.ravel()).reshape(n, n, 4)
    lum = 0.2126 * rgba[..., 0] + 0.7152 * rgba[..., 1] + 0.0722 * rgba[..., 2]
    xc = (xe[:-1] + xe[1:]) / 2
    yc = (ye[:-1] + ye[1:]) / 2
    for i in range(n):
        for j in range(n):
            ax.text(
                xc[j],
                yc[i],
                annot[i, j],
                ha="center",
                va="center",
                color="black" if lum[i, j] > 0.408 else "white",
                fontsize=10,
            )

    ax.set_xticks(xc)
    ax.set_yticks(yc)
    ax.set_xticklabels(labels)
    ax.set_yticklabels(labels)
    divider = make_axes_locatable(ax)
    cax = divider.append_axes("right", size="5%", pad=0.1)
    cbar = plt.colorbar(mesh, cax=cax)
    cbar.outline.set_visible(False)
    ticks = np.linspace(vmin, vmax, 7)
    cbar.set_ticks(ticks)
    cbar.set_ticklabels([f"{v:.2f}" for v in ticks])
    ax.xaxis.set_label_position("top")
    ax.xaxis.tick_top()
    for label in ax.get_xticklabels():
        label.set_rotation(45)
    ax.set_title(f"Self-attention, {n} tokens", fontsize=14)
    ax.set_xlabel("Tokens Attended to", fontsize=12)
    ax.set_ylabel("Tokens Attending", fontsize=12)
    xt, yt = ax.get_xticklabels(), ax.get_yticklabels()
    box = {
        "facecolor": "yellowgreen",
        "edgecolor": "yellowgreen",
        "boxstyle": "round,pad=0.2",
        "alpha": 0.5,
    }
    for r, c in top_cells:
        xt[c].set_bbox(box)
        yt[r].set_bbox(box)
    for (r0, c0), (r1, c1) in regions:
        ax.add_patch(
            patches.Rectangle(
                (xe[c0], ye[r0]),
                xe[c1 + 1] - xe[c0],
                ye[r1 + 1] - ye[r0],
                linewidth=2,
                edgecolor="red",
                facecolor="none",
            )
        )
    plt.tight_layout()
    fig.savefig(path, format=fmt, dpi=150)
    plt.close(fig)


def worker_mpl(n: int, fmt: str, runs: int, outdir: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot

    matrix, labels, regions = make_case(n)
    tm, tl, _ = make_case(4)
    baseline_figure(4, fmt, os.path.join(outdir, f"warm_mpl.{fmt}"), tm, tl, [((0, 0), (1, 1))])
    path = os.path.join(outdir, f"matplotlib_{n}.{fmt}")
    print("READY", flush=True)
    spent = 0.0
    for _ in range(runs):
        t0 = time.perf_counter()
        baseline_figure(n, fmt, path, matrix, labels, regions)
        dt = time.perf_counter() - t0
        spent += dt
        print("RUN " + json.dumps({"time": dt, "size": os.path.getsize(path)}), flush=True)
        if spent > 20.0:  # enough: the median of slow runs is stable
            break
    print("DONE", flush=True)


def worker_quick(fmt: str, outdir: str) -> None:
    t_imp = time.perf_counter()
    import izzyviz

    t_imp = time.perf_counter() - t_imp
    matrix, labels, _ = make_case(12)
    path = os.path.join(outdir, f"quick.{fmt}")

    def once() -> float:
        t0 = time.perf_counter()
        izzyviz.heatmap(matrix, labels, labels, top_n=5, title="Quick start").save(path)
        return time.perf_counter() - t0

    first = once()
    warm = [once() for _ in range(QUICK_RUNS)]
    print("RESULT " + json.dumps({"first": first, "warm": warm, "import": t_imp}), flush=True)


def worker_report(outdir: str) -> None:
    """The whole-model report: overview + 72 head pages (6 layers x 12 heads) at 64 tokens."""
    import numpy as np

    import izzyviz

    rng = np.random.default_rng(0)
    logits = rng.standard_normal((6, 12, 64, 64)) * 2
    attentions = np.exp(logits - logits.max(axis=-1, keepdims=True))
    attentions /= attentions.sum(axis=-1, keepdims=True)
    labels = [f"tok{i}" for i in range(64)]
    path = os.path.join(outdir, "report.pdf")
    izzyviz.report(attentions[:1, :1], labels, path, progress=False)  # warm: fonts, backend

    def once() -> float:
        t0 = time.perf_counter()
        izzyviz.report(attentions, labels, path, progress=False)
        return time.perf_counter() - t0

    times = [once() for _ in range(3)]
    print("RESULT " + json.dumps({"times": times, "bytes": os.path.getsize(path)}), flush=True)


def worker_raster(kind: str, path: str) -> None:
    import io

    import numpy as np

    if kind == "pdf":
        t0 = time.perf_counter()
        import pypdfium2 as pdfium

        doc = pdfium.PdfDocument(path)
        page = doc[0]
        w, h = page.get_size()
        scale = 800.0 / max(w, h)
        pixels = page.render(scale=scale).to_numpy()
        dt = time.perf_counter() - t0
        doc.close()
    else:
        t0 = time.perf_counter()
        import cairosvg
        from PIL import Image

        png = cairosvg.svg2png(url=path, output_width=800)
        pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
        dt = time.perf_counter() - t0
    rgb = pixels[..., :3].astype(np.int16)
    # Attention at 4096 tokens is mostly tiny values, drawn in the palest colour of the map
    # (Blues: #f7fbff), so count every pixel that is not pure white; a rendered heatmap covers
    # well over a third of the page, a blank page none of it.
    inked = float((rgb.min(axis=-1) < 255).mean())
    result = {
        "time": dt,
        "shape": list(pixels.shape[:2]),
        "inked": inked,
        "ok": inked > 0.25,
    }
    print("RESULT " + json.dumps(result), flush=True)


# -- subprocess plumbing -----------------------------------------------------------------------


def _cmd(*args: Any) -> list[str]:
    return [sys.executable, os.path.abspath(__file__), "--worker", *map(str, args)]


def run_worker(args: list[Any], timeout: float) -> dict[str, Any]:
    """Run one of this script's workers in a fresh interpreter (see harness.run_worker)."""
    return _run_worker(__file__, args, timeout)


def run_baseline(n: int, fmt: str, runs: int, outdir: str) -> dict[str, Any]:
    """Run the matplotlib worker; each figure must finish within BASELINE_TIMEOUT seconds
    (counted from the end of imports and warm-up)."""
    proc = subprocess.Popen(
        _cmd("mpl", n, fmt, runs, outdir),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=worker_env(),
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    times: list[float] = []
    size = 0
    deadline = 120.0  # imports + warm-up
    try:
        while True:
            try:
                line = lines.get(timeout=deadline)
            except queue.Empty:
                proc.kill()
                proc.wait()
                if times:
                    break
                return {"timeout": True}
            if line is None:
                break
            if line == "READY":
                deadline = BASELINE_TIMEOUT
            elif line.startswith("RUN "):
                run = json.loads(line[4:])
                times.append(run["time"])
                size = run["size"]
            elif line == "DONE":
                break
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    if not times:
        assert proc.stderr is not None
        tail = (proc.stderr.read().strip().splitlines() or ["no output"])[-1]
        return {"error": f"exit {proc.returncode}: {tail}"}
    return {"time": statistics.median(times), "runs": len(times), "size": size}


def measure_import(runs: int = IMPORT_RUNS) -> dict[str, float]:
    """What importing izzyviz costs after numpy, and with ``izzyviz.heatmap`` touched (which
    loads the lazy submodules), as ``-X importtime`` accounts it: the least of ``runs`` fresh
    interpreters (the least disturbed by other processes). Each sample is a sum of positive
    times, so the result cannot go negative. The wall times of whole interpreters (median)
    are kept for context."""
    snippets = {
        "numpy": "import numpy",
        "izzyviz": "import numpy, izzyviz",
        "heatmap": "import numpy, izzyviz; izzyviz.heatmap",
    }
    walls: dict[str, list[float]] = {k: [] for k in snippets}
    costs: dict[str, list[float]] = {"izzyviz": [], "heatmap": []}
    env = worker_env()
    for round_ in range(runs + 1):  # the first round warms the OS file cache and is dropped
        for key, code in snippets.items():
            t0 = time.perf_counter()
            proc = subprocess.run(
                [sys.executable, "-X", "importtime", "-c", code],
                capture_output=True,
                text=True,
                check=True,
                env=env,
            )
            if round_ == 0:
                continue
            walls[key].append(time.perf_counter() - t0)
            if key in costs:
                costs[key].append(importtime_total(proc.stderr, "izzyviz"))
    result = {f"wall_{k}": statistics.median(v) for k, v in walls.items()}
    result.update({k: min(v) for k, v in costs.items()})
    return result


# -- report ------------------------------------------------------------------------------------


def targets_for(
    n: int, fmt: str, r: dict[str, Any], speedup: float | None, lower: bool
) -> list[str]:
    """The target checks that apply to one (size, format) row."""
    out: list[str] = []
    t, size, peak = r["time"], r["size"], r["rss_peak"]
    if n == 256:
        if speedup is None:
            out.append("speed-up>=300x n/a")
        else:
            out.append(check(speedup >= 300, "speed-up>=300x") + (" (bound)" if lower else ""))
    if n == 1024:
        out.append(check(t <= 0.3, "t<=0.3s"))
        if fmt == "pdf":
            out.append(check(size <= 2 * MB, "size<=2MB"))
    if n == 4096:
        limit = 2.0 if fmt == "png" else 1.5
        out.append(check(t <= limit, f"t<={limit:g}s"))
        out.append(check(size <= 12 * MB, "size<=12MB"))
        out.append(check(peak <= 600 * MB, "peak<=600MB"))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes",
        default=",".join(map(str, ALL_SIZES)),
        help="comma-separated token counts (default: %(default)s)",
    )
    parser.add_argument(
        "--formats",
        default=",".join(ALL_FORMATS),
        help="comma-separated formats (default: %(default)s)",
    )
    parser.add_argument(
        "--runs",
        type=int,
        default=None,
        help="timed runs per case (default: 5, or 3 for n >= 4096)",
    )
    parser.add_argument("--no-baseline", action="store_true", help="skip the matplotlib baseline")
    parser.add_argument(
        "--quick", action="store_true", help="sizes 12 and 64, one run each (smoke test)"
    )
    parser.add_argument("--keep", metavar="DIR", help="write the figures to DIR and keep them")
    parser.add_argument("--json", metavar="PATH", help="also write all measurements as JSON")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        kind, *rest = args.worker
        if kind == "izzy":
            worker_izzy(int(rest[0]), rest[1], int(rest[2]), rest[3])
        elif kind == "mpl":
            worker_mpl(int(rest[0]), rest[1], int(rest[2]), rest[3])
        elif kind == "quick":
            worker_quick(rest[0], rest[1])
        elif kind == "report":
            worker_report(rest[0])
        elif kind == "raster":
            worker_raster(rest[0], rest[1])
        else:
            parser.error(f"unknown worker {kind}")
        return 0

    if args.quick:
        sizes = [12, 64]
        runs_override: int | None = 1
    else:
        sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
        runs_override = args.runs
    formats = [f.strip().lower() for f in args.formats.split(",") if f.strip()]
    for f in formats:
        if f not in ALL_FORMATS:
            parser.error(f"--formats: unknown format {f!r}")
    if any(n < 2 for n in sizes):
        parser.error("--sizes: each size must be at least 2")

    tmp = None
    if args.keep:
        outdir = os.path.abspath(args.keep)
        os.makedirs(outdir, exist_ok=True)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="izzyviz-bench-")
        outdir = tmp.name

    import numpy

    import izzyviz

    print(
        f"IzzyViz {izzyviz.__version__} benchmark  |  Python {sys.version.split()[0]}, "
        f"numpy {numpy.__version__}, {os.cpu_count()} CPUs, {sys.platform}"
    )
    baseline_on = not args.no_baseline
    if baseline_on:
        import matplotlib

        print(f"baseline: matplotlib {matplotlib.__version__} (Agg), original-IzzyViz style")
    print(flush=True)

    misses: list[str] = []
    errors: list[str] = []
    results: dict[str, Any] = {
        "cases": [],
        "baseline": [],
        "import": None,
        "quick": {},
        "raster": {},
    }

    # ---- main table -------------------------------------------------------------------------
    rows: list[list[str]] = []
    baseline_dead: set[str] = set()  # formats whose baseline timed out at a smaller size
    for n in sizes:
        runs = runs_override or (3 if n >= 4096 else 5)
        for fmt in formats:
            print(f"  ... {n} tokens, {fmt}", file=sys.stderr, flush=True)
            r = run_worker(["izzy", n, fmt, runs, outdir], CASE_TIMEOUT)
            results["cases"].append({"n": n, "format": fmt, **r})
            b: dict[str, Any] | None = None
            if baseline_on:
                if fmt in baseline_dead:
                    b = {"timeout": True, "skipped": True}
                else:
                    print(f"  ... {n} tokens, {fmt}, matplotlib", file=sys.stderr, flush=True)
                    b = run_baseline(n, fmt, runs, outdir)
                    if b.get("timeout"):
                        baseline_dead.add(fmt)
                results["baseline"].append({"n": n, "format": fmt, **b})
            if "error" in r:
                errors.append(f"{n} {fmt}: {r['error']}")
                rows.append([str(n), fmt, "ERROR", "-", "-", "-", "-", "-", "-", "-", r["error"]])
                continue
            r["time"] = statistics.median(r["times"])
            r["build"] = statistics.median(r["build_times"])
            speed, lower = None, False
            if b is None:
                bcol, scol = "-", "-"
            elif b.get("timeout"):
                bcol = f"> {BASELINE_TIMEOUT:.0f} s" + (" (skip)" if b.get("skipped") else "")
                speed, lower = BASELINE_TIMEOUT / r["time"], True
                scol = f"> {speed:,.0f}x"
            elif "error" in b:
                bcol, scol = "ERROR", "-"
                errors.append(f"{n} {fmt} baseline: {b['error']}")
            else:
                speed = b["time"] / r["time"]
                bcol = fmt_time(b["time"])
                scol = f"{speed:,.0f}x" if speed >= 10 else f"{speed:.1f}x"
            tgt = targets_for(n, fmt, r, speed, lower)
            misses += [f"{n} tokens {fmt}: {t}" for t in tgt if t.endswith("MISS")]
            rows.append(
                [
                    str(n),
                    fmt,
                    fmt_time(r["time"]),
                    fmt_time(r["build"]),
                    str(len(r["times"])),
                    f"{r['rss_peak'] / MB:.0f} MB",
                    f"{(r['rss_peak'] - r['rss_base']) / MB:+.0f} MB",
                    fmt_bytes(r["size"]),
                    bcol,
                    scol,
                    "; ".join(tgt) or "-",
                ]
            )
    print_table(
        [
            "tokens",
            "format",
            "time",
            "(build)",
            "runs",
            "peak RSS",
            "(+ over base)",
            "file",
            "matplotlib",
            "speed-up",
            "targets",
        ],
        rows,
        "rlrrrrrrrrl",
    )
    print()

    # ---- import and quick start ------------------------------------------------------------
    print("  ... import time", file=sys.stderr, flush=True)
    imp = measure_import()
    results["import"] = imp
    over, over_heatmap = imp["izzyviz"], imp["heatmap"]
    other: list[list[str]] = []
    t = check(over <= 0.050, "<=50ms")
    if t.endswith("MISS"):
        misses.append(f"import izzyviz: {t}")
    other.append(
        [
            "import izzyviz (over numpy)",
            fmt_time(over),
            f"-X importtime, least of {IMPORT_RUNS} fresh interpreters; wall (median): numpy "
            f"{fmt_time(imp['wall_numpy'])}, numpy+izzyviz {fmt_time(imp['wall_izzyviz'])}",
            t,
        ]
    )
    other.append(
        [
            "  + izzyviz.heatmap loaded",
            fmt_time(over_heatmap),
            "lazy submodules (layout, colors, ...) imported on first attribute use",
            "info",
        ]
    )
    for fmt in ("pdf", "svg", "png"):
        if fmt not in formats:
            continue
        print(f"  ... quick start, {fmt}", file=sys.stderr, flush=True)
        q = run_worker(["quick", fmt, outdir], CASE_TIMEOUT)
        results["quick"][fmt] = q
        if "error" in q:
            errors.append(f"quick start {fmt}: {q['error']}")
            other.append([f"quick start {fmt} (12 tokens, top_n=5)", "ERROR", q["error"], "-"])
            continue
        warm = statistics.median(q["warm"])
        if fmt == "png":
            t = "info"
        else:
            t = check(warm <= 0.020, "<=20ms")
            if t.endswith("MISS"):
                misses.append(f"quick start {fmt}: {t}")
        other.append(
            [
                f"quick start {fmt} (12 tokens, top_n=5)",
                fmt_time(warm),
                f"median of {QUICK_RUNS} warm runs; first use {fmt_time(q['first'])}",
                t,
            ]
        )

    # ---- the whole-model report -------------------------------------------------------------
    if "pdf" in formats:
        print("  ... report, 72 heads at 64 tokens", file=sys.stderr, flush=True)
        r = run_worker(["report", outdir], CASE_TIMEOUT)
        results["report"] = r
        if "error" in r:
            errors.append(f"report: {r['error']}")
            other.append(["report pdf (72 heads, 64 tokens)", "ERROR", r["error"], "-"])
        else:
            median = statistics.median(r["times"])
            t = check(median <= 2.0, "<=2s")
            if t.endswith("MISS"):
                misses.append(f"report: {t}")
            other.append(
                [
                    "report pdf (72 heads, 64 tokens)",
                    fmt_time(median),
                    f"73 pages, {fmt_bytes(r['bytes'])}; median of 3 warm runs",
                    t,
                ]
            )

    # ---- rasterising the biggest files ------------------------------------------------------
    if 4096 in sizes:
        for fmt, tool in (("pdf", "pypdfium2"), ("svg", "cairosvg")):
            case = next(
                (
                    c
                    for c in results["cases"]
                    if c["n"] == 4096 and c["format"] == fmt and "error" not in c
                ),
                None,
            )
            if case is None:
                continue
            print(f"  ... rasterising 4096 {fmt}", file=sys.stderr, flush=True)
            ras = run_worker(["raster", fmt, case["path"]], CASE_TIMEOUT)
            results["raster"][fmt] = ras
            if "error" in ras:
                errors.append(f"rasterising 4096 {fmt}: {ras['error']}")
                other.append([f"4096 {fmt} opens ({tool})", "ERROR", ras["error"], "-"])
                continue
            h, w = ras["shape"]
            status = "info (renders)" if ras["ok"] else "info (BLANK?)"
            if not ras["ok"]:
                errors.append(f"rasterising 4096 {fmt}: image looks blank")
            other.append(
                [
                    f"4096 {fmt} opens ({tool})",
                    fmt_time(ras["time"]),
                    f"{w}x{h} px, {ras['inked']:.0%} of pixels inked",
                    status,
                ]
            )
    print_table(["measurement", "value", "detail", "target"], other, "lrll")
    print()

    print(
        "time = median wall time of heatmap() + save() (labels, colour bar, file write), warm "
        "(backend and fonts loaded); (build) = the heatmap() part alone."
    )
    print(
        "peak RSS = ru_maxrss of a fresh process per case (absolute; target checks use it); "
        "(+ over base) = minus ru_maxrss after imports and building the input matrix."
    )
    print(
        f"matplotlib = the same figure drawn as the original IzzyViz does (one ax.text per "
        f"cell), median warm time; '> {BASELINE_TIMEOUT:.0f} s' = timed out (speed-up is then "
        "a lower bound)."
    )
    if misses:
        print(f"\nMISSED targets ({len(misses)}): " + "; ".join(misses))
    else:
        print("\nAll targets met.")
    if errors:
        print(f"\nERRORS ({len(errors)}):\n  " + "\n  ".join(errors))

    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    if tmp is not None:
        tmp.cleanup()
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
