"""git_summary: the state of a repository in one call."""

from __future__ import annotations

import os

from harness_tui.core.processes.group import run_in_group
from harness_tui.core.tools.base import ToolContext

_ENV = {"GIT_OPTIONAL_LOCKS": "0", "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}


async def _git(ctx: ToolContext, *args: str) -> tuple[int, str]:
    result = await run_in_group(
        ["git", "--no-pager", *args], cwd=ctx.cwd, env={**os.environ, **_ENV}, timeout_s=20
    )
    return result.exit_code, (result.stdout if result.exit_code == 0 else result.stderr).strip()


async def git_summary(ctx: ToolContext, recent_commits: int = 5) -> str:
    """The state of the git repository in the working folder, in one call: the current
    branch and its upstream (commits ahead and behind), counts of staged, changed,
    untracked and conflicted files (with the first few names), stashes, and the most
    recent commits. Use it first when a task involves the repository's state."""
    code, top = await _git(ctx, "rev-parse", "--show-toplevel")
    if code != 0:
        return f"Not a git repository: {ctx.cwd} ({top})"
    _, status = await _git(ctx, "status", "--porcelain=v2", "--branch")
    branch, upstream, ahead, behind = "(unknown)", None, 0, 0
    staged, changed, untracked, conflicted = [], [], [], []
    for line in status.splitlines():
        if line.startswith("# branch.head "):
            branch = line.split(" ", 2)[2]
        elif line.startswith("# branch.upstream "):
            upstream = line.split(" ", 2)[2]
        elif line.startswith("# branch.ab "):
            parts = line.split()
            ahead, behind = int(parts[2].lstrip("+")), abs(int(parts[3]))
        elif line.startswith(("1 ", "2 ")):
            # 1 XY sub mH mI mW hH hI path; 2 ... X<score> path<TAB>orig_path
            xy = line[2:4]
            path = line.split(" ", 8 if line[0] == "1" else 9)[-1].split("\t")[0]
            if xy[0] != ".":
                staged.append(path)
            if xy[1] != ".":
                changed.append(path)
        elif line.startswith("u "):
            conflicted.append(line.split(" ", 10)[-1])
        elif line.startswith("? "):
            untracked.append(line[2:])
    _, stashes = await _git(ctx, "stash", "list")
    count = max(1, min(recent_commits, 50))
    _, log = await _git(ctx, "log", f"-n{count}", "--format=%h %ad %an: %s", "--date=short")
    tracking = f", tracking {upstream} ({ahead} ahead, {behind} behind)" if upstream else ""
    lines = [f"Repository: {top}", f"Branch: {branch}{tracking}"]
    for label, paths in (
        ("Staged", staged),
        ("Changed, not staged", changed),
        ("Untracked", untracked),
        ("Conflicted", conflicted),
    ):
        shown = ", ".join(paths[:8]) + (f", ... ({len(paths) - 8} more)" if len(paths) > 8 else "")
        lines.append(f"{label}: {len(paths)}" + (f" ({shown})" if paths else ""))
    lines.append(f"Stashes: {len(stashes.splitlines()) if stashes else 0}")
    lines.append(f"Recent commits:\n{log or '(none yet)'}")
    return "\n".join(lines)
