"""A worktree's life alongside a session or a sub-agent: its ``WorktreeCreate`` hooks
when work starts in it, and at the end the keep-or-remove rule, its ``WorktreeRemove``
hooks when it goes, and a notice saying what happened (how to merge or remove one that
is kept).

The hooks only observe: the worktree is made and removed with git here (Claude Code's
``WorktreeCreate`` hook may replace git; here it cannot)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol

import anyio

from harness_tui.core.errors import HarnessError
from harness_tui.core.events import Notice
from harness_tui.core.worktrees.git_worktrees import (
    Worktree,
    create_worktree,
    finish_worktree,
    kept_message,
    main_root,
    repository_root,
    worktree_status,
)
from harness_tui.core.worktrees.placement import include_patterns, worktree_folder


class Hooks(Protocol):
    async def run(self, event: str, fields: dict[str, Any]) -> Any: ...


def make_worktree(cwd: Path, name: str | None, settings: Any) -> tuple[Worktree, list[str]]:
    """A new worktree of the repository ``cwd`` is in, where the settings put it, with
    the untracked files they name; ``HarnessError`` when it cannot be made."""
    root = repository_root(cwd)
    return create_worktree(
        cwd,
        name,
        folder=worktree_folder(main_root(root), settings),
        include=include_patterns(root, settings),
    )


class WorktreeUse:
    """One worktree a session or sub-agent works in; ``kept`` and ``message`` tell how
    it ended (None: not yet)."""

    def __init__(self, worktree: Worktree, copied: list[str] | None = None) -> None:
        self.worktree = worktree
        self.copied = copied or []
        self.kept: bool | None = None
        self.message = ""
        #: Where the process was before it moved into the worktree (the command line).
        self.left = worktree.origin

    def cwd_for(self, cwd: Path) -> Path:
        """Where in the worktree work starts that would start at ``cwd`` in its
        checkout (the same subfolder, when it exists)."""
        try:
            inside = self.worktree.path / cwd.resolve().relative_to(self.worktree.origin)
        except ValueError:
            return self.worktree.path
        return inside if inside.is_dir() else self.worktree.path

    async def started(self, hooks: Hooks) -> None:
        worktree = self.worktree
        await hooks.run(
            "WorktreeCreate",
            {"name": worktree.name, "worktree_path": str(worktree.path), "branch": worktree.branch},
        )

    async def end(self, hooks: Hooks, emit: Callable[..., Awaitable[Any]]) -> None:
        """The keep-or-remove rule; ``WorktreeRemove`` hooks run before an unchanged one
        goes (they may still look at it); a notice says what happened. Never raises
        for git."""
        if self.kept is not None:
            return
        worktree = self.worktree
        try:
            status = await anyio.to_thread.run_sync(worktree_status, worktree)
        except HarnessError as exc:
            self.kept, self.message = True, f"the worktree {worktree.path} is kept: {exc}"
        else:
            if status.clean:
                await hooks.run("WorktreeRemove", {"worktree_path": str(worktree.path)})
                # (checked again: a hook may have changed it)
                self.kept, self.message = await anyio.to_thread.run_sync(finish_worktree, worktree)
            else:
                self.kept, self.message = True, kept_message(worktree, status)
        await emit(Notice, message=self.message, level="warning" if self.kept else "info")


#: How many of a worktree's changed files ``/worktree`` lists.
LISTED_CHANGES = 20


def worktree_lines(use: WorktreeUse | None) -> list[str]:
    """``/worktree``: the session's worktree, its branch and its changes (git is asked
    now), and what happens to it at the end."""
    if use is None:
        return [
            "This session is not in a worktree. Start one with `harness-tui --worktree "
            "[NAME]`; a Task can ask for one with isolation: worktree.",
            "`harness-tui worktree list` shows those kept in this repository.",
        ]
    worktree = use.worktree
    lines = [
        f"Worktree: {worktree.path}",
        f"Branch: {worktree.branch} (made from {worktree.base[:12]} of {worktree.origin})",
    ]
    try:
        status = worktree_status(worktree)
    except HarnessError as exc:
        return [*lines, f"Changes: unknown ({exc})"]
    lines.append(f"Changes: {status.summary()}")
    lines += [f"  {line}" for line in status.changes[:LISTED_CHANGES]]
    if len(status.changes) > LISTED_CHANGES:
        lines.append(f"  ... and {len(status.changes) - LISTED_CHANGES} more")
    lines.append(
        "At the end it is removed if nothing changed; else kept: `harness-tui worktree "
        f"merge {worktree.name}` brings its commits back, `harness-tui worktree remove "
        f"{worktree.name} --force` drops it."
    )
    return lines
