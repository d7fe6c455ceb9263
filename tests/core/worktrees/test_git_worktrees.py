"""Worktrees with real git: made from HEAD on ``worktree-<name>``, kept with changes and
removed without, merged back, and the refusals with their messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness_tui.core.config.settings import Settings, SettingsFile
from harness_tui.core.errors import HarnessError
from harness_tui.core.worktrees.git_worktrees import (
    WorktreeError,
    create_worktree,
    find_worktree,
    finish_worktree,
    list_worktrees,
    merge_worktree,
    remove_worktree,
    worktree_status,
)
from harness_tui.core.worktrees.placement import include_patterns, worktree_folder
from tests.worktree_support import git


def test_a_worktree_is_a_new_branch_from_head_out_of_the_main_status(git_repo: Path) -> None:
    worktree, copied = create_worktree(git_repo, "feature")
    assert worktree.path == git_repo / ".worktrees" / "feature"
    assert worktree.branch == "worktree-feature"
    assert git(worktree.path, "branch", "--show-current").strip() == "worktree-feature"
    assert (worktree.path / "app.py").read_text() == "print('v1')\n"
    assert copied == []
    assert git(git_repo, "status", "--porcelain") == ""  # excluded, not an untracked change
    assert [w.name for w in list_worktrees(git_repo)] == ["feature"]
    assert find_worktree(git_repo, "worktree-feature") == worktree


def test_two_worktrees_edit_the_same_file_apart(git_repo: Path) -> None:
    one, _ = create_worktree(git_repo, "one")
    two, _ = create_worktree(git_repo, "two")
    (one.path / "app.py").write_text("print('one')\n")
    (two.path / "app.py").write_text("print('two')\n")
    assert (git_repo / "app.py").read_text() == "print('v1')\n"
    assert (one.path / "app.py").read_text() == "print('one')\n"
    assert (two.path / "app.py").read_text() == "print('two')\n"


def test_a_clean_worktree_is_removed_with_its_branch(git_repo: Path) -> None:
    worktree, _ = create_worktree(git_repo, "clean")
    kept, message = finish_worktree(worktree)
    assert not kept and "removed" in message
    assert not worktree.path.exists()
    assert git(git_repo, "branch", "--list", "worktree-clean") == ""
    assert list_worktrees(git_repo) == []


@pytest.mark.parametrize("change", ["edit", "untracked", "commit"])
def test_a_worktree_with_changes_is_kept_with_how_to_merge_or_remove(
    git_repo: Path, change: str
) -> None:
    worktree, _ = create_worktree(git_repo, "busy")
    if change == "untracked":
        (worktree.path / "new.txt").write_text("new\n")
    else:
        (worktree.path / "app.py").write_text("print('v2')\n")
    if change == "commit":
        git(worktree.path, "commit", "-qam", "v2")
    kept, message = finish_worktree(worktree)
    assert kept and worktree.path.is_dir()
    assert "harness-tui worktree merge busy" in message
    assert "harness-tui worktree remove busy --force" in message
    status = worktree_status(worktree)
    assert (status.commits, bool(status.changes)) == (
        (1, False) if change == "commit" else (0, True)
    )


def test_merge_brings_the_commits_back_and_removes_the_worktree(git_repo: Path) -> None:
    worktree, _ = create_worktree(git_repo, "done")
    (worktree.path / "app.py").write_text("print('v2')\n")
    git(worktree.path, "commit", "-qam", "v2")
    said = merge_worktree(worktree)
    assert "merged worktree-done (1 commit(s))" in said
    assert (git_repo / "app.py").read_text() == "print('v2')\n"
    assert not worktree.path.exists()
    assert git(git_repo, "log", "-1", "--format=%s").strip() == "Merge worktree-done"


def test_merge_refuses_uncommitted_work_and_a_staged_index(git_repo: Path) -> None:
    worktree, _ = create_worktree(git_repo, "half")
    (worktree.path / "app.py").write_text("print('v2')\n")
    with pytest.raises(WorktreeError, match=r"uncommitted change.*only commits are merged"):
        merge_worktree(worktree)
    git(worktree.path, "commit", "-qam", "v2")
    (git_repo / "other.txt").write_text("staged\n")
    git(git_repo, "add", "other.txt")
    with pytest.raises(WorktreeError, match="staged changes that a merge would mix in"):
        merge_worktree(worktree)
    assert worktree.path.is_dir()


def test_remove_refuses_changes_unless_forced(git_repo: Path) -> None:
    worktree, _ = create_worktree(git_repo, "drop")
    (worktree.path / "app.py").write_text("print('v2')\n")
    with pytest.raises(WorktreeError, match="has 1 uncommitted change") as caught:
        remove_worktree(worktree)
    assert "--force" in (caught.value.hint or "")
    remove_worktree(worktree, force=True)
    assert not worktree.path.exists()


def test_outside_a_repository_it_refuses(tmp_path: Path) -> None:
    with pytest.raises(WorktreeError, match="not in a git repository") as caught:
        create_worktree(tmp_path, "x")
    assert "git init" in (caught.value.hint or "")


def test_a_repository_without_a_commit_is_refused(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    with pytest.raises(WorktreeError, match="has no commit yet"):
        create_worktree(tmp_path, "x")


def test_staged_changes_that_would_be_lost_are_refused(git_repo: Path) -> None:
    (git_repo / "app.py").write_text("print('staged')\n")
    git(git_repo, "add", "app.py")
    with pytest.raises(WorktreeError, match="staged changes that a new worktree") as caught:
        create_worktree(git_repo, "x")
    assert "stash" in (caught.value.hint or "")
    assert not (git_repo / ".worktrees" / "x").exists()


@pytest.mark.parametrize("name", ["../up", "a b", "-x", "x.lock", "é"])
def test_bad_names_are_refused(git_repo: Path, name: str) -> None:
    with pytest.raises(WorktreeError, match="not a usable worktree name"):
        create_worktree(git_repo, name)


def test_a_name_in_use_is_refused(git_repo: Path) -> None:
    create_worktree(git_repo, "same")
    with pytest.raises(WorktreeError, match="already exists"):
        create_worktree(git_repo, "same")


def test_without_a_name_one_is_made_up(git_repo: Path) -> None:
    worktree, _ = create_worktree(git_repo)
    assert worktree.branch == f"worktree-{worktree.name}" and worktree.path.is_dir()


def _settings(data: dict) -> Settings:
    return Settings([SettingsFile(Path("/p/.harness/settings.yaml"), "project", False, data)])


def test_settings_choose_the_folder_and_the_untracked_files_copied(git_repo: Path) -> None:
    (git_repo / ".env").write_text("KEY=1\n")
    (git_repo / "local").mkdir()
    (git_repo / "local" / "a.yaml").write_text("a\n")
    (git_repo / ".worktreeinclude").write_text("# copied too\nlocal/*.yaml\n../outside\n")
    settings = _settings({"worktree": {"dir": "../trees", "include": [".env"]}})
    folder = worktree_folder(git_repo, settings)
    assert folder == git_repo.parent / "trees"
    worktree, copied = create_worktree(
        git_repo, "cfg", folder=folder, include=include_patterns(git_repo, settings)
    )
    assert worktree.path == git_repo.parent / "trees" / "cfg"
    assert sorted(copied) == [".env", "local/a.yaml"]
    assert (worktree.path / ".env").read_text() == "KEY=1\n"
    assert git(worktree.path, "status", "--porcelain", "--ignored").count(".env") == 1


@pytest.mark.parametrize(
    ("data", "wrong"),
    [
        ({"worktree": "x"}, "worktree: must be a mapping"),
        ({"worktree": {"dir": 3}}, "worktree.dir: must be a folder path"),
        ({"worktree": {"include": [1]}}, "worktree.include: must be a list"),
    ],
)
def test_bad_settings_name_the_file_and_field(git_repo: Path, data: dict, wrong: str) -> None:
    settings = _settings(data)
    with pytest.raises(HarnessError, match=wrong) as caught:
        worktree_folder(git_repo, settings)
        include_patterns(git_repo, settings)
    assert "/p/.harness/settings.yaml" in str(caught.value)


def test_a_worktree_made_from_a_worktree_goes_beside_it(git_repo: Path) -> None:
    outer, _ = create_worktree(git_repo, "outer")
    inner, _ = create_worktree(outer.path, "inner")
    assert inner.path == git_repo / ".worktrees" / "inner"
    assert inner.origin == outer.path  # merged back into the worktree it came from
    (inner.path / "app.py").write_text("print('inner')\n")
    git(inner.path, "commit", "-qam", "inner")
    assert finish_worktree(outer) == (False, "the worktree outer had no changes: removed")
    assert (inner.path / "app.py").read_text() == "print('inner')\n"  # not taken with it
