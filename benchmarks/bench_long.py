#!/usr/bin/env python
"""Long-context heatmaps (issue 15), 4k to 32k tokens, beside the code before block reading.

    python benchmarks/bench_long.py                          # every size, format and input
    python benchmarks/bench_long.py --sizes 4096 --formats pdf --inputs structured
    python benchmarks/bench_long.py --no-baseline --keep /tmp/long-figures

Inputs are float32 in memory up to 16384 tokens and a float16 ``.npy`` file opened with
``np.load(mmap_mode="r")`` from 32768 (written to the temp folder, deleted afterwards).
``random`` is a row softmax of noise (the worst case for compression); ``structured`` adds an
attention sink (column 0, ~0.1 of each row), a previous-token diagonal (~0.07 per row) and one
bright cell (0.25) to soft noise; ``masked`` is ``structured`` as a numpy masked array with its
upper triangle masked (up to 16k tokens: its peak memory should stay within twice
``structured``'s). Every figure is rasterised at 150 dpi (PDF with pdftoppm,
SVG with cairosvg, PNG as written) and, for ``structured``, the three features are looked for
in its pixels. The baseline is the code before block reading (``git archive`` of
``BASELINE_REF``; ``--baseline-ref`` picks another), run only where it fits in about 3 GB (it
holds several float64 copies of the matrix).
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy as np
from harness import MB, check, emit, fmt_bytes, fmt_time, max_rss, print_table, run_worker
from numpy.typing import NDArray

ALL_SIZES = (12, 64, 256, 1024, 4096, 8192, 16384, 32768)
#: Features are looked for from this size on (smaller maps enlarge the top cells' rows).
LOOK_FROM = 2048
ALL_FORMATS = ("pdf", "svg", "png")
ALL_INPUTS = ("random", "structured", "masked")
#: Masked maps (the structured input, its upper triangle masked) are built in memory up to here.
MASKED_MAX = 16384
#: (time s, peak RSS MB, file MB) per size, from issue 15.
GOALS = {
    4096: (0.3, 250, 12),
    8192: (1.0, 600, 20),
    16384: (3.0, 1536, 20),
    32768: (10.0, 2560, 20),
}
MEMMAP_FROM = 32768
BASELINE_MAX = 8192
CASE_TIMEOUT = 900.0
SEED = 15
DPI = 150
SINK, DIAGONAL, BRIGHT = 0.1, 0.07, 0.25
#: A feature is visible when its pixels are this much darker (0-255, mean of R, G, B) than
#: the heatmap's background.
MIN_CONTRAST = 12.0


# -- inputs ------------------------------------------------------------------------------------


def bright_cell(n: int) -> tuple[int, int]:
    return (n * 5) // 8, (n * 3) // 8


def input_rows(n: int, kind: str, r0: int, r1: int) -> NDArray[np.float32]:
    """Rows ``r0:r1`` of the ``kind`` input of size ``n`` (seeded per block, so a memmapped
    file can be written block by block)."""
    rng = np.random.default_rng([SEED, n, r0])
    rows = rng.standard_normal((r1 - r0, n), dtype=np.float32)
    rows *= 3.0 if kind == "random" else 1.0
    np.exp(rows, out=rows)
    rows /= rows.sum(axis=1, keepdims=True)
    if kind == "structured":
        rows *= 1.0 - SINK - DIAGONAL
        jitter = 1.0 + 0.05 * rng.random((r1 - r0, 2), dtype=np.float32)
        rows[:, 0] += SINK * jitter[:, 0]
        index = np.arange(r0, r1)
        ok = index > 0
        rows[np.flatnonzero(ok), index[ok] - 1] += DIAGONAL * jitter[ok, 1]
        br, bc = bright_cell(n)
        if r0 <= br < r1:
            rows[br - r0, bc] = BRIGHT
    return rows


def make_input(n: int, kind: str) -> Any:
    rows = "structured" if kind == "masked" else kind
    matrix = np.empty((n, n), dtype=np.float32)
    mask = np.zeros((n, n), dtype=bool) if kind == "masked" else None
    for r0 in range(0, n, 1024):
        matrix[r0 : r0 + 1024] = input_rows(n, rows, r0, min(n, r0 + 1024))
        if mask is not None:
            block = np.arange(r0, min(n, r0 + 1024))[:, None]
            mask[r0 : r0 + 1024] = np.arange(n)[None, :] > block
    return matrix if mask is None else np.ma.masked_array(matrix, mask)


def write_memmap(n: int, kind: str, path: str) -> None:
    """A float16 ``.npy`` file of the input, written block by block."""
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float16, shape=(n, n))
    for r0 in range(0, n, 1024):
        out[r0 : r0 + 1024] = input_rows(n, kind, r0, min(n, r0 + 1024))
    out.flush()
    del out


# -- looking for the features in the pixels ---------------------------------------------------


def ink(rgb: NDArray[np.uint8]) -> NDArray[np.float64]:
    """How dark pixels are: 255 minus the mean of R, G and B."""
    return 255.0 - rgb[..., :3].astype(np.float64).mean(axis=-1)


def feature_contrast(
    rgb: NDArray[np.uint8], box: tuple[float, float, float, float], n: int
) -> dict[str, float]:
    """How much darker than the background the sink column, the previous-token diagonal and the
    bright cell of the ``structured`` input are in a rendering ``rgb`` whose heatmap occupies
    pixel box ``(x0, y0, x1, y1)``."""
    x0, y0, x1, y1 = box
    dark = ink(rgb)
    sx, sy = (x1 - x0) / n, (y1 - y0) / n
    inner = dark[int(y0) + 3 : int(y1) - 3, int(x0) + 3 : int(x1) - 3]
    background = float(np.median(inner))
    samples = np.linspace(0.1, 0.9, 40)
    sink, diagonal = [], []
    for f in samples:
        y = int(y0 + f * (y1 - y0))
        sink.append(dark[y, int(x0) : int(x0) + 3].max())
        x = int(x0 + (f * n - 1 + 0.5) * sx)
        diagonal.append(dark[y, x - 2 : x + 3].max())
    br, bc = bright_cell(n)
    bx, by = int(x0 + (bc + 0.5) * sx), int(y0 + (br + 0.5) * sy)
    bright = float(dark[by - 2 : by + 3, bx - 2 : bx + 3].max())
    return {
        "sink": float(np.median(sink)) - background,
        "diagonal": float(np.median(diagonal)) - background,
        "bright": bright - background,
    }


def rasterise(path: str, fmt: str) -> NDArray[np.uint8]:
    """The file as RGB pixels at 150 dpi (PNG as written)."""
    from PIL import Image

    if fmt == "pdf":
        png = subprocess.run(
            ["pdftoppm", "-png", "-r", str(DPI), "-singlefile", path],
            capture_output=True,
            check=True,
        ).stdout
    elif fmt == "svg":
        import cairosvg

        png = cairosvg.svg2png(url=path, dpi=DPI)
    else:
        png = Path(path).read_bytes()
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def heatmap_box(fig: Any) -> tuple[float, float, float, float]:
    """The heatmap's rectangle on the page, in points."""
    panel = fig.scene.root.children[0]
    grid = panel.find("heatmap")[0].children[0]
    dx, dy = panel.transform[4], panel.transform[5]
    return dx, dy, dx + float(grid.x_edges[-1]), dy + float(grid.y_edges[-1])


