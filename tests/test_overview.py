"""The overview grid and the multi-page report: layout, PDF outline and links, folders of files."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image as PILImage

import izzyviz
from izzyviz.aggregation import rank_heads
from izzyviz.heads import overview, report
from izzyviz.heads import pages as report_module
from izzyviz.heads.grid import VEIL
from izzyviz.numbers import format_numbers
from izzyviz.scene import Group, Rect, Scene, Text

SVG = "{http://www.w3.org/2000/svg}"
XLINK = "{http://www.w3.org/1999/xlink}"


def synthetic(layers: int, heads: int, n: int, seed: int = 0) -> np.ndarray:
    """Attention with the patterns real heads show: diagonals at several offsets, a column on
    the first token, local windows, and noise; every row sums to 1."""
    rng = np.random.default_rng(seed)
    q = np.arange(n)[:, None]
    k = np.arange(n)[None, :]
    stack = np.empty((layers, heads, n, n))
    for i in range(layers):
        for j in range(heads):
            kind = (i * heads + j) % 4
            if kind == 0:
                logits = -np.abs(q - k - (j % 3 - 1)) * 2.0
            elif kind == 1:
                logits = np.where(k == 0, 4.0, 0.0) + rng.normal(0, 0.5, (n, n))
            elif kind == 2:
                logits = -np.abs(q - k) / (1 + i)
            else:
                logits = rng.normal(0, 1.5, (n, n))
            weights = np.exp(logits - logits.max(axis=1, keepdims=True))
            stack[i, j] = weights / weights.sum(axis=1, keepdims=True)
    return stack


def texts(group: Group | Scene) -> list[str]:
    root = group.root if isinstance(group, Scene) else group
    return [node.text for node in root.walk() if isinstance(node, Text)]


def thumbnail_box(scene: Scene, group: Group) -> tuple[float, float, float, float]:
    """A thumbnail's rectangle in PDF user space (y up): x0, y0, x1, y1."""
    assert group.transform is not None
    x, y = group.transform[4], group.transform[5]
    frame = next(c for c in group.children if isinstance(c, Rect))
    return (x, scene.height - y - frame.height, x + frame.width, scene.height - y)


# -- overview layout -----------------------------------------------------------------------------


def test_overview_grid_has_one_linked_thumbnail_per_head_and_headers() -> None:
    stack = synthetic(3, 4, 10)
    fig = overview(stack, [f"t{i}" for i in range(10)], title="Three layers")
    scene = fig.scene
    thumbs = scene.find("thumbnail")
    assert len(thumbs) == 12
    # Rows are layers, columns heads; default links follow a report of every head.
    assert [t.link for t in thumbs] == [f"#page-{n + 2}" for n in range(12)]
    xs = sorted({t.transform[4] for t in thumbs if t.transform})
    ys = sorted({t.transform[5] for t in thumbs if t.transform})
    assert len(xs) == 4 and len(ys) == 3
    assert texts(scene.find("column-headers")[0]) == [f"Head {h}" for h in range(4)]
    assert texts(scene.find("row-headers")[0]) == [f"Layer {i}" for i in range(3)]
    assert "Three layers" in texts(scene.find("title")[0])
    assert len(scene.find("colorbar")) == 1
    data = fig.data
    assert data["shared_scale"] and data["vmin"] == pytest.approx(stack.min())
    assert data["vmax"] == pytest.approx(stack.max())
    assert [(r["layer"], r["head"]) for r in data["thumbnails"]] == [
        (i, j) for i in range(3) for j in range(4)
    ]


def test_overview_cells_use_the_shared_scale_or_one_per_head() -> None:
    stack = synthetic(2, 3, 8)
    stack[1, 2] *= 0.5  # one head with smaller weights
    tokens = [f"t{i}" for i in range(8)]
    shared = overview(stack, tokens)
    scale = izzyviz.ColorScale(float(stack.min()), float(stack.max()), 1.5, "Blues")
    grid = shared.scene.find("thumbnail")[5].children[0]
    np.testing.assert_array_equal(grid.indices, scale.indices(stack[1, 2]))

    own = overview(stack, tokens, shared_scale=False, gamma=1.0, cmap="viridis")
    grid = own.scene.find("thumbnail")[5].children[0]
    head = izzyviz.ColorScale(float(stack[1, 2].min()), float(stack[1, 2].max()), 1.0, "viridis")
    np.testing.assert_array_equal(grid.indices, head.indices(stack[1, 2]))
    assert grid.indices.max() == 255  # stretched over its own range
    record = own.data["thumbnails"][5]
    assert record["vmax"] == pytest.approx(stack[1, 2].max())
    assert own.data["vmin"] is None and not own.data["shared_scale"]
    assert "head max" in texts(own.scene.find("colorbar")[0])


