"""The agent view over HTTP: every open session of the user, whatever runs it (this
server, a TUI, ``-p``, a background holder, an editor over ACP), from the live registry,
and answering or stopping one through its control socket.

- ``GET /api/agents``: ``{"now", "agents": [...]}``, the live records newest first
  (``core.live.registry``), without their socket paths, plus ``"here"``: whether this
  server holds the session (the page then links to its view).
- ``POST /api/agents/ID/answer`` ``{"request_id", "decision"}``: answers the session's
  waiting question (a permission, or ``trust``): ``allow_once``, ``allow_session``,
  ``allow_always`` or ``deny``.
- ``POST /api/agents/ID/stop``: stops its run (``{"was_running"}``).

Only the server token sees them (a session's token is for that one session: 403). A
session that is not open is a 404; one that refuses (the question was answered already,
it closed meanwhile) a 409 with its reason. What is sent is cleaned of secrets as the
events are (a prompt's first line may hold one).
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from typing import Any, Literal

import anyio
from fastapi import FastAPI, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from harness_tui.core.live.control import ControlError, request
from harness_tui.core.live.registry import LiveRecord, live_sessions
from harness_tui.web.auth import Grant

#: What is not sent: where the sockets are (a local detail, of no use to a page).
HIDDEN = ("control", "attach")


class Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    request_id: str = Field(min_length=1, max_length=200)
    decision: Literal["allow_once", "allow_session", "allow_always", "deny"]


def add_agent_routes(
    app: FastAPI,
    is_here: Callable[[str], bool],
    redact: Callable[[str], str],
    api_error: Callable[..., Exception],
) -> None:
    """Add the agent routes to ``app``. ``is_here(id)``: whether this server holds
    that session; ``redact`` cleans outgoing text; ``api_error(status, code, message,
    hint)`` makes the app's JSON error."""

    def server_wide(request_: Request) -> None:
        grant: Grant = request_.state.grant
        if not grant.everything:
            raise api_error(
                403, "forbidden", "this token is for one session; the agents list needs "
                "the server's token", "open the URL the server printed",
            )  # fmt: skip

    def record_of(session_id: str) -> LiveRecord:
        found = next((r for r in live_sessions() if r.session_id == session_id), None)
        if found is None:
            raise api_error(
                404, "unknown_session", f"no open session {session_id!r}",
                "GET /api/agents lists the open sessions",
            )  # fmt: skip
        return found

    async def control(session_id: str, op: str, **fields: Any) -> dict[str, Any]:
        record = await anyio.to_thread.run_sync(record_of, session_id)
        try:
            return await anyio.to_thread.run_sync(lambda: request(record.control, op, **fields))
        except ControlError as exc:
            raise api_error(409, "refused", str(exc)) from None

    @app.get("/api/agents")
    async def agents(request_: Request) -> Response:
        server_wide(request_)
        records = await anyio.to_thread.run_sync(live_sessions)
        rows = []
        for record in records:
            row = {k: v for k, v in dataclasses.asdict(record).items() if k not in HIDDEN}
            row["here"] = is_here(record.session_id)
            rows.append(row)
        body = json.dumps({"now": time.time(), "agents": rows})
        return Response(redact(body), media_type="application/json")

    @app.post("/api/agents/{session_id}/answer")
    async def answer(request_: Request, session_id: str, body: Answer) -> dict[str, Any]:
        server_wide(request_)
        await control(session_id, "answer", request_id=body.request_id, decision=body.decision)
        return {"session_id": session_id, "decision": body.decision}

    @app.post("/api/agents/{session_id}/stop")
    async def stop(request_: Request, session_id: str) -> dict[str, Any]:
        server_wide(request_)
        return {"session_id": session_id, **await control(session_id, "cancel")}
