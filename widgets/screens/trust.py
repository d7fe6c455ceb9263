"""Asks once whether a folder's own settings, hooks, servers and plugins may run."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, Static


class TrustDialog(ModalScreen[bool]):
    DEFAULT_CSS = """
    TrustDialog { align: center middle; }
    TrustDialog > Vertical { width: 80; max-width: 95%; height: auto; border: thick $warning;
                             background: $surface; padding: 1 2; }
    """

    BINDINGS = [
        Binding("y", "dismiss(True)", "Trust"),
        Binding("n,escape", "dismiss(False)", "Don't trust"),
    ]

    def __init__(self, folder: str, found: list[str]) -> None:
        super().__init__()
        self.folder, self.found = folder, found

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"Trust {self.folder}?", markup=False)
            # The folder's file names are the folder's to choose: plain text, never markup.
            listing = "\n".join(f"  · {item}" for item in self.found) or "  (nothing yet)"
            yield Static(
                Text.assemble(
                    "This folder has its own configuration that can run programs:\n",
                    listing,
                    "\n\nTrust it only if you trust whoever wrote it. ",
                    ("y", "bold"),
                    " trust (remembered) · ",
                    ("n", "bold"),
                    " not now",
                )
            )
