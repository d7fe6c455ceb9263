"""OAuth 2.1 for remote (HTTP and SSE) MCP servers, on the SDK's client auth.

The SDK (``mcp.client.auth``) does the protocol: discovery from ``WWW-Authenticate`` and
the well-known metadata (RFC 9728, RFC 8414 and OpenID, with the 2025-03-26 fallbacks),
dynamic client registration, client ID metadata documents, PKCE, scope selection and
step-up on ``insufficient_scope``, the token endpoint's auth methods, refresh, and the
client-credentials grant. This module adds what a program around it must decide:

- **where tokens live**: one file per server (name and URL) in the user data folder,
  mode 0600, written whole (a crash leaves the old file or the new one). Tokens never go
  into events, logs, session files or the page: only this file holds them.
- **when a person is asked**: only on a login the user started (``/mcp login NAME`` or
  ``harness-tui mcp login NAME``). Otherwise a server that wants one fails its start
  with ``LoginRequired``, which says what to run; stored tokens are refreshed silently.
- **the redirect**: a listener on 127.0.0.1 (a random port, or ``oauth.callbackPort``)
  takes the browser's redirect, ignores any whose ``state`` is not the one this login
  sent, and answers the browser with a page saying it can be closed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
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
from harness_tui.core.mcp.config import McpServerConfig, OAuthConfig

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


async def build_auth(config: McpServerConfig, stack: AsyncExitStack, login: Login | None) -> Any:
    """The ``httpx2.Auth`` for a remote server, or None when its headers already carry an
    ``Authorization``. ``login``: a person may be asked (else ``LoginRequired``)."""
    if any(name.lower() == "authorization" for name in config.headers):
        return None
    from mcp.client.auth.extensions.client_credentials import (
        ClientCredentialsOAuthProvider,
        PrivateKeyJWTOAuthProvider,
        SignedJWTParameters,
    )

    oauth = config.oauth or OAuthConfig()
    url = config.url or ""
    store = token_file(config)
    if oauth.grant == "client_credentials":
        client_id = oauth.client_id or ""
        if oauth.private_key is not None:
            assertion = SignedJWTParameters(
                issuer=client_id,
                subject=client_id,
                signing_key=oauth.private_key,
                signing_algorithm=oauth.signing_algorithm,
            )
            return PrivateKeyJWTOAuthProvider(
                server_url=url,
                storage=store,
                client_id=client_id,
                assertion_provider=assertion.create_assertion_provider(),
                scope=oauth.scopes,
            )
        method = oauth.token_endpoint_auth_method
        return ClientCredentialsOAuthProvider(
            server_url=url,
            storage=store,
            client_id=client_id,
            client_secret=oauth.client_secret or "",
            token_endpoint_auth_method=(
                "client_secret_post" if method == "client_secret_post" else "client_secret_basic"
            ),
            scope=oauth.scopes,
        )
    if oauth.grant == "identity_assertion":
        return _identity_assertion(config, oauth, store)
    if login is not None:
        listener = await stack.enter_async_context(
            CallbackListener(config.name, oauth.callback_port)
        )
        login.listener = listener
        redirect_uri = listener.redirect_uri
    else:
        # Registration (before a login) needs a redirect URI, and the port a login will
        # listen on is not known yet unless configured: port 1 holds its place, and a
        # login registers again when the stored client's URI is not its own.
        redirect_uri = f"http://127.0.0.1:{oauth.callback_port or 1}{CALLBACK_PATH}"
    return _provider(config, oauth, store, login, redirect_uri)


def _provider(
    config: McpServerConfig,
    oauth: OAuthConfig,
    store: TokenFile,
    login: Login | None,
    redirect_uri: str,
) -> Any:
    from mcp.client.auth import OAuthClientProvider
    from mcp.shared.auth import AuthorizationCodeResult, OAuthClientMetadata

    server = config.name
    method = oauth.token_endpoint_auth_method
    metadata = OAuthClientMetadata(
        client_name=CLIENT_NAME,
        redirect_uris=[redirect_uri],  # type: ignore[list-item]
        grant_types=["authorization_code", "refresh_token"],
        response_types=["code"],
        scope=oauth.scopes,
        token_endpoint_auth_method=method or "client_secret_post",  # type: ignore[arg-type]
    )

    async def open_url(authorization_url: str) -> None:
        if login is None or login.listener is None:
            raise LoginRequired(server, expired=store.has_tokens())
        login.listener.expect(_query_value(authorization_url, "state"))
        await login.open_url(authorization_url)

    async def callback() -> AuthorizationCodeResult:
        if login is None or login.listener is None:
            raise LoginRequired(server)
        code, state, iss = await login.listener.result(login.timeout)
        return AuthorizationCodeResult(code=code, state=state, iss=iss)

    class Provider(OAuthClientProvider):
        async def _initialize(self) -> None:
            await super()._initialize()
            context = self.context
            # The SDK forgets when a stored token expires: without this a restart sends
            # an expired token, takes a 401 and asks for a new login instead of refreshing.
            context.token_expiry_time = store.expires_at()
            if oauth.client_id is not None:
                context.client_info = _pre_registered(oauth, redirect_uri)
            elif (
                login is not None
                and context.client_info is not None
                and context.client_info.redirect_uris
                and redirect_uri not in [str(u) for u in context.client_info.redirect_uris]
            ):
                context.client_info = None  # registered for another port: register again

        async def _auth_flow(self, request: Any) -> Any:
            """The SDK's flow, with its registration failures explained."""
            from mcp.client.auth import OAuthRegistrationError

            flow = super()._auth_flow(request)
            response = None
            try:
                while True:
                    sent = await (flow.__anext__() if response is None else flow.asend(response))
                    response = yield sent
            except StopAsyncIteration:
                return
            except OAuthRegistrationError as exc:
                context = self.context
                if context.oauth_metadata is None and context.protected_resource_metadata is None:
                    raise NoLogin(
                        f"MCP server {server} refused the connection (401) and publishes no "
                        "OAuth metadata, so there is nothing to log in to; give it a token in "
                        'its \'headers\' (e.g. "Authorization": "Bearer ${TOKEN}")'
                    ) from None
                raise NoLogin(
                    f"MCP server {server}: its authorization server refused to register "
                    f"harness-tui ({_brief(exc)}); register a client with it yourself and "
                    "write its ID (and secret) in the server's oauth.clientId "
                    "(oauth.clientSecret)"
                ) from None
            finally:
                await flow.aclose()

    return Provider(
        server_url=config.url or "",
        client_metadata=metadata,
        storage=store,
        redirect_handler=open_url,
        callback_handler=callback,
        client_metadata_url=oauth.client_metadata_url,
    )


