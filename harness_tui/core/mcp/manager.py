# Over 500 lines as one unit: McpManager, the session's single face to all its MCP servers.
"""The MCP servers of one session.

``McpManager`` turns configuration into connections (one task each, in the session's
task group, started in the background so nothing waits for a slow server), keeps the
session's tool executor in step with what the servers offer, reports every status
change as ``MCP_SERVER_STATUS``, and serves resources (``@server:uri`` mentions) and
prompts (``/mcp__server__prompt`` commands).

Plugins add servers with ``add_server(name, config_dict, source="plugin NAME")``: the
dict is one ``mcpServers`` entry, in ``.mcp.json``'s format.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import anyio.abc

from harness_tui.core.errors import HarnessError
from harness_tui.core.events import McpServerStatus, Notice
from harness_tui.core.mcp.config import McpServerConfig, Scope, load_servers, server_config
from harness_tui.core.mcp.connection import McpUnavailable, ServerConnection
from harness_tui.core.mcp.features.client_requests import ClientRequests
from harness_tui.core.mcp.features.completions import Completions
from harness_tui.core.mcp.features.log_levels import LogLevels, log_levels
from harness_tui.core.mcp.features.questions import QuestionBroker
from harness_tui.core.mcp.features.resource_watch import ResourceWatch
from harness_tui.core.mcp.features.tool_search import ToolSearch, ToolSearchTool
from harness_tui.core.mcp.login import (
    LOGIN_TIMEOUT_S,
    Login,
    LoginFailed,
    open_in_browser,
    token_file,
)
from harness_tui.core.mcp.results import prompt_arguments, prompt_text, resource_text
from harness_tui.core.mcp.tools import McpTool, server_tools
from harness_tui.core.providers.base import ToolSpec

if TYPE_CHECKING:
    from harness_tui.core.config.settings import Settings
    from harness_tui.core.providers.models import ModelChoice
    from harness_tui.core.tools.base import Tool
    from harness_tui.core.tools.executor import ToolExecutor

log = logging.getLogger(__name__)

Emit = Callable[..., Awaitable[Any]]
#: ``@server:uri`` in a prompt: the resource's contents are attached to the message.
MENTION = re.compile(r"(?<![\w@])@([A-Za-z0-9_-]+):(\S+)")
MAX_ATTACHED_CHARS = 100_000
#: How long the first request waits for servers that are still starting.
STARTUP_WAIT_S = 10.0


@dataclass(frozen=True)
class ServerView:
    """A server as ``/mcp`` shows it (plain data, no live objects)."""

    name: str
    status: str
    transport: str
    target: str
    source: str
    error: str | None
    tools: tuple[tuple[str, str], ...]
    resources: tuple[tuple[str, str], ...]
    prompts: tuple[tuple[str, str], ...]
    log_path: str | None
    log_lines: tuple[str, ...]
    #: ``(tool, why)``: tools the server lists that are not offered to the model.
    hidden_tools: tuple[tuple[str, str], ...] = ()
    #: Resource templates (URI template, description); the user fills their variables.
    templates: tuple[tuple[str, str], ...] = ()
    #: ``logging/setLevel`` sent to it (``mcp.logLevel``), if any.
    log_level: str | None = None
    #: Resources attached and subscribed to (their changes reach the conversation).
    subscribed: tuple[str, ...] = ()


class McpManager:
    """Configured servers, their connections and what they offer the session."""

    def __init__(
        self,
        *,
        session_id: str,
        cwd: Path,
        emit: Emit,
        executor: ToolExecutor,
        emit_session: Emit | None = None,
        model: Callable[[], ModelChoice],
        roots: Callable[[], list[Path]],
        can_ask: Callable[[], bool] = lambda: True,
    ) -> None:
        self.session_id = session_id
        self.cwd = cwd
        #: Events of the current run (questions, notices about a prompt) and events of
        #: the session itself (server status and logs: no run_id).
        self.emit = emit
        self.emit_session = emit_session or emit
        self.executor = executor
        self.questions = QuestionBroker(emit, can_ask)
        self.requests = ClientRequests(
            emit=emit,
            emit_session=self.emit_session,
            questions=self.questions,
            model=model,
            roots=roots,
        )
        self.tool_search = ToolSearch()
        self.connections: dict[str, ServerConnection] = {}
        self._group: anyio.abc.TaskGroup | None = None
        self._roots: list[Path] = []
        self._closed = False
        self._waited: set[str] = set()
        #: Logins under way, by server (``paste_login`` finds them).
        self._logins: dict[str, Login] = {}
        self.startup_wait_s = STARTUP_WAIT_S
        self.log_levels = LogLevels()
        self.watch = ResourceWatch(self.emit_session, self._read_attachment)
        #: What the input box may complete from the servers (``@server:``, prompt args).
        self.completions = Completions(self.connections)

    # --- configuration ------------------------------------------------------------------

    def configure(self, settings: Settings, *, trusted: bool) -> list[str]:
        """Add the servers the settings (and, when trusted, ``.mcp.json``) configure;
        servers already known keep running. Returns the problems found."""
        loaded = load_servers(self.cwd, settings, trusted=trusted)
        for config in loaded.servers.values():
            if config.name not in self.connections:
                self._add(config)
        self.log_levels, problems = log_levels(settings)
        return loaded.problems + problems

    def add_server(
        self, name: str, config: Mapping[str, Any], *, source: str, scope: Scope = "plugin"
    ) -> list[str]:
        """Add one server from an ``mcpServers``-style entry (plugins call this).
        Raises ``McpConfigError`` for a malformed entry; returns warnings. A name that
        is taken already is an error: the first definition wins."""
        warnings: list[str] = []
        parsed = server_config(name, config, source=source, scope=scope, warnings=warnings)
        if parsed.name in self.connections:
            other = self.connections[parsed.name].config.source
            raise HarnessError(
                f"{source}: MCP server {parsed.name!r} is already configured in {other}",
                hint="rename one of them",
            )
        self._add(parsed)
        return warnings

    def _add(self, config: McpServerConfig) -> None:
        connection = ServerConnection(config, self)
        self.connections[config.name] = connection
        if self._group is not None:
            self._group.start_soon(connection.serve)

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self, group: anyio.abc.TaskGroup) -> None:
        """Start every server in the background (returns at once)."""
        self._group = self.watch.group = group
        for connection in self.connections.values():
            group.start_soon(connection.serve)

    async def wait_started(self) -> None:
        """Before a request: wait (at most ``startup_wait_s``, once per server) for servers
        still on their first start, so the request can offer their tools. A server
        still starting after that is a notice; its tools join a later request."""
        starting = [
            c for c in self.connections.values() if c.starting and c.name not in self._waited
        ]
        if not starting:
            return
        self._waited.update(c.name for c in starting)
        with anyio.move_on_after(self.startup_wait_s):
            for connection in starting:
                await connection.started()
        late = [c.name for c in starting if c.starting]
        if late:
            await self.emit(
                Notice,
                message=f"MCP server{'s' if len(late) > 1 else ''} {', '.join(late)} still "
                "starting; their tools join a later request once ready",
            )

    async def aclose(self) -> None:
        """Close every connection (ending stdio servers' processes), all at once."""
        self._closed = True
        self.questions.cancel_all()
        with anyio.CancelScope(shield=True):
            await self.watch.aclose(self.connections)
            async with anyio.create_task_group() as group:
                for connection in self.connections.values():
                    group.start_soon(connection.stop)
        self.tool_search.save_usage()

    # --- ConnectionHost -------------------------------------------------------------------

    def callbacks(self, connection: ServerConnection) -> dict[str, Any]:
        return self.requests.callbacks(connection)

    async def status_changed(self, connection: ServerConnection) -> None:
        if connection.status == "ready":
            self._sync_tools(connection)
            self._connected(connection)
        elif connection.status in ("failed", "needs_auth", "stopped") and connection.attempt == 0:
            self._sync_tools(connection, remove=True)
        if connection.status in ("failed", "needs_auth", "crashed") and not self._closed:
            # Also a notice, so every view (headless stderr, the web page) shows it.
            await self.emit_session(Notice, message=_failure_notice(connection), level="warning")
        listing = connection.listing
        await self.emit_session(
            McpServerStatus,
            server=connection.name,
            status=connection.status,
            transport=connection.config.transport,
            target=connection.config.describe(),
            source=connection.config.source,
            tools=len(listing.tools),
            resources=len(listing.resources) + len(listing.templates),
            prompts=len(listing.prompts),
            error=connection.error,
            attempt=connection.attempt,
            log_path=connection.log_path,
        )

    def resource_updated(self, connection: ServerConnection, uri: str) -> None:
        self.watch.changed(connection.name, uri)

    def _connected(self, connection: ServerConnection) -> None:
        """A (new) connection is ready: its log level, its subscriptions again."""
        level = self.log_levels.of(connection.name)
        if level is not None and connection.supports("logging"):
            self.watch.spawn(self._set_log_level, connection, level)
        self.watch.reconnected(connection)

    async def _set_log_level(self, connection: ServerConnection, level: str) -> None:
        try:
            await connection.set_log_level(level)
        except Exception as exc:
            log.info("logging/setLevel %s on %s failed: %s", level, connection.name, exc)
            connection.add_log(f"harness: the server refused log level {level}: {exc}")

    async def lists_changed(self, connection: ServerConnection) -> None:
        before = {t.name for t in self._tools_of(connection)}
        await self.status_changed(connection)  # takes the new listing
        after = {t.name for t in self._tools_of(connection)}
        if before != after:
            added, removed = sorted(after - before), sorted(before - after)
            parts = [f"+{len(added)}"] if added else []
            parts += [f"-{len(removed)}"] if removed else []
            await self.emit_session(
                Notice,
                message=f"MCP server {connection.name}: its tools changed ({', '.join(parts)})",
            )

    # --- tools ----------------------------------------------------------------------------

    def _tools_of(self, connection: ServerConnection) -> list[McpTool]:
        return [
            t
            for t in self.executor.tools.values()
            if isinstance(t, McpTool) and t.connection is connection
        ]

    def _sync_tools(self, connection: ServerConnection, *, remove: bool = False) -> None:
        """Replace the server's tools in the executor with its current listing."""
        for tool in self._tools_of(connection):
            self.executor.remove(tool.name)
        if remove:
            return
        for tool in server_tools(connection, self.executor.tools):
            tool.on_use = self.tool_search.record_use
            self.executor.add(tool)
        if self.tool_search_tool is None:
            self.executor.add(ToolSearchTool(self.tool_search, self.executor.tools))

    @property
    def tool_search_tool(self) -> Tool | None:
        return self.executor.tools.get("ToolSearch")

    def select_tools(
        self, specs: tuple[ToolSpec, ...], context_window: int | None, hidden: Iterable[str] = ()
    ) -> tuple[ToolSpec, ...]:
        """The definitions a request carries (see ``tool_search``)."""
        return self.tool_search.select(specs, self.executor.tools, context_window, hidden)

    # --- roots ------------------------------------------------------------------------------

    async def roots_changed(self, roots: list[Path]) -> None:
        """The workspace folders changed: tell the servers that are up."""
        if roots == self._roots:
            return
        self._roots = list(roots)
        for connection in self.connections.values():
            await connection.roots_changed()

    # --- logins ---------------------------------------------------------------------------

    def _remote(self, server: str) -> ServerConnection:
        connection = self._connection(server)
        if connection.config.transport == "stdio":
            raise HarnessError(
                f"MCP server {server} runs on this machine (stdio): it has no login",
                hint="logins are for remote (http and sse) servers",
            )
        return connection

    async def login(
        self,
        server: str,
        open_url: Callable[[str], Awaitable[None]] | None = None,
        *,
        wait_s: float = LOGIN_TIMEOUT_S,
    ) -> None:
        """Log in to a remote server with OAuth: its authorization page is shown as a
        notice (for a browser on another machine) and opened with ``open_url`` (default:
        the system's browser); the server is connected again with the tokens. Raises
        ``HarnessError`` naming the server and the reason when it does not come up."""
        connection = self._remote(server)
        opener = open_url or open_in_browser

        async def show(url: str) -> None:
            await self.emit_session(
                Notice, message=f"Log in to MCP server {server} in your browser: {url}"
            )
            callback = login.listener.redirect_uri if login.listener else "http://127.0.0.1"
            await self.emit_session(
                Notice,
                message=f"If that browser runs on another machine, the page it ends on "
                f"({callback}?…) will not load there: paste that page's address here with "
                "/mcp paste ADDRESS.",
            )
            await opener(url)

        login = Login(show, wait_s)
        self._logins[server] = login
        try:
            await self.restart(server, login)
        finally:
            self._logins.pop(server, None)
        connection = self.connections[server]
        if connection.status != "ready":
            raise HarnessError(
                f"the login to MCP server {server} did not complete: {connection.error}"
            )
        await self.emit_session(Notice, message=f"Logged in to MCP server {server}.")

    def paste_login(self, address: str) -> str:
        """Finish a login under way with the address its browser ended on (a browser on
        another machine cannot reach our listener). Returns the server's name; raises
        ``HarnessError`` when no login takes it."""
        from urllib.parse import urlsplit

        if not self._logins:
            raise HarnessError(
                "no MCP login is under way", hint="start one with /mcp login NAME first"
            )
        port = urlsplit(address.strip()).port
        waiting = [
            (name, login)
            for name, login in self._logins.items()
            if len(self._logins) == 1 or (login.listener and login.listener.port == port)
        ]
        if not waiting:
            raise HarnessError(f"no MCP login under way listens on port {port}")
        name, login = waiting[0]
        try:
            login.paste(address)
        except LoginFailed as exc:
            raise HarnessError(f"MCP server {name}: {exc}") from None
        return name

    async def logout(self, server: str) -> bool:
        """Forget the server's tokens and client registration, and connect again without
        them; False when there was nothing stored."""
        connection = self._remote(server)
        forgotten = token_file(connection.config).forget()
        await self.restart(server)
        await self.emit_session(
            Notice,
            message=f"Logged out of MCP server {server}."
            if forgotten
            else f"MCP server {server} had no stored login.",
        )
        return forgotten

    # --- resources and prompts ----------------------------------------------------------

    def _connection(self, server: str) -> ServerConnection:
        connection = self.connections.get(server)
        if connection is None:
            known = ", ".join(sorted(self.connections)) or "none"
            raise HarnessError(f"no MCP server named {server!r} (servers: {known})")
        return connection

    async def read_resource(self, server: str, uri: str) -> str:
        """A resource's contents as text. Raises ``HarnessError``."""
        connection = self._connection(server)
        try:
            result = await connection.read_resource(uri)
        except McpUnavailable as exc:
            raise HarnessError(str(exc)) from None
        except Exception as exc:
            message = getattr(exc, "message", None) or str(exc)
            raise HarnessError(
                f"reading {uri} from MCP server {server} failed: {message}"
            ) from None
        return "\n".join(resource_text(c) for c in result.contents)

    async def _read_attachment(self, server: str, uri: str) -> str:
        contents = await self.read_resource(server, uri)
        if len(contents) > MAX_ATTACHED_CHARS:
            cut = len(contents) - MAX_ATTACHED_CHARS
            contents = contents[:MAX_ATTACHED_CHARS] + f"\n[{cut:,} characters cut]"
        return contents

    async def attach_mentions(self, text: str) -> list[tuple[str, str]]:
        """The ``@server:uri`` mentions of known servers in ``text``, read: a list of
        ``(mention, contents)``; a resource that cannot be read is a notice, not an
        attachment. Attached resources are subscribed to (see ``resource_watch``)."""
        attached: list[tuple[str, str]] = []
        for match in MENTION.finditer(text):
            server, uri = match.group(1), match.group(2).rstrip(".,;:!?)")
            if server not in self.connections:
                continue
            try:
                contents = await self._read_attachment(server, uri)
            except HarnessError as exc:
                await self.emit(
                    Notice, message=f"@{server}:{uri} not attached: {exc}", level="warning"
                )
                continue
            attached.append((f"@{server}:{uri}", contents))
            self.watch.attached(self.connections[server], uri)
        return attached

    def changed_resources(self, mentioned: Iterable[str] = ()) -> list[tuple[str, str]]:
        """Attached resources that changed since the last prompt, read again, as
        ``(label, contents)`` for the next prompt (``mentioned`` ones are left out)."""
        return self.watch.take_updates(set(mentioned))

    # --- /mcp restart ---------------------------------------------------------------------

    async def restart(self, server: str, login: Login | None = None) -> None:
        """Stop the server and start it again (a new connection: its tools, resources
        and prompts are listed afresh), with ``login`` if given. Returns once it is ready
        or has failed. Raises ``HarnessError`` for an unknown server."""
        old = self._connection(server)
        if self._closed or self._group is None:
            raise HarnessError(f"MCP server {server} cannot restart: the session is not open")
        await old.stop()
        self._sync_tools(old, remove=True)
        fresh = ServerConnection(old.config, self, login=login)
        fresh.attempt = old.attempt + 1  # so its status reads as a restart
        fresh.log_lines = old.log_lines
        self.connections[server] = fresh
        self._waited.add(server)
        assert self._group is not None
        self._group.start_soon(fresh.serve)
        await fresh.started()

    def prompt_commands(self) -> list[tuple[str, str]]:
        """``(command, description)`` for every prompt of every ready server."""
        commands = []
        for connection in self.connections.values():
            for prompt in connection.listing.prompts:
                args = " ".join(
                    f"<{a.name}>" if a.required else f"[{a.name}]" for a in prompt.arguments or ()
                )
                about = prompt.description or f"prompt of MCP server {connection.name}"
                commands.append(
                    (f"mcp__{connection.name}__{prompt.name}", f"{about} {args}".strip())
                )
        return commands

    async def render_prompt(self, command: str, argument_text: str = "") -> str:
        """The text of prompt command ``mcp__server__prompt`` with its arguments
        (space-separated, quotes group words; the last argument takes the rest).
        Raises ``HarnessError``."""
        _, _, rest = command.partition("mcp__")
        server, _, name = rest.partition("__")
        connection = self._connection(server)
        prompt = next((p for p in connection.listing.prompts if p.name == name), None)
        if prompt is None:
            known = ", ".join(p.name for p in connection.listing.prompts) or "none"
            raise HarnessError(f"MCP server {server} has no prompt {name!r} (prompts: {known})")
        arguments = prompt_arguments(list(prompt.arguments or ()), argument_text, command)
        try:
            result = await connection.get_prompt(name, arguments)
        except McpUnavailable as exc:
            raise HarnessError(str(exc)) from None
        except Exception as exc:
            message = getattr(exc, "message", None) or str(exc)
            raise HarnessError(f"/{command} failed: {message}") from None
        return prompt_text(result)

    # --- /mcp -----------------------------------------------------------------------------

    def snapshot(self) -> list[ServerView]:
        views = []
        for connection in self.connections.values():
            listing = connection.listing
            tools = tuple(
                (t.name, " ".join(str(t.description).split())[:120])
                for t in self._tools_of(connection)
            )
            resources = tuple(
                (str(r.uri), r.description or r.name or "") for r in listing.resources
            )
            templates = tuple(
                (str(t.uri_template), t.description or t.name or "") for t in listing.templates
            )
            prompts = tuple((p.name, p.description or "") for p in listing.prompts)
            views.append(
                ServerView(
                    name=connection.name,
                    status=connection.status,
                    transport=connection.config.transport,
                    target=connection.config.describe(),
                    source=connection.config.source,
                    error=connection.error,
                    tools=tools,
                    resources=resources,
                    prompts=prompts,
                    log_path=connection.log_path,
                    log_lines=tuple(connection.log_lines),
                    hidden_tools=tuple(listing.hidden),
                    templates=templates,
                    log_level=self.log_levels.of(connection.name)
                    if connection.supports("logging")
                    else None,
                    subscribed=tuple(sorted(self.watch.subscribed.get(connection.name, ()))),
                )
            )
        return views


def _failure_notice(connection: ServerConnection) -> str:
    name, error = connection.name, connection.error
    if connection.status == "crashed":
        return f"MCP server {name} stopped: {error}; it restarts when one of its tools is next used"
    if connection.status == "needs_auth":
        return error or f"MCP server {name} needs a login: /mcp login {name}"
    where = f" (its stderr is in {connection.log_path})" if connection.log_path else ""
    return f"MCP server {name} did not start: {error}{where}"
