"""``harness-tui --worktree [NAME]`` and ``harness-tui worktree list|merge|remove``, as
processes on a real git repository: two scripted sessions at once in two worktrees
edit the same file apart; the kept/removed rule; the refusals and their messages."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.cli.test_cli import harness
from tests.worktree_support import git

#: A scripted model that writes app.py (relative: in the session's folder), then answers.
WRITES = (
    "- tool_calls: [{{name: Write, input: {{file_path: app.py, content: \"print('{0}')\\n\"}}}}]\n"
    "- text: wrote {0}\n"
)


def _script(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    return f"scripted:{path}"


def _session(script: str, name: str) -> list[str]:
    """A ``-p`` session in a worktree ``name``, allowed to write (bypassPermissions)."""
    flags = ["-p", "go", "--model", script, "--mode", "bypassPermissions", "--worktree", name]
    return [sys.executable, "-m", "harness_tui", *flags]


def test_two_sessions_in_two_worktrees_edit_the_same_file_apart(
    git_repo: Path, tmp_path: Path
) -> None:
    env = {**os.environ, "HARNESS_DEMO_PACE": "0"}
    scripts = {name: _script(tmp_path, name, WRITES.format(name)) for name in ("one", "two")}
    pipes: dict[str, Any] = {
        "stdout": subprocess.PIPE,
        "stderr": subprocess.PIPE,
        "stdin": subprocess.DEVNULL,
    }
    running = [  # at the same time
        subprocess.Popen(_session(script, name), cwd=git_repo, env=env, text=True, **pipes)
        for name, script in scripts.items()
    ]
    outputs = [process.communicate(timeout=60) for process in running]
    for (out, err), name in zip(outputs, ("one", "two"), strict=True):
        assert f"wrote {name}" in out, err
        assert f"branch worktree-{name}) has 1 uncommitted change(s): kept" in err
        assert f"`harness-tui worktree merge {name}`" in err
        assert (git_repo / ".worktrees" / name / "app.py").read_text() == f"print('{name}')\n"
    assert (git_repo / "app.py").read_text() == "print('v1')\n"
    assert git(git_repo, "status", "--porcelain") == ""
    listed = harness("worktree", "list", cwd=git_repo)
    assert listed.returncode == 0
    assert [line.split()[:2] for line in listed.stdout.splitlines()] == [
        ["one", "worktree-one"],
        ["two", "worktree-two"],
    ]
    assert "1 uncommitted change(s)" in listed.stdout


def test_a_session_that_changes_nothing_leaves_no_worktree(git_repo: Path, tmp_path: Path) -> None:
    result = harness(
        "-p", "hi", "--model", _script(tmp_path, "quiet", "- text: nothing to do\n"),
        "--worktree", "quiet", cwd=git_repo,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "the worktree quiet had no changes: removed" in result.stderr
    assert not (git_repo / ".worktrees" / "quiet").exists()
    assert git(git_repo, "branch", "--list", "worktree-quiet") == ""


def test_merge_and_remove_from_the_command_line(git_repo: Path, tmp_path: Path) -> None:
    for name in ("keep", "drop"):
        script = _script(tmp_path, name, WRITES.format(name))
        assert harness(
            "-p", "go", "--model", script, "--mode", "acceptEdits", "-w", name, cwd=git_repo
        )  # fmt: skip.returncode == 0
    refused = harness("worktree", "merge", "keep", cwd=git_repo)
    assert refused.returncode == 2
    assert "uncommitted change(s): only commits are merged" in refused.stderr
    git(git_repo / ".worktrees" / "keep", "commit", "-qam", "keep")
    merged = harness("worktree", "merge", "keep", cwd=git_repo)
    assert merged.returncode == 0, merged.stderr
    assert (git_repo / "app.py").read_text() == "print('keep')\n"
    refused = harness("worktree", "remove", "drop", cwd=git_repo)
    assert refused.returncode == 2 and "--force" in refused.stderr
    removed = harness("worktree", "remove", "drop", "--force", cwd=git_repo)
    assert removed.returncode == 0 and not (git_repo / ".worktrees" / "drop").exists()
    unknown = harness("worktree", "remove", "nope", cwd=git_repo)
    assert unknown.returncode == 2 and "no harness-tui worktree 'nope'" in unknown.stderr


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("none", "is not in a git repository: a worktree needs one"),
        ("empty", "has no commit yet"),
        ("staged", "has staged changes that a new worktree (made from HEAD) would not have"),
    ],
)
def test_refusals_exit_2_with_their_message(
    tmp_path: Path, git_repo: Path, setup: str, message: str
) -> None:
    folder = git_repo
    if setup == "none":
        folder = tmp_path / "plain"
        folder.mkdir()
    elif setup == "empty":
        folder = tmp_path / "empty"
        folder.mkdir()
        git(folder, "init", "-q")
    else:
        (git_repo / "app.py").write_text("print('staged')\n")
        git(git_repo, "add", "app.py")
    result = harness("-p", "hi", "--model", "demo", "--worktree", "x", cwd=folder)
    assert result.returncode == 2
    assert message in result.stderr
    assert result.stdout == ""


def test_worktree_does_not_go_with_continue(git_repo: Path) -> None:
    result = harness("-p", "hi", "--worktree", "--continue", cwd=git_repo)
    assert result.returncode == 2 and "--worktree starts a new session" in result.stderr
