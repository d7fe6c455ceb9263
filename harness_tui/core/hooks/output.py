"""Claude Code's hook output contract: what one hook's exit code and output mean.

Exit 0: stdout that starts with ``{`` is JSON (below); plain stdout becomes context
for the events that take it (``catalog.CONTEXT_EVENTS``). Exit 2: a block, with
stderr as the reason, on the events that can be blocked (on the others, an error
shown to the user). Anything else: a non-blocking error. HTTP hooks answer the same
way (``webhook``).

JSON fields, for every event: ``continue: false`` + ``stopReason``, ``systemMessage``,
``decision: "block"`` + ``reason``. In ``hookSpecificOutput`` (whose
``hookEventName`` must be the event's): ``permissionDecision`` (allow / deny / ask) +
``permissionDecisionReason`` and ``updatedInput`` (PreToolUse); ``decision``
``{behavior, updatedInput, message, interrupt}`` (PermissionRequest); ``retry``
(PermissionDenied); ``updatedToolOutput`` / ``updatedMCPToolOutput`` (PostToolUse);
``additionalContext`` (any event that adds context).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness_tui.core.files.parse_limits import JsonError, parse_json
from harness_tui.core.hooks.catalog import BLOCKING_EVENTS, CONTEXT_EVENTS
from harness_tui.core.hooks.config import Hook

PERMISSION_ORDER = {"deny": 3, "ask": 2, "allow": 1}
_LEGACY_DECISIONS = {"approve": "allow", "block": "deny"}
#: Events where a permission decision (PreToolUse's or PermissionRequest's) is read.
_DECIDING = frozenset({"PreToolUse", "PermissionRequest"})
_ELICITING = ("Elicitation", "ElicitationResult")
#: ``hookSpecificOutput`` fields that belong to some events only.
_OWNED_BY = {
    "permissionDecision": ("PreToolUse",),
    "updatedInput": ("PreToolUse",),
    "decision": ("PermissionRequest",),
    "retry": ("PermissionDenied",),
    "updatedToolOutput": ("PostToolUse",),
    "updatedMCPToolOutput": ("PostToolUse",),
    "action": _ELICITING,
    "content": _ELICITING,
}
ELICIT_ACTIONS = ("accept", "decline", "cancel")


@dataclass
class HookRun:
    """What one hook did."""

    hook: Hook
    matcher: str | None
    exit_code: int | None = None
    stdout: str = ""
    stderr: str = ""
    duration_ms: float = 0.0
    #: A non-blocking failure (crash, timeout, nonsense output), shown to the user.
    error: str | None = None
    blocked: bool = False
    reason: str | None = None
    permission: str | None = None
    updated_input: dict[str, Any] | None = None
    #: PostToolUse's ``updatedToolOutput``: what the model reads instead of the result.
    updated_output: Any = None
    #: PermissionDenied's ``retry: true``.
    retry: bool = False
    #: Elicitation(Result)'s answer: ``action`` and the form's ``content``.
    elicit: tuple[str, dict[str, Any] | None] | None = None
    context: str | None = None
    stop: bool = False
    stop_reason: str | None = None
    system_message: str | None = None


def interpret(event: str, run: HookRun) -> None:
    """Read a finished hook's exit code and output into ``run`` (exit 0 or 2 only)."""
    if run.exit_code == 2:
        message = run.stderr.strip() or "blocked by a hook (it gave no reason)"
        if event in BLOCKING_EVENTS:
            run.blocked = True
            run.reason = message
            if event in _DECIDING:
                run.permission = "deny"
        else:
            run.error = f"exit code 2 (cannot block {event}): {clip(message, 500)}"
        return
    text = run.stdout.strip()
    if not text.startswith("{"):
        if text and event in CONTEXT_EVENTS:
            run.context = text
        return
    try:
        # Bounded (``parse_limits``): a hook printing 100,000 brackets is an error, not a
        # RecursionError in the middle of a tool call.
        data = parse_json(text)
    except JsonError as exc:
        run.error = f"printed invalid JSON ({exc}): {clip(text, 200)}"
        return
    if not isinstance(data, dict):
        run.error = "printed JSON that is not an object"
        return
    problem = _read_json(event, data, run)
    if problem:  # nothing of a wrong answer counts
        run.error, run.blocked = problem, False
        for name in ("permission", "updated_input", "updated_output", "elicit"):
            setattr(run, name, None)


