"""One execution of a durable run: the session's own loop, with DBOS steps at its seams.

A run is a DBOS workflow (``service.run_workflow``). Its execution opens the session
from the database (its file's lines as they were when the run began), submits the
prompt and waits for the run (and its queued follow-ups) to end. On the way:

- each **model call** is a step whose result is the list of stream chunks: live, they
  reach the loop as they arrive; replayed, the recorded chunks are fed to it again;
- each **tool call** is two steps, ``tool-begin`` and ``tool``: the second's result is
  the ``ToolResult``. Replayed, a finished call is never run again. A call whose
  ``tool-begin`` is recorded but whose ``tool`` is not was running when its process
  died: it is reported to the model as interrupted, or run again if the tool is
  read-only;
- at each turn's boundary (after its tool calls, or after an answer without any),
  steering messages sent to the workflow (``DBOS.send``, topic ``steer``) are received
  (``DBOS.recv``, recorded too) and queued in the session, which delivers them next.

**Replay and the session file.** Going through recorded steps, the loop emits the
events and entries the first execution emitted; those are in the database already, so
until a step's body really runs ("live") nothing is written: the lines are held. When
the first step goes live, the lines stored since the last replayed step are counted
(``D``): the first ``D`` held lines are what was stored; the rest are written. This
holds because every line emitted before a step's body starts is stored before it
starts, and every line its body emits is stored before its result is recorded
(``flush``). ``seq`` numbers and generated ids are restored after each replayed step
from its record, so replayed lines are the same lines.

Hook commands between steps (UserPromptSubmit, Stop, PostToolBatch) are steps of their
own when any is configured (``STEP_HOOKS``); those of the session's opening and end run
with each execution. Tool calls run one at a time in a durable run (parallel steps
would be recorded in a racy order).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import anyio

from harness_tui.core.events import ID_SOURCE, Notice
from harness_tui.core.providers.base import ToolCallBegin
from harness_tui.core.storage.writer import LINE_TAP
from harness_tui.core.tools.base import ToolResult

if TYPE_CHECKING:
    from harness_tui.core.session.session import Session
    from harness_tui.durable.tables import Tables


class Host(Protocol):
    """What an execution needs of its service (``service.DurableService``)."""

    tables: Tables
    executor_id: str
    stopping: bool

    def session_options(self, stored: dict[str, Any]) -> dict[str, Any]: ...

    def stored(self) -> None: ...


log = logging.getLogger(__name__)

INTERRUPTED = (
    "interrupted: the process running this tool call stopped before it finished (the "
    "run was recovered on another process or after a restart); it was not run again, "
    "so its effects may be partial. Check the state before calling it again."
)
#: Hooks a run fires between its steps: each (when any is configured) a step of its
#: own, so a replay does not run their commands again. (Those around a tool call run
#: inside its step; those of the session's opening and end run with each execution.)
STEP_HOOKS = frozenset({"UserPromptSubmit", "UserPromptExpansion", "Stop", "PostToolBatch"})
#: Read-only tools that are never run again after a crash: they run other tools.
RUNS_OTHER_TOOLS = frozenset({"Task"})
#: How often a running execution looks for permission answers and cancels.
INBOX_POLL_S = 0.2
#: How long the session file's writer gathers events before a write (each write is a
#: database insert too): short, so browsers on other processes follow closely.
LINE_COALESCE_S = 0.005


class IdCounter:
    """Ids from a counter: the same sequence each time a run is executed."""

    def __init__(self, stem: str) -> None:
        self.stem = stem.replace("_", "")[-16:]
        self.count = 0

    def __call__(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}_{self.stem}{self.count:06d}"


class Execution:
    """One execution of one run's workflow in this process."""

    def __init__(self, service: Host, session_id: str, run_id: str, base_n: int) -> None:
        self.service = service
        self.tables = service.tables
        self.session_id = session_id
        self.run_id = run_id
        self.base_n = base_n
        self.ids = IdCounter(run_id)
        self.session: Session | None = None
        #: Going through recorded steps: lines are held, not written.
        self.replaying = True
        self.held: list[bytes] = []
        #: Lines stored when the last replayed step's record was made.
        self.mark_n = base_n
        #: Lines of this session in the database (as far as this execution knows).
        self.stored_n = base_n
        self._pending: list[bytes] = []
        self._store_lock = anyio.Lock()
        self._kick = anyio.Event()  # lines are pending: the pump stores them
        self._last_live = False

    # --- the session file, tapped -------------------------------------------------

    def tap(self, data: bytes) -> bool:
        lines = data.splitlines(keepends=True)
        if self.service.stopping:
            return False  # a stopping process's cancel is not the run's
        if self.replaying:
            self.held.extend(lines)
            return False
        self._pending.extend(lines)
        self._kick.set()
        return True

    async def _pump(self) -> None:
        """Store lines as they are written, not only at step boundaries: what a
        step's body emits (a permission question, a tool's progress) reaches every
        process while the step runs."""
        while True:
            await self._kick.wait()
            self._kick = anyio.Event()
            try:
                await self.store_pending()
            except Exception as exc:  # the database away: the next step's flush retries
                log.warning("storing %s's lines failed: %s", self.session_id, exc)
                await anyio.sleep(1)

    async def store_pending(self) -> None:
        """Copy the lines written so far to the database."""
        async with self._store_lock:
            pending, self._pending = self._pending, []
            if not pending or self.service.stopping:
                return
            first = self.stored_n + 1
            try:
                await anyio.to_thread.run_sync(
                    self.tables.append_lines, self.session_id, first, pending
                )
            except BaseException:
                self._pending[:0] = pending  # kept for the next try
                raise
            self.stored_n += len(pending)
        self.service.stored()  # this process's browsers need not wait for the next poll

    async def flush(self) -> None:
        """Everything emitted so far is in the file and in the database."""
        session = self.session
        log_ = session.journal.log if session is not None else None
        if log_ is not None:
            await log_.flush()
        await self.store_pending()

    async def go_live(self) -> None:
        """The first step whose body runs: write what the database lacks."""
        if not self.replaying:
            return
        db_n = await anyio.to_thread.run_sync(self.tables.line_count, self.session_id)
        stored = (
            await anyio.to_thread.run_sync(
                self.tables.read_lines, self.session_id, self.base_n, db_n
            )
            if db_n > self.base_n
            else []
        )
        already = db_n - self.mark_n
        rest = self.held[already:] if already < len(self.held) else []
        partial = already > len(self.held)  # a step's body had begun when it stopped
        self.held = []
        self.replaying = False
        self.stored_n = db_n
        session = self.session
        assert session is not None
        journal_log = session.journal.log
        if journal_log is not None and stored:
            # The local file has the lines up to ``base_n``: add the stored ones, as is.
            journal_log.write_lines(b"".join(_line(x) for x in stored), tapped=False)
        session.store.number_from(max((_seq(x) for x in stored), default=0))
        if rest and journal_log is not None:
            journal_log.write_lines(b"".join(rest))  # tapped: to the database too
        if stored:  # (once: go_live returns at once when not replaying)
            what = " (a step was cut off half-way)" if partial else ""
            await session.emit(
                Notice,
                message=f"this run was recovered by {self.service.executor_id} after the "
                f"process running it stopped{what}; it goes on from its last finished step",
                level="warning",
            )

    # --- steps --------------------------------------------------------------------

    async def step(
        self,
        name: str,
        body: Callable[[], Awaitable[Any]],
        on_replay: Callable[[Any], Awaitable[None]] | None = None,
    ) -> Any:
        """``body`` as a DBOS step: run (live) or its recorded result (replayed).
        ``on_replay``: replays what the body did for the loop (a model call's chunks),
        before the step's record restores the numbering."""
        from dbos import DBOS

        live = False

        async def run() -> tuple[Any, int, int, int]:
            nonlocal live
            live = True
            await self.go_live()
            await self.flush()
            value = await body()
            await self.flush()
            assert self.session is not None
            return value, self.stored_n, self.session.store.last_seq, self.ids.count

        await self._write_file()  # what was emitted before the step is tapped now
        value, stored_n, seq, count = await DBOS.run_step_async({"name": name}, run)
        self._last_live = live
        if not live:
            if on_replay is not None:
                await on_replay(value)
                await self._write_file()
            self.held.clear()
            self.mark_n = stored_n
            assert self.session is not None
            self.session.store.number_from(seq)
            self.ids.count = max(self.ids.count, count)
        return value

    async def _write_file(self) -> None:
        session = self.session
        log_ = session.journal.log if session is not None else None
        if log_ is not None:
            await log_.flush()

    async def receive_steers(self) -> None:
        """Queue the steering messages sent to this run (recorded by DBOS)."""
        from dbos import DBOS

        session = self.session
        assert session is not None
        while True:
            message = await DBOS.recv_async("steer", timeout_seconds=0)
            if not message:
                return
            kind = "follow_up" if message.get("kind") == "follow_up" else "steer"
            if session.running:
                text, item_id = str(message.get("text", "")), message.get("id") or None
                await session.runs.enqueue(text, kind, (), item_id)

    # --- the seams ----------------------------------------------------------------

    def install(self, session: Session) -> None:
        """Model calls and tool calls of ``session``'s runs as steps."""
        turns = session.turns
        begin_turn = turns.begin_turn

        async def durable_begin_turn() -> Any:
            return DurableProvider(await begin_turn(), self)

        turns.begin_turn = durable_begin_turn  # type: ignore[method-assign]
        executor = turns.executor
        execute = executor.execute

        async def durable_execute(call: Any, ctx: Any) -> ToolResult:
            await self.step(f"tool-begin:{call.name}", _nothing)
            began_live = self._last_live
            tool = executor.tools.get(call.name)

            async def body() -> ToolResult:
                if not began_live and not may_run_again(tool):
                    return ToolResult.error(INTERRUPTED, "cancelled")
                return await execute(call, ctx)

            return await self.step(f"tool:{call.name}", body)  # type: ignore[no-any-return]

        executor.execute = durable_execute  # type: ignore[method-assign]
        after_tools = turns.after_tools

        async def durable_after_tools(calls: Any, results: Any) -> None:
            await after_tools(calls, results)
            await self.receive_steers()  # the turn's boundary: steers are delivered next

        turns.after_tools = durable_after_tools  # type: ignore[method-assign]
        hooks = session.hooks
        run_hooks = hooks.run

        async def durable_run_hooks(event: str, fields: Any, **options: Any) -> Any:
            if event not in STEP_HOOKS or not any(m.event == event for m in hooks.matchers):
                return await run_hooks(event, fields, **options)
            return await self.step(f"hook:{event}", lambda: run_hooks(event, fields, **options))

        hooks.run = durable_run_hooks  # type: ignore[method-assign]
        executor.concurrency_safe = lambda name: False  # type: ignore[method-assign]

    async def model_call(self, provider: Any, request: Any) -> AsyncGenerator[Any, None]:
        """The provider's stream as a step (see the module's doc). The chunks cross to
        the loop one by one, each taken only when the loop has handled the one before
        (and a last marker when it has handled them all): so the step's record is made
        after every event of the response is numbered, as in a replay."""
        send, receive = anyio.create_memory_object_stream[Any](0)

        async def hand_over(chunks: list[Any]) -> None:
            for chunk in chunks:
                await send.send(chunk)
            await send.send(_HANDLED)

        async def body() -> list[Any]:
            chunks: list[Any] = []
            async with contextlib.aclosing(provider.stream(request)) as stream:
                async for chunk in stream:
                    chunks.append(chunk)
                    await send.send(chunk)
            await send.send(_HANDLED)
            return chunks

        async def produce() -> None:
            try:
                chunks = await self.step(f"model:{provider.name}", body, hand_over)
                if not any(isinstance(c, ToolCallBegin) for c in chunks):
                    await self.receive_steers()  # no tools: the turn's boundary is now
            finally:
                send.close()

        task = asyncio.ensure_future(produce())
        try:
            async with receive:
                async for chunk in receive:
                    if chunk is not _HANDLED:
                        yield chunk
            await task  # its failure, if any
        finally:
            if not task.done():
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task

    # --- the whole execution --------------------------------------------------------

    async def run(self, text: str) -> str:
        """Open the session, run ``text`` and its follow-ups; how the last one ended:
        ``completed``, ``failed`` or ``cancelled`` (``harness-tui runs`` shows it)."""
        id_token = ID_SOURCE.set(self.ids)
        tap_token = LINE_TAP.set(self.tap)
        try:
            session = await self._open()
            self.session = session
            async with session, anyio.create_task_group() as group:
                if session.journal.log is not None:
                    session.journal.log.coalesce_s = LINE_COALESCE_S
                self.install(session)
                group.start_soon(self._inbox, session)
                group.start_soon(self._pump)
                await session.submit(text, run_id=self.run_id)
                await session.runs.wait_idle()
                group.cancel_scope.cancel()
            # Closed: its last lines (the end of the session) are written.
            await self.go_live()
            await self.store_pending()
            return _outcome(session)
        finally:
            LINE_TAP.reset(tap_token)
            ID_SOURCE.reset(id_token)

    async def _open(self) -> Session:
        from harness_tui.core.session.session import Session
        from harness_tui.core.storage.saved import session_path

        row = await anyio.to_thread.run_sync(self.tables.session_row, self.session_id)
        if row is None:
            raise RuntimeError(f"no session {self.session_id} in the service's database")
        options = dict(self.service.session_options(row.options))
        path = session_path(self.session_id)
        lines = (
            await anyio.to_thread.run_sync(self.tables.read_lines, self.session_id, 0, self.base_n)
            if self.base_n
            else []
        )
        await anyio.to_thread.run_sync(_materialise, path, lines)
        if not lines:
            session = Session(session_id=self.session_id, **options)
            session.front_end = "serve"  # as the live registry shows it
            return session
        options.pop("model", None)
        options.pop("mode", None)
        session = Session.resume(str(path), **options)
        session.journal.say_resumed = False
        session.front_end = "serve"
        # A resumed session numbers its events from 1 again; a durable session's events
        # are one stream (browsers resume by seq on any process): go on from the last.
        session.store.number_from(max((_seq(x) for x in lines), default=0))
        return session

    async def _inbox(self, session: Session) -> None:
        """Permission answers and cancels sent from any process."""
        while True:
            await anyio.sleep(INBOX_POLL_S)
            for kind, body in await anyio.to_thread.run_sync(self.tables.take, self.session_id):
                try:
                    if kind == "cancel":
                        await session.cancel()
                    elif kind == "permission":
                        await session.resolve_permission(
                            body["request_id"], body["decision"], body.get("reason")
                        )
                except Exception as exc:  # an answer to a question gone: nothing to do
                    log.info("inbox %s for %s: %s", kind, self.session_id, exc)


