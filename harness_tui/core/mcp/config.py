"""MCP server configuration, read as users already write it.

The shape is Claude Code's ``.mcp.json`` (also accepted under ``mcpServers`` in our
settings files, and from plugins through ``server_config``)::

    {"mcpServers": {
      "fs":  {"command": "npx", "args": ["-y", "server-filesystem", "${PROJECT_DIR:-.}"],
              "env": {"TOKEN": "${TOKEN}"}},
      "api": {"type": "http", "url": "${API_BASE:-https://api.example.com}/mcp",
              "headers": {"Authorization": "Bearer ${API_KEY}"}},
      "old": {"type": "sse", "url": "https://example.com/sse"}}}

No ``type`` means stdio. ``${VAR}`` and ``${VAR:-default}`` expand in ``command``,
``args``, ``env``, ``url`` and ``headers`` (a bare ``$VAR`` does not); an unset variable
without a default is an error naming the server and the field. A broken entry is
reported and skipped; the other servers still load. Nothing here imports the SDK.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from harness_tui.core.config.files import ConfigFileError, load_config_file
from harness_tui.core.errors import ConfigError

if TYPE_CHECKING:
    from harness_tui.core.config.settings import Settings

Transport = Literal["stdio", "http", "sse"]
Scope = Literal["user", "project", "local", "plugin"]

MCP_JSON = ".mcp.json"
#: ``type`` values other clients write for streamable HTTP.
_HTTP_ALIASES = frozenset({"http", "streamable-http", "streamable_http", "streamableHttp"})
_STDIO_KEYS = frozenset({"type", "command", "args", "env", "cwd"})
_REMOTE_KEYS = frozenset({"type", "url", "headers", "oauth"})
#: Claude Code's ``oauth`` keys (``clientId``, ``callbackPort``, ``scopes``) and ours.
_OAUTH_KEYS = frozenset(
    {
        "clientId",
        "clientSecret",
        "callbackPort",
        "scopes",
        "clientMetadataUrl",
        "grant",
        "tokenEndpointAuthMethod",
        "privateKey",
        "privateKeyFile",
        "signingAlgorithm",
        "issuer",
        "idpTokenEndpoint",
        "idpClientId",
        "idpClientSecret",
        "idpIdToken",
    }
)
_GRANTS = ("authorization_code", "client_credentials", "identity_assertion")
_AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt", "none")
#: Keys other clients write that we accept without a warning (and ignore).
_IGNORED_KEYS = frozenset({"description", "disabled", "timeout", "alwaysAllow", "autoApprove"})
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_NAME_BAD = re.compile(r"[^A-Za-z0-9_-]+")


class McpConfigError(ConfigError):
    """One server entry is malformed; the message names the file, server and field."""


@dataclass(frozen=True)
class OAuthConfig:
    """A remote server's ``oauth`` entry. Without one, a server that answers 401 is still
    logged in to by discovery and dynamic registration; this pins what the user knows:
    a pre-registered client, a fixed callback port, scopes, a client ID metadata document
    URL, or the client-credentials grant for machine use. Secrets are kept out of ``repr``."""

    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    callback_port: int | None = None
    scopes: str | None = None
    client_metadata_url: str | None = None
    grant: Literal["authorization_code", "client_credentials", "identity_assertion"] = (
        "authorization_code"
    )
    token_endpoint_auth_method: str | None = None
    #: PEM text of the key that signs ``private_key_jwt`` assertions.
    private_key: str | None = field(default=None, repr=False)
    signing_algorithm: str = "RS256"
    #: ``identity_assertion`` (enterprise-managed, SEP-990): the MCP authorization server
    #: (configured, never discovered), and the identity provider that exchanges the
    #: user's ID token for an identity assertion grant.
    issuer: str | None = None
    idp_token_endpoint: str | None = None
    idp_client_id: str | None = None
    idp_client_secret: str | None = field(default=None, repr=False)
    idp_id_token: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class McpServerConfig:
    """One MCP server, variables expanded. ``env`` and ``headers`` may hold secrets:
    they never go into events (see ``describe``)."""

    name: str
    transport: Transport
    #: Where it was configured: a file path or ``plugin NAME``.
    source: str
    scope: Scope = "user"
    command: str | None = None
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: str | None = None
    url: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    oauth: OAuthConfig | None = None

    def describe(self) -> str:
        """What the server is, safe to show: the program, or the URL without its
        query and credentials."""
        if self.transport == "stdio":
            return f"{Path(self.command or '').name} (stdio)"
        from urllib.parse import urlsplit

        parts = urlsplit(self.url or "")
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.scheme}://{host}{port}{parts.path} ({self.transport})"


@dataclass
class LoadedServers:
    """Servers by name (a later source wins) and the problems met on the way."""

    servers: dict[str, McpServerConfig] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def normalize_name(name: str) -> str:
    """A server or tool name as a tool-name part: ``[A-Za-z0-9_-]``, and no ``__`` (the
    separator in ``mcp__server__tool``)."""
    cleaned = _NAME_BAD.sub("_", name)
    return re.sub("_{2,}", "_", cleaned).strip("_") or "server"


def expand(text: str, environ: Mapping[str, str], where: str) -> str:
    """Expand ``${VAR}`` and ``${VAR:-default}`` (the default also when VAR is empty,
    as in the shell); raise ``McpConfigError`` naming ``where`` for an unset VAR."""

    def replace(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        value = environ.get(name)
        if value:
            return value
        if default is not None:
            return default
        if value is not None:
            return value
        raise McpConfigError(
            f"{where}: ${{{name}}} is not set",
            hint=f"set {name} in the environment, or write ${{{name}:-default}}",
        )

    return _VARIABLE.sub(replace, text)


def server_config(
    name: str,
    data: Any,
    *,
    source: str,
    scope: Scope = "plugin",
    environ: Mapping[str, str] | None = None,
    warnings: list[str] | None = None,
) -> McpServerConfig:
    """One server entry (the value under its name in ``mcpServers``) as a config.
    Raises ``McpConfigError`` naming ``source``, the server and the field; harmless
    oddities (unknown keys, a renamed server) go to ``warnings``. This is also the entry
    point for plugins' ``mcp_servers``."""
    import os

    env_vars = os.environ if environ is None else environ
    label = f"{source}: server {name!r}"
    if not isinstance(name, str) or not name.strip():
        raise McpConfigError(f"{source}: a server name must be a non-empty string, not {name!r}")
    if not isinstance(data, Mapping):
        raise McpConfigError(
            f"{label}: must be a mapping with 'command' (stdio) or 'type' and 'url', "
            f"not {type(data).__name__}"
        )
    clean = normalize_name(name)
    if clean != name and warnings is not None:
        warnings.append(f"{label}: renamed {clean!r} (names may use only A-Z a-z 0-9 _ -)")
    kind = data.get("type", "stdio")
    if not isinstance(kind, str):
        raise McpConfigError(f'{label}, field \'type\': must be "stdio", "http" or "sse"')
    if kind in _HTTP_ALIASES:
        kind = "http"
    if kind not in ("stdio", "http", "sse"):
        raise McpConfigError(
            f"{label}, field 'type': unknown transport {kind!r}",
            hint='use "stdio" (or leave it out), "http" or "sse"',
        )
    if kind == "stdio" and "type" not in data and "url" in data and "command" not in data:
        raise McpConfigError(
            f"{label}: has a 'url' but no 'type'", hint='add "type": "http" (or "sse")'
        )
    allowed = _STDIO_KEYS if kind == "stdio" else _REMOTE_KEYS
    unknown = sorted(set(data) - allowed - _IGNORED_KEYS)
    if unknown and warnings is not None:
        warnings.append(
            f"{label}: ignored {', '.join(map(repr, unknown))} ({kind} servers take "
            f"{', '.join(sorted(allowed))})"
        )

    def text(key: str, value: Any, *, required: bool = False) -> str | None:
        if value is None and not required:
            return None
        if not isinstance(value, str):
            problem = "is missing" if value is None else f"must be a string, not {value!r}"
            raise McpConfigError(f"{label}, field {key!r}: {problem}")
        if required and not value.strip():
            raise McpConfigError(f"{label}, field {key!r}: is missing (it is empty)")
        return expand(value, env_vars, f"{label}, field {key!r}")

    def mapping(key: str) -> dict[str, str]:
        raw = data.get(key)
        if raw is None:
            return {}
        if not isinstance(raw, Mapping):
            raise McpConfigError(f"{label}, field {key!r}: must be a mapping of names to strings")
        out = {}
        for k, v in raw.items():
            if isinstance(v, bool) or not isinstance(v, str | int | float):
                raise McpConfigError(
                    f"{label}, field '{key}.{k}': must be a string, not {type(v).__name__}"
                )
            out[str(k)] = text(f"{key}.{k}", str(v)) or ""
        return out

    if kind == "stdio":
        args = data.get("args", [])
        if not isinstance(args, list) or not all(isinstance(a, str | int | float) for a in args):
            raise McpConfigError(f"{label}, field 'args': must be a list of strings")
        command = text("command", data.get("command"), required=True)
        return McpServerConfig(
            name=clean,
            transport="stdio",
            source=source,
            scope=scope,
            command=command,
            args=tuple(text(f"args[{i}]", str(a)) or "" for i, a in enumerate(args)),
            env=mapping("env"),
            cwd=text("cwd", data.get("cwd")),
        )
    url = text("url", data.get("url"), required=True) or ""
    if not url.startswith(("http://", "https://")):
        raise McpConfigError(
            f"{label}, field 'url': {url!r} is not an http:// or https:// URL",
            hint="write the server's full address, e.g. https://example.com/mcp",
        )
    return McpServerConfig(
        name=clean,
        transport="sse" if kind == "sse" else "http",  # kind is one of the two here
        source=source,
        scope=scope,
        url=url,
        headers=mapping("headers"),
        oauth=_oauth_config(data.get("oauth"), label, text, warnings),
    )


