"""``harness-tui serve --durable``: the web server on the durable engine.

Like ``web.command.run_serve`` (URL on stdout, runs until Ctrl+C or SIGTERM), but its
sessions live in a database and its runs are DBOS workflows (see ``service``). It
prints where the database is. Stopping leaves the runs that were going to be resumed
(on the next start with SQLite, at once by another process with Postgres).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from functools import partial
from typing import Any, TextIO

import anyio

from harness_tui.core.processes import exit_guard
from harness_tui.core.providers.models import resolve_model
from harness_tui.web.auth import AccessKeys
from harness_tui.web.command import announce, until_stopped
from harness_tui.web.server import GRACEFUL_STOP_S, WebAddress, WebServer

#: Open sessions a durable service holds at most unless ``--max-sessions`` says otherwise.
DEFAULT_MAX_SESSIONS = 64


def run_durable_serve(
    *,
    host: str,
    port: int,
    model: str,
    mode: str,
    notices: Sequence[str] = (),
    max_sessions: int | None = None,
    database: str | None = None,
    max_runs: int | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Serve until interrupted; the exit code. Raises ``HarnessError`` (an unknown
    model, a bad database URL, an address in use) before anything is served."""
    from harness_tui.durable.service import DEFAULT_MAX_RUNS

    resolve_model(model)

    def options() -> dict[str, Any]:
        return {"model": model, "mode": mode, "notices": list(notices)}

    return anyio.run(
        partial(
            serve_durable,
            host=host,
            port=port,
            options=options,
            out=out or sys.stdout,
            err=err or sys.stderr,
            max_sessions=max_sessions or DEFAULT_MAX_SESSIONS,
            database=database,
            max_runs=max_runs or DEFAULT_MAX_RUNS,
        )
    )


async def serve_durable(
    *,
    host: str,
    port: int,
    options: Any,
    out: TextIO,
    err: TextIO,
    max_sessions: int,
    database: str | None,
    max_runs: int,
) -> int:
    from harness_tui.durable.mirror import DurableSessions
    from harness_tui.durable.service import DurableService, redact_url

    deadline = GRACEFUL_STOP_S + exit_guard.SIGNAL_DEADLINE_S
    async with exit_guard.signal_receiver(deadline_s=deadline) as signals:
        service = DurableService(database, options=options, max_runs=max_runs)
        async with service, anyio.create_task_group() as group:
            sessions = DurableSessions(service, max_sessions=max_sessions)
            await sessions.refresh()
            group.start_soon(sessions.tail)
            group.start_soon(service.watch_peers)
            keys = AccessKeys(await anyio.to_thread.run_sync(service.tables.service_token))
            server = WebServer(sessions, host=host, port=port, keys=keys)
            address: WebAddress = await group.start(partial(server.run))
            backend = "Postgres" if service.postgres else "SQLite"
            announce(
                address,
                host,
                out,
                err,
                f"harness-tui durable: {backend} database {redact_url(service.system_url)} "
                f"(executor {service.executor_id}, up to {max_runs} runs at once)",
            )
            await until_stopped(signals, err)
            group.cancel_scope.cancel()
    return 0