def test_overview_for_144_heads_at_128_tokens_is_readable_in_every_format(
    tmp_path: Path,
) -> None:
    from pypdf import PdfReader

    stack = synthetic(12, 12, 128)
    tokens = [f"w{i}" for i in range(128)]
    fig = overview(stack, tokens)
    scene = fig.scene
    thumbs = scene.find("thumbnail")
    assert len(thumbs) == 144
    # Thumbnails are images (fast, small), big enough to see, and do not overlap.
    grids = [t.children[0] for t in thumbs]
    assert all(g.mode == "image" and g.shape == (128, 128) for g in grids)
    width = float(grids[0].x_edges[-1])
    assert width >= 40
    xs = sorted({t.transform[4] for t in thumbs if t.transform})
    assert min(np.diff(xs)) > width
    assert scene.width <= 900 and scene.height <= 900
    # Headers are legible and narrower than a thumbnail.
    headers = [n for n in scene.find("column-headers")[0].children if isinstance(n, Text)]
    assert all(h.size >= 6 and h.width < width for h in headers)

    pdf = fig.save(tmp_path / "overview.pdf")
    text = PdfReader(pdf).pages[0].extract_text()
    for label in ("Attention overview", "Head 0", "Head 11", "Layer 0", "Layer 11"):
        assert label in text
    svg = fig.save(tmp_path / "overview.svg")
    root = ET.parse(svg).getroot()
    assert len(root.findall(f".//{SVG}image")) == 144 + 1  # thumbnails and the colour bar
    assert "Layer 11" in {t.text for t in root.iter(f"{SVG}text")}
    png = fig.save(tmp_path / "overview.png", dpi=72)
    image = PILImage.open(io.BytesIO(png.read_bytes()))
    assert image.size == (round(scene.width), round(scene.height))
    # The diagonal head (layer 0, head 0) shows a dark diagonal in the picture.
    pixels = np.asarray(image.convert("L"), dtype=float)
    x0, y0 = (round(v) for v in thumbs[0].transform[4:6])  # type: ignore[index]
    tile = pixels[y0 + 2 : y0 + int(width) - 2, x0 + 2 : x0 + int(width) - 2]
    diagonal = np.mean([tile[i, i] for i in range(len(tile))])
    # At ~2.4 cells per pixel the one-cell diagonal is averaged with its neighbours: lighter
    # than the cells, but clearly darker than the rest of the tile.
    assert diagonal < tile.mean() - 20


def test_overview_compact_headers_for_many_heads() -> None:
    stack = synthetic(4, 40, 6)
    scene = overview(stack, list("abcdef")).scene
    headers = texts(scene.find("column-headers")[0])
    assert headers == [str(h) for h in range(40)]
    assert texts(scene.find("column-axis")[0]) == ["Head"]
    assert texts(scene.find("row-axis")[0]) == ["Layer"]