def _oauth_config(
    raw: Any, label: str, text: Any, warnings: list[str] | None
) -> OAuthConfig | None:
    """The ``oauth`` entry; raises ``McpConfigError`` naming the field."""
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise McpConfigError(
            f'{label}, field \'oauth\': must be a mapping (e.g. {{"clientId": "..."}})'
        )
    unknown = sorted(set(raw) - _OAUTH_KEYS)
    if unknown and warnings is not None:
        warnings.append(
            f"{label}: ignored {', '.join(f'oauth.{k}' for k in unknown)} (oauth takes "
            f"{', '.join(sorted(_OAUTH_KEYS))})"
        )

    def field_text(key: str) -> str | None:
        return text(f"oauth.{key}", raw.get(key)) or None

    port = raw.get("callbackPort")
    if port is not None and (
        isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536
    ):
        raise McpConfigError(
            f"{label}, field 'oauth.callbackPort': must be a port number (1-65535), not {port!r}"
        )
    grant = raw.get("grant", "authorization_code")
    if grant not in _GRANTS:
        raise McpConfigError(
            f"{label}, field 'oauth.grant': unknown grant {grant!r}",
            hint='use "authorization_code" (a person logs in; the default), '
            '"client_credentials" (a machine with its own credentials) or '
            '"identity_assertion" (enterprise-managed: an identity provider vouches)',
        )
    method = field_text("tokenEndpointAuthMethod")
    if method is not None and method not in _AUTH_METHODS:
        raise McpConfigError(
            f"{label}, field 'oauth.tokenEndpointAuthMethod': unknown method {method!r}",
            hint=f"use one of {', '.join(_AUTH_METHODS)}",
        )
    private_key = field_text("privateKey")
    key_file = field_text("privateKeyFile")
    if key_file is not None:
        if private_key is not None:
            raise McpConfigError(
                f"{label}: give oauth.privateKey or oauth.privateKeyFile, not both"
            )
        try:
            private_key = Path(key_file).expanduser().read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise McpConfigError(
                f"{label}, field 'oauth.privateKeyFile': cannot read {key_file} ({exc})"
            ) from None
    config = OAuthConfig(
        client_id=field_text("clientId"),
        client_secret=field_text("clientSecret"),
        callback_port=port,
        scopes=field_text("scopes"),
        client_metadata_url=field_text("clientMetadataUrl"),
        grant=grant,
        token_endpoint_auth_method=method,
        private_key=private_key,
        signing_algorithm=field_text("signingAlgorithm") or "RS256",
        issuer=field_text("issuer"),
        idp_token_endpoint=field_text("idpTokenEndpoint"),
        idp_client_id=field_text("idpClientId"),
        idp_client_secret=field_text("idpClientSecret"),
        idp_id_token=field_text("idpIdToken"),
    )
    if config.client_metadata_url is not None and not config.client_metadata_url.startswith(
        "https://"
    ):
        raise McpConfigError(
            f"{label}, field 'oauth.clientMetadataUrl': must be an https:// URL "
            "(a client ID metadata document)"
        )
    if config.grant == "client_credentials":
        if config.client_id is None:
            raise McpConfigError(
                f"{label}: oauth.grant client_credentials needs oauth.clientId",
                hint="add the client's ID (and oauth.clientSecret or oauth.privateKey)",
            )
        if config.client_secret is None and config.private_key is None:
            raise McpConfigError(
                f"{label}: oauth.grant client_credentials needs oauth.clientSecret or "
                "oauth.privateKey (private_key_jwt)",
                hint="write the secret as ${VARIABLE} so that it stays out of the file",
            )
    if config.grant == "identity_assertion":
        needed = {
            "clientId": config.client_id,
            "clientSecret": config.client_secret,
            "issuer": config.issuer,
            "idpTokenEndpoint": config.idp_token_endpoint,
            "idpIdToken": config.idp_id_token,
        }
        missing = [f"oauth.{key}" for key, value in needed.items() if not value]
        if missing:
            raise McpConfigError(
                f"{label}: oauth.grant identity_assertion needs {', '.join(missing)}",
                hint="the authorization server's issuer, this client's credentials there, the "
                "identity provider's token endpoint and your ID token (e.g. ${IDP_ID_TOKEN})",
            )
    return config


