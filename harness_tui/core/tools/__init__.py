"""Tools: the protocol, the executor and the built-in tools."""

from __future__ import annotations

from harness_tui.core.tools.base import Tool, ToolContext, ToolResult
from harness_tui.core.tools.executor import GateVerdict, ToolExecutor, ToolGate
from harness_tui.core.tools.file_search import GlobTool
from harness_tui.core.tools.plan import TodoWriteTool

__all__ = [
    "GateVerdict",
    "GlobTool",
    "TodoWriteTool",
    "Tool",
    "ToolContext",
    "ToolExecutor",
    "ToolGate",
    "ToolResult",
    "builtin_tools",
]


def builtin_tools() -> list[Tool]:
    """A fresh set of the built-in tools for one session."""
    return [GlobTool(), TodoWriteTool()]
