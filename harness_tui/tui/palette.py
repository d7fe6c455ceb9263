"""The command palette's harness entries (Ctrl+P): the app's actions by name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from harness_tui.tui.host import AppHost
from harness_tui.widgets.lazy import lazy_module

ev = lazy_module("harness_tui.core.events")


def entries(app: AppHost) -> list[tuple[str, str, Callable[[], Any]]]:
    """(title, help, what it does), in the palette's order."""
    found: list[tuple[str, str, Callable[[], Any]]] = [
        ("Switch model…", "open the model picker", app.action_pick_model),
        ("Toggle side panes", "plan, tools and hooks", app.action_toggle_side),
        ("Toggle thinking", "expand or collapse all thinking", app.action_toggle_thinking),
        ("Inline or full-screen", "/tui: the terminal's scrollback, or a pane", _tui(app)),
        ("New conversation", "/clear", app.action_clear),
        ("Resume a session…", "/resume", app.action_pick_session),
        ("Fork from an earlier message…", "/fork", app.action_pick_fork),
        ("Rewind to an earlier prompt…", "/rewind · Esc Esc", lambda: app.run_slash("/rewind")),
        ("Undo the last rewind", "/redo", lambda: app.run_slash("/redo")),
        ("Compact the conversation", "/compact", lambda: app.run_slash("/compact")),
        ("Export this session", "/export", lambda: app.run_slash("/export")),
        ("MCP servers", "/mcp: status, tools, resources, prompts", app.action_mcp),
        ("Keys and commands", "F1", app.action_help),
    ]
    for mode in ev.PERMISSION_MODES:
        found.append(
            (
                f"Mode: {mode}",
                "permission mode",
                lambda mode=mode: app.run_worker(app.session.set_mode(mode)),
            )
        )
    return found


def _tui(app: AppHost) -> Callable[[], Any]:
    return lambda: app.run_slash("/tui")


def harness_commands() -> type:
    """The palette's provider. A function (Textual accepts one) so that textual.command
    loads when the palette first opens, not at start-up."""
    from textual.command import Hit, Hits, Provider

    class HarnessCommands(Provider):
        """Command palette entries of harness-tui."""

        def _commands(self) -> list[tuple[str, str, Callable[[], Any]]]:
            return entries(self.app)  # type: ignore[arg-type]

        async def search(self, query: str) -> Hits:
            matcher = self.matcher(query)
            for title, help_text, callback in self._commands():
                score = matcher.match(title)
                if score > 0:
                    yield Hit(score, matcher.highlight(title), callback, help=help_text)

        async def discover(self) -> Hits:
            for title, help_text, callback in self._commands():
                yield Hit(1.0, title, callback, help=help_text)

    return HarnessCommands