# -- workers (fresh interpreters) ---------------------------------------------------------------


def worker_case(
    n: int, fmt: str, kind: str, runs: int, outdir: str, source: str, norm: str = "-"
) -> None:
    import izzyviz

    options = {} if norm == "-" else {"norm": norm}  # "-": the code's default (older code: none)
    matrix: Any = make_input(n, kind) if source == "memory" else np.load(source, mmap_mode="r")
    labels = [f"tok{i}" for i in range(n)]
    rss_base = max_rss()
    izzyviz.heatmap(np.eye(4), list("abcd"), list("abcd")).render(fmt)  # warm-up
    path = os.path.join(outdir, f"{kind}_{n}.{fmt}")
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fig = izzyviz.heatmap(matrix, labels, labels, title=f"{kind}, {n} tokens", **options)
        fig.save(path)
        times.append(time.perf_counter() - t0)
    x0, y0, x1, y1 = heatmap_box(fig)
    emit(
        {
            "times": times,
            "rss_base": rss_base,
            "size": os.path.getsize(path),
            "path": path,
            "box": [x0, y0, x1, y1],
        }
    )


def worker_look(path: str, fmt: str, n: int, box: list[float]) -> None:
    """Rasterise a figure and measure the structured input's features in it."""
    rgb = rasterise(path, fmt)
    scale = DPI / 72
    pixel_box = (box[0] * scale, box[1] * scale, box[2] * scale, box[3] * scale)
    emit({"contrast": feature_contrast(rgb, pixel_box, n), "shape": list(rgb.shape[:2])})


