"""The explorer in a real headless Chromium (Debian's ``chromium``, driven through the DevTools
protocol; skipped when it is not installed): a 4,096-token map with a planted cell, opened from
``file://``, zoomed with the wheel down to the cell, hovered, searched, and compared with the
static PNG's colours; and a served map read over HTTP."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

import izzyviz
from izzyviz.explorer.serve import start
from tests.chromium import Browser
from tests.system_tools import require

N = 4096
PLANTED = (2500, 1300)
ROOT = "document.querySelector('.izv')"


def planted_map() -> tuple[np.ndarray, list[str]]:
    """Quadrants of constant values (so any pooling shows the same colours), a planted cell."""
    matrix = np.full((N, N), 0.05, dtype=np.float16)
    half = N // 2
    matrix[:half, half:] = 0.2
    matrix[half:, :half] = 0.4
    matrix[half:, half:] = 0.6
    matrix[PLANTED] = 0.9
    tokens = [f"w{i}" for i in range(N)]
    tokens[PLANTED[0]], tokens[PLANTED[1]] = "needle", "haystack"
    return matrix, tokens


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("explorer")
    matrix, tokens = planted_map()
    fig = izzyviz.heatmap(matrix, tokens, tokens, top_n=1, title="planted")
    return {
        "html": fig.save(folder / "map.html"),
        "png": fig.save(folder / "static.png"),
        "fig": fig,
        "folder": folder,
    }


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with Browser(require("chromium")) as opened:
        yield opened


@pytest.fixture()
def page(browser: Browser, files: dict[str, Any]) -> Browser:
    """The planted map, freshly opened and painted."""
    browser.open(Path(files["html"]).resolve().as_uri())
    browser.wait_for(f"{ROOT}.dataset.firstPaint")
    return browser


def state(browser: Browser) -> dict[str, Any]:
    return dict(browser.evaluate(f"{ROOT}.izv.state()"))


def client(browser: Browser, row: int, col: int) -> tuple[float, float]:
    x, y = browser.evaluate(f"{ROOT}.izv.client({row}, {col})")
    return float(x), float(y)


def tooltip(browser: Browser, row: int, col: int) -> str:
    """Hover cell ``(row, col)`` and wait for the tooltip's value."""
    browser.mouse("mouseMoved", *client(browser, row, col))
    return str(
        browser.wait_for(
            "(t => !t.hidden && !t.innerText.includes('…') && t.innerText)"
            f"({ROOT}.querySelector('.izv-tip'))"
        )
    )


def test_first_paint_decodes_only_the_overview_tiles_in_view(page: Browser) -> None:
    seen = state(page)
    level = seen["level"]
    assert level == 3  # 4096 cells in ~600 pixels: 8 x 8 cells a pixel, 512 pixels
    assert sorted(seen["loaded"]) == ["3/0/0", "3/0/1", "3/1/0", "3/1/1"]
    assert page.evaluate(f"{ROOT}.querySelector('.izv-title').textContent") == "planted"
    note = page.evaluate(f"{ROOT}.querySelector('.izv-note').textContent")
    assert note.startswith("each pixel: max of 8 × 8 cells")


def test_overview_colours_match_the_static_png(page: Browser, files: dict[str, Any]) -> None:
    shot = page.screenshot()
    with Image.open(files["png"]) as image:
        static = np.asarray(image.convert("RGB"))
    panel = files["fig"].scene.root.children[0]
    grid = panel.find("heatmap")[0].children[0]
    dx, dy = panel.transform[4], panel.transform[5]
    per_col, per_row = (float(edges[-1]) / N * 150 / 72 for edges in (grid.x_edges, grid.y_edges))

    def static_at(row: float, col: float) -> tuple[int, int]:
        return int(dy * 150 / 72 + row * per_row), int(dx * 150 / 72 + col * per_col)

    for row, col in [(700, 900), (900, 3000), (3000, 1000), (3300, 3300)]:
        x, y = client(page, row, col)
        assert tuple(shot[int(y), int(x)]) == tuple(static[static_at(row, col)]), (row, col)
    darkest = izzyviz.ColorScale(0.05, 0.9).palette[-1][:3]
    x, y = client(page, *PLANTED)
    near = shot[int(y) - 2 : int(y) + 3, int(x) - 2 : int(x) + 3].reshape(-1, 3)
    assert (near == darkest).all(axis=1).any()
    sy, sx = static_at(*PLANTED)
    static_near = static[sy - 2 : sy + 3, sx - 2 : sx + 3].reshape(-1, 3)
    assert (static_near == darkest).all(axis=1).any()