#: RFC 8693 token exchange of an ID token for an identity assertion grant (SEP-990).
_TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
_ID_TOKEN = "urn:ietf:params:oauth:token-type:id_token"
_ID_JAG = "urn:ietf:params:oauth:token-type:id-jag"


def _identity_assertion(config: McpServerConfig, oauth: OAuthConfig, store: TokenFile) -> Any:
    """Enterprise-managed authorization (SEP-990): the identity provider exchanges the
    user's ID token for an identity assertion grant (ID-JAG), which the MCP server's
    authorization server (the configured ``issuer``) takes for an access token."""
    from mcp.client.auth.extensions.identity_assertion import IdentityAssertionOAuthProvider

    server = config.name

    async def id_jag(audience: str, resource: str) -> str:
        import httpx2

        data = {
            "grant_type": _TOKEN_EXCHANGE,
            "subject_token": oauth.idp_id_token or "",
            "subject_token_type": _ID_TOKEN,
            "requested_token_type": _ID_JAG,
            "audience": audience,
            "resource": resource,
        }
        if oauth.idp_client_id:
            data["client_id"] = oauth.idp_client_id
        auth = (
            httpx2.BasicAuth(oauth.idp_client_id or "", oauth.idp_client_secret)
            if oauth.idp_client_secret
            else None
        )
        async with httpx2.AsyncClient(timeout=30, auth=auth) as http:
            response = await http.post(oauth.idp_token_endpoint or "", data=data)
        try:
            body = response.json()
        except ValueError:
            body = {}
        grant = body.get("access_token") if isinstance(body, dict) else None
        if response.status_code != 200 or not isinstance(grant, str):
            reason = body.get("error_description") or body.get("error") if body else None
            raise LoginFailed(
                f"MCP server {server}: the identity provider refused to exchange the ID token "
                f"({response.status_code}: {reason or response.reason_phrase}); check "
                "oauth.idpIdToken (it may have expired) and oauth.idpClientId"
            )
        return grant

    method = oauth.token_endpoint_auth_method
    return IdentityAssertionOAuthProvider(
        server_url=config.url or "",
        storage=store,
        client_id=oauth.client_id or "",
        client_secret=oauth.client_secret or "",
        issuer=oauth.issuer or "",
        assertion_provider=id_jag,
        scope=oauth.scopes,
        token_endpoint_auth_method=(
            "client_secret_basic" if method == "client_secret_basic" else "client_secret_post"
        ),
    )


def _pre_registered(oauth: OAuthConfig, redirect_uri: str) -> Any:
    """A client the user registered with the authorization server themselves."""
    from mcp.shared.auth import OAuthClientInformationFull

    method = oauth.token_endpoint_auth_method or (
        "client_secret_basic" if oauth.client_secret else "none"
    )
    return OAuthClientInformationFull(
        client_id=oauth.client_id or "",
        client_secret=oauth.client_secret,
        redirect_uris=[redirect_uri],  # type: ignore[list-item]
        token_endpoint_auth_method=method,
        grant_types=["authorization_code", "refresh_token"],
        response_types=["code"],
        scope=oauth.scopes,
    )


def _brief(exc: BaseException) -> str:
    """An SDK error's text (``Registration failed: 400 {json}``) as ``400 error: description``."""
    text = str(exc)
    start = text.find("{")
    try:
        data = json.loads(text[start:]) if start >= 0 else None
    except ValueError:
        data = None
    if not isinstance(data, dict) or "error" not in data:
        return text
    status = re.search(r"\b\d{3}\b", text[:start])
    detail = data.get("error_description")
    return (
        (f"{status.group()} " if status else "")
        + str(data["error"])
        + (f": {detail}" if detail else "")
    )


def _query_value(url: str, key: str) -> str | None:
    values = parse_qs(urlsplit(url).query).get(key)
    return values[0] if values else None
