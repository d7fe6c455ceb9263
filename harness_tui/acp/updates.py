"""Our events as ACP ``session/update`` notifications, and a saved conversation replayed
as them (``session/load``).

Pure functions: an event in, the updates a client should see out. The mapping of tool
calls follows what the ACP adapter for Claude Code does for the same tools
(zed-industries/claude-code-acp, ``src/tools.ts``: ``toolInfoFromToolUse``): Read is a
``read`` call at its file, Edit and Write are ``edit`` calls whose content is a diff of
the replaced text (``oldText`` None for a new file), Bash is ``execute``, Grep and Glob
are ``search``, WebFetch is ``fetch``. Paths in ACP are absolute.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from acp import helpers
from acp.schema import (
    Cost,
    FileEditToolCallContent,
    PlanEntry,
    ToolCallLocation,
    ToolCallProgress,
    ToolCallStart,
    ToolKind,
    UsageUpdate,
)

from harness_tui.core.events import (
    PlanEvent,
    ThinkingDelta,
    TokenDelta,
    ToolCallCompleted,
    ToolCallFailed,
    ToolCallStarted,
    UsageUpdated,
)
from harness_tui.core.events import ToolCallProgress as OurProgress
from harness_tui.core.messages import (
    AssistantMessage,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
    ToolResultMessage,
    UserMessage,
)

#: Our tool -> ACP's tool kind (which icon a client shows). Others: ``other``.
TOOL_KINDS: dict[str, ToolKind] = {
    "Read": "read",
    "Edit": "edit",
    "MultiEdit": "edit",
    "Write": "edit",
    "NotebookEdit": "edit",
    "Bash": "execute",
    "TaskStop": "execute",
    "Glob": "search",
    "Grep": "search",
    "LS": "search",
    "WebFetch": "fetch",
    "WebSearch": "fetch",
    "Task": "think",
    "TodoWrite": "think",
    "ExitPlanMode": "switch_mode",
}
#: Most characters of a running tool's output sent with each progress update.
OUTPUT_TAIL = 8_000
_PATH_KEYS = ("file_path", "notebook_path", "path")


def kind(tool_name: str) -> ToolKind:
    return TOOL_KINDS.get(tool_name, "other")


def title(tool_name: str, data: dict[str, Any], cwd: Path) -> str:
    """What a client shows on the tool call's line: ``Bash: ls -la``, ``Edit src/a.py``."""
    if tool_name.startswith("mcp__"):
        _, server, name = [*tool_name.split("__", 2), "", ""][:3]
        return f"{server}: {name}" if name else tool_name
    if tool_name == "Bash" and isinstance(data.get("command"), str):
        return f"Bash: {data['command']}"
    for key in ("pattern", "url", "query", "description"):
        if isinstance(data.get(key), str) and data[key]:
            return f"{tool_name} {data[key]}"
    path = _path(data, cwd)
    if path is not None:
        try:
            shown = str(path.relative_to(cwd))
        except ValueError:
            shown = str(path)
        return f"{tool_name} {shown}"
    return tool_name


def _path(data: dict[str, Any], cwd: Path) -> Path | None:
    for key in _PATH_KEYS:
        value = data.get(key)
        if isinstance(value, str) and value:
            return (cwd / value).resolve() if not Path(value).is_absolute() else Path(value)
    return None


def locations(data: dict[str, Any], cwd: Path) -> list[ToolCallLocation] | None:
    """Where the call reads or writes (the client may follow the agent there)."""
    path = _path(data, cwd)
    if path is None:
        return None
    line = data.get("offset") if isinstance(data.get("offset"), int) else None
    return [ToolCallLocation(path=str(path), line=line)]


