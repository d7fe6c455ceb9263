"""Sessions: one conversation each, with its own history, event log, queue and runs.

Commands go in as method calls (``submit``, ``steer``, ``follow_up``, ``pull_back``,
``cancel``, ``set_model``, ``set_mode``, ``resolve_permission``); facts come out as
events in ``session.store``. Sessions share no state, so any number run side by side.

    async with Session(model="demo") as session:
        async for event in session.run("What is in this folder?"):
            print(event.type)
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import AsyncGenerator, Iterable, Sequence
from contextlib import aclosing
from pathlib import Path
from typing import Any

import anyio

from harness_tui import __version__
from harness_tui.core.config.settings import Settings, load_settings, restrictions_of_project
from harness_tui.core.config.trust import TrustStore, project_config_found
from harness_tui.core.errors import HarnessError, SessionBusyError
from harness_tui.core.event_store import DEFAULT_HISTORY_LIMIT, EventStore
from harness_tui.core.events import (
    PERMISSION_MODES,
    RUN_END_TYPES,
    AgentEvent,
    BranchChanged,
    ContextCompacted,
    Error,
    Event,
    ModeChanged,
    ModelChanged,
    Notice,
    PermissionMode,
    PlanEntry,
    PlanGenerated,
    PlanUpdated,
    PromptReceived,
    RunCancelled,
    RunCompleted,
    SessionEnded,
    SessionStarted,
    SteeringDelivered,
    SteeringQueued,
    SteeringWithdrawn,
    TrustRequested,
    TrustResolved,
    UsageUpdated,
    new_id,
)
from harness_tui.core.extensions.agents import SUBAGENT_CALL, TaskTool
from harness_tui.core.extensions.load import load_extensions
from harness_tui.core.extensions.plugins import with_plugin_models
from harness_tui.core.extensions.plugins.plugin_hooks import is_plugin_hook
from harness_tui.core.extensions.skills import Skill, SkillTool
from harness_tui.core.files.mentions import attach_files
from harness_tui.core.hooks.config import hooks_from_settings, script_paths
from harness_tui.core.hooks.pipeline import HookOutcome, HookPipeline
from harness_tui.core.mcp import McpManager
from harness_tui.core.messages import TextBlock, TokenUsage, UserMessage
from harness_tui.core.permissions.engine import AskPolicy, PermissionBroker, PermissionEngine
from harness_tui.core.permissions.gate import HookedGate
from harness_tui.core.permissions.rules import (
    PermissionRule,
    RuleError,
    parse_rule,
    rules_from_settings,
)
from harness_tui.core.providers.base import ModelRequest, Provider, ToolSpec
from harness_tui.core.providers.models import (
    DEMO_MODEL,
    ModelChoice,
    default_model_name,
    resolve_model,
)
from harness_tui.core.providers.offline.demo import KEY_HELP
from harness_tui.core.run.context import (
    DEFAULT_COMPACT_AT,
    ContextAccount,
    ContextBreakdown,
)
from harness_tui.core.run.loop import AgentLoop, RunOutcome
from harness_tui.core.run.steering import QueuedMessage, SteeringQueue
from harness_tui.core.run.system_prompt import build_system_prompt
from harness_tui.core.session.compaction import Compactor
from harness_tui.core.storage.records import Entry, SessionHeader
from harness_tui.core.storage.saved import SavedSession, load_session, session_path
from harness_tui.core.storage.tree import EntryTree, History, loose_ends
from harness_tui.core.storage.writer import SessionInUse, SessionLog
from harness_tui.core.tools import ToolContext, ToolExecutor, ToolGate, builtin_tools
from harness_tui.core.tools.base import Tool

log = logging.getLogger(__name__)

DEFAULT_MAX_TURNS = 100
#: A Stop hook that blocks this many times in a row in one run is overridden.
MAX_STOP_BLOCKS = 3
DEMO_NOTICE = "You are on the offline demo model: it plays a script and reads no key. " + KEY_HELP


class Session:
    """One conversation. Enter it (``async with``) before sending it anything."""

    def __init__(
        self,
        *,
        model: str | ModelChoice = DEMO_MODEL,
        cwd: str | Path | None = None,
        mode: PermissionMode = "default",
        tools: Iterable[Tool] | None = None,
        gate: ToolGate | None = None,
        session_id: str | None = None,
        max_turns: int = DEFAULT_MAX_TURNS,
        system_prompt: str | None = None,
        history_limit: int = DEFAULT_HISTORY_LIMIT,
        ask_policy: AskPolicy = "ask",
        notices: Sequence[str] = (),
        trusted: bool | None = None,
        settings: Settings | None = None,
        persist: bool = True,
        compact_at: float = DEFAULT_COMPACT_AT,
        warm: bool = False,
    ) -> None:
        """``trusted``: may the folder's own settings and hooks apply (None: as
        remembered by ``TrustStore``). ``settings``: already loaded by the caller (whose
        job it then is to report their problems); by default they are read here.
        ``persist``: write the session file (``session_files.session_path``).
        ``compact_at``: compact when the context would pass this share of the window.
        ``warm``: get the model's provider ready (SDK imported, client built, a
        connection open) in the background as soon as the session opens, and again
        after each switch of model, so that the first request is not the slow one."""
        self.id = session_id or new_id("ses")
        self.cwd = Path(cwd if cwd is not None else os.getcwd()).resolve()
        self.mode: PermissionMode = _check_mode(mode)
        #: The mode its SESSION_STARTED reports: a browser may switch to
        #: bypassPermissions only when the session started in it.
        self.started_mode: PermissionMode = self.mode
        if max_turns < 1:
            raise HarnessError(f"max_turns must be at least 1, not {max_turns}")
        self.max_turns = max_turns
        self.store = EventStore(history_limit)
        #: Every entry of the conversation (all branches); ``messages`` is one branch.
        self.tree = EntryTree()
        self.messages = History(self.record_entry)
        self.context = ContextAccount()
        if not 0 < compact_at <= 1:
            raise HarnessError(f"compact_at must be between 0 and 1, not {compact_at}")
        self.compact_at = compact_at
        self.persist = persist
        self._log: SessionLog | None = None
        self._unwritten: list[Entry] = []
        #: Resumed at another entry than the file's head (announced as a branch change).
        self._resumed_branch = False
        self._resumed: SavedSession | None = None
        self.compactor = Compactor(self)
        self.steering = SteeringQueue()
        self.trusted = TrustStore().is_trusted(self.cwd) if trusted is None else trusted
        self._notices = list(notices)
        if settings is None:
            settings = load_settings(self.cwd, include_project=self.trusted)
            self._notices += settings.problems
        base_tools = builtin_tools() if tools is None else list(tools)
        # Plugins, skills, sub-agents, slash commands and project instructions.
        self.extensions = load_extensions(
            self.cwd, trusted=self.trusted, taken={t.name: "a built-in tool" for t in base_tools}
        )
        self._notices += self.extensions.problems
        settings = with_plugin_models(settings, self.extensions.plugins.model_sources())
        self._default_prompt = not system_prompt
        self.system_prompt = system_prompt or build_system_prompt(
            self.cwd, self.extensions.prompt_extra()
        )
        self.model = (
            model
            if isinstance(model, ModelChoice)
            else resolve_model(model, cwd=self.cwd, settings=settings)
        )
        self.permissions = PermissionBroker(self.emit, ask_policy)
        self.permission_engine = PermissionEngine(self.permissions, cwd=self.cwd)
        self.permissions.on_question = self._notify
        self.hooks = HookPipeline(
            emit=self.emit,
            session_id=self.id,
            cwd=self.cwd,
            transcript_path=str(session_path(self.id)),
            permission_mode=lambda: self.mode,
        )
        self.hooks.matchers += self.extensions.plugins.hook_matchers()
        self._notices += self._configure(settings)
        self._halt_reason: str | None = None
        self._stop_blocks = 0
        self._trust_pending = False
        self.executor = ToolExecutor(
            [
                *base_tools,
                *self.extensions.plugins.tools(),
                *self._extension_tools(base_tools),
            ],
            gate=gate
            or HookedGate(self.permission_engine, self.hooks, request_stop=self._request_halt),
        )
        #: MCP servers: started with the session, in its task group (see core/mcp).
        self.mcp = McpManager(
            session_id=self.id,
            cwd=self.cwd,
            emit=self.emit,
            emit_session=lambda cls, /, **fields: self.store.append(
                cls(session_id=self.id, **fields)
            ),
            executor=self.executor,
            model=lambda: self.model,
            roots=self.permission_engine.workspace,
            can_ask=lambda: self.permissions.policy != "deny",
        )
        self._notices += self.mcp.configure(settings, trusted=self.trusted)
        self.permission_engine.run_files = self._server_files
        #: Allow rules of a slash command's or skill's ``allowed-tools``, for one run.
        self._run_grants: list[PermissionRule] = []
        #: The model to go back to after a slash command's run on a model of its own.
        self._model_after_run: ModelChoice | None = None
        self.plan: tuple[PlanEntry, ...] = ()
        self.total_usage = TokenUsage()
        #: Dollars spent in this session, and in the current run (None: no known price).
        self.total_cost_usd: float | None = None
        self._run_cost_usd: float | None = None
        self._provider: Provider | None = None
        #: A provider warmed for a model the user may switch to (the picker's row).
        self._spare: tuple[str, Provider] | None = None
        self.warm_up = warm
        #: The warm-ups under way, cancelled when the session closes.
        self._warming: set[anyio.CancelScope] = set()
        self._pending_model: ModelChoice | None = None
        self._group: anyio.abc.TaskGroup | None = None
        self._closed = False
        self._closing = False
        self._close_requested = anyio.Event()
        self._closed_event = anyio.Event()
        # The active run (None when idle) and what cancel() needs to reach it.
        self._run_id: str | None = None
        self._scope: anyio.CancelScope | None = None
        self._runner_done = anyio.Event()
        self._returned: list[QueuedMessage] = []

    def __repr__(self) -> str:
        state = "running" if self.running else "idle"
        return f"<Session {self.id} model={self.model.name} {state}>"

    @classmethod
    def resume(
        cls,
        saved: SavedSession | str,
        *,
        entry_id: str | None = None,
        model: str | ModelChoice | None = None,
        mode: PermissionMode | None = None,
        **options: Any,
    ) -> Session:
        """A session that goes on with a saved one (an id, id prefix, path, or loaded
        ``SavedSession``): its conversation at its head (or at ``entry_id``, to resume
        another branch), model, permission mode, plan and pending messages, unless
        ``model`` or ``mode`` say otherwise. It appends to the same file. Raises
        ``HarnessError`` for an unknown id or an unreadable file."""
        if isinstance(saved, str):
            saved = load_session(saved)
        notices = list(options.pop("notices", ()))
        if saved.problems:
            notices.append(saved.problems)
        cwd = options.pop("cwd", None)
        if cwd is None:
            cwd = saved.cwd if saved.cwd and Path(saved.cwd).is_dir() else os.getcwd()
        if model is None:
            model = _saved_model(saved, Path(cwd), options.get("settings"), notices)
        session = cls(
            model=model,
            mode=mode or _saved_mode(saved.mode),
            session_id=saved.session_id,
            cwd=cwd,
            notices=notices,
            **options,
        )
        head = saved.head if entry_id is None else saved.tree.resolve(entry_id)
        session.tree = saved.tree
        context = saved.tree.context(head)
        session.messages.reset(context.messages, context.entry_ids, head)
        session._resumed_branch = head != saved.head
        if context.mended:
            session._notices.append(
                f"{context.mended} tool call(s) or result(s) lost their other half to the "
                "damaged file; the calls are marked as lost and the results quoted, so the "
                "model can go on."
            )
        # Also when the file was damaged rather than cut off: the last response's
        # calls whose results are lost need one before the model is asked again.
        if (saved.interrupted or context.mended or saved.problems) and entry_id is None:
            added, note = loose_ends(
                session.messages,
                saved.partial_text,
                provider=session.model.provider,
                model=session.model.name,
            )
            session.messages.extend(added)  # written to the file when it opens
            if note:
                session._notices.append(note)
        session.plan = saved.plan
        session.steering.restore(saved.pending)
        session.total_usage, session.total_cost_usd = saved.total_usage, saved.total_cost_usd
        session._resumed = saved
        session.hooks.transcript_path = str(saved.path)
        return session

    # --- lifecycle ------------------------------------------------------------------

    async def __aenter__(self) -> Session:
        if self._group is not None or self._closed:
            raise HarnessError("a session can be entered only once")
        group = anyio.create_task_group()
        await group.__aenter__()
        self._group = group
        if self.persist:
            self._open_log(group)
        resumed = self._resumed
        await self.emit(
            SessionStarted,
            cwd=str(self.cwd),
            model=self.model.name,
            permission_mode=self.mode,
            source="resume" if resumed else "startup",
            version=__version__,
        )
        if self.model.is_demo:
            self._notices.insert(0, DEMO_NOTICE)
        for notice in self._notices:
            await self.emit(Notice, message=notice)
        if resumed is not None:
            await self._announce_restored(resumed)
        await self._ask_trust()
        if self.warm_up:  # alongside the MCP servers and hooks starting below
            self.warm_soon()
        await self._add_mcp_servers(self.extensions.plugins.mcp_servers())
        await self._session_start_hooks()
        await self.mcp.start(group)  # in the background: nothing waits for a server
        return self

    def _open_log(self, group: anyio.abc.TaskGroup) -> None:
        # A resumed session goes on in the file it came from, wherever that is.
        path = self._resumed.path if self._resumed is not None else session_path(self.id)
        header = None
        if self._resumed is None or not path.exists():
            header = SessionHeader(
                session_id=self.id, cwd=str(self.cwd), created=time.time(), version=__version__
            )
        log_ = SessionLog(path, self.store, header=header, on_failure=self._log_failed)
        try:
            log_.open()
        except SessionInUse:
            self._notices.append(
                f"This session is not saved: {path} is open in another harness-tui "
                "process, and two writers would mix two conversations. Close the other one "
                "and resume again to keep what follows."
            )
            return
        except OSError as exc:
            self._notices.append(
                f"This session is not saved: cannot write {path} ({exc.strerror or exc}). "
                "Check the folder's permissions, or set HARNESS_DATA_DIR to a folder you "
                "can write."
            )
            return
        self._log = log_
        for entry in self._unwritten:
            log_.add(entry)
        self._unwritten.clear()
        group.start_soon(log_.run)

    def _log_failed(self, message: str) -> None:
        if self._group is not None and not self._closed:
            self._group.start_soon(self.warn, message)

    async def warn(self, message: str) -> None:
        """A warning notice for every view (and the file)."""
        await self.emit(Notice, message=message, level="warning")

    async def _announce_restored(self, saved: SavedSession) -> None:
        """Facts a resumed session starts from, for every view and for the file."""
        messages = len(self.messages)
        await self.emit(
            Notice,
            message=f"Resumed session {self.id} ({messages} message"
            f"{'s' if messages != 1 else ''} in context).",
        )
        if self._resumed_branch:
            await self.emit(
                BranchChanged,
                entry_id=self.messages.head,
                previous_entry_id=saved.head,
                messages=messages,
            )
        if self.plan:
            await self.emit(PlanGenerated, entries=self.plan)
        for item in self.steering.pending:
            await self.emit(SteeringQueued, steering_id=item.id, text=item.text, kind=item.kind)

    async def __aexit__(self, *exc_info: object) -> bool | None:
        try:
            with anyio.CancelScope(shield=True):
                await self._shutdown()
        finally:
            group, self._group = self._group, None
            assert group is not None
            result = await group.__aexit__(*exc_info)  # type: ignore[arg-type]
            self._closed_event.set()
        return result

    async def _shutdown(self) -> None:
        # Messages still queued stay queued (in the file too): a resumed session has them.
        self._closing = True
        for scope in self._warming:
            scope.cancel()
        await self.cancel()
        await self.hooks.run("SessionEnd", {"reason": "exit"})
        await self.mcp.aclose()
        self._closed = True
        await self.emit(SessionEnded)
        self.store.close()
        if self._log is not None:
            await self._log.wait_closed()
        await self.executor.aclose()
        await _close_provider(self._provider)
        self._provider = None
        spare, self._spare = self._spare, None
        if spare is not None:
            await _close_provider(spare[1])

    def request_close(self) -> None:
        """Ask the task hosting this session (see ``SessionManager``) to close it."""
        self._close_requested.set()

    async def wait_close_requested(self) -> None:
        await self._close_requested.wait()

    async def wait_closed(self) -> None:
        await self._closed_event.wait()

    # --- state ----------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        """Entered and not yet closed."""
        return self._group is not None and not self._closed

    @property
    def file(self) -> Path | None:
        """The session file being written (None: this session is not saved)."""
        log_ = self._log
        return log_.path if log_ is not None and log_.failed is None else None

    @property
    def running(self) -> bool:
        return self._run_id is not None

    @property
    def run_id(self) -> str | None:
        return self._run_id

    async def emit(self, event_type: type[Event], /, **fields: Any) -> Event:
        """Create an event of this session (and its current run) and append it. Inside a
        sub-agent, the event is stamped with the id of the Task call that started it."""
        parent = SUBAGENT_CALL.get()
        if parent is not None and "parent_tool_call_id" not in fields:
            fields["parent_tool_call_id"] = parent
        return await self.store.append(
            event_type(session_id=self.id, run_id=self._run_id, **fields)
        )

    # --- commands -------------------------------------------------------------------

    async def submit(self, text: str) -> str:
        """Start a run with this prompt; returns its run id. Raises ``SessionBusyError``
        while a run is active (use ``steer`` or ``follow_up`` then)."""
        text = _check_prompt(text)
        if self.running:
            raise SessionBusyError(
                "a run is already active", hint="steer it, queue a follow-up, or cancel it first"
            )
        return self._start(text)

    async def steer(self, text: str) -> QueuedMessage | None:
        """Deliver at the next turn boundary of the active run. When idle, start a run
        with it instead (returns None)."""
        return await self._enqueue(text, "steer")

    async def follow_up(self, text: str) -> QueuedMessage | None:
        """Run after the active run ends. When idle, start a run with it (returns None)."""
        return await self._enqueue(text, "follow_up")

    async def pull_back(self, steering_id: str | None = None) -> QueuedMessage | None:
        """Take a pending message (the newest by default) back out of the queue."""
        item = self.steering.pull_back(steering_id)
        if item is not None:
            await self._withdrawn(item, "pulled_back")
        return item

    async def cancel(self) -> list[QueuedMessage]:
        """Stop the active run and everything it started; returns the messages that
        were still queued (they go back to the user). Returns once the run has ended."""
        if not self.running:
            return []
        done = self._runner_done
        assert self._scope is not None
        self._scope.cancel()
        await done.wait()
        return list(self._returned)

    async def set_model(self, name: str | ModelChoice) -> ModelChoice:
        """Switch models. During a run the switch waits for the next turn boundary."""
        choice = (
            name
            if isinstance(name, ModelChoice)
            else resolve_model(name, cwd=self.cwd, settings=self.settings)
        )
        if self.running:
            self._pending_model = choice
        else:
            await self._apply_model(choice)
        return choice

    def warm_soon(self, model: str | ModelChoice | None = None) -> None:
        """``warm`` in the background (nothing when the session is not open)."""
        if self._group is not None and not self._closing:
            self._group.start_soon(self._warm_quietly, model)

    async def _warm_quietly(self, model: str | ModelChoice | None) -> None:
        with anyio.CancelScope() as scope:
            self._warming.add(scope)
            try:
                await self.warm(model)
            finally:
                self._warming.discard(scope)

    async def warm(self, model: str | ModelChoice | None = None) -> None:
        """Get a provider ready before a request needs it: the current model's, or
        ``model``'s (one the user is about to switch to, kept until the switch or until
        another is warmed). Quiet: a model that cannot be used says so when it is
        chosen or a prompt is sent, as it would have anyway."""
        try:
            name = model.name if isinstance(model, ModelChoice) else model
            if name is None or name == self.model.name:
                if self._provider is None:
                    self._provider = self.model.create()
                provider = self._provider
            elif self._spare is not None and self._spare[0] == name:
                provider = self._spare[1]
            else:
                choice = (
                    model
                    if isinstance(model, ModelChoice)
                    else resolve_model(name, cwd=self.cwd, settings=self.settings)
                )
                old, self._spare = self._spare, (choice.name, choice.create())
                provider = self._spare[1]
                if old is not None:
                    await _close_provider(old[1])
        except Exception:
            log.debug("warming %s failed", model or self.model.name, exc_info=True)
            return
        ready = getattr(provider, "warm", None)
        if ready is not None:
            await ready()

    async def set_mode(self, mode: str) -> None:
        """Change the permission mode; it applies to the next tool call."""
        new = _check_mode(mode)
        previous, self.mode = self.mode, new
        if new != previous:
            await self.emit(ModeChanged, mode=new, previous_mode=previous)

    async def fork(self, entry_id: str | None, *, before: bool = False) -> BranchChanged:
        """Go on from another entry of the conversation tree (an id or unique prefix;
        None: the start), leaving the current branch as it is in the file. With
        ``before``, from the entry's parent: to ask a user message again, differently."""
        if self.running:
            raise SessionBusyError(
                "cannot fork while a run is active", hint="wait for it to end, or cancel it"
            )
        target = None if entry_id is None else self.tree.resolve(entry_id)
        if before and target is not None:
            target = self.tree.get(target).parent_id
        context = self.tree.context(target)
        previous = self.messages.head
        self.messages.reset(context.messages, context.entry_ids, target)
        self.context.reset()
        return await self.emit(  # type: ignore[return-value]
            BranchChanged,
            entry_id=target,
            previous_entry_id=previous,
            messages=len(context.messages),
        )

    async def compact(self, instructions: str | None = None) -> ContextCompacted | None:
        """Summarise the older part of the conversation now (``/compact``); during a run,
        at its next turn boundary (returns None then). ``instructions`` tell the model
        what the summary should keep."""
        self._require_open()
        if self.running:
            self.compactor.requested = instructions or ""
            return None
        if self._provider is None:
            self._provider = self.model.create()
        return await self.compactor.compact("manual", instructions, self._provider)

    def context_tokens(self) -> int:
        """Tokens the next request would take: the provider's last count plus an
        estimate of what was added since."""
        return self.context.used(self.system_prompt, self.tool_specs, self.messages)

    def context_breakdown(self) -> ContextBreakdown:
        """The context by part (system prompt, tools, messages), for ``/context``."""
        return self.context.breakdown(self.system_prompt, self.tool_specs(), self.messages)

    async def resolve_permission(
        self, request_id: str, decision: str, reason: str | None = None
    ) -> None:
        """Answer a ``PERMISSION_REQUESTED``: ``allow_once``, ``allow_session``,
        ``allow_always`` or ``deny`` (with a reason the model will read)."""
        self.permissions.resolve(request_id, decision, reason)

    async def resolve_trust(self, trusted: bool, *, remember: bool = True) -> None:
        """Answer a ``TRUST_REQUESTED``. Trusting loads the folder's settings and hooks
        now (and runs its ``SessionStart`` hooks); ``remember`` keeps the answer for
        later sessions (only a yes is remembered)."""
        if not self._trust_pending:
            raise HarnessError("no open trust question", hint="trust is asked once per folder")
        self._trust_pending = False
        if trusted and remember:
            TrustStore().trust(self.cwd)
        await self.emit(
            TrustResolved, folder=str(self.cwd), trusted=trusted, remembered=trusted and remember
        )
        if not trusted:
            return
        self.trusted = True
        settings = load_settings(self.cwd, include_project=True)
        before = list(self.hooks.matchers)
        plugins, skills_section = self.extensions.trust_project(
            dict.fromkeys(self.executor.tools, "a tool of this session")
        )
        for tool in [*plugins.tools(), *self._extension_tools(list(self.executor.tools.values()))]:
            self.executor.add(tool)
        if skills_section and self._default_prompt:
            self.system_prompt += "\n\n" + skills_section
        self.hooks.matchers += plugins.hook_matchers()
        settings = with_plugin_models(settings, self.extensions.plugins.model_sources())
        for problem in settings.problems + plugins.problems + self._configure(settings):
            await self.emit(Notice, message=problem, level="warning")
        await self._add_mcp_servers(plugins.mcp_servers())
        added = [m for m in self.hooks.matchers if m not in before]
        await self._session_start_hooks(only=added)
        for problem in self.mcp.configure(settings, trusted=True):
            await self.emit(Notice, message=problem, level="warning")
        await self.mcp.roots_changed(self.permission_engine.workspace())

    async def resolve_sampling(
        self, request_id: str, approved: bool, reason: str | None = None
    ) -> None:
        """Answer a ``SAMPLING_REQUESTED``: may the session's model answer the MCP
        server's request (``reason``, if declined, is passed to the server)?"""
        self.mcp.questions.resolve_sampling(request_id, approved, reason)

    async def resolve_elicitation(
        self, request_id: str, action: str, content: dict[str, Any] | None = None
    ) -> None:
        """Answer an ``ELICITATION_REQUESTED``: ``accept`` (with ``content`` fitting
        the requested schema), ``decline`` or ``cancel``. Content that does not fit
        raises ``HarnessError`` and leaves the question open."""
        self.mcp.questions.resolve_elicitation(request_id, action, content)

    async def invoke_command(self, name: str, arguments: str = "") -> str | None:
        """Run ``/name arguments``: a custom slash command or a user-invocable skill. Its
        ``model`` and ``allowed-tools`` apply to that run only. Returns the run id, or
        None when the prompt was steered into the active run. Raises ``HarnessError``
        for a name that no command or skill has."""
        expansion = self.extensions.expand(name, arguments)
        if expansion is None:
            raise HarnessError(f"unknown command /{name}", hint="/help lists the commands")
        label = f"allowed-tools of /{name}"
        if self.running:
            self._grant_for_run(expansion.allowed_tools, label)
            await self.steer(expansion.prompt)
            return None
        if expansion.model is not None:
            previous = self.model
            await self.set_model(expansion.model)
            self._model_after_run = previous
        self._grant_for_run(expansion.allowed_tools, label)
        return await self.submit(expansion.prompt)

    async def run(self, prompt: str) -> AsyncGenerator[AgentEvent, None]:
        """Start a run and yield every event until it ends (``RUN_COMPLETED`` or
        ``RUN_CANCELLED``). Leaving the loop early cancels the run."""
        self._require_open()
        sub = self.store.subscribe("run", queue_size=10_000)
        run_id: str | None = None
        try:
            run_id = await self.submit(prompt)
            async with aclosing(self.store.stream(sub)) as events:
                async for event in events:
                    yield event  # type: ignore[misc]
                    if event.type in RUN_END_TYPES and event.run_id == run_id:  # type: ignore[union-attr]
                        return
        finally:
            self.store.unsubscribe(sub)
            if run_id is not None and self._run_id == run_id:
                with anyio.CancelScope(shield=True):
                    await self.cancel()

    # --- runs -----------------------------------------------------------------------

    def _require_open(self) -> None:
        if self._group is None or self._closed:
            raise HarnessError(
                "the session is not open",
                hint="use `async with session:` or SessionManager.create()",
            )

    def _start(self, text: str, queued: QueuedMessage | None = None) -> str:
        self._require_open()
        assert self._group is not None
        run_id = new_id("run")
        # Marked running before the task starts, so a steer right after submit queues.
        self._run_id = run_id
        self._scope = anyio.CancelScope()
        self._runner_done = anyio.Event()
        self._returned = []
        self._group.start_soon(self._runner, text, queued)
        return run_id

    async def _enqueue(self, text: str, kind: str) -> QueuedMessage | None:
        text = _check_prompt(text)
        if not self.running:
            self._start(text)
            return None
        item = self.steering.add(text, kind)  # type: ignore[arg-type]
        await self.emit(SteeringQueued, steering_id=item.id, text=item.text, kind=item.kind)
        return item

    async def _runner(self, text: str, queued: QueuedMessage | None) -> None:
        """Runs the prompt, then each message still queued, one run each."""
        try:
            while True:
                if await self._run_once(text, queued):
                    return  # cancelled: the queue went back to the user
                nxt = self.steering.take_next()
                if nxt is None:
                    return
                text, queued = nxt.text, nxt
                self._run_id = new_id("run")
                self._scope = anyio.CancelScope()
        finally:
            self._run_id = None
            self._scope = None
            self._runner_done.set()

    async def _run_once(self, text: str, queued: QueuedMessage | None) -> bool:
        """One run; True when it was cancelled."""
        started = time.perf_counter()
        loop = AgentLoop(self, self.max_turns)
        self._run_cost_usd = None
        scope = self._scope
        assert scope is not None
        outcome = crash = None
        self._halt_reason, self._stop_blocks = None, 0
        with scope:
            await self.emit(PromptReceived, text=text, source="follow_up" if queued else "user")
            hooked = await self.hooks.run("UserPromptSubmit", {"prompt": text})
            if queued is not None:
                await self.emit(
                    SteeringDelivered,
                    steering_id=queued.id,
                    text=queued.text,
                    kind=queued.kind,
                    turn=1,
                )
            try:
                if hooked.blocked or hooked.stop:
                    reason = "prompt_blocked" if hooked.blocked else "stopped_by_hook"
                    outcome = RunOutcome(reason, 0, "", TokenUsage())
                else:
                    attached = await self._attach_mentions(text)
                    self.messages.append(_prompt_message(text, queued, hooked, attached))
                    outcome = await loop.run()
            except Exception as exc:  # a bug, not a provider or tool failure
                crash = exc
        duration_ms = (time.perf_counter() - started) * 1e3
        # Returned after the shielded block: mypy cannot know that a scope nobody
        # cancels never swallows an exception, and would see a path without a return.
        cancelled = outcome is None and crash is None
        with anyio.CancelScope(shield=True):
            await self._end_run_overrides()
            if outcome is not None:
                await self.emit(
                    RunCompleted,
                    stop_reason=outcome.stop_reason,
                    turns=outcome.turns,
                    duration_ms=duration_ms,
                    result=outcome.result,
                    is_error=outcome.error is not None,
                    error=outcome.error,
                    usage=outcome.usage,
                    cost_usd=self._run_cost_usd,
                )
            elif crash is not None:
                log.error("run failed", exc_info=crash)
                message = f"internal error: {type(crash).__name__}: {crash}"
                await loop.finish_interrupted("not run: the run stopped on an internal error")
                await self.emit(
                    Error,
                    message=message,
                    code="internal_error",
                    fatal=True,
                    hint="this is a bug in harness-tui; the session is still usable",
                )
                await self.emit(
                    RunCompleted,
                    stop_reason="error",
                    turns=loop.turn,
                    duration_ms=duration_ms,
                    result="",
                    is_error=True,
                    error=message,
                    usage=loop.usage,
                    cost_usd=self._run_cost_usd,
                )
            else:
                await loop.finish_interrupted()
                self.mcp.questions.cancel_all()  # servers' sampling and form questions
                self._returned = [] if self._closing else self.steering.drain()
                for item in self._returned:
                    await self._withdrawn(item, "cancelled")
                await self.emit(RunCancelled, turns=loop.turn, duration_ms=duration_ms)
        return cancelled

    async def _attach_mentions(self, text: str) -> list[tuple[str, str]]:
        """The files, folders (``@path``) and MCP resources (``@server:uri``) a prompt
        mentions, read, as ``(mention, contents)``; then the attached MCP resources
        that changed since the last prompt (see ``mcp.resource_watch``)."""
        if "@" not in text:
            return self.mcp.changed_resources()
        engine = self.permission_engine
        files = await anyio.to_thread.run_sync(
            attach_files, text, self.cwd, engine.workspace(), engine.read_filter()
        )
        for notice in files.notices:
            await self.emit(Notice, message=notice, level="warning")
        if files.attached:
            await self.emit(Notice, message=files.summary())
        resources = await self.mcp.attach_mentions(text)
        changed = self.mcp.changed_resources(mention for mention, _ in resources)
        return [*files.attached, *resources, *changed]

    def _extension_tools(self, base: list[Tool]) -> list[Tool]:
        """Skill (when there are skills) and Task, unless ``base`` has those names."""
        names = {t.name for t in base}
        tools: list[Tool] = []
        if self.extensions.skills.model_invocable and "Skill" not in names:
            tools.append(SkillTool(self.extensions.skills, self._skill_loaded))
        if "Task" not in names:
            tools.append(TaskTool(self.extensions.agents, self))
        return tools

    async def _skill_loaded(self, skill: Skill) -> None:
        if skill.trusted:
            self._grant_for_run(skill.allowed_tools, f"allowed-tools of the skill {skill.name}")

    def _grant_for_run(self, rules: Sequence[str], source: str) -> None:
        for text in rules:
            try:
                rule = parse_rule(text, "allow", source)
            except RuleError as exc:
                log.warning("%s: %s: %s", source, text, exc)
                continue
            self._run_grants.append(rule)
            self.permission_engine.session_rules.append(rule)

    async def _end_run_overrides(self) -> None:
        """Take back what a slash command or skill granted for its run."""
        if self._run_grants:
            granted = self._run_grants
            self._run_grants = []
            self.permission_engine.session_rules = [
                r for r in self.permission_engine.session_rules if not any(r is g for g in granted)
            ]
        previous, self._model_after_run = self._model_after_run, None
        if previous is not None and self._pending_model is None:
            await self._apply_model(previous)

    def _server_files(self) -> list[Path]:
        """The files stdio MCP servers run (a program given by path, scripts among the
        arguments): protected from the agent's edits, like hooks' scripts."""
        from harness_tui.core.permissions.protected_paths import files_named

        return [
            path
            for connection in self.mcp.connections.values()
            for path in files_named(
                [connection.config.command or "", *connection.config.args],
                [Path(connection.config.cwd or self.cwd)],
            )
        ]

    async def _add_mcp_servers(self, servers: dict[str, dict[str, Any]]) -> None:
        """Hand plugins' MCP servers (``.mcp.json``-shaped ``{name: config}``) to the MCP
        client; a bad entry or a name already taken becomes a warning notice."""
        from harness_tui.core.mcp import McpConfigError

        for name, config in servers.items():
            try:
                warnings = self.mcp.add_server(name, config, source=f"plugin server {name!r}")
            except (McpConfigError, HarnessError) as exc:
                warnings = [str(exc)]
            for warning in warnings:
                await self.emit(Notice, message=warning, level="warning")

    def _configure(self, settings: Settings) -> list[str]:
        """Take permission rules and hooks from ``settings``; the problems found."""
        ruleset = rules_from_settings(settings, self.cwd)
        if not self.trusted:  # the project's deny and ask rules hold all the same
            project = restrictions_of_project(self.cwd)
            restricting = rules_from_settings(project, self.cwd)
            ruleset.rules += restricting.rules
            # A project file that cannot be read is said: its deny rules do not hold.
            ruleset.problems += project.problems + restricting.problems
        matchers, hook_problems = hooks_from_settings(settings, self.cwd)
        self.settings = settings
        self.permission_engine.ruleset = ruleset
        self.permission_engine.protected_files = {
            Path(os.path.realpath(path))
            for matcher in matchers
            for hook in matcher.hooks
            for path in script_paths(getattr(hook, "command", ""), self.cwd)
        }
        # Python callbacks and plugins' hooks stay; hooks from settings are replaced.
        callbacks = [
            m
            for m in self.hooks.matchers
            if m.hooks and (m.hooks[0].source == "python" or is_plugin_hook(m.hooks[0]))
        ]
        self.hooks.matchers = matchers + callbacks
        return ruleset.problems + hook_problems

    async def _ask_trust(self) -> None:
        self._trust_pending = False
        if self.trusted:
            return
        found = project_config_found(self.cwd)
        if not found:
            return
        if self.permissions.policy == "deny":
            await self.emit(
                Notice,
                message=f"This folder is not trusted, so its project configuration "
                f"({', '.join(found)}) was not loaded. Run with --trust to trust it.",
                level="warning",
            )
            return
        self._trust_pending = True
        await self.emit(TrustRequested, folder=str(self.cwd), found=tuple(found))

    async def _session_start_hooks(self, only: list[Any] | None = None) -> None:
        hooks = self.hooks
        if only is not None:
            hooks = HookPipeline(
                only,
                emit=self.emit,
                session_id=self.id,
                cwd=self.cwd,
                transcript_path=self.hooks.transcript_path,
                permission_mode=lambda: self.mode,
            )
        source = "resume" if self._resumed is not None else "startup"
        outcome = await hooks.run("SessionStart", {"source": source})
        if outcome.context:
            self.system_prompt += (
                "\n\nContext from SessionStart hooks:\n" + outcome.additional_context
            )

    def _notify(self, message: str) -> None:
        """Run the ``Notification`` hooks in the background (a desktop alert, say)."""
        if self._group is not None and self.hooks.matching("Notification", "permission_prompt"):
            self._group.start_soon(
                self.hooks.run,
                "Notification",
                {"message": message, "notification_type": "permission_prompt"},
            )

    def _request_halt(self, reason: str) -> None:
        if self._halt_reason is None:
            self._halt_reason = reason

    async def _withdrawn(self, item: QueuedMessage, reason: str) -> None:
        await self.emit(
            SteeringWithdrawn, steering_id=item.id, text=item.text, kind=item.kind, reason=reason
        )

    async def _apply_model(self, choice: ModelChoice) -> None:
        previous = self.model.name
        warmed = None
        if self._spare is not None and self._spare[0] == choice.name:
            warmed, self._spare = self._spare[1], None
        old_provider, self.model, self._provider = self._provider, choice, warmed
        # The history needs no conversion here: each adapter renders the neutral
        # history for its own API on every request (see providers/history.py).
        await _close_provider(old_provider)
        if self.warm_up and warmed is None:
            self.warm_soon()
        await self.emit(
            ModelChanged, model=choice.name, provider=choice.provider, previous_model=previous
        )

    async def _set_plan(self, entries: Sequence[PlanEntry], tool_call_id: str | None) -> None:
        event_type = PlanUpdated if self.plan else PlanGenerated
        self.plan = tuple(entries)
        await self.emit(event_type, entries=self.plan, tool_call_id=tool_call_id)

    # --- the conversation tree ------------------------------------------------------

    def record_entry(self, entry: Entry) -> None:
        """Add an entry to the conversation tree and the session file."""
        self.tree.add(entry)
        if self._log is not None:
            self._log.add(entry)
        elif self.persist and self._group is None:
            self._unwritten.append(entry)  # made before the file opened (a resume)

    # --- LoopHost -------------------------------------------------------------------

    async def begin_turn(self) -> Provider:
        if self._pending_model is not None:
            choice, self._pending_model = self._pending_model, None
            await self._apply_model(choice)
        if self._provider is None:
            self._provider = self.model.create()
        await self.mcp.wait_started()  # servers still starting: offer their tools too
        await self.compactor.at_boundary(self._provider, self._run_id)
        return self._provider

    def build_request(self, provider: Provider) -> ModelRequest:
        return ModelRequest(
            model=provider.model,
            system=self.system_prompt,
            messages=tuple(self.messages),
            tools=self.tool_specs(),
        )

    def tool_specs(self) -> tuple[ToolSpec, ...]:
        """The tools the next request offers."""
        hidden = self.permission_engine.hidden_tools()
        return tuple(
            self.mcp.select_tools(
                self.executor.specs(exclude=hidden), self.model.context_window, hidden
            )
        )

    def tool_context(self, tool_call_id: str) -> ToolContext:
        assert self._run_id is not None
        return ToolContext(
            session_id=self.id,
            run_id=self._run_id,
            tool_call_id=tool_call_id,
            cwd=self.cwd,
            permission_mode=self.mode,
            emit=self.emit,
            set_plan=self._set_plan,
            read_denied=self.permission_engine.read_filter(),
        )

    async def record_usage(self, usage: TokenUsage, model: ModelChoice | None = None) -> None:
        """Add a response's usage to the totals. ``model``: the model that produced it
        (a sub-agent's own), by default the session's."""
        if model is None:
            # The session's own response, already in the history: the count covers it.
            self.context.report(usage.context_tokens, len(self.messages))
        await self.add_usage(usage, model)

    async def add_usage(self, usage: TokenUsage, model: ModelChoice | None = None) -> None:
        """Add usage to the totals and the cost (``record_usage`` for a response of the
        conversation, which also updates the context count)."""
        # Priced with the model that produced the usage: a switch waits for a turn
        # boundary, so self.model is still that model here.
        own = model is None
        model = model or self.model
        self.total_usage = self.total_usage + usage
        cost = usage.cost_usd if usage.cost_usd is not None else model.cost_usd(usage)
        if cost is not None:
            self.total_cost_usd = (self.total_cost_usd or 0.0) + cost
            self._run_cost_usd = (self._run_cost_usd or 0.0) + cost
        await self.emit(
            UsageUpdated,
            usage=usage,
            total=self.total_usage,
            cost_usd=cost,
            total_cost_usd=self.total_cost_usd,
            # The session's context fill; a sub-agent's usage tells its own.
            context_tokens=self.context_tokens() if own else usage.context_tokens,
            context_window=model.context_window,
        )

    async def stop_requested(self) -> str | None:
        if self._halt_reason is not None:
            return None
        outcome = await self.hooks.run("Stop", {"stop_hook_active": self._stop_blocks > 0})
        if outcome.stop or not outcome.blocked:
            return None
        if self._stop_blocks >= MAX_STOP_BLOCKS:
            await self.emit(
                Notice,
                message=f"a Stop hook blocked the end of the run {MAX_STOP_BLOCKS} times in a "
                "row; stopping anyway",
                level="warning",
            )
            return None
        self._stop_blocks += 1
        return outcome.reason or "A Stop hook asks you to continue."

    async def recover_from_overflow(self, provider: Provider) -> bool:
        return await self.compactor.recover(provider)

    def halt_requested(self) -> str | None:
        return self._halt_reason


