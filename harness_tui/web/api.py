"""The HTTP and WebSocket API, and the page at ``/``.

Every error is JSON of one shape, ``{"error": {"code", "message", "hint"?}}``: 401 no or
a wrong token, 403 a token for another session (or an action this server does not
offer), 404 an unknown session, question (permission, sampling, elicitation), queued
message or image, 409 a query while a run is active, 413 a body (or an image in it) too
large, 422 a malformed or invalid body (an image refused: ``error.image`` is its
``index`` from 0 and ``name``), 429 a limit reached (live sessions:
``too_many_sessions``; messages queued in one session: ``queue_full``), with the limit
in ``error.limit`` and how to free a place in the hint.

What a browser may change: the model (any name the core resolves, except
``scripted:PATH``, which would have the server read a file the browser names), and the
permission mode, but ``bypassPermissions`` only in a session that started in it (the
rule of the TUI's Shift+Tab).

What MCP servers ask (``SAMPLING_REQUESTED``, ``ELICITATION_REQUESTED``) is answered
like a permission question: ``POST /api/sampling/ID`` and ``/api/elicitation/ID``. An
elicitation answer that does not fit the server's form is a 422 naming the field, and
the question stays open for a corrected answer.

Images: ``POST /api/query`` and ``/api/steer`` take ``images`` (see ``bodies`` and
``images``), up to ``MAX_IMAGES_PER_MESSAGE`` per message, in a body of at most
``MAX_PROMPT_BODY_BYTES`` (one image at the core's 30 MB cap, base64, plus its text);
every other body stays within ``MAX_BODY_BYTES``. Events name images by SHA-256 only;
``GET /api/sessions/ID/images/SHA256`` returns the bytes.

Rewind (``GET /api/rewind/ID``, ``.../preview``, ``POST /api/rewind/ID``, ``POST
/api/redo/ID``) lives in ``rewind``; files changed by hand are a 409 that lists them.
Background tasks (``GET /api/tasks/ID``, ``POST /api/tasks/ID/TASK/stop``) and the
sandbox's status (``GET /api/sandbox/ID``) live in ``tasks``; every open session of the
user (``GET /api/agents``, answer, stop) in ``agents``.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable
from dataclasses import asdict
from typing import Annotated, Any

from fastapi import Body, FastAPI, Query, Request, WebSocket
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response

from harness_tui.core.errors import HarnessError, SessionBusyError
from harness_tui.core.events import PERMISSION_MODES
from harness_tui.core.mcp.features.questions import NoOpenQuestion
from harness_tui.core.messages import ImageBlock
from harness_tui.core.providers.models import available_models
from harness_tui.core.run.steering import QueuedMessage
from harness_tui.core.session.session import Session
from harness_tui.web.agents import add_agent_routes
from harness_tui.web.auth import AccessKeys, Grant
from harness_tui.web.bodies import (
    ElicitationReply,
    ModelSwitch,
    ModeSwitch,
    NewSession,
    PermissionAnswer,
    Prompt,
    PullBack,
    SamplingReply,
    SteerMessage,
)
from harness_tui.web.feed import FeedRegistry
from harness_tui.web.guard import Guard, HostPolicy, error_body, refuse
from harness_tui.web.health import add_health_route
from harness_tui.web.images import SHA256, ImageRefused, attach_images, image_bytes
from harness_tui.web.page import page_response
from harness_tui.web.rewind import add_rewind_routes
from harness_tui.web.sessions import CannotCreate, SessionDirectory, TooManySessions
from harness_tui.web.stream import stream_session
from harness_tui.web.tasks import add_task_routes

#: Largest request body, in bytes.
MAX_BODY_BYTES = 1024 * 1024
#: Largest body of a prompt or steering message, which may carry images: one image at
#: the core's cap (30 MB, 40 MB in base64) with room for its text. Larger: 413.
MAX_PROMPT_BODY_BYTES = 48 * 1024 * 1024
#: The paths whose bodies may be that large.
PROMPT_PATHS = ("/api/query/", "/api/steer/")
#: Most events one call of the events endpoint returns.
MAX_EVENTS_PER_CALL = 5000
#: Most messages waiting in one session's queue (steers and follow-ups together).
MAX_QUEUED_MESSAGES = 100


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        hint: str | None = None,
        limit: int | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.hint = status, code, message, hint
        self.limit = limit
        self.image: dict[str, Any] | None = None

    def body(self) -> dict[str, Any]:
        body = error_body(self.code, self.message, self.hint)
        if self.limit is not None:
            body["error"]["limit"] = self.limit
        if self.image is not None:
            body["error"]["image"] = self.image
        return body


def create_app(
    sessions: SessionDirectory,
    keys: AccessKeys,
    feeds: FeedRegistry,
    hosts: HostPolicy,
) -> Guard:
    """The whole ASGI app: the guard in front of the FastAPI routes."""
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    _install_error_handlers(app)

    def open_session(request: Request | WebSocket, session_id: str) -> Session:
        grant: Grant = request.state.grant
        if not grant.allows(session_id):
            raise ApiError(403, "forbidden", "this token is for another session")
        session = sessions.find(session_id)
        if session is None:
            raise ApiError(
                404,
                "unknown_session",
                f"no session {session_id!r}",
                "GET /api/sessions lists the open sessions",
            )
        return session

    def summary(session: Session) -> dict[str, Any]:
        return {
            "id": session.id,
            "model": session.model.name,
            "mode": session.mode,
            "running": session.running,
            "run_id": session.run_id,
            "modes": modes_for(session),
            "cwd": str(session.cwd),
            "name": session.name,
            "last_seq": session.store.last_seq,
        }

    def handed_back(item: QueuedMessage) -> dict[str, Any]:
        """A message back from the queue, its text cleaned of secrets as events are."""
        return {
            "steering_id": item.id,
            "text": feeds.redact(item.text),
            "kind": item.kind,
            "images": [image.model_dump() for image in item.images],
        }

    @app.get("/", include_in_schema=False)
    async def page() -> Response:
        return page_response()

    @app.get("/api/sessions")
    async def list_sessions(request: Request) -> dict[str, Any]:
        grant: Grant = request.state.grant
        visible = [s for s in sessions.list() if grant.allows(s.id)]
        return {
            "scope": "all" if grant.everything else "session",
            "can_create": sessions.can_create and grant.everything,
            "sessions": [summary(s) for s in visible],
        }

    @app.post("/api/session", status_code=201)
    async def create_session(
        request: Request, body: Annotated[NewSession | None, Body()] = None
    ) -> dict[str, Any]:
        grant: Grant = request.state.grant
        if not grant.everything:
            raise ApiError(403, "forbidden", "a session token cannot create sessions")
        body = body or NewSession()
        session = await sessions.create(body.model, body.mode)
        token = keys.session_token(session.id)
        return {"session": summary(session), "token": token, "url": f"/?token={token}"}

    @app.delete("/api/session/{session_id}")
    async def close_session(request: Request, session_id: str) -> dict[str, Any]:
        open_session(request, session_id)
        await sessions.close(session_id)
        return {"closed": session_id}

    async def attached(session: Session, body: Prompt) -> list[ImageBlock]:
        try:
            return await attach_images(session, body.images)
        except ImageRefused as exc:
            error = ApiError(exc.status, exc.code, exc.message, exc.hint, exc.limit)
            error.image = exc.image
            raise error from None

    @app.post("/api/query/{session_id}", status_code=202)
    async def query(request: Request, session_id: str, body: Prompt) -> dict[str, Any]:
        session = open_session(request, session_id)
        if body.images and session.running:  # before the work of checking the images
            raise SessionBusyError(
                "a run is already active", hint="steer it, queue a follow-up, or cancel it first"
            )
        images = await attached(session, body)
        return {"run_id": await session.submit(body.text, images)}

    @app.post("/api/steer/{session_id}", status_code=202)
    async def steer(request: Request, session_id: str, body: SteerMessage) -> dict[str, Any]:
        session = open_session(request, session_id)
        if session.running and len(session.steering) >= MAX_QUEUED_MESSAGES:
            raise ApiError(
                429,
                "queue_full",
                f"{MAX_QUEUED_MESSAGES} messages already wait in this session's queue, its limit",
                "wait for the run to take them, or take one back (POST /api/pullback/ID)",
                limit=MAX_QUEUED_MESSAGES,
            )
        images = await attached(session, body)
        command = session.steer if body.kind == "steer" else session.follow_up
        item = await command(body.text, images)
        return {
            "queued": item is not None,  # False: the session was idle, so a run started
            "steering_id": item.id if item else None,
            "run_id": session.run_id,
        }

    @app.post("/api/cancel/{session_id}")
    async def cancel(request: Request, session_id: str) -> dict[str, Any]:
        session = open_session(request, session_id)
        was_running = session.running
        returned = await session.cancel()
        return {
            "cancelled": was_running,
            "returned": [handed_back(m) for m in returned],
        }

    @app.post("/api/pullback/{session_id}")
    async def pull_back(
        request: Request, session_id: str, body: Annotated[PullBack | None, Body()] = None
    ) -> dict[str, Any]:
        session = open_session(request, session_id)
        wanted = body.steering_id if body else None
        item = await session.pull_back(wanted)
        if item is None:
            if wanted is None:
                raise ApiError(404, "nothing_queued", "no message is queued")
            raise ApiError(
                404,
                "unknown_steering",
                f"no queued message {wanted!r}",
                "it may have been delivered or pulled back already",
            )
        return handed_back(item)

    add_rewind_routes(app, open_session, feeds.redact, ApiError)
    add_task_routes(app, open_session, feeds.redact, ApiError)
    add_health_route(app, sessions)
    add_agent_routes(app, lambda sid: sessions.find(sid) is not None, feeds.redact, ApiError)

    @app.get("/api/sessions/{session_id}/images/{sha256}")
    async def image(request: Request, session_id: str, sha256: str) -> Response:
        session = open_session(request, session_id)
        if not SHA256.fullmatch(sha256):
            raise ApiError(
                422, "invalid_image_id", "an image is named by its SHA-256: 64 hex digits"
            )
        found = await image_bytes(session, sha256)
        if found is None:
            raise ApiError(404, "unknown_image", f"this session has no image {sha256}")
        data, media_type = found
        # Never rendered as anything but an image (nosniff comes from the guard), and the
        # same hash is always the same bytes.
        return Response(
            data,
            media_type=media_type,
            headers={"content-security-policy": "default-src 'none'; sandbox"},
        )

    @app.get("/api/models")
    async def list_models(
        request: Request, session: Annotated[str | None, Query(max_length=200)] = None
    ) -> dict[str, Any]:
        grant: Grant = request.state.grant
        target = session if session is not None else grant.session_id
        # The server token without ?session=: the list for the server's own folder,
        # which is where a new session starts (before its plugins add models).
        found = open_session(request, target) if target is not None else None
        models = available_models(found.cwd, found.settings) if found else available_models()
        return {
            "session_id": found.id if found else None,
            "current": found.model.name if found else None,
            "models": [asdict(m) for m in models],
        }

    @app.post("/api/model/{session_id}")
    async def switch_model(request: Request, session_id: str, body: ModelSwitch) -> dict[str, Any]:
        session = open_session(request, session_id)
        if body.model.strip().startswith("scripted:"):
            raise ApiError(
                403,
                "not_supported",
                "a scripted model cannot be chosen from a browser",
                "GET /api/models lists the models to choose from",
            )
        later = session.running  # set_model decides on this, with no await in between
        choice = await session.set_model(body.model)  # an unknown model: 422 from the core
        return {
            "model": choice.name,
            "provider": choice.provider,
            "applies": "next_turn" if later else "now",
        }

    @app.post("/api/mode/{session_id}")
    async def switch_mode(request: Request, session_id: str, body: ModeSwitch) -> dict[str, Any]:
        session = open_session(request, session_id)
        if body.mode not in modes_for(session):
            raise ApiError(
                403,
                "forbidden",
                "bypassPermissions can be chosen here only in a session that started in it",
                "start the session with --mode bypassPermissions (or POST /api/session "
                'with "mode": "bypassPermissions")',
            )
        previous = session.mode
        await session.set_mode(body.mode)
        return {"mode": session.mode, "previous_mode": previous}

    @app.post("/api/permission/{session_id}")
    async def answer_permission(
        request: Request, session_id: str, body: PermissionAnswer
    ) -> dict[str, Any]:
        session = open_session(request, session_id)
        await _answer(session.resolve_permission(body.request_id, body.decision, body.reason))
        return {"request_id": body.request_id, "decision": body.decision}

    @app.post("/api/sampling/{session_id}")
    async def answer_sampling(
        request: Request, session_id: str, body: SamplingReply
    ) -> dict[str, Any]:
        session = open_session(request, session_id)
        await _answer(session.resolve_sampling(body.request_id, body.approved, body.reason))
        return {"request_id": body.request_id, "approved": body.approved}

    @app.post("/api/elicitation/{session_id}")
    async def answer_elicitation(
        request: Request, session_id: str, body: ElicitationReply
    ) -> dict[str, Any]:
        session = open_session(request, session_id)
        try:
            await _answer(
                session.resolve_elicitation(body.request_id, body.action, body.content),
                NoOpenQuestion,
            )
        except HarnessError as exc:
            raise ApiError(
                422, "invalid_answer", exc.message, "the question is still open: correct it"
            ) from None
        # The values are not echoed: the server's events carry them to whoever may see them.
        return {"request_id": body.request_id, "action": body.action}

    @app.get("/api/session/{session_id}/events")
    async def events(
        request: Request,
        session_id: str,
        since: Annotated[int, Query(ge=0)] = 0,
        until: Annotated[int | None, Query(ge=0)] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_EVENTS_PER_CALL)] = MAX_EVENTS_PER_CALL,
    ) -> Response:
        session = open_session(request, session_id)
        store = session.store
        end = store.last_seq if until is None else min(until, store.last_seq)
        found = store.replay(since, min(end, since + limit))
        feed = feeds.get(session)
        more = bool(found) and found[-1].seq < end
        # Built from the feed's cached, cleaned JSON of each event: no second encoding.
        text = (
            f'{{"session_id":{json.dumps(session.id)},"oldest_seq":{store.oldest_seq},'
            f'"last_seq":{store.last_seq},"more":{"true" if more else "false"},"events":['
            + ",".join(feed.encode(event) for event in found)
            + "]}"
        )
        return Response(text, media_type="application/json")

    @app.websocket("/ws/{session_id}")
    async def session_stream(websocket: WebSocket, session_id: str) -> None:
        try:
            session = open_session(websocket, session_id)
            since = _since(websocket.query_params.get("since"), session.store.last_seq)
            encoding = websocket.query_params.get("encoding", "json")
            if encoding not in ("json", "deflate"):
                raise ApiError(
                    422, "invalid_encoding", f"encoding must be json or deflate, not {encoding!r}"
                )
        except ApiError as exc:
            await refuse(
                websocket.scope,
                websocket.receive,
                websocket.send,
                exc.status,
                exc.code,
                exc.message,
                exc.hint,
            )
            return
        await stream_session(websocket, feeds.get(session), since, encoding == "deflate")

    return Guard(
        app,
        keys=keys,
        session_ids=lambda: [s.id for s in sessions.list()],
        hosts=hosts,
        max_body=lambda path: (
            MAX_PROMPT_BODY_BYTES if path.startswith(PROMPT_PATHS) else MAX_BODY_BYTES
        ),
    )


async def _answer(resolve: Awaitable[None], not_open: type[HarnessError] = HarnessError) -> None:
    """Answer a question; one that is not open (never asked, or answered already: the
    core raises ``not_open``) is a 404."""
    try:
        await resolve
    except not_open as exc:
        raise ApiError(
            404, "unknown_request", exc.message, "it may have been answered already"
        ) from None


def modes_for(session: Session) -> list[str]:
    """The permission modes a browser may choose for ``session``."""
    return [
        mode
        for mode in PERMISSION_MODES
        if mode != "bypassPermissions" or session.started_mode == "bypassPermissions"
    ]


def _since(raw: str | None, last_seq: int) -> int:
    if raw is None or raw == "":
        return 0
    if not raw.isdigit():
        raise ApiError(
            422, "invalid_since", f"since must be a whole number of 0 or more, not {raw!r}"
        )
    since = int(raw)
    if since > last_seq:
        raise ApiError(
            422,
            "invalid_since",
            f"since={since} is past the newest event of this session ({last_seq})",
            "reload the page",
        )
    return since


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(exc.body(), exc.status)

    @app.exception_handler(TooManySessions)
    async def too_many(request: Request, exc: TooManySessions) -> JSONResponse:
        error = ApiError(429, "too_many_sessions", exc.message, exc.hint, limit=exc.limit)
        return JSONResponse(error.body(), 429)

    # What the core refuses: a busy session, an unknown model, an empty prompt, ...
    statuses = {SessionBusyError: (409, "busy"), CannotCreate: (403, "not_supported")}

    @app.exception_handler(HarnessError)
    async def refused(request: Request, exc: HarnessError) -> JSONResponse:
        status, code = statuses.get(type(exc), (422, "invalid_request"))
        return JSONResponse(error_body(code, exc.message, exc.hint), status)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(
            error_body("invalid_request", describe_problems(exc.errors())), status_code=422
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(error_body(code, str(exc.detail)), exc.status_code)


def describe_problems(errors: Any, limit: int = 3) -> str:
    """``body.text: String should have at most 100000 characters; ...`` from FastAPI's
    validation errors, with a plain sentence for a body that is not JSON at all."""
    parts = []
    for error in list(errors)[:limit]:
        if error.get("type") == "json_invalid":
            ctx = error.get("ctx", {})
            parts.append(f"the body is not valid JSON ({ctx.get('error', 'parse error')})")
            continue
        where = ".".join(str(item) for item in error.get("loc", ()))
        parts.append(f"{where or 'body'}: {error.get('msg', 'invalid')}")
    more = len(list(errors)) - limit
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")
