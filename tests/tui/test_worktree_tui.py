"""``/worktree`` in the TUI (Pilot, a real session, real git): the session's worktree,
its branch and its changes; outside one, how to start one."""

from __future__ import annotations

from pathlib import Path

from harness_tui.core.session.session import Session
from harness_tui.core.worktrees.lifecycle import WorktreeUse, make_worktree
from harness_tui.widgets.conversation import NoticeEntry
from tests.tui.test_tui import tui, type_text, until


def _notes(app) -> str:
    return "\n".join(n.text for n in app.query(NoticeEntry))


async def test_worktree_shows_the_path_branch_and_changes(git_repo: Path) -> None:
    use = WorktreeUse(*make_worktree(git_repo, "feature", None))
    (use.worktree.path / "new.txt").write_text("new\n")
    session = Session(model="demo", cwd=use.worktree.path, worktree=use)
    async with tui(session) as (app, pilot):
        await type_text(pilot, "/worktree")
        await pilot.press("enter")
        await until(pilot, lambda: "Branch: worktree-feature" in _notes(app))
        text = _notes(app)
        await type_text(pilot, "/quit")
        await pilot.press("enter")
        await until(pilot, lambda: use.kept is not None)
    assert f"Worktree: {use.worktree.path}" in text
    assert "Changes: 1 uncommitted change(s)" in text and "?? new.txt" in text
    assert "harness-tui worktree merge feature" in text
    assert use.kept is True and use.worktree.path.is_dir()  # quit; the change keeps it


async def test_worktree_outside_one_says_how_to_start_one(tmp_path: Path) -> None:
    session = Session(model="demo", cwd=tmp_path)
    async with tui(session) as (app, pilot):
        await type_text(pilot, "/worktree")
        await pilot.press("enter")
        await until(pilot, lambda: "not in a worktree" in _notes(app))
        assert "harness-tui --worktree [NAME]" in _notes(app)