class SessionManager:
    """Many sessions at once (the web server, tests). Each session lives in a task of
    the manager's own, so it is entered and left in the same task."""

    def __init__(self) -> None:
        self._sessions: dict[str, Session] = {}
        self._group: anyio.abc.TaskGroup | None = None

    async def __aenter__(self) -> SessionManager:
        self._group = anyio.create_task_group()
        await self._group.__aenter__()
        return self

    async def __aexit__(self, *exc_info: object) -> bool | None:
        for session in list(self._sessions.values()):
            session.request_close()
        group, self._group = self._group, None
        assert group is not None
        return await group.__aexit__(*exc_info)  # type: ignore[arg-type]

    async def create(self, **options: Any) -> Session:
        """A new, open session; ``options`` are ``Session``'s keyword arguments."""
        if self._group is None:
            raise HarnessError(
                "the session manager is not open",
                hint="use `async with SessionManager() as manager:`",
            )
        session = Session(**options)
        await self._group.start(self._host, session)
        return session

    async def _host(self, session: Session, *, task_status: Any) -> None:
        async with session:
            self._sessions[session.id] = session
            task_status.started()
            await session.wait_close_requested()
        self._sessions.pop(session.id, None)

    def get(self, session_id: str) -> Session:
        try:
            return self._sessions[session_id]
        except KeyError:
            raise HarnessError(f"no open session {session_id!r}") from None

    def list(self) -> list[Session]:
        return list(self._sessions.values())

    async def close(self, session_id: str) -> None:
        session = self.get(session_id)
        session.request_close()
        await session.wait_closed()


