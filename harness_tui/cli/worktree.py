"""``harness-tui worktree list|merge|remove``: the worktrees sessions and sub-agents
left with changes; and what ``harness-tui --worktree [NAME]`` does around a session
(make the worktree first, say at the end whether it was kept or removed).

Run it in the repository (or any of its worktrees). Exit codes: 0 done, 2 refused (the
message says why and what to do)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from harness_tui.cli.common import PROG, fail

if TYPE_CHECKING:
    from harness_tui.core.worktrees.lifecycle import WorktreeUse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"{PROG} worktree",
        description="The git worktrees harness-tui made in this repository (with "
        "--worktree, or for a sub-agent with isolation: worktree): list them, merge one's "
        "commits back (git merge --no-ff, then remove it), or remove one.",
        epilog="Exit codes: 0 done, 2 refused.",
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="list|merge|remove")
    actions.add_parser("list", help="each worktree, its branch and its changes")
    merge = actions.add_parser(
        "merge", help="merge a worktree's commits into the checkout it came from"
    )
    merge.add_argument("name", help="the worktree's name (or its branch or path)")
    remove = actions.add_parser("remove", help="remove a worktree and its branch")
    remove.add_argument("name", help="the worktree's name (or its branch or path)")
    remove.add_argument(
        "--force", action="store_true", help="also when it has changes (they are lost)"
    )
    return parser


def run(args: argparse.Namespace) -> int:
    from harness_tui.core.errors import HarnessError
    from harness_tui.core.worktrees import git_worktrees as wt

    cwd = Path.cwd()
    try:
        if args.action == "list":
            worktrees = wt.list_worktrees(cwd)
            if not worktrees:
                print("no harness-tui worktrees in this repository", file=sys.stderr)
            for worktree in worktrees:
                status = wt.worktree_status(worktree)
                print(f"{worktree.name}  {worktree.branch}  {status.summary()}  {worktree.path}")
            return 0
        worktree = wt.find_worktree(cwd, args.name)
        if args.action == "merge":
            print(wt.merge_worktree(worktree))
        else:
            wt.remove_worktree(worktree, force=args.force)
            print(f"removed {worktree.path} and its branch {worktree.branch}")
        return 0
    except HarnessError as exc:
        return fail(exc.message, exc.hint)


# --- around a session (`harness-tui --worktree [NAME]`) -------------------------------


def start_worktree(args: argparse.Namespace) -> WorktreeUse | None:
    """With ``--worktree``: the new worktree the session is to work in (``HarnessError``
    when it cannot be made); else None. The folder and the files copied come from the
    settings of this folder (its project settings only when it is trusted)."""
    if args.worktree is None:
        return None
    from harness_tui.cli.common import trusted_settings
    from harness_tui.core.worktrees.lifecycle import WorktreeUse, make_worktree

    _, settings = trusted_settings(args)
    use = WorktreeUse(*make_worktree(Path.cwd(), args.worktree or None, settings))
    # The session's folder is the process's too: whatever reads the current folder
    # (the TUI's file completion, the settings, the saved sessions) sees the worktree.
    use.left = Path.cwd()
    os.chdir(use.cwd_for(use.left))
    return use


def session_options(use: WorktreeUse | None) -> tuple[dict[str, object], list[str]]:
    """The ``Session`` options of a session in ``use``, and its notices (none without)."""
    if use is None:
        return {}, []
    worktree = use.worktree
    copied = f"; copied {', '.join(use.copied)}" if use.copied else ""
    notice = f"working in the worktree {worktree.path} on branch {worktree.branch}{copied}"
    return {"cwd": Path.cwd(), "worktree": use}, [notice]


def reported(use: WorktreeUse | None, run: Callable[[], int]) -> int:
    """``run`` the session, then say on stderr what became of its worktree (one that
    never got a session, say the model was unknown, goes by the same rule)."""
    try:
        return run()
    finally:
        if use is not None:
            os.chdir(use.left)
            if use.kept is None:
                from harness_tui.core.worktrees.git_worktrees import finish_worktree

                use.kept, use.message = finish_worktree(use.worktree)
            print(f"{PROG}: {use.message}", file=sys.stderr)
