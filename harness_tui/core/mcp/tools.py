"""MCP tools as our ``Tool``s, named ``mcp__<server>__<tool>``.

Permission rules (``mcp__server``, ``mcp__server__tool``) and hooks see these names like
any built-in's: the calls go through the same executor and gate. A tool the server
marks read-only (``readOnlyHint``) runs in plan mode and without asking; any other asks
in ``default`` mode and is refused in ``plan`` mode.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from harness_tui.core.mcp.features.tasks import uses_tasks
from harness_tui.core.tools.base import Tool, ToolContext, ToolResult

if TYPE_CHECKING:
    from harness_tui.core.mcp.connection import ServerConnection

#: The longest tool name every provider accepts (OpenAI: 64; Anthropic: 128).
MAX_TOOL_NAME = 64
_BAD = re.compile(r"[^A-Za-z0-9_-]")


def tool_name(server: str, tool: str, taken: Iterable[str] = ()) -> str:
    """``mcp__server__tool`` with characters providers reject replaced, cut to
    ``MAX_TOOL_NAME``, and made unique against ``taken``."""
    base = f"mcp__{server}__{_BAD.sub('_', tool)}"[:MAX_TOOL_NAME]
    used = set(taken)
    name, n = base, 2
    while name in used:
        suffix = f"_{n}"
        name, n = base[: MAX_TOOL_NAME - len(suffix)] + suffix, n + 1
    return name


class McpTool(Tool):
    """One tool of one MCP server."""

    #: Tool search may leave it out of requests until the model asks for it.
    deferrable = True

    def __init__(self, connection: ServerConnection, spec: Any, name: str) -> None:
        self.connection = connection
        self.remote_name: str = spec.name
        self.name = name  # type: ignore[misc]
        about = spec.description or spec.title or f"The {spec.name} tool"
        self.description = f"{about}\n(MCP server {connection.name})"  # type: ignore[misc]
        schema = spec.input_schema or {}
        self.input_schema = schema if schema.get("type") == "object" else {"type": "object"}  # type: ignore[misc]
        hints = spec.annotations
        read_only = bool(hints is not None and hints.read_only_hint)
        self.read_only = read_only  # type: ignore[misc]
        self.concurrency_safe = read_only  # type: ignore[misc]
        self.access = "read" if read_only else "exec"  # type: ignore[misc]
        #: Called as a task (the server requires it: ``execution.taskSupport``).
        self.as_task = uses_tasks(spec)
        #: Told of each call (tool search keeps the most used tools loaded).
        self.on_use: Callable[[str], None] | None = None

    @property
    def server(self) -> str:
        return self.connection.name

    async def run(self, input: dict[str, Any], ctx: ToolContext) -> ToolResult:
        if self.on_use is not None:
            self.on_use(self.name)
        return await self.connection.call_tool(self.remote_name, input, ctx, as_task=self.as_task)


def server_tools(connection: ServerConnection, taken: Iterable[str]) -> list[McpTool]:
    """The server's listed tools as ``McpTool``s, named clear of ``taken``."""
    used = set(taken)
    tools = []
    for spec in connection.listing.tools:
        name = tool_name(connection.name, spec.name, used)
        used.add(name)
        tools.append(McpTool(connection, spec, name))
    return tools
