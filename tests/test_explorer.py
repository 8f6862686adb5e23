"""The explorer's file, notebook element and server, checked without a browser: its tiles are
the static figure's pixels, its value tiles the matrix's cells, its page the figure's colour
bar, title, regions and top cells; bad input gets one clear line. (tests/test_explorer_browser.py
drives the page in Chromium.)"""

from __future__ import annotations

import base64
import io
import json
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

import izzyviz
from izzyviz.cli import main
from izzyviz.explorer.pyramid import Geometry
from izzyviz.explorer.serve import TileCache, start
from izzyviz.numbers import format_number
from izzyviz.scene import CellGrid, Text
from tests.interrupt import default_sigint


def page_json(html: str, kind: str) -> Any:
    """The JSON of the page's ``izv-meta`` or ``izv-tiles`` element."""
    found = re.search(rf'<script type="application/json" class="izv-{kind}">(.*?)</script>', html)
    assert found is not None, kind
    return json.loads(found[1])


def png_indices(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """A palette PNG's indices and its RGB palette."""
    with Image.open(io.BytesIO(data)) as image:
        assert image.mode == "P"
        palette = np.asarray(image.getpalette(), dtype=np.uint8).reshape(-1, 3)
        return np.asarray(image), palette


def values_tile(data: bytes, shape: tuple[int, int], dtype: str) -> np.ndarray:
    """A value tile's cells (byte planes, zlib), as the page decodes them."""
    planes = np.frombuffer(zlib.decompress(data), dtype=np.uint8)
    size = np.dtype(dtype).itemsize
    cells = planes.reshape(size, -1).T.copy().view(np.dtype(dtype).newbyteorder("<"))
    return cells.reshape(shape)


def level_image(tiles: dict[str, str], geometry: Geometry, level: int) -> np.ndarray:
    """A whole level's palette indices, its tiles put together."""
    rows, cols = geometry.tiles(level)
    return np.block([
        [png_indices(base64.b64decode(tiles[f"{level}/{ty}/{tx}"]))[0] for tx in range(cols)]
        for ty in range(rows)
    ])  # fmt: skip


def heat_grid(fig: izzyviz.Figure) -> CellGrid:
    panel = fig.scene.root.children[0]
    grid = panel.find("heatmap")[0].children[0]
    assert isinstance(grid, CellGrid)
    return grid


def long_map(n: int, dtype: type = np.float16, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    matrix = rng.random((n, n), dtype=np.float32) ** 8
    matrix[n // 3, n // 5] = 3.0
    return matrix.astype(dtype)


@pytest.mark.parametrize("pool", ["max", "mean"])
def test_levels_are_the_static_figures_pixels(pool: str) -> None:
    """Where the static figure pools 4 x 4 cells into a pixel (4,096 tokens at 150 dpi), the
    explorer's level 2 holds the very same palette indices and colours."""
    n = 4096
    matrix = long_map(n)
    tokens = [f"t{i}" for i in range(n)]
    fig = izzyviz.heatmap(matrix, tokens, tokens, pool=pool)
    grid = heat_grid(fig)
    assert fig.data["panels"] and grid.indices.shape == (1024, 1024)
    html = izzyviz.explore(matrix, tokens, tokens, pool=pool).html()
    tiles, meta = page_json(html, "tiles"), page_json(html, "meta")
    image = level_image(tiles, Geometry(n, n), 2)
    np.testing.assert_array_equal(image, grid.indices)
    _, palette = png_indices(base64.b64decode(tiles["2/0/0"]))
    np.testing.assert_array_equal(palette, grid.palette[:, :3])
    assert meta["notes"][2] == f"each pixel: {pool} of 4 × 4 cells · " + fig_scale(fig)
    assert meta["levels"] == 4  # 4096 -> 2048 -> 1024 -> 512 pixels


def fig_scale(fig: izzyviz.Figure) -> str:
    """The static figure's small print about its colour scale (its last note line)."""
    return fig.scene.find("note")[0].children[-1].text  # type: ignore[union-attr,no-any-return]


@pytest.mark.parametrize("dtype", [np.float16, np.float32])
def test_value_tiles_hold_the_cells_as_stored(dtype: type) -> None:
    n = 600  # edge tiles of 88 cells
    matrix = long_map(n, dtype)
    tokens = [str(i) for i in range(n)]
    html = izzyviz.explore(matrix, tokens, tokens).html()
    tiles, meta = page_json(html, "tiles"), page_json(html, "meta")
    assert meta["values"] == np.dtype(dtype).name
    geometry = Geometry(n, n)
    rows, cols = geometry.tiles(0)
    for ty in range(rows):
        for tx in range(cols):
            r, c = geometry.cells(0, ty, tx)
            shape = (r.stop - r.start, c.stop - c.start)
            cells = values_tile(base64.b64decode(tiles[f"v/{ty}/{tx}"]), shape, meta["values"])
            np.testing.assert_array_equal(cells, matrix[r, c])


def test_page_shows_the_figures_scale_title_regions_and_top_cells() -> None:
    n = 64
    matrix = long_map(n, np.float32)
    tokens = [f"w{i}" for i in range(n)]
    tokens[5] = "[CLS]"
    options: dict[str, Any] = {
        "top_n": 2, "title": "Layer 3", "regions": [((1, 2), (5, 9))], "region_color": "green",
        "gamma": 0.7, "cmap": "viridis",
    }  # fmt: skip
    fig = izzyviz.heatmap(matrix, tokens, tokens, **options)
    meta = page_json(izzyviz.explore(matrix, tokens, tokens, **options).html(), "meta")
    bar = fig.scene.root.find("colorbar")[0]
    texts = [node.text for node in bar.children if isinstance(node, Text)]
    assert [label for label, _ in meta["ticks"]] == texts
    assert meta["ticks"][0][1] == 0.0 and meta["ticks"][-1][1] == 1.0
    scale = izzyviz.ColorScale(float(matrix.min()), float(matrix.max()), 0.7, "viridis")
    assert meta["palette"] == ["#" + bytes(rgb[:3]).hex() for rgb in scale.palette]
    assert meta["title"] == "Layer 3" and meta["regions"] == [[1, 2, 5, 9]]
    assert meta["region_color"] == "#008000"
    top = fig.data["panels"][0]["top_cells"]
    assert sorted((r, c) for r, c, _ in meta["top"]) == sorted((r, c) for r, c, _ in top)
    assert meta["top"][0][2] == "3.000"
    assert meta["bold_x"] == [5] and meta["x_labels"][5] == "[CLS]"


def test_same_map_same_bytes_and_fig_save_writes_the_explorer(tmp_path: Path) -> None:
    n = 300
    matrix = long_map(n)
    tokens = [f"t{i}" for i in range(n)]
    first = izzyviz.explore(matrix, tokens, tokens, title="t").html()
    assert izzyviz.explore(matrix, tokens, tokens, title="t").html() == first
    fig = izzyviz.heatmap(matrix, tokens, tokens, title="t")
    path = fig.save(tmp_path / "map.html")
    assert path.read_text(encoding="utf-8") == first
    assert fig.render("html") == first.encode("utf-8")
    assert fig.at_dpi(300).render("html") == first.encode("utf-8")
    assert first.startswith("<!DOCTYPE html>") and "http" not in first.replace("http-equiv", "")


def test_notebook_element_is_scoped() -> None:
    page = izzyviz.explore(np.eye(4), list("abcd"), list("abcd"))
    element = page._repr_html_()
    assert not element.startswith("<!DOCTYPE") and "<body" not in element
    assert element.startswith('<div class="izv" tabindex="0"') and " id=" not in element
    css = re.search(r"<style>(.*?)</style>", element, re.S)
    assert css is not None
    rules = re.sub(r"/\*.*?\*/", "", css[1], flags=re.S)
    for selectors in re.findall(r"([^{}]+)\{", rules):
        for selector in selectors.split(","):
            assert selector.strip().startswith(".izv"), selector
    assert "document.getElementById" not in element and "currentScript" in element


def test_tokens_cannot_break_out_of_the_page() -> None:
    tokens = ["</script><script>alert(1)</script>", "<b>&amp;", "a\nb", "ok"]
    html = izzyviz.explore(np.eye(4), tokens, tokens).html()
    assert "<script>alert" not in html and "<b>&amp;" not in html
    meta = page_json(html, "meta")
    assert meta["x_labels"][0] == tokens[0] and meta["x_labels"][2] == "a↵b"


def test_bad_input_gets_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"^x_labels: got 3 labels, but the matrix has 4 columns"):
        izzyviz.explore(np.eye(4), list("abc"), list("abcd"))
    with pytest.raises(ValueError, match=r"^matrix: expected a 2-D array, got array of shape"):
        izzyviz.explore(np.ones(4), list("abcd"), list("abcd"))
    bad = np.eye(4)
    bad[2, 1] = np.nan
    with pytest.raises(ValueError, match=r"found nan at index \(2, 1\)"):
        izzyviz.explore(bad, list("abcd"), list("abcd"))
    n = 8193
    long = np.lib.format.open_memmap(tmp_path / "a.npy", "w+", np.float16, (n, n))
    with pytest.raises(ValueError, match=r"max_tokens=8192 .* up to about 179 MB.*izzyviz serve"):
        izzyviz.explore(long, range(n), range(n))  # refused before any cell is read
    with pytest.raises(ValueError, match=r"^path: '.*x.html': only a heatmap"):
        izzyviz.overview(np.ones((2, 2, 3, 3)), list("abc")).save(tmp_path / "x.html")
    assert not (tmp_path / "x.html").exists()
    with pytest.raises(ValueError, match="max_tokens"):
        izzyviz.heatmap(np.eye(3), list("abc"), list("abc")).save(tmp_path / "y.html", max_tokens=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.npy"]


def test_masked_cells_are_no_data(tmp_path: Path) -> None:
    matrix = np.ma.masked_array(np.arange(16.0).reshape(4, 4), mask=np.tri(4, k=-1).T > 0)
    html = izzyviz.explore(matrix, list("abcd"), list("abcd")).html()
    tiles = page_json(html, "tiles")
    cells = values_tile(base64.b64decode(tiles["v/0/0"]), (4, 4), "float32")
    assert np.isnan(cells[0, 1]) and cells[1, 0] == 4.0
    indices, palette = png_indices(base64.b64decode(tiles["0/0/0"]))
    assert tuple(palette[indices[0, 1]]) == (211, 211, 211)


def test_cli_render_writes_the_explorer(tmp_path: Path) -> None:
    n = 40
    matrix = long_map(n, np.float32)
    np.save(tmp_path / "a.npy", matrix)
    tokens = [f"t{i}" for i in range(n)]
    (tmp_path / "tokens.txt").write_text("\n".join(tokens), encoding="utf-8")
    assert main([
        "render", str(tmp_path / "a.npy"), "--tokens", str(tmp_path / "tokens.txt"),
        "--out", str(tmp_path / "map.html"), "--title", "CLI",
    ]) == 0  # fmt: skip
    expected = izzyviz.explore(matrix, tokens, tokens, title="CLI").html()
    assert (tmp_path / "map.html").read_text(encoding="utf-8") == expected


# -- izzyviz serve --------------------------------------------------------------------------------


@pytest.fixture()
def served(tmp_path: Path) -> Any:
    n = 700
    matrix = long_map(n, np.float32)
    np.save(tmp_path / "a.npy", matrix)
    tokens = [f"t{i}" for i in range(n)]
    server = start(tmp_path / "a.npy", tokens, port=0, title="served")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, matrix, tokens
    server.shutdown()
    server.server_close()


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as reply:
        return bytes(reply.read())


def test_serve_cuts_the_files_tiles(served: Any) -> None:
    server, matrix, tokens = served
    html = izzyviz.explore(matrix, tokens, tokens, title="served").html()
    tiles = page_json(html, "tiles")
    page = fetch(server.url).decode("utf-8")
    meta = page_json(page, "meta")
    assert meta["base"] == "/" and meta == {**page_json(html, "meta"), "base": "/"}
    assert 'class="izv-tiles"' not in page
    for key in ("0/1/2", "1/0/1", "1/1/1", "v/2/1"):
        path = f"values/{key[2:]}.bin" if key.startswith("v/") else f"tile/{key}.png"
        assert fetch(server.url + path) == base64.b64decode(tiles[key]), key
    for missing in ("tile/3/0/0.png", "tile/0/9/0.png", "values/0/3.bin", "nothing"):
        with pytest.raises(urllib.error.HTTPError, match="404"):
            fetch(server.url + missing)


def test_serve_refuses_a_port_in_use_and_other_hosts(served: Any, tmp_path: Path) -> None:
    server = served[0]
    port = server.server_address[1]
    with pytest.raises(OSError, match=rf"^\[Errno \d+\] port: {port} is in use on 127.0.0.1"):
        start(tmp_path / "a.npy", port=port)
    with pytest.raises(ValueError, match=r"^host: expected a loopback address.*'0.0.0.0'"):
        start(tmp_path / "a.npy", host="0.0.0.0", port=0)


def test_tile_cache_stays_within_its_bytes() -> None:
    cache = TileCache(1000)
    for k in range(50):
        cache.get(str(k), lambda: bytes(300))
    assert cache.size <= 1000 and len(cache._items) == 3
    assert cache.get("49", lambda: b"new") == bytes(300)


def test_serve_command_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    np.save(tmp_path / "a.npy", np.eye(5, dtype=np.float32))
    np.save(tmp_path / "v.npy", np.ones(5, dtype=np.float32))
    (tmp_path / "tokens.txt").write_text("a\nb\nc\n", encoding="utf-8")
    tokens = str(tmp_path / "tokens.txt")
    cases = {
        "a.npy": "--tokens: got 3 tokens, but the matrix",
        "v.npy": "holds an array of shape (5,) and dtype float32; expected a 2-D or 4-D array",
        "none.npy": "does not exist",
        "tokens.txt": "is not a .npy file",
    }
    for name, message in cases.items():
        assert main(["serve", str(tmp_path / name), "--tokens", tokens, "--port", "0"]) == 1
        err = capsys.readouterr().err
        assert err.startswith("izzyviz: error: ") and message in err and err.count("\n") == 1


def test_ctrl_c_stops_the_server_cleanly(tmp_path: Path) -> None:
    np.save(tmp_path / "a.npy", np.eye(5, dtype=np.float16))
    (tmp_path / "tokens.txt").write_text("a\nb\nc\nd\ne\n", encoding="utf-8")
    command = [sys.executable, "-m", "izzyviz.cli", "serve", str(tmp_path / "a.npy"), "--tokens",
               str(tmp_path / "tokens.txt"), "--port", "0"]  # fmt: skip
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=default_sigint,
    )
    assert process.stdout is not None
    assert process.stdout.readline() == f"IzzyViz: reading {tmp_path / 'a.npy'} (5 x 5) ...\n"
    line = process.stdout.readline()
    url = re.search(r"http://127\.0\.0\.1:\d+/", line)
    assert url is not None, line
    assert b"izv-meta" in fetch(url[0])
    started = time.monotonic()
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 0 and time.monotonic() - started < 10
    assert out == "IzzyViz: stopped\n" and err == ""


def test_a_log_scale_page_keeps_zeros_apart_as_the_figure_does() -> None:
    n = 300  # long: drawn on a log scale by default
    matrix = np.tril(long_map(n)) + np.eye(n, dtype=np.float32)
    tokens = [str(i) for i in range(n)]
    fig = izzyviz.heatmap(matrix, tokens, tokens)
    meta = page_json(izzyviz.explore(matrix, tokens, tokens).html(), "meta")
    assert fig.data["norm"] == "log"
    assert meta["under"] == "#ffffff" and len(meta["ramp"]) == len(meta["palette"]) - 1
    bar = [node.text for node in fig.scene.find("colorbar")[0].walk() if hasattr(node, "text")]
    assert [label for label, _ in meta["ticks"]] == bar[:-1]  # the figure's, but the "0"
    assert all(0 <= fraction <= 1 for _, fraction in meta["ticks"])


def test_serve_reads_one_head_of_a_4d_file(tmp_path: Path) -> None:
    stack = np.random.default_rng(5).random((2, 3, 6, 6)).astype(np.float16)
    np.save(tmp_path / "s.npy", stack)
    (tmp_path / "tokens.txt").write_text("\n".join("abcdef"), encoding="utf-8")
    tokens = str(tmp_path / "tokens.txt")
    command = [sys.executable, "-m", "izzyviz.cli", "serve", str(tmp_path / "s.npy"), "--tokens",
               tokens, "--layer", "1", "--head", "2", "--port", "0"]  # fmt: skip
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, text=True, preexec_fn=default_sigint
    ) as process:
        try:
            assert process.stdout is not None
            assert "(6 x 6)" in process.stdout.readline()
            url = re.search(r"http://127\.0\.0\.1:\d+/", process.stdout.readline())
            assert url is not None
            meta = page_json(fetch(url[0]).decode("utf-8"), "meta")
            assert meta["top"][0][2] == format_number(float(stack[1, 2].max()))
            process.send_signal(signal.SIGINT)
            assert process.wait(timeout=60) == 0
        finally:
            process.kill()


def test_top_cells_read_as_the_figure_writes_them() -> None:
    """Where the colour bar needs scientific notation (a log scale down to 1e-18), the page's
    list of top cells writes their values as the figure's cells do ("4.00e-3"), not "0.004"."""
    n = 300
    matrix = np.random.default_rng(0).random((n, n)) ** 8 * 0.002
    matrix[7, 9] = 0.0045
    tokens = [f"w{i}" for i in range(n)]
    fig = izzyviz.heatmap(matrix, tokens, tokens, top_n=1)
    meta = page_json(izzyviz.explore(matrix, tokens, tokens, top_n=1).html(), "meta")
    written = [node.text for node in fig.scene.find("values")[0].children if isinstance(node, Text)]
    assert meta["top"][0][:2] == [7, 9]
    assert written == [meta["top"][0][2]] == ["4.50e-3"]