# -- the run -----------------------------------------------------------------------------------


#: The last landed commit before long maps were read in blocks: the "current approach" of issue 15.
BASELINE_REF = "667857c"


def main_checkout(tmp: str, ref: str) -> str | None:
    """The baseline's code (git ``ref``) exported to ``tmp`` (None when git cannot give it)."""
    root = Path(__file__).resolve().parents[1]
    target = os.path.join(tmp, "baseline")
    os.makedirs(target)
    archive = subprocess.run(
        ["git", "-C", str(root), "archive", ref], capture_output=True, check=False
    )
    if archive.returncode != 0:
        return None
    subprocess.run(["tar", "-x", "-C", target], input=archive.stdout, check=True)
    # Lay the backends out as an install does: older checkouts cannot find them beside the
    # package, and an editable install's import hook would hand them this checkout's instead.
    os.rename(os.path.join(target, "backends"), os.path.join(target, "izzyviz", "backends"))
    return target


def verdicts(n: int, r: dict[str, Any]) -> list[str]:
    goal = GOALS.get(n)
    if goal is None:
        return []
    t, rss, size = goal
    return [
        check(r["time"] <= t, f"t<={t:g}s"),
        check(r["rss_peak"] <= rss * MB, f"rss<={rss}MB"),
        check(r["size"] <= size * MB, f"file<={size}MB"),
    ]


