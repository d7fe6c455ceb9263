"""The Textual app: panes fed by the session's events, keys turned into session calls.

The app never drives the loop. A worker reads a blocking subscription of the session's
store in batches and hands each batch to the widgets; keys and the input become method
calls on the session (``submit``, ``steer``, ``follow_up``, ``cancel``, ...).

What is not layout, events or keys lives beside it, each part given the app as an
``AppHost`` (``host``): the slash commands in ``commands``, the modal screens in
``dialogs``, the command palette in ``palette``, session switching in ``sessions``,
rewind in ``rewind``, the keys that mean several things (Esc, Ctrl+C) in ``keys``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Footer, Label

from harness_tui.core.errors import HarnessError
from harness_tui.tui import (
    attach,
    clipboard,
    commands,
    dialogs,
    inline,
    keys,
    notify,
    panes,
    rewind,
    status_line,
)
from harness_tui.tui.palette import harness_commands
from harness_tui.tui.terminal import (
    IdleCollector,
    patch_textual,
    quit_on_signals,
    stylesheet,
    tune_gc,
)
from harness_tui.widgets.conversation import Conversation, NoticeEntry
from harness_tui.widgets.following import SCROLL_KEYS, scroll_key
from harness_tui.widgets.hooks_pane import HooksPane
from harness_tui.widgets.lazy import lazy_module
from harness_tui.widgets.pending_queue import PendingQueue
from harness_tui.widgets.plan_pane import PlanPane
from harness_tui.widgets.prompt_input import PromptBox, PromptInput
from harness_tui.widgets.status_bar import StatusBar
from harness_tui.widgets.tasks_pane import TasksPane
from harness_tui.widgets.thumbnails import graphics_protocol
from harness_tui.widgets.tools_pane import ToolsPane

if TYPE_CHECKING:
    from harness_tui.core.events import Event
    from harness_tui.core.session.session import Session

# The core (pydantic, the session, the catalogue) loads after the first frame is painted.
ev = lazy_module("harness_tui.core.events")
log = logging.getLogger(__name__)
_DELTA_TYPES = ("TOKEN_DELTA", "THINKING_DELTA")

#: The TUI's blocking subscription: small enough that the agent never runs far ahead of
#: the screen (an Esc is shown within one batch), large enough to batch deltas.
TUI_QUEUE = 384
#: While a prompt is typed, ask the session to keep its connection warm at most this often.
WARM_WHILE_TYPING_EVERY = 1.0

patch_textual()


class HarnessApp(App[None]):
    """harness-tui's interactive face. Give it a session that has not been entered."""

    CSS_PATH = stylesheet("app.tcss")
    TITLE = "harness-tui"
    COMMANDS = App.COMMANDS | {harness_commands}

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding(
            "ctrl+c", "ctrl_c", "Copy · cancel · clear · twice: quit", priority=True, show=False
        ),
        Binding("shift+tab", "cycle_mode", "Mode", priority=True),
        Binding("f1", "help", "Help"),
        Binding("ctrl+b", "toggle_side", "Panes"),
        Binding("ctrl+t", "toggle_thinking", "Thinking"),
        *panes.BINDINGS,
        *clipboard.BINDINGS,
        *SCROLL_KEYS,
    ]

    def __init__(
        self,
        session: Session | Callable[[], Session],
        *,
        cwd: Path | None = None,
        frozen_clock: bool = False,
        connect: bool = True,
        serve: tuple[str, int] | None = None,
        pick_session: bool = False,
    ) -> None:
        """``session``: a session not yet entered, or a function that makes one; the app
        calls it after painting its first frame, so start-up never waits for the core.
        ``frozen_clock`` stops spinners and clocks (snapshots); ``connect=False`` shows
        only what ``apply_events`` is given (snapshots of canned events);
        ``pick_session`` first offers the saved sessions of the folder (``--resume``)."""
        super().__init__()
        factory = None if hasattr(session, "store") else session
        self.session: Session = None if factory else session  # type: ignore[assignment]
        self._factory: Callable[[], Session] | None = factory  # type: ignore[assignment]
        self._cwd = cwd or (Path.cwd() if factory else self.session.cwd)
        self._session_ready = asyncio.Event()
        self._warmed_at = 0.0
        self.frozen_clock = frozen_clock
        self.connect = connect
        self.pick_session = pick_session
        #: Puts back the signal handlers this app replaced (when it unmounts).
        self._restore_signals: Callable[[], None] = _nothing
        #: (host, port) to mirror the session to browsers, and the URL once it listens.
        self.serve = serve
        self.mirror_url: str | None = None
        self.background: tuple[str, str] | None = None  # see ``run_tui``
        self._keys = keys.TwiceKeys(self)  # Esc and Ctrl+C: when last pressed
        #: Batches whose display raised (each is logged); tests expect none.
        self.display_errors = 0
        self._questions = dialogs.Questions(self)
        self._notifier, self.status_line = notify.Notifier(self), status_line.StatusLine(self)
        self._side_width, self._idle = 38, IdleCollector(self)
        #: Finished entries on their way to the terminal's scrollback (inline mode).
        self.scrollback = inline.Scrollback()

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: Any = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """A toast. Plain text unless ``markup`` is asked for: toasts repeat names from
        files, servers and the input ("unknown model [name]"), which must show as they
        are and never become markup (a ``[@click=...]`` would be a button)."""
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    # --- layout -----------------------------------------------------------------

    def compose(self) -> ComposeResult:
        clock = (lambda: 0.0) if self.frozen_clock else time.monotonic
        with Horizontal(id="main"):
            yield Conversation(id="conversation", frozen_clock=self.frozen_clock)
            with VerticalScroll(id="side"):
                yield Label("Plan", classes="pane-title", id="plan-title")
                yield PlanPane(id="plan")
                yield Label("Tools", classes="pane-title", id="tools-title")
                yield ToolsPane(id="tools")
                yield Label("Hooks", classes="pane-title", id="hooks-title")
                yield HooksPane(id="hooks")
                yield Label("Tasks  (F8, x stops)", classes="pane-title -hidden", id="tasks-title")
                yield TasksPane(now=(lambda: 0.0) if self.frozen_clock else time.time, id="tasks")
        yield PendingQueue(id="pending")
        yield PromptBox(self._cwd, self.slash_commands, self._mcp_completions, id="prompt-box")
        session = self.session
        yield StatusBar(
            clock=clock,
            model=session.model.name if session else "starting…",
            mode=session.mode if session else "default",
            id="status",
        )
        yield Footer()

    def on_mount(self) -> None:
        prompt = self.query_one(PromptInput)
        if self.frozen_clock:
            prompt.cursor_blink = False
        prompt.focus()
        conversation = self.query_one(Conversation)
        conversation.graphics = graphics_protocol(headless=self.is_headless)
        conversation.find_image = lambda sha: self.session.images.find(sha)
        panes.lay_out(self, self._side_width)
        if self.is_inline:
            self.run_worker(inline.attach(self, self.query_one(Conversation), self.scrollback))
        self._restore_signals = quit_on_signals(self._signalled)
        if not self.connect:
            return
        if self.session is not None and self.pick_session:
            self.action_pick_session(start=True)
        elif self.session is not None:
            self.open_session(self.session)
        else:
            self.call_after_refresh(self._create_session)

    @work(group="session-start", exit_on_error=False)
    async def _create_session(self) -> None:
        """Make the session once the first frame is on screen (imports the core)."""
        assert self._factory is not None
        try:
            session = self._factory()
        except HarnessError as exc:
            self.exit(return_code=2, message=f"harness-tui: error: {exc}")
            return
        self.session = session
        self.start_session(session)

    def on_resize(self) -> None:
        panes.lay_out(self, self._side_width)

    def _display(self, screen: Any, renderable: Any) -> None:
        """Each frame; inline, the finished entries queued go above it (``inline``)."""
        super()._display(screen, self.scrollback.wrap(renderable, self.INLINE_PADDING))

    @work(group="session-swap", exclusive=True, exit_on_error=False)
    async def open_session(self, session: Session) -> None:
        """Start a session made before the app: a resumed one shows its conversation."""
        from harness_tui.tui import sessions  # the core: loaded after the first frame

        await sessions.show_branch(self, session)
        self.start_session(session)

    def start_session(self, session: Session) -> None:
        self._session_ready.set()
        self.status_line.start(session)
        subscription = session.store.subscribe("tui", queue_size=TUI_QUEUE)
        self._consume(session, subscription)
        self._host(session)
        if self.serve is not None:
            self._mirror(session, *self.serve)

    @work(group="mirror", exclusive=True, exit_on_error=False)
    async def _mirror(self, session: Session, host: str, port: int) -> None:
        """Serve this session to browsers (``--serve``) in the app's own event loop."""
        from harness_tui.tui import sessions

        await sessions.mirror(self, session, host, port)

    @work(group="session", exit_on_error=False)
    async def _host(self, session: Session) -> None:
        from harness_tui.tui import sessions

        held, self.background = self.background, None  # its prompt goes once
        await sessions.host(self, session, held)

    @work(group="events")
    async def _consume(self, session: Session, subscription: Any) -> None:
        async for batch in session.store.stream_batches(subscription):
            if session is not self.session:
                return
            try:
                await self.apply_events(batch)  # type: ignore[arg-type]
            except Exception as exc:  # a display bug must not end the session's view
                self.display_errors += 1
                log.exception("showing events failed")
                self.notify(
                    f"Could not show an update: {type(exc).__name__}: {exc} (details in the log)",
                    severity="error",
                )

    # --- events -> widgets -------------------------------------------------------

    async def apply_events(self, events: Iterable[Event]) -> None:
        """Show a batch of events (the worker's path, and the snapshot tests'); at a
        rewind of the conversation, the branch it went back to (``rewind``)."""
        await rewind.show_batch(self, list(events), self._show)

    async def _show(self, events: list[Event]) -> None:
        await self.query_one(Conversation).apply_batch(events)
        panes = (
            self.query_one(StatusBar),
            self.query_one(PendingQueue),
            self.query_one(PlanPane),
            self.query_one(ToolsPane),
            self.query_one(HooksPane),
            self.query_one(TasksPane),
        )
        in_deltas = False
        for event in events:
            if event.type in _DELTA_TYPES:  # the bulk of a batch; only the status cares
                if not in_deltas:  # told once per run of deltas, where it happens
                    panes[0].streaming()  # type: ignore[attr-defined]
                in_deltas = True
                continue
            in_deltas = False
            for pane in panes:
                pane.apply(event)  # type: ignore[attr-defined]
            self._on_event(event)

    async def settle(self) -> None:
        """Wait until every streamed fragment is on screen."""
        await self.query_one(Conversation).settle()

    def _on_event(self, event: Event) -> None:
        self._notifier.on_event(event)  # an ended run, a question: told when not looking
        self.status_line.on_event(event)
        self._idle.on_event(event)  # a full collection when nothing happens
        if isinstance(event, ev.SteeringWithdrawn):
            self.query_one(PromptInput).put_back(event.text, event.images)
        else:  # the session's questions: permission, trust, an MCP server's
            self._questions.on_event(event)

    # --- input -> session ----------------------------------------------------------

    @on(PromptInput.Submitted)
    async def _submitted(self, message: PromptInput.Submitted) -> None:
        await self._session_ready.wait()  # typed before the session was up: it goes in now
        attach.send(self, message)

    @on(PromptInput.PasteImage)
    def _paste_image(self) -> None:
        self._when_ready(attach.paste_from_clipboard, self)

    @on(PromptInput.AttachFile)
    def _attach_file(self, message: PromptInput.AttachFile) -> None:
        self._when_ready(attach.attach_file, self, message.path)

    @work(group="attach", exit_on_error=False)
    async def _when_ready(self, job: Callable[..., Any], *args: Any) -> None:
        await self._session_ready.wait()
        await job(*args)

    @on(PromptInput.Changed)
    def _typing(self) -> None:
        """Keep the model's connection warm while a prompt is typed (the provider sends
        its preconnect again only when the last one may have idled out)."""
        session, now = self.session, time.monotonic()
        self._idle.typed()
        if session is None or not session.warm_up or session.running:
            return
        if now - self._warmed_at >= WARM_WHILE_TYPING_EVERY:
            self._warmed_at = now
            session.warm_soon()

    @on(PromptInput.PullBack)
    def _pull_back(self) -> None:
        if self.session is not None:
            self.call(self.session.pull_back())

    @on(ToolsPane.Selected)
    def _jump_to_card(self, message: ToolsPane.Selected) -> None:
        card = self.query_one(Conversation).card(message.tool_call_id)
        if card is not None:
            card.expanded = True
            self.query_one(Conversation).scroll_to_widget(card, animate=False)
            card.focus()

    def _mcp_completions(self) -> Any:
        return self.session.mcp.completions if self.session is not None else None

    # --- what the parts ask for (see ``host.AppHost``) -------------------------------

    @work(group="commands", exit_on_error=False)
    async def call(self, call: Any) -> None:
        """Run one session command; its refusal (bad input) becomes a visible note."""
        try:
            await call
        except HarnessError as exc:
            self.say(str(exc), "error")

    def say(self, text: str, level: str = "info") -> None:
        self.notify(text, severity="error" if level == "error" else "information")
        self.query_one(Conversation).add_note(
            NoticeEntry(text, "error" if level == "error" else "info")
        )

    def run_slash(self, text: str) -> None:
        commands.run(self, text)

    def slash_commands(self) -> list[tuple[str, str]]:
        """Built-in commands, then the session's custom commands, skills and MCP prompts
        (only the built-ins until the session is up)."""
        return commands.listing(self.session)

    @work(group="session-swap", exclusive=True, exit_on_error=False)
    async def replace_session(self, resume: str | None = None) -> None:
        """Go on with a new session, or with the saved session ``resume``."""
        from harness_tui.tui import sessions

        await sessions.replace(self, resume)

    # --- actions -------------------------------------------------------------------

    def action_cancel(self) -> None:
        self._keys.escape()  # cancel a run; idle, twice on an empty input: /rewind

    def action_ctrl_c(self) -> None:
        self._keys.ctrl_c()  # copy, cancel a run, clear the input; twice: quit

    def on_text_selected(self) -> None:
        clipboard.copy_released_selection(self)

    def action_copy(self, what: str) -> None:
        clipboard.copy_named(self, what)

    def action_scroll(self, where: str) -> None:
        scroll_key(self, self.query_one(Conversation), where)

    def action_cycle_mode(self) -> None:
        if self.session is not None:
            commands.cycle_mode(self)

    def action_help(self) -> None:
        dialogs.show_help(self)

    def action_pick_model(self) -> None:
        dialogs.pick_model(self)

    def action_mcp(self) -> None:
        dialogs.show_mcp(self)

    def action_toggle_side(self) -> None:
        panes.toggle_side(self)

    async def action_tui(self, mode: str = "") -> None:
        """``/tui``: inline or full-screen (see ``inline.set_mode``)."""
        try:
            said = await inline.set_mode(self, self.query_one(Conversation), self.scrollback, mode)
        except ValueError as exc:
            said = str(exc)
        panes.lay_out(self, self._side_width)
        self.notify(said)

    def action_toggle_pane(self, name: str, show: bool | None = None) -> None:
        panes.toggle_pane(self, name, show)

    def action_toggle_thinking(self) -> None:
        self.query_one(Conversation).toggle_thinking()

    def action_resize_side(self, delta: int) -> None:
        self._side_width = max(20, min(self.size.width - 30, self._side_width + delta))
        panes.lay_out(self, self._side_width)

    def action_focus_next_pane(self) -> None:
        panes.focus_next(self)

    def action_clear(self) -> None:
        self.replace_session()

    def action_pick_session(self, start: bool = False) -> None:
        """Offer the saved sessions of this folder; ``start``: the app's first screen."""
        if self.session is not None:
            dialogs.pick_session(self, start)

    def action_pick_fork(self) -> None:
        if self.session is not None:
            dialogs.pick_fork(self)

    def on_unmount(self) -> None:
        # The loop may outlive the app (tests): the signals mean what they did before.
        self._restore_signals()
        self._restore_signals = _nothing

    def _signalled(self, number: int = 0) -> None:
        self.run_worker(self.action_quit(), group="quit", exclusive=True, exit_on_error=False)

    async def action_quit(self) -> None:
        """Close the session (cancelling a run, ending its processes), then leave."""
        from harness_tui.core.processes import exit_guard

        exit_guard.begin_shutdown("closing the session")
        session = self.session
        if session is not None:
            session.request_close()
            if session.is_open:
                await session.wait_closed()
        if self.is_inline:
            await inline.leave(self, self.query_one(Conversation), self.scrollback)
        self.exit()


def _nothing() -> None:
    pass


def run_tui(
    session: Session | Callable[[], Session],
    serve: tuple[str, int] | None = None,
    *,
    pick_session: bool = False,
    inline_mode: bool = False,
    background: tuple[str, str] | None = None,
) -> int:
    """Run the TUI (``inline_mode``: inline); the exit code (2: no session could be made);
    ``background``: in a background holder, its socket and a prompt to send first."""
    tune_gc()
    app = HarnessApp(session, serve=serve, pick_session=pick_session)
    app.background = background
    # Inline, the mouse stays the terminal's: its wheel scrolls the scrollback and a drag
    # selects there, as in any shell output.
    app.run(inline=inline_mode, mouse=not inline_mode)
    return app.return_code or 0


__all__ = ["HarnessApp", "run_tui"]
