"""Asks whether the session's model may answer an MCP server's sampling request (the
server wants a completion, which costs tokens and may carry the server's own text to the
model). Returns ``(approved, reason)``."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from harness_tui.core.events import SamplingRequested

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

Answer = tuple[bool, str | None]


class SamplingDialog(ModalScreen[Answer]):
    DEFAULT_CSS = """
    SamplingDialog { align: center middle; }
    SamplingDialog > Vertical {
        width: 90%; max-width: 100; height: auto; max-height: 90%;
        border: thick $warning; background: $surface; padding: 1 2;
    }
    SamplingDialog .title { text-style: bold; }
    SamplingDialog .about { color: $text-muted; }
    SamplingDialog VerticalScroll { height: auto; max-height: 20; margin: 1 0; }
    SamplingDialog Horizontal { height: auto; }
    SamplingDialog Button { margin: 0 1 0 0; min-width: 10; }
    """

    BINDINGS = [
        Binding("y", "answer(True)", "Approve"),
        Binding("n,escape", "answer(False)", "Decline"),
    ]

    def __init__(self, request: SamplingRequested) -> None:
        super().__init__()
        self.request = request

    def compose(self) -> ComposeResult:
        request = self.request
        with Vertical():
            yield Label(
                f"MCP server {request.server} asks {request.model} for a completion",
                classes="title",
                markup=False,
            )
            yield Static(
                Text(f"up to {request.max_tokens:,} tokens, billed to your key"), classes="about"
            )
            with VerticalScroll():
                if request.system_prompt:
                    yield Static(Text(f"system: {request.system_prompt}", style="italic"))
                for message in request.messages:
                    yield Static(Text(f"{message.get('role', '?')}: {message.get('text', '')}"))
            with Horizontal():
                yield Button("y Approve", id="approve", variant="primary")
                yield Button("n Decline", id="decline", variant="error")

    def action_answer(self, approved: bool) -> None:
        self.dismiss((approved, None if approved else "the user declined"))

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.action_answer(event.button.id == "approve")
