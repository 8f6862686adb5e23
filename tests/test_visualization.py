"""The seed API (``visualize_attention_*``) on real models, as the seed README calls it.

BERT examples run the pretrained all-MiniLM-L6-v2 on the seed README's sentences; GPT-2, T5 and
BART examples run tiny random models through ``generate()``. Every test checks the promised file
(default name, valid PDF, title, display labels and top values in its text) and, for bad input,
a clear error and no file.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pypdf
import pytest

import izzyviz
from izzyviz import visualization
from izzyviz.inputs import display_tokens, select_attention
from izzyviz.visualization import (
    visualize_attention_decoder_only,
    visualize_attention_encoder_decoder,
    visualize_attention_encoder_only,
)
from tests.figures import reference_top

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from tests import models  # noqa: E402
from tests.models import (  # noqa: E402
    fake_tokens,
    minilm,
    minilm_path,
    prompt_ids,
    tiny_bart,
    tiny_gpt2,
    tiny_t5,
)

QUICK_START = "The quick brown fox jumps over the lazy dog."
SELF_ATTENTION = "Deep learning models are revolutionizing AI."
QUESTION = "What is the capital of France?"
CONTEXT = "Paris is the capital city of France, known for its art, fashion, and culture."
QC_TITLES = [view.title for view in visualization.ENCODER_ONLY_MODES["question_context"].views]
PROMPT, NEW_TOKENS = 5, 6


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Default file names land in an empty temporary directory."""
    monkeypatch.chdir(tmp_path)


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def pdf_text(path: str | Path) -> str:
    """Text of a one-page PDF, checked to parse."""
    data = Path(path).read_bytes()
    assert data.startswith(b"%PDF-")
    reader = pypdf.PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 1
    return reader.pages[0].extract_text()


def top_values(fig: izzyviz.Figure) -> list[str]:
    return [f"{v:.3f}" for panel in fig.data["panels"] for _, _, v in panel["top_cells"]]


def check_pdf(
    path: str | Path, fig: izzyviz.Figure, titles: list[str], *label_lists: list[str]
) -> str:
    """The file exists, parses, and its text holds the titles, every label (display form) and
    every top value; returns the text."""
    assert Path(path).is_file(), f"{path} was not written"
    assert isinstance(fig, izzyviz.Figure)
    text = pdf_text(path)
    words = set(text.split())
    for title in titles:
        assert title in text
    for labels in label_lists:
        for label in display_tokens(labels):
            assert label in words, f"label {label!r} missing from the PDF text"
    values = top_values(fig)
    assert values
    for value in values:
        assert value in words, f"top value {value} missing from the PDF text"
    assert "Ġ" not in text
    return text


def expected_top(matrix: np.ndarray, top_n: int) -> list[tuple[int, int]]:
    """The top cells as documented (ties decided as written, see ``reference_top``)."""
    return reference_top(matrix, top_n)


def check_top(panel: dict[str, Any], matrix: np.ndarray, top_n: int) -> None:
    """The panel's top cells are those of ``matrix`` (so the right layer, head and part)."""
    assert panel["shape"] == list(matrix.shape)
    cells = sorted((r, c) for r, c, _ in panel["top_cells"])
    assert cells == expected_top(matrix, top_n)
    for r, c, value in panel["top_cells"]:
        assert value == pytest.approx(matrix[r, c], abs=1e-6)


def saved(capsys: pytest.CaptureFixture[str], *paths: str) -> None:
    assert capsys.readouterr().out == "".join(f"IzzyViz: saved {p}\n" for p in paths)


def no_files(tmp_path: Path) -> None:
    assert sorted(p.name for p in tmp_path.iterdir()) == []


# --------------------------------------------------------------------------------------------
# Model runs (cached per module)
# --------------------------------------------------------------------------------------------


def bert(*texts: str, **kwargs: Any) -> tuple[Any, list[str], Any]:
    """(tokenizer inputs, tokens of item 0, attentions) of all-MiniLM-L6-v2, eager attention."""
    model, tokenizer = minilm()
    inputs = tokenizer(*texts, return_tensors="pt", add_special_tokens=True, **kwargs)
    tokens = tokenizer.convert_ids_to_tokens(inputs["input_ids"][0])
    with torch.no_grad():
        outputs = model(**inputs, output_attentions=True)
    return inputs, tokens, outputs.attentions


