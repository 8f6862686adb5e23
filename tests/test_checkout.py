"""``import izzyviz`` and a save work from a plain checkout, with or without an install."""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = """
import numpy as np, izzyviz
fig = izzyviz.heatmap(np.eye(3), ["a", "b", "c"], ["a", "b", "c"])
for ext in ("pdf", "svg", "png"):
    fig.save("out." + ext)
print(izzyviz.__file__)
"""


def test_save_from_a_checkout_without_install(tmp_path: Path) -> None:
    # A copy of the source tree, run with -S so that no .pth file (an editable install's import
    # hook) can map izzyviz.backends for us: only the package itself can find its backends.
    for folder in ("izzyviz", "backends"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(site.getsitepackages()))
    proc = subprocess.run(
        [sys.executable, "-S", "-c", SCRIPT],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    *saved, location = proc.stdout.strip().splitlines()
    assert saved == [f"IzzyViz: saved out.{ext}" for ext in ("pdf", "svg", "png")]
    assert Path(location).parent == tmp_path / "izzyviz"
    for ext in ("pdf", "svg", "png"):
        assert (tmp_path / f"out.{ext}").stat().st_size > 0
