"""``harness-tui acp``: harness-tui as an Agent Client Protocol agent, on the official
Python SDK (``agent-client-protocol``, import ``acp``). Editors (Zed, JetBrains IDEs,
Neovim plugins, Toad) start it and speak JSON-RPC with it on stdin and stdout.

What the client can do, and what it is in harness-tui:

- ``initialize``: images and embedded context in prompts; HTTP and SSE MCP servers;
  ``session/load`` and ``session/list``. No authentication: providers' keys come from
  the environment and the settings, as for the TUI.
- ``session/new``: a session in the client's folder, with the MCP servers it passes
  (added to the folder's own). A folder with project configuration that is not trusted
  yet asks the user through ``session/request_permission`` (on a "Trust ..." call).
- ``session/load`` replays a saved session of ours as updates, then goes on with it;
  ``session/list`` lists the saved sessions (of a folder).
- ``session/prompt`` runs the prompt; its updates stream as ``session/update``; every
  permission question is ``session/request_permission`` (allow once, allow for the
  session, always allow, reject), and so is an MCP server's sampling request (its forms
  are declined: ACP's elicitation is unstable); ``session/cancel`` cancels the run.
- Modes are the permission modes (``session/set_mode``); the model is the ``model``
  configuration option (``session/set_config_option``; the ``mode`` option too).
- ``/name`` prompts run custom commands and skills (advertised as available commands);
  ``/compact`` compacts the conversation.
- Extensions (ACP has no steering): ``_harness/steer`` ``{"sessionId", "text"}`` adds a
  message to the running prompt, read by the model at its next turn;
  ``_harness/follow_up`` ``{"sessionId", "text"}`` queues a prompt that runs when the
  current one ends (its updates stream like any other). Both answer ``{"queued": bool}``
  (False: the session was idle, so the text started a run of its own).
"""

from __future__ import annotations

import base64
import binascii
import datetime
from pathlib import Path
from typing import Any

import anyio
from acp import PROTOCOL_VERSION, RequestError, helpers
from acp.schema import (
    AgentCapabilities,
    AvailableCommand,
    AvailableCommandInput,
    Implementation,
    InitializeResponse,
    ListSessionsResponse,
    LoadSessionResponse,
    McpCapabilities,
    NewSessionResponse,
    PromptCapabilities,
    PromptResponse,
    SessionCapabilities,
    SessionConfigOptionSelect,
    SessionConfigSelectOption,
    SessionInfo,
    SessionListCapabilities,
    SessionMode,
    SessionModeState,
    SetSessionConfigOptionResponse,
    UnstructuredCommandInput,
)

from harness_tui import __version__
from harness_tui.acp import updates
from harness_tui.acp.link import Link
from harness_tui.core.errors import HarnessError
from harness_tui.core.events import PERMISSION_MODES, RunCancelled
from harness_tui.core.session.session import Session, SessionManager

MODE_NAMES = {
    "default": ("Default", "Ask before edits, commands and anything not allowed by a rule"),
    "acceptEdits": ("Accept edits", "Edit files in the workspace without asking"),
    "plan": ("Plan", "Read and plan only: no edits, no commands that change things"),
    "bypassPermissions": ("Bypass permissions", "Run everything without asking"),
}
#: Our run's stop reason -> ACP's (a budget's stop is told as a warning beforehand).
STOP_REASONS = {
    "max_turns": "max_turn_requests",
    "budget_exceeded": "max_turn_requests",
    "max_tokens": "max_tokens",
}
BUILTIN_COMMANDS = (
    ("compact", "Summarize the conversation to free context", "instructions"),
    ("rename", "Name this session (the session list shows the name)", "name"),
)


def invalid(text: str, code: int = -32602) -> RequestError:
    """A JSON-RPC error whose message says what was wrong (editors show the message):
    invalid params by default, -32600 for a request that cannot be taken now, -32603
    for a run that failed."""
    return RequestError(code, text, {"details": text})