@pytest.fixture(scope="module")
def quick_start() -> tuple[list[str], Any]:
    _, tokens, attentions = bert(QUICK_START)
    return tokens, attentions


@pytest.fixture(scope="module")
def question_context() -> tuple[Any, list[str], Any]:
    return bert(QUESTION, CONTEXT)


def generate(model: Any, input_ids: Any) -> Any:
    # The tiny models are shared and cached: a test that switches one to SDPA in place (e.g.
    # _from_config(model.config, attn_implementation="sdpa") mutates model.config) breaks this.
    assert model.config._attn_implementation == "eager", "a test changed a cached tiny model"
    return models.generate(model, input_ids, NEW_TOKENS)


@pytest.fixture(scope="module")
def gpt2() -> tuple[Any, Any]:
    """(generate output, attentions of a forward pass over the full sequence) — the seed
    README's generated-to-source recipe."""
    model = tiny_gpt2()
    output = generate(model, prompt_ids(PROMPT))
    with torch.no_grad():
        full = model(output.sequences, output_attentions=True).attentions
    return output, full


@pytest.fixture(scope="module", params=["t5", "bart"])
def seq2seq(request: pytest.FixtureRequest) -> Any:
    model = {"t5": tiny_t5, "bart": tiny_bart}[request.param]()
    return generate(model, prompt_ids(PROMPT))


# --------------------------------------------------------------------------------------------
# Encoder-only (BERT): the seed README's examples on pretrained all-MiniLM-L6-v2
# --------------------------------------------------------------------------------------------


def test_quick_start(quick_start: Any, capsys: pytest.CaptureFixture[str]) -> None:
    tokens, attentions = quick_start
    assert tokens == "[CLS] the quick brown fox jumps over the lazy dog . [SEP]".split()
    fig = visualize_attention_encoder_only(
        attentions,
        tokens,
        layer=-1,
        head=8,
        top_n=5,
        mode="self_attention",
        left_top_cells=[(4, 4)],
        right_bottom_cells=[(8, 8)],
        plot_titles=["Custom Self-Attention Heatmap Title"],
    )
    saved(capsys, "self_attention_heatmap.pdf")
    text = check_pdf(
        "self_attention_heatmap.pdf", fig, ["Custom Self-Attention Heatmap Title"], tokens
    )
    assert " ".join(tokens) in text  # the column labels, in order
    assert "Tokens Attended to" in text and "Tokens Attending" in text
    (panel,) = fig.data["panels"]
    check_top(panel, attentions[-1][0, 8].numpy().astype(np.float64), 5)
    assert len(panel["top_cells"]) >= 5


def test_self_attention_mode(capsys: pytest.CaptureFixture[str]) -> None:
    _, tokens, attentions = bert(SELF_ATTENTION)
    assert "##izing" in tokens
    fig = visualize_attention_encoder_only(
        attentions=attentions, tokens=tokens, layer=-1, head=0, mode="self_attention"
    )
    saved(capsys, "self_attention_heatmap.pdf")
    check_pdf("self_attention_heatmap.pdf", fig, ["Self-Attention Heatmap"], tokens)
    check_top(fig.data["panels"][0], attentions[-1][0, 0].double().numpy(), 3)


def test_question_context_mode(question_context: Any, capsys: pytest.CaptureFixture[str]) -> None:
    inputs, tokens, attentions = question_context
    token_type_ids = inputs["token_type_ids"][0]
    question_end = (token_type_ids == 0).sum().item()
    assert tokens[question_end - 1] == "[SEP]" and tokens[question_end] == "paris"
    fig = visualize_attention_encoder_only(
        attentions=attentions,
        tokens=tokens,
        layer=-1,
        head=0,
        question_end=question_end,
        mode="question_context",
    )
    saved(capsys, "QC_attention_heatmaps.pdf")
    text = check_pdf("QC_attention_heatmaps.pdf", fig, QC_TITLES, tokens)  # one page
    positions = [text.index(title) for title in QC_TITLES]
    assert positions == sorted(positions)
    # Five panels: A->A, B->B, B->A, A->B, All->All, each with its own top cells.
    matrix = attentions[-1][0, 0].double().numpy()
    q = question_end
    blocks = [matrix[:q, :q], matrix[q:, q:], matrix[q:, :q], matrix[:q, q:], matrix]
    assert len(fig.data["panels"]) == 5
    for panel, block in zip(fig.data["panels"], blocks, strict=True):
        check_top(panel, block, 3)
    # One shared colour scale over the whole matrix.
    assert fig.data["vmin"] == pytest.approx(matrix.min())
    assert fig.data["vmax"] == pytest.approx(matrix.max())


