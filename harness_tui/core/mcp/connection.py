"""One MCP server: a long-lived task that owns its SDK client.

The task enters the client and leaves it (the SDK requires both in one task), lists the
server's tools, resources and prompts, and then waits: for the session to close, for
the server to go away, or for a list to change. Calls (``call_tool``, ``read_resource``,
``get_prompt``) come from other tasks (a run's tool call) and use the open client.

A server that goes away is *crashed*: its tools stay listed, and the next use starts it
again, after a backoff that grows with consecutive failures. A server that never came up
is *failed*, with the reason (the last line of its stderr, a timeout, ...).
"""

from __future__ import annotations

import logging
import math
import os
import time
import warnings
from collections import deque
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import anyio

import harness_tui.core.mcp.transports as transports
from harness_tui.core.events import McpStatus, new_id
from harness_tui.core.mcp.config import McpServerConfig
from harness_tui.core.mcp.features.tasks import call_as_task, unsupported_reason
from harness_tui.core.mcp.login import Login, login_wanted
from harness_tui.core.mcp.results import tool_result
from harness_tui.core.tools.base import ToolContext, ToolResult

log = logging.getLogger(__name__)

#: Seconds a server may take to start and list its tools (``MCP_TIMEOUT``, in
#: milliseconds as in Claude Code, overrides it).
DEFAULT_STARTUP_TIMEOUT_S = 30.0
#: Seconds before restart N+1 after N consecutive failures (the first is immediate).
BACKOFF_S = (0.0, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0)
#: A call waits out a backoff this short instead of failing at once.
MAX_CALL_WAIT_S = 2.0
LOG_LINES_KEPT = 200


class McpUnavailable(Exception):
    """The server cannot take calls now; the message says why and when it may."""


class ConnectionHost(Protocol):
    """What a connection needs from its manager."""

    session_id: str
    cwd: Path

    async def status_changed(self, connection: ServerConnection) -> None: ...

    async def lists_changed(self, connection: ServerConnection) -> None: ...

    def callbacks(self, connection: ServerConnection) -> dict[str, Any]:
        """The SDK client's ``sampling_callback`` etc. for this server."""
        ...

    def resource_updated(self, connection: ServerConnection, uri: str) -> None:
        """A subscribed resource changed (called from the client's receive loop)."""
        ...


@dataclass
class Listing:
    """What the server offers (SDK objects). ``tools`` are those we can call; ``hidden``
    are ``(tool, why)`` for the others (they need a protocol feature we lack)."""

    tools: list[Any] = field(default_factory=list)
    hidden: list[tuple[str, str]] = field(default_factory=list)
    resources: list[Any] = field(default_factory=list)
    templates: list[Any] = field(default_factory=list)
    prompts: list[Any] = field(default_factory=list)


def startup_timeout() -> float:
    raw = os.environ.get("MCP_TIMEOUT", "")
    try:
        return max(1.0, float(raw) / 1000) if raw else DEFAULT_STARTUP_TIMEOUT_S
    except ValueError:
        return DEFAULT_STARTUP_TIMEOUT_S


