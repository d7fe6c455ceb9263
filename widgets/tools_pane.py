"""An index of the session's tool calls: one line each, newest last; click to jump."""

from __future__ import annotations

import re

from textual import on
from textual.containers import VerticalScroll
from textual.events import Click
from textual.message import Message
from textual.widgets import Static

from harness_tui.lazy import lazy_module
from harness_tui.widgets.tool_card import duration_text, summarize_input

# Loads on first use, after the first frame is painted (see harness_tui.lazy).
ev = lazy_module("harness_tui.core.events")

MAX_ROWS = 300


class ToolRow(Static):
    DEFAULT_CSS = """
    ToolRow { height: 1; }
    ToolRow.-failed { color: $error; }
    ToolRow.-cancelled { color: $warning; }
    ToolRow:hover { background: $boost; }
    """

    def __init__(self, event: ev.ToolCallStarted) -> None:
        self.tool_call_id = event.tool_call_id
        self.label = f"{event.tool_name} {summarize_input(event.input, 28)}"
        self.indent = "  " if event.parent_tool_call_id else ""
        super().__init__(
            self._text("…"),
            markup=False,
            id="row-" + re.sub(r"[^A-Za-z0-9_-]", "_", event.tool_call_id),
        )

    def _text(self, icon: str, tail: str = "") -> str:
        return f"{self.indent}{icon} {self.label}{'  ' + tail if tail else ''}"

    def finish(self, icon: str, duration_ms: float, style: str | None = None) -> None:
        self.update(self._text(icon, duration_text(duration_ms)))
        if style:
            self.add_class(style)

    @on(Click)
    def _clicked(self) -> None:
        self.post_message(ToolsPane.Selected(self.tool_call_id))


class ToolsPane(VerticalScroll):
    DEFAULT_CSS = """
    ToolsPane { height: auto; max-height: 14; padding: 0 1; }
    ToolsPane > .tools-empty { color: $text-muted; }
    """

    class Selected(Message):
        def __init__(self, tool_call_id: str) -> None:
            super().__init__()
            self.tool_call_id = tool_call_id

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._rows: dict[str, ToolRow] = {}

    def on_mount(self) -> None:
        self.mount(Static("No tool calls yet.", classes="tools-empty"))

    def apply(self, event: ev.Event) -> None:
        if isinstance(event, ev.ToolCallStarted):
            self.query(".tools-empty").remove()
            row = ToolRow(event)
            self._rows[event.tool_call_id] = row
            self.mount(row)
            if len(self._rows) > MAX_ROWS:
                oldest = next(iter(self._rows))
                self._rows.pop(oldest).remove()
            self.scroll_end(animate=False)
        elif isinstance(event, ev.PermissionRequested):
            row = self._rows.get(event.tool_call_id)
            if row is not None:
                row.update(row._text("?", "asking"))
        elif isinstance(event, ev.ToolCallCompleted):
            row = self._rows.get(event.tool_call_id)
            if row is not None:
                row.finish("✓", event.duration_ms)
        elif isinstance(event, ev.ToolCallFailed):
            row = self._rows.get(event.tool_call_id)
            if row is not None:
                cancelled = event.kind == "cancelled"
                row.finish(
                    "■" if cancelled else "✗",
                    event.duration_ms,
                    "-cancelled" if cancelled else "-failed",
                )
