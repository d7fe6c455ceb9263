"""The workspace index: what it follows (``.gitignore`` honoured, binary and large files
not kept), and what ``refresh`` finds after changes of every shape — with inotify and
with the walk that stands in for it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from harness_tui.core.checkpoints.blobs import Blobs
from harness_tui.core.checkpoints.index import TooManyFiles, WorkspaceIndex


@pytest.fixture(params=[True, False], ids=["inotify", "walk"])
def index(request: pytest.FixtureRequest, tmp_path: Path) -> WorkspaceIndex:
    root = tmp_path / "ws"
    root.mkdir()
    (root / ".gitignore").write_text("build/\n*.tmp\n")
    (root / "src").mkdir()
    (root / "src" / "a.py").write_text("a = 1\n")
    (root / "build").mkdir()
    (root / "build" / "out.js").write_text("ignored\n")
    (root / "node_modules").mkdir()
    (root / "node_modules" / "x.js").write_text("skipped\n")
    made = WorkspaceIndex(
        root,
        Blobs(tmp_path / "store"),
        max_file_bytes=1000,
        max_files=100,
        use_inotify=request.param,
    )
    made.build()
    assert made.exact is request.param  # inotify is there on this machine
    yield made
    made.close()


def changes(index: WorkspaceIndex) -> list[tuple[str, str]]:
    found = []
    for path, before, after in index.refresh():
        kind = "created" if before is None else "deleted" if after is None else "modified"
        found.append((path, kind))
    return sorted(found)


def test_it_follows_what_git_would_and_keeps_text_bytes(index: WorkspaceIndex) -> None:
    assert set(index.files) == {".gitignore", "src/a.py"}
    state = index.known(index.root / "src" / "a.py")
    assert state is not None and state.sha256 is not None
    assert index.blobs.get(state.sha256) == b"a = 1\n"


def test_changes_of_every_shape_are_found(index: WorkspaceIndex) -> None:
    root = index.root
    assert changes(index) == []
    (root / "src" / "a.py").write_text("a = 2\n")
    (root / "src" / "deep" / "er").mkdir(parents=True)
    (root / "src" / "deep" / "er" / "b.py").write_text("b\n")
    (root / "notes.tmp").write_text("ignored\n")
    (root / "build" / "more.js").write_text("ignored\n")
    assert changes(index) == [("src/a.py", "modified"), ("src/deep/er/b.py", "created")]
    os.rename(root / "src" / "deep", root / "moved")
    assert changes(index) == [("moved/er/b.py", "created"), ("src/deep/er/b.py", "deleted")]
    (root / "moved" / "er" / "c.py").write_text("c\n")  # inside the moved folder
    assert changes(index) == [("moved/er/c.py", "created")]
    os.utime(root / "src" / "a.py")  # touched, not changed
    assert changes(index) == []
    (root / "src" / "a.py").chmod(0o600)
    ((_, before, after),) = index.refresh()
    assert (
        before is not None
        and after is not None
        and (before.mode, after.mode)
        == (
            0o644 & ~_umask(),
            0o600,
        )
    )


def test_a_new_gitignore_rule_is_honoured_at_once(index: WorkspaceIndex) -> None:
    (index.root / ".gitignore").write_text("build/\n*.tmp\nsrc/\n")
    found = changes(index)
    assert ("src/a.py", "deleted") in found  # no longer followed


def test_binary_and_large_files_are_not_kept(index: WorkspaceIndex) -> None:
    (index.root / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0")
    (index.root / "big.txt").write_text("x" * 2000)
    found = {path: after for path, _, after in index.refresh()}
    assert found["logo.png"] is not None and found["logo.png"].not_kept == "binary"
    big = found["big.txt"]
    assert big is not None and big.sha256 is None and big.not_kept.startswith("too large")


def test_named_files_outside_or_ignored_are_learnt_then_compared(
    index: WorkspaceIndex, tmp_path: Path
) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("1\n")
    assert index.look_at(outside, learn=True) == []
    outside.write_text("2\n")
    ((path, before, after),) = index.look_at(outside)
    assert path == str(outside) and before is not None and after is not None
    created = index.root / "build" / "new.js"
    assert index.look_at(created, learn=True) == []
    created.write_text("x\n")
    assert [(p, b) for p, b, _ in index.look_at(created)] == [("build/new.js", None)]


def test_a_workspace_over_the_file_cap_says_so(tmp_path: Path) -> None:
    for n in range(5):
        (tmp_path / f"f{n}.txt").write_text("x")
    small = WorkspaceIndex(tmp_path, Blobs(None), max_file_bytes=10, max_files=3)
    with pytest.raises(TooManyFiles):
        small.build()
    small.close()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
