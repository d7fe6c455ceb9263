# Over 500 lines as one unit: the facade every front end calls; each method hands off.
"""Sessions: one conversation each, with its own history, event log, queue and runs.

Commands go in as method calls (``submit``, ``steer``, ``follow_up``, ``pull_back``,
``cancel``, ``set_model``, ``set_mode``, ``resolve_permission``); facts come out as
events in ``session.store``. Sessions share no state, so any number run side by side.

    async with Session(model="demo") as session:
        async for event in session.run("What is in this folder?"):
            print(event.type)

``Session`` is a facade: each job is a collaborator of its own. ``workspace`` (the
folder, its trust, settings and extensions), ``models`` (the model and its provider),
``journal`` (the conversation tree and its file), ``usage`` (tokens and cost),
``compactor`` (compaction), ``turns`` (what each turn of a run needs, shared with
sub-agents), ``runs`` (starting, chaining and cancelling runs), ``checkpoints`` (the
files before each prompt and tool call) and ``rewinder`` (rewind and redo).
"""

from __future__ import annotations

import os
from collections.abc import AsyncGenerator, Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import anyio

from harness_tui.core.checkpoints import Checkpointer, Limits, RewindPlan, RewindPoint
from harness_tui.core.checkpoints.blobs import Blobs
from harness_tui.core.checkpoints.rewind import HandEdits
from harness_tui.core.config.settings import Settings
from harness_tui.core.errors import HarnessError, SessionBusyError
from harness_tui.core.event_store import DEFAULT_HISTORY_LIMIT, EventStore
from harness_tui.core.events import (
    AgentEvent,
    BranchChanged,
    ContextCompacted,
    Event,
    MemoryUpdated,
    ModeChanged,
    Notice,
    PermissionMode,
    RewindMode,
    Rewound,
    SessionEnded,
    SessionRenamed,
    SessionStarted,
    new_id,
)
from harness_tui.core.hooks.fire import prompt_expansion
from harness_tui.core.images.request import images_in
from harness_tui.core.images.store import ImageStore
from harness_tui.core.live.registry import LiveBeacon
from harness_tui.core.lsp.manager import refresh as refresh_lsp
from harness_tui.core.lsp.manager import session_lsp
from harness_tui.core.lsp.tool import LspTool
from harness_tui.core.lsp.watch import EditWatch
from harness_tui.core.messages import ImageBlock, TokenUsage
from harness_tui.core.permissions.engine import AskPolicy
from harness_tui.core.providers.models import DEMO_MODEL, ModelChoice, resolve_model
from harness_tui.core.run.budget import BudgetStop, limits_from_settings
from harness_tui.core.run.context import DEFAULT_COMPACT_AT, ContextAccount, ContextBreakdown
from harness_tui.core.run.controller import RunController
from harness_tui.core.run.steering import QueuedMessage, SteeringQueue
from harness_tui.core.run.subagents import SUBAGENT_CALL
from harness_tui.core.run.system_prompt import build_system_prompt
from harness_tui.core.run.turn_host import MAX_STOP_BLOCKS, TurnHost
from harness_tui.core.sandbox.status import SandboxStatus
from harness_tui.core.session.compaction import Compactor
from harness_tui.core.session.journal import Journal, resume_options
from harness_tui.core.session.manager import Hostable, Sessions
from harness_tui.core.session.model_slot import ModelSlot
from harness_tui.core.session.rewinding import Rewinder
from harness_tui.core.session.usage import UsageMeter
from harness_tui.core.session.workspace import Workspace, check_mode
from harness_tui.core.storage.saved import SavedSession, checkpoints_dir, images_dir, tasks_dir
from harness_tui.core.tasks import TaskInfo, TaskManager
from harness_tui.core.tools import ToolGate
from harness_tui.core.tools.base import Tool
from harness_tui.core.version import __version__
from harness_tui.core.worktrees.lifecycle import WorktreeUse

