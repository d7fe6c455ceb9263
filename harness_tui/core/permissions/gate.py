"""The gate every tool call passes: ``PreToolUse`` hooks, then the permission engine;
and after the tool ran, ``PostToolUse`` hooks.

A hook's block or deny refuses the call with its reason for the model; ``updatedInput``
replaces the input (and the permission engine judges the new one); ``allow`` skips the
permission question, ``ask`` forces one. ``PostToolUse`` feedback (exit 2 stderr,
``decision: "block"`` reasons, ``additionalContext``) is appended to the result the
model reads. ``continue: false`` from either asks the session to stop after this turn.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from harness_tui.core.hooks.pipeline import HookPipeline
from harness_tui.core.permissions.engine import PermissionEngine
from harness_tui.core.tools.base import Tool, ToolContext, ToolResult
from harness_tui.core.tools.executor import GateVerdict


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

    async def check(self, tool: Tool, input: dict[str, Any], ctx: ToolContext) -> GateVerdict:
        permission = reason = None
        updated: dict[str, Any] | None = None
        if self.hooks is not None:
            outcome = await self.hooks.run(
                "PreToolUse",
                {"tool_name": tool.name, "tool_input": input, "tool_use_id": ctx.tool_call_id},
                tool_call_id=ctx.tool_call_id,
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

    async def after(
        self, tool: Tool, input: dict[str, Any], ctx: ToolContext, result: ToolResult
    ) -> ToolResult:
        notes = []
        pre_context = self._context.pop(ctx.tool_call_id, None)
        if pre_context:
            notes.append(pre_context)
        if self.hooks is not None:
            response = {**result.details, "content": result.content, "is_error": result.is_error}
            outcome = await self.hooks.run(
                "PostToolUse",
                {
                    "tool_name": tool.name,
                    "tool_input": input,
                    "tool_response": response,
                    "tool_use_id": ctx.tool_call_id,
                },
                tool_call_id=ctx.tool_call_id,
            )
            if outcome.blocked and outcome.reason:
                notes.append(f"PostToolUse hook: {outcome.reason}")
            if outcome.context:
                notes.append(outcome.additional_context)
            if outcome.stop:
                self.request_stop(outcome.stop_reason or "stopped by a PostToolUse hook")
        if not notes:
            return result
        return dataclasses.replace(result, content="\n\n".join([result.content, *notes]))