def test_overview_checks_its_arguments() -> None:
    stack = synthetic(2, 2, 5)
    with pytest.raises(ValueError, match="tokens: got 4 labels"):
        overview(stack, list("abcd"))
    with pytest.raises(TypeError, match="shared_scale"):
        overview(stack, list("abcde"), shared_scale="yes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="cmap: unknown colormap"):
        overview(stack, list("abcde"), cmap="nope")
    with pytest.raises(ValueError, match="query_tokens"):
        overview(stack[:, :, :3], list("abcde"))
    fig = overview(stack[:, :, :3], list("abcde"), query_tokens=list("xyz"))
    assert fig.data["shape"] == [3, 5]


# -- report: PDF -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def minilm_attention() -> tuple[Any, list[str]]:
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    import torch

    from tests.models import minilm

    model, tokenizer = minilm()
    inputs = tokenizer("The quick brown fox jumps over the lazy dog.", return_tensors="pt")
    with torch.no_grad():
        outputs = model(**inputs, output_attentions=True)
    tokens = tokenizer.convert_ids_to_tokens(inputs["input_ids"][0].tolist())
    return outputs.attentions, tokens


def test_report_of_minilm_has_outline_and_linked_thumbnails(
    minilm_attention: tuple[Any, list[str]], tmp_path: Path
) -> None:
    from pypdf import PdfReader

    attentions, tokens = minilm_attention
    fig = report(attentions, tokens, tmp_path / "report.pdf", progress=False, top_n=2)
    reader = PdfReader(tmp_path / "report.pdf")
    assert len(reader.pages) == 73 == len(fig.pages)

    outline = reader.outline
    assert len(outline) == 72
    expected = [f"Layer {i} / Head {j}" for i in range(6) for j in range(12)]
    assert [entry.title for entry in outline] == expected
    assert [reader.get_destination_page_number(e) for e in outline] == list(range(1, 73))
    # Each head page shows that head.
    assert "Layer 3 / Head 7" in reader.pages[1 + 3 * 12 + 7].extract_text()

    cover = fig.pages[0]
    thumbs = cover.find("thumbnail")
    annots = [a.get_object() for a in reader.pages[0]["/Annots"]]
    assert len(annots) == 72
    page_refs = {page.indirect_reference.idnum: n for n, page in enumerate(reader.pages)}
    for n, (annot, thumb) in enumerate(zip(annots, thumbs, strict=True)):
        assert annot["/Subtype"] == "/Link"
        target = page_refs[annot["/Dest"][0].idnum]
        assert target == n + 1
        rect = [float(v) for v in annot["/Rect"]]
        assert rect == pytest.approx(thumbnail_box(cover, thumb), abs=0.01)

    pages = fig.data["pages"]
    assert [(p["layer"], p["head"], p["page"]) for p in pages][:2] == [(0, 0, 2), (0, 1, 3)]
    assert len(pages[0]["panels"][0]["top_cells"]) == 2
    assert fig.data["files"] == [str(tmp_path / "report.pdf")]


def test_report_orders_and_filters_heads(tmp_path: Path) -> None:
    from pypdf import PdfReader

    stack = synthetic(3, 4, 9)
    tokens = ["[CLS]", *[f"w{i}" for i in range(7)], "[SEP]"]
    fig = report(stack, tokens, tmp_path / "ranked.pdf", order_by="entropy", top=5, progress=False)
    ranked = rank_heads(stack, tokens, "entropy")[:5]
    assert [(p["layer"], p["head"]) for p in fig.data["pages"]] == [(i, j) for i, j, _ in ranked]
    assert [p["score"] for p in fig.data["pages"]] == pytest.approx([s for *_, s in ranked])
    reader = PdfReader(tmp_path / "ranked.pdf")
    assert len(reader.pages) == 6
    assert [e.title for e in reader.outline] == [f"Layer {i} / Head {j}" for i, j, _ in ranked]
    assert "rank 1 of 5" in reader.pages[1].extract_text()

    # Every head stays on the overview; those without a page are faded and unlinked, the others
    # link to their page and carry their rank.
    thumbs = {
        (r["layer"], r["head"]): t
        for r, t in zip(
            fig.data["overview"]["thumbnails"], fig.pages[0].find("thumbnail"), strict=True
        )
    }
    assert len(thumbs) == 12
    shown = format_numbers([score for *_, score in ranked], 3)
    for n, (i, j, _) in enumerate(ranked):
        assert thumbs[i, j].link == f"#page-{n + 2}"
        assert f"#{n + 1}  {shown[n]}" in texts(thumbs[i, j])
    unranked = set(thumbs) - {(i, j) for i, j, _ in ranked}
    for key in unranked:
        assert thumbs[key].link is None
        assert any(isinstance(c, Rect) and c.fill == VEIL for c in thumbs[key].children)
    assert len(reader.pages[0]["/Annots"]) == 5

    chosen = report(stack, tokens, tmp_path / "chosen.pdf", heads=[(2, 3), (-3, 0)], progress=False)
    assert [(p["layer"], p["head"]) for p in chosen.data["pages"]] == [(2, 3), (0, 0)]
    special = report(
        stack, tokens, tmp_path / "s.pdf", order_by="special_tokens", top=1, progress=False
    )
    best = rank_heads(stack, tokens, "special_tokens")[0]
    assert (special.data["pages"][0]["layer"], special.data["pages"][0]["head"]) == best[:2]


def test_report_applies_heatmap_options_to_every_page(tmp_path: Path) -> None:
    stack = synthetic(2, 2, 6)
    fig = report(
        stack,
        list("abcdef"),
        tmp_path / "r.pdf",
        progress=False,
        top_n=1,
        gamma=1.0,
        cmap="magma",
        regions=[((0, 0), (1, 1))],
        title="Demo",
    )
    for page in fig.data["pages"]:
        assert page["cmap"] == "magma" and page["gamma"] == 1.0
        top = page["panels"][0]["top_cells"]  # the largest value (with its ties)
        matrix = stack[page["layer"], page["head"]]
        assert top and all(v == pytest.approx(matrix.max()) for *_, v in top)
        assert page["title"].startswith("Demo: Layer ")
    assert fig.data["overview"]["cmap"] == "magma"
    heat = fig.pages[1].find("heatmap")[0]
    assert any(isinstance(n, Rect) and n.stroke is not None for n in heat.children)


# -- report: folders of SVG / PNG ----------------------------------------------------------------


def test_report_as_svg_folder_links_thumbnails_to_files(tmp_path: Path) -> None:
    stack = synthetic(2, 3, 6)
    fig = report(stack, list("abcdef"), tmp_path / "heads.svg", progress=False)
    folder = tmp_path / "heads"
    names = sorted(p.name for p in folder.iterdir())
    expected = ["overview.svg"] + [
        f"layer{i:02d}_head{j:02d}.svg" for i in range(2) for j in range(3)
    ]
    assert names == sorted(expected)
    assert fig.data["files"][0] == str(folder / "overview.svg")
    root = ET.parse(folder / "overview.svg").getroot()
    links = [a.get(f"{XLINK}href") for a in root.iter(f"{SVG}a")]
    assert links == expected[1:]
    for page in fig.data["pages"]:
        assert Path(page["file"]).is_file()
    # No leftovers from atomic writes.
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]


