"""The small harness every benchmark shares: subprocess cases, peak RSS, medians, tables.

A benchmark script runs each case in a fresh interpreter (so ``ru_maxrss`` belongs to that case
alone) by calling itself with ``--worker ARGS...``; the worker prints one ``RESULT {json}`` line.
The parent collects those results with :func:`run_worker` and prints them with
:func:`print_table`, next to the baseline measured in the same run.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

MB = 1024 * 1024

# Benchmarks measure the checkout they live in, not whatever `pip install -e` points at (a
# worktree's benchmark otherwise imports the editable install's izzyviz). A PYTHONPATH given to
# run another version (a baseline worker) still comes first.
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_GIVEN = {os.path.abspath(p) for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p}
if _ROOT not in sys.path:
    _AFTER = [i for i, p in enumerate(sys.path) if p and os.path.abspath(p) in _GIVEN]
    sys.path.insert(max(_AFTER, default=0) + 1, _ROOT)


def max_rss() -> int:
    """Peak resident set size of this process so far, in bytes (Linux reports KiB)."""
    import resource

    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb if sys.platform == "darwin" else kb * 1024


def current_rss() -> int:
    """Resident set size of this process now, in bytes (Linux only; 0 elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0


def timed(fn: Callable[[], Any], runs: int) -> tuple[float, list[float]]:
    """Median wall time of ``runs`` calls of ``fn`` and every sample, in seconds."""
    samples = []
    for _ in range(max(1, runs)):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples), samples


def importtime_total(stderr: str, package: str) -> float:
    """Seconds ``python -X importtime`` reports for importing ``package`` and its submodules:
    the sum of the cumulative times of the top-level entries named ``package`` or
    ``package.*`` (a submodule imported by another is inside that one's time). A sum of
    positive times, so never negative, unlike the difference of two interpreters' wall times."""
    total = 0
    for line in stderr.splitlines():
        parts = line.split("|")
        if len(parts) != 3 or not parts[1].strip().isdigit():
            continue
        name = parts[2]
        top_level = name.startswith(" ") and not name.startswith("  ")
        module = name.strip()
        if top_level and (module == package or module.startswith(package + ".")):
            total += int(parts[1])
    return total / 1e6


def emit(result: dict[str, Any]) -> None:
    """Print a worker's result for :func:`run_worker` to read (adds ``rss_peak``)."""
    result.setdefault("rss_peak", max_rss())
    print("RESULT " + json.dumps(result), flush=True)


def worker_env() -> dict[str, str]:
    """The environment workers run in: no bytecode writes, a headless matplotlib."""
    env = dict(os.environ)
    env.setdefault("MPLBACKEND", "Agg")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def run_worker(
    script: str, args: Sequence[Any], timeout: float, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """Run ``script --worker ARGS`` in a fresh interpreter; return its RESULT json, or
    ``{"error": ...}`` when it failed or timed out. ``env`` adds to :func:`worker_env` (e.g. a
    ``PYTHONPATH`` that runs another version of the code)."""
    cmd = [sys.executable, os.path.abspath(script), "--worker", *map(str, args)]
    try:
        proc = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**worker_env(), **(env or {})},
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return dict(json.loads(line[7:]))
    tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
    return {"error": f"exit {proc.returncode}: {tail}"}


def fmt_time(s: float | None) -> str:
    """``12.3 ms`` below a second, ``1.23 s`` above, ``-`` for nothing."""
    if s is None:
        return "-"
    if s < 1.0:
        return f"{s * 1000:.1f} ms"
    return f"{s:.2f} s"


def fmt_bytes(b: float | None) -> str:
    """``123 KB`` below a MiB, ``1.2 MB`` above, ``-`` for nothing."""
    if b is None:
        return "-"
    if b < MB:
        return f"{b / 1024:.0f} KB"
    return f"{b / MB:.1f} MB"


def check(ok: bool, what: str) -> str:
    """A target's verdict for the table: ``"<what> PASS"`` or ``"<what> MISS"``."""
    return f"{what} {'PASS' if ok else 'MISS'}"


def print_table(headers: list[str], rows: list[list[str]], align: str) -> None:
    """Print rows under headers; ``align`` has one ``l`` or ``r`` per column."""
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)
    ]

    def line(cells: list[str]) -> str:
        parts = []
        for cell, w, a in zip(cells, widths, align, strict=True):
            parts.append(cell.rjust(w) if a == "r" else cell.ljust(w))
        return "  ".join(parts).rstrip()

    print(line(headers))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print(line(r))
