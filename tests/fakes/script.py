"""Provider-neutral scripts for the fake APIs, and what both fakes share.

A script is a list of ``Reply`` (a response: thinking, text, tool calls, usage, and
optionally a fault part where the stream breaks) or ``HTTPError`` (the request is
answered with an error status). Each fake renders the same script in its own wire
protocol, so one script drives the Anthropic and the OpenAI fake alike.
"""

from __future__ import annotations

import itertools
import secrets
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from harness_tui.core.providers.offline.scripted import split_text
from tests.fakes.loopback import (
    Action,
    End,
    JSONResponse,
    LoopbackServer,
    Request,
    Reset,
    Response,
    SSEResponse,
    Stall,
)


@dataclass(frozen=True)
class Think:
    text: str


@dataclass(frozen=True)
class Redacted:
    """Anthropic's redacted thinking: opaque data to be sent back unchanged."""

    data: str = "opaque-redacted-data"


@dataclass(frozen=True)
class Say:
    text: str


@dataclass(frozen=True)
class Call:
    name: str
    input: dict[str, Any] = field(default_factory=dict)
    id: str | None = None


@dataclass(frozen=True)
class Usage:
    input: int = 0
    output: int = 0
    cache_read: int = 0
    cache_write: int = 0


# Faults inside a stream, at the point where they appear among the parts.


@dataclass(frozen=True)
class ResetHere:
    """The TCP connection is reset."""


@dataclass(frozen=True)
class CutHere:
    """The HTTP response ends cleanly, but before the protocol's final event."""


@dataclass(frozen=True)
class MalformedHere:
    """An SSE message whose data is not JSON."""


@dataclass(frozen=True)
class StallHere:
    seconds: float


@dataclass(frozen=True)
class ErrorHere:
    """The API's in-stream error event (Anthropic ``event: error``, OpenAI ``{"error"}``)."""

    kind: str = "overloaded_error"
    message: str = "Overloaded"


Part = Think | Redacted | Say | Call | ResetHere | CutHere | MalformedHere | StallHere | ErrorHere


@dataclass(frozen=True)
class Reply:
    parts: tuple[Part, ...]
    usage: Usage = Usage(input=10, output=5)
    #: The stop reason in the API's own words (``refusal``, ``content_filter``,
    #: ``length``, ``pause_turn``…); None: the usual one for what the reply holds.
    stop: str | None = None


def reply(*parts: Part, usage: Usage | None = None, stop: str | None = None) -> Reply:
    return Reply(tuple(parts), usage or Usage(input=10, output=5), stop)


@dataclass(frozen=True)
class HTTPError:
    """Answer with this status and the API's error body."""

    status: int
    kind: str | None = None
    message: str = "error"
    retry_after: str | None = None


@dataclass(frozen=True)
class ResetOnRequest:
    """Reset the connection instead of answering (a connection error before content)."""


Planned = Reply | HTTPError | ResetOnRequest
Responder = Callable[[dict[str, Any]], Planned]


def pieces(text: str) -> list[str]:
    """How the fakes stream text: word by word, as real APIs roughly do."""
    return split_text(text, None)


class ScriptedAPI(LoopbackServer):
    """Replies from a queue (``script``), else from ``responder``, else a short text.

    Records every accepted request body in ``requests`` and every refusal (400) in
    ``rejections``; ``api_key`` is the only key it accepts."""

    def __init__(self, *, api_key: str = "test-key", responder: Responder | None = None) -> None:
        super().__init__()
        self.api_key = api_key
        self.responder = responder
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.rejections: list[str] = []
        self._queue: list[Planned] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    def script(self, *planned: Planned) -> None:
        with self._lock:
            self._queue.extend(planned)

    @property
    def pending(self) -> int:
        return len(self._queue)

    def next_planned(self, body: dict[str, Any]) -> Planned:
        with self._lock:
            if self._queue:
                return self._queue.pop(0)
        if self.responder is not None:
            return self.responder(body)
        return reply(Say("ok"))

    def new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):04d}{secrets.token_hex(8)}"

    def reject(self, response: JSONResponse, message: str) -> JSONResponse:
        self.rejections.append(message)
        return response

    def record(self, request: Request, body: dict[str, Any]) -> None:
        self.requests.append(body)
        self.headers.append(request.headers)

    async def handle(self, request: Request) -> Response:
        raise NotImplementedError

    # --- rendering, shared by both wire protocols ---------------------------------------

    #: An SSE message whose data breaks off mid-JSON, in this API's framing.
    MALFORMED = b""

    def events(self, planned: Reply, body: dict[str, Any]) -> Iterator[Action]:
        """The stream of a reply in this API's wire format."""
        raise NotImplementedError

    def error_response(self, planned: HTTPError) -> JSONResponse:
        """An error status with this API's error body."""
        raise NotImplementedError

    def error_event(self, part: ErrorHere) -> bytes:
        """This API's error event inside a stream."""
        raise NotImplementedError

    def respond(self, body: dict[str, Any]) -> Response:
        """Answer an accepted (and recorded) request with the next planned reply."""
        planned = self.next_planned(body)
        if isinstance(planned, HTTPError):
            return self.error_response(planned)
        if isinstance(planned, ResetOnRequest):
            return SSEResponse([Reset()])
        return SSEResponse(self.events(planned, body))

    def fault(self, part: Part) -> Iterator[Action]:
        """A fault part's actions: a reset, or something bad and then the end of the body."""
        if isinstance(part, ResetHere):
            yield Reset()
            return
        if isinstance(part, MalformedHere):
            yield self.MALFORMED
        elif isinstance(part, StallHere):
            yield Stall(part.seconds)
        elif isinstance(part, ErrorHere):
            yield self.error_event(part)
        elif not isinstance(part, CutHere):
            raise TypeError(f"not a fault part: {part!r}")
        yield End()
