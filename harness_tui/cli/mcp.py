"""``harness-tui mcp list|login|logout``: the folder's MCP servers and their OAuth logins."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from harness_tui.cli.common import PROG, fail, guarded, trusted_settings

if TYPE_CHECKING:
    from harness_tui.core.session.session import Session


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"{PROG} mcp",
        description="MCP servers of this folder (.mcp.json and the settings files): list "
        "them with their logins, log in to a remote server with OAuth (your browser opens; "
        "the tokens are kept in the user data folder, mode 0600), or log out (forget them).",
    )
    parser.add_argument(
        "--trust",
        action="store_true",
        help="trust this folder for good (its .mcp.json is read only in a trusted folder)",
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    actions.add_parser("list", help="the servers, their transport and whether logged in")
    login = actions.add_parser("login", help="log in to a remote server in the browser")
    login.add_argument("server", metavar="NAME")
    login.add_argument(
        "--wait", type=float, default=300.0, help="seconds to wait for the browser (300)"
    )
    logout = actions.add_parser("logout", help="forget a server's tokens and registration")
    logout.add_argument("server", metavar="NAME")
    return parser


def run(args: argparse.Namespace) -> int:
    """``harness-tui mcp list|login|logout``."""
    from harness_tui.core.config.settings import Settings
    from harness_tui.core.errors import HarnessError
    from harness_tui.core.mcp.config import load_servers
    from harness_tui.core.mcp.oauth import token_file

    trusted, settings = trusted_settings(args)
    assert isinstance(settings, Settings)
    servers = load_servers(Path.cwd(), settings, trusted=trusted)
    for problem in servers.problems:
        print(f"{PROG}: warning: {problem}", file=sys.stderr)
    if args.action == "list":
        if not servers.servers:
            hint = "" if trusted else " (this folder is not trusted: .mcp.json was not read)"
            print(f"no MCP servers configured{hint}")
        for name, config in servers.servers.items():
            login = ""
            if config.transport != "stdio":
                login = "  logged in" if token_file(config).has_tokens() else "  not logged in"
            print(f"{name}  {config.describe()}{login}  [{config.source}]")
        return 0
    config = servers.servers.get(args.server)
    if config is None:
        known = ", ".join(sorted(servers.servers)) or "none"
        return fail(f"no MCP server named {args.server!r} (servers: {known})")
    if config.transport == "stdio":
        return fail(f"MCP server {args.server} runs on this machine (stdio): it has no login")
    if args.action == "logout":
        forgotten = token_file(config).forget()
        print(f"Logged out of {args.server}." if forgotten else f"{args.server}: no stored login.")
        return 0
    try:
        return guarded(lambda: _login(args, trusted, settings))
    except HarnessError as exc:
        return fail(exc.message, exc.hint)


def _login(args: argparse.Namespace, trusted: bool, settings: object) -> int:
    import anyio

    from harness_tui.core.errors import HarnessError
    from harness_tui.core.mcp.manager import open_in_browser
    from harness_tui.core.session.session import Session

    pasting = sys.stdin is not None and sys.stdin.isatty()

    async def show(url: str) -> None:
        print(
            f"Log in to {args.server} in your browser. If it does not open, or it runs on "
            f"another machine, open:\n  {url}",
            file=sys.stderr,
        )
        if pasting:
            print(
                "If the browser runs on another machine, the page it ends on will not load: "
                "paste that page's address here and press Enter.",
                file=sys.stderr,
            )
        await open_in_browser(url)

    async def read_pasted(session: Session) -> None:
        """Addresses typed or pasted while the login waits (a browser elsewhere). Read
        on the event loop when the terminal has a line (no thread: one blocked in a read
        would hold up the exit)."""
        fd, pending = sys.stdin.fileno(), b""
        while True:
            await anyio.wait_readable(fd)
            chunk = os.read(fd, 65536)
            if not chunk:
                return
            pending += chunk
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                if line.strip():
                    try:
                        session.mcp.paste_login(line.decode("utf-8", "replace"))
                    except HarnessError as exc:
                        print(f"{PROG}: {exc.message}", file=sys.stderr)

    async def login() -> int:
        session = Session(model="demo", cwd=Path.cwd(), trusted=trusted, settings=settings)
        failed: list[HarnessError] = []
        async with session:
            await session.mcp.wait_started()
            async with anyio.create_task_group() as group:
                if pasting:
                    group.start_soon(read_pasted, session)
                try:
                    await session.mcp.login(args.server, show, wait_s=args.wait)
                except HarnessError as exc:
                    failed.append(exc)
                group.cancel_scope.cancel()
        if failed:
            fail(failed[0].message, failed[0].hint)
            return 1
        print(f"Logged in to {args.server}.", file=sys.stderr)
        return 0

    return anyio.run(login)
