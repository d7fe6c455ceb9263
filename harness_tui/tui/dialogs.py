"""The modal screens the app opens: the session's questions (permission, folder trust,
an MCP server's sampling approval or form), and the pickers and panels a key or a
command asks for (help, model, MCP servers, saved sessions, fork points).

Each screen's module loads when it first opens; an answer goes back to the session as
a call, and what it changes comes back as events.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from textual.binding import Binding

from harness_tui.core.errors import HarnessError
from harness_tui.tui.host import AppHost
from harness_tui.widgets.lazy import lazy_module

if TYPE_CHECKING:
    from pathlib import Path

    from textual.screen import Screen

    from harness_tui.core.events import ElicitationRequested, Event, SamplingRequested
    from harness_tui.widgets.screens.session_picker import PickerRow

ev = lazy_module("harness_tui.core.events")

#: The Input section of /help: keys of the prompt box.
INPUT_KEYS = [
    ("Enter", "send; while the agent works: steer (joins at the next turn)"),
    ("Alt+Enter", "queue a follow-up (runs when the current run ends)"),
    ("Shift+Enter, Ctrl+J", "new line"),
    ("Up / Down", "previous / next prompt (at the first / last line)"),
    ("Alt+Up", "take the newest queued message back to edit it"),
    ("/", "slash commands (Tab or Enter completes)"),
    ("@", "complete a file path, or an MCP resource (@server:uri); an image attaches"),
    ("Ctrl+V", "attach the clipboard's image (else paste its text); a pasted path too"),
    ("Backspace", "at the very start of the input: remove the last attached image"),
    ("Esc Esc", "on an empty input, no run active: rewind to an earlier prompt (/rewind)"),
]


class Questions:
    """The session's open questions on screen, by request id. A question answered
    elsewhere (a browser), or withdrawn (the run ended), closes its screen."""

    def __init__(self, app: AppHost) -> None:
        self._app = app
        self._screens: dict[str, Screen[Any]] = {}

    def on_event(self, event: Event) -> None:
        """Open or close a question's screen for ``event``; other events pass."""
        app = self._app
        if isinstance(event, ev.PermissionRequested):
            from harness_tui.widgets.screens.permission import PermissionDialog  # on demand

            screen = PermissionDialog(event)
            self._screens[event.request_id] = screen
            app.push_screen(
                screen, callback=lambda answer, request=event: self._answered(request, answer)
            )
        elif isinstance(event, ev.TrustRequested):
            from harness_tui.widgets.screens.trust import TrustDialog  # on demand

            app.push_screen(
                TrustDialog(event.folder, list(event.found)),
                callback=lambda trusted: app.call(app.session.resolve_trust(bool(trusted))),
            )
        elif isinstance(event, ev.SamplingRequested | ev.ElicitationRequested):
            self._ask_for_mcp(event)
        elif isinstance(
            event, ev.PermissionResolved | ev.SamplingResolved | ev.ElicitationResolved
        ):
            screen = self._screens.pop(event.request_id, None)
            if screen is not None and screen.is_current:
                app.pop_screen()  # answered elsewhere, withdrawn, or the run ended
        elif isinstance(event, ev.SessionEnded):
            self._screens.clear()

    def _answered(self, request: Any, answer: tuple[str, str | None] | None) -> None:
        if self._screens.pop(request.request_id, None) is None or answer is None:
            return
        decision, reason = answer
        app = self._app
        app.call(app.session.resolve_permission(request.request_id, decision, reason))

    def _ask_for_mcp(self, event: SamplingRequested | ElicitationRequested) -> None:
        """An MCP server's question: a sampling approval or an elicitation form."""
        app = self._app
        request_id = event.request_id
        session = app.session

        def answered(answer: Any) -> None:
            if self._screens.pop(request_id, None) is None or answer is None:
                return
            if isinstance(event, ev.SamplingRequested):
                app.call(session.resolve_sampling(request_id, *answer))
            else:
                app.call(session.resolve_elicitation(request_id, *answer))

        if isinstance(event, ev.SamplingRequested):
            from harness_tui.widgets.screens.sampling import SamplingDialog  # on demand

            screen: Screen[Any] = SamplingDialog(event)
        else:
            schema = event.requested_schema
            from harness_tui.core.mcp.features.questions import check_content
            from harness_tui.widgets.screens.elicitation import ElicitationDialog  # on demand

            screen = ElicitationDialog(event, lambda content: check_content(content, schema))
        self._screens[request_id] = screen
        app.push_screen(screen, callback=answered)


