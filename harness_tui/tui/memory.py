"""Memory in the TUI: a prompt that starts with ``#`` offers to keep it (this project's
memory, or the user's), as Claude Code's ``#`` does; ``/memory`` lists both scopes and
forgets or edits entries. Changes go to the session (``Session.remember``,
``forget_memory``), whose ``MEMORY_UPDATED`` the conversation shows."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label

from harness_tui.tui.host import AppHost


class RememberDialog(ModalScreen[str | None]):
    """Keep this where? p: the project's memory, u: the user's, Esc: neither."""

    DEFAULT_CSS = """
    RememberDialog { align: center middle; }
    RememberDialog > Vertical { width: 80; height: auto; border: thick $accent;
                                background: $surface; padding: 1 2; }
    RememberDialog .what { margin-bottom: 1; }
    """
    BINDINGS = [
        Binding("p,enter", "dismiss('project')", "Project memory"),
        Binding("u", "dismiss('user')", "My memory"),
        Binding("escape", "dismiss(None)", "Cancel"),
    ]

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Remember this?", markup=False)
            yield Label(self.text, classes="what", markup=False)
            yield Label("p or Enter: this project · u: you (every project)", markup=False)
            yield Label("Esc: neither", markup=False)


def offer(app: AppHost, text: str) -> None:
    """``#text``: ask where to keep it, then keep it (or say why not)."""
    if not text:
        app.say("Write what to remember after #, e.g. #tests run with `make check`.")
        return

    def chosen(scope: str | None) -> None:
        if scope is not None:
            app.call(app.session.remember(text, scope))

    app.push_screen(RememberDialog(text), chosen)


class MemoryScreen(ModalScreen[None]):
    """``/memory``: both scopes' entries with where each came from (session, date) and
    where the files are. ``f`` forgets the entry under the cursor (after ``y``), ``e``
    opens the scope's ``MEMORY.md`` in ``$VISUAL``/``$EDITOR``, Enter shows an entry's
    topic file, Esc closes."""

    DEFAULT_CSS = """
    MemoryScreen { align: center middle; }
    MemoryScreen > Vertical { width: 90%; height: 80%; border: thick $accent;
                              background: $surface; padding: 0 1; }
    MemoryScreen DataTable { height: 1fr; }
    MemoryScreen #memory-where { color: $text-muted; }
    """
    BINDINGS = [
        Binding("f", "forget", "Forget"),
        Binding("e", "edit", "Edit in $EDITOR"),
        Binding("escape,q", "dismiss(None)", "Close"),
    ]

    def __init__(self, session: Any) -> None:
        super().__init__()
        self.session = session
        self.rows: dict[str, Any] = {}

    def compose(self) -> ComposeResult:
        from textual.widgets import DataTable, Footer

        with Vertical():
            yield Label("Memory", markup=False)
            yield DataTable(cursor_type="row", id="memory-table")
            yield Label("", id="memory-where", markup=False)
            yield Footer()

    def on_mount(self) -> None:
        self.reload()

    def reload(self) -> None:
        from textual.widgets import DataTable

        from harness_tui.core.memory.tool import stores

        table = self.query_one(DataTable)
        table.clear(columns=True)
        table.add_columns("Scope", "Entry", "Topic", "From", "Date", "Id")
        every = stores(self.session.cwd)
        self.rows = {}
        for scope, store in every.items():
            for entry in store.entries():
                self.rows[entry.id] = (store, entry)
                table.add_row(
                    scope, entry.text, entry.topic, _origin(entry.session), entry.date,
                    entry.id, key=entry.id,
                )  # fmt: skip
        where = " · ".join(f"{scope}: {store.index}" for scope, store in every.items())
        empty = "" if self.rows else "Nothing kept yet: #text keeps a fact. "
        self.query_one("#memory-where", Label).update(f"{empty}{where}")
        table.focus()

    def _current(self) -> tuple[Any, Any] | None:
        from textual.widgets import DataTable

        table = self.query_one(DataTable)
        if not self.rows or table.cursor_row < 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return self.rows.get(str(key))

    def action_forget(self) -> None:
        current = self._current()
        if current is None:
            return
        _, entry = current

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.run_worker(self._forget(entry.id), exit_on_error=False)

        self.app.push_screen(ForgetDialog(entry.text), confirmed)

    async def _forget(self, entry_id: str) -> None:
        from harness_tui.core.errors import HarnessError

        try:
            await self.session.forget_memory(entry_id)
        except HarnessError as exc:
            self.notify(exc.message, severity="warning", markup=False)
        self.reload()

    def action_edit(self) -> None:
        import os
        import shlex
        import subprocess

        current = self._current()
        store = current[0] if current else self.rows and next(iter(self.rows.values()))[0]
        if not store:
            from harness_tui.core.memory.tool import stores

            store = stores(self.session.cwd)["project"]
        editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
        store.folder.mkdir(parents=True, exist_ok=True)
        if not store.index.exists():
            store.index.write_text("# Memory\n\n")
        try:
            with self.app.suspend():
                subprocess.call([*shlex.split(editor), str(store.index)])
        except Exception as exc:  # no terminal to hand over, no such editor
            self.notify(f"Cannot open {store.index}: {exc}", severity="warning", markup=False)
        self.reload()


class ForgetDialog(ModalScreen[bool]):
    """Forget this entry? y forgets it, n or Esc keeps it."""

    DEFAULT_CSS = """
    ForgetDialog { align: center middle; }
    ForgetDialog > Vertical { width: 80; height: auto; border: thick $warning;
                              background: $surface; padding: 1 2; }
    """
    BINDINGS = [
        Binding("y", "dismiss(True)", "Forget it"),
        Binding("n,escape", "dismiss(False)", "Keep it"),
    ]

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"Forget: {self.text}?", markup=False)
            yield Label("y forgets it · n or Esc keeps it", markup=False)


def _origin(session: str) -> str:
    return {"cli": "command line", "": "by hand"}.get(session, session[:16])
