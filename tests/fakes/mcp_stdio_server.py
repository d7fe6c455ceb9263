"""A stdio MCP server for the tests: it writes to stderr, can die mid-call, sleep, or
refuse to start (``--fail-if-exists PATH``). ``--marker TEXT`` sets what it prints to
stderr at start; ``--pid-file PATH`` records its process id (so a test can check that it
is gone)."""

from __future__ import annotations

import argparse
import os
import sys

import anyio
from mcp.server import MCPServer


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--marker", default="stdio test server up")
    parser.add_argument("--pid-file")
    parser.add_argument("--tools", type=int, default=0, help="extra generated tools")
    parser.add_argument("--fail-if-exists", help="exit at once when this file exists")
    args = parser.parse_args()
    if args.fail_if_exists and os.path.exists(args.fail_if_exists):
        print("refusing to start: the test said so", file=sys.stderr, flush=True)
        sys.exit(1)
    if args.pid_file:
        with open(args.pid_file, "a") as handle:
            handle.write(f"{os.getpid()}\n")
    print(args.marker, file=sys.stderr, flush=True)

    server = MCPServer("stdio-test")

    @server.tool(description="Exits the server process in the middle of the call.")
    async def die() -> str:
        print("dying on purpose", file=sys.stderr, flush=True)
        os._exit(3)

    @server.tool(description="Sleeps, then answers.")
    async def nap(seconds: float) -> str:
        await anyio.sleep(seconds)
        return f"rested {seconds}"

    @server.tool(description="Says which process answered.")
    async def pid() -> str:
        return str(os.getpid())

    for i in range(args.tools):
        server.add_tool(lambda i=i: f"t{i}", name=f"gen_{i}", description=f"generated {i}")

    server.run("stdio")


if __name__ == "__main__":
    main()
