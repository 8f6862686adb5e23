"""Sizes that drive an allocation are bounded (issue 11, item 7).

A PNG page may hold at most ``izzyviz.backends.png.MAX_PIXELS`` pixels and ``MAX_SIDE`` on a
side: beyond that ``dpi`` is refused before anything is allocated, naming the largest ``dpi``
that fits. A cell grid drawn as one image never exceeds its pixel budget, however extreme
``enlarged_size`` is. Peak memory is measured in a fresh interpreter (Linux ``VmHWM``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import izzyviz
from izzyviz.backends.png import MAX_PIXELS, MAX_SIDE
from izzyviz.raster import PIXEL_BUDGET, grid_image
from izzyviz.scene import CellGrid

ROOT = Path(__file__).resolve().parents[1]
LABELS = [f"t{i}" for i in range(5)]
MATRIX = np.random.default_rng(0).random((5, 5))


def peak_rss_mb(code: str) -> float:
    """Run ``code`` in a fresh interpreter; return its peak resident set in MiB.

    Read from ``VmHWM`` (the high-water mark of the process's own memory, which starts afresh
    at exec) rather than ``ru_maxrss``, which Linux carries over from the forking parent: a
    large pytest process would otherwise be counted."""
    script = textwrap.dedent(code) + textwrap.dedent(
        """
        with open("/proc/self/status") as status:
            print("RSS", next(l.split()[1] for l in status if l.startswith("VmHWM:")))
        """
    )
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, env=env
    )
    assert proc.returncode == 0, proc.stderr
    kib = int(proc.stdout.split("RSS")[-1])
    return kib / 1024


@pytest.mark.parametrize("dpi", [5000, 4500.5, 1e6, 1e300])
def test_png_dpi_beyond_the_pixel_budget_is_refused(dpi: float, tmp_path: Path) -> None:
    fig = izzyviz.heatmap(MATRIX, LABELS, LABELS)
    with pytest.raises(ValueError, match=r"^dpi: ") as info:
        fig.to_png(dpi=dpi)
    message = str(info.value)
    assert f"{dpi:g}" in message and "pixels" in message and f"{MAX_PIXELS:,}" in message
    with pytest.raises(ValueError, match=r"^dpi: "):
        fig.save(tmp_path / "big.png", dpi=dpi)
    with pytest.raises(ValueError, match=r"^dpi: "):
        fig.render("png", dpi=dpi, engine="cairosvg")
    assert list(tmp_path.iterdir()) == []


def test_the_largest_dpi_the_message_names_works() -> None:
    fig = izzyviz.heatmap(MATRIX, LABELS, LABELS)
    with pytest.raises(ValueError) as info:
        fig.to_png(dpi=1e6)
    largest = float(str(info.value).split("at most dpi=")[1].split()[0].rstrip(",;)"))
    w, h = fig.size
    assert round(w * largest / 72) * round(h * largest / 72) <= MAX_PIXELS
    assert max(round(w * largest / 72), round(h * largest / 72)) <= MAX_SIDE
    with pytest.raises(ValueError):
        fig.to_png(dpi=largest * 1.01)


needs_proc = pytest.mark.skipif(
    not Path("/proc/self/status").is_file(), reason="peak memory is read from /proc (Linux)"
)


@needs_proc
def test_refused_dpi_allocates_nothing() -> None:
    peak = peak_rss_mb(
        """
        import numpy as np, izzyviz
        m = np.random.default_rng(0).random((5, 5))
        fig = izzyviz.heatmap(m, list("abcde"), list("abcde"))
        for dpi in (4500, 5000, 1e6):
            try:
                fig.to_png(dpi=dpi)
            except ValueError:
                pass
            else:
                raise SystemExit("dpi %g was not refused" % dpi)
        """
    )
    assert peak < 300, peak


@pytest.mark.parametrize("enlarged_size", [1e-4, 1e-2, 1e2, 1e6])
def test_image_cells_stay_within_the_pixel_budget(enlarged_size: float) -> None:
    fig = izzyviz.heatmap(MATRIX, LABELS, LABELS, enlarged_size=enlarged_size, cells="image")
    grid = next(n for n in fig.scene.root.walk() if isinstance(n, CellGrid))
    image = grid_image(grid)
    assert image.indices.size <= PIXEL_BUDGET
    # Still a picture of the grid: the largest cell's colour is in it.
    areas = np.outer(np.diff(grid.y_edges), np.diff(grid.x_edges))
    largest = np.unravel_index(np.argmax(areas), areas.shape)
    assert grid.indices[largest] in image.indices


@needs_proc
def test_extreme_enlarged_size_renders_in_little_memory(tmp_path: Path) -> None:
    peak = peak_rss_mb(
        f"""
        import numpy as np, izzyviz
        m = np.random.default_rng(0).random((5, 5))
        for size in (1e-4, 1e6):
            fig = izzyviz.heatmap(m, list("abcde"), list("abcde"), enlarged_size=size,
                                  cells="image")
            for ext in ("pdf", "svg", "png"):
                fig.save(r"{tmp_path}/e%g.%s" % (size, ext))
        """
    )
    assert peak < 600, peak
    assert len(list(tmp_path.iterdir())) == 6
