"""``/mcp``: every MCP server with its status, tools, resources, prompts and the last
log messages it sent. It shows plain views (name, status, lists of pairs) and holds no
connection."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

STATUS_STYLE = {
    "ready": "green",
    "connecting": "yellow",
    "failed": "red",
    "crashed": "red",
    "needs_auth": "yellow",
    "stopped": "dim",
}
LOG_LINES_SHOWN = 8


def describe_servers(views: Sequence[Any]) -> Text:
    """The report: one block per server (views are ``core.mcp.ServerView``s)."""
    text = Text()
    if not views:
        text.append("No MCP servers are configured.\n\n", style="bold")
        text.append(
            "Add them to .mcp.json in the project (a trusted folder) or under mcpServers in "
            "~/.config/harness-tui/settings.yaml, e.g.\n"
            '{"mcpServers": {"time": {"command": "uvx", "args": ["mcp-server-time"]}}}'
        )
        return text
    for view in views:
        text.append(view.name, style="bold")
        text.append(f"  {view.status}", style=STATUS_STYLE.get(view.status, ""))
        text.append(f"  {view.target} · {view.source}\n", style="dim")
        if view.error:
            text.append(f"  ✗ {view.error}\n", style="red")
        subscribed = set(view.subscribed)
        sections = (
            ("tools", view.tools),
            ("resources", view.resources),
            ("resource templates", view.templates),
            ("prompts", view.prompts),
        )
        for title, rows in sections:
            if not rows:
                continue
            text.append("  ")
            text.append(f"{title} ({len(rows)})", style="underline")
            text.append("\n")
            for name, about in rows:
                text.append(f"    {name}", style="cyan")
                if name in subscribed:
                    text.append("  (attached, watched for changes)", style="green")
                text.append(f"  {about}\n" if about else "\n", style="dim")
        hidden = getattr(view, "hidden_tools", ())
        if hidden:
            text.append("  ")
            text.append(f"not offered to the model ({len(hidden)})", style="underline")
            text.append("\n")
            for name, why in hidden:
                text.append(f"    {name}", style="yellow")
                text.append(f"  {why}\n", style="dim")
        level = view.log_level
        if view.log_lines or level:
            text.append("  ")
            text.append("log", style="underline")
            text.append(f"  (level {level})" if level else "", style="dim")
            text.append("\n")
            for line in view.log_lines[-LOG_LINES_SHOWN:]:
                text.append(f"    {line}\n", style="dim")
        if view.log_path:
            text.append(f"  stderr: {view.log_path}\n", style="dim")
        text.append("\n")
    text.append(
        "/mcp restart NAME stops a server and starts it again; @server: in the input "
        "completes its resources and templates.",
        style="dim",
    )
    if any(view.status == "needs_auth" for view in views):
        text.append(
            "\n/mcp login NAME logs in to a remote server in the browser (OAuth); "
            "/mcp logout NAME forgets its login.",
            style="yellow",
        )
    return text


class McpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    McpScreen { align: center middle; }
    McpScreen > VerticalScroll { width: 90%; max-width: 120; height: auto; max-height: 90%;
                                 border: thick $accent; background: $surface; padding: 1 2; }
    """

    BINDINGS = [Binding("escape,q", "dismiss", "Close")]

    def __init__(self, views: Sequence[Any]) -> None:
        super().__init__()
        self.views = views

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(describe_servers(self.views), id="mcp-report")


def status_notice(event: Any) -> tuple[str, str] | None:
    """A conversation notice ``(text, level)`` for a server that came up. (Failures
    arrive as ``NOTICE`` events of their own, so every view shows them.)"""
    if event.status != "ready":
        return None
    counts = ", ".join(
        f"{n} {what}{'' if n == 1 else 's'}"
        for n, what in (
            (event.tools, "tool"),
            (event.resources, "resource"),
            (event.prompts, "prompt"),
        )
        if n or what == "tool"
    )
    return (
        f"MCP server {event.server} {'restarted' if event.attempt else 'ready'}: {counts}",
        "info",
    )
