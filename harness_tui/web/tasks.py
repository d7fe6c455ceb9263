"""Background tasks and the Bash sandbox over HTTP, as the TUI's tasks panel and
``/sandbox`` show them.

- ``GET /api/tasks/ID``: ``{"session_id", "now", "tasks": [...]}``, every task of the session
  (``session.tasks.all()``: id, command, description, start and end times in seconds
  since the epoch, output file, process group, sandboxed, status, exit code) with
  ``"running"``: true while it runs.
- ``POST /api/tasks/ID/TASK/stop``: stops the task (its whole process group ends) and
  returns it as JSON once it has ended; a task that had already ended is returned as it
  is. An id the session does not have is a 404 ``unknown_task``.
- ``GET /api/sandbox/ID``: the session's ``SandboxStatus`` as JSON, plus ``"lines"``:
  the text the TUI's ``/sandbox`` prints.

Everything sent is cleaned of secrets like the events (a command may hold one).
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import FastAPI, Path, Request
from starlette.responses import Response

from harness_tui.core.session.session import Session
from harness_tui.core.tasks.manager import TaskInfo

#: Longest task id a request may name (the core's are ``task_`` and some hex digits).
MAX_TASK_ID_CHARS = 100


def add_task_routes(
    app: FastAPI,
    open_session: Callable[[Request, str], Session],
    redact: Callable[[str], str],
    api_error: Callable[..., Exception],
) -> None:
    """Add the tasks and sandbox routes to ``app``. ``open_session`` checks the token's
    grant and finds the session (403/404); ``redact`` cleans outgoing text;
    ``api_error(status, code, message, hint)`` makes the app's JSON error."""

    def cleaned(data: Any) -> Response:
        return Response(redact(json.dumps(data)), media_type="application/json")

    @app.get("/api/tasks/{session_id}")
    async def list_tasks(request: Request, session_id: str) -> Response:
        session = open_session(request, session_id)
        tasks = [task_json(info) for info in session.tasks.all()]
        # "now": the server's clock, for a page whose own clock is off (elapsed times).
        return cleaned({"session_id": session.id, "now": time.time(), "tasks": tasks})

    @app.post("/api/tasks/{session_id}/{task_id}/stop")
    async def stop_task(
        request: Request,
        session_id: str,
        task_id: Annotated[str, Path(min_length=1, max_length=MAX_TASK_ID_CHARS)],
    ) -> Response:
        session = open_session(request, session_id)
        if session.tasks.get(task_id) is None:
            running = ", ".join(t.task_id for t in session.tasks.running()) or "none"
            raise api_error(
                404,
                "unknown_task",
                f"no background task {task_id!r} in session {session.id}",
                f"running: {running}; GET /api/tasks/{session.id} lists them",
            )
        info = await session.stop_task(task_id)
        return cleaned(task_json(info))

    @app.get("/api/sandbox/{session_id}")
    async def sandbox(request: Request, session_id: str) -> Response:
        session = open_session(request, session_id)
        status = session.sandbox_status()
        data = {f.name: _plain(getattr(status, f.name)) for f in dataclasses.fields(status)}
        data["lines"] = status.lines()
        data["session_id"] = session.id
        return cleaned(data)


def task_json(info: TaskInfo) -> dict[str, Any]:
    """One task as plain JSON, with ``running``."""
    data = {f.name: _plain(getattr(info, f.name)) for f in dataclasses.fields(info)}
    data["running"] = info.running
    return data


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value
