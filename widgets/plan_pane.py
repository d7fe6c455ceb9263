"""The agent's plan (TodoWrite) with status marks."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Static

from harness_tui.widgets.lazy import lazy_module

# Loads on first use, after the first frame is painted (see harness_tui.widgets.lazy).
ev = lazy_module("harness_tui.core.events")

MARKS = {"pending": "○", "in_progress": "◐", "completed": "●"}


class PlanPane(Widget):
    """A frozen list of plan entries, recomposed when the plan changes."""

    DEFAULT_CSS = """
    PlanPane { height: auto; padding: 0 1; }
    PlanPane > .plan-empty { color: $text-muted; }
    PlanPane > .plan-pending { color: $text; }
    PlanPane > .plan-in_progress { color: $accent; text-style: bold; }
    PlanPane > .plan-completed { color: $text-muted; text-style: strike; }
    """

    entries: reactive[tuple[ev.PlanEntry, ...]] = reactive((), recompose=True)

    def apply(self, event: ev.Event) -> None:
        if isinstance(event, ev.PlanGenerated | ev.PlanUpdated):
            self.entries = tuple(event.entries)

    def compose(self) -> ComposeResult:
        if not self.entries:
            yield Static("No plan yet.", classes="plan-empty")
            return
        for entry in self.entries:
            text = (
                entry.active_form
                if entry.status == "in_progress" and entry.active_form
                else entry.content
            )
            yield Static(
                f"{MARKS[entry.status]} {text}", classes=f"plan-{entry.status}", markup=False
            )
