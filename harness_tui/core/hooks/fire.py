"""The input fields of the events fired from the run, the gate and the sub-agents, made
in one place so that each fire point is one call (field names: Claude Code's, see
``catalog``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from harness_tui.core.errors import HarnessError
from harness_tui.core.hooks.pipeline import HookOutcome, HookPipeline
from harness_tui.core.messages import AssistantMessage, Message, ToolResultMessage

#: harness-tui's failure codes (``providers.faults`` and the loop's unfinished
#: answers) as StopFailure's ``error`` values.
STOP_FAILURE_ERRORS = {
    "rate_limited": "rate_limit",
    "overloaded": "server_error",
    "server_error": "server_error",
    "auth_failed": "authentication_failed",
    "forbidden": "authentication_failed",
    "quota": "billing_error",
    "not_found": "model_not_found",
    "bad_request": "invalid_request",
    "context_overflow": "invalid_request",
    "max_tokens": "max_output_tokens",
}


def last_assistant_text(messages: Sequence[Message]) -> str:
    """The text of the conversation's last answer ("" for none)."""
    for message in reversed(messages):
        if isinstance(message, AssistantMessage):
            return message.text
    return ""


async def post_tool_batch(
    hooks: HookPipeline,
    calls: Sequence[tuple[str, str, dict[str, Any]]],
    results: Sequence[ToolResultMessage],
) -> HookOutcome:
    """``PostToolBatch``: every call of one answer (id, name, input) with the result
    the model reads."""
    by_id = {r.tool_call_id: r for r in results}
    batch = [
        {
            "tool_name": name,
            "tool_input": tool_input,
            "tool_use_id": call_id,
            "tool_response": by_id[call_id].content if call_id in by_id else "",
        }
        for call_id, name, tool_input in calls
    ]
    return await hooks.run("PostToolBatch", {"tool_calls": batch})


async def stop_failure(
    hooks: HookPipeline, code: str | None, details: str, messages: Sequence[Message]
) -> None:
    """``StopFailure``: the run ended on a model API error (its output is ignored)."""
    await hooks.run(
        "StopFailure",
        {
            "error": STOP_FAILURE_ERRORS.get(code or "", "unknown"),
            "error_details": details,
            "last_assistant_message": last_assistant_text(messages),
        },
    )


def updated_content(value: Any) -> str:
    """A PostToolUse hook's ``updatedToolOutput`` as the text the model reads."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("content"), str):
        return value["content"]
    if isinstance(value, dict) and isinstance(value.get("stdout"), str):
        return "\n".join(s for s in (value["stdout"], value.get("stderr") or "") if s)
    return json.dumps(value, ensure_ascii=False, default=str)


async def prompt_expansion(
    hooks: HookPipeline, name: str, arguments: str, prompt: str, source: str
) -> str:
    """``UserPromptExpansion``: ``/name arguments`` is about to become ``prompt``. The
    prompt with the hooks' context added; ``HarnessError`` when a hook blocks it."""
    typed = f"/{name} {arguments}".strip()
    fields = {
        "expansion_type": "slash_command",
        "command_name": name,
        "command_args": arguments,
        "command_source": source,
        "prompt": typed,
    }
    outcome = await hooks.run("UserPromptExpansion", fields)
    if outcome.blocked or outcome.stop:
        why = outcome.reason or outcome.stop_reason or "no reason given"
        raise HarnessError(f"a UserPromptExpansion hook blocked {typed}: {why}")
    if outcome.context:
        return f"{prompt}\n\n{outcome.additional_context}"
    return prompt


async def instructions_loaded(hooks: HookPipeline, files: Sequence[Any]) -> None:
    """``InstructionsLoaded``: each instruction file (``AGENTS.md``, ``CLAUDE.md``, ...)
    that went into the system prompt when the session started (observability only)."""
    for item in files:
        if item.included:
            fields = {
                "file_path": str(item.path),
                "memory_type": "User" if item.scope == "user" else "Project",
                "load_reason": "session_start",
            }
            await hooks.run("InstructionsLoaded", fields)


class ElicitationHooks:
    """``Elicitation`` (an MCP server asks the user: a hook may answer instead) and
    ``ElicitationResult`` (the user answered: a hook may change the answer); a block
    declines. Set on the MCP client (``ClientRequests.elicit_hooks``)."""

    def __init__(self, hooks: HookPipeline) -> None:
        self.hooks = hooks

    def _fields(self, request_id: str, asked: dict[str, Any]) -> dict[str, Any]:
        fields = {
            "mcp_server_name": asked["server"],
            "message": asked["message"],
            "mode": asked["mode"],
            "elicitation_id": request_id,
        }
        if asked["mode"] == "url":
            fields["url"] = asked.get("url")
        else:
            fields["requested_schema"] = asked["requested_schema"]
        return fields

    async def before(self, request_id: str, asked: dict[str, Any]) -> Any:
        outcome = await self.hooks.run("Elicitation", self._fields(request_id, asked))
        return _answer(outcome)

    async def after(self, request_id: str, asked: dict[str, Any], answer: Any) -> Any:
        fields = self._fields(request_id, asked)
        fields.pop("requested_schema", None)
        fields.pop("message", None)
        fields.update(action=answer.action, content=answer.content)
        outcome = await self.hooks.run("ElicitationResult", fields)
        return _answer(outcome) or answer


def _answer(outcome: HookOutcome) -> Any:
    """A hook's answer to an elicitation (a block declines), or None."""
    from harness_tui.core.mcp.features.questions import ElicitationAnswer

    if outcome.blocked:
        return ElicitationAnswer("decline")
    if outcome.elicit is not None:
        action, content = outcome.elicit
        return ElicitationAnswer(action, content if action == "accept" else None)  # type: ignore[arg-type]
    return None