def test_question_end_may_be_a_tensor(question_context: Any) -> None:
    inputs, tokens, attentions = question_context
    question_end = (inputs["token_type_ids"][0] == 0).sum()  # 0-d tensor, no .item()
    fig = visualize_attention_encoder_only(
        attentions, tokens, -1, 0, question_end=question_end, mode="question_context"
    )
    assert fig.data["panels"][0]["shape"] == [int(question_end)] * 2


def test_regions_in_question_context_are_clipped_to_each_panel(question_context: Any) -> None:
    inputs, tokens, attentions = question_context
    q = int((inputs["token_type_ids"][0] == 0).sum())
    fig = visualize_attention_encoder_only(
        attentions,
        tokens,
        -1,
        0,
        question_end=q,
        mode="question_context",
        left_top_cells=[(q - 2, q - 2)],
        right_bottom_cells=[(q + 1, q + 1)],
        save_path="qc.pdf",
    )
    assert Path("qc.pdf").is_file()
    assert len(fig.data["panels"]) == 5


@pytest.mark.parametrize("ext", ["svg", "png"])
def test_svg_and_png_save_paths(
    quick_start: Any, ext: str, capsys: pytest.CaptureFixture[str]
) -> None:
    tokens, attentions = quick_start
    name = f"quick_start.{ext}"
    fig = visualize_attention_encoder_only(
        attentions, tokens, -1, 8, top_n=5, plot_titles=["Quick SVG/PNG"], save_path=name
    )
    saved(capsys, name)
    data = Path(name).read_bytes()
    assert not Path("self_attention_heatmap.pdf").exists()
    if ext == "svg":
        import xml.etree.ElementTree as ET

        ET.fromstring(data)
        text = data.decode("utf-8")
        assert "Quick SVG/PNG" in text
        for value in top_values(fig):
            assert value in text
    else:
        from PIL import Image

        image = Image.open(io.BytesIO(data))
        assert image.format == "PNG"
        assert min(image.size) > 200


def test_save_path_accepts_pathlib(quick_start: Any, tmp_path: Path) -> None:
    tokens, attentions = quick_start
    target = tmp_path / "sub"
    target.mkdir()
    visualize_attention_encoder_only(attentions, tokens, 0, 0, save_path=target / "a.pdf")
    pdf_text(target / "a.pdf")


def test_both_import_paths_give_the_same_functions() -> None:
    from izzyviz import (
        visualize_attention_decoder_only as dec,
    )
    from izzyviz import (
        visualize_attention_encoder_decoder as encdec,
    )
    from izzyviz import (
        visualize_attention_encoder_only as enc,
    )

    assert enc is visualize_attention_encoder_only
    assert dec is visualize_attention_decoder_only
    assert encdec is visualize_attention_encoder_decoder


def test_batch_index_picks_the_item() -> None:
    inputs, _, attentions = bert([QUICK_START, SELF_ATTENTION], padding=True)
    _, tokenizer = minilm()
    tokens = tokenizer.convert_ids_to_tokens(inputs["input_ids"][1])
    assert "[PAD]" in tokens
    fig = visualize_attention_encoder_only(
        attentions, tokens, -1, 3, top_n=4, batch_index=1, save_path="b.pdf"
    )
    check_pdf("b.pdf", fig, ["Self-Attention Heatmap"], tokens)
    check_top(fig.data["panels"][0], attentions[-1][1, 3].double().numpy(), 4)
    with pytest.raises(IndexError, match=r"batch_index: index 2 is out of range for 2"):
        visualize_attention_encoder_only(attentions, tokens, -1, 3, batch_index=2)


def test_bfloat16_attentions(quick_start: Any) -> None:
    tokens, attentions = quick_start
    bf16 = tuple(a.to(torch.bfloat16) for a in attentions)
    fig = visualize_attention_encoder_only(bf16, tokens, -1, 8, top_n=5, save_path="bf16.pdf")
    check_pdf("bf16.pdf", fig, ["Self-Attention Heatmap"], tokens)
    check_top(fig.data["panels"][0], bf16[-1][0, 8].double().numpy(), 5)


