"""Tools: the protocol, the executor and the built-in tools."""

from __future__ import annotations

from harness_tui.core.tools.base import Tool, ToolContext, ToolResult
from harness_tui.core.tools.executor import GateVerdict, ToolExecutor, ToolGate
from harness_tui.core.tools.file_search import GlobTool
from harness_tui.core.tools.files import EditTool, ReadTool, WriteTool
from harness_tui.core.tools.grep import GrepTool
from harness_tui.core.tools.plan import TodoWriteTool
from harness_tui.core.tools.shell import BashTool
from harness_tui.core.tools.web_fetch import WebFetchTool

__all__ = [
    "BashTool",
    "EditTool",
    "GateVerdict",
    "GlobTool",
    "GrepTool",
    "ReadTool",
    "TodoWriteTool",
    "Tool",
    "ToolContext",
    "ToolExecutor",
    "ToolGate",
    "ToolResult",
    "WebFetchTool",
    "WriteTool",
    "builtin_tools",
]


def builtin_tools() -> list[Tool]:
    """A fresh set of the built-in tools for one session (the Bash tool holds that
    session's shell state)."""
    return [
        ReadTool(),
        WriteTool(),
        EditTool(),
        BashTool(),
        GlobTool(),
        GrepTool(),
        TodoWriteTool(),
        WebFetchTool(),
    ]
