"""Asks whether a tool may run: tool, arguments, a preview of the change, the rule."""

from __future__ import annotations

import json

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from harness_tui.widgets.lazy import lazy_module

# Loads on first use, after the first frame is painted (see harness_tui.widgets.lazy).
ev = lazy_module("harness_tui.core.events")

#: What the dialog returns: the decision and, for a denial, the reason for the model.
Answer = tuple[str, str | None]


class PermissionDialog(ModalScreen[Answer]):
    DEFAULT_CSS = """
    PermissionDialog { align: center middle; }
    PermissionDialog > Vertical {
        width: 90%; max-width: 110; height: auto; max-height: 90%;
        border: thick $accent; background: $surface; padding: 1 2;
    }
    PermissionDialog .title { text-style: bold; }
    PermissionDialog .reason { color: $text-muted; }
    PermissionDialog VerticalScroll { height: auto; max-height: 20; margin: 1 0; }
    PermissionDialog Horizontal { height: auto; }
    PermissionDialog Button { margin: 0 1 0 0; min-width: 10; }
    PermissionDialog Input { display: none; margin: 1 0 0 0; }
    PermissionDialog Input.-open { display: block; }
    """

    BINDINGS = [
        Binding("1,y", "answer('allow_once')", "Allow once"),
        Binding("2,a", "answer('allow_session')", "Allow for session"),
        Binding("3", "answer('allow_always')", "Always allow"),
        Binding("4,n", "deny", "Deny"),
        Binding("escape", "answer('deny')", "Deny", show=False),
    ]

    def __init__(self, request: ev.PermissionRequested) -> None:
        super().__init__()
        self.request = request

    def compose(self) -> ComposeResult:
        from rich.syntax import Syntax  # pygments: only when a dialog opens

        request = self.request
        with Vertical():
            yield Label(f"Allow {request.tool_name}?", classes="title", markup=False)
            yield Static(Text(request.reason), classes="reason")
            if request.rule:
                yield Static(Text(f"rule: {request.rule}"), classes="reason")
            with VerticalScroll():
                if request.preview:
                    yield Static(
                        Syntax(
                            request.preview,
                            "diff",
                            theme="ansi_dark",
                            background_color="default",
                            word_wrap=True,
                        )
                    )
                else:
                    yield Static(
                        Syntax(
                            json.dumps(request.input, indent=2, ensure_ascii=False),
                            "json",
                            theme="ansi_dark",
                            background_color="default",
                            word_wrap=True,
                        )
                    )
            with Horizontal():
                yield Button("1 Allow once", id="allow_once", variant="primary")
                yield Button("2 Allow for session", id="allow_session")
                yield Button("3 Always allow", id="allow_always")
                yield Button("4 Deny…", id="deny", variant="error")
            yield Input(
                placeholder="Why not? The model will read this (Enter to deny)", id="reason"
            )

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "deny":
            self.action_deny()
        elif event.button.id:
            self.action_answer(event.button.id)

    def action_answer(self, decision: str) -> None:
        self.dismiss((decision, None))

    def action_deny(self) -> None:
        reason = self.query_one("#reason", Input)
        reason.add_class("-open")
        reason.focus()

    @on(Input.Submitted, "#reason")
    def _deny_with_reason(self, event: Input.Submitted) -> None:
        self.dismiss(("deny", event.value.strip() or None))
