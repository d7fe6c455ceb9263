"""The Textual app: panes fed by the session's events, keys turned into session calls.

The app never drives the loop. A worker reads a blocking subscription of the session's
store in batches and hands each batch to the widgets; keys and the input become method
calls on the session (``submit``, ``steer``, ``follow_up``, ``cancel``, ...).
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import time
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Label

from harness_tui.core.errors import HarnessError
from harness_tui.widgets.conversation import Conversation, NoticeEntry
from harness_tui.widgets.hooks_pane import HooksPane
from harness_tui.widgets.lazy import lazy_module
from harness_tui.widgets.pending_queue import PendingQueue
from harness_tui.widgets.plan_pane import PlanPane
from harness_tui.widgets.prompt_input import PromptBox, PromptInput
from harness_tui.widgets.status_bar import CANCELLING, StatusBar
from harness_tui.widgets.tools_pane import ToolsPane

if TYPE_CHECKING:
    from harness_tui.core.events import Event
    from harness_tui.core.session.session import Session

# The core (pydantic, the session, the catalogue) loads after the first frame is painted.
ev = lazy_module("harness_tui.core.events")
log = logging.getLogger(__name__)
_DELTA_TYPES = ("TOKEN_DELTA", "THINKING_DELTA")

#: Slash commands of saved sessions and context, handled in ``app_sessions``.
SESSION_COMMANDS = frozenset({"cost", "compact", "resume", "fork", "tree", "export"})
#: Built-ins that end or replace something: with an argument they do nothing and say so.
NO_ARGUMENT_COMMANDS = frozenset({"clear", "quit", "exit"})

#: Shift+Tab cycles these; bypassPermissions only when the session started in it.
MODE_CYCLE = ("default", "acceptEdits", "plan")
QUIT_WINDOW_S = 1.0
#: The TUI's blocking subscription: small enough that the agent never runs far ahead of
#: the screen (an Esc is shown within one batch), large enough to batch deltas.
TUI_QUEUE = 384
#: While a prompt is typed, ask the session to keep its connection warm at most this often.
WARM_WHILE_TYPING_EVERY = 1.0

SLASH_COMMANDS: list[tuple[str, str]] = [
    ("help", "keys and commands"),
    ("model", "switch model: /model [name]"),
    ("mode", "permission mode: /mode [default|acceptEdits|plan|bypassPermissions]"),
    ("plan", "toggle plan mode (read-only)"),
    ("clear", "start a new conversation"),
    ("cost", "tokens and cost so far"),
    ("compact", "summarise older messages: /compact [what to keep]"),
    ("resume", "go on with a saved session: /resume [id]"),
    ("fork", "branch from an earlier message: /fork [entry id]"),
    ("tree", "the conversation's branches"),
    ("export", "write this session as Markdown and JSON: /export [path]"),
    ("hooks", "show the hooks pane"),
    ("mcp", "MCP servers: status, tools, resources, prompts; /mcp login|logout|restart NAME"),
    ("skills", "list the skills (/skill-name args runs one)"),
    ("plugins", "list the plugins, and those that failed to load"),
    ("context", "what fills the context: tokens, instructions, skills, tools"),
    ("quit", "leave harness-tui"),
]

INPUT_KEYS = [
    ("Enter", "send; while the agent works: steer (joins at the next turn)"),
    ("Alt+Enter", "queue a follow-up (runs when the current run ends)"),
    ("Shift+Enter, Ctrl+J", "new line"),
    ("Up / Down", "previous / next prompt (at the first / last line)"),
    ("Alt+Up", "take the newest queued message back to edit it"),
    ("/", "slash commands (Tab or Enter completes)"),
    ("@", "complete a file path, or an MCP resource (@server:uri)"),
]


def unknown_command(name: str, known: list[str]) -> str:
    """The answer to ``/name`` that is no command: the commands it could be the start
    of (Enter sends an ambiguous prefix as typed), else all of them."""
    candidates = [n for n in known if n.startswith(name)] if name else []
    if candidates:
        listed = ", ".join(f"/{n}" for n in candidates)
        return f"Unknown command /{name}. Did you mean {listed}? (Tab completes.)"
    return f"Unknown command /{name}. Commands: " + ", ".join(f"/{n}" for n in known)


def _patch_legacy_alt_enter() -> None:
    """Most terminals send Alt+Enter as ESC CR, which Textual reads as plain Enter.
    Read it as ``alt+enter`` so follow-ups work without the kitty keyboard protocol."""
    from textual import events
    from textual._xterm_parser import XTermParser

    original = XTermParser._sequence_to_key_events
    if getattr(original, "_harness_patched", False):
        return

    def sequence_to_key_events(self: Any, sequence: str, alt: bool = False) -> Any:
        if alt and sequence == "\r":
            return iter([events.Key("alt+enter", None)])
        return original(self, sequence, alt)

    sequence_to_key_events._harness_patched = True  # type: ignore[attr-defined]
    XTermParser._sequence_to_key_events = sequence_to_key_events  # type: ignore[method-assign]


_patch_legacy_alt_enter()


def _patch_writer_thread() -> None:
    """Textual writes the screen from a thread fed by a bounded queue. When the terminal
    hangs up, a write fails (EIO) and the thread ends; the queue then fills and the next
    write blocks the app for ever, even its exit. Instead, quit as on a SIGHUP (which
    may have been ignored: ``nohup``), and keep taking writes, dropping them: there is
    no terminal to show them on."""
    from textual.drivers._writer_thread import WriterThread

    from harness_tui.core.processes import exit_guard

    original = WriterThread.run
    if getattr(original, "_harness_patched", False):
        return

    def run(self: Any) -> None:
        try:
            original(self)
        except (OSError, ValueError):  # ValueError: the file was closed
            exit_guard.terminal_lost()
            queue = getattr(self, "_queue", None)
            while queue is not None and queue.get() is not None:
                pass

    run._harness_patched = True  # type: ignore[attr-defined]
    WriterThread.run = run  # type: ignore[method-assign]


_patch_writer_thread()


def _stylesheet(name: str) -> str:
    """Path of a stylesheet shipped in ``harness_tui.styles`` (the checkout's styles/
    folder in an editable install); found without importlib.resources, which costs
    start-up time."""
    spec = importlib.util.find_spec("harness_tui.styles")
    assert spec is not None and spec.submodule_search_locations
    return str(Path(next(iter(spec.submodule_search_locations))) / name)


def harness_commands() -> type:
    """The command palette's harness entries. A function (Textual accepts one) so that
    textual.command loads when the palette first opens, not at start-up."""
    from textual.command import Hit, Hits, Provider

    class HarnessCommands(Provider):
        """Command palette entries of harness-tui."""

        def _commands(self) -> list[tuple[str, str, Callable[[], Any]]]:
            app: HarnessApp = self.app  # type: ignore[assignment]
            entries: list[tuple[str, str, Callable[[], Any]]] = [
                ("Switch model…", "open the model picker", app.action_pick_model),
                ("Toggle side panes", "plan, tools and hooks", app.action_toggle_side),
                ("Toggle thinking", "expand or collapse all thinking", app.action_toggle_thinking),
                ("New conversation", "/clear", app.action_clear),
                ("Resume a session…", "/resume", app.action_pick_session),
                ("Fork from an earlier message…", "/fork", app.action_pick_fork),
                ("Compact the conversation", "/compact", lambda: app._slash("/compact")),
                ("Export this session", "/export", lambda: app._slash("/export")),
                ("MCP servers", "/mcp: status, tools, resources, prompts", app.action_mcp),
                ("Keys and commands", "F1", app.action_help),
            ]
            for mode in ev.PERMISSION_MODES:
                entries.append(
                    (
                        f"Mode: {mode}",
                        "permission mode",
                        lambda mode=mode: app.run_worker(app.session.set_mode(mode)),
                    )
                )
            return entries

        async def search(self, query: str) -> Hits:
            matcher = self.matcher(query)
            for title, help_text, callback in self._commands():
                score = matcher.match(title)
                if score > 0:
                    yield Hit(score, matcher.highlight(title), callback, help=help_text)

        async def discover(self) -> Hits:
            for title, help_text, callback in self._commands():
                yield Hit(1.0, title, callback, help=help_text)

    return HarnessCommands


class HarnessApp(App[None]):
    """harness-tui's interactive face. Give it a session that has not been entered."""

    CSS_PATH = _stylesheet("app.tcss")
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
        Binding("f2", "focus_next_pane", "Next pane", show=False),
        Binding("f3", "toggle_pane('plan')", "Plan pane", show=False),
        Binding("f4", "toggle_pane('tools')", "Tools pane", show=False),
        Binding("f5", "toggle_pane('hooks')", "Hooks pane", show=False),
        Binding("ctrl+right", "resize_side(-4)", "Wider conversation", show=False),
        Binding("ctrl+left", "resize_side(4)", "Wider panes", show=False),
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
        self._last_ctrl_c = 0.0
        #: Batches whose display raised (each is logged); tests expect none.
        self.display_errors = 0
        self._permission_screens: dict[str, Screen[Any]] = {}
        self._side_width = 38

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
        self._side_layout()
        self._quit_on_signals()
        if not self.connect:
            return
        if self.session is not None and self.pick_session:
            self.action_pick_session(start=True)
        elif self.session is not None:
            self._open(self.session)
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
        self._start(session)

    def on_resize(self) -> None:
        self._side_layout()

    def _side_layout(self) -> None:
        side = self.query_one("#side")
        narrow = self.size.width < 100
        side.set_class(narrow, "-narrow")
        side.styles.width = self._side_width

    @work(group="session-swap", exclusive=True, exit_on_error=False)
    async def _open(self, session: Session) -> None:
        """Start a session made before the app: a resumed one shows its conversation."""
        await self._show_branch(session)
        self._start(session)

    def _start(self, session: Session) -> None:
        self._session_ready.set()
        subscription = session.store.subscribe("tui", queue_size=TUI_QUEUE)
        self._consume(session, subscription)
        self._host(session)
        if self.serve is not None:
            self._mirror(session, *self.serve)

    @work(group="mirror", exclusive=True, exit_on_error=False)
    async def _mirror(self, session: Session, host: str, port: int) -> None:
        """Serve this session to browsers (``--serve``) in the app's own event loop."""
        try:
            from harness_tui.web import WebServerError, serve_session
        except ImportError as exc:
            self._say(
                f"--serve needs the [web] extra ({exc.name} is not installed): "
                "pip install 'harness-tui[web]'",
                "error",
            )
            return
        import anyio

        try:
            async with anyio.create_task_group() as group:
                address = await group.start(partial(serve_session, session, host=host, port=port))
                self.mirror_url = address.url
                warning = " (reachable from other machines)" if address.exposed else ""
                self._say(f"Web mirror{warning}: {address.url}")
        except WebServerError as exc:
            self._say(str(exc), "error")

    @work(group="session", exit_on_error=False)
    async def _host(self, session: Session) -> None:
        async with session:
            await session.wait_close_requested()

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
        """Show a batch of events (the worker's path, and the snapshot tests')."""
        events = list(events)
        await self.query_one(Conversation).apply_batch(events)
        panes = (
            self.query_one(StatusBar),
            self.query_one(PendingQueue),
            self.query_one(PlanPane),
            self.query_one(ToolsPane),
            self.query_one(HooksPane),
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
        if isinstance(event, ev.PermissionRequested):
            from harness_tui.widgets.screens.permission import PermissionDialog  # on demand

            screen = PermissionDialog(event)
            self._permission_screens[event.request_id] = screen
            self.push_screen(
                screen, callback=lambda answer, request=event: self._answered(request, answer)
            )
        elif isinstance(event, ev.PermissionResolved):
            screen = self._permission_screens.pop(event.request_id, None)
            if screen is not None and screen.is_current:
                self.pop_screen()  # answered elsewhere, or the run ended
        elif isinstance(event, ev.SteeringWithdrawn):
            self.query_one(PromptInput).put_back(event.text)
        elif isinstance(event, ev.TrustRequested):
            from harness_tui.widgets.screens.trust import TrustDialog  # on demand

            self.push_screen(
                TrustDialog(event.folder, list(event.found)),
                callback=lambda trusted: self._call(self.session.resolve_trust(bool(trusted))),
            )
        elif isinstance(event, ev.RunCompleted) and event.is_error:
            self.bell()
        elif isinstance(event, ev.SamplingRequested | ev.ElicitationRequested):
            self._ask_for_mcp(event)
        elif isinstance(event, ev.SamplingResolved | ev.ElicitationResolved):
            screen = self._permission_screens.pop(event.request_id, None)
            if screen is not None and screen.is_current:
                self.pop_screen()  # withdrawn (the run was cancelled)
        elif isinstance(event, ev.SessionEnded):
            self._permission_screens.clear()

    def _answered(
        self, request: ev.PermissionRequested, answer: tuple[str, str | None] | None
    ) -> None:
        if self._permission_screens.pop(request.request_id, None) is None or answer is None:
            return
        decision, reason = answer
        self._call(self.session.resolve_permission(request.request_id, decision, reason))

    def _ask_for_mcp(self, event: ev.SamplingRequested | ev.ElicitationRequested) -> None:
        """An MCP server's question: a sampling approval or an elicitation form."""
        request_id = event.request_id
        session = self.session

        def answered(answer: Any) -> None:
            if self._permission_screens.pop(request_id, None) is None or answer is None:
                return
            if isinstance(event, ev.SamplingRequested):
                self._call(session.resolve_sampling(request_id, *answer))
            else:
                self._call(session.resolve_elicitation(request_id, *answer))

        if isinstance(event, ev.SamplingRequested):
            from harness_tui.widgets.screens.sampling import SamplingDialog  # on demand

            screen: Screen[Any] = SamplingDialog(event)
        else:
            schema = event.requested_schema
            from harness_tui.core.mcp.features.questions import check_content
            from harness_tui.widgets.screens.elicitation import ElicitationDialog  # on demand

            screen = ElicitationDialog(event, lambda content: check_content(content, schema))
        self._permission_screens[request_id] = screen
        self.push_screen(screen, callback=answered)

    # --- input -> session ----------------------------------------------------------

    @on(PromptInput.Submitted)
    async def _submitted(self, message: PromptInput.Submitted) -> None:
        await self._session_ready.wait()  # typed before the session was up: it goes in now
        text = message.text.strip()
        if text.startswith("/") and not message.follow_up:
            self._slash(text)
            return
        session = self.session
        if session.running:
            call = session.follow_up(text) if message.follow_up else session.steer(text)
        else:
            call = session.submit(text)
        self._call(call)

    @on(PromptInput.Changed)
    def _typing(self) -> None:
        """Keep the model's connection warm while a prompt is typed (the provider sends
        its preconnect again only when the last one may have idled out)."""
        session = self.session
        now = time.monotonic()
        if session is None or not session.warm_up or session.running:
            return
        if now - self._warmed_at >= WARM_WHILE_TYPING_EVERY:
            self._warmed_at = now
            session.warm_soon()

    @on(PromptInput.PullBack)
    def _pull_back(self) -> None:
        if self.session is not None:
            self._call(self.session.pull_back())

    @on(ToolsPane.Selected)
    def _jump_to_card(self, message: ToolsPane.Selected) -> None:
        card = self.query_one(Conversation).card(message.tool_call_id)
        if card is not None:
            card.expanded = True
            self.query_one(Conversation).scroll_to_widget(card, animate=False)
            card.focus()

    @work(group="commands", exit_on_error=False)
    async def _mcp_prompt(self, command: str, argument: str) -> None:
        """``/mcp__server__prompt args``: the server's prompt, sent as a message."""
        try:
            text = await self.session.mcp.render_prompt(command, argument)
            session = self.session
            await (session.steer(text) if session.running else session.submit(text))
        except HarnessError as exc:
            self._say(str(exc), "error")

    def _mcp_completions(self) -> Any:
        return self.session.mcp.completions if self.session is not None else None

    def _mcp_command(self, argument: str) -> None:
        """``/mcp`` shows the servers; ``/mcp restart|login|logout NAME`` acts on one."""
        verb, _, server = argument.partition(" ")
        server = server.strip()
        if not verb:
            self.action_mcp()
        elif verb == "paste" and server:  # here: the address a far browser ended on
            try:
                name = self.session.mcp.paste_login(server)
            except HarnessError as exc:
                self._say(str(exc), "error")
            else:
                self._say(f"Address taken: finishing the login to MCP server {name}…")
        elif verb in ("restart", "login", "logout") and server:
            if server not in self.session.mcp.connections:
                known = ", ".join(self.session.mcp.connections) or "none"
                self._say(f"No MCP server named {server} (servers: {known}).", "error")
                return
            if verb == "restart":
                self._say(f"Restarting MCP server {server}…")
            # A login's page address arrives as a notice (for a browser on another machine).
            self._call(getattr(self.session.mcp, verb)(server))
        else:
            self._say(
                "Use /mcp to see the MCP servers, /mcp restart NAME to restart one, "
                "/mcp login NAME or /mcp logout NAME for a remote server's OAuth login "
                "(/mcp paste ADDRESS finishes one whose browser is on another machine).",
                "error",
            )

    @work(group="commands", exit_on_error=False)
    async def _call(self, call: Any) -> None:
        """Run one session command; its refusal (bad input) becomes a visible note."""
        try:
            await call
        except HarnessError as exc:
            self._say(str(exc), "error")

    def _say(self, text: str, level: str = "info") -> None:
        self.notify(text, severity="error" if level == "error" else "information")
        self.query_one(Conversation).mount(
            NoticeEntry(text, "error" if level == "error" else "info")
        )

    def _slash(self, text: str) -> None:
        name, _, argument = text[1:].partition(" ")
        argument = argument.strip()
        if argument and name in NO_ARGUMENT_COMMANDS:
            # "/clear this bug" was meant as a prompt more likely than as /clear.
            self._say(
                f"/{name} takes no argument, so nothing was done. To send this to the "
                f"model, write it so that it does not start with /{name}.",
                "error",
            )
            return
        if name == "help":
            self.action_help()
        elif name == "model":
            if argument:
                self._call(self.session.set_model(argument))
            else:
                self.action_pick_model()
        elif name == "mode":
            if argument:
                self._call(self.session.set_mode(argument))
            else:
                self._say(
                    f"Mode: {self.session.mode}. Use /mode "
                    + "|".join(ev.PERMISSION_MODES)
                    + ", or Shift+Tab."
                )
        elif name == "plan":
            self._call(self.session.set_mode("default" if self.session.mode == "plan" else "plan"))
        elif name == "clear":
            self.action_clear()
        elif name in SESSION_COMMANDS:
            self._session_command(name, argument)
        elif name == "hooks":
            self.action_toggle_pane("hooks", show=True)
        elif name == "mcp":
            self._mcp_command(argument)
        elif name.startswith("mcp__"):
            self._mcp_prompt(name, argument)
        elif name in ("quit", "exit"):
            self.run_worker(self.action_quit())
        elif name in ("skills", "plugins", "context"):
            self._list(name)
        elif self.session.extensions.has_command(name):
            self._call(self.session.invoke_command(name, argument))
        else:
            self._say(unknown_command(name, [n for n, _ in self.slash_commands()]), "error")

    def slash_commands(self) -> list[tuple[str, str]]:
        """Built-in commands, then the session's custom commands, skills and MCP prompts
        (only the built-ins until the session is up)."""
        session = self.session
        if session is None:
            return SLASH_COMMANDS
        builtin = {name for name, _ in SLASH_COMMANDS}
        custom = [e for e in session.extensions.slash_entries() if e[0] not in builtin]
        return SLASH_COMMANDS + custom + session.mcp.prompt_commands()

    def _list(self, what: str) -> None:
        """``/skills``, ``/plugins``, ``/context``: a listing in the conversation."""
        extensions = self.session.extensions
        if what == "skills":
            text = extensions.describe_skills()
        elif what == "plugins":
            text = extensions.describe_plugins()
        else:
            session = self.session
            from harness_tui.tui import sessions as app_sessions

            listing = extensions.describe_context(session.system_prompt, session.tool_specs())
            text = f"{app_sessions.context_text(session)}\n{listing}"
        self.query_one(Conversation).mount(NoticeEntry(text, "info"))

    # --- actions -------------------------------------------------------------------

    def action_cancel(self) -> None:
        if self.session is not None and self.session.running:
            self.query_one(StatusBar).state = CANCELLING
            self._call(self.session.cancel())

    def action_ctrl_c(self) -> None:
        """Ctrl+C, in order: copy the input's selection; cancel a run; clear the input
        (Up brings the text back); and twice within a moment, quit."""
        from textual.widgets.text_area import Selection

        prompt = self.query_one(PromptInput)
        if prompt.selected_text:
            self.copy_to_clipboard(prompt.selected_text)
            prompt.selection = Selection.cursor(prompt.selection.end)
            self.notify("Copied.", timeout=1.5)
            return
        if self.session is not None and self.session.running:
            self.action_cancel()
            return
        if prompt.discard_draft():
            self._last_ctrl_c = 0.0
            self.notify("Input cleared (Up brings it back). Ctrl+C twice quits.", timeout=3)
            return
        now = time.monotonic()
        if now - self._last_ctrl_c <= QUIT_WINDOW_S:
            self.run_worker(self.action_quit())
        else:
            self._last_ctrl_c = now
            self.notify("Press Ctrl+C again to quit.", timeout=QUIT_WINDOW_S)

    def action_cycle_mode(self) -> None:
        if self.session is None:
            return
        cycle = MODE_CYCLE + (("bypassPermissions",) if self._bypass_allowed else ())
        current = self.session.mode
        following = cycle[(cycle.index(current) + 1) % len(cycle)] if current in cycle else cycle[0]
        self._call(self.session.set_mode(following))

    @property
    def _bypass_allowed(self) -> bool:
        """Shift+Tab reaches bypassPermissions only in a session started in it."""
        return self.session.started_mode == "bypassPermissions"

    def action_help(self) -> None:
        keys = [
            (b.key_display or b.key, b.description)
            for b in self.BINDINGS
            if isinstance(b, Binding) and b.description
        ]
        keys.append(("Ctrl+Q", "quit"))
        slash = [(f"/{name}", about) for name, about in self.slash_commands()]
        from harness_tui.widgets.screens.help import HelpScreen  # on demand

        self.push_screen(
            HelpScreen([("Keys", keys), ("Input", INPUT_KEYS), ("Slash commands", slash)])
        )

    def action_pick_model(self) -> None:
        from harness_tui.core.providers.models import available_models, resolve_model
        from harness_tui.widgets.screens.model_picker import ModelPicker, ModelRow

        if self.session is None:
            return
        rows = [
            ModelRow(m.name, m.provider, m.context_window, m.price, m.key_present, m.note)
            for m in available_models(self.session.cwd, self.session.settings)
        ]

        def check(name: str) -> str | None:
            try:
                resolve_model(name, cwd=self.session.cwd, settings=self.session.settings)
            except HarnessError as exc:
                return str(exc)
            return None

        def chosen(name: str | None) -> None:
            if name:
                self._call(self.session.set_model(name))
                if self.session.running:
                    self.notify(f"Switching to {name} at the next turn.")

        session = self.session
        warm = session.warm_soon if session.warm_up else None
        self.push_screen(ModelPicker(rows, session.model.name, check, warm), callback=chosen)

    def action_mcp(self) -> None:
        from harness_tui.widgets.screens.mcp import McpScreen  # on demand

        self.push_screen(McpScreen(self.session.mcp.snapshot()))

    def action_toggle_side(self) -> None:
        side = self.query_one("#side")
        side.toggle_class("-shown" if side.has_class("-narrow") else "-hidden")

    def action_toggle_pane(self, name: str, show: bool | None = None) -> None:
        side = self.query_one("#side")
        side.remove_class("-hidden")
        side.add_class("-shown")
        for widget in (self.query_one(f"#{name}"), self.query_one(f"#{name}-title")):
            if show is None:
                widget.toggle_class("-hidden")
            else:
                widget.set_class(not show, "-hidden")

    def action_toggle_thinking(self) -> None:
        self.query_one(Conversation).toggle_thinking()

    def action_resize_side(self, delta: int) -> None:
        self._side_width = max(20, min(self.size.width - 30, self._side_width + delta))
        self._side_layout()

    def action_focus_next_pane(self) -> None:
        order = [self.query_one(Conversation), self.query_one("#side"), self.query_one(PromptInput)]
        focused = self.focused
        index = next(
            (
                i
                for i, w in enumerate(order)
                if focused is not None and (focused is w or w in focused.ancestors)
            ),
            -1,
        )
        order[(index + 1) % len(order)].focus()

    def action_clear(self) -> None:
        self._replace_session()

    @work(group="session-swap", exclusive=True, exit_on_error=False)
    async def _replace_session(self, resume: str | None = None) -> None:
        """Go on with a new session, or with the saved session ``resume``."""
        from anyio import to_thread

        from harness_tui.core.session.session import Session
        from harness_tui.core.storage.saved import load_session

        old = self.session
        if old is None:
            return
        options: dict[str, Any] = {
            "trusted": old.trusted,
            "settings": old.settings,
            "cwd": old.cwd,
            "max_turns": old.max_turns,
            "ask_policy": old.permissions.policy,
            "warm": old.warm_up,
        }
        try:
            if resume is None:
                fresh = Session(model=old.model, mode=old.mode, **options)
            else:
                saved = await to_thread.run_sync(load_session, resume)
                fresh = Session.resume(saved, **options)
        except HarnessError as exc:
            self._say(str(exc), "error")
            if self.pick_session:  # the picker at start-up was the only way in
                self.pick_session = False
                self._start(old)
            return
        self.pick_session = False
        await old.cancel()
        self.session = fresh
        old.request_close()
        if old.store.last_seq:  # it was entered: its file is closed (and unlocked)
            await old.wait_closed()  # before another session opens it
        await self.query_one(Conversation).clear()
        await self._show_branch(fresh)
        self._start(fresh)
        if resume is None and old.file is not None and old.messages:
            # /clear is undoable: the old conversation stays saved.
            self._say(f"New conversation. /resume {old.id} brings back the previous one.")

    # --- saved sessions: resume, fork, compact, export (see app_sessions) ------------

    def _session_command(self, name: str, argument: str) -> None:
        from harness_tui.tui import sessions as app_sessions

        app_sessions.run(self, name, argument)

    async def _show_branch(self, session: Session) -> None:
        """Show the conversation a resumed or forked session starts from."""
        from harness_tui.tui import sessions as app_sessions

        events = app_sessions.branch_events(session)
        if events:
            await self.apply_events(events)
            self.query_one(StatusBar).show_idle()  # a transcript, not a run in progress

    def action_pick_session(self, start: bool = False) -> None:
        """Offer the saved sessions of this folder; ``start``: the app's first screen."""
        from harness_tui.tui import sessions as app_sessions

        if self.session is not None:
            app_sessions.pick_session(self, start)

    def action_pick_fork(self) -> None:
        from harness_tui.tui import sessions as app_sessions

        if self.session is not None:
            app_sessions.pick_fork(self)

    def _quit_on_signals(self) -> None:
        """A closed terminal (SIGHUP), a ``kill`` (SIGTERM) or SIGINT quits as Ctrl+C
        twice does: the run is cancelled, its processes end, the session file is
        closed. Without this the process would die on the spot and leave tool processes
        (in groups of their own) running. The handlers are the exit guard's: they work
        even when the event loop is stuck, and bound the time to exit."""
        from harness_tui.core.processes import exit_guard

        self._restore_signals = exit_guard.watch_signals(self._signalled)
        exit_guard.tui_started()

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
        self.exit()


def _nothing() -> None:
    pass


def tune_gc() -> None:
    """What start-up created (Textual, our modules) lives as long as the process: freeze
    it out of the collector's passes, and collect young objects less often. A stream of
    token events allocates fast; this gave 10-15% in benchmark B2."""
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)


def run_tui(
    session: Session | Callable[[], Session],
    serve: tuple[str, int] | None = None,
    *,
    pick_session: bool = False,
) -> int:
    """Run the TUI; the exit code (2 when the session could not be made)."""
    tune_gc()
    app = HarnessApp(session, serve=serve, pick_session=pick_session)
    app.run()
    return app.return_code or 0


__all__ = ["HarnessApp", "run_tui"]
