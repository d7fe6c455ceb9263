"""What a durable service's web app sees: every session of the service, from the database.

The web app finds sessions through a ``SessionDirectory`` (``web.sessions``). Here that
is ``DurableSessions``: one ``MirrorSession`` per session of the service, in every
process. A mirror does not run anything. Its event store is filled from the session's
lines in the database (``Tailer``: one query a poll tells which sessions grew), with
the events' own ``seq``, so a browser connected to any process reads the same numbered
stream and resumes by ``seq`` wherever it reconnects. Its commands go to the service:
a prompt is a queued run (any process may take it), a steer is a DBOS message to the
run's workflow, a permission answer or a cancel goes to the run's inbox.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio

from harness_tui.core.errors import HarnessError
from harness_tui.core.event_store import EventStore
from harness_tui.core.events import RUN_END_TYPES, new_id, parse_event
from harness_tui.core.providers.models import resolve_model
from harness_tui.core.run.steering import QueuedMessage
from harness_tui.web.sessions import TooManySessions

if TYPE_CHECKING:
    from harness_tui.durable.service import DurableService
    from harness_tui.durable.tables import SessionRow

log = logging.getLogger(__name__)

#: How often each process looks for new lines of the service's sessions.
TAIL_POLL_S = 0.05
#: How long a prompt waits for the session's last run to be closed by its process.
RELEASE_WAIT_S = 10.0


class NotDurable(HarnessError):
    """A command a durable service does not offer (yet)."""


class MirrorSession:
    """A session of the service as this process sees it (see the module's doc)."""

    def __init__(self, service: DurableService, row: SessionRow) -> None:
        self.service = service
        self.id = row.session_id
        self.store = EventStore()
        options = row.options
        self.cwd = Path(options.get("cwd") or os.getcwd())
        self.mode = str(options.get("mode") or "default")
        self.started_mode = self.mode
        self._model_name = str(options.get("model") or "")
        self.name = ""
        self.settings = None
        self.steering: list[QueuedMessage] = []
        self.read_n = 0
        #: The run queued or running (workflow id, run id), from the database.
        self.workflow_id = row.workflow_id
        self.run_id = row.run_id
        #: When this process last changed the two (a database read from before does
        #: not undo it).
        self.changed_at = 0.0
        #: Runs whose end this mirror has seen (their execution may still be closing).
        self.ended: set[str] = set()
        #: Set (and replaced) each time the tailer has read the database.
        self.refreshed = anyio.Event()
        self._model: Any = None

    def __repr__(self) -> str:
        return f"<MirrorSession {self.id} {'running' if self.running else 'idle'}>"

    @property
    def running(self) -> bool:
        return self.workflow_id is not None

    @property
    def model(self) -> Any:
        if self._model is None or self._model.name != self._model_name:
            self._model = resolve_model(self._model_name or None)
        return self._model

    # --- events in ----------------------------------------------------------------

    async def take(self, lines: list[bytes]) -> None:
        """The session's next lines from the database."""
        for data in lines:
            self.read_n += 1
            try:
                event = parse_event(data)
            except ValueError:
                continue  # the header or a conversation entry
            if not getattr(event, "seq", 0) or event.seq <= self.store.last_seq:
                continue
            if event.seq != self.store.last_seq + 1:
                log.warning(
                    "%s: events %d..%d missing", self.id, self.store.last_seq + 1, event.seq - 1
                )
                self.store.number_from(event.seq - 1)
            kind = event.type
            if kind == "MODE_CHANGED":
                self.mode = event.mode  # type: ignore[attr-defined]
            elif kind == "MODEL_CHANGED":
                self._model_name = event.model  # type: ignore[attr-defined]
            elif kind == "SESSION_RENAMED":
                self.name = event.name  # type: ignore[attr-defined]
            elif kind in RUN_END_TYPES:
                self.steering = []
                if event.run_id:
                    self.ended.add(event.run_id)
            await self.store.ingest(event)

    # --- commands out -------------------------------------------------------------

    async def submit(self, text: str, images: Any = ()) -> str:
        if images:
            raise NotDurable("images are not sent to durable runs yet", hint="send text only")
        if self.run_id in self.ended:
            # The last run has ended; its process is closing the session: wait for it.
            with anyio.move_on_after(RELEASE_WAIT_S):
                while self.workflow_id is not None and self.run_id in self.ended:
                    await self.refreshed.wait()
        run_id, workflow_id = await self.service.submit(self.id, text)
        self.workflow_id, self.run_id = workflow_id, run_id
        self.changed_at = time.monotonic()
        return run_id

    async def steer(self, text: str, images: Any = ()) -> QueuedMessage | None:
        return await self._queue(text, "steer", images)

    async def follow_up(self, text: str, images: Any = ()) -> QueuedMessage | None:
        return await self._queue(text, "follow_up", images)

    async def _queue(self, text: str, kind: str, images: Any) -> QueuedMessage | None:
        if not self.running or self.workflow_id is None:
            await self.submit(text, images)
            return None
        if images:
            raise NotDurable("images are not sent to durable runs yet", hint="send text only")
        item = QueuedMessage(new_id("steer"), text, kind, ())  # type: ignore[arg-type]
        await self.service.steer(self.workflow_id, text, kind, item.id)
        return item  # the run queues it under this id (STEERING_QUEUED)

    async def cancel(self) -> list[QueuedMessage]:
        if self.running:
            await anyio.to_thread.run_sync(self.service.tables.post, self.id, "cancel", {})
        return []

    async def pull_back(self, steering_id: str | None = None) -> QueuedMessage | None:
        return None  # a message sent to a durable run is delivered at its next step

    async def resolve_permission(
        self, request_id: str, decision: str, reason: str | None = None
    ) -> None:
        body = {"request_id": request_id, "decision": decision, "reason": reason}
        await anyio.to_thread.run_sync(self.service.tables.post, self.id, "permission", body)

    async def set_model(self, name: str) -> Any:
        raise NotDurable(
            "a durable session keeps the model it was created with",
            hint='create a new session (POST /api/session with "model")',
        )

    async def set_mode(self, mode: str) -> None:
        raise NotDurable(
            "a durable session keeps the permission mode it was created with",
            hint='create a new session (POST /api/session with "mode")',
        )

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)

        def refused(*_args: Any, **_kwargs: Any) -> Any:
            raise NotDurable(
                f"{name.replace('_', ' ')} is not available for a durable session",
                hint="the durable service runs prompts, steering, cancels and permission "
                "answers; open the session in the TUI (harness-tui --resume ID) for the rest",
            )

        return refused


