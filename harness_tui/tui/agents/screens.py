"""The agent view's two small screens: a session's diff (scrollable, Escape back) and
the question before closing a session."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Label, Static

#: A diff line's first characters -> its style.
_STYLES = (("+++", "bold"), ("---", "bold"), ("@@", "cyan"), ("+", "green"), ("-", "red"))


def coloured(diff: str) -> Text:
    """The diff with added lines green, removed ones red, hunk heads cyan (no markup)."""
    text = Text()
    for line in diff.splitlines(keepends=True):
        style = next((s for start, s in _STYLES if line.startswith(start)), "")
        text.append(line, style=style)
    return text


class DiffScreen(Screen[None]):
    """A session's changes; arrows and Page Up/Down scroll, Escape or q goes back."""

    DEFAULT_CSS = """
    DiffScreen > Label { padding: 0 1; background: $panel; width: 100%; }
    DiffScreen > VerticalScroll { height: 1fr; padding: 0 1; }
    """
    BINDINGS = [Binding("escape,q", "app.pop_screen", "Back")]

    def __init__(self, title: str, diff: str) -> None:
        super().__init__()
        self.title_text = title
        self.diff = diff

    def compose(self) -> ComposeResult:
        yield Label(self.title_text, markup=False)
        with VerticalScroll(id="diff"):
            yield Static(coloured(self.diff), id="diff-text")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#diff").focus()


class ConfirmClose(ModalScreen[bool]):
    """``X``: close that session? y closes it, n or Escape keeps it."""

    DEFAULT_CSS = """
    ConfirmClose { align: center middle; }
    ConfirmClose > Vertical { width: 70; height: auto; border: thick $warning;
                              background: $surface; padding: 1 2; }
    """
    BINDINGS = [
        Binding("y", "dismiss(True)", "Close it"),
        Binding("n,escape", "dismiss(False)", "Keep it"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.question, markup=False)
            yield Label("y closes it · n or Esc keeps it", markup=False)