def test_zoom_to_the_planted_cell_and_hover_it(page: Browser) -> None:
    overview = tooltip(page, *PLANTED)  # a pixel of 8 x 8 cells: its maximum and where it is
    assert "max of 8 × 8 cells" in overview and "“needle”" in overview and "0.9" in overview
    for _ in range(40):  # aim again after each notch, as a reader would
        if state(page)["scale"] >= 24:
            break
        page.mouse("mouseWheel", *client(page, *PLANTED), deltaX=0, deltaY=-240)
    seen = state(page)
    assert seen["scale"] >= 24 and seen["level"] == 0
    assert all(key.split("/")[0] in ("0", "1", "2", "3") for key in seen["loaded"])
    text = tooltip(page, *PLANTED)
    lines = [line.split() for line in text.splitlines()]
    assert lines == [
        ["query", "2500", "“needle”"],
        ["key", "1300", "“haystack”"],
        ["value", "0.9"],  # float16(0.9) = 0.89990234375, written as the shortest exact text
    ]
    assert tooltip(page, PLANTED[0], PLANTED[1] + 1).splitlines()[-1].split() == ["value", "0.4"]
    level0 = [key for key in state(page)["loaded"] if key.startswith("0/")]
    assert 0 < len(level0) <= 20  # tiles that were in view on the way, not the level's 256


def test_drag_pinch_keys_buttons_and_labels(page: Browser) -> None:
    start = state(page)
    page.key("+")
    page.key("+")
    assert state(page)["scale"] == pytest.approx(start["scale"] * 4)
    page.evaluate(f"{ROOT}.querySelector('.izv-out').click()")
    assert state(page)["scale"] == pytest.approx(start["scale"] * 2)
    before = state(page)
    page.mouse("mousePressed", 500, 500, button="left", clickCount=1)
    page.mouse("mouseMoved", 600, 550, button="left", buttons=1)
    page.mouse("mouseReleased", 600, 550, button="left", clickCount=1)
    after = state(page)
    assert before["ox"] - after["ox"] == pytest.approx(100 / before["scale"])
    assert before["oy"] - after["oy"] == pytest.approx(50 / before["scale"])
    touch = [{"x": 450, "y": 450, "id": 1}, {"x": 550, "y": 450, "id": 2}]
    page.call("Input.dispatchTouchEvent", type="touchStart", touchPoints=touch)
    for spread in (60, 90, 120):
        moved = [{**touch[0], "x": 500 - spread}, {**touch[1], "x": 500 + spread}]
        page.call("Input.dispatchTouchEvent", type="touchMove", touchPoints=moved)
    page.call("Input.dispatchTouchEvent", type="touchEnd", touchPoints=[])
    assert state(page)["scale"] > after["scale"] * 2  # fingers 100 -> 240 px apart
    page.key("0")
    assert state(page)["scale"] == pytest.approx(start["scale"])
    for _ in range(6):
        page.key("+")
    row, column = int(state(page)["oy"]) + 3, int(state(page)["ox"]) + 4
    box = page.evaluate(f"{ROOT}.querySelector('.izv-canvas').getBoundingClientRect().toJSON()")
    for x, y in ((box["left"] + 60, client(page, row, column)[1]),  # the row's label
                 (client(page, row, column)[0], box["top"] + 60)):  # the column's  # fmt: skip
        page.mouse("mousePressed", x, y, button="left", clickCount=1)
        page.mouse("mouseReleased", x, y, button="left", clickCount=1)
    assert state(page)["picked"] == [[row], [column]]


