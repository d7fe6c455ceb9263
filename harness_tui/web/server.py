"""Running the web sidecar inside the caller's event loop and task group.

``serve_session`` mirrors one live session (the TUI's); ``serve_manager`` serves a
``SessionManager`` (``harness-tui serve``). Both are ``task_status`` coroutines:
``address = await group.start(serve_session, session)`` returns once the server listens,
with the URL (token included) to show the user; cancelling the group stops the server
gracefully. The server installs no signal handlers: its owner decides what Ctrl+C does.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import anyio
import uvicorn

from harness_tui.core.errors import HarnessError
from harness_tui.core.session.session import Session, SessionManager
from harness_tui.web.api import create_app
from harness_tui.web.auth import AccessKeys
from harness_tui.web.feed import LAG_WINDOW, FeedRegistry
from harness_tui.web.guard import WILDCARD_HOSTS, HostPolicy
from harness_tui.web.redact import Redactor
from harness_tui.web.sessions import (
    DEFAULT_MAX_SESSIONS,
    ManagedSessions,
    SessionDirectory,
    SessionOptions,
    SingleSession,
)

DEFAULT_HOST = "127.0.0.1"
#: Largest message a browser may send on the WebSocket (it only sends pings).
WS_MAX_MESSAGE_BYTES = 64 * 1024
#: How long open connections get to finish when the server stops.
GRACEFUL_STOP_S = 3  # seconds (uvicorn takes whole seconds)


class WebServerError(HarnessError):
    """The server could not start (address in use, unknown host, missing extra)."""


@dataclass(frozen=True, slots=True)
class WebAddress:
    """Where the server listens, and the URL (token included) to open."""

    host: str
    port: int
    token: str
    #: True when the server listens on an address other machines may reach.
    exposed: bool

    @property
    def base_url(self) -> str:
        host = DEFAULT_HOST if self.host in WILDCARD_HOSTS else self.host
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.base_url}/?token={self.token}"

    def __str__(self) -> str:
        return self.url


class _Uvicorn(uvicorn.Server):
    """uvicorn that says when it listens and leaves signals to its owner."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.listening = anyio.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        self.listening.set()

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


class WebServer:
    """The sidecar for a directory of sessions; ``run`` it in a task group."""

    def __init__(
        self,
        sessions: SessionDirectory,
        *,
        host: str = DEFAULT_HOST,
        port: int = 0,
        keys: AccessKeys | None = None,
        redactor: Redactor | None = None,
        url_session: str | None = None,
        lag_window: int = LAG_WINDOW,
    ) -> None:
        self.sessions = sessions
        self.host = host
        self.port = port
        self.keys = keys or AccessKeys()
        self.redactor = redactor or Redactor.from_environment()
        #: The URL carries this session's token instead of the server token.
        self.url_session = url_session
        #: How many events a browser may fall behind before it gets a gap marker.
        self.lag_window = lag_window

    async def run(self, *, task_status: Any = anyio.TASK_STATUS_IGNORED) -> None:
        """Listen, report the ``WebAddress`` through ``task_status``, and serve until
        cancelled; then close every connection (within ``GRACEFUL_STOP_S``)."""
        sock, exposed = bind_socket(self.host, self.port)
        port = sock.getsockname()[1]
        async with anyio.create_task_group() as group:
            feeds = FeedRegistry(group, self.redactor, self.lag_window)
            app = create_app(self.sessions, self.keys, feeds, HostPolicy(self.host, port))
            server = _Uvicorn(
                uvicorn.Config(
                    app,
                    lifespan="off",
                    log_config=None,
                    log_level="warning",  # info lines would carry URLs with tokens
                    access_log=False,
                    proxy_headers=False,
                    server_header=False,
                    ws_max_size=WS_MAX_MESSAGE_BYTES,
                    # Compressing each frame for each browser would cost the agent's
                    # event loop more than all else here; on loopback it saves nothing.
                    ws_per_message_deflate=False,
                    timeout_graceful_shutdown=GRACEFUL_STOP_S,
                )
            )
            stopped = anyio.Event()
            group.start_soon(_serve, server, sock, stopped)
            try:
                await server.listening.wait()
                if not server.started:
                    raise WebServerError(f"the web server on {self.host}:{port} did not start")
                token = (
                    self.keys.session_token(self.url_session)
                    if self.url_session
                    else self.keys.server_token
                )
                task_status.started(WebAddress(self.host, port, token, exposed))
                await stopped.wait()
            finally:
                server.should_exit = True
                with anyio.CancelScope(shield=True):
                    await stopped.wait()
                group.cancel_scope.cancel()  # the feeds


async def _serve(server: _Uvicorn, sock: socket.socket, stopped: anyio.Event) -> None:
    # Shielded: cancelling the owner asks uvicorn to stop (``should_exit``) so it closes
    # its connections, instead of tearing it down mid-request.
    try:
        with anyio.CancelScope(shield=True):
            await server.serve(sockets=[sock])
    finally:
        sock.close()
        server.listening.set()  # also when it failed to start: nobody waits forever
        stopped.set()


def bind_socket(host: str, port: int) -> tuple[socket.socket, bool]:
    """A listening TCP socket on ``host:port`` and whether that address is reachable
    from other machines. Raises ``WebServerError`` with what to do instead."""
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise WebServerError(
            f"cannot listen on {host!r}: {exc}", hint="use an IP address such as 127.0.0.1"
        ) from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        raise WebServerError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}",
            hint="choose another --port (0 picks a free one)",
        ) from None
    try:
        exposed = not ipaddress.ip_address(address[0]).is_loopback
    except ValueError:
        exposed = True
    return sock, exposed


async def serve_session(
    session: Session,
    *,
    host: str = DEFAULT_HOST,
    port: int = 0,
    task_status: Any = anyio.TASK_STATUS_IGNORED,
    **options: Any,
) -> None:
    """Mirror one live session (the TUI's) to browsers until cancelled.

    ``address = await group.start(serve_session, session, port=8765)`` returns once it
    listens; ``address.url`` carries a token that opens this session only. Other
    keyword arguments go to ``WebServer``."""
    server = WebServer(
        SingleSession(session), host=host, port=port, url_session=session.id, **options
    )
    await server.run(task_status=task_status)


async def serve_manager(
    manager: SessionManager,
    *,
    options: SessionOptions | None = None,
    host: str = DEFAULT_HOST,
    port: int = 0,
    max_sessions: int = DEFAULT_MAX_SESSIONS,
    task_status: Any = anyio.TASK_STATUS_IGNORED,
    **server_options: Any,
) -> None:
    """Serve an open ``SessionManager``: browsers create sessions in it (each with
    ``options()`` as its keyword arguments, at most ``max_sessions`` live at once) and
    drive them. ``address.url`` carries the server token, which opens every session."""
    sessions = ManagedSessions(manager, options, max_sessions=max_sessions)
    server = WebServer(sessions, host=host, port=port, **server_options)
    await server.run(task_status=task_status)
