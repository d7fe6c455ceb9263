"""F1: every key binding, in one place."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 80; max-width: 95%; height: auto; max-height: 90%;
                                  border: thick $accent; background: $surface; padding: 1 2; }
    """

    BINDINGS = [Binding("escape,f1,q", "dismiss", "Close")]

    def __init__(self, sections: Sequence[tuple[str, Sequence[tuple[str, str]]]]) -> None:
        super().__init__()
        self.sections = sections

    def compose(self) -> ComposeResult:
        # Descriptions and argument hints come from files ("/model [name]"): plain text.
        text = Text()
        for title, rows in self.sections:
            text.append(f"{title}\n", style="bold")
            for keys, about in rows:
                text.append(f"  {keys:<22} {about}\n")
            text.append("\n")
        text.rstrip()
        with VerticalScroll():
            yield Static(text)
