"""A real git repository with one commit, for the worktree tests (``git_repo`` in
``tests/conftest.py``)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

#: Who commits in the tests (merge commits need one too).
IDENTITY = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.com",
}


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout


def make_repo(root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``root`` as a repository on ``main`` with app.py and .gitignore committed."""
    if shutil.which("git") is None:
        pytest.fail("git is not installed: .ci/run installs it (apt-get install git)")
    for key, value in IDENTITY.items():
        monkeypatch.setenv(key, value)
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "app.py").write_text("print('v1')\n")
    (root / ".gitignore").write_text(".env\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "init")
    return root.resolve()