def _prompt_message(
    text: str,
    queued: QueuedMessage | None,
    hooked: HookOutcome,
    attached: Sequence[tuple[str, str]] = (),
) -> UserMessage:
    """The prompt as the model gets it, with context added by UserPromptSubmit hooks
    and the contents of the files and MCP resources it mentions."""
    message = UserMessage.of(text, "follow_up" if queued else "prompt")
    added = [
        TextBlock(text=f"[contents of {mention}]\n{contents}") for mention, contents in attached
    ]
    if hooked.context:
        added.append(
            TextBlock(text=f"[context from a UserPromptSubmit hook]\n{hooked.additional_context}")
        )
    if not added:
        return message
    return message.model_copy(update={"content": (*message.content, *added)})


async def _close_provider(provider: Provider | None) -> None:
    """Release a provider's connections (SDK adapters hold an HTTP client)."""
    close = getattr(provider, "aclose", None)
    if close is None:
        return
    try:
        with anyio.CancelScope(shield=True):
            await close()
    except Exception:  # a connection that will not close must not stop a switch
        log.warning("closing the %s provider failed", provider, exc_info=True)


def _saved_model(
    saved: SavedSession, cwd: Path, settings: Settings | None, notices: list[str]
) -> ModelChoice | str:
    """The model a saved session used, or (when it cannot be used here) the default."""
    name = saved.model or DEMO_MODEL
    try:
        return resolve_model(name, cwd=cwd, settings=settings)
    except HarnessError as exc:
        fallback = default_model_name()
        notices.append(f"The session's model {name} cannot be used here ({exc}); using {fallback}.")
        return fallback


def _saved_mode(mode: str | None) -> PermissionMode:
    return mode if mode in PERMISSION_MODES else "default"


def _check_mode(mode: str) -> PermissionMode:
    if mode not in PERMISSION_MODES:
        raise HarnessError(
            f"unknown permission mode {mode!r}", hint="use one of " + ", ".join(PERMISSION_MODES)
        )
    return mode


def _check_prompt(text: str) -> str:
    if not isinstance(text, str) or not text.strip():
        raise HarnessError("the prompt is empty", hint="type something for the model to do")
    return text
