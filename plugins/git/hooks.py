"""The force-push guard: a PreToolUse hook on Bash."""

from __future__ import annotations

import shlex
from typing import Any

from harness_tui.core.shell.split import UnparsableCommand, split_command

_FORCE_OPTIONS = ("--force", "--force-with-lease", "--force-if-includes", "--mirror", "--delete")


def force_push_reason(command: str) -> str | None:
    """Why ``command`` force-pushes (or deletes a remote branch), or None."""
    try:
        parts = [p.text for p in split_command(command)]
    except UnparsableCommand:
        parts = [command]
    for part in parts:
        try:
            words = shlex.split(part)
        except ValueError:
            words = part.split()
        if "git" not in words:
            continue
        rest = words[words.index("git") + 1 :]
        # Skip git's own options (`git -C dir push`).
        while rest and rest[0].startswith("-"):
            rest = rest[2:] if rest[0] in ("-C", "-c") else rest[1:]
        if not rest or rest[0] != "push":
            continue
        for arg in rest[1:]:
            if arg.startswith(_FORCE_OPTIONS):
                return f"`{part}` uses {arg.split('=')[0]}"
            if arg.startswith("-") and not arg.startswith("--") and ("f" in arg or "d" in arg):
                return f"`{part}` uses {arg}"
            if arg.startswith("+") or arg.startswith(":"):
                return f"`{part}` pushes {arg!r} ({'forced' if arg[0] == '+' else 'a deletion'})"
    return None


def block_force_push(payload: dict[str, Any]) -> dict[str, Any] | None:
    """Deny Bash commands that rewrite or delete remote history."""
    if payload.get("tool_name") != "Bash":
        return None
    command = str(payload.get("tool_input", {}).get("command", ""))
    reason = force_push_reason(command)
    if reason is None:
        return None
    return {
        "hookSpecificOutput": {
            "hookEventName": "PreToolUse",
            "permissionDecision": "deny",
            "permissionDecisionReason": (
                f"Force-pushes are blocked by the git plugin: {reason}. Push without "
                "forcing, or ask the user to do it themselves."
            ),
        }
    }
