"""MCP client: servers from ``.mcp.json``, settings and plugins, their tools, resources
and prompts, and what servers may ask of us (roots, sampling, elicitation).

Importing this package does not import the ``mcp`` SDK (0.5-0.9 s): a connection
imports it, in a thread, when its server starts.

For plugins: ``session.mcp.add_server(name, {"command": ..., "args": [...]},
source="plugin NAME")`` adds a server from one ``mcpServers`` entry (``.mcp.json``'s
format, ``${VAR}`` expanded); it starts at once if the session is open.
"""

from __future__ import annotations

from harness_tui.core.mcp.config import (
    LoadedServers,
    McpConfigError,
    McpServerConfig,
    load_servers,
    parse_servers,
    server_config,
)
from harness_tui.core.mcp.manager import McpManager, ServerView

__all__ = [
    "LoadedServers",
    "McpConfigError",
    "McpManager",
    "McpServerConfig",
    "ServerView",
    "load_servers",
    "parse_servers",
    "server_config",
]