def _read_json(event: str, data: dict[str, Any], run: HookRun) -> str | None:
    """Fill ``run`` from a hook's JSON answer; a problem with it, or None."""
    if data.get("continue") is False:
        run.stop = True
        run.stop_reason = str(data.get("stopReason") or "stopped by a hook")
    message = data.get("systemMessage")
    if isinstance(message, str) and message:
        run.system_message = message
    decision = data.get("decision")
    if decision is not None:
        if event == "PreToolUse" and decision in _LEGACY_DECISIONS:
            run.permission = _LEGACY_DECISIONS[decision]
            run.reason = text_or_none(data.get("reason"))
            if run.permission == "deny":
                run.blocked = True
        elif decision == "block" and event in BLOCKING_EVENTS:
            run.blocked = True
            run.reason = text_or_none(data.get("reason")) or "blocked by a hook"
        elif decision not in ("approve", "block", "undefined"):
            return f'"decision" must be "block", not {decision!r}'
    specific = data.get("hookSpecificOutput")
    if specific is None:
        return None
    if not isinstance(specific, dict):
        return '"hookSpecificOutput" must be an object'
    named = specific.get("hookEventName")
    if named is not None and named != event:
        return f'"hookSpecificOutput.hookEventName" is {named!r} but this is {event}'
    for key, owners in _OWNED_BY.items():
        if specific.get(key) is not None and event not in owners:
            return f'"{key}" applies to {" and ".join(owners)} only, not {event}'
    problem = (
        _pre_tool_use(specific, run)
        or _permission_request(specific, run)
        or _other_specific(specific, run)
    )
    if problem:
        return problem
    context = specific.get("additionalContext")
    if context is not None:
        if not isinstance(context, str):
            return '"additionalContext" must be a string'
        run.context = context
    return None


def _pre_tool_use(specific: dict[str, Any], run: HookRun) -> str | None:
    permission = specific.get("permissionDecision")
    if permission is not None:
        if permission not in PERMISSION_ORDER:
            return f'"permissionDecision" must be "allow", "deny" or "ask", not {permission!r}'
        run.permission = permission
        run.reason = text_or_none(specific.get("permissionDecisionReason")) or run.reason
        if permission == "deny":
            run.blocked = True
    updated = specific.get("updatedInput")
    if updated is not None:
        if not isinstance(updated, dict):
            return '"updatedInput" must be an object (the whole new tool input)'
        run.updated_input = updated
    return None


def _permission_request(specific: dict[str, Any], run: HookRun) -> str | None:
    """PermissionRequest's ``decision: {behavior, updatedInput, message, interrupt}``."""
    decision = specific.get("decision")
    if decision is None:
        return None
    if not isinstance(decision, dict) or decision.get("behavior") not in ("allow", "deny"):
        return '"decision" must be an object with "behavior": "allow" or "deny"'
    run.permission = decision["behavior"]
    updated = decision.get("updatedInput")
    if updated is not None:
        if not isinstance(updated, dict) or run.permission != "allow":
            return '"decision.updatedInput" must be an object, with "behavior": "allow"'
        run.updated_input = updated
    if run.permission == "deny":
        run.blocked = True
        run.reason = text_or_none(decision.get("message")) or "denied by a PermissionRequest hook"
        if decision.get("interrupt") is True:
            run.stop, run.stop_reason = True, run.reason
    return None


def _other_specific(specific: dict[str, Any], run: HookRun) -> str | None:
    retry = specific.get("retry")
    if retry is not None:
        if not isinstance(retry, bool):
            return '"retry" must be true or false'
        run.retry = retry
    for key in ("updatedToolOutput", "updatedMCPToolOutput"):
        if specific.get(key) is not None:
            run.updated_output = specific[key]
    action, content = specific.get("action"), specific.get("content")
    if action is not None:
        if action not in ELICIT_ACTIONS:
            return f'"action" must be "accept", "decline" or "cancel", not {action!r}'
        if content is not None and not isinstance(content, dict):
            return '"content" must be an object (the form\'s fields)'
        run.elicit = (action, content)
    return None


def text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + f"... [{len(text) - limit:,} more]"
