"""The SDK transport for a server's configuration, and where its output goes.

A stdio server's stderr is written to a per-server log file (never the terminal: it
would tear the TUI). The read side of every transport is watched, so the connection
notices at once when a server goes away instead of at the next call; and why a start
failed, in words. The SDK is imported only here and in ``connection``, and only once a
server starts.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import IO, Any

import anyio

from harness_tui.core.config import paths
from harness_tui.core.mcp.config import McpServerConfig
from harness_tui.core.mcp.login import (
    Login,
    LoginFailed,
    LoginRequired,
    NoLogin,
    login_failure,
    oauth_errors,
)
from harness_tui.core.mcp.oauth import build_auth
from harness_tui.core.version import __version__

#: A log file larger than this is moved to ``NAME.log.1`` when the server starts.
MAX_LOG_BYTES = 1_000_000
#: HTTP timeouts: a bare httpx2 client gives up after 5 s, too soon for a slow tool;
#: reads wait long because a response stream may stay open.
CONNECT_TIMEOUT_S = 30.0
READ_TIMEOUT_S = 300.0
_SDK_LOGGERS = ("mcp", "client", "httpx2")


#: The JSON-RPC error code of a connection that closed under a request.
CONNECTION_CLOSED = -32000


def log_dir() -> Path:
    return paths.data_dir() / "mcp-logs"


def log_path(server: str) -> Path:
    return log_dir() / f"{server}.log"


def open_log(server: str, session_id: str) -> IO[str]:
    """The server's stderr log, opened for appending with a header for this start."""
    path = log_path(server)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        if path.stat().st_size > MAX_LOG_BYTES:
            os.replace(path, path.with_suffix(".log.1"))
    except FileNotFoundError:
        pass
    handle = path.open("a", encoding="utf-8", errors="replace")
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    handle.write(f"--- {stamp} start of {server} (session {session_id}) ---\n")
    handle.flush()
    return handle


def last_log_line(server: str) -> str | None:
    """The last line the server wrote to stderr (a crash's reason, usually)."""
    try:
        with log_path(server).open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 4096))
            lines = handle.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return None
    for line in reversed(lines):
        if line.strip() and not line.startswith("--- "):
            return line.strip()[:300]
    return None


def keep_sdk_logs_off_the_terminal() -> None:
    """With no logging configured, Python prints warnings to stderr (the "last resort"
    handler), and the SDK logs transport failures: send them to a file instead."""
    if logging.getLogger().handlers:
        return
    for name in _SDK_LOGGERS:
        logger = logging.getLogger(name)
        if any(getattr(h, "_harness_mcp", False) for h in logger.handlers):
            continue
        try:
            log_dir().mkdir(parents=True, exist_ok=True)
            handler: logging.Handler = logging.FileHandler(log_dir() / "sdk.log", delay=True)
        except OSError:
            handler = logging.NullHandler()
        handler.setLevel(logging.WARNING)
        handler._harness_mcp = True  # type: ignore[attr-defined]
        logger.addHandler(handler)


class WatchedStream:
    """The transport's read stream, calling ``on_end`` when the server's side ends."""

    def __init__(self, stream: Any, on_end: Callable[[], None]) -> None:
        self._stream = stream
        self._on_end = on_end

    async def receive(self) -> Any:
        try:
            return await self._stream.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError, anyio.BrokenResourceError):
            self._on_end()
            raise

    async def aclose(self) -> None:
        await self._stream.aclose()

    def __aiter__(self) -> WatchedStream:
        return self

    async def __anext__(self) -> Any:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    async def __aenter__(self) -> WatchedStream:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __getattr__(self, name: str) -> Any:  # e.g. ``last_context``
        return getattr(self._stream, name)