def test_report_as_png_folder_and_into_an_existing_directory(tmp_path: Path) -> None:
    stack = synthetic(1, 2, 5)
    report(stack, list("abcde"), tmp_path / "pngs.png", progress=False, dpi=36)
    files = sorted(p.name for p in (tmp_path / "pngs").iterdir())
    assert files == ["layer00_head00.png", "layer00_head01.png", "overview.png"]
    assert (tmp_path / "pngs" / "overview.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    out = tmp_path / "existing"
    out.mkdir()
    report(stack, list("abcde"), out, progress=False, format="png")
    assert (out / "layer00_head01.png").is_file()


def test_report_errors_name_the_argument(tmp_path: Path) -> None:
    stack = synthetic(2, 2, 5)
    tokens = list("abcde")
    with pytest.raises(TypeError, match=r"unknown option.*colour"):
        report(stack, tokens, tmp_path / "r.pdf", colour="red")
    with pytest.raises(ValueError, match="order_by"):
        report(stack, tokens, tmp_path / "r.pdf", order_by="sharpness")
    with pytest.raises(IndexError, match=r"heads\[0\] layer"):
        report(stack, tokens, tmp_path / "r.pdf", heads=[(5, 0)])
    with pytest.raises(ValueError, match="listed twice"):
        report(stack, tokens, tmp_path / "r.pdf", heads=[(0, 0), (0, 0)])
    with pytest.raises(ValueError, match="top"):
        report(stack, tokens, tmp_path / "r.pdf", top=0)
    with pytest.raises(ValueError, match="path: cannot tell"):
        report(stack, tokens, tmp_path / "r.jpg")
    with pytest.raises(ValueError, match="dpi"):
        report(stack, tokens, tmp_path / "r.pdf", dpi=100)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        report(stack, tokens, tmp_path / "missing" / "r.pdf")
    assert list(tmp_path.iterdir()) == []


def test_progress_bar_shows_on_stderr_and_can_be_switched_off(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(report_module, "PROGRESS_DELAY", 0.0)
    stack = synthetic(2, 2, 5)
    report(stack, list("abcde"), tmp_path / "quiet.pdf", progress=False)
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == f"IzzyViz: saved {tmp_path / 'quiet.pdf'}\n"
    report(stack, list("abcde"), tmp_path / "loud.pdf", progress=True)
    assert "izzyviz report" in capsys.readouterr().err


# -- PDF backend: links and outline --------------------------------------------------------------


def test_pdf_links_skip_missing_pages_and_keep_urls() -> None:
    from pypdf import PdfReader

    def linked(link: str) -> Group:
        return Group((Rect(10, 10, 20, 20, fill=(0, 0, 0, 1)),), link=link)

    first = Scene(
        100, 100, Group((linked("#page-2"), linked("#page-9"), linked("https://example.org/")))
    )
    second = Scene(100, 50, Group(), bookmarks=("Second", "Also second"))
    reader = PdfReader(io.BytesIO(izzyviz.Figure([first, second]).render("pdf")))
    annots = [a.get_object() for a in reader.pages[0]["/Annots"]]
    assert len(annots) == 2
    assert reader.get_destination_page_number(reader.outline[0]) == 1
    assert [e.title for e in reader.outline] == ["Second", "Also second"]
    internal = next(a for a in annots if "/Dest" in a)
    assert internal["/Dest"][0].idnum == reader.pages[1].indirect_reference.idnum
    assert [float(v) for v in internal["/Rect"]] == pytest.approx([10, 70, 30, 90])
    url = next(a for a in annots if "/A" in a)
    assert url["/A"]["/URI"] == "https://example.org/"


def test_pdf_without_links_or_bookmarks_has_no_outline() -> None:
    scene = Scene(50, 50, Group((Rect(0, 0, 5, 5, fill=(0, 0, 0, 1)),)))
    data = izzyviz.Figure(scene).render("pdf")
    assert b"/Outlines" not in data and b"/Annots" not in data
    assert re.search(rb"/Dests", data) is None
