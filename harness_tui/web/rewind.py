"""Rewind over HTTP: the points a session can go back to, a preview of what going back
would do to the files, the rewind itself and its undo (redo).

- ``GET /api/rewind/ID``: ``{"points": [...]}``, the session's ``rewind_points()``
  (number, checkpoint id, prompt text, time, files the agent changed in that run).
- ``GET /api/rewind/ID/preview?target=N``: the plan (``preview_rewind``): each file's
  action, a unified diff from now to then, a problem that will skip it, and whether it
  was changed by hand (those are also listed in ``conflicts``).
- ``POST /api/rewind/ID`` ``{"target", "mode"?, "hand_edits"?}``: the ``REWOUND`` event
  as JSON (every browser also gets it through the event feed). Files changed by hand
  with ``hand_edits: "refuse"`` (the default): 409 ``rewind_conflict`` with the paths in
  ``error.files``, and nothing changed.
- ``POST /api/redo/ID`` ``{"hand_edits"?}`` (or no body): undoes the last rewind; its
  ``REWOUND`` event (``undoes`` set); files changed by hand since: the same 409.

A target is a prompt's number as listed or a checkpoint id; one the session does not
have is a 404 ``unknown_target``; a run in progress is a 409 ``busy``. Everything sent is
cleaned of secrets like the events (a diff or a prompt may hold one).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Body, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from starlette.responses import Response

from harness_tui.core.checkpoints import RewindConflict, UnknownTarget
from harness_tui.core.errors import HarnessError, SessionBusyError
from harness_tui.core.events import Rewound
from harness_tui.core.session.session import Session
from harness_tui.web.bodies import MAX_TARGET_CHARS, RedoRequest, RewindRequest
from harness_tui.web.guard import error_body

#: Longest diff of one file sent in a preview, in characters; the rest is cut off (the
#: page shows a preview, not a copy: the rewind itself restores the whole file).
MAX_DIFF_CHARS = 200_000
#: Longest all the diffs of one preview may be together; later files come without one.
MAX_PREVIEW_CHARS = 2_000_000


def add_rewind_routes(
    app: FastAPI,
    open_session: Callable[[Request, str], Session],
    redact: Callable[[str], str],
    api_error: Callable[..., Exception],
) -> None:
    """Add the rewind routes to ``app``. ``open_session`` checks the token's grant and
    finds the session (403/404); ``redact`` cleans outgoing text; ``api_error(status,
    code, message, hint)`` makes the app's JSON error."""

    def cleaned(data: Any) -> Response:
        return Response(redact(json.dumps(data)), media_type="application/json")

    async def checked(session: Session, action: Any) -> Any:
        """Run ``action``; a target the session does not know is a 404; a run in
        progress (409) and any other refusal of the core (422) go to the app's
        handlers."""
        try:
            return await action
        except UnknownTarget as exc:
            count = len(session.rewind_points())
            listed = (
                f"this session has prompts 1–{count}" if count else "no prompt to go back to yet"
            )
            hint = f"{listed}; GET /api/rewind/{session.id} lists them"
            raise api_error(404, "unknown_target", exc.message, hint) from None

    @app.get("/api/rewind/{session_id}")
    async def rewind_points(request: Request, session_id: str) -> Response:
        session = open_session(request, session_id)
        points = [_plain(point) for point in session.rewind_points()]
        return cleaned({"session_id": session.id, "points": points})

    @app.get("/api/rewind/{session_id}/preview")
    async def preview(
        request: Request,
        session_id: str,
        target: Annotated[str, Query(min_length=1, max_length=MAX_TARGET_CHARS)],
    ) -> Response:
        session = open_session(request, session_id)
        wanted = _target(target, "query")
        plan = await checked(session, session.preview_rewind(wanted))
        files, budget = [], MAX_PREVIEW_CHARS
        for planned in plan.files:
            files.append(_planned(planned, budget))
            budget -= len(files[-1]["diff"])
        return cleaned(
            {
                "session_id": session.id,
                "point": _plain(plan.point),
                "files": files,
                # Files changed by hand that the rewind would overwrite (a file with a
                # problem is skipped anyway).
                "conflicts": [f["path"] for f in files if f["by_hand"] and not f["problem"]],
            }
        )

    def conflict(exc: RewindConflict) -> Response:
        paths = list(exc.files)
        body = error_body(
            "rewind_conflict",
            f"{len(paths)} file{'s' if len(paths) != 1 else ''} changed by hand since then: "
            f"{', '.join(paths[:5])}{' …' if len(paths) > 5 else ''}; nothing was changed",
            'send "hand_edits": "overwrite" to restore them too, or "keep" to leave them as '
            "they are and do the rest",
        )
        body["error"]["files"] = paths
        return Response(redact(json.dumps(body)), 409, media_type="application/json")

    def event(rewound: Rewound) -> Response:
        return Response(redact(rewound.model_dump_json()), media_type="application/json")

    @app.post("/api/rewind/{session_id}")
    async def rewind(request: Request, session_id: str, body: RewindRequest) -> Response:
        session = open_session(request, session_id)
        wanted = _target(body.target, "body") if isinstance(body.target, str) else body.target
        try:
            rewound = await checked(
                session, session.rewind(wanted, body.mode, hand_edits=body.hand_edits)
            )
        except RewindConflict as exc:
            return conflict(exc)
        return event(rewound)

    @app.post("/api/redo/{session_id}")
    async def redo(
        request: Request, session_id: str, body: Annotated[RedoRequest | None, Body()] = None
    ) -> Response:
        session = open_session(request, session_id)
        try:
            rewound = await session.redo(hand_edits=(body or RedoRequest()).hand_edits)
        except RewindConflict as exc:
            return conflict(exc)
        except SessionBusyError:
            raise
        except HarnessError as exc:
            raise api_error(
                409, "nothing_to_redo", exc.message, "redo undoes the last rewind"
            ) from None
        return event(rewound)


def _target(raw: str, where: str) -> int | str:
    """A prompt's number (digits) or a checkpoint id (or the start of one)."""
    text = raw.strip()
    if not text:
        # Blank would be the start of every id: never a choice.
        raise RequestValidationError(
            [{"loc": (where, "target"), "msg": "a prompt's number or a checkpoint id, not blank"}]
        )
    return int(text) if text.isdigit() else text


def _plain(value: Any) -> Any:
    """A dataclass or pydantic model of the core as plain JSON data."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def _planned(planned: Any, budget: int) -> dict[str, Any]:
    """One file of a plan as JSON, its diff cut to fit ``MAX_DIFF_CHARS`` and ``budget``
    (``diff_truncated`` says so)."""
    data = _plain(planned)
    diff = data.get("diff") or ""
    room = max(0, min(MAX_DIFF_CHARS, budget))
    data["diff_truncated"] = len(diff) > room
    data["diff"] = diff[:room]
    data["by_hand"] = bool(data.get("by_hand"))
    return data
