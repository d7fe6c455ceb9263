"""The gate every tool call passes: ``PreToolUse`` hooks, then the permission engine
(with ``PermissionRequest`` hooks before a question and ``PermissionDenied`` ones when
nobody could be asked); after the tool ran, ``PostToolUse`` hooks, or
``PostToolUseFailure`` ones for a call that failed.

A hook's block or deny refuses the call with its reason for the model; ``updatedInput``
replaces the input (and the permission engine judges the new one); ``allow`` skips the
permission question, ``ask`` forces one. A ``PermissionRequest`` hook's decision
answers the question instead of a person. ``PostToolUse`` feedback (exit 2 stderr,
``decision: "block"`` reasons, ``additionalContext``) is appended to the result the
model reads; ``updatedToolOutput`` replaces it. ``continue: false`` from any asks the
session to stop after this turn.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from harness_tui.core.hooks.fire import updated_content
from harness_tui.core.hooks.pipeline import HookPipeline
from harness_tui.core.permissions.engine import PermissionEngine
from harness_tui.core.tools.base import Tool, ToolContext, ToolResult
from harness_tui.core.tools.executor import ALLOW, GateVerdict


class HookedGate:
    """``ToolGate`` with hooks around the permission engine."""

    def __init__(
        self,
        engine: PermissionEngine,
        hooks: HookPipeline | None = None,
        *,
        request_stop: Callable[[str], None] = lambda reason: None,
    ) -> None:
        self.engine = engine
        self.hooks = hooks
        self.request_stop = request_stop
        #: PreToolUse context waiting to be added to the call's result.
        self._context: dict[str, str] = {}
        if hooks is not None:
            engine.ask_hooks = self

    def _call(self, tool: Tool, input: dict[str, Any], ctx: ToolContext) -> dict[str, Any]:
        return {"tool_name": tool.name, "tool_input": input, "tool_use_id": ctx.tool_call_id}

    async def check(self, tool: Tool, input: dict[str, Any], ctx: ToolContext) -> GateVerdict:
        permission = reason = None
        updated: dict[str, Any] | None = None
        if self.hooks is not None:
            outcome = await self.hooks.run(
                "PreToolUse", self._call(tool, input, ctx), tool_call_id=ctx.tool_call_id
            )
            if outcome.stop:
                self.request_stop(outcome.stop_reason or "stopped by a PreToolUse hook")
            if outcome.permission == "deny" or outcome.blocked:
                why = outcome.permission_reason or outcome.reason or "no reason given"
                return GateVerdict(False, f"a PreToolUse hook blocked it: {why}")
            permission, reason = outcome.permission, outcome.permission_reason
            updated = outcome.updated_input
            if outcome.context:
                self._context[ctx.tool_call_id] = outcome.additional_context
        verdict = await self.engine.check(
            tool,
            updated if updated is not None else input,
            ctx,
            hook_permission=permission,
            hook_reason=reason,
        )
        if verdict.allowed and updated is not None:
            return GateVerdict(True, updated_input=updated)
        return verdict

    async def before_ask(
        self, tool: Tool, input: dict[str, Any], ctx: ToolContext, suggestions: tuple[str, ...]
    ) -> GateVerdict | None:
        """``PermissionRequest``: a hook may answer the question (allow, perhaps with a
        new input, or deny) instead of a person."""
        assert self.hooks is not None
        fields = self._call(tool, input, ctx)
        del fields["tool_use_id"]  # not in Claude Code's PermissionRequest input
        suggested = [
            {
                "type": "addRules",
                "rules": [_rule_value(text) for text in suggestions],
                "behavior": "allow",
                "destination": "session",
            }
        ]
        fields["permission_suggestions"] = suggested if suggestions else []
        outcome = await self.hooks.run("PermissionRequest", fields, tool_call_id=ctx.tool_call_id)
        if outcome.stop:
            self.request_stop(outcome.stop_reason or "stopped by a PermissionRequest hook")
        if outcome.permission == "deny" or outcome.blocked:
            why = outcome.reason or "no reason given"
            return GateVerdict(False, f"a PermissionRequest hook denied it: {why}")
        if outcome.permission == "allow":
            if outcome.updated_input is not None:
                return GateVerdict(True, updated_input=outcome.updated_input)
            return ALLOW
        return None

    async def denied(
        self, tool: Tool, input: dict[str, Any], ctx: ToolContext, reason: str
    ) -> str | None:
        """``PermissionDenied``: the call was refused with nobody to ask; a hook's
        ``retry: true`` tells the model it may try again."""
        assert self.hooks is not None
        fields = {**self._call(tool, input, ctx), "reason": reason}
        outcome = await self.hooks.run("PermissionDenied", fields, tool_call_id=ctx.tool_call_id)
        if outcome.retry:
            return " (a PermissionDenied hook says you may retry this call)"
        return None

    async def after(
        self, tool: Tool, input: dict[str, Any], ctx: ToolContext, result: ToolResult
    ) -> ToolResult:
        notes = []
        pre_context = self._context.pop(ctx.tool_call_id, None)
        if pre_context:
            notes.append(pre_context)
        if self.hooks is not None and result.error_kind != "denied":
            call = {**self._call(tool, input, ctx), "duration_ms": round(ctx.timing.run_ms)}
            if result.is_error:
                event = "PostToolUseFailure"
                interrupted = result.error_kind in ("cancelled", "timeout")
                fields = {**call, "error": result.content, "is_interrupt": interrupted}
            else:
                event = "PostToolUse"
                response = {**result.details, "content": result.content, "is_error": False}
                fields = {**call, "tool_response": response}
            outcome = await self.hooks.run(event, fields, tool_call_id=ctx.tool_call_id)
            if outcome.updated_output is not None:
                result = dataclasses.replace(
                    result, content=updated_content(outcome.updated_output)
                )
            if outcome.blocked and outcome.reason:
                notes.append(f"{event} hook: {outcome.reason}")
            if outcome.context:
                notes.append(outcome.additional_context)
            if outcome.stop:
                self.request_stop(outcome.stop_reason or f"stopped by a {event} hook")
        if not notes:
            return result
        return dataclasses.replace(result, content="\n\n".join([result.content, *notes]))


def _rule_value(text: str) -> dict[str, str]:
    """A suggested rule (``Bash(npm test:*)``) as Claude Code's ``{toolName, ruleContent}``."""
    tool, paren, rest = text.partition("(")
    if not paren:
        return {"toolName": tool}
    return {"toolName": tool, "ruleContent": rest.removesuffix(")")}
