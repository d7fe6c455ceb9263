"""The durable engine of ``harness-tui serve --durable``: DBOS, its queue, our tables.

One ``DurableService`` per process (DBOS is a process-wide singleton). It launches DBOS
on the server's own event loop, so the queue's workflows (async functions) run there,
beside the web app. Each run is the workflow ``harness_run``, enqueued on the queue
``harness-runs`` with a per-process limit (``--max-runs``): whichever process of the
service has room takes it.

Recovery is DBOS's. With SQLite (one process) the executor id is fixed, so DBOS
recovers the pending runs when the process starts again. With Postgres each process
has an id of its own and holds a Postgres advisory lock named after it for as long as
it lives (the lock goes with its connection when it dies, however it dies); every
process looks, once a second, for runs left pending by an executor whose lock is free,
and hands them to DBOS's recovery (``DBOS._recover_pending_workflows``, the call its own
admin endpoint makes), which re-enqueues them: one process takes each.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio

from harness_tui.core.config.paths import data_dir
from harness_tui.core.errors import HarnessError, SessionBusyError
from harness_tui.core.events import new_id
from harness_tui.durable.tables import Tables

log = logging.getLogger(__name__)

QUEUE = "harness-runs"
WORKFLOW = "harness_run"
APP_NAME = "harness-tui"
DEFAULT_MAX_RUNS = 4
#: DBOS recovers only the runs of its own application version: ours names the run
#: workflow's shape (its steps, in order), not the release, so runs left pending by one
#: release are recovered by the next. Change it when a release changes the steps.
WORKFLOW_VERSION = "harness-run-1"
#: How often each process looks for queued runs it has room for.
QUEUE_POLL_S = 0.025
#: How often a Postgres process looks for runs of processes that died.
RECOVERY_POLL_S = 1.0

_SERVICE: DurableService | None = None
_WORKFLOW: Any = None


def default_folder() -> Path:
    return data_dir() / "durable"


def redact_url(url: str) -> str:
    """The database URL without its password (for what is printed and served)."""
    import sqlalchemy as sa

    from harness_tui.durable.tables import engine_url

    try:
        parsed = sa.make_url(engine_url(url))
    except Exception:
        return url.split("@")[-1]
    return parsed.render_as_string(hide_password=True).replace("postgresql+psycopg", "postgresql")


def _write_ahead(url: str) -> None:
    """DBOS's SQLite file in write-ahead-log mode (kept by the file): a commit is one
    append and one sync, where the default journal takes several. As durable for a
    killed process; DBOS opens it as it always does."""
    import sqlite3

    if not url.startswith("sqlite:///"):
        return
    path = Path(url.removeprefix("sqlite:///"))
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with contextlib.closing(sqlite3.connect(path)) as connection:
        connection.execute("PRAGMA journal_mode=WAL")


def _sqlite_engine(url: str) -> Any:
    """DBOS's SQLite engine as DBOS makes it (immediate transactions, a long busy
    timeout, foreign keys), with ``synchronous=NORMAL``: in write-ahead-log mode a
    commit then survives the process being killed, not a power cut, and costs no sync."""
    import sqlalchemy as sa

    engine = sa.create_engine(url, pool_size=10, max_overflow=10, pool_timeout=30)

    @sa.event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = "IMMEDIATE"
        dbapi_conn.execute("PRAGMA busy_timeout=30000")
        dbapi_conn.execute("PRAGMA foreign_keys=ON")
        dbapi_conn.execute("PRAGMA synchronous=NORMAL")

    return engine


def _register() -> Any:
    """The run workflow, registered with DBOS once per process."""
    global _WORKFLOW
    if _WORKFLOW is None:
        from dbos import DBOS

        @DBOS.workflow(name=WORKFLOW)
        async def harness_run(session_id: str, run_id: str, text: str) -> str:
            service = _SERVICE
            if service is None:
                raise RuntimeError("no durable service in this process")
            return await service.execute(session_id, run_id, text)

        _WORKFLOW = harness_run
    return _WORKFLOW


class DurableService:
    """DBOS and the tables, for one ``serve --durable`` process."""

    def __init__(
        self,
        database: str | None = None,
        *,
        options: Callable[[], dict[str, Any]] | None = None,
        max_runs: int = DEFAULT_MAX_RUNS,
        folder: Path | None = None,
    ) -> None:
        self.folder = folder or default_folder()
        self.postgres = str(database or "").startswith(("postgresql://", "postgres://"))
        if database and not self.postgres and not str(database).startswith("sqlite:"):
            raise HarnessError(
                f"--database {database!r} is neither a postgresql:// nor a sqlite:/// URL",
                hint="leave it out for SQLite in the data folder, or give "
                "postgresql://USER@HOST:PORT/DB for several processes",
            )
        if self.postgres:
            self.system_url = self.tables_url = str(database)
        elif database:
            self.system_url = str(database)
            self.tables_url = str(database).replace(".sqlite", "") + ".harness.sqlite"
        else:
            self.system_url = f"sqlite:///{self.folder / 'dbos.sqlite'}"
            self.tables_url = f"sqlite:///{self.folder / 'harness.sqlite'}"
        self.database = self.system_url
        self._options = options or dict
        self.max_runs = max_runs
        self.executor_id = (
            f"{socket.gethostname()}-{os.getpid()}-{os.urandom(3).hex()}"
            if self.postgres
            else "local"
        )
        self.tables = Tables(self.tables_url)
        self.queue: Any = None
        #: Runs executing in this process: session id -> workflow id.
        self.running_here: dict[str, str] = {}
        #: The process is stopping: executions store nothing more.
        self.stopping = False
        self._tasks: set[asyncio.Task[Any]] = set()
        #: Set when this process stored lines (``stored``): its tailer reads them now.
        self.new_lines = anyio.Event()
        self.started = time.time()
        self._lock_fd: int | None = None
        self._liveness: Any = None

    # --- life ---------------------------------------------------------------------

    async def __aenter__(self) -> DurableService:
        global _SERVICE
        if _SERVICE is not None:
            raise HarnessError("this process already runs a durable service")
        if not self.postgres:
            self._lock_sqlite()
            await anyio.to_thread.run_sync(_write_ahead, self.system_url)
        await anyio.to_thread.run_sync(self.tables.create)
        from dbos import DBOS

        for name in ("dbos", "dbos._dbos", "dbos._queue"):
            logging.getLogger(name).setLevel(logging.WARNING)
        DBOS(
            config={
                "name": APP_NAME,
                "system_database_url": self.system_url,
                "executor_id": self.executor_id,
                "application_version": WORKFLOW_VERSION,
                "log_level": "WARNING",
                **(
                    {}
                    if self.postgres
                    else {"system_database_engine": _sqlite_engine(self.system_url)}
                ),
                "notification_listener_polling_interval_sec": 0.05,
            }
        )
        _register()
        _SERVICE = self
        try:
            if self.postgres:
                await anyio.to_thread.run_sync(self._hold_liveness)
            DBOS.launch()  # here, on this loop: queued workflows run on it
            self.queue = await DBOS.register_queue_async(
                QUEUE,
                worker_concurrency=self.max_runs,
                polling_interval_sec=QUEUE_POLL_S,
                on_conflict="always_update",
            )
        except BaseException:
            _SERVICE = None
            self._release()
            raise
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        global _SERVICE
        from dbos import DBOS

        # Stopping (Ctrl+C, SIGTERM, a deploy): the runs here stop where they are, and
        # nothing their stopping emits is stored, so that they resume from their last
        # step (on the next start, or on another process at once) as after a crash.
        self.stopping = True
        running = [task for task in self._tasks if not task.done()]
        for task in running:
            task.cancel()
        with anyio.move_on_after(10), anyio.CancelScope(shield=True):
            for task in running:
                with contextlib.suppress(BaseException):
                    await task
        try:
            await anyio.to_thread.run_sync(lambda: DBOS.destroy(workflow_completion_timeout_sec=0))
        finally:
            _SERVICE = None
            self._release()
            self.tables.dispose()

    def _lock_sqlite(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = Path(self.tables_url.removeprefix("sqlite:///") + ".lock")
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise HarnessError(
                f"another `serve --durable` process uses the SQLite database {self.system_url}",
                hint="SQLite serves one process; for several give each "
                "--database postgresql://... (the same database)",
            ) from None
        self._lock_fd = fd

    def _hold_liveness(self) -> None:
        import sqlalchemy as sa

        connection = self.tables.engine.connect()
        connection.execute(sa.text("SELECT pg_advisory_lock(hashtext(:k))"), {"k": self._key()})
        connection.commit()
        self._liveness = connection

    def _key(self, executor_id: str | None = None) -> str:
        return f"harness-tui-executor:{executor_id or self.executor_id}"

    def _release(self) -> None:
        if self._liveness is not None:
            with contextlib.suppress(Exception):
                self._liveness.close()
            self._liveness = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    # --- recovery (Postgres) --------------------------------------------------------

    async def watch_peers(self) -> None:
        """Until cancelled: recover the runs of processes that died (Postgres)."""
        if not self.postgres:
            return
        while True:
            try:
                dead = await anyio.to_thread.run_sync(self._dead_executors)
                for executor_id in dead:
                    await anyio.to_thread.run_sync(self._recover, executor_id)
            except Exception as exc:  # the database away for a moment: try again
                log.warning("looking for runs to recover failed: %s", exc)
            await anyio.sleep(RECOVERY_POLL_S)

    def _dead_executors(self) -> list[str]:
        import sqlalchemy as sa

        with self.tables.engine.connect() as c:
            found = [
                r[0]
                for r in c.execute(
                    sa.text(
                        "SELECT DISTINCT executor_id FROM dbos.workflow_status "
                        "WHERE status = 'PENDING' AND name = :name AND executor_id <> :me"
                    ),
                    {"name": WORKFLOW, "me": self.executor_id},
                )
            ]
            dead = []
            for executor_id in found:
                key = {"k": self._key(executor_id)}
                got = c.execute(sa.text("SELECT pg_try_advisory_lock(hashtext(:k))"), key).scalar()
                if got:
                    c.execute(sa.text("SELECT pg_advisory_unlock(hashtext(:k))"), key)
                    dead.append(executor_id)
            c.commit()
        return dead

    def _recover(self, executor_id: str) -> None:
        from dbos import DBOS

        handles = DBOS._recover_pending_workflows([executor_id])
        if handles:
            log.warning("recovering %d run(s) of %s, which stopped", len(handles), executor_id)

    # --- runs -----------------------------------------------------------------------

    def session_options(self, stored: dict[str, Any]) -> dict[str, Any]:
        """The keyword arguments of a session of this service (``stored``: its row's)."""
        options = self._options()
        options.update({k: v for k, v in stored.items() if k in ("model", "mode", "cwd")})
        options.setdefault("ask_policy", "ask")
        return options

    async def submit(self, session_id: str, text: str) -> tuple[str, str]:
        """Queue a run of ``text``; its (run id, workflow id). Raises
        ``SessionBusyError`` while the session has a run queued or running."""
        from dbos import SetWorkflowID

        run_id = new_id("run")
        workflow_id = f"{session_id}.{run_id}"
        claimed = await anyio.to_thread.run_sync(
            self.tables.claim_run, session_id, workflow_id, run_id
        )
        if not claimed and await self._clear_stale(session_id):
            claimed = await anyio.to_thread.run_sync(
                self.tables.claim_run, session_id, workflow_id, run_id
            )
        if not claimed:
            raise SessionBusyError(
                "a run is already active", hint="steer it, queue a follow-up, or cancel it first"
            )
        with SetWorkflowID(workflow_id):
            await self.queue.enqueue_async(_register(), session_id, run_id, text)
        return run_id, workflow_id

    async def _clear_stale(self, session_id: str) -> bool:
        """The session's run has ended without saying so (failed, cancelled by an
        operator): free the session. True when it did."""
        from dbos import DBOS

        row = await anyio.to_thread.run_sync(self.tables.session_row, session_id)
        if row is None or row.workflow_id is None:
            return row is not None
        status = await DBOS.get_workflow_status_async(row.workflow_id)
        if status is not None and status.status in ("PENDING", "ENQUEUED", "DELAYED"):
            return False
        await anyio.to_thread.run_sync(self.tables.release_run, session_id, row.workflow_id)
        return True

    async def steer(self, workflow_id: str, text: str, kind: str, item_id: str) -> None:
        """Send a steering message (or a follow-up) to a run, wherever it runs."""
        from dbos import DBOS

        message = {"text": text, "kind": kind, "id": item_id}
        await DBOS.send_async(workflow_id, message, topic="steer")

    async def execute(self, session_id: str, run_id: str, text: str) -> str:
        """The workflow's body (see ``execution``)."""
        from dbos import DBOS

        from harness_tui.durable.execution import Execution

        async def begin() -> int:  # where the run starts in the session's file
            return await anyio.to_thread.run_sync(self.tables.line_count, session_id)

        base_n = await DBOS.run_step_async({"name": "begin"}, begin)
        workflow_id = DBOS.workflow_id or ""
        self.running_here[session_id] = workflow_id
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        try:
            result = await Execution(self, session_id, run_id, base_n).run(text)
        except Exception:
            log.exception("durable run %s of %s failed", run_id, session_id)
            await anyio.to_thread.run_sync(self.tables.release_run, session_id, workflow_id)
            raise
        finally:
            self.running_here.pop(session_id, None)
        await anyio.to_thread.run_sync(self.tables.release_run, session_id, workflow_id)
        return result

    def stored(self) -> None:
        """Lines were stored by this process."""
        self.new_lines.set()

    def health(self) -> dict[str, Any]:
        return {
            "durable": True,
            "executor_id": self.executor_id,
            "database": redact_url(self.system_url),
            "backend": "postgres" if self.postgres else "sqlite",
            "max_runs": self.max_runs,
            "runs_here": sorted(self.running_here.values()),
            "up_s": round(time.time() - self.started, 1),
        }
