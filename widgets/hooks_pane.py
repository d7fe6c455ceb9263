"""Every hook run: event, matcher, hook, decision, duration; denials stand out."""

from __future__ import annotations

from textual.containers import VerticalScroll
from textual.widgets import Static

from harness_tui.widgets.lazy import lazy_module

# Loads on first use, after the first frame is painted (see harness_tui.widgets.lazy).
ev = lazy_module("harness_tui.core.events")

MAX_ROWS = 40


class HooksPane(VerticalScroll):
    DEFAULT_CSS = """
    HooksPane { height: auto; max-height: 12; padding: 0 1; }
    HooksPane > .hooks-empty { color: $text-muted; }
    HooksPane > .hook-denied { color: $error; text-style: bold; }
    HooksPane > .hook-error { color: $warning; }
    """

    def on_mount(self) -> None:
        self.anchor()  # newest at the bottom, kept in view without a scroll per row
        self.mount(Static("No hooks have run.", classes="hooks-empty"))

    def apply(self, event: ev.Event) -> None:
        if not isinstance(event, ev.HookExecuted | ev.HookDenied):
            return
        for empty in self.query(".hooks-empty"):
            empty.remove()
        hook = event.hook if len(event.hook) <= 40 else "…" + event.hook[-39:]
        matcher = f"[{event.matcher}] " if event.matcher else ""
        if isinstance(event, ev.HookDenied):
            outcome, style = f"denied: {event.reason}", "hook-denied"
        elif event.error:
            outcome, style = f"error: {event.error}", "hook-error"
        else:
            outcome, style = event.decision or "ok", "hook-ok"
        row = Static(
            f"{event.hook_event} {matcher}{hook} → {outcome} · {event.duration_ms:.0f} ms",
            classes=style,
            markup=False,
        )
        self.mount(row)
        rows = self.query(".hook-ok, .hook-denied, .hook-error")
        if len(rows) > MAX_ROWS:
            rows.first().remove()