__all__ = ["DEFAULT_MAX_TURNS", "MAX_STOP_BLOCKS", "Session", "SessionManager"]

DEFAULT_MAX_TURNS = 100
T = TypeVar("T")


#: The longest name a session keeps (a longer one is cut).
MAX_NAME = 100


def held(get: Callable[[Session], T]) -> T:
    """A read-only attribute of the session that a collaborator holds, typed as what
    ``get`` returns (a ``property`` of a lambda would be ``Any``)."""
    return property(get)  # type: ignore[return-value]


class Session(Hostable):
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
        max_budget_usd: float | None = None,
        system_prompt: str | None = None,
        history_limit: int = DEFAULT_HISTORY_LIMIT,
        ask_policy: AskPolicy = "ask",
        notices: Sequence[str] = (),
        trusted: bool | None = None,
        settings: Settings | None = None,
        persist: bool = True,
        compact_at: float = DEFAULT_COMPACT_AT,
        warm: bool = False,
        worktree: WorktreeUse | None = None,
        name: str = "",
    ) -> None:
        """``trusted``: may the folder's own settings and hooks apply (None: as
        remembered by ``TrustStore``). ``settings``: already loaded by the caller (whose
        job it then is to report their problems); by default they are read here.
        ``persist``: write the session file (``session_files.session_path``).
        ``compact_at``: compact when the context would pass this share of the window.
        ``warm``: get the model's provider ready (SDK imported, client built, a
        connection open) in the background as soon as the session opens, and again
        after each switch of model, so that the first request is not the slow one.
        ``max_turns`` and ``max_budget_usd`` cap each run (see ``run.budget``; the
        settings' ``budget`` adds a session budget, and a run budget this replaces).
        ``worktree``: the git worktree it works in (``cwd`` is in it); kept or removed
        when the session ends (``core.worktrees``). ``name``: given to it (``rename``)
        as it opens (``--name``)."""
        super().__init__()
        self.id = session_id or new_id("ses")
        self.cwd = Path(cwd if cwd is not None else os.getcwd()).resolve()
        self.mode: PermissionMode = check_mode(mode)
        self.worktree = worktree
        #: The mode its SESSION_STARTED reports: a browser may switch to
        #: bypassPermissions only when the session started in it.
        self.started_mode: PermissionMode = self.mode
        #: What the user called it (``rename``); "" for none: views show the first prompt.
        self.name = ""
        self._name_at_open = name
        if max_turns < 1:
            raise HarnessError(f"max_turns must be at least 1, not {max_turns}")
        if max_budget_usd is not None and not max_budget_usd > 0:
            raise HarnessError(f"max_budget_usd must be above 0, not {max_budget_usd}")
        if not 0 < compact_at <= 1:
            raise HarnessError(f"compact_at must be between 0 and 1, not {compact_at}")
        self.max_turns, self.compact_at, self.persist = max_turns, compact_at, persist
        self.store = EventStore(history_limit)
        #: The images attached to its messages, once each (in memory when not saved).
        self.images = ImageStore(images_dir(self.id) if persist else None)
        self.context = ContextAccount()
        self.journal: Journal = Journal(self.emit, self.context, persist=persist)
        self.messages = self.journal.messages
        #: Add an entry to the conversation tree and the session file.
        self.record_entry = self.journal.record
        ws = self.workspace = Workspace(self.cwd, trusted=trusted, settings=settings, tools=tools)
        self.models: ModelSlot = ModelSlot(
            model,
            resolve=lambda name: resolve_model(name, cwd=self.cwd, settings=self.settings),
            emit=self.emit,
            warm_up=warm,
        )
        ws.wire(
            self,
            store=self.store,
            gate=gate,
            ask_policy=ask_policy,
            mode=lambda: self.mode,
            request_halt=lambda reason: self.turns.request_halt(reason),
        )
        self.permissions, self.permission_engine = ws.permissions, ws.engine
        self.hooks, self.executor, self.mcp = ws.hooks, ws.executor, ws.mcp
        self.extensions = ws.extensions
        found = self.settings.value("checkpoints")
        limits, problems = Limits.of(found[0] if found else None)
        budget, budget_problems = limits_from_settings(self.settings, max_budget_usd)
        self._notices = [*notices, *ws.notices, *problems, *budget_problems]
        #: The files before each prompt and each tool call that can change them.
        self.checkpoints = Checkpointer(
            self.cwd, checkpoints_dir(self.id) if persist else None, self.emit, limits
        )
        self.executor.checkpoints = self.checkpoints
        self.rewinder = Rewinder(self.checkpoints, self.journal, lambda: self.running)
        #: Commands Bash started in the background (they end with the session).
        self.tasks = TaskManager(self.emit, tasks_dir(self.id) if persist else None)
        ws.offer_tasks(self.tasks, self.executor, self.permission_engine)
        #: Language servers (started lazily; diagnostics after edits, the LSP tool).
        self.lsp = session_lsp(self)
        self.executor.lsp = EditWatch(self.lsp)
        if self.lsp.has_servers:  # the model's LSP tool, where a server can answer
            self.executor.add(LspTool(self.lsp))
        self._notices += self.lsp.problems
        self.usage: UsageMeter = UsageMeter(
            self.emit, lambda: self.model, self.context_tokens, budget
        )
        self.compactor = Compactor(self)
        self._default_prompt = not system_prompt
        prompt = system_prompt or build_system_prompt(self.cwd, ws.extensions.prompt_extra())
        self.turns: TurnHost = TurnHost(
            self,
            self.messages,
            self.executor,
            prompt,
            self.models,
            steering=SteeringQueue(),
            mcp=self.mcp,
            compaction=self.compactor,
            context=self.context,
            notes=self.tasks.take_notes,
        )
        self.runs: RunController = RunController(
            self.turns,
            self.usage,
            prompt_message=ws.prompt_message,
            after_run=self._end_run,
            on_cancel=self.mcp.questions.cancel_all,  # servers' sampling and form questions
            require_open=self._require_open,
            after_prompt=self._checkpoint_prompt,
        )
        self.steering = self.turns.steering
        #: The tools the next request offers; a reason a hook gave to end the run.
        self.tool_specs, self.halt_requested = self.turns.tool_specs, self.turns.halt_requested
        self._group: anyio.abc.TaskGroup | None = None
        self._closed = False
        #: Which front end holds it (the live registry says so): tui, print, serve, acp.
        self.front_end = "python"
        #: The background holder's socket when a detached terminal runs it (``background``).
        self.attach = ""
        #: Why it ends, for the ``SessionEnd`` hooks (``clear``, ``resume``, ``other``).
        self.end_reason = "other"

    async def stop_task(self, task_id: str) -> TaskInfo:
        """Stop a background task (the views' stop key): its whole process group ends.
        ``HarnessError`` for an id that is not one of this session's tasks."""
        if self.tasks.get(task_id) is None:
            raise HarnessError(
                f"no background task {task_id!r}",
                hint="running: " + (", ".join(t.task_id for t in self.tasks.running()) or "none"),
            )
        return await self.tasks.stop(task_id)

    def sandbox_status(self) -> SandboxStatus:
        """The Bash sandbox's state, writable paths and allowed domains (``/sandbox``)."""
        sandbox = getattr(self.workspace, "sandbox", None)
        return sandbox.status() if sandbox is not None else SandboxStatus()

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
        saved, arguments = resume_options(saved, model, mode, options)
        session = cls(**arguments)
        session._notices += session.journal.resume(saved, entry_id, session.model)
        session.turns.plan = saved.plan
        session.name = saved.name
        session.steering.restore(saved.pending)
        session.usage.total, session.usage.total_cost_usd = saved.total_usage, saved.total_cost_usd
        session.hooks.transcript_path = str(saved.path)
        if session.persist:  # its images are beside its file, wherever that is
            session.images = ImageStore(saved.images_folder)
            session.checkpoints.use(Blobs(saved.checkpoints_folder))
        session.checkpoints.records += saved.checkpoints
        return session

    # --- collaborators' state, as the session's -------------------------------------

    model = held(lambda s: s.models.choice)  # the model of the next request
    settings = held(lambda s: s.workspace.settings)
    trusted = held(lambda s: s.workspace.trusted)  # may the folder's configuration apply
    warm_up = held(lambda s: s.models.warm_up)
    run_id = held(lambda s: s.runs.run_id)  # the active run's (None: idle)
    file = held(lambda s: s.journal.file)  # the session file (None: not saved)
    tree = held(lambda s: s.journal.tree)  # every entry of the conversation, all branches
    system_prompt = held(lambda s: s.turns.system_prompt)
    plan = held(lambda s: s.turns.plan)  # the todo list the model keeps
    total_usage = held(lambda s: s.usage.total)
    total_cost_usd = held(lambda s: s.usage.total_cost_usd)  # None: no known price

    @property
    def running(self) -> bool:
        return self.runs.run_id is not None

    @property
    def is_open(self) -> bool:
        """Entered and not yet closed."""
        return self._group is not None and not self._closed

    # --- lifecycle ------------------------------------------------------------------

    async def __aenter__(self) -> Session:
        if self._group is not None or self._closed:
            raise HarnessError("a session can be entered only once")
        group = anyio.create_task_group()
        await group.__aenter__()
        self._group = group
        self.live = LiveBeacon(self, self.front_end)  # its record in the live registry
        group.start_soon(self.live.run)
        self.runs.open(group)
        self.tasks.group = group
        self.models.open(group)
        self.checkpoints.open(group)
        self.lsp.start(group)
        problem = self.journal.open(
            group,
            self.store,
            session_id=self.id,
            cwd=str(self.cwd),
            version=__version__,
            on_failure=self._log_failed,
        )
        self._notices += [problem] if problem else []
        await self.emit(
            SessionStarted,
            cwd=str(self.cwd),
            model=self.model.name,
            permission_mode=self.mode,
            source=self.journal.source,
            version=__version__,
            run_budget_usd=self.usage.limits.run_usd,
            session_budget_usd=self.usage.limits.session_usd,
            name=self.name or None,
        )
        self._notices[:0] = self.models.notices()  # first: what model this is
        for notice in self._notices:
            await self.emit(Notice, message=notice)
        await self.journal.announce_restored(self.id, self.plan, self.steering.pending)
        if self._name_at_open.strip():
            await self.rename(self._name_at_open)
        if self.warm_up:  # alongside the MCP servers and hooks starting next
            self.warm_soon()
        if self.worktree is not None:
            await self.worktree.started(self.hooks)
        self.turns.system_prompt += await self.workspace.open(group, self.journal.source)
        return self

    def _log_failed(self, message: str) -> None:
        if self._group is not None and not self._closed:
            self._group.start_soon(self.warn, message)

    async def __aexit__(self, *exc_info: object) -> bool | None:
        try:
            with anyio.CancelScope(shield=True):
                await self._shutdown()
        finally:
            group, self._group = self._group, None
            assert group is not None
            result = await group.__aexit__(*exc_info)  # type: ignore[arg-type]
            self.mark_closed()
        return result

    async def _shutdown(self) -> None:
        # Messages still queued stay queued (in the file too): a resumed session has them.
        self.runs.closing = True
        self.models.stop_warming()
        await self.cancel()
        await self.tasks.aclose()  # before the sandbox (its proxy) and the file close
        await self.lsp.aclose()
        if self.worktree is not None:  # its processes have ended: nothing writes there now
            await self.worktree.end(self.hooks, self.emit)
        await self.workspace.close(self.end_reason)
        self._closed = True
        await self.emit(SessionEnded)
        self.store.close()
        await self.journal.aclose()
        await self.executor.aclose()
        await self.models.aclose()
        self.checkpoints.close()

    # --- facts out ------------------------------------------------------------------

    async def emit(self, event_type: type[Event], /, **fields: Any) -> Event:
        """Create an event of this session (and its current run) and append it. Inside a
        sub-agent, the event is stamped with the id of the Task call that started it."""
        parent = SUBAGENT_CALL.get()
        if parent is not None and "parent_tool_call_id" not in fields:
            fields["parent_tool_call_id"] = parent
        return await self.store.append(
            event_type(session_id=self.id, run_id=self.runs.run_id, **fields)
        )

    async def warn(self, message: str) -> None:
        """A warning notice for every view (and the file)."""
        await self.emit(Notice, message=message, level="warning")

    async def add_usage(self, usage: TokenUsage, model: ModelChoice | None = None) -> float | None:
        """Add usage to the totals and the cost; what it cost. ``model``: the model
        that produced it (a sub-agent's own), by default the session's."""
        return await self.usage.add(usage, model)

    def over_budget(self, next_estimate: float) -> BudgetStop | None:
        """The dollar budget a request expected to cost ``next_estimate`` would pass."""
        return self.usage.over_budget(next_estimate)

    def context_tokens(self) -> int:
        """Tokens the next request would take: the provider's last count plus an
        estimate of what was added since."""
        return self.context.used(self.system_prompt, self.tool_specs, self.messages)

    def context_breakdown(self) -> ContextBreakdown:
        """The context by part (system prompt, tools, messages), for ``/context``."""
        memory = self.workspace.extensions.memory.text
        return self.context.breakdown(self.system_prompt, self.tool_specs(), self.messages, memory)

    # --- commands in ----------------------------------------------------------------

    async def submit(
        self, text: str, images: Sequence[ImageBlock] = (), *, run_id: str | None = None
    ) -> str:
        """Start a run with this prompt (and images from ``attach_image``); returns its
        run id (``run_id`` if given). Raises ``SessionBusyError`` while a run is active
        (use ``steer`` or ``follow_up`` then)."""
        images = await self._with_mentions(text, images)
        run_id = self.runs.submit(text, images, run_id)
        await self._unseen(images)
        return run_id

    async def steer(self, text: str, images: Sequence[ImageBlock] = ()) -> QueuedMessage | None:
        """Deliver at the next turn boundary of the active run. When idle, start a run
        with it instead (returns None)."""
        images = await self._with_mentions(text, images)
        await self._unseen(images)
        return await self.runs.enqueue(text, "steer", images)

    async def follow_up(self, text: str, images: Sequence[ImageBlock] = ()) -> QueuedMessage | None:
        """Run after the active run ends. When idle, start a run with it (returns None)."""
        images = await self._with_mentions(text, images)
        await self._unseen(images)
        return await self.runs.enqueue(text, "follow_up", images)

    async def attach_image(self, data: bytes, name: str = "clipboard") -> ImageBlock:
        """Check ``data`` and keep it with the session, for a message to carry; raises
        ``ImageError`` naming ``name`` and the reason when it is not an image to send."""
        return await self.workspace.attach_image(self.images, data, name)

    async def attach_image_file(self, path: str | Path) -> ImageBlock:
        """``attach_image`` for a file (relative to the session's folder); a file a
        ``Read`` deny rule covers is refused like one that is no image."""
        return await self.workspace.attach_image_file(self.images, Path(path))

    async def _with_mentions(
        self, text: str, images: Sequence[ImageBlock]
    ) -> tuple[ImageBlock, ...]:
        """``images`` and the image files ``text`` mentions (``@shot.png``), each once: in
        the message's events as in what the model gets. One that cannot be attached is
        a warning notice, and the message goes without it."""
        unique: dict[str, ImageBlock] = {}
        for image in (*images, *await self.workspace.attach_image_mentions(text)):
            unique.setdefault(image.sha256, image)  # the first keeps its name (a chip's)
        return tuple(unique.values())

    async def _unseen(self, images: Sequence[ImageBlock]) -> None:
        """Tell the user, before the request goes, that the model will not see them."""
        if images and self.model.images is None:
            await self.warn(
                f"{self.model.name} cannot see images: the model gets "
                f"{'a text placeholder' if len(images) == 1 else 'text placeholders'} for "
                f"{', '.join(i.label for i in images)}; switch to a model with vision "
                "(/model) to show it"
            )

    async def pull_back(self, steering_id: str | None = None) -> QueuedMessage | None:
        """Take a pending message (the newest by default) back out of the queue."""
        return await self.runs.pull_back(steering_id)

    async def cancel(self) -> list[QueuedMessage]:
        """Stop the active run and everything it started; returns the messages that
        were still queued (they go back to the user). Returns once the run has ended."""
        return await self.runs.cancel()

    async def set_model(self, name: str | ModelChoice) -> ModelChoice:
        """Switch models. During a run the switch waits for the next turn boundary."""
        choice = await self.models.switch(name, wait=self.running)
        if choice.images is None and images_in(self.messages):
            await self.warn(
                f"{choice.name} cannot see images: the images earlier in this conversation "
                "go to it as short text placeholders"
            )
        return choice

    def warm_soon(self, model: str | ModelChoice | None = None) -> None:
        """``warm`` in the background (nothing when the session is not open)."""
        self.models.warm_soon(model)

    async def warm(self, model: str | ModelChoice | None = None) -> None:
        """Get a provider ready before a request needs it (see ``ModelSlot.warm``)."""
        await self.models.warm(model)

    async def set_mode(self, mode: str) -> None:
        """Change the permission mode; it applies to the next tool call."""
        new = check_mode(mode)
        previous, self.mode = self.mode, new
        if new != previous:
            await self.emit(ModeChanged, mode=new, previous_mode=previous)

    async def rename(self, name: str) -> str:
        """Name the session (``SESSION_RENAMED``), on one line and at most
        ``MAX_NAME`` characters; returns the name. Raises ``HarnessError`` for a blank one."""
        new = " ".join(name.split())[:MAX_NAME]
        if not new:
            raise HarnessError("a session's name needs a character other than spaces")
        previous, self.name = self.name, new
        if new != previous:
            await self.emit(SessionRenamed, name=new, previous_name=previous or None)
        return new

    async def remember(self, text: str, scope: str = "project") -> str:
        """Keep ``text`` in this project's memory (or the user's: ``scope`` ``user``), as
        the user asked (a ``#`` message): ``MEMORY_UPDATED`` by ``user``; returns the
        entry's id. Raises ``MemoryRefused`` (a ``HarnessError``) saying why not."""
        from harness_tui.core.memory.tool import stores

        store = stores(self.cwd)["user" if scope == "user" else "project"]
        entry = await anyio.to_thread.run_sync(lambda: store.add(text, session=self.id))
        await self.emit(
            MemoryUpdated, action="add", scope=store.scope, entry_id=entry.id,
            text=entry.text, by="user",
        )  # fmt: skip
        return entry.id

    async def forget_memory(self, entry_id: str) -> str:
        """Remove a memory entry (either scope) as the user asked (``/memory``):
        ``MEMORY_UPDATED`` by ``user``; returns its text. ``MemoryRefused`` when no
        entry has that id."""
        from harness_tui.core.memory.store import MemoryRefused
        from harness_tui.core.memory.tool import stores

        for store in stores(self.cwd).values():
            if any(e.id == entry_id for e in store.entries()):
                entry = await anyio.to_thread.run_sync(store.remove, entry_id)
                await self.emit(
                    MemoryUpdated, action="remove", scope=store.scope, entry_id=entry.id,
                    text=entry.text, by="user",
                )  # fmt: skip
                return entry.text
        raise MemoryRefused(f"no memory entry {entry_id!r}")

    async def fork(self, entry_id: str | None, *, before: bool = False) -> BranchChanged:
        """Go on from another entry of the conversation tree (an id or unique prefix;
        None: the start), leaving the current branch as it is in the file. With
        ``before``, from the entry's parent: to ask a user message again, differently."""
        if self.running:
            raise SessionBusyError(
                "cannot fork while a run is active", hint="wait for it to end, or cancel it"
            )
        return await self.journal.fork(entry_id, before=before)

    def rewind_points(self) -> list[RewindPoint]:
        """The prompts of the current branch one can rewind to (1 = the first)."""
        return self.rewinder.points()

    async def preview_rewind(self, target: int | str) -> RewindPlan:
        """What rewinding the files to the prompt ``target`` (its number, or its
        checkpoint id) would do: each file with its action, diff and problem."""
        return await self.rewinder.preview(target)

    async def rewind(
        self, target: int | str, mode: RewindMode = "both", *, hand_edits: HandEdits = "refuse"
    ) -> Rewound:
        """Go back to before the prompt ``target``: its files (``code``: every file
        changed since put back), the conversation (a fork to just before it), or
        ``both``. Files changed by hand since: ``hand_edits`` ``refuse`` (raise
        ``RewindConflict``, change nothing), ``keep`` or ``overwrite``."""
        return await self.rewinder.rewind(target, mode, hand_edits)

    async def redo(self, *, hand_edits: HandEdits = "refuse") -> Rewound:
        """Undo the last rewind (its files and its fork)."""
        return await self.rewinder.redo(hand_edits)

    async def _checkpoint_prompt(self, entry_id: str | None) -> None:
        if entry_id is not None:
            tools = self.executor.tools.values()
            await self.checkpoints.prompt(entry_id, build=any(map(self.checkpoints.covers, tools)))

    async def compact(self, instructions: str | None = None) -> ContextCompacted | None:
        """Summarise the older part of the conversation now (``/compact``); during a run,
        at its next turn boundary (returns None then). ``instructions`` tell the model
        what the summary should keep."""
        self._require_open()
        return await self.compactor.manual(
            instructions, None if self.running else self.models.current
        )

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
        self.turns.system_prompt += await self.workspace.resolve_trust(
            trusted, remember, self.journal.source, skills_to_prompt=self._default_prompt
        )
        if trusted:  # the project's own language servers may now start
            for problem in refresh_lsp(self.lsp, self):
                await self.warn(problem)

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
        expansion = self.workspace.expand(name, arguments)
        prompt = await prompt_expansion(
            self.workspace.hooks, name, arguments, expansion.prompt, expansion.source
        )
        running = self.running
        if expansion.model is not None and not running:
            await self.models.switch_for_run(expansion.model)
        self.workspace.grant_for_run(expansion.allowed_tools, f"allowed-tools of /{name}")
        if running:
            await self.steer(prompt)
            return None
        return await self.submit(prompt)

    def run(self, prompt: str) -> AsyncGenerator[AgentEvent, None]:
        """Start a run and yield every event until it ends (``RUN_COMPLETED`` or
        ``RUN_CANCELLED``). Leaving the loop early cancels the run."""
        return self.runs.stream(self.store, prompt)

    # --- what the collaborators call back -------------------------------------------

    def _require_open(self) -> None:
        if self._group is None or self._closed:
            raise HarnessError(
                "the session is not open",
                hint="use `async with session:` or SessionManager.create()",
            )

    async def _end_run(self) -> None:
        """Take back what a slash command or skill granted for its run (tools, a model)."""
        self.workspace.end_run_grants()
        await self.models.end_run()


class SessionManager(Sessions[Session]):
    """Many sessions at once (the web server, tests): see ``manager.Sessions``."""

    def __init__(self) -> None:
        super().__init__(Session)
