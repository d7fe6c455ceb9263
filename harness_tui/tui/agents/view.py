"""The agent view: one table of every session of the user, grouped by what it needs,
re-read from the live registry twice a second (in a thread), the cursor kept on the
same session. Its keys answer a waiting session's question, stop or close a session,
show its diff, and open it (attach to a background one, resume a finished one).

``harness-tui agents`` shows it as an app (``app``); ``/agents`` pushes it in the TUI.
"""

from __future__ import annotations

import logging
import os
import subprocess
import time
from collections.abc import Callable

import anyio
from rich.text import Text
from textual import on
from textual.app import ComposeResult, SuspendNotSupported
from textual.binding import Binding
from textual.coordinate import Coordinate
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Label, Static

from harness_tui.tui.agents import actions
from harness_tui.tui.agents.rows import COLUMNS, EMPTY, AgentRow, Collector, ordered
from harness_tui.tui.agents.screens import ConfirmClose, DiffScreen

log = logging.getLogger(__name__)
#: How often the registry is read again (seconds).
REFRESH_S = 0.5
#: Row keys of the group titles start with this (a session id never does).
GROUP_KEY = "group:"
_STATE_STYLE = {"waiting": "bold yellow", "running": "green", "finished": "dim"}


class AgentTable(DataTable[str | Text]):
    """The sessions, a title row above each group; the cursor steps over the titles."""

    BINDINGS = [Binding("enter", "select_cursor", "Open")]

    def __init__(self) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, id="agents")
        self.titles: set[int] = set()

    def action_cursor_down(self) -> None:
        super().action_cursor_down()
        if self.cursor_row in self.titles and self.cursor_row + 1 < self.row_count:
            super().action_cursor_down()

    def action_cursor_up(self) -> None:
        super().action_cursor_up()
        if self.cursor_row in self.titles:
            if self.cursor_row > 0:
                super().action_cursor_up()
            else:
                super().action_cursor_down()


