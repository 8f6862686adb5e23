"""Smoke test: the benchmark script runs and prints its table (no timing assertions)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_heatmap.py"
# Real `python -X importtime` lines: izzyviz imported after numpy, then a lazy submodule.
IMPORTTIME = """\
import time: self [us] | cumulative | imported package
import time:      1110 |      23978 |   __editable___izzyviz_0_2_0_finder
import time:      2661 |     724103 | numpy
import time:     15133 |      15133 | izzyviz
import time:     16409 |      16409 | izzyviz._validate
import time:    101265 |     101265 |   izzyviz.scene
import time:     32851 |     157604 | izzyviz.colors
import time:     18471 |      18471 |     izzyviz.raster
import time:      5196 |     296337 | izzyviz.figure
"""


def test_import_cost_sums_top_level_izzyviz_modules() -> None:
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        from harness import importtime_total
    finally:
        sys.path.remove(str(SCRIPT.parent))
    # 15133 + 16409 + 157604 + 296337 us: nested modules are inside their parents' totals.
    assert importtime_total(IMPORTTIME, "izzyviz") == (15133 + 16409 + 157604 + 296337) / 1e6
    assert importtime_total(IMPORTTIME, "numpy") == 0.724103
    assert importtime_total("", "izzyviz") == 0.0


def run_benchmark(script: Path, args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run a benchmark script in ``cwd`` with this checkout's package; it must succeed."""
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=str(script.parents[1]))
    proc = subprocess.run(
        [sys.executable, str(script), *args],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        cwd=cwd,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def test_benchmark_quick_runs_and_prints_table(tmp_path: Path) -> None:
    args = ["--quick", "--no-baseline", "--json", str(tmp_path / "r.json")]
    proc = run_benchmark(SCRIPT, args, tmp_path)
    out = proc.stdout

    header = next((line for line in out.splitlines() if line.lstrip().startswith("tokens")), None)
    assert header is not None, out
    for column in (
        "format",
        "time",
        "runs",
        "peak RSS",
        "file",
        "matplotlib",
        "speed-up",
        "targets",
    ):
        assert column in header, header

    # One row per (size, format), with a time, a memory figure and a file size.
    for n in (12, 64):
        for fmt in ("pdf", "svg", "png"):
            row = re.search(rf"^\s*{n}\s+{fmt}\s+(.*)$", out, re.MULTILINE)
            assert row is not None, f"no row for {n} {fmt}:\n{out}"
            rest = row.group(1)
            assert "ERROR" not in rest, rest
            assert re.search(r"\d+(\.\d+)? (ms|s)\b", rest), rest
            assert re.search(r"\d+ MB", rest), rest
            assert re.search(r"\d+(\.\d+)? (KB|MB)", rest), rest
    assert not re.search(r"^\s*(256|1024|4096)\s+(pdf|svg|png)\b", out, re.MULTILINE), out

    # Import cost: -X importtime's own accounting, a sum of positive times (never a difference
    # of wall clocks, which went negative on a loaded machine).
    row = re.search(r"^import izzyviz \(over numpy\)\s+(\S+) (ms|s)\s+(.*)$", out, re.MULTILINE)
    assert row is not None, out
    assert float(row.group(1)) > 0 and "-X importtime" in row.group(3), row.group(0)
    loaded = re.search(r"^\s+\+ izzyviz.heatmap loaded\s+(\S+) (ms|s)\s", out, re.MULTILINE)
    assert loaded is not None and float(loaded.group(1)) >= float(row.group(1)), out
    for fmt in ("pdf", "svg"):
        assert re.search(
            rf"^quick start {fmt} .*\d+(\.\d+)? (ms|s) .*(PASS|MISS)", out, re.MULTILINE
        ), out
    assert "ERRORS" not in out
    assert (tmp_path / "r.json").is_file()
    # --no-baseline: no matplotlib runs.
    assert "baseline: matplotlib" not in out


def test_region_benchmark_quick_runs_and_prints_goals(tmp_path: Path) -> None:
    families = "dirichlet a=0.1,logits sd=1"  # no MiniLM: it needs torch and a forward pass
    args = ["--quick", "--families", families]
    proc = run_benchmark(SCRIPT.parent / "bench_regions.py", args, tmp_path)
    lines = proc.stdout.splitlines()
    assert lines[0] == "test half of the maps"
    assert lines[1].split()[:3] == ["tokens", "family", "method"]
    rows = [line.split() for line in lines[3:7]]
    assert [row[3] for row in rows] == ["ours", "baseline"] * 2
    assert [row[0] for row in rows] == ["64"] * 4
    for row in rows[::2]:  # ours is judged against the goals
        assert sum(word in ("PASS", "MISS") for word in row) == 3
    assert "exact boxes for the 40x40 planted blocks: PASS" in proc.stdout
