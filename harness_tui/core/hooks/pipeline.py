"""The hook pipeline: run the hooks that match an event, in parallel, and combine what
they say — following Claude Code's hook protocol, so its hook scripts run unchanged.

A command hook gets a JSON object on stdin (``session_id``, ``transcript_path``,
``cwd``, ``permission_mode``, ``hook_event_name`` and the event's own fields) and
answers with its exit code and output:

- exit 0: success. Stdout that starts with ``{`` is read as JSON (``continue``,
  ``stopReason``, ``systemMessage``, ``decision: "block"`` + ``reason``,
  ``hookSpecificOutput.permissionDecision`` / ``permissionDecisionReason`` /
  ``updatedInput`` / ``additionalContext``). Plain stdout becomes added context for
  ``UserPromptSubmit`` and ``SessionStart``.
- exit 2: block; stderr goes to the model (the tool call is refused, the prompt is
  dropped, a stopping agent goes on, ...).
- anything else, a timeout, a program that does not start, or JSON that does not make
  sense: a non-blocking error, shown to the user; the action proceeds.

Several hooks: deny beats ask beats allow; any block blocks. Each run becomes one
``HOOK_EXECUTED`` or ``HOOK_DENIED`` event. Python callbacks (from plugins) take the same
object and return what a command would print as JSON.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio

from harness_tui.core.events import HookDenied, HookExecuted
from harness_tui.core.files.parse_limits import JsonError, parse_json
from harness_tui.core.hooks.config import (
    DEFAULT_TIMEOUT_S,
    CallbackHook,
    CommandHook,
    Hook,
    HookCallback,
    HookMatcher,
    command_env,
)
from harness_tui.core.processes.group import run_in_group, shell_argv

log = logging.getLogger(__name__)

#: Events whose plain (non-JSON) stdout is added to the model's context.
CONTEXT_EVENTS = frozenset({"UserPromptSubmit", "SessionStart"})
#: Events that a block (exit 2, ``decision: "block"``) acts on.
BLOCKING_EVENTS = frozenset(
    {"PreToolUse", "PostToolUse", "UserPromptSubmit", "Stop", "SubagentStop", "PreCompact"}
)
#: Events whose value the matcher is compared with, and the input field holding it.
MATCH_FIELDS = {
    "PreToolUse": "tool_name",
    "PostToolUse": "tool_name",
    "SessionStart": "source",
    "SessionEnd": "reason",
    "PreCompact": "trigger",
    "Notification": "notification_type",
}
_PERMISSION_ORDER = {"deny": 3, "ask": 2, "allow": 1}
_LEGACY_DECISIONS = {"approve": "allow", "block": "deny"}
MAX_OUTPUT_CHARS = 4000


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
    context: str | None = None
    stop: bool = False
    stop_reason: str | None = None
    system_message: str | None = None


@dataclass
class HookOutcome:
    """What all hooks of one event said together."""

    runs: list[HookRun] = field(default_factory=list)
    blocked: bool = False
    #: Why it was blocked (stderr of exit 2, or ``reason``), for the model.
    reason: str | None = None
    permission: str | None = None
    permission_reason: str | None = None
    updated_input: dict[str, Any] | None = None
    context: list[str] = field(default_factory=list)
    stop: bool = False
    stop_reason: str | None = None
    system_messages: list[str] = field(default_factory=list)

    @property
    def additional_context(self) -> str:
        return "\n\n".join(self.context)


Emit = Callable[..., Awaitable[Any]]


class HookPipeline:
    """The hooks of one session."""

    def __init__(
        self,
        matchers: list[HookMatcher] | None = None,
        *,
        emit: Emit,
        session_id: str,
        cwd: Path,
        project_dir: Path | None = None,
        transcript_path: str = "",
        permission_mode: Callable[[], str] = lambda: "default",
    ) -> None:
        self.matchers = list(matchers or [])
        self._emit = emit
        self.session_id = session_id
        self.cwd = cwd
        self.project_dir = project_dir or cwd
        self.transcript_path = transcript_path
        self._mode = permission_mode

    def add_callback(
        self,
        event: str,
        callback: HookCallback,
        *,
        matcher: str | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        name: str | None = None,
    ) -> None:
        """Register a Python hook (plugins), with a matcher as in the settings."""
        qualname: str = getattr(callback, "__qualname__", "callback")
        hook = CallbackHook(callback, name or qualname, timeout_s)
        self.matchers.append(HookMatcher.build(event, matcher, (hook,)))

    def matching(self, event: str, value: str | None) -> list[tuple[HookMatcher, Hook]]:
        found: list[tuple[HookMatcher, Hook]] = []
        commands: set[str] = set()
        for matcher in self.matchers:
            if matcher.event != event or not matcher.matches(value):
                continue
            for hook in matcher.hooks:
                if isinstance(hook, CommandHook):
                    if hook.command in commands:
                        continue  # identical commands run once
                    commands.add(hook.command)
                found.append((matcher, hook))
        return found

    def input_for(self, event: str, fields: dict[str, Any]) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            "transcript_path": self.transcript_path,
            "cwd": str(self.cwd),
            "permission_mode": self._mode(),
            "hook_event_name": event,
            **fields,
        }

    async def run(
        self, event: str, fields: dict[str, Any], *, tool_call_id: str | None = None
    ) -> HookOutcome:
        """Run every hook matching ``event`` in parallel; emit one event per run."""
        value = fields.get(MATCH_FIELDS.get(event, ""))
        todo = self.matching(event, value)
        outcome = HookOutcome()
        if not todo:
            return outcome
        payload = self.input_for(event, fields)
        runs: list[HookRun | None] = [None] * len(todo)

        async def one(index: int, matcher: HookMatcher, hook: Hook) -> None:
            run = await self._run_hook(event, matcher, hook, payload)
            runs[index] = run
            await self._report(event, run, tool_call_id)

        async with anyio.create_task_group() as group:
            for index, (matcher, hook) in enumerate(todo):
                group.start_soon(one, index, matcher, hook)
        outcome.runs = [r for r in runs if r is not None]
        _combine(outcome)
        return outcome

    async def _run_hook(
        self, event: str, matcher: HookMatcher, hook: Hook, payload: dict[str, Any]
    ) -> HookRun:
        run = HookRun(hook, matcher.matcher)
        started = time.perf_counter()
        try:
            if isinstance(hook, CommandHook):
                await self._run_command(hook, payload, run)
            else:
                await self._run_callback(hook, payload, run)
        finally:
            run.duration_ms = (time.perf_counter() - started) * 1e3
        if run.error is None:
            _interpret(event, run)
        return run

    async def _run_command(self, hook: CommandHook, payload: dict[str, Any], run: HookRun) -> None:
        try:
            result = await run_in_group(
                shell_argv(hook.command),
                cwd=self.cwd,
                env=command_env(self.project_dir),
                stdin=json.dumps(payload).encode(),
                timeout_s=hook.timeout_s,
            )
        except OSError as exc:
            run.error = f"could not start: {exc.strerror or exc}"
            return
        run.stdout, run.stderr = result.stdout, result.stderr
        run.exit_code = result.exit_code
        if result.timed_out:
            run.error = f"timed out after {hook.timeout_s:g} s and was stopped"
        elif result.exit_code not in (0, 2):
            detail = result.stderr.strip() or result.stdout.strip() or "no output"
            if result.exit_code == 127:
                detail = f"command not found: {detail}"
            run.error = f"exit code {result.exit_code}: {_clip(detail, 500)}"

    async def _run_callback(
        self, hook: CallbackHook, payload: dict[str, Any], run: HookRun
    ) -> None:
        try:
            with anyio.fail_after(hook.timeout_s):
                answer = await hook.callback(dict(payload))
        except TimeoutError:
            run.error = f"timed out after {hook.timeout_s:g} s"
            return
        except anyio.get_cancelled_exc_class():
            raise
        except Exception as exc:
            log.debug("hook callback %s raised", hook.name, exc_info=True)
            run.error = f"raised {type(exc).__name__}: {exc}"
            return
        run.exit_code = 0
        if answer is not None:
            run.stdout = json.dumps(answer, default=str)

    async def _report(self, event: str, run: HookRun, tool_call_id: str | None) -> None:
        output = _clip(run.stdout, MAX_OUTPUT_CHARS)
        common = {
            "hook_event": event,
            "hook": run.hook.label,
            "matcher": run.matcher,
            "tool_call_id": tool_call_id,
            "exit_code": run.exit_code,
            "output": output,
            "duration_ms": run.duration_ms,
        }
        if run.error is None and (run.blocked or run.permission == "deny"):
            await self._emit(HookDenied, reason=run.reason or "blocked by a hook", **common)
            return
        if run.error is not None:
            decision = "error"
        elif run.stop:
            decision = "stop"
        else:
            decision = run.permission or "ok"
        await self._emit(HookExecuted, decision=decision, error=run.error, **common)


def _interpret(event: str, run: HookRun) -> None:
    """Read a finished hook's exit code and output into ``run`` (exit 0 or 2 only)."""
    if run.exit_code == 2:
        message = run.stderr.strip() or "blocked by a hook (it gave no reason)"
        if event in BLOCKING_EVENTS:
            run.blocked = True
            run.reason = message
            if event == "PreToolUse":
                run.permission = "deny"
        else:
            run.error = f"exit code 2 (cannot block {event}): {_clip(message, 500)}"
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
        run.error = f"printed invalid JSON ({exc}): {_clip(text, 200)}"
        return
    if not isinstance(data, dict):
        run.error = "printed JSON that is not an object"
        return
    problem = _read_json(event, data, run)
    if problem:
        run.error = problem
        run.blocked = False
        run.permission = None
        run.updated_input = None


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
            run.reason = _text(data.get("reason"))
            if run.permission == "deny":
                run.blocked = True
        elif decision == "block" and event in BLOCKING_EVENTS:
            run.blocked = True
            run.reason = _text(data.get("reason")) or "blocked by a hook"
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
    permission = specific.get("permissionDecision")
    if permission is not None:
        if event != "PreToolUse":
            return f'"permissionDecision" applies to PreToolUse only, not {event}'
        if permission not in _PERMISSION_ORDER:
            return f'"permissionDecision" must be "allow", "deny" or "ask", not {permission!r}'
        run.permission = permission
        run.reason = _text(specific.get("permissionDecisionReason")) or run.reason
        if permission == "deny":
            run.blocked = True
    updated = specific.get("updatedInput")
    if updated is not None:
        if event != "PreToolUse":
            return f'"updatedInput" applies to PreToolUse only, not {event}'
        if not isinstance(updated, dict):
            return '"updatedInput" must be an object (the whole new tool input)'
        run.updated_input = updated
    context = specific.get("additionalContext")
    if context is not None:
        if not isinstance(context, str):
            return '"additionalContext" must be a string'
        run.context = context
    return None


def _combine(outcome: HookOutcome) -> None:
    best = 0
    reasons: list[str] = []
    for run in outcome.runs:
        if run.error is not None:
            continue
        if run.blocked:
            outcome.blocked = True
            if run.reason:
                reasons.append(run.reason)
        if run.permission and _PERMISSION_ORDER[run.permission] > best:
            best = _PERMISSION_ORDER[run.permission]
            outcome.permission = run.permission
            outcome.permission_reason = run.reason
        if run.updated_input is not None:
            outcome.updated_input = run.updated_input
        if run.context:
            outcome.context.append(run.context)
        if run.stop and not outcome.stop:
            outcome.stop, outcome.stop_reason = True, run.stop_reason
        if run.system_message:
            outcome.system_messages.append(run.system_message)
    if reasons:
        outcome.reason = "\n".join(reasons)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + f"... [{len(text) - limit:,} more]"