def show_help(app: AppHost) -> None:
    """F1 and /help: the keys, the prompt box's keys and the slash commands."""
    keys = [
        (b.key_display or b.key, b.description)
        for b in app.BINDINGS
        if isinstance(b, Binding) and b.description
    ]
    keys.append(("Ctrl+Q", "quit"))
    slash = [(f"/{name}", about) for name, about in app.slash_commands()]
    from harness_tui.widgets.screens.help import HelpScreen  # on demand

    app.push_screen(HelpScreen([("Keys", keys), ("Input", INPUT_KEYS), ("Slash commands", slash)]))


def pick_model(app: AppHost) -> None:
    """The model picker; the chosen model applies now, or at the next turn of a run."""
    from harness_tui.core.providers.models import available_models, resolve_model
    from harness_tui.widgets.screens.model_picker import ModelPicker, ModelRow

    if app.session is None:
        return
    rows = [
        ModelRow(m.name, m.provider, m.context_window, m.price, m.key_present, m.note)
        for m in available_models(app.session.cwd, app.session.settings)
    ]

    def check(name: str) -> str | None:
        try:
            resolve_model(name, cwd=app.session.cwd, settings=app.session.settings)
        except HarnessError as exc:
            return str(exc)
        return None

    def chosen(name: str | None) -> None:
        if name:
            app.call(app.session.set_model(name))
            if app.session.running:
                app.notify(f"Switching to {name} at the next turn.")

    session = app.session
    warm = session.warm_soon if session.warm_up else None
    app.push_screen(ModelPicker(rows, session.model.name, check, warm), callback=chosen)


def show_mcp(app: AppHost) -> None:
    from harness_tui.widgets.screens.mcp import McpScreen  # on demand

    app.push_screen(McpScreen(app.session.mcp.snapshot()))


def pick_session(app: AppHost, start: bool = False) -> None:
    """The picker of this folder's saved sessions; ``start``: nothing runs yet, and
    closing the picker starts a new session."""
    from harness_tui.core.storage.saved import list_sessions
    from harness_tui.widgets.screens.session_picker import PickerRow, SessionPicker

    session = app.session
    try:
        saved = list_sessions(session.cwd)
    except HarnessError as exc:
        app.say(str(exc), "error")
        saved = []
    rows = [
        PickerRow(info.session_id, info.label(), f"{info.session_id} {info.title}")
        for info in saved
        if info.session_id != session.id
    ]

    def chosen(key: str | None) -> None:
        if key:
            app.replace_session(key)
        elif start:
            app.pick_session = False
            app.open_session(app.session)

    app.push_screen(
        SessionPicker(
            f"Resume a session of {session.cwd}",
            rows,
            empty="No saved sessions in this folder yet (Esc starts a new one)."
            if start
            else "No other saved sessions in this folder.",
            search=functools.partial(search_rows, session.cwd, session.id),
        ),
        callback=chosen,
    )


def search_rows(cwd: Path, current: str, text: str) -> list[PickerRow]:
    """The resume picker's search: this folder's other sessions whose messages, tool
    calls or name hold ``text``, best first, each with the line that matched."""
    import time

    from harness_tui.core.storage.search import search_sessions
    from harness_tui.widgets.screens.session_picker import PickerRow

    rows: list[PickerRow] = []
    for hit in search_sessions(text, cwd):
        if hit.session_id != current:
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(hit.modified))
            rows.append(PickerRow(hit.session_id, f"{when}  {hit.label}", detail=hit.line))
    return rows


def pick_fork(app: AppHost) -> None:
    """The picker of earlier user messages, newest first: the new branch goes on from
    just before the chosen one, whose text comes back to the input to be rewritten."""
    from harness_tui.core.messages import UserMessage
    from harness_tui.core.storage.records import MessageEntry
    from harness_tui.core.storage.tree import describe
    from harness_tui.tui import sessions
    from harness_tui.widgets.screens.session_picker import PickerRow, SessionPicker

    session = app.session
    on_branch = {e.id for e in session.tree.path(session.messages.head)}
    rows = [
        PickerRow(
            entry.id,
            f"{'*' if entry.id in on_branch else ' '} {describe(entry, 90)}",
        )
        for entry in reversed(session.tree.entries.values())
        if isinstance(entry, MessageEntry) and isinstance(entry.message, UserMessage)
    ]
    if not rows:
        app.say("Nothing to fork from yet.")
        return

    def chosen(key: str | None) -> None:
        if key:
            app.call(sessions.fork(app, key, before=True))

    app.push_screen(
        SessionPicker("Fork: ask one of these again (* = on this branch)", rows),
        callback=chosen,
    )
