"""The checks every request passes before the app sees it.

In order: the ``Host`` header must name this server (a page on another site that
rebinds its DNS name to 127.0.0.1 sends its own name); a browser's ``Origin``, when
present, must be this server (a WebSocket is refused before it is accepted: Starlette's
CORS middleware does not cover WebSockets); the token must open something (an
``Authorization: Bearer`` header, or ``?token=`` on the page and the WebSocket, which
cannot send headers); and a request body may not exceed ``max_body(path)`` bytes. Refusals
are JSON, also for WebSockets (as an HTTP response to the upgrade, where the server
supports it).
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from harness_tui.web.auth import AccessKeys

#: Paths that take the token as ``?token=`` (a browser opens them without headers).
QUERY_TOKEN_PATHS = ("/", "/ws/")
WILDCARD_HOSTS = ("0.0.0.0", "::", "")
SECURITY_HEADERS = [
    (b"cache-control", b"no-store"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]


class HostPolicy:
    """Which ``Host`` header values name this server: IP literals and ``localhost`` on
    its port (DNS rebinding needs a name), plus the name it was told to bind to."""

    def __init__(self, bind_host: str, port: int) -> None:
        self.port = port
        self.bind_name = bind_host.strip("[]").lower()

    def allows(self, host_header: str | None) -> bool:
        if not host_header:
            return False
        name, port = split_host(host_header)
        if port != self.port or not name:
            return False
        if name == "localhost" or name == self.bind_name:
            return True
        try:
            ipaddress.ip_address(name)
        except ValueError:
            return False
        return True


def split_host(value: str) -> tuple[str, int | None]:
    """``("127.0.0.1", 8765)`` from ``127.0.0.1:8765``; ``[::1]:80`` works too."""
    value = value.strip().lower()
    if value.startswith("["):
        name, _, rest = value[1:].partition("]")
        port_text = rest.removeprefix(":") if rest.startswith(":") else ""
    else:
        name, _, port_text = value.rpartition(":") if ":" in value else (value, "", "")
    if not port_text:
        return name, 80
    return (name, int(port_text)) if port_text.isdigit() else ("", None)


class Guard:
    """ASGI middleware: Host, Origin, token and body size, before anything else."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        keys: AccessKeys,
        session_ids: Callable[[], Iterable[str]],
        hosts: HostPolicy,
        max_body: int | Callable[[str], int],
    ) -> None:
        self.app = app
        self.keys = keys
        self.session_ids = session_ids
        self.hosts = hosts
        self.max_body = max_body if callable(max_body) else (lambda path: max_body)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        host = headers.get("host")
        if not self.hosts.allows(host):
            await refuse(
                scope,
                receive,
                send,
                403,
                "host_not_allowed",
                f"the Host header {host!r} does not name this server",
                "open the URL that harness-tui printed (http://127.0.0.1:PORT/?token=...)",
            )
            return
        origin = headers.get("origin")
        here = (host or "").lower()
        if origin is not None and origin.lower() not in (f"http://{here}", f"https://{here}"):
            await refuse(
                scope,
                receive,
                send,
                403,
                "origin_not_allowed",
                f"requests from {origin!r} are not accepted; only pages this server serves "
                "may call it",
            )
            return
        grant = self.keys.check(self._token(scope, headers), self.session_ids())
        if grant is None:
            await refuse(
                scope,
                receive,
                send,
                401,
                "unauthorized",
                "a valid token is required",
                "send `Authorization: Bearer TOKEN`, or open the URL with ?token= that "
                "harness-tui printed",
            )
            return
        scope.setdefault("state", {})["grant"] = grant
        if kind == "websocket":
            await self.app(scope, receive, send)
            return
        limit = self.max_body(scope["path"])
        body_receive = await self._bounded_body(scope, headers, receive, limit)
        if body_receive is None:
            await refuse(
                scope,
                receive,
                send,
                413,
                "body_too_large",
                f"the request body is larger than {limit:,} bytes",
            )
            return
        await self.app(scope, body_receive, _with_security_headers(send))

    def _token(self, scope: Scope, headers: Headers) -> str | None:
        scheme, _, value = headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
        path: str = scope["path"]
        if path == QUERY_TOKEN_PATHS[0] or path.startswith(QUERY_TOKEN_PATHS[1]):
            query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
            values = query.get("token")
            return values[-1] if values else None
        return None

    async def _bounded_body(
        self, scope: Scope, headers: Headers, receive: Receive, limit: int
    ) -> Receive | None:
        """``receive`` itself when the declared length is within ``limit``; for a body
        sent without a length, one read of at most ``limit`` bytes. None: too large."""
        length = headers.get("content-length")
        if length is not None:
            return receive if length.isdigit() and int(length) <= limit else None
        if scope["method"] in ("GET", "HEAD", "DELETE", "OPTIONS"):
            return receive
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return receive
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > limit:
                return None
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        return replay


def _with_security_headers(send: Send) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = list(message.get("headers", [])) + SECURITY_HEADERS
        await send(message)

    return wrapped


def error_body(code: str, message: str, hint: str | None = None) -> dict[str, Any]:
    """The one shape of every error the server returns."""
    error: dict[str, Any] = {"code": code, "message": message}
    if hint:
        error["hint"] = hint
    return {"error": error}


async def refuse(
    scope: Scope,
    receive: Receive,
    send: Send,
    status: int,
    code: str,
    message: str,
    hint: str | None = None,
) -> None:
    """Answer with a JSON error; a WebSocket is refused before it is accepted."""
    body = json.dumps(error_body(code, message, hint)).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status == 401:
        headers.append((b"www-authenticate", b"Bearer"))
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        return
    await receive()  # the websocket.connect message
    if "websocket.http.response" in scope.get("extensions", {}):
        await send({"type": "websocket.http.response.start", "status": status, "headers": headers})
        await send({"type": "websocket.http.response.body", "body": body})
    else:  # the server turns this into a plain 403
        await send({"type": "websocket.close", "code": 1008, "reason": message[:120]})