def test_raw_tokens_keep_byte_level_markers() -> None:
    matrix = np.random.default_rng(1).dirichlet(np.ones(4), size=4)
    tokens = ["Hello", "Ġworld", "Ġagain", "Ċ"]
    fig = visualize_attention_encoder_only(
        [matrix[None]], tokens, 0, 0, raw_tokens=True, save_path="raw.pdf"
    )
    assert fig.data["panels"][0]["shape"] == [4, 4]
    assert "Ġworld" in pdf_text("raw.pdf")
    visualize_attention_encoder_only([matrix[None]], tokens, 0, 0, save_path="shown.pdf")
    text = pdf_text("shown.pdf")
    assert "▁world" in text and "↵" in text and "Ġ" not in text


# --------------------------------------------------------------------------------------------
# Decoder-only (GPT-2): tiny random model through generate()
# --------------------------------------------------------------------------------------------

DECODER_CASES = {
    "full_sequence": ("decoder_self_attention_heatmap.pdf", "all", "all"),
    "self_attention_source": ("decoder_self_attention_source_tokens_heatmap.pdf", "src", "src"),
    "generated_to_source": ("decoder_generated_to_source_attention_heatmap.pdf", "gen", "src"),
    "self_attention_generated": (
        "decoder_self_attention_generated_tokens_heatmap.pdf",
        "gen",
        "gen",
    ),
}


@pytest.mark.parametrize("use_case", list(DECODER_CASES))
def test_decoder_only_use_cases(
    gpt2: Any, use_case: str, capsys: pytest.CaptureFixture[str]
) -> None:
    output, attentions = gpt2
    n = output.sequences.shape[1]
    assert n == PROMPT + NEW_TOKENS
    tokens = fake_tokens(n)  # no GPT-2 tokenizer offline: made-up byte-level tokens
    if use_case == "full_sequence":  # the seed README: all tokens as source, none generated
        source, generated = tokens, []
    else:
        source, generated = tokens[:PROMPT], tokens[PROMPT:]
    fig = visualize_attention_decoder_only(
        attentions=attentions,
        source_tokens=source,
        generated_tokens=generated,
        layer=-1,
        head=0,
        use_case=use_case,
    )
    file, rows, cols = DECODER_CASES[use_case]
    saved(capsys, file)
    title = visualization.DECODER_ONLY_USE_CASES[use_case].views[0].title
    parts = {"all": slice(0, n), "src": slice(0, PROMPT), "gen": slice(PROMPT, n)}
    text = check_pdf(file, fig, [title], tokens[parts[rows]], tokens[parts[cols]])
    assert "▁" in text  # Ġ shown as the readable space marker (labels checked above)
    matrix = attentions[-1][0, 0].double().numpy()
    check_top(fig.data["panels"][0], matrix[parts[rows], parts[cols]], 3)
    if use_case == "generated_to_source":
        assert "Generated Tokens" in text and "Source Tokens" in text


@pytest.mark.parametrize("use_case", ["generated_to_source", "self_attention_generated"])
def test_decoder_only_colour_scale_spans_the_part_drawn(gpt2: Any, use_case: str) -> None:
    _, attentions = gpt2
    tokens = fake_tokens(PROMPT + NEW_TOKENS)
    fig = visualize_attention_decoder_only(
        attentions,
        tokens[:PROMPT],
        tokens[PROMPT:],
        -1,
        0,
        use_case=use_case,
        save_path="scale.pdf",
    )
    matrix = attentions[-1][0, 0].double().numpy()
    cols = slice(0, PROMPT) if use_case == "generated_to_source" else slice(PROMPT, None)
    block = matrix[PROMPT:, cols]
    assert fig.data["vmax"] == pytest.approx(block.max())
    assert fig.data["vmin"] == pytest.approx(block.min())


