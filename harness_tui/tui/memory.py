"""Memory in the TUI: a prompt that starts with ``#`` offers to keep it (this project's
memory, or the user's), as Claude Code's ``#`` does. The answer goes to the session
(``Session.remember``), whose ``MEMORY_UPDATED`` the conversation shows."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label

from harness_tui.tui.host import AppHost


class RememberDialog(ModalScreen[str | None]):
    """Keep this where? p: the project's memory, u: the user's, Esc: neither."""

    DEFAULT_CSS = """
    RememberDialog { align: center middle; }
    RememberDialog > Vertical { width: 80; height: auto; border: thick $accent;
                                background: $surface; padding: 1 2; }
    RememberDialog .what { margin-bottom: 1; }
    """
    BINDINGS = [
        Binding("p,enter", "dismiss('project')", "Project memory"),
        Binding("u", "dismiss('user')", "My memory"),
        Binding("escape", "dismiss(None)", "Cancel"),
    ]

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Remember this?", markup=False)
            yield Label(self.text, classes="what", markup=False)
            yield Label(
                "p or Enter: this project's memory · u: your memory (every project) · Esc: neither",
                markup=False,
            )


def offer(app: AppHost, text: str) -> None:
    """``#text``: ask where to keep it, then keep it (or say why not)."""
    if not text:
        app.say("Write what to remember after #, e.g. #tests run with `make check`.")
        return

    def chosen(scope: str | None) -> None:
        if scope is not None:
            app.call(app.session.remember(text, scope))

    app.push_screen(RememberDialog(text), chosen)