def seen(r: dict[str, Any]) -> str:
    c = r.get("contrast")
    if not c:
        return "-"
    marks = [f"{k[0]}{'+' if v >= MIN_CONTRAST else '-'}{v:.0f}" for k, v in c.items()]
    return " ".join(marks)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=",".join(map(str, ALL_SIZES)))
    parser.add_argument("--formats", default=",".join(ALL_FORMATS))
    parser.add_argument("--inputs", default=",".join(ALL_INPUTS))
    parser.add_argument("--runs", type=int, default=None, help="timed runs (default 3, 1 at 32k)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the baseline")
    parser.add_argument(
        "--baseline-ref",
        default=BASELINE_REF,
        help=f"git commit drawn as the baseline (default {BASELINE_REF}: before block reading)",
    )
    parser.add_argument(
        "--baseline-max",
        type=int,
        default=BASELINE_MAX,
        help=f"largest size the baseline draws (default {BASELINE_MAX}: the code before block "
        "reading needs over 3 GB above it; a later --baseline-ref reads in blocks too)",
    )
    parser.add_argument(
        "--norm",
        help="colour scale of this code's figures (the baseline keeps its own): e.g. power, the "
        "old default, to compare like with like",
    )
    parser.add_argument("--keep", metavar="DIR", help="write the figures to DIR and keep them")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        kind, *rest = args.worker
        if kind == "case":
            worker_case(int(rest[0]), rest[1], rest[2], int(rest[3]), *rest[4:])
        elif kind == "write":
            write_memmap(int(rest[0]), rest[1], rest[2])
            emit({})
        elif kind == "look":
            worker_look(rest[0], rest[1], int(rest[2]), [float(v) for v in rest[3:7]])
        return 0

    sizes = [int(s) for s in args.sizes.split(",")]
    formats = args.formats.split(",")
    inputs = args.inputs.split(",")
    tmp = tempfile.TemporaryDirectory(prefix="izzyviz-long-")
    outdir = os.path.abspath(args.keep) if args.keep else tmp.name
    os.makedirs(outdir, exist_ok=True)
    baseline = None if args.no_baseline else main_checkout(tmp.name, args.baseline_ref)
    versions = [("this", None)] + ([("before", {"PYTHONPATH": baseline})] if baseline else [])
    here = {"PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    rows: list[list[str]] = []
    misses: list[str] = []
    peaks: dict[tuple[int, str], float] = {}  # (tokens, format) -> structured input's peak RSS
    for n in sizes:
        for kind in inputs:
            if kind == "masked" and n > MASKED_MAX:
                continue
            source = "memory"
            if n >= MEMMAP_FROM:
                source = os.path.join(tmp.name, f"{kind}_{n}.npy")
                print(f"  ... writing {source}", file=sys.stderr, flush=True)
                # In a process of its own: a child's ru_maxrss starts at its parent's peak
                # (Linux carries it across fork and exec), and writing maps the whole file.
                written = run_worker(__file__, ["write", n, kind, source], CASE_TIMEOUT)
                if "error" in written:
                    rows.append([str(n), kind, "-", "-", "ERROR " + written["error"]] + [""] * 4)
                    continue
            for fmt in formats:
                for version, env in versions:
                    if version == "before" and n > args.baseline_max:
                        rows.append(
                            [str(n), kind, fmt, version, "skipped: needs > 3 GB"] + [""] * 4
                        )
                        continue
                    print(f"  ... {n} {kind} {fmt} ({version})", file=sys.stderr, flush=True)
                    runs = args.runs or (1 if n >= MEMMAP_FROM else 3)
                    sub = os.path.join(outdir, version)
                    os.makedirs(sub, exist_ok=True)
                    r = run_worker(
                        __file__,
                        ["case", n, fmt, kind, runs, sub, source]
                        + ([args.norm] if version == "this" and args.norm else []),
                        CASE_TIMEOUT,
                        env or here,
                    )
                    if "error" in r:
                        rows.append([str(n), kind, fmt, version, "ERROR " + r["error"]] + [""] * 4)
                        continue
                    r["time"] = statistics.median(r["times"])
                    if kind == "structured" and n >= LOOK_FROM:
                        look = run_worker(
                            __file__, ["look", r["path"], fmt, n, *r["box"]], CASE_TIMEOUT
                        )
                        r["contrast"] = look.get("contrast")
                    tgt = verdicts(n, r) if version == "this" else []
                    if version == "this" and kind == "structured":
                        peaks[n, fmt] = r["rss_peak"]
                    if version == "this" and kind == "masked" and (n, fmt) in peaks:
                        tgt.append(check(r["rss_peak"] <= 2 * peaks[n, fmt], "rss<=2x unmasked"))
                    misses += [f"{n} {kind} {fmt}: {t}" for t in tgt if t.endswith("MISS")]
                    rows.append(
                        [
                            str(n),
                            kind,
                            fmt,
                            version,
                            fmt_time(r["time"]),
                            f"{r['rss_peak'] / MB:.0f} MB",
                            fmt_bytes(r["size"]),
                            seen(r),
                            "; ".join(tgt) or "-",
                        ]
                    )
            if source != "memory":
                os.unlink(source)
    print()
    print_table(
        ["tokens", "input", "format", "code", "time", "peak RSS", "file", "seen", "goals"],
        rows,
        "rllllrrll",
    )
    print(
        "\ntime: median wall time of heatmap() + save(), warm; peak RSS: ru_maxrss of the case's "
        "own process, input included; seen: how much darker than the background (0-255) the "
        f"sink (s), diagonal (d) and bright cell (b) are at {DPI} dpi, '+' when >= "
        f"{MIN_CONTRAST:g}."
    )
    print("\nAll goals met." if not misses else f"\nMISSED ({len(misses)}): " + "; ".join(misses))
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