class ServerConnection:
    """One configured server and its connection task (``serve``)."""

    def __init__(
        self, config: McpServerConfig, host: ConnectionHost, *, login: Login | None = None
    ) -> None:
        self.config = config
        self.host = host
        self.status: McpStatus = "connecting"
        self.error: str | None = None
        self.listing = Listing()
        #: Restarts so far; consecutive failures (reset by a successful call).
        self.attempt = 0
        self.failures = 0
        self.log_lines: deque[str] = deque(maxlen=LOG_LINES_KEPT)
        self.protocol_version: str | None = None
        self._client: Any = None
        self._next_start = 0.0
        self._closing = False
        self._wake = anyio.Event()
        self._start_wanted = anyio.Event()
        #: Set when the current start attempt ends, ready or not; a new one for each.
        self._settled = anyio.Event()
        self._refresh = False
        self._lost: str | None = None
        self._scope: anyio.CancelScope | None = None
        self._run_done = anyio.Event()  # the current connection has ended
        self._done = anyio.Event()
        #: A login the user asked for: for the first start only (a later restart after
        #: a crash never opens a browser by itself).
        self._login = login
        #: 401 or 403 from a server whose headers carry the token (this start's).
        self._refused: int | None = None
        #: Progress of task calls, by their progress token (a task's progress arrives
        #: after its ``tools/call`` was answered, so the SDK does not route it).
        self._task_progress: dict[
            str, Callable[[float, float | None, str | None], Awaitable[None]]
        ] = {}

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def starting(self) -> bool:
        """On its first start, not yet ready or failed."""
        return self.status == "connecting" and self.attempt == 0 and not self._closing

    async def started(self) -> None:
        """Return when the current start attempt has ended, ready or not."""
        await self._settled.wait()

    @property
    def log_path(self) -> str | None:
        return str(transports.log_path(self.name)) if self.config.transport == "stdio" else None

    # --- the task -----------------------------------------------------------------

    async def serve(self) -> None:
        """Start now, and again whenever a call asks for a crashed server, until
        ``stop``."""
        self._start_wanted.set()
        try:
            while not self._closing:
                await self._start_wanted.wait()
                if self._closing:
                    break
                self._start_wanted = anyio.Event()
                await self._run_once()
            if self.status != "stopped":  # closed while down (failed or crashed)
                self.status, self.error = "stopped", None
                with anyio.CancelScope(shield=True):
                    await self.host.status_changed(self)
        finally:
            self._settled.set()
            self._done.set()

    async def stop(self) -> None:
        """Close the connection (ending a stdio server's process) and wait for it."""
        self._closing = True
        self._start_wanted.set()
        self._wake.set()
        if self._scope is not None:
            self._scope.cancel()
        await self._done.wait()

    async def _run_once(self) -> None:
        self.status, self.error, self._lost, self._refresh = "connecting", None, None, False
        self._wake = anyio.Event()
        self._run_done = anyio.Event()
        await self.host.status_changed(self)
        ready = wants_login = False
        failure: str | None = None
        timeout = startup_timeout() + (self._login.timeout if self._login is not None else 0)
        with anyio.CancelScope() as scope:
            self._scope = scope
            scope.deadline = anyio.current_time() + timeout
            try:
                await anyio.to_thread.run_sync(transports.import_sdk)
                async with AsyncExitStack() as stack:
                    client = await self._open(stack)
                    self.listing = await self._list_all(client)
                    scope.deadline = math.inf
                    self._client, ready = client, True
                    self.status = "ready"
                    self._settled.set()
                    await self.host.status_changed(self)
                    await self._watch(client)
            except Exception as exc:
                failure = transports.describe_failure(
                    exc, self.config, refused=self._refused, exit_reason=self._exit_reason
                )
                wants_login = login_wanted(exc)
            finally:
                self._client = None
        self._scope = None
        self._login = None
        if self._closing:
            self.status, self.error = "stopped", None
        elif ready:
            self.status = "crashed"
            self.error = failure or self._lost or "the connection ended"
            self._failed()
        else:
            if scope.cancelled_caught and failure is None:
                failure = f"it did not answer within {timeout:g} s (MCP_TIMEOUT sets the limit)"
            self.status = "needs_auth" if wants_login else "failed"
            self.error = failure or "it stopped before it was ready"
            self._failed()
        self._settled.set()
        self._run_done.set()
        with anyio.CancelScope(shield=True):
            await self.host.status_changed(self)

    async def _open(self, stack: AsyncExitStack) -> Any:
        self._refused = None
        client = await transports.open_client(
            self.config,
            stack,
            session_id=self.host.session_id,
            cwd=self.host.cwd,
            login=self._login,
            on_end=self._ended,
            on_refused=self._was_refused,
            message_handler=self._on_message,
            callbacks=self.host.callbacks(self),
        )
        self.protocol_version = client.protocol_version
        return client

    async def _list_all(self, client: Any) -> Listing:
        capabilities = client.server_capabilities
        listing = Listing()
        if capabilities.tools is not None:
            for spec in await _all_pages(client.list_tools, "tools"):
                why = unsupported_reason(spec, capabilities, self.name)
                if why is None:
                    listing.tools.append(spec)
                else:
                    listing.hidden.append((spec.name, why))
            known = {name for name, _ in self.listing.hidden}
            for name, why in listing.hidden:
                if name not in known:
                    log.warning(
                        "MCP tool %s of %s is not offered to the model: %s", name, self.name, why
                    )
        if capabilities.resources is not None:
            listing.resources = await _all_pages(client.list_resources, "resources")
            listing.templates = await _optional(
                _all_pages(client.list_resource_templates, "resource_templates")
            )
        if capabilities.prompts is not None:
            listing.prompts = await _all_pages(client.list_prompts, "prompts")
        return listing

    async def _watch(self, client: Any) -> None:
        """Wait for the end (stop or a lost server); refresh lists when they change."""
        while True:
            await self._wake.wait()
            self._wake = anyio.Event()
            if self._closing or self._lost is not None:
                return
            if self._refresh:
                self._refresh = False
                try:
                    self.listing = await self._list_all(client)
                except Exception as exc:
                    log.warning("refreshing the lists of %s failed: %s", self.name, exc)
                    continue
                await self.host.lists_changed(self)

    def _was_refused(self, status: int) -> None:
        self._refused = status

    def _ended(self) -> None:
        if not self._closing and self._lost is None:
            self._lost = self._exit_reason()
            self._wake.set()

    def _exit_reason(self) -> str:
        if self.config.transport != "stdio":
            return "the server closed the connection"
        last = transports.last_log_line(self.name)
        return "the server process exited" + (f" (its last words: {last})" if last else "")

    async def _on_message(self, message: Any) -> None:
        kind = type(message).__name__
        if kind in (
            "ToolListChangedNotification",
            "ResourceListChangedNotification",
            "PromptListChangedNotification",
        ):
            self._refresh = True
            self._wake.set()
        elif kind == "ProgressNotification":
            params = message.params
            report = self._task_progress.get(params.progress_token)
            if report is not None:
                await report(params.progress, params.total, params.message)
        elif kind == "ResourceUpdatedNotification":
            self._resource_updated(message)
        elif isinstance(message, Exception):
            log.debug("transport error from %s: %r", self.name, message)

    def _failed(self) -> None:
        self.failures += 1
        delay = BACKOFF_S[min(self.failures - 1, len(BACKOFF_S) - 1)]
        self._next_start = time.monotonic() + delay

    # --- calls (from other tasks) ----------------------------------------------------

    async def ready_client(self) -> Any:
        """The open client, starting a crashed or failed server again if it is time;
        raises ``McpUnavailable``."""
        if self.status == "ready" and self._lost is not None:
            await self._run_done.wait()  # the lost connection is being closed
        if self.status == "ready" and self._client is not None:
            return self._client
        if self._closing:
            raise McpUnavailable(f"MCP server {self.name} is closed (the session is ending)")
        if self.status in ("crashed", "failed", "needs_auth"):
            wait = self._next_start - time.monotonic()
            if wait > MAX_CALL_WAIT_S:
                raise McpUnavailable(
                    f"MCP server {self.name} is down ({self.error}); it will be started "
                    f"again when it is next used, in {wait:.0f} s or later"
                )
            if wait > 0:
                await anyio.sleep(wait)
            if self.status in ("crashed", "failed", "needs_auth"):
                self.attempt += 1
                self.status = "connecting"  # so concurrent callers wait for this start
                self._settled = anyio.Event()
                self._start_wanted.set()
        await self._settled.wait()
        if self.status != "ready" or self._client is None:
            raise McpUnavailable(f"MCP server {self.name} could not start: {self.error}")
        return self._client

    async def call_tool(
        self, remote_name: str, input: dict[str, Any], ctx: ToolContext, *, as_task: bool = False
    ) -> ToolResult:
        """Call a tool; its progress notifications (or, ``as_task``, its task's status
        messages) become ``TOOL_CALL_PROGRESS``."""
        from mcp import MCPError

        try:
            client = await self.ready_client()
        except McpUnavailable as exc:
            return ToolResult.error(str(exc))

        async def progress(value: float, total: float | None, message: str | None) -> None:
            await ctx.progress(progress=value, total=total, status=message)

        async def status(text: str) -> None:
            await ctx.progress(status=text)

        try:
            if as_task:
                token = new_id("task")
                self._task_progress[token] = progress
                try:
                    result = await call_as_task(client, remote_name, input, status, token)
                finally:
                    del self._task_progress[token]
            else:
                result = await client.call_tool(remote_name, input, progress_callback=progress)
        except MCPError as exc:
            if exc.code == transports.CONNECTION_CLOSED or self._lost is not None:
                self._ended()
                return ToolResult.error(
                    f"MCP server {self.name} went away during the call ({self._lost or exc}); "
                    "it will be started again when one of its tools is next used"
                )
            return ToolResult.error(
                f"{remote_name} on MCP server {self.name} failed: {exc.message} (code {exc.code})"
            )
        self.failures = 0
        return tool_result(result, server=self.name, tool=remote_name)

    async def read_resource(self, uri: str) -> Any:
        client = await self.ready_client()
        return await client.read_resource(uri)

    async def get_prompt(self, name: str, arguments: dict[str, str]) -> Any:
        client = await self.ready_client()
        return await client.get_prompt(name, arguments)

    async def roots_changed(self) -> None:
        """Tell the server the workspace folders changed (it asks for them again)."""
        client = self._client
        if client is None:
            return
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # roots are deprecated in 2026-07-28 only
                await client.send_roots_list_changed()
        except Exception as exc:
            log.debug("roots/list_changed to %s failed: %s", self.name, exc)

    def add_log(self, line: str) -> None:
        self.log_lines.append(line)

    # --- completions, subscriptions, log level (issue 17, item 3) ---------------------
    # Kept apart from the methods above: each is a thin call on the open client; what
    # to do with it is the manager's (``completions``, ``resource_watch``).

    def supports(self, capability: str) -> bool:
        """Whether the open connection's server declared ``capability``:
        ``completions``, ``logging`` or ``resources.subscribe``."""
        client = self._client
        if client is None or self.status != "ready":
            return False
        capabilities = client.server_capabilities
        if capability == "resources.subscribe":
            return bool(capabilities.resources is not None and capabilities.resources.subscribe)
        return getattr(capabilities, capability, None) is not None

    async def complete(
        self, kind: str, ref: str, argument: str, value: str, context: dict[str, str]
    ) -> list[str]:
        """``completion/complete`` for a prompt's or a resource template's argument."""
        from mcp.types import PromptReference, ResourceTemplateReference

        client = self._client
        if client is None:
            return []
        reference: Any = (
            PromptReference(type="ref/prompt", name=ref)
            if kind == "prompt"
            else ResourceTemplateReference(type="ref/resource", uri=ref)
        )
        result = await client.complete(
            reference, {"name": argument, "value": value}, context or None
        )
        return [str(v) for v in result.completion.values]

    async def subscribe_resource(self, uri: str, *, subscribe: bool = True) -> None:
        """``resources/subscribe`` (or unsubscribe): the server then sends
        ``notifications/resources/updated`` when the resource changes."""
        client = self._client
        if client is None:
            return
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # deprecated in 2026-07-28 only
            if subscribe:
                await client.subscribe_resource(uri)
            else:
                await client.unsubscribe_resource(uri)

    async def set_log_level(self, level: str) -> None:
        """``logging/setLevel``: the least severe log messages the server should send."""
        client = self._client
        if client is None:
            return
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # deprecated in 2026-07-28 only
            await client.set_logging_level(level)

    def _resource_updated(self, message: Any) -> None:
        """``notifications/resources/updated`` (from the client's receive loop: the
        manager reads the resource again in a task of its own)."""
        uri = getattr(getattr(message, "params", None), "uri", None)
        if uri is not None:
            self.host.resource_updated(self, str(uri))


async def _all_pages(fetch: Callable[..., Awaitable[Any]], attribute: str) -> list[Any]:
    items: list[Any] = []
    cursor = None
    for _ in range(100):  # a server that pages forever must not hang the start
        page = await fetch(cursor=cursor)
        items += getattr(page, attribute)
        cursor = page.next_cursor
        if not cursor:
            break
    return items


async def _optional(listing: Awaitable[list[Any]]) -> list[Any]:
    """A list some servers do not implement (resource templates)."""
    try:
        return await listing
    except Exception:
        return []