def _error(exc: HarnessError) -> RequestError:
    hint = f" ({exc.hint})" if exc.hint else ""
    return invalid(f"{exc.message}{hint}")


class HarnessAgent:
    """The ACP agent; ``options(cwd)`` gives a new session's keyword arguments."""

    def __init__(self, manager: SessionManager, options: Any, group: anyio.abc.TaskGroup) -> None:
        self._manager, self._options, self._group = manager, options, group
        self._links: dict[str, Link] = {}
        self._pending_ready: dict[str, Link] = {}
        self.client: Any = None

    def on_connect(self, conn: Any) -> None:
        self.client = conn

    def observe(self, event: Any) -> None:
        """The connection's observer: a ``session/new`` response has gone out, so its
        session's updates may follow."""
        result = event.message.get("result") if event.direction == "outgoing" else None
        if isinstance(result, dict) and isinstance(result.get("sessionId"), str):
            link = self._pending_ready.pop(result["sessionId"], None)
            if link is not None:
                link.ready.set()

    # --- the handshake ------------------------------------------------------------------

    async def initialize(self, protocol_version: int, **_: Any) -> InitializeResponse:
        return InitializeResponse(
            protocol_version=min(protocol_version, PROTOCOL_VERSION),
            agent_capabilities=AgentCapabilities(
                load_session=True,
                prompt_capabilities=PromptCapabilities(image=True, embedded_context=True),
                mcp_capabilities=McpCapabilities(http=True, sse=True),
                session_capabilities=SessionCapabilities(list=SessionListCapabilities()),
            ),
            auth_methods=[],
            agent_info=Implementation(name="harness-tui", title="harness-tui", version=__version__),
        )

    async def authenticate(self, method_id: str, **_: Any) -> None:
        raise invalid(
            "harness-tui needs no sign-in: set the provider's API key in the "
            "environment the editor starts it with"
        )

    # --- sessions -----------------------------------------------------------------------

    async def new_session(
        self, cwd: str, mcp_servers: list[Any] | None = None, **_: Any
    ) -> NewSessionResponse:
        folder = _folder(cwd)
        session = self._make(lambda: Session(**self._options(folder)))
        link = await self._open(session, mcp_servers)
        self._pending_ready[session.id] = link  # ready once this response is out
        return NewSessionResponse(
            session_id=session.id,
            modes=self._modes(session),
            config_options=self.config_options(session),
        )

    async def load_session(
        self, cwd: str, session_id: str, mcp_servers: list[Any] | None = None, **_: Any
    ) -> LoadSessionResponse:
        if session_id in self._links:
            raise invalid(f"session {session_id} is open already")
        options = self._options(_folder(cwd))
        options.pop("model", None)  # a saved session keeps its model and mode
        options.pop("mode", None)
        session = self._make(lambda: Session.resume(session_id, **options))
        link = await self._open(session, mcp_servers)
        for update in updates.replay(list(session.messages), session.cwd):
            await link.send(update)
        link.ready.set()
        return LoadSessionResponse(
            modes=self._modes(session), config_options=self.config_options(session)
        )

    async def list_sessions(self, cwd: str | None = None, **_: Any) -> ListSessionsResponse:
        from harness_tui.core.storage.saved import list_sessions

        try:
            found = list_sessions(Path(cwd) if cwd else None)
        except HarnessError as exc:
            raise _error(exc) from None
        return ListSessionsResponse(
            sessions=[
                SessionInfo(
                    session_id=info.session_id,
                    cwd=info.cwd,
                    title=" ".join((info.name or info.title).split())[:120] or None,
                    updated_at=datetime.datetime.fromtimestamp(
                        info.modified, datetime.UTC
                    ).isoformat(),
                )
                for info in found
            ]
        )

    async def close_session(self, session_id: str, **_: Any) -> None:
        link = self._links.pop(session_id, None)
        if link is not None:
            link.close()
            await self._manager.close(session_id)

    def _make(self, build: Any) -> Session:
        try:
            return build()
        except HarnessError as exc:
            raise _error(exc) from None

    async def _open(self, session: Session, mcp_servers: list[Any] | None) -> Link:
        session.front_end = "acp"
        link = Link(self.client, session, self)
        self._group.start_soon(link.pump)
        await self._manager.open(session)
        if session.workspace.trust_pending:  # asked while it opened
            link.expect_trust()
        self._links[session.id] = link
        servers = mcp_config(mcp_servers or [])
        if servers:
            await session.workspace.add_mcp_servers(servers, source="server from the editor")
        return link

    def _link(self, session_id: str) -> Link:
        link = self._links.get(session_id)
        if link is None:
            raise invalid(f"no open session {session_id!r}; create or load it first")
        link.ready.set()  # the client names it: it knows it
        return link

    # --- what the link tells the client -------------------------------------------------

    def _modes(self, session: Session) -> SessionModeState:
        return SessionModeState(
            current_mode_id=session.mode,
            available_modes=[
                SessionMode(id=mode, name=MODE_NAMES[mode][0], description=MODE_NAMES[mode][1])
                for mode in PERMISSION_MODES
            ],
        )

    def config_options(self, session: Session) -> list[Any]:
        from harness_tui.core.providers.models import available_models

        names = [info.name for info in available_models(session.cwd, session.settings)]
        if session.model.name not in names:
            names.insert(0, session.model.name)
        return [
            SessionConfigOptionSelect(
                id="mode",
                name="Permission mode",
                category="mode",
                type="select",
                current_value=session.mode,
                options=[
                    SessionConfigSelectOption(value=m, name=MODE_NAMES[m][0])
                    for m in PERMISSION_MODES
                ],
            ),
            SessionConfigOptionSelect(
                id="model",
                name="Model",
                category="model",
                type="select",
                current_value=session.model.name,
                options=[SessionConfigSelectOption(value=n, name=n) for n in names],
            ),
        ]

    def commands_update(self, session: Session) -> Any:
        entries = [(name, text, hint) for name, text, hint in BUILTIN_COMMANDS]
        entries += [(name, text, "") for name, text in session.extensions.slash_entries()]
        return helpers.update_available_commands(
            AvailableCommand(
                name=name,
                description=text,
                input=AvailableCommandInput(root=UnstructuredCommandInput(hint=hint))
                if hint
                else None,
            )
            for name, text, hint in entries
        )

    # --- runs ---------------------------------------------------------------------------

    async def prompt(self, session_id: str, prompt: list[Any], **_: Any) -> PromptResponse:
        link = self._link(session_id)
        session = link.session
        await link.trust_settled()
        if session.running:
            raise invalid(
                "a prompt is still running in this session; wait for it, "
                "cancel it, or send _harness/follow_up",
                -32600,
            )
        try:
            text, images = await self._content(session, prompt)
            run_id = await self._start(session, text, images)
        except HarnessError as exc:
            raise _error(exc) from None
        if run_id is None:
            return PromptResponse(stop_reason="end_turn")
        end = await link.wait_end(run_id)
        if isinstance(end, RunCancelled):
            return PromptResponse(stop_reason="cancelled")
        if end.is_error:
            raise invalid(end.error or "the run failed", -32603)
        return PromptResponse(stop_reason=STOP_REASONS.get(end.stop_reason, "end_turn"))  # type: ignore[arg-type]

    async def _start(self, session: Session, text: str, images: list[Any]) -> str | None:
        """The run for a prompt: ``/compact``, ``/rename``, a custom command or skill, or
        the text."""
        if text.startswith("/") and not images:
            name, _, arguments = text[1:].partition(" ")
            if name == "compact":
                await session.compact(arguments.strip() or None)
                return None
            if name == "rename":
                await session.rename(arguments)
                return None
            if session.extensions.has_command(name):
                return await session.invoke_command(name, arguments.strip())
        return await session.submit(text, images)

    async def _content(self, session: Session, blocks: list[Any]) -> tuple[str, list[Any]]:
        """A prompt's blocks as text and attached images. File mentions become ``@path``
        (resource links) or the file's text in a ``<context>`` element (embedded)."""
        texts: list[str] = []
        images: list[Any] = []
        for block in blocks:
            kind = getattr(block, "type", None)
            if kind == "text":
                texts.append(block.text)
            elif kind == "image":
                try:
                    data = base64.b64decode(block.data, validate=True)
                except (binascii.Error, ValueError):
                    raise HarnessError("an image in the prompt is not valid base64") from None
                images.append(await session.attach_image(data, f"image {len(images) + 1}"))
            elif kind == "resource_link":
                texts.append(f"@{_local(block.uri)}")
            elif kind == "resource":
                resource = block.resource
                body = getattr(resource, "text", None)
                if body is not None:
                    texts.append(f'<context ref="{resource.uri}">\n{body}\n</context>')
        return "\n".join(texts), images

    async def cancel(self, session_id: str, **_: Any) -> None:
        link = self._links.get(session_id)
        if link is not None:
            await link.session.cancel()

    async def set_session_mode(self, session_id: str, mode_id: str, **_: Any) -> None:
        await self._set(self._link(session_id).session, "mode", mode_id)

    async def set_config_option(
        self, config_id: str, session_id: str, value: str | bool, **_: Any
    ) -> SetSessionConfigOptionResponse:
        session = self._link(session_id).session
        await self._set(session, config_id, value)
        return SetSessionConfigOptionResponse(config_options=self.config_options(session))

    async def _set(self, session: Session, option: str, value: object) -> None:
        if option not in ("mode", "model") or not isinstance(value, str):
            raise invalid(f"unknown option {option!r} = {value!r}: use mode or model")
        if option == "mode" and value not in PERMISSION_MODES:
            raise invalid(f"unknown mode {value!r}; use one of {', '.join(PERMISSION_MODES)}")
        try:
            if option == "mode":
                await session.set_mode(value)
            else:
                await session.set_model(value)
        except HarnessError as exc:
            raise _error(exc) from None

    # --- extensions ---------------------------------------------------------------------

    async def ext_method(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        if method not in ("harness/steer", "harness/follow_up"):
            raise RequestError.method_not_found(f"_{method}")
        session_id, text = params.get("sessionId"), params.get("text")
        if not isinstance(session_id, str) or not isinstance(text, str) or not text.strip():
            raise invalid(f"_{method} needs sessionId and a non-empty text")
        session = self._link(session_id).session
        try:
            if method == "harness/steer":
                queued = await session.steer(text)
            else:
                queued = await session.follow_up(text)
        except HarnessError as exc:
            raise _error(exc) from None
        return {"queued": queued is not None}

    async def ext_notification(self, method: str, params: dict[str, Any]) -> None:
        return None


def _folder(cwd: str) -> Path:
    """The session's folder: ACP says an absolute path; it must be a folder that exists."""
    folder = Path(cwd)
    if not folder.is_absolute():
        raise invalid(f"cwd must be an absolute path, not {cwd!r}")
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise invalid(f"cwd {cwd} {what}; open a folder that exists")
    return folder


def _local(uri: str) -> str:
    return uri.removeprefix("file://") if uri.startswith("file://") else uri


def mcp_config(servers: list[Any]) -> dict[str, dict[str, Any]]:
    """The client's MCP servers as ``.mcp.json`` entries (``{name: config}``)."""
    found: dict[str, dict[str, Any]] = {}
    for server in servers:
        data = server.model_dump(by_alias=True, exclude_none=True)
        name = data.get("name") or f"server{len(found) + 1}"
        if "command" in data:
            found[name] = {
                "command": data["command"],
                "args": list(data.get("args") or []),
                "env": {e["name"]: e["value"] for e in data.get("env") or []},
            }
        elif "url" in data:
            found[name] = {
                "type": data.get("type", "http"),
                "url": data["url"],
                "headers": {h["name"]: h["value"] for h in data.get("headers") or []},
            }
    return found