@asynccontextmanager
async def open_transport(
    config: McpServerConfig,
    *,
    cwd: Path,
    errlog: IO[str] | None,
    on_end: Callable[[], None],
    login: Login | None = None,
    on_refused: Callable[[int], None] | None = None,
) -> AsyncIterator[tuple[Any, Any]]:
    """Connect to the server; yields the ``(read, write)`` streams the SDK's client
    session takes. Raises ``OSError`` when a stdio command cannot start. A remote server
    gets OAuth (``oauth.build_auth``): stored tokens, refreshed; a person is asked only
    with ``login``. One whose headers carry the token instead calls ``on_refused`` with
    the status when it answers 401 or 403 (the SDK's error for it names no status)."""
    async with AsyncExitStack() as stack:
        if config.transport == "stdio":
            from mcp.client.stdio import StdioServerParameters, stdio_client

            params = StdioServerParameters(
                command=config.command or "",
                args=list(config.args),
                env=dict(config.env) or None,
                cwd=_folder(config.cwd, cwd),
            )
            transport = stdio_client(params, errlog=errlog)  # type: ignore[arg-type]
        elif config.transport == "http":
            import httpx2
            from mcp.client.streamable_http import streamable_http_client

            auth = await build_auth(config, stack, login)

            async def refused(response: httpx2.Response) -> None:
                if response.status_code in (401, 403) and on_refused is not None:
                    on_refused(response.status_code)

            http = await stack.enter_async_context(
                httpx2.AsyncClient(
                    headers=dict(config.headers),
                    timeout=httpx2.Timeout(CONNECT_TIMEOUT_S, read=READ_TIMEOUT_S),
                    auth=auth,
                    # With OAuth a 401 is the start of a login, not a refusal.
                    event_hooks={"response": [refused]} if auth is None else None,
                )
            )
            transport = streamable_http_client(config.url or "", http_client=http)
        else:
            from mcp.client.sse import sse_client

            transport = sse_client(
                config.url or "",
                headers=dict(config.headers) or None,
                timeout=CONNECT_TIMEOUT_S,
                sse_read_timeout=READ_TIMEOUT_S,
                auth=await build_auth(config, stack, login),
            )
        read, write = await stack.enter_async_context(transport)
        yield WatchedStream(read, on_end), write


async def open_client(
    config: McpServerConfig,
    stack: AsyncExitStack,
    *,
    session_id: str,
    cwd: Path,
    login: Login | None,
    on_end: Callable[[], None],
    on_refused: Callable[[int], None],
    message_handler: Any,  # the SDK's MessageHandlerFnT: an async function of a message
    callbacks: dict[str, Any],
) -> Any:
    """The SDK's client for the server, connected over its transport (``open_transport``)
    and initialized; ``stack`` closes it. ``callbacks``: the client's handlers of the
    server's requests (sampling, elicitation, roots)."""
    from mcp import Client
    from mcp.types import Implementation

    keep_sdk_logs_off_the_terminal()
    errlog = None
    if config.transport == "stdio":
        errlog = stack.enter_context(open_log(config.name, session_id))
    transport = open_transport(
        config, cwd=cwd, errlog=errlog, on_end=on_end, login=login, on_refused=on_refused
    )
    client = Client(
        transport,
        # "legacy": the initialize handshake. Connections negotiated with
        # server/discover refuse server-initiated sampling and elicitation.
        mode="legacy",
        cache=None,
        message_handler=message_handler,
        client_info=Implementation(name="harness-tui", version=__version__),
        **callbacks,
    )
    await stack.enter_async_context(client)
    return client


def import_sdk() -> None:
    """Import the SDK (0.5-0.9 s), in a thread, so the UI keeps painting meanwhile."""
    import mcp.client.stdio
    import mcp.client.streamable_http  # noqa: F401


def describe_failure(
    exc: BaseException,
    config: McpServerConfig,
    *,
    refused: int | None = None,
    exit_reason: Callable[[], str] = lambda: "the server closed the connection",
) -> str:
    """Why a server's start (or its connection) failed, in words the user can act on.
    ``refused``: the 401/403 a server whose headers carry the token answered with;
    ``exit_reason``: what became of a stdio server's process."""
    auth = login_failure(exc)
    if auth is not None and auth is not exc:
        return describe_failure(auth, config, refused=refused, exit_reason=exit_reason)
    if isinstance(exc, LoginRequired | LoginFailed | NoLogin):
        return str(exc)
    if isinstance(exc, oauth_errors()):
        what = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        return (
            f"the login to MCP server {config.name} failed ({what}); run "
            f"/mcp login {config.name} (or `harness-tui mcp login {config.name}`) to log in again"
        )
    status = getattr(getattr(exc, "response", None), "status_code", None) or refused
    if status in (401, 403) and config.transport != "stdio":
        # Only a server whose headers carry an Authorization gets here (the others
        # have OAuth, which answers a 401 itself): that token was refused.
        return (
            f"the server refused the token in its 'headers' ({status}); check it, or "
            "remove the Authorization header to log in with OAuth (/mcp login)"
        )
    if isinstance(exc, FileNotFoundError) and config.transport == "stdio":
        return f"command not found: {config.command}"
    if isinstance(exc, PermissionError) and config.transport == "stdio":
        return f"cannot run {config.command}: permission denied"
    if isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        return describe_failure(exc.exceptions[0], config, refused=refused, exit_reason=exit_reason)
    text = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    if getattr(exc, "code", None) == CONNECTION_CLOSED and config.transport == "stdio":
        return exit_reason()
    return f"{type(exc).__name__}: {text}"


def _folder(configured: str | None, cwd: Path) -> Path:
    if not configured:
        return cwd
    folder = Path(configured).expanduser()
    return folder if folder.is_absolute() else cwd / folder
