#!/usr/bin/env python
"""The command line at long context (issue 27): ``izzyviz render`` beside the library call.

    python benchmarks/bench_cli.py                     # 32k .npy and one head of an 8k 4-D file
    python benchmarks/bench_cli.py --size 8192 --runs 1 --no-baseline

Two inputs, written block by block into a temp folder (deleted afterwards):

* ``npy``: an n x n float16 ``.npy`` (n = ``--size``, 32768 by default: 2 GiB), the
  ``structured`` map of ``bench_long.py``. Drawn to PDF by the library call on the same memmap
  (``np.load(mmap_mode="r")`` + ``izzyviz.heatmap`` + ``save``, positions as labels) and by
  ``izzyviz render FILE -o x.pdf``, without and with ``--tokens`` (a file of 32,768 positions,
  as the issue's user wrote), and by the CLI before this change (``--baseline-ref``), which
  needs ``--tokens``.
* ``safetensors``: a 4-D (2 layers, 4 heads, 8192, 8192) float16 file (1 GiB), one head drawn
  to PNG (``--layer 1 --head 2``). The file is dropped from the page cache (``posix_fadvise``)
  just before the call, so ``read`` (``/proc/self/io`` ``read_bytes``) counts the bytes
  really read from disk.

Each case is a fresh process (``harness.run_worker``); it draws a tiny figure first (imports,
fonts), then times the call (``time``, median of ``--runs`` processes). ``peak RSS`` is the
process's ``ru_maxrss``. Goals: npy time <= 1.5x and peak RSS <= +300 MB against the library
call measured in the same run; safetensors read <= 2x the head's bytes (128 MiB).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import struct
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy as np
from bench_long import input_rows, main_checkout, write_memmap
from harness import MB, check, emit, fmt_bytes, fmt_time, print_table, run_worker

#: The last commit before the command line read files in place.
BASELINE_REF = "c4b3eed"
CASE_TIMEOUT = 900.0
STACK = (2, 4, 8192)  # layers, heads, tokens of the 4-D safetensors file
PICK = ("1", "2")  # --layer, --head drawn from it
GOAL_TIME, GOAL_RSS, GOAL_READ = 1.5, 300 * MB, 2.0


# -- inputs (written in a worker of their own) ----------------------------------------------------


def write_safetensors(path: str, layers: int, heads: int, n: int) -> None:
    """A float16 ``(layers, heads, n, n)`` safetensors file, written block by block (the format
    is an 8-byte header length, a JSON header, then the raw little-endian data)."""
    nbytes = layers * heads * n * n * 2
    entry = {"dtype": "F16", "shape": [layers, heads, n, n], "data_offsets": [0, nbytes]}
    header = json.dumps({"attentions": entry}).encode()
    header += b" " * (-len(header) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(header)) + header)
        for _ in range(layers * heads):
            for r0 in range(0, n, 1024):
                rows = input_rows(n, "structured", r0, min(n, r0 + 1024))
                f.write(rows.astype("<f2").tobytes())
        f.flush()
        os.fsync(f.fileno())


def read_bytes() -> int:
    """Bytes this process has read from storage so far (0 where /proc/self/io is missing)."""
    try:
        with open("/proc/self/io") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("read_bytes"))
    except OSError:
        return 0


def evict(path: str) -> None:
    """Drop ``path`` from the page cache, so that reading it reads the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


# -- workers ------------------------------------------------------------------------------------


def worker_case(mode: str, path: str, out: str, extra: list[str]) -> None:
    """One timed call: ``library`` (heatmap of the memmap) or ``cli`` (``main(render ...)``)."""
    import izzyviz

    izzyviz.heatmap(np.eye(4), list("abcd"), list("abcd")).render(Path(out).suffix[1:])
    if mode == "cli":
        from izzyviz.cli import main
    if path.endswith(".safetensors"):
        evict(path)
    before, t0 = read_bytes(), time.perf_counter()
    if mode == "library":
        matrix = np.load(path, mmap_mode="r")
        labels = [str(i) for i in range(matrix.shape[0])]
        izzyviz.heatmap(matrix, labels, labels).save(out)
    else:
        status = main(["render", path, "-o", out, *extra])
        if status != 0:
            raise SystemExit(f"izzyviz render exited with {status}")
    emit({"time": time.perf_counter() - t0, "read": read_bytes() - before})


# -- the run ------------------------------------------------------------------------------------


def run_cases(
    label: str, cases: list[tuple[str, str, list[str], dict[str, str] | None]], **kw: Any
) -> list[dict[str, Any]]:
    """Run each ``(code, mode, extra args, env)`` case ``runs`` times, in rounds (one process of
    every case per round, so that a machine's changing load falls on all of them alike);
    medians per case."""
    samples: list[list[dict[str, Any]]] = [[] for _ in cases]
    for round_ in range(kw["runs"]):
        for (code, mode, extra, env), got in zip(cases, samples, strict=True):
            print(f"  ... {label}: {code} ({round_ + 1})", file=sys.stderr, flush=True)
            args = ["case", mode, kw["path"], kw["out"], *extra]
            got.append(run_worker(__file__, args, CASE_TIMEOUT, env))
    results = []
    for (code, *_), got in zip(cases, samples, strict=True):
        good = [s for s in got if "error" not in s]
        if not good:
            results.append({"case": label, "code": code, "error": got[0]["error"]})
            continue
        results.append(
            {"case": label, "code": code}
            | {key: statistics.median(s[key] for s in good) for key in ("time", "rss_peak", "read")}
        )
    return results


