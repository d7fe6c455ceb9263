"""An index of the session's recent tool calls: one line each, newest last; click a line
to jump to its card in the conversation.

One widget drawing all its lines (a widget per line cost a layout pass per call in a
long session, benchmark B6); older calls stay in the conversation.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import events
from textual.message import Message
from textual.widgets import Static

from harness_tui.widgets.lazy import lazy_module
from harness_tui.widgets.tool_card import duration_text, summarize_input

# Loads on first use, after the first frame is painted (see harness_tui.widgets.lazy).
ev = lazy_module("harness_tui.core.events")

MAX_ROWS = 12
_STYLE = {"failed": "red", "cancelled": "yellow", "asking": "bold"}


@dataclass
class _Row:
    tool_call_id: str
    label: str
    icon: str = "…"
    tail: str = ""
    state: str = "running"


class ToolsPane(Static):
    DEFAULT_CSS = """
    ToolsPane { height: auto; padding: 0 1; }
    ToolsPane:hover { background: $boost; }
    """

    class Selected(Message):
        def __init__(self, tool_call_id: str) -> None:
            super().__init__()
            self.tool_call_id = tool_call_id

    def __init__(self, **kwargs: object) -> None:
        super().__init__("No tool calls yet.", markup=False, **kwargs)  # type: ignore[arg-type]
        self._rows: dict[str, _Row] = {}

    def apply(self, event: ev.Event) -> None:
        if isinstance(event, ev.ToolCallStarted):
            indent = "  " if event.parent_tool_call_id else ""
            label = f"{indent}{event.tool_name} {summarize_input(event.input, 28)}"
            self._rows[event.tool_call_id] = _Row(event.tool_call_id, label)
            while len(self._rows) > MAX_ROWS:
                del self._rows[next(iter(self._rows))]
        elif isinstance(event, ev.PermissionRequested):
            row = self._rows.get(event.tool_call_id)
            if row is None:
                return
            row.icon, row.tail, row.state = "?", "asking", "asking"
        elif isinstance(event, ev.ToolCallCompleted | ev.ToolCallFailed):
            row = self._rows.get(event.tool_call_id)
            if row is None:
                return
            # The run time alone (a call that never ran has none): waits are on the card.
            row.tail = duration_text(event.duration_ms) if event.duration_ms else ""
            if isinstance(event, ev.ToolCallCompleted):
                row.icon, row.state = "✓", "done"
            elif event.kind == "cancelled":
                row.icon, row.state = "■", "cancelled"
            else:
                row.icon, row.state = "✗", "failed"
        else:
            return
        self.update(self._render_rows())

    def _render_rows(self) -> Text:
        text = Text()
        for index, row in enumerate(self._rows.values()):
            if index:
                text.append("\n")
            line = f"{row.icon} {row.label}" + (f"  {row.tail}" if row.tail else "")
            text.append(line, style=_STYLE.get(row.state, ""))
        return text

    def on_click(self, event: events.Click) -> None:
        rows = list(self._rows.values())
        line = event.y - self.styles.padding.top
        if 0 <= line < len(rows):
            self.post_message(self.Selected(rows[line].tool_call_id))
