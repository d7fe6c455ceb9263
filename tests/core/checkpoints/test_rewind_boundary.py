"""A rewind never writes, creates or deletes anything outside the workspace, whatever
path a checkpoint names: the records come from a session file, which anyone who can
write the data folder can edit. Each variant is a change that would undo into a file
outside (or through a symlink leading outside); every one must be skipped, with the
reason, and leave the outside untouched."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from harness_tui.core.checkpoints.blobs import Blobs
from harness_tui.core.checkpoints.rewind import apply, inside, plan
from harness_tui.core.events import CheckpointFile, FileState


@pytest.fixture
def world(tmp_path: Path) -> tuple[Path, Path]:
    root, outside = tmp_path / "ws", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (outside / "victim.txt").write_text("untouched\n")
    (root / "dir").mkdir()
    os.symlink(outside, root / "link")  # a folder symlink leading out
    os.symlink(outside / "victim.txt", root / "file-link")  # a file symlink leading out
    os.symlink(outside, root / "dir" / "deeper")  # one level down
    return root, outside


PATHS = [
    "../outside/victim.txt",
    "dir/../../outside/victim.txt",
    "./../outside/victim.txt",
    "link/victim.txt",
    "link/new.txt",
    "file-link",
    "dir/deeper/victim.txt",
    "dir/deeper/sub/new.txt",
    "{outside}/victim.txt",  # absolute
    "{outside}/new.txt",
]


@pytest.mark.parametrize("raw", PATHS)
@pytest.mark.parametrize("target_exists", [True, False], ids=["restore", "remove"])
def test_no_rewind_reaches_outside_the_workspace(
    world: tuple[Path, Path], raw: str, target_exists: bool
) -> None:
    root, outside = world
    rel = raw.format(outside=outside)
    blobs = Blobs(None)
    digest, _ = blobs.put(b"written by a rewind\n")
    then = FileState(sha256=digest, size=20, mode=0o644) if target_exists else None
    now = FileState(sha256="0" * 64, size=10, mode=0o644)
    change = CheckpointFile(path=rel, change="modified", before=then, after=now)
    before = sorted((p.relative_to(outside), p.read_bytes()) for p in outside.rglob("*"))

    planned = plan(root, blobs, [change], None)
    done, skipped = apply(root, blobs, planned, "overwrite")

    assert done == []
    assert [(s.path, s.reason) for s in skipped] == [(rel, "outside the workspace")]
    after = sorted((p.relative_to(outside), p.read_bytes()) for p in outside.rglob("*"))
    assert after == before


def test_inside_accepts_only_plain_paths_under_the_root(world: tuple[Path, Path]) -> None:
    root, _ = world
    assert inside(root, "dir/new.txt") == root / "dir" / "new.txt"
    assert inside(root, "not/yet/made.txt") == root / "not" / "yet" / "made.txt"
    for raw in ("..", "../x", "a/../../x", "/etc/passwd", "link/x", "file-link"):
        assert inside(root, raw) is None, raw
