"""OAuth 2.1 for remote (HTTP and SSE) MCP servers, on the SDK's client auth.

The SDK (``mcp.client.auth``) does the protocol: discovery from ``WWW-Authenticate`` and
the well-known metadata (RFC 9728, RFC 8414 and OpenID, with the 2025-03-26 fallbacks),
dynamic client registration, client ID metadata documents, PKCE, scope selection and
step-up on ``insufficient_scope``, the token endpoint's auth methods, refresh, and the
client-credentials grant. This module adds what a program around it must decide:

- **where tokens live**: in a ``login.TokenFile`` (one file per server, mode 0600).
- **when a person is asked**: only on a login the user started (``/mcp login NAME`` or
  ``harness-tui mcp login NAME``). Otherwise a server that wants one fails its start
  with ``LoginRequired``, which says what to run; stored tokens are refreshed silently.
- **the redirect**: to a ``login.CallbackListener`` on 127.0.0.1.
"""

from __future__ import annotations

import json
import re
from contextlib import AsyncExitStack
from typing import Any

from harness_tui.core.mcp.config import McpServerConfig, OAuthConfig
from harness_tui.core.mcp.login import (
    CALLBACK_PATH,
    CLIENT_NAME,
    CallbackListener,
    Login,
    LoginFailed,
    LoginRequired,
    NoLogin,
    TokenFile,
    query_value,
    token_file,
)


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
        login.listener.expect(query_value(authorization_url, "state"))
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