class DurableSessions:
    """The web app's sessions: every open session of the service."""

    can_create = True

    def __init__(self, service: DurableService, *, max_sessions: int) -> None:
        self.service = service
        self.max_sessions = max_sessions
        self._mirrors: dict[str, MirrorSession] = {}

    def find(self, session_id: str) -> MirrorSession | None:
        return self._mirrors.get(session_id)

    def list(self) -> list[MirrorSession]:
        return list(self._mirrors.values())

    def health(self) -> dict[str, Any]:
        return {**self.service.health(), "sessions": len(self._mirrors)}

    async def create(self, model: str | None, mode: str | None) -> MirrorSession:
        if len(self._mirrors) >= self.max_sessions:
            raise TooManySessions(self.max_sessions)
        options = self.service.session_options({})
        stored: dict[str, Any] = {
            "model": model or options.get("model"),
            "mode": mode or options.get("mode") or "default",
            "cwd": str(options.get("cwd") or os.getcwd()),
        }
        resolve_model(stored["model"])  # an unknown model: refused now
        session_id = new_id("ses")
        await anyio.to_thread.run_sync(self.service.tables.add_session, session_id, stored)
        await self.refresh()
        return self._mirrors[session_id]

    async def close(self, session_id: str) -> None:
        mirror = self._mirrors.get(session_id)
        if mirror is not None and mirror.running:
            await mirror.cancel()
        await anyio.to_thread.run_sync(self.service.tables.close_session, session_id)
        self._mirrors.pop(session_id, None)

    async def refresh(self) -> None:
        """Take what changed in the database: new sessions, new lines, runs."""
        tables = self.service.tables
        asked = time.monotonic()
        growth = await anyio.to_thread.run_sync(tables.growth)
        for session_id in [s for s in self._mirrors if s not in growth]:
            self._mirrors.pop(session_id).store.close()
        for session_id, (last_n, workflow_id, run_id) in growth.items():
            mirror = self._mirrors.get(session_id)
            if mirror is None:
                row = await anyio.to_thread.run_sync(tables.session_row, session_id)
                if row is None:
                    continue
                mirror = self._mirrors[session_id] = MirrorSession(self.service, row)
            if last_n > mirror.read_n:
                lines = await anyio.to_thread.run_sync(
                    tables.read_lines, session_id, mirror.read_n, last_n
                )
                await mirror.take(lines)
            if asked > mirror.changed_at:
                mirror.workflow_id, mirror.run_id = workflow_id, run_id
            mirror.refreshed.set()
            mirror.refreshed = anyio.Event()

    async def tail(self) -> None:
        """Until cancelled: keep every mirror up to date."""
        service = self.service
        while True:
            try:
                await self.refresh()
            except Exception as exc:  # the database away for a moment
                log.warning("reading the service's sessions failed: %s", exc)
            with anyio.move_on_after(TAIL_POLL_S):  # or at once for this process's runs
                await service.new_lines.wait()
            if service.new_lines.is_set():
                service.new_lines = anyio.Event()
