"""In a git repository the first walk copies nothing git already keeps; the bytes a
checkpoint needs are copied from git as soon as the file changes, so that rewinding
still works after the repository forgot them (``git gc --prune=now``)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from harness_tui.core.checkpoints.gitobjects import GitIndex, git_blob_id
from harness_tui.core.providers.offline.scripted import Text, ToolCall, reply
from tests.helpers import scripted_in

GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]


def git(root: Path, *args: str) -> str:
    done = subprocess.run([*GIT, "-C", str(root), *args], capture_output=True, check=True)
    return done.stdout.decode()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    if shutil.which("git") is None:
        pytest.fail("git is not installed: .ci/run installs it (apt-get install git)")
    git(tmp_path, "init", "-q")
    for n in range(20):
        (tmp_path / f"f{n}.txt").write_text(f"file {n}\n" * 50)
    (tmp_path / "untracked.txt").write_text("not in git\n")
    git(tmp_path, "add", "f*.txt")
    git(tmp_path, "commit", "-qm", "start")
    return tmp_path


def test_blob_ids_are_gits_own_and_fetch_returns_the_bytes(repo: Path) -> None:
    data = (repo / "f3.txt").read_bytes()
    assert git_blob_id(data) == git(repo, "hash-object", "f3.txt").strip()
    index = GitIndex.read(repo)
    assert index is not None and index.blobs["f3.txt"] == git_blob_id(data)
    assert "untracked.txt" not in index.blobs
    assert index.fetch([git_blob_id(data), "0" * 40]) == {git_blob_id(data): data}
    assert GitIndex.read(repo.parent) is None  # not a repository


async def test_clean_files_are_not_copied_and_a_changed_one_is_kept_before_gc(
    repo: Path,
) -> None:
    command = "printf 'changed\\n' > f5.txt"
    session, _ = scripted_in(
        repo,
        [reply(ToolCall("Bash", {"command": command})), reply(Text("ok"))],
        mode="bypassPermissions",
    )
    original = (repo / "f5.txt").read_bytes()
    async with session:
        await session.checkpoints.ready()
        blobs = session.checkpoints.blobs
        # Only the untracked file (and .gitignore-less extras) were copied.
        assert 0 < blobs.size < 200
        async for _ in session.run("go"):
            pass
        (change,) = session.checkpoints.records[-1].files
        assert change.before is not None and blobs.deferred([change.before.sha256]) == []
        # The repository forgets the old bytes: history started again, old objects gone.
        shutil.rmtree(repo / ".git")
        git(repo, "init", "-q")
        git(repo, "add", "-A")
        git(repo, "commit", "-qm", "again")
        git(repo, "gc", "-q", "--prune=now")
        with pytest.raises(subprocess.CalledProcessError):
            git(repo, "cat-file", "-e", git_blob_id(original))
        await session.rewind(1, "code")
        assert (repo / "f5.txt").read_bytes() == original
