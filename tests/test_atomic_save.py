"""What an atomic save does around the file it writes (issue 11, item 10), for every backend.

* A symbolic link is written through: its target gets the new content, the link stays a link.
* An existing file keeps its permission bits; a new file gets the umask's default.
* A read-only file is refused with a PermissionError naming it, and left alone.
* Any legal file name can be saved: the temporary file's name is short.
* Temporaries are named ``.izzyviz-XXXXXXXX.tmp``; one left by a writer that died (SIGKILL
  between write and rename) is removed by the next save in that folder, one still being
  written is not.
* Report pages written to a folder follow the same rules, and are written all or nothing.
"""

from __future__ import annotations

import os
import re
import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import izzyviz

FORMATS = ["pdf", "svg", "png"]
MAGIC = {"pdf": b"%PDF", "svg": b"<?xml", "png": b"\x89PNG"}
TEMP_NAME = re.compile(r"\.izzyviz-[0-9a-f]{8}\.tmp")
ROOT = str(Path(__file__).resolve().parents[1])
FIG = izzyviz.heatmap(np.eye(3), list("abc"), list("abc"))


@pytest.fixture
def umask_027() -> Iterator[int]:
    old = os.umask(0o027)
    try:
        yield 0o027
    finally:
        os.umask(old)


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# -- symbolic links --------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_saving_onto_a_symlink_writes_through_to_its_target(fmt: str, tmp_path: Path) -> None:
    real_dir = tmp_path / "real"
    real_dir.mkdir()
    target = real_dir / f"figure.{fmt}"
    target.write_bytes(b"old")
    link = tmp_path / f"link.{fmt}"
    link.symlink_to(os.path.relpath(target, tmp_path))
    assert FIG.save(link) == link
    assert link.is_symlink() and os.readlink(link) == os.path.relpath(target, tmp_path)
    assert target.read_bytes().startswith(MAGIC[fmt])
    assert _names(tmp_path) == [f"link.{fmt}", "real"]
    assert _names(real_dir) == [f"figure.{fmt}"]


def test_a_dangling_symlink_gets_its_target_created(tmp_path: Path) -> None:
    link = tmp_path / "link.svg"
    link.symlink_to("made.svg")
    FIG.save(link)
    assert link.is_symlink() and (tmp_path / "made.svg").read_bytes().startswith(b"<?xml")


def test_a_symlink_loop_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a.svg").symlink_to("b.svg")
    (tmp_path / "b.svg").symlink_to("a.svg")
    with pytest.raises(OSError, match="symbolic link") as info:
        FIG.save(tmp_path / "a.svg")
    assert str(tmp_path / "a.svg") in str(info.value)
    assert all(p.is_symlink() for p in tmp_path.iterdir()) and len(_names(tmp_path)) == 2


# -- permissions -----------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_existing_file_keeps_its_mode(fmt: str, tmp_path: Path) -> None:
    path = tmp_path / f"kept.{fmt}"
    path.write_bytes(b"old")
    path.chmod(0o640)
    FIG.save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert path.read_bytes().startswith(MAGIC[fmt])


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_new_file_gets_the_umask_default(fmt: str, tmp_path: Path, umask_027: int) -> None:
    path = FIG.save(tmp_path / f"new.{fmt}")
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask_027


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_read_only_file_is_refused_and_left_alone(fmt: str, tmp_path: Path) -> None:
    path = tmp_path / f"locked.{fmt}"
    path.write_bytes(b"old")
    path.chmod(0o444)
    with pytest.raises(PermissionError) as info:
        FIG.save(path)
    message = str(info.value)
    assert "read-only" in message and str(path) in message and "path" in message, message
    assert path.read_bytes() == b"old" and stat.S_IMODE(path.stat().st_mode) == 0o444
    assert _names(tmp_path) == [path.name]


def test_a_folder_in_the_way_is_refused(tmp_path: Path) -> None:
    (tmp_path / "taken.svg").mkdir()
    with pytest.raises(IsADirectoryError) as info:
        FIG.save(tmp_path / "taken.svg")
    assert str(tmp_path / "taken.svg") in str(info.value) and "path" in str(info.value)
    assert _names(tmp_path) == ["taken.svg"]


# -- names -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("length", [242, 250, 255])
@pytest.mark.parametrize("fmt", FORMATS)
def test_the_longest_legal_names_can_be_saved(length: int, fmt: str, tmp_path: Path) -> None:
    name = "n" * (length - len(fmt) - 1) + "." + fmt
    assert len(name) == length
    FIG.save(tmp_path / name)
    assert _names(tmp_path) == [name]


# -- temporaries left by a crash -------------------------------------------------------------------

