"""Background tasks (``Bash`` with ``run_in_background``): each running one with its
command and elapsed time, ticking; ``x`` stops the highlighted one. Ended tasks stay
listed with how they ended (the last ``KEEP_ENDED``). The pane (and its title) appear
when the first task starts."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from textual.binding import Binding
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from harness_tui.widgets.lazy import lazy_module

# Loads on first use, after the first frame is painted (see harness_tui.widgets.lazy).
ev = lazy_module("harness_tui.core.events")

KEEP_ENDED = 5
COMMAND_CHARS = 40


@dataclass
class _Row:
    task_id: str
    command: str
    started: float
    sandboxed: bool
    status: str | None = None
    exit_code: int | None = None
    duration_s: float = 0.0


def elapsed(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 3600:
        return f"{seconds // 60}:{seconds % 60:02d}"
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class TasksPane(OptionList):
    """Consumes TASK_STARTED and TASK_ENDED; stopping goes to the session."""

    DEFAULT_CSS = """
    TasksPane { height: auto; max-height: 10; padding: 0 1; border: none; }
    """
    BINDINGS = [Binding("x", "stop_task", "Stop task")]

    def __init__(self, *, now: Callable[[], float] = time.time, id: str | None = None) -> None:
        super().__init__(id=id, classes="-hidden")
        self._now = now
        self._rows: dict[str, _Row] = {}
        self._ticking = False

    def apply(self, event: ev.Event) -> None:
        if isinstance(event, ev.TaskStarted):
            started = event.timestamp or self._now()
            self._rows[event.task_id] = _Row(event.task_id, event.command, started, event.sandboxed)
            self._appear()
        elif isinstance(event, ev.TaskEnded) and event.task_id in self._rows:
            row = self._rows[event.task_id]
            row.status, row.exit_code = event.status, event.exit_code
            row.duration_s = event.duration_ms / 1000
            ended = [r for r in self._rows.values() if r.status is not None]
            for old in ended[:-KEEP_ENDED]:
                del self._rows[old.task_id]
        else:
            return
        self._redraw()

    def _appear(self) -> None:
        for widget in (self, *self.app.query("#tasks-title")):
            widget.remove_class("-hidden")
        if not self._ticking:
            self._ticking = True
            self.set_interval(1.0, self._tick)

    def _tick(self) -> None:
        if any(r.status is None for r in self._rows.values()):
            self._redraw()

    def _line(self, row: _Row) -> str:
        command = row.command if len(row.command) <= COMMAND_CHARS else row.command[:39] + "…"
        mark = " ▣" if row.sandboxed else ""
        if row.status is None:
            return f"● {elapsed(self._now() - row.started)}  {command}{mark}"
        how = {
            "completed": "done",
            "failed": f"exit {row.exit_code}",
            "stopped": "stopped",
            "killed": "killed",
        }
        return f"○ {how.get(row.status, row.status)} after {elapsed(row.duration_s)}  {command}"

    def _redraw(self) -> None:
        highlighted = self.highlighted
        self.clear_options()
        self.add_options(Option(self._line(r), id=r.task_id) for r in self._rows.values())
        if self._rows:
            self.highlighted = min(highlighted or 0, len(self._rows) - 1)

    def running_ids(self) -> list[str]:
        return [r.task_id for r in self._rows.values() if r.status is None]

    def action_stop_task(self) -> None:
        if self.highlighted is None:
            return
        task_id = self.get_option_at_index(self.highlighted).id
        row = self._rows.get(task_id or "")
        if row is None or row.status is not None:
            self.app.notify("That task has already ended.", severity="warning")
            return
        self.app.run_worker(self._stop(row.task_id), group="tasks", exit_on_error=False)

    async def _stop(self, task_id: str) -> None:
        session = getattr(self.app, "session", None)
        if session is None:
            return
        try:
            await session.stop_task(task_id)
        except Exception as exc:  # a view never crashes on a failed command
            self.app.notify(f"Could not stop {task_id}: {exc}", severity="error")