def edit_diffs(tool_name: str, data: dict[str, Any], cwd: Path) -> list[FileEditToolCallContent]:
    """The diffs an edit call proposes: old and new text of each replacement, or the
    whole new file for Write (as claude-code-acp shows them)."""
    path = _path(data, cwd)
    if path is None:
        return []
    where = str(path)
    if tool_name == "Write" and isinstance(data.get("content"), str):
        return [helpers.tool_diff_content(where, data["content"], None)]
    if tool_name == "Edit" and isinstance(data.get("new_string"), str):
        old = data.get("old_string")
        return [helpers.tool_diff_content(where, data["new_string"], _text(old))]
    if tool_name == "MultiEdit" and isinstance(data.get("edits"), list):
        return [
            helpers.tool_diff_content(where, edit["new_string"], _text(edit.get("old_string")))
            for edit in data["edits"]
            if isinstance(edit, dict) and isinstance(edit.get("new_string"), str)
        ]
    return []


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def tool_started(event: ToolCallStarted, cwd: Path) -> ToolCallStart:
    return _start(event.tool_call_id, event.tool_name, event.input, cwd)


def _start(call_id: str, tool_name: str, data: dict[str, Any], cwd: Path) -> ToolCallStart:
    return helpers.start_tool_call(
        call_id,
        title(tool_name, data, cwd),
        kind=kind(tool_name),
        status="pending",
        content=edit_diffs(tool_name, data, cwd) or None,
        locations=locations(data, cwd),
        raw_input=data,
    )


def tool_progress(event: OurProgress, output: str) -> ToolCallProgress:
    """A running call: its output so far (the last ``OUTPUT_TAIL`` characters)."""
    content = [helpers.tool_content(helpers.text_block(output[-OUTPUT_TAIL:]))] if output else None
    return helpers.update_tool_call(event.tool_call_id, status="in_progress", content=content)


def tool_ended(event: ToolCallCompleted | ToolCallFailed, cwd: Path) -> ToolCallProgress:
    """A finished call: completed with what the model read (edits keep their diff), or
    failed with the error the model was told."""
    if isinstance(event, ToolCallFailed):
        text = event.error
        status = "failed"
        raw: Any = {"error": event.error, "kind": event.kind}
    else:
        text = event.display or event.content
        status = "completed"
        raw = {"content": event.content}
    content: list[Any] = []
    if text:
        content.append(helpers.tool_content(helpers.text_block(text)))
    return helpers.update_tool_call(
        event.tool_call_id,
        status=status,  # type: ignore[arg-type]
        content=content or None,
        raw_output=raw,
    )


def plan(event: PlanEvent) -> Any:
    return helpers.update_plan(
        [
            PlanEntry(content=entry.content, priority="medium", status=entry.status)
            for entry in event.entries
        ]
    )


def usage(event: UsageUpdated) -> UsageUpdate:
    """How full the context is, and what the session has cost so far."""
    cost = event.total_cost_usd
    return UsageUpdate(
        session_update="usage_update",
        used=event.context_tokens,
        size=event.context_window or 0,
        cost=Cost(amount=round(cost, 6), currency="USD") if cost is not None else None,
    )


def delta(event: TokenDelta | ThinkingDelta) -> Any:
    if isinstance(event, ThinkingDelta):
        return helpers.update_agent_thought_text(event.text)
    return helpers.update_agent_message_text(event.text)


def replay(messages: list[Any], cwd: Path) -> list[Any]:
    """A saved conversation as the updates a client rebuilds it from: user and agent
    messages, thoughts, and each tool call with its result."""
    updates: list[Any] = []
    calls: dict[str, ToolCallBlock] = {}
    for message in messages:
        if isinstance(message, UserMessage):
            text = "\n\n".join(b.text for b in message.content if isinstance(b, TextBlock))
            if text:
                updates.append(helpers.update_user_message_text(text))
        elif isinstance(message, AssistantMessage):
            for block in message.content:
                if isinstance(block, TextBlock) and block.text:
                    updates.append(helpers.update_agent_message_text(block.text))
                elif isinstance(block, ThinkingBlock) and block.text:
                    updates.append(helpers.update_agent_thought_text(block.text))
                elif isinstance(block, ToolCallBlock):
                    calls[block.id] = block
                    updates.append(_start(block.id, block.name, block.input, cwd))
        elif isinstance(message, ToolResultMessage) and message.tool_call_id in calls:
            updates.append(
                helpers.update_tool_call(
                    message.tool_call_id,
                    status="failed" if message.is_error else "completed",
                    content=[helpers.tool_content(helpers.text_block(message.content))]
                    if message.content
                    else None,
                )
            )
    return updates