class AgentsScreen(Screen[None]):
    """Every session: Needs you, Working, Idle (and Finished, with ``f``)."""

    DEFAULT_CSS = """
    AgentsScreen > #title { padding: 0 1; background: $panel; width: 100%; }
    AgentsScreen > #empty { padding: 1 2; color: $text-muted; }
    AgentsScreen > AgentTable { height: 1fr; }
    AgentsScreen > #detail { padding: 0 1; height: auto; max-height: 3; color: $text-muted; }
    """
    BINDINGS = [
        Binding("y", "answer('y')", "Allow once"),
        Binding("a", "answer('a')", "Allow session"),
        Binding("A", "answer('A')", "Always"),
        Binding("n", "answer('n')", "Deny"),
        Binding("x", "stop", "Stop run"),
        Binding("X", "close_session", "Close"),
        Binding("d", "diff", "Diff"),
        Binding("f", "toggle_finished", "Finished"),
        Binding("q,escape", "leave", "Back"),
    ]

    def __init__(
        self,
        *,
        finished: bool = False,
        source: Callable[[bool], list[AgentRow]] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """``source(finished)`` gives the rows (default: the live registry and, with
        ``finished``, the saved sessions); ``clock`` is "now" for "12s ago"."""
        super().__init__()
        self.show_finished = finished
        self.source = source or Collector()
        self.clock = clock
        self.rows: dict[str, AgentRow] = {}
        #: What the table shows: the groups, each row with its cells.
        self._shown: list[tuple[str, list[tuple[AgentRow, tuple]]]] = []
        self._reading = False

    def compose(self) -> ComposeResult:
        yield Label("Agents", id="title", markup=False)
        yield Static(EMPTY, id="empty", markup=False)
        table = AgentTable()
        table.add_columns(*COLUMNS)
        yield table
        yield Static("", id="detail", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(AgentTable).focus()
        self.reload()
        self.set_interval(REFRESH_S, self.reload)

    # --- reading and showing ----------------------------------------------------------

    def reload(self) -> None:
        """Read the sessions again (in a thread); a read under way is not doubled."""
        if not self._reading:
            self._reading = True
            self.run_worker(self._read(), group="agents-read", exit_on_error=False)

    async def _read(self) -> None:
        try:
            rows = await anyio.to_thread.run_sync(self.source, self.show_finished)
        finally:
            self._reading = False
        self.show(rows)

    def show(self, rows: list[AgentRow]) -> None:
        """Fill the table with ``rows``, the cursor on the session it was on (where it
        was, when that session is gone)."""
        table = self.query_one(AgentTable)
        was, at = self.current(), table.cursor_row
        now = self.clock()
        self.rows = {row.session_id: row for row in rows}
        shown = [
            (title, [(row, row.cells(now)) for row in members]) for title, members in ordered(rows)
        ]
        if shown != self._shown:  # else nothing to draw again
            self._shown = shown
            self._fill(table, shown)
        self.query_one("#empty").display = not rows
        table.display = bool(rows)
        if rows and self.focused is None:  # hidden while empty, it lost the focus
            table.focus()
        live = sum(1 for row in rows if row.group != "finished")
        more = " · finished shown (f hides them)" if self.show_finished else ""
        self.query_one("#title", Label).update(f"Agents: {live} open{more}")
        if rows:
            if was is not None and was.session_id in self.rows:
                index = table.get_row_index(was.session_id)
            else:
                index = min(max(at, 1), table.row_count - 1)
                index += 1 if index in table.titles else 0
            table.move_cursor(row=index, animate=False)
        self._highlighted()

    @staticmethod
    def _fill(table: AgentTable, shown: list[tuple[str, list[tuple[AgentRow, tuple]]]]) -> None:
        table.clear()
        table.titles = set()
        for title, members in shown:
            table.titles.add(table.row_count)
            heading = Text(f"{title} ({len(members)})", style="bold")
            table.add_row(heading, *[""] * (len(COLUMNS) - 1), key=GROUP_KEY + title)
            for row, cells in members:
                styled: list[str | Text] = list(cells)
                styled[4] = Text(cells[4], style=_STATE_STYLE.get(row.group, ""))
                table.add_row(*styled, key=row.session_id)

    @on(DataTable.RowHighlighted)
    def _highlighted(self) -> None:
        row = self.current()
        self.query_one("#detail", Static).update(row.detail if row is not None else "")

    def current(self) -> AgentRow | None:
        """The session under the cursor (None on a title row or an empty table)."""
        table = self.query_one(AgentTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(Coordinate(table.cursor_row, 0)).row_key.value
        return self.rows.get(key or "")

    # --- the keys ---------------------------------------------------------------------

    def _chosen(self) -> AgentRow | None:
        row = self.current()
        if row is None:
            self.notify("No session there: choose one with ↑ and ↓.", severity="warning")
        return row

    def _carry_out(self, what: Callable[[AgentRow], str], row: AgentRow) -> None:
        async def work() -> None:
            said = await self._in_thread(what, row)
            if said is not None:
                self.notify(said, markup=False)
                self.reload()

        self.run_worker(work(), group="agents-act", exit_on_error=False)

    async def _in_thread(self, what: Callable[[AgentRow], str], row: AgentRow) -> str | None:
        """``what(row)`` in a thread; a refusal or a failure is told, never raised."""
        try:
            return await anyio.to_thread.run_sync(what, row)
        except actions.Refused as exc:
            self.notify(str(exc), severity="warning", markup=False)
        except Exception as exc:  # a bug must not take the view down: say it
            log.exception("agent view: %s failed", getattr(what, "__name__", what))
            self.notify(f"{row.label}: failed: {exc}", severity="error", markup=False)
        return None

    def action_answer(self, key: str) -> None:
        if (row := self._chosen()) is not None:
            self._carry_out(lambda r: actions.answer(r, key), row)

    def action_stop(self) -> None:
        if (row := self._chosen()) is not None:
            self._carry_out(actions.stop, row)

    def action_close_session(self) -> None:
        row = self._chosen()
        if row is None:
            return
        if row.record is None:
            self.notify(f"{row.label} is finished already.", markup=False)
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._carry_out(actions.close, row)

        question = f"Close {row.label}? It runs in {row.where}."
        self.app.push_screen(ConfirmClose(question), confirmed)

    def action_diff(self) -> None:
        row = self._chosen()
        if row is None:
            return

        async def work() -> None:
            diff = await self._in_thread(actions.changes, row)
            if diff is None:
                return
            title = f"{row.label} · {row.project} (Esc: back)"
            self.app.push_screen(DiffScreen(title, diff))

        self.run_worker(work(), group="agents-act", exit_on_error=False)

    def action_toggle_finished(self) -> None:
        self.show_finished = not self.show_finished
        self.reload()

    def action_leave(self) -> None:
        self.dismiss(None)

    @on(DataTable.RowSelected)
    def _selected(self) -> None:
        self.action_open()

    def action_open(self) -> None:
        """Enter: attach to a background session, resume a finished one, go back to
        this TUI's own; a session held elsewhere is answered from here."""
        row = self._chosen()
        if row is None:
            return
        record = row.record
        own = getattr(getattr(self.app, "session", None), "id", None)
        if record is not None and record.session_id == own and record.pid == os.getpid():
            self.dismiss(None)
        elif record is not None and record.attach:
            self._hand_over(lambda: actions.attach(row))
        elif record is None:
            self._hand_over(lambda: _resume(row))
        else:
            self.notify(
                f"{row.label} runs in {row.where} (another terminal or program): y, a, A "
                "and n answer its questions from here, x stops its run, X closes it.",
                markup=False,
            )

    def _hand_over(self, run: Callable[[], str]) -> None:
        """Give the terminal to ``run`` (the app suspended), then show what it said."""
        try:
            with self.app.suspend():
                said = run()
        except SuspendNotSupported:
            self.notify(
                "This terminal cannot be handed over from here (the app cannot suspend); "
                "use `harness-tui agents` in a terminal of its own.",
                severity="warning",
            )
            return
        except actions.Refused as exc:
            self.notify(str(exc), severity="warning", markup=False)
        else:
            self.notify(said, markup=False)
        self.reload()


def _resume(row: AgentRow) -> str:
    command, folder = actions.resume_command(row)
    done = subprocess.run(command, cwd=folder, check=False)
    if done.returncode:
        return f"harness-tui --resume {row.session_id} ended with status {done.returncode}"
    return f"Back from {row.label}"