def parse_servers(
    data: Any,
    *,
    source: str,
    scope: Scope,
    environ: Mapping[str, str] | None = None,
    key_path: str = "mcpServers",
) -> LoadedServers:
    """Every entry of an ``mcpServers`` mapping; never raises."""
    loaded = LoadedServers()
    if data is None:
        return loaded
    if not isinstance(data, Mapping):
        loaded.problems.append(
            f"{source}: {key_path} must be a mapping of server names to settings; ignored"
        )
        return loaded
    for name, entry in data.items():
        if isinstance(entry, Mapping) and entry.get("disabled") is True:
            continue  # other clients' switch (Cline, Roo): honoured, not an error
        try:
            config = server_config(
                str(name),
                entry,
                source=source,
                scope=scope,
                environ=environ,
                warnings=loaded.problems,
            )
        except McpConfigError as exc:
            loaded.problems.append(f"{exc}; server skipped")
            continue
        if config.name in loaded.servers:
            loaded.problems.append(
                f"{source}: servers {name!r} and another one share the name "
                f"{config.name!r}; the last one wins"
            )
        loaded.servers[config.name] = config
    return loaded


def read_mcp_json(path: Path, environ: Mapping[str, str] | None = None) -> LoadedServers:
    """A ``.mcp.json`` file; a missing file is no servers, a broken one a problem."""
    try:
        data = load_config_file(path, json_format=True)
    except FileNotFoundError:
        return LoadedServers()
    except ConfigFileError as exc:
        return LoadedServers(problems=[f"{exc}; file skipped"])
    if data is None:
        return LoadedServers()
    if not isinstance(data, dict) or "mcpServers" not in data:
        return LoadedServers(
            problems=[f'{path}: expected {{"mcpServers": {{...}}}} at the top; file skipped']
        )
    return parse_servers(data["mcpServers"], source=str(path), scope="project", environ=environ)


def load_servers(
    cwd: Path,
    settings: Settings,
    *,
    trusted: bool,
    environ: Mapping[str, str] | None = None,
) -> LoadedServers:
    """Servers from the settings files (user, then project and local ones) and the
    project's ``.mcp.json`` (only in a trusted folder). A later source wins by name:
    user < ``.mcp.json`` < project settings < local settings."""
    result = LoadedServers()
    sections = settings.sections("mcpServers")
    ordered: list[LoadedServers] = [
        parse_servers(data, source=f.label, scope=f.scope, environ=environ)
        for data, f in sections
        if f.scope == "user"
    ]
    if trusted:
        ordered.append(read_mcp_json(cwd / MCP_JSON, environ))
        for scope in ("project", "local"):
            ordered += [
                parse_servers(data, source=f.label, scope=f.scope, environ=environ)
                for data, f in sections
                if f.scope == scope
            ]
    for loaded in ordered:
        result.servers.update(loaded.servers)
        result.problems += loaded.problems
    return result
