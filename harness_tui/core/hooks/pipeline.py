"""The hook pipeline: run the hooks that match an event, in parallel, and combine what
they say — following Claude Code's hook protocol, so its hook scripts run unchanged.

A command hook gets a JSON object on stdin (``session_id``, ``transcript_path``,
``cwd``, ``permission_mode``, ``hook_event_name`` and the event's own fields) and
answers with its exit code and output:

- exit 0: success. Stdout that starts with ``{`` is read as JSON (the contract is in
  ``output``). Plain stdout becomes added context for ``UserPromptSubmit``,
  ``UserPromptExpansion`` and ``SessionStart``.
- exit 2: block; stderr goes to the model (the tool call is refused, the prompt is
  dropped, a stopping agent goes on, ...).
- anything else, a timeout, a program that does not start, or JSON that does not make
  sense: a non-blocking error, shown to the user; the action proceeds.

An HTTP hook (``webhook``) gets the same object as a POST body and answers in its
response body. A hook's ``if`` rule is matched by ``condition`` (the session's permission
engine). Several hooks: deny beats ask beats allow; any block blocks. Each run becomes one
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
from harness_tui.core.hooks.catalog import MATCH_FIELDS, TOOL_EVENTS
from harness_tui.core.hooks.config import (
    DEFAULT_TIMEOUT_S,
    CallbackHook,
    CommandHook,
    Hook,
    HookCallback,
    HookMatcher,
    HttpHook,
    command_env,
)
from harness_tui.core.hooks.output import PERMISSION_ORDER, HookRun, clip, interpret
from harness_tui.core.permissions.rules import (
    PermissionRule,
    bash_rule_matches,
    tool_rule_matches,
    wildcard_matches,
)
from harness_tui.core.processes.group import run_in_group, shell_argv

__all__ = ["HookOutcome", "HookPipeline", "HookRun"]

log = logging.getLogger(__name__)

MAX_OUTPUT_CHARS = 4000
#: Does an ``if`` rule match a call (tool name, input)? The session's is its
#: permission engine's matching; ``simple_condition`` without one.
Condition = Callable[[PermissionRule, str, dict[str, Any]], bool]


def simple_condition(rule: PermissionRule, tool_name: str, tool_input: dict[str, Any]) -> bool:
    """An ``if`` rule against a call without a permission engine: the tool name, a
    ``Bash`` rule against the whole command, other rules against the input's path,
    URL or pattern field as a wildcard."""
    if not tool_rule_matches(rule, tool_name):
        return False
    if rule.content is None:
        return True
    if rule.tool == "Bash":
        return bash_rule_matches(rule.content, str(tool_input.get("command", "")))
    for key in ("file_path", "notebook_path", "path", "url", "pattern"):
        value = tool_input.get(key)
        if isinstance(value, str) and wildcard_matches(rule.content, value):
            return True
    return False


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
    updated_output: Any = None
    retry: bool = False
    elicit: tuple[str, dict[str, Any] | None] | None = None
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
        #: How ``if`` rules are matched (the session sets its permission engine's).
        self.condition: Condition = simple_condition

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

    def matching(
        self, event: str, value: str | None, fields: dict[str, Any] | None = None
    ) -> list[tuple[HookMatcher, Hook]]:
        """The hooks to run: matcher and ``if`` condition (with the call in
        ``fields``) pass; identical commands and URLs once."""
        found: list[tuple[HookMatcher, Hook]] = []
        seen: set[str] = set()
        for matcher in self.matchers:
            if matcher.event != event or not matcher.matches(value):
                continue
            for hook in matcher.hooks:
                if hook.condition is not None and not self._condition_holds(
                    event, hook.condition, fields
                ):
                    continue
                if isinstance(hook, CommandHook | HttpHook):
                    if hook.label in seen:
                        continue  # identical commands (URLs) run once
                    seen.add(hook.label)
                found.append((matcher, hook))
        return found

    def _condition_holds(
        self, event: str, rule: PermissionRule, fields: dict[str, Any] | None
    ) -> bool:
        if event not in TOOL_EVENTS or fields is None:
            return False
        tool_input = fields.get("tool_input")
        if not isinstance(tool_input, dict):
            tool_input = {}
        try:
            return self.condition(rule, str(fields.get("tool_name", "")), tool_input)
        except Exception:  # a defect in matching: run the hook rather than lose it
            log.exception("the if condition %s of a hook failed", rule)
            return True

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
        todo = self.matching(event, value if isinstance(value, str) else None, fields)
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
            elif isinstance(hook, HttpHook):
                from harness_tui.core.hooks.webhook import post_hook

                answer = await post_hook(hook, payload)
                run.exit_code, run.stdout, run.error = answer.exit_code, answer.stdout, answer.error
            else:
                await self._run_callback(hook, payload, run)
        finally:
            run.duration_ms = (time.perf_counter() - started) * 1e3
        if run.error is None:
            interpret(event, run)
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
            run.error = f"exit code {result.exit_code}: {clip(detail, 500)}"

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
        output = clip(run.stdout, MAX_OUTPUT_CHARS)
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
        if run.permission and PERMISSION_ORDER[run.permission] > best:
            best = PERMISSION_ORDER[run.permission]
            outcome.permission = run.permission
            outcome.permission_reason = run.reason
        if run.updated_input is not None:
            outcome.updated_input = run.updated_input
        if run.updated_output is not None:
            outcome.updated_output = run.updated_output
        outcome.retry = outcome.retry or run.retry
        if run.elicit is not None and outcome.elicit is None:
            outcome.elicit = run.elicit
        if run.context:
            outcome.context.append(run.context)
        if run.stop and not outcome.stop:
            outcome.stop, outcome.stop_reason = True, run.stop_reason
        if run.system_message:
            outcome.system_messages.append(run.system_message)
    if reasons:
        outcome.reason = "\n".join(reasons)