def test_search_labels_and_top_cells(page: Browser) -> None:
    page.evaluate(f"{ROOT}.querySelector('.izv-search').focus()")
    page.call("Input.insertText", text="needle")
    page.call("Input.dispatchKeyEvent", type="keyDown", key="Enter", code="Enter",
              windowsVirtualKeyCode=13)  # fmt: skip
    found = page.evaluate(f"{ROOT}.querySelector('.izv-found').innerText")
    assert "“needle”: 1 rows, 1 columns" in found
    seen = state(page)
    assert seen["scale"] >= 18  # zoomed until every label fits
    x, y = client(page, PLANTED[0], PLANTED[0])  # row and column 2500 are "needle"
    assert 132 < x < 900 and 112 < y < 800  # centred on the match
    top = page.evaluate(f"{ROOT}.querySelector('.izv-top').innerText")
    assert top.split() == ["0.900", "2500", "“needle”", "→", "1300", "“haystack”"]
    page.key("0")
    page.evaluate(f"{ROOT}.querySelector('.izv-top button').click()")
    text = page.wait_for(
        f"(t => !t.hidden && !t.innerText.includes('…') && t.innerText)({ROOT}.querySelector"
        "('.izv-tip'))"
    )
    assert "“needle”" in text and text.splitlines()[-1].split() == ["value", "0.9"]


def test_served_map_reads_values_over_http(browser: Browser, tmp_path: Path) -> None:
    n = 2048
    matrix = np.lib.format.open_memmap(tmp_path / "a.npy", "w+", np.float32, (n, n))
    matrix[:] = np.linspace(0, 0.01, n, dtype=np.float32)
    matrix[700, 1500] = 0.123456789
    matrix.flush()
    server = start(tmp_path / "a.npy", [f"k{i}" for i in range(n)], port=0, top_n=1)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        browser.open(server.url)
        browser.wait_for(f"{ROOT}.dataset.firstPaint")
        browser.evaluate(f"{ROOT}.querySelector('.izv-top button').click()")
        text = browser.wait_for(
            f"(t => !t.hidden && !t.innerText.includes('…') && t.innerText)({ROOT}.querySelector"
            "('.izv-tip'))"
        )
        assert text.splitlines()[0].split() == ["query", "700", "“k700”"]
        assert text.splitlines()[-1].split() == ["value", "0.12345679"]  # float32, exactly
    finally:
        server.shutdown()
        server.server_close()


def test_two_explorers_in_a_notebook_page(browser: Browser, tmp_path: Path) -> None:
    """Outputs inserted as a notebook inserts them (innerHTML, then each script re-created in
    place, as JupyterLab does): the same map shown twice, each explorer on its own."""
    matrix = np.zeros((300, 300), dtype=np.float32)
    matrix[120, 40] = 1.0
    element = izzyviz.explore(matrix, [f"c{i}" for i in range(300)], [f"r{i}" for i in range(300)],
                              top_n=1)._repr_html_()  # fmt: skip
    (tmp_path / "notebook.html").write_text(
        "<!DOCTYPE html><meta charset='utf-8'><style>div { padding: 2px; }</style>"
        "<h1>A notebook</h1><div id='out1'></div><div id='out2'></div>",
        encoding="utf-8",
    )
    browser.open((tmp_path / "notebook.html").as_uri())
    browser.evaluate(
        f"""for (const id of ['out1', 'out2']) {{
          const out = document.getElementById(id);
          out.innerHTML = {element!r};
          for (const old of out.querySelectorAll('script:not([type])')) {{
            const script = document.createElement('script');
            script.textContent = old.textContent;
            old.replaceWith(script);
          }}
        }}"""
    )
    roots = "[...document.querySelectorAll('.izv')]"
    browser.wait_for(f"{roots}.every(r => r.dataset.firstPaint)")
    second = f"{roots}[1]"
    browser.evaluate(f"{second}.scrollIntoView()")
    x, y = browser.evaluate(f"{second}.izv.client(120, 40)")
    browser.mouse("mouseMoved", x, y)
    text = browser.wait_for(
        f"(t => !t.hidden && !t.innerText.includes('…') && t.innerText)({second}"
        ".querySelector('.izv-tip'))"
    )
    assert text.split() == ["query", "120", "“r120”", "key", "40", "“c40”", "value", "1"]
    assert browser.evaluate(f"{roots}[0].querySelector('.izv-tip').hidden")
    assert browser.evaluate(f"{roots}.map(r => r.izv.state().level)") == [0, 0]
