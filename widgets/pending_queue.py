"""Messages typed while the agent works, shown until they reach the model."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from harness_tui.widgets.lazy import lazy_module

# Loads on first use, after the first frame is painted (see harness_tui.widgets.lazy).
ev = lazy_module("harness_tui.core.events")

_KIND_LABEL = {"steer": "↳ steer", "follow_up": "» follow-up"}


class PendingQueue(Static):
    """Pending steering and follow-up messages, oldest first; hidden when empty."""

    DEFAULT_CSS = """
    PendingQueue {
        height: auto;
        max-height: 6;
        padding: 0 1;
        color: $text-muted;
        display: none;
    }
    PendingQueue.-has-items { display: block; }
    """

    items: reactive[tuple[tuple[str, str, str], ...]] = reactive(())

    def apply(self, event: ev.Event) -> None:
        if isinstance(event, ev.SteeringQueued):
            text = event.text
            if event.images:  # they go with it: counted before its text
                count = len(event.images)
                text = f"[{count} image{'s' if count > 1 else ''}] {text}"
            self.items = (*self.items, (event.steering_id, event.kind, text))
        elif isinstance(event, ev.SteeringDelivered | ev.SteeringWithdrawn):
            self.items = tuple(i for i in self.items if i[0] != event.steering_id)

    def watch_items(self, items: tuple[tuple[str, str, str], ...]) -> None:
        self.set_class(bool(items), "-has-items")

    def render(self) -> Text:  # what was typed, shown as typed (never markup)
        lines = []
        for _, kind, text in self.items:
            first = text.strip().splitlines()[0] if text.strip() else ""
            more = " …" if len(text.strip().splitlines()) > 1 or len(first) > 90 else ""
            lines.append(f"{_KIND_LABEL.get(kind, kind)} · {first[:90]}{more}")
        if lines:
            lines[-1] += "   (Alt+↑ to edit)"
        return Text("\n".join(lines))