def test_decoder_only_with_generate_helper(gpt2: Any) -> None:
    """generated_to_source straight from the generate() output, no second forward pass."""
    output, attentions = gpt2
    matrix = izzyviz.decoder_self_attention_from_generate(output, layer=-1, head=0)
    n = output.sequences.shape[1] - 1  # the last generated token is never fed back
    assert matrix.shape == (n, n)
    np.testing.assert_allclose(matrix, attentions[-1][0, 0, :n, :n].numpy(), atol=1e-5)
    tokens = fake_tokens(n)
    fig = visualize_attention_decoder_only(
        matrix,  # one (q, k) map counts as layer 0, head 0
        tokens[:PROMPT],
        tokens[PROMPT:],
        layer=0,
        head=0,
        top_n=2,
        use_case="generated_to_source",
        left_top_cells=[(0, 0)],
        right_bottom_cells=[(1, 2)],
    )
    check_pdf(
        "decoder_generated_to_source_attention_heatmap.pdf",
        fig,
        ["Generated Tokens attending to Source Tokens"],
        tokens,
    )
    check_top(fig.data["panels"][0], matrix[PROMPT:, :PROMPT], 2)


def test_decoder_only_regions_are_in_the_drawn_part(gpt2: Any) -> None:
    _, attentions = gpt2
    tokens = fake_tokens(PROMPT + NEW_TOKENS)
    kwargs = dict(use_case="generated_to_source", save_path="r.pdf")
    # The drawn part is NEW_TOKENS x PROMPT: (5, 4) is its last cell, (5, 5) is outside.
    visualize_attention_decoder_only(
        attentions,
        tokens[:PROMPT],
        tokens[PROMPT:],
        -1,
        0,
        left_top_cells=[(0, 0)],
        right_bottom_cells=[(NEW_TOKENS - 1, PROMPT - 1)],
        **kwargs,
    )
    Path("r.pdf").unlink()
    with pytest.raises(IndexError, match=r"fall outside the 6 x 5 matrix"):
        visualize_attention_decoder_only(
            attentions,
            tokens[:PROMPT],
            tokens[PROMPT:],
            -1,
            0,
            left_top_cells=[(0, 0)],
            right_bottom_cells=[(NEW_TOKENS - 1, PROMPT)],
            **kwargs,
        )
    assert not Path("r.pdf").exists()


# --------------------------------------------------------------------------------------------
# Encoder-decoder (T5, BART): tiny random models through generate()
# --------------------------------------------------------------------------------------------


def test_cross_attention(seq2seq: Any, capsys: pytest.CaptureFixture[str]) -> None:
    matrix = izzyviz.cross_attention_from_generate(seq2seq, layer=-1, head=0)
    rows = seq2seq.sequences.shape[1] - 1
    assert matrix.shape == (rows, PROMPT)
    source = fake_tokens(PROMPT, "▁")
    generated = fake_tokens(rows, "Ġ")
    fig = visualize_attention_encoder_decoder(matrix, source, generated)
    saved(capsys, "cross_attention_heatmap.pdf")
    text = check_pdf(
        "cross_attention_heatmap.pdf",
        fig,
        ["Cross-Attention Heatmap (Decoder to Encoder)"],
        source,
        generated,
    )
    assert "Encoder Tokens" in text and "Decoder Tokens" in text
    check_top(fig.data["panels"][0], matrix, 3)


def test_cross_attention_from_a_tensor(seq2seq: Any) -> None:
    """The seed README's loop: one row per step stacked into a matrix, as a torch tensor."""
    rows = [step[-1][0, 0, -1:, :] for step in seq2seq.cross_attentions]
    tensor = torch.cat(rows)
    fig = visualize_attention_encoder_decoder(
        tensor,
        fake_tokens(PROMPT),
        fake_tokens(len(rows)),
        plot_title="T5 cross-attention",
        save_path="t.pdf",
    )
    check_pdf("t.pdf", fig, ["T5 cross-attention"])
    check_top(fig.data["panels"][0], tensor.double().numpy(), 3)


