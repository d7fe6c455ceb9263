"""One-line notices for events that only inform: an MCP server that came up, a
checkpoint worth mentioning, a rewind and what it did to the files, a background task
that ended, what the sandbox refused, a budget that stopped the run, a memory write.

``event_notice(event)`` is what the conversation asks of every event it has no entry
for: ``(text, level)``, or None when the event is not told at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from harness_tui.widgets.lazy import lazy_module
from harness_tui.widgets.screens.mcp import status_notice

# Loads on first use, after the first frame is painted (see harness_tui.widgets.lazy).
ev = lazy_module("harness_tui.core.events")
memory_tool = lazy_module("harness_tui.core.memory.tool")

#: How each rewind mode is named in what the TUI says.
MODE_NAMES = {
    "both": "code and conversation",
    "conversation": "conversation only",
    "code": "code only",
}
#: Paths named in one notice; the rest are counted.
NAMED = 4


def event_notice(event: Any) -> tuple[str, str] | None:
    """``(text, level)`` for an event told as a notice; None for any other."""
    if isinstance(event, ev.Rewound):
        return rewound_notice(event)
    if isinstance(event, ev.MemoryUpdated):  # every memory write is seen
        return memory_tool.describe(event), "info"
    if isinstance(event, ev.CheckpointCreated):
        return checkpoint_notice(event)
    if isinstance(event, ev.McpServerStatus):
        return status_notice(event)
    if isinstance(event, ev.TaskEnded):
        return task_notice(event)
    if isinstance(event, ev.SandboxBlocked):
        return sandbox_notice(event)
    if isinstance(event, ev.BudgetExceeded):
        return budget_notice(event)
    return None


#: What the user can do about each budget.
BUDGET_NEXT = {
    "turns": "send another prompt to go on, or start with a higher --max-turns",
    "run_usd": "send another prompt to go on: each run has its own budget",
    "session_usd": "raise budget.sessionUsd in your settings, or start a new session",
}


def budget_notice(event: Any) -> tuple[str, str]:
    """A budget stopped the run: why, and what to do."""
    text = event.message[:1].upper() + event.message[1:]
    return f"⊘ {text}\n→ {BUDGET_NEXT.get(event.budget, '')}", "warning"


def task_notice(event: Any) -> tuple[str, str]:
    """A background task ended: how, after how long."""
    how = {
        "completed": "completed",
        "failed": f"failed (exit {event.exit_code})",
        "stopped": "was stopped",
        "killed": "was ended with the session",
    }.get(event.status, event.status)
    seconds = event.duration_ms / 1000
    level = "warning" if event.status == "failed" else "info"
    return f"◇ Background task {event.task_id} {how} after {seconds:.1f} s", level


def sandbox_notice(event: Any) -> tuple[str, str]:
    """What the sandbox refused (or what the user let through after all)."""
    what = (
        f"a write to {event.target}" if event.kind == "write" else f"a connection to {event.target}"
    )
    if event.allowed:
        return f"▣ Sandbox: you allowed {what} ({event.reason})", "info"
    return f"▣ Sandbox refused {what}: {event.reason}", "warning"


def rewound_notice(event: Any) -> tuple[str, str]:
    """What a rewind (or a redo) did: the files it restored and removed, those it
    skipped and why. A warning when some were skipped."""
    mode = MODE_NAMES.get(event.mode, event.mode)
    if event.undoes:
        head = f"↷ Redo: undid the rewind ({mode})"
    else:
        head = f"⟲ Rewound to before “{one_line(event.prompt)}” ({mode})"
    parts: list[str] = []
    # Files marked by_hand are hand edits the rewind noticed on its way, not its work.
    changed = [f for f in event.files if not f.by_hand]
    if event.mode != "conversation" or changed:
        removed = sum(1 for f in changed if f.change == "deleted")
        restored = len(changed) - removed
        if restored and removed:
            parts.append(f"{restored} {_files(restored)} restored, {removed} removed")
        elif restored or removed:
            count = restored or removed
            parts.append(f"{count} {_files(count)} {'restored' if restored else 'removed'}")
        else:
            parts.append("no file needed changing")
    if event.skipped:
        parts.append("skipped: " + names([_skipped(s.path, s.reason) for s in event.skipped]))
    tail = ": " + "; ".join(parts) if parts else ""
    return head + tail, "warning" if event.skipped else "info"


def checkpoint_notice(event: Any) -> tuple[str, str] | None:
    """Checkpoints are quiet; told only when one kept files changed by hand (your own
    edits, saved before the agent's next step) or could not keep a file's contents (a
    rewind will not bring those back)."""
    by_hand = [f.path for f in event.files if f.by_hand]
    not_kept = [
        f"{f.path} ({f.before.not_kept})"
        for f in event.files
        if f.before is not None and f.before.not_kept
    ]
    said = []
    if by_hand:
        said.append(f"saved your own changes to {names(by_hand)}")
    if not_kept:
        said.append(f"could not keep {names(not_kept)}: a rewind will not restore it")
    if not said:
        return None
    return "⊙ Checkpoint " + "; ".join(said), "info"


def one_line(text: str, width: int = 60) -> str:
    """``text`` on one line, cut to ``width`` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def names(items: Sequence[str]) -> str:
    """``a, b, c and 2 more``."""
    shown = ", ".join(items[:NAMED])
    more = len(items) - NAMED
    return f"{shown} and {more} more" if more > 0 else shown


def _skipped(path: str, reason: str) -> str:
    # "x.bin (not kept: binary)"; a reason with brackets of its own goes after a colon.
    return f"{path}: {reason}" if "(" in reason else f"{path} ({reason})"


def _files(count: int) -> str:
    return "file" if count == 1 else "files"
