"""A login to a remote MCP server, on this machine: what it may raise, where its tokens
live and how the browser comes back (``oauth`` builds the SDK's auth on these).

- **where tokens live**: one file per server (name and URL) in the user data folder,
  mode 0600, written whole (a crash leaves the old file or the new one). Tokens never go
  into events, logs, session files or the page: only this file holds them.
- **the redirect**: a listener on 127.0.0.1 (a random port, or ``oauth.callbackPort``)
  takes the browser's redirect, ignores any whose ``state`` is not the one this login
  sent, and answers the browser with a page saying it can be closed; or the address a
  browser on another machine ended on is pasted back (``Login.paste``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import anyio
import anyio.abc

from harness_tui.core.config import paths
from harness_tui.core.mcp.config import McpServerConfig

log = logging.getLogger(__name__)

#: How long a login waits for the browser to come back.
LOGIN_TIMEOUT_S = 300.0
CALLBACK_PATH = "/callback"
CLIENT_NAME = "harness-tui"


class LoginRequired(Exception):
    """The server wants a login and none was asked for: the message says how."""

    def __init__(self, server: str, *, expired: bool = False) -> None:
        what = (
            "its stored login has expired or was revoked (refreshing it was refused)"
            if expired
            else "it needs a login"
        )
        super().__init__(
            f"MCP server {server}: {what}: run /mcp login {server} in the TUI, "
            f"or `harness-tui mcp login {server}`"
        )


class LoginFailed(Exception):
    """A login ended without tokens; the message names the server and the reason."""


class NoLogin(Exception):
    """The server cannot be logged in to (a login would not help): the message says what
    to do instead."""


def auth_dir() -> Path:
    return paths.data_dir() / "mcp-auth"


# --- the token file ------------------------------------------------------------------------


class TokenFile:
    """The SDK's ``TokenStorage`` for one server, in ``auth_dir()/NAME-HASH.json`` (the
    hash is of the URL: a server moved to another address logs in again)."""

    def __init__(self, server: str, url: str) -> None:
        digest = hashlib.sha256(url.encode()).hexdigest()[:12]
        self.server = server
        self.url = url
        self.path = auth_dir() / f"{server}-{digest}.json"

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            log.warning("the stored login of MCP server %s is unreadable (%s)", self.server, exc)
            return {}
        return data if isinstance(data, dict) else {}

    def _write(self, data: dict[str, Any]) -> None:
        folder = self.path.parent
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        temp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump({"server": self.server, "url": self.url, **data}, handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, self.path)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise

    def _load(self, key: str, model: Any) -> Any:
        raw = self._read().get(key)
        try:
            return model.model_validate(raw) if raw else None
        except ValueError:  # written by another version, or by hand: as if absent
            return None

    def _store(self, key: str, value: Any, **more: Any) -> None:
        data = self._read()
        data[key] = value.model_dump(mode="json", exclude_none=True)
        self._write({**data, **more})

    async def get_tokens(self) -> Any:
        from mcp.shared.auth import OAuthToken

        return self._load("tokens", OAuthToken)

    async def set_tokens(self, tokens: Any) -> None:
        self._store("tokens", tokens, obtained_at=time.time())

    async def get_client_info(self) -> Any:
        from mcp.shared.auth import OAuthClientInformationFull

        return self._load("client", OAuthClientInformationFull)

    async def set_client_info(self, client_info: Any) -> None:
        self._store("client", client_info)

    def expires_at(self) -> float | None:
        """When the stored access token expires (None: unknown or never)."""
        data = self._read()
        tokens, obtained = data.get("tokens") or {}, data.get("obtained_at")
        expires_in = tokens.get("expires_in") if isinstance(tokens, dict) else None
        if isinstance(expires_in, int | float) and isinstance(obtained, int | float):
            return float(obtained) + float(expires_in)
        return None

    def has_tokens(self) -> bool:
        return bool(self._read().get("tokens"))

    def forget(self) -> bool:
        """Log out: remove the tokens and the client registration. True if there were
        tokens."""
        had_tokens = self.has_tokens()
        self.path.unlink(missing_ok=True)
        return had_tokens


def token_file(config: McpServerConfig) -> TokenFile:
    return TokenFile(config.name, config.url or "")


# --- the browser's way back ----------------------------------------------------------------

_PAGE = (
    "<!doctype html><meta charset=utf-8><title>harness-tui</title>"
    "<body style='font-family:sans-serif;margin:3em'><h2>{title}</h2><p>{text}</p>"
)


class CallbackListener:
    """Takes the authorization server's redirect on ``127.0.0.1``. ``expect(state)`` names
    the login's ``state``; a redirect with another one is answered 400 and ignored."""

    def __init__(self, server: str, port: int | None = None) -> None:
        self.server = server
        self._port = port or 0
        self._state: str | None = None
        self._answer: tuple[str, str | None, str | None] | None = None  # code, state, iss
        self._error: str | None = None
        self._done = anyio.Event()
        self._stack = AsyncExitStack()

    @property
    def redirect_uri(self) -> str:
        return f"http://127.0.0.1:{self.port}{CALLBACK_PATH}"

    async def __aenter__(self) -> CallbackListener:
        try:
            listener = await anyio.create_tcp_listener(
                local_host="127.0.0.1", local_port=self._port
            )
        except OSError as exc:
            raise LoginFailed(
                f"MCP server {self.server}: cannot listen for the browser's redirect on "
                f"127.0.0.1:{self._port or 'a free port'} ({exc.strerror or exc}); "
                "free that port or change oauth.callbackPort"
            ) from None
        self.port = listener.extra(anyio.abc.SocketAttribute.local_port)
        await self._stack.enter_async_context(listener)
        group = await self._stack.enter_async_context(anyio.create_task_group())
        group.start_soon(listener.serve, self._handle)
        self._stack.callback(group.cancel_scope.cancel)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._stack.aclose()

    def expect(self, state: str | None) -> None:
        self._state = state

    async def result(self, wait_s: float) -> tuple[str, str | None, str | None]:
        """The code, state and issuer the browser brought back; raises ``LoginFailed``."""
        with anyio.move_on_after(wait_s):
            await self._done.wait()
        if self._error is not None:
            raise LoginFailed(f"MCP server {self.server}: the login was refused ({self._error})")
        if self._answer is None:
            raise LoginFailed(
                f"MCP server {self.server}: no answer from the browser within {wait_s:g} s; "
                "run the login again and finish it in the browser"
            )
        return self._answer

    async def _handle(self, stream: anyio.abc.SocketStream) -> None:
        async with stream:
            head = b""
            with anyio.move_on_after(10):
                while b"\r\n\r\n" not in head and len(head) < 16_384:
                    try:
                        head += await stream.receive()
                    except (anyio.EndOfStream, anyio.BrokenResourceError):
                        break
            status, title, text = self._take(head)
            body = _PAGE.format(title=title, text=text).encode()
            reply = (
                f"HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            ).encode() + body
            try:
                await stream.send(reply)
            except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                pass

    def accept(self, address: str) -> None:
        """The address the browser ended on, pasted by the user (a browser on another
        machine cannot reach this listener): taken as if the redirect had arrived, with the
        same checks. Raises ``LoginFailed`` saying what is wrong with it."""
        target = urlsplit(address.strip())
        if target.port is not None and target.port != self.port:
            raise LoginFailed(
                f"that address is for another login (port {target.port}, this one listens "
                f"on {self.port}): paste the address of the page this login opened"
            )
        status, title, text = self._take_target(target.path, target.query)
        if not status.startswith("200"):
            raise LoginFailed(f"that address is not this login's answer: {title} ({text})")

    def _take(self, head: bytes) -> tuple[str, str, str]:
        line = head.split(b"\r\n", 1)[0].decode("latin-1")
        parts = line.split(" ")
        if len(parts) < 2 or parts[0] != "GET":
            return "400 Bad Request", "Not a login redirect", "This listener takes one GET."
        target = urlsplit(parts[1])
        return self._take_target(target.path, target.query)

    def _take_target(self, path: str, query_text: str) -> tuple[str, str, str]:
        if path != CALLBACK_PATH:
            return "404 Not Found", "Not found", "Nothing here."
        query = {k: v[0] for k, v in parse_qs(query_text).items()}
        if self._done.is_set():
            return "409 Conflict", "Already done", "This login is already finished."
        if self._state is not None and query.get("state") != self._state:
            return "400 Bad Request", "Wrong login", "This answer is not for the login under way."
        if "error" in query:
            detail = query.get("error_description")
            self._error = query["error"] + (f": {detail}" if detail else "")
            self._done.set()
            return "200 OK", "Login refused", f"The server said: {self._error}. Close this tab."
        if not query.get("code"):
            return "400 Bad Request", "No code", "The redirect carried no authorization code."
        self._answer = (query["code"], query.get("state"), query.get("iss"))
        self._done.set()
        return (
            "200 OK",
            f"Logged in to {self.server}",
            "harness-tui has the authorization. You can close this tab.",
        )


# --- the SDK's auth for a server -----------------------------------------------------------


@dataclass
class Login:
    """A login the user asked for: how the authorization URL reaches them (the TUI shows
    it and opens the browser; a test follows it), and how long to wait."""

    open_url: Callable[[str], Awaitable[None]]
    timeout: float = LOGIN_TIMEOUT_S
    #: Where the browser comes back, once the login has started listening.
    listener: CallbackListener | None = None

    def paste(self, address: str) -> None:
        """The address a browser on another machine ended on (``CallbackListener.accept``)."""
        if self.listener is None:
            raise LoginFailed("the login has not reached the browser step yet; try again")
        self.listener.accept(address)


async def open_in_browser(url: str) -> None:
    """The system's browser (in a thread: it may start one). Where there is none (SSH),
    the notice with the address is what the user follows."""
    import webbrowser

    try:
        await anyio.to_thread.run_sync(webbrowser.open, url)
    except Exception as exc:  # no browser is not an error: the address was shown
        log.info("could not open a browser: %s", exc)


# --- recognising a login's failure --------------------------------------------------------


def oauth_errors() -> tuple[type[BaseException], ...]:
    from mcp.client.auth import OAuthFlowError, OAuthRegistrationError, OAuthTokenError

    return (OAuthFlowError, OAuthRegistrationError, OAuthTokenError)


def login_failure(exc: BaseException) -> BaseException | None:
    """The login failure in ``exc`` (itself, or found in its group): ours first, then the
    SDK's OAuth errors; None when it is not one."""
    ours = (LoginRequired, LoginFailed, NoLogin)
    if isinstance(exc, BaseExceptionGroup):
        return _find(exc, ours) or _find(exc, oauth_errors())
    return exc if isinstance(exc, ours + oauth_errors()) else None


def login_wanted(exc: BaseException) -> bool:
    """A login (``/mcp login``) would help: the server asks for one, or a login step failed
    in a way a new login mends (not: no OAuth at all, a refused registration)."""
    return isinstance(login_failure(exc), (LoginRequired, *oauth_errors()))


def _find(
    group: BaseExceptionGroup, kinds: tuple[type[BaseException], ...]
) -> BaseException | None:
    """The first exception of ``kinds`` anywhere in a (nested) group."""
    for exc in group.exceptions:
        if isinstance(exc, kinds):
            return exc
        if isinstance(exc, BaseExceptionGroup) and (found := _find(exc, kinds)) is not None:
            return found
    return None


def query_value(url: str, key: str) -> str | None:
    values = parse_qs(urlsplit(url).query).get(key)
    return values[0] if values else None