# The child stops between writing its temporary and renaming it, tells us the temporary's name,
# and waits to be killed (or released).
PAUSED_SAVE = """
import os, sys, time, numpy as np, izzyviz
real_replace = os.replace
def replace(src, dst):
    print(os.path.basename(src), flush=True)
    sys.stdin.readline()
    real_replace(src, dst)
os.replace = replace
izzyviz.heatmap(np.eye(3), list("abc"), list("abc")).save(sys.argv[1])
"""


def _paused_save(path: Path) -> tuple[subprocess.Popen[str], str]:
    child = subprocess.Popen(
        [sys.executable, "-c", PAUSED_SAVE, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")])},
    )
    assert child.stdout is not None
    return child, child.stdout.readline().strip()


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)")
def test_a_temporary_left_by_a_killed_save_is_removed_by_the_next(tmp_path: Path) -> None:
    child, temp = _paused_save(tmp_path / "killed.pdf")
    assert TEMP_NAME.fullmatch(temp), temp
    assert _names(tmp_path) == [temp]
    child.send_signal(signal.SIGKILL)
    child.communicate(timeout=60)
    assert _names(tmp_path) == [temp]  # the crash's litter, recognisable by its name
    FIG.save(tmp_path / "next.svg")
    assert _names(tmp_path) == ["next.svg"]


def test_a_temporary_still_being_written_is_left_alone(tmp_path: Path) -> None:
    child, temp = _paused_save(tmp_path / "slow.pdf")
    try:
        FIG.save(tmp_path / "other.svg")
        assert _names(tmp_path) == sorted([temp, "other.svg"])
    finally:
        child.communicate("\n", timeout=60)  # let it rename and finish
    assert child.returncode == 0
    assert _names(tmp_path) == ["other.svg", "slow.pdf"]


def test_files_that_only_look_like_temporaries_are_kept(tmp_path: Path) -> None:
    keep = [".izzyviz-notes.tmp", ".izzyviz-0123456789.tmp", "izzyviz-01234567.tmp", ".x.tmp"]
    for name in keep:
        (tmp_path / name).write_text("mine")
    FIG.save(tmp_path / "f.svg")
    assert _names(tmp_path) == sorted([*keep, "f.svg"])


# -- report pages in a folder ----------------------------------------------------------------------

SAMPLE = izzyviz.load_sample("quick_start")


def _report(folder: Path) -> izzyviz.Figure:
    from izzyviz.heads import report

    return report(SAMPLE.attentions[:1, :2], SAMPLE.tokens, folder, format="svg", progress=False)


def test_report_pages_follow_the_same_rules(tmp_path: Path) -> None:
    folder = tmp_path / "pages"
    first = [Path(f) for f in _report(folder).data["files"]]
    assert len(first) == 3
    for page in first:  # every page now differs from what the report writes
        page.write_bytes(b"old")
    first[0].chmod(0o640)
    first[1].chmod(0o444)
    before = {p.name: p.read_bytes() for p in first}
    with pytest.raises(PermissionError, match="read-only") as info:
        _report(folder)
    assert str(first[1]) in str(info.value)
    # all or nothing: no page was replaced, no temporary is left
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    first[1].chmod(0o644)
    _report(folder)
    assert stat.S_IMODE(first[0].stat().st_mode) == 0o640
    assert all(p.read_bytes().startswith(b"<?xml") for p in first)
    assert _names(folder) == sorted(p.name for p in first)


def test_threads_saving_into_one_folder_all_succeed(tmp_path: Path) -> None:
    # Every save cleans the folder of abandoned temporaries: never of one still being written.
    from concurrent.futures import ThreadPoolExecutor

    def work(worker: int) -> None:
        for round in range(10):
            FIG.save(tmp_path / f"{worker}-{round % 3}.svg")
            FIG.save(tmp_path / "shared.svg")

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(work, range(8)))
    expected = sorted([f"{w}-{r}.svg" for w in range(8) for r in range(3)] + ["shared.svg"])
    assert _names(tmp_path) == expected


MANY_FILES = """
import resource, sys
from izzyviz._io import atomic_files
resource.setrlimit(resource.RLIMIT_NOFILE, (64, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
with atomic_files() as write:
    for i in range(300):
        write(f"{sys.argv[1]}/page{i}.svg", b"<svg/>")
"""


@pytest.mark.skipif(sys.platform == "win32", reason="needs the resource module")
def test_a_batch_holds_one_descriptor_per_folder_not_per_file(tmp_path: Path) -> None:
    # 300 pages under a limit of 64 open files (macOS's default is 256): 32 x 32 heads fit.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")])}
    subprocess.run([sys.executable, "-c", MANY_FILES, str(tmp_path)], env=env, check=True)
    assert len(_names(tmp_path)) == 300