def verdicts(rows: list[dict[str, Any]], head_bytes: int) -> None:
    """Judge each row against the library row of its case (or the head's bytes)."""
    library = {r["case"]: r for r in rows if r["code"] == "library" and "error" not in r}
    for r in rows:
        if "error" in r or not r["code"].startswith("this"):
            r["goals"] = "-"
        elif r["case"].startswith("npy") and r["case"] in library:
            base = library[r["case"]]
            r["goals"] = "; ".join(
                [
                    check(r["time"] <= GOAL_TIME * base["time"], f"t<={GOAL_TIME:g}x"),
                    check(r["rss_peak"] <= base["rss_peak"] + GOAL_RSS, "rss<=+300MB"),
                ]
            )
        else:
            r["goals"] = check(r["read"] <= GOAL_READ * head_bytes, "read<=2x head")


def worker(args: list[str]) -> int:
    """What a fresh process runs (``--worker KIND ARGS...``; the arguments of a case may start
    with ``--``, so argparse does not see them)."""
    kind, *rest = args
    if kind == "case":
        worker_case(rest[0], rest[1], rest[2], rest[3:])
    elif kind == "write":
        write_memmap(int(rest[0]), "structured", rest[1])
        layers, heads, n = STACK
        write_safetensors(rest[2], layers, heads, n)
        emit({})
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--worker"]:
        return worker(argv[1:])
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=32768, help="tokens of the .npy map")
    parser.add_argument("--runs", type=int, default=3, help="processes per case (median)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the CLI before")
    parser.add_argument("--baseline-ref", default=BASELINE_REF)
    args = parser.parse_args(argv)
    tmp = tempfile.TemporaryDirectory(prefix="izzyviz-cli-")
    folder = Path(tmp.name)
    npy, st, tokens = folder / "map.npy", folder / "stack.safetensors", folder / "tok.txt"
    tokens.write_text("\n".join(map(str, range(args.size))) + "\n", encoding="utf-8")
    print("  ... writing the inputs", file=sys.stderr, flush=True)
    written = run_worker(__file__, ["write", args.size, npy, st], CASE_TIMEOUT)
    if "error" in written:
        print(f"writing the inputs failed: {written['error']}")
        return 1
    here = {"PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    baseline = None if args.no_baseline else main_checkout(tmp.name, args.baseline_ref)
    before = {"PYTHONPATH": baseline} if baseline else None
    with_tokens = ["--tokens", str(tokens)]
    npy_cases = [
        ("library", "library", [], here),
        ("this, no --tokens", "cli", [], here),
        ("this, --tokens", "cli", with_tokens, here),
    ] + ([("before, --tokens", "cli", with_tokens, before)] if before else [])
    pick = ["--layer", PICK[0], "--head", PICK[1]]
    st_tokens = folder / "tok_stack.txt"  # the CLI before needs --tokens
    st_tokens.write_text("\n".join(map(str, range(STACK[2]))) + "\n", encoding="utf-8")
    before_pick = [*pick, "--tokens", str(st_tokens)]
    st_cases = [("this", "cli", pick, here)]
    st_cases += [("before, --tokens", "cli", before_pick, before)] if before else []
    kw = {"runs": args.runs}
    rows = run_cases(f"npy {args.size}", npy_cases, path=str(npy), out=str(folder / "x.pdf"), **kw)
    label = "safetensors {}x{}x{}".format(*STACK)
    rows += run_cases(label, st_cases, path=str(st), out=str(folder / "x.png"), **kw)
    head_bytes = STACK[2] ** 2 * 2
    verdicts(rows, head_bytes)
    table = [
        [r["case"], r["code"], "ERROR " + r["error"], "", "", ""]
        if "error" in r
        else [
            r["case"],
            r["code"],
            fmt_time(r["time"]),
            f"{r['rss_peak'] / MB:.0f} MB",
            fmt_bytes(r["read"]),
            r["goals"],
        ]
        for r in rows
    ]
    print()
    print_table(["input", "code", "time", "peak RSS", "read", "goals"], table, "llrrrl")
    print(
        f"\ntime: median over {args.runs} fresh processes (run in rounds) of the call alone "
        "(after a tiny warm-up figure); peak RSS: the process's ru_maxrss; read: bytes read "
        "from storage during the call (the safetensors file is dropped from the page cache "
        f"first; one head is {fmt_bytes(head_bytes)}). Goals are judged against the library "
        "row of the same input, measured in this run."
    )
    misses = [f"{r['case']} {r['code']}: {r['goals']}" for r in rows if "MISS" in r["goals"]]
    print("\nAll goals met." if not misses else f"\nMISSED: {'; '.join(misses)}")
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