class DurableProvider:
    """A provider whose ``stream`` is a durable step; everything else is the real one."""

    def __init__(self, provider: Any, execution: Execution) -> None:
        self._provider = provider
        self._execution = execution

    def __getattr__(self, name: str) -> Any:
        return getattr(self._provider, name)

    def stream(self, request: Any) -> AsyncGenerator[Any, None]:
        return self._execution.model_call(self._provider, request)


def _outcome(session: Session) -> str:
    for event in reversed(session.store.replay(0)):
        if event.type == "RUN_CANCELLED":
            return "cancelled"
        if event.type == "RUN_COMPLETED":
            return "failed" if getattr(event, "is_error", False) else "completed"
    return "completed"


_HANDLED = object()  # the loop has handled every chunk of a response


def may_run_again(tool: Any) -> bool:
    """May a call cut off by a crash run again? Only a read-only tool's, and not one
    that runs other tools (a sub-agent, read-only itself, runs whatever it likes)."""
    return bool(getattr(tool, "read_only", False)) and getattr(tool, "name", "") not in (
        RUNS_OTHER_TOOLS
    )


async def _nothing() -> None:
    return None


def _line(data: bytes) -> bytes:
    return data if data.endswith(b"\n") else data + b"\n"


def _seq(data: bytes) -> int:
    if b'"seq"' not in data:
        return 0
    try:
        value = json.loads(data)
    except ValueError:
        return 0
    seq = value.get("seq") if isinstance(value, dict) else None
    return seq if isinstance(seq, int) and "type" in value else 0


def _materialise(path: Path, lines: list[bytes]) -> None:
    """The local session file: exactly the stored lines (replaced atomically)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not lines:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        return
    temporary = path.with_suffix(".durable.tmp")
    temporary.write_bytes(b"".join(_line(x) for x in lines))
    temporary.chmod(0o600)
    temporary.replace(path)
