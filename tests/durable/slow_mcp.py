"""A stdio MCP server (the official SDK's ``MCPServer``) for the durable tests: ``lookup``,
read-only by its annotations, appends each call to a log and, the first time it is
asked for "slow", takes a minute (long enough to kill the process that called it)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from mcp.server import MCPServer
from mcp.types import ToolAnnotations

LOG = Path(sys.argv[1])
server = MCPServer("slow")


@server.tool(annotations=ToolAnnotations(readOnlyHint=True))
def lookup(name: str) -> str:
    """Look a name up."""
    seen = LOG.read_text().splitlines() if LOG.exists() else []
    with LOG.open("a") as log:
        log.write(f"lookup {name}\n")
    if name == "slow" and f"lookup {name}" not in seen:
        time.sleep(60)
    return f"found {name}"


if __name__ == "__main__":
    server.run("stdio")
