"""``harness-tui runs``: the durable service's runs and their state, from its database.

Read with DBOS's own client (``DBOSClient.list_workflows``), beside our sessions table.
States: ``queued`` (enqueued, no process has taken it), ``running`` (its process is
alive), ``recovering`` (its process died: another one, or the next start with SQLite,
takes it over), ``done``, ``failed``, ``cancelled``. Whether a process is alive is what
the service itself uses: its Postgres advisory lock (free when it died), or with SQLite
the lock on the database's lock file.
"""

from __future__ import annotations

import fcntl
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from harness_tui.core.errors import HarnessError
from harness_tui.durable.service import WORKFLOW, DurableService

STATES = {
    "ENQUEUED": "queued",
    "DELAYED": "queued",
    "SUCCESS": "done",
    "ERROR": "failed",
    "CANCELLED": "cancelled",
    "MAX_RECOVERY_ATTEMPTS_EXCEEDED": "failed",
}


@dataclass(frozen=True, slots=True)
class RunInfo:
    workflow_id: str
    session_id: str
    run_id: str
    state: str
    executor: str
    created: float
    updated: float
    attempts: int
    prompt: str


def list_runs(database: str | None = None, *, limit: int = 50) -> list[RunInfo]:
    """The latest runs (newest first). Raises ``HarnessError`` when there is no
    database (no durable service ever ran here) or it cannot be read."""
    from dbos import DBOSClient

    service = DurableService(database)  # only for its URLs and liveness checks
    if not service.postgres:
        path = Path(service.system_url.removeprefix("sqlite:///"))
        if not path.exists():
            raise HarnessError(
                f"no durable service has run here: no database at {path}",
                hint="start one with `harness-tui serve --durable`, or give --database URL",
            )
    try:
        client = DBOSClient(system_database_url=service.system_url)
    except Exception as exc:
        raise HarnessError(f"cannot open the database {service.database}: {exc}") from None
    try:
        found = client.list_workflows(name=WORKFLOW, sort_desc=True, limit=limit, load_output=True)
        alive = _liveness(service, {w.executor_id or "" for w in found if w.status == "PENDING"})
    finally:
        client.destroy()
        service.tables.dispose()
    runs = []
    for w in found:
        state = STATES.get(w.status, w.status.lower())
        if w.status == "PENDING":
            state = "running" if alive.get(w.executor_id or "", False) else "recovering"
        elif w.status == "SUCCESS" and w.output in ("failed", "cancelled"):
            state = str(w.output)  # the run's own end (the workflow ended well)
        session_id, _, run_id = w.workflow_id.partition(".")
        arguments = (w.input or {}).get("args", ()) if isinstance(w.input, dict) else ()
        prompt = str(arguments[2]) if len(arguments) > 2 else ""
        runs.append(
            RunInfo(
                workflow_id=w.workflow_id,
                session_id=session_id,
                run_id=run_id,
                state=state,
                executor=w.executor_id or "",
                created=(w.created_at or 0) / 1000,
                updated=(w.updated_at or 0) / 1000,
                attempts=int(getattr(w, "recovery_attempts", 0) or 0),
                prompt=prompt.strip().splitlines()[0][:60] if prompt.strip() else "",
            )
        )
    return runs


def _liveness(service: DurableService, executors: set[str]) -> dict[str, bool]:
    if not executors:
        return {}
    if not service.postgres:
        return {executor: _sqlite_held(service) for executor in executors}
    import sqlalchemy as sa

    alive = {}
    with service.tables.engine.connect() as c:
        for executor in executors:
            key = {"k": service._key(executor)}
            got = c.execute(sa.text("SELECT pg_try_advisory_lock(hashtext(:k))"), key).scalar()
            if got:
                c.execute(sa.text("SELECT pg_advisory_unlock(hashtext(:k))"), key)
            alive[executor] = not got
        c.commit()
    return alive


def _sqlite_held(service: DurableService) -> bool:
    """Is the SQLite service's process running (it holds the lock file)?"""
    path = Path(service.tables_url.removeprefix("sqlite:///") + ".lock")
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)
    return False


def runs_table(runs: list[RunInfo], now: float | None = None) -> str:
    if not runs:
        return "no runs yet"
    now = time.time() if now is None else now
    rows = [("STATE", "SESSION", "RUN", "EXECUTOR", "UPDATED", "PROMPT")]
    for r in runs:
        rows.append((r.state, r.session_id, r.run_id, r.executor, _ago(now - r.updated), r.prompt))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return "\n".join(
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])) + "  " + row[-1]
        for row in rows
    ).rstrip()


def as_json(runs: list[RunInfo]) -> list[dict[str, Any]]:
    return [asdict(r) for r in runs]


def _ago(seconds: float) -> str:
    if seconds < 60:
        return f"{max(seconds, 0):.0f}s ago"
    if seconds < 3600:
        return f"{seconds / 60:.0f}m ago"
    return f"{seconds / 3600:.1f}h ago"
