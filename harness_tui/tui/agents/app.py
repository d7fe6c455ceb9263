"""``harness-tui agents`` on a terminal: the agent view as an app of its own; leaving
the view (q, Escape) quits."""

from __future__ import annotations

from typing import Any

from textual.app import App
from textual.binding import Binding

from harness_tui.tui.agents.view import AgentsScreen


class StandaloneAgents(AgentsScreen):
    """The view where leaving it quits."""

    BINDINGS = [Binding("q,escape", "leave", "Quit")]


class AgentsApp(App[None]):
    """The agent view alone; ``options`` are the view's (``finished``: the Finished
    group shown from the start; ``source`` and ``clock`` for tests)."""

    TITLE = "harness-tui agents"

    def __init__(self, **options: Any) -> None:
        super().__init__()
        self.view = StandaloneAgents(**options)

    def on_mount(self) -> None:
        self.push_screen(self.view, lambda _: self.exit())