def test_encoder_and_decoder_self_attention(
    seq2seq: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    source = fake_tokens(PROMPT, "▁")
    encoder = select_attention(seq2seq.encoder_attentions, layer=-1, head=1)
    fig = visualize_attention_encoder_decoder(
        encoder,
        source,
        [],
        use_case="encoder_self_attention",
        save_path="encoder_self_attention_heatmap.pdf",
    )
    check_pdf("encoder_self_attention_heatmap.pdf", fig, ["Encoder Self-Attention Heatmap"], source)
    check_top(fig.data["panels"][0], encoder, 3)

    decoder = izzyviz.decoder_self_attention_from_generate(seq2seq, layer=-1, head=1)
    generated = fake_tokens(decoder.shape[0], "▁")
    fig = visualize_attention_encoder_decoder(
        decoder,
        source,
        generated,
        use_case="decoder_self_attention",
        save_path="decoder_self_attention_heatmap.pdf",
    )
    check_pdf(
        "decoder_self_attention_heatmap.pdf", fig, ["Decoder Self-Attention Heatmap"], generated
    )
    check_top(fig.data["panels"][0], decoder, 3)
    saved(capsys, "encoder_self_attention_heatmap.pdf", "decoder_self_attention_heatmap.pdf")


def test_encoder_decoder_shape_must_match_the_tokens(seq2seq: Any, tmp_path: Path) -> None:
    matrix = izzyviz.cross_attention_from_generate(seq2seq, layer=-1, head=0)
    rows = matrix.shape[0]
    for source, generated in [
        (fake_tokens(PROMPT), fake_tokens(rows + 1)),
        (fake_tokens(PROMPT - 1), fake_tokens(rows)),
        (fake_tokens(rows), fake_tokens(PROMPT)),  # swapped
    ]:
        with pytest.raises(ValueError, match=r"attention_matrix: shape \(6, 5\) does not match"):
            visualize_attention_encoder_decoder(matrix, source, generated)
    with pytest.raises(ValueError, match=r"expects \(source_tokens, source_tokens\) = \(5, 5\)"):
        visualize_attention_encoder_decoder(
            matrix, fake_tokens(PROMPT), fake_tokens(rows), use_case="encoder_self_attention"
        )
    no_files(tmp_path)


# --------------------------------------------------------------------------------------------
# Errors: clear messages, no crash, no file
# --------------------------------------------------------------------------------------------


def _encoder(**overrides: Any) -> Any:
    def call(tokens: list[str], attentions: Any) -> Any:
        kwargs: dict[str, Any] = dict(attentions=attentions, tokens=tokens, layer=-1, head=8)
        kwargs.update(overrides)
        if callable(kwargs["attentions"]):
            kwargs["attentions"] = kwargs["attentions"](attentions)
        if callable(kwargs["tokens"]):
            kwargs["tokens"] = kwargs["tokens"](tokens)
        return visualize_attention_encoder_only(**kwargs)

    return call


def _nan(attentions: Any) -> Any:
    broken = [a.clone() for a in attentions]
    broken[-1][0, 8, 2, 3] = float("nan")
    return tuple(broken)


ENCODER_ERRORS = {
    "unknown mode": (
        _encoder(mode="cross"),
        ValueError,
        r"mode: expected one of 'self_attention', 'question_context'",
    ),
    "missing question_end": (
        _encoder(mode="question_context"),
        ValueError,
        r"question_end: .*needs the number of question tokens.*got None",
    ),
    "question_end zero": (
        _encoder(mode="question_context", question_end=0),
        IndexError,
        r"question_end: expected 1 to 11 .* got 0 for 12 tokens",
    ),
    "question_end too large": (
        _encoder(mode="question_context", question_end=12),
        IndexError,
        r"question_end: expected 1 to 11 .* got 12 for 12 tokens",
    ),
    "question_end not an integer": (
        _encoder(mode="question_context", question_end=2.5),
        TypeError,
        r"question_end: expected an integer, got 2.5",
    ),
    "layer out of range": (
        _encoder(layer=6),
        IndexError,
        r"layer: index 6 is out of range for 6 layers \(expected -6 to 5\)",
    ),
    "head out of range": (
        _encoder(head=-13),
        IndexError,
        r"head: index -13 is out of range for 12 heads \(expected -12 to 11\)",
    ),
    "too few tokens": (
        _encoder(tokens=lambda t: t[:-1]),
        ValueError,
        r"tokens: got 11 labels, but the matrix has 12 columns",
    ),
    "too many tokens": (
        _encoder(tokens=lambda t: [*t, "extra"]),
        ValueError,
        r"tokens: got 13 labels, but the matrix has 12 columns",
    ),
    "tokens as one string": (
        _encoder(tokens=lambda t: " ".join(t)),
        TypeError,
        r"tokens: expected a sequence of strings",
    ),
    "plot_titles too many": (
        _encoder(plot_titles=["a", "b"]),
        ValueError,
        r"plot_titles: expected 1 title\(s\), one per panel, got 2",
    ),
    "plot_titles too few for question_context": (
        _encoder(mode="question_context", question_end=5, plot_titles=["a"]),
        ValueError,
        r"plot_titles: expected 5 title\(s\), one per panel, got 1",
    ),
    "region out of bounds": (
        _encoder(left_top_cells=[(4, 4)], right_bottom_cells=[(8, 12)]),
        IndexError,
        r"left_top_cells/right_bottom_cells\[0\]: cells \(4, 4\)\.\.\(8, 12\) fall outside "
        r"the 12 x 12 matrix",
    ),
    "region negative": (
        _encoder(left_top_cells=[(-1, 0)], right_bottom_cells=[(2, 2)]),
        IndexError,
        r"fall outside the 12 x 12 matrix",
    ),
    "region inverted": (
        _encoder(left_top_cells=[(8, 8)], right_bottom_cells=[(4, 4)]),
        ValueError,
        r"left_top_cells/right_bottom_cells\[0\]: the top-left cell \(8, 8\) must not lie below "
        r"or right of the bottom-right cell \(4, 4\)",
    ),
    "region lists of unequal length": (
        _encoder(left_top_cells=[(1, 1), (2, 2)], right_bottom_cells=[(3, 3)]),
        ValueError,
        r"expected lists of equal length, got 2 top-left and 1 bottom-right cells",
    ),
    "region corner missing": (
        _encoder(left_top_cells=[(1, 1)]),
        ValueError,
        r"got 1 top-left and 0 bottom-right cells",
    ),
    "region not a cell": (
        _encoder(left_top_cells=[(1, 1.5)], right_bottom_cells=[(3, 3)]),
        TypeError,
        r"left_top_cells/right_bottom_cells\[0\]: expected \(\(row0, col0\), \(row1, col1\)\) "
        r"with integer indices",
    ),
    "non-finite scores": (
        _encoder(attentions=_nan),
        ValueError,
        r"attentions \(layer 5, head 8, batch_index 0\): expected finite scores, found nan at "
        r"index \(2, 3\)",
    ),
    "gamma zero": (_encoder(gamma=0), ValueError, r"gamma: expected a positive number, got 0"),
    "gamma negative": (
        _encoder(gamma=-1.5),
        ValueError,
        r"gamma: expected a positive number, got -1.5",
    ),
    "enlarged_size zero": (
        _encoder(enlarged_size=0),
        ValueError,
        r"enlarged_size: expected a positive number, got 0",
    ),
    "top_n negative": (
        _encoder(top_n=-1),
        ValueError,
        r"top_n: expected a non-negative integer, got -1",
    ),
    "top_n not an integer": (
        _encoder(top_n=2.5),
        TypeError,
        r"top_n: expected a non-negative integer, got 2.5",
    ),
    "empty attentions": (
        _encoder(attentions=lambda a: ()),
        ValueError,
        r'attentions: got an empty tuple; .*attn_implementation="eager"',
    ),
    "attentions None": (
        _encoder(attentions=lambda a: None),
        ValueError,
        r'attentions: got None; .*attn_implementation="eager"',
    ),
    "unknown cmap": (_encoder(cmap="no-such-map"), ValueError, r"no-such-map"),
}


@pytest.mark.parametrize("case", list(ENCODER_ERRORS))
def test_encoder_only_errors(quick_start: Any, tmp_path: Path, case: str) -> None:
    call, error, message = ENCODER_ERRORS[case]
    tokens, attentions = quick_start
    with pytest.raises(error, match=message):
        call(list(tokens), attentions)
    no_files(tmp_path)


def test_sdpa_model_gives_a_clear_error(tmp_path: Path) -> None:
    """transformers >= 5 defaults to SDPA, which returns an empty attentions tuple."""
    from transformers import BertModel

    _, tokenizer = minilm()
    model = BertModel.from_pretrained(minilm_path()).eval()
    assert model.config._attn_implementation != "eager"
    inputs = tokenizer(QUICK_START, return_tensors="pt")
    with torch.no_grad():
        attentions = model(**inputs, output_attentions=True).attentions
    assert len(attentions) == 0
    tokens = tokenizer.convert_ids_to_tokens(inputs["input_ids"][0])
    with pytest.raises(ValueError, match=r'attn_implementation="eager"'):
        visualize_attention_encoder_only(attentions, tokens, layer=-1, head=8)
    no_files(tmp_path)


def _decoder(gpt2: Any, **overrides: Any) -> Any:
    _, attentions = gpt2
    tokens = fake_tokens(PROMPT + NEW_TOKENS)
    kwargs: dict[str, Any] = dict(
        attentions=attentions,
        source_tokens=tokens[:PROMPT],
        generated_tokens=tokens[PROMPT:],
        layer=-1,
        head=0,
        use_case="generated_to_source",
    )
    kwargs.update(overrides)
    return visualize_attention_decoder_only(**kwargs)


DECODER_ERRORS = {
    "unknown use_case": (
        dict(use_case="cross_attention"),
        ValueError,
        r"use_case: expected one of 'full_sequence', "
        r"'self_attention_source', 'generated_to_source', 'self_attention_generated'",
    ),
    "no generated tokens": (
        dict(source_tokens=fake_tokens(11), generated_tokens=[]),
        ValueError,
        r"generated_tokens: use_case 'generated_to_source' needs at least one token, got none",
    ),
    "token count": (
        dict(generated_tokens=fake_tokens(NEW_TOKENS + 1)),
        ValueError,
        r"source_tokens \+ generated_tokens: got 12 labels, but the matrix has 11 columns",
    ),
    "layer": (dict(layer=2), IndexError, r"layer: index 2 is out of range for 2 layers"),
    "head": (dict(head=4), IndexError, r"head: index 4 is out of range for 4 heads"),
    "plot_titles": (
        dict(plot_titles=[]),
        ValueError,
        r"plot_titles: expected 1 title\(s\), one per panel, got 0",
    ),
    "gamma": (dict(gamma=0.0), ValueError, r"gamma: expected a positive number, got 0.0"),
    "empty attentions": (
        dict(attentions=[]),
        ValueError,
        r'attentions: got an empty list; .*attn_implementation="eager"',
    ),
}


@pytest.mark.parametrize("case", list(DECODER_ERRORS))
def test_decoder_only_errors(gpt2: Any, tmp_path: Path, case: str) -> None:
    overrides, error, message = DECODER_ERRORS[case]
    with pytest.raises(error, match=message):
        _decoder(gpt2, **overrides)
    no_files(tmp_path)


ENCODER_DECODER_ERRORS = {
    "unknown use_case": (
        dict(use_case="self_attention"),
        ValueError,
        r"use_case: expected one of 'cross_attention', "
        r"'encoder_self_attention', 'decoder_self_attention'",
    ),
    "not 2-D": (
        dict(attention_matrix=np.ones((1, 3, 2))),
        ValueError,
        r"attention_matrix: expected a 2-D array, got array of shape \(1, 3, 2\)",
    ),
    "non-finite": (
        dict(attention_matrix=np.array([[0.5, np.inf], [0.5, 0.5], [1.0, 0.0]])),
        ValueError,
        r"attention_matrix: expected finite scores, found inf at index \(0, 1\)",
    ),
    "plot_title list": (
        dict(plot_title=["a", "b"]),
        ValueError,
        r"plot_title: expected 1 title\(s\), one per panel, got 2",
    ),
    "region": (
        dict(left_top_cells=[(0, 0)], right_bottom_cells=[(3, 1)]),
        IndexError,
        r"cells \(0, 0\)\.\.\(3, 1\) fall outside the 3 x 2 matrix",
    ),
    "enlarged_size": (
        dict(enlarged_size=-2),
        ValueError,
        r"enlarged_size: expected a positive number, got -2",
    ),
    "top_n": (dict(top_n=-3), ValueError, r"top_n: expected a non-negative integer, got -3"),
}


@pytest.mark.parametrize("case", list(ENCODER_DECODER_ERRORS))
def test_encoder_decoder_errors(tmp_path: Path, case: str) -> None:
    overrides, error, message = ENCODER_DECODER_ERRORS[case]
    kwargs: dict[str, Any] = dict(
        attention_matrix=np.array([[0.2, 0.8], [0.5, 0.5], [1.0, 0.0]]),
        source_tokens=["▁a", "▁b"],
        generated_tokens=["x", "y", "z"],
    )
    kwargs.update(overrides)
    with pytest.raises(error, match=message):
        visualize_attention_encoder_decoder(**kwargs)
    no_files(tmp_path)
