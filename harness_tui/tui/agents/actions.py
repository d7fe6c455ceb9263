"""What the agent view's keys do to a session, as blocking calls for a worker thread:
answer its permission question, stop its run, close it (through its control socket),
show its changes (git), the command that resumes a finished one. Each returns what to
tell the user, or raises ``Refused`` (``control.ControlError`` included) saying why not."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from harness_tui.tui.agents.rows import AgentRow

#: Key -> (decision, what the toast says it did).
DECISIONS = {
    "y": ("allow_once", "Allowed once"),
    "a": ("allow_session", "Allowed for this session"),
    "A": ("allow_always", "Always allowed"),
    "n": ("deny", "Denied"),
}
#: The diff screen shows at most this much of a diff (characters).
DIFF_LIMIT = 400_000


class Refused(Exception):
    """The key does nothing for this row; the message says why."""


def _control(row: AgentRow, op: str, **fields: Any) -> dict:
    from harness_tui.core.live.control import ControlError, request

    if row.record is None:
        raise Refused(f"{row.label} is finished: Enter resumes it")
    try:
        return request(row.record.control, op, **fields)
    except ControlError as exc:
        raise Refused(f"{row.label}: {exc}") from None


def answer(row: AgentRow, key: str) -> str:
    """y/a/A/n: answer the session's permission question."""
    decision, done = DECISIONS[key]
    question = row.question
    if not question:
        raise Refused(f"{row.label} is not waiting for an answer ({row.state})")
    if question.get("kind") in ("sampling", "elicitation"):
        raise Refused(
            f"{row.label}: an MCP server's question ({question.get('summary')}) is answered "
            f"where the session runs ({row.where})"
        )
    _control(row, "answer", request_id=question["request_id"], decision=decision)
    return f"{done}: {question.get('summary') or question.get('tool_name')} ({row.label})"


def stop(row: AgentRow) -> str:
    """x: stop the session's run."""
    if row.record is None:
        raise Refused(f"{row.label} is finished: nothing to stop")
    if not _control(row, "cancel").get("was_running"):
        return f"{row.label} was not running: nothing to stop"
    return f"Stopped the run of {row.label}"


def close(row: AgentRow) -> str:
    """X (confirmed): ask the program that holds the session to close it."""
    if row.record is None:
        raise Refused(f"{row.label} is finished already")
    _control(row, "close")
    return f"{row.label}: asked to close ({row.where})"


def resume_command(row: AgentRow) -> tuple[list[str], Path]:
    """Enter on a finished session: ``harness-tui --resume ID`` in its folder."""
    folder = Path(row.cwd) if row.cwd else None
    if folder is None or not folder.is_dir():
        raise Refused(
            f"{row.label}: its folder {row.cwd or '(unknown)'} is gone; "
            f"run `harness-tui --resume {row.session_id}` from where it should go on"
        )
    return [sys.executable, "-m", "harness_tui", "--resume", row.session_id], folder


def attach(row: AgentRow) -> str:
    """Enter on a background session: this terminal joins it until Ctrl+] or its end
    (call it with the app suspended)."""
    try:
        from harness_tui.background.attach import AttachError
        from harness_tui.background.attach import attach as join
    except ImportError:
        raise Refused("this harness-tui cannot attach to background sessions") from None
    assert row.record is not None
    try:
        outcome = join(row.record.attach)
    except (AttachError, OSError) as exc:
        raise Refused(f"cannot attach to {row.label}: {exc}") from None
    return (
        f"Detached from {row.label}: it goes on"
        if outcome == "detached"
        else (f"{row.label} ended")
    )


def changes(row: AgentRow) -> str:
    """d: the session's changes as a diff, untracked files listed after it. In one of
    our worktrees: everything since the worktree was made (its branch's commits too);
    elsewhere: what is not committed."""
    from harness_tui.core.errors import HarnessError
    from harness_tui.core.worktrees.git_worktrees import git, list_worktrees

    folder = Path(row.record.worktree if row.record and row.record.worktree else row.cwd)
    if not folder.is_dir():
        raise Refused(f"{row.label}: its folder {folder} is gone")
    try:
        inside = git(folder, "rev-parse", "--show-toplevel", check=False)
        if inside.returncode != 0:
            raise Refused(f"{folder} is not in a git repository: there is no diff to show")
        base = "HEAD"
        if row.branch:
            mine = [w for w in list_worktrees(folder) if w.path == folder.resolve()]
            base = mine[0].base if mine else base
        diff = git(folder, "diff", base, check=False)
        if diff.returncode != 0:  # a repository without a commit: the index is all
            diff = git(folder, "diff")
        untracked = git(folder, "ls-files", "--others", "--exclude-standard").stdout.split("\n")
    except HarnessError as exc:
        raise Refused(f"{row.label}: {exc}") from None
    text = diff.stdout
    if len(text) > DIFF_LIMIT:
        text = text[:DIFF_LIMIT] + f"\n… cut at {DIFF_LIMIT:,} characters: run git diff there\n"
    names = [name for name in untracked if name]
    if names:
        text += "\nUntracked files:\n" + "".join(f"  {name}\n" for name in names)
    since = f"since {base[:12]} (where the worktree began)" if base != "HEAD" else "uncommitted"
    if not text.strip():
        return f"No changes in {folder} ({since})."
    return f"Changes in {folder} ({since}):\n\n{text}"
