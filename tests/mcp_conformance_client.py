"""harness-tui as the client under test of the MCP conformance suite
(npm ``@modelcontextprotocol/conformance``, run by ``tests/core/mcp/test_mcp_conformance.py``).

The suite starts a test server for a scenario and runs ``python -m
tests.mcp_conformance_client URL`` with ``MCP_CONFORMANCE_SCENARIO`` (its name) and, for some,
``MCP_CONFORMANCE_CONTEXT`` (JSON: pre-registered credentials, a signing key). Everything
goes through harness-tui's own path, as a user's session would: the server is written to a
``.mcp.json`` (the context becomes its ``oauth`` entry, the way a user would configure that
server), a ``Session`` opens it, a server that wants a login gets ``session.mcp.login`` (the
"browser" here follows the authorization server's redirect to our loopback listener, as a
person's browser would), and a scripted model calls the server's tools through the tool
executor; an elicitation is answered through ``Session.resolve_elicitation``.

Exit status 0 when the scenario's steps ran; the suite judges the traffic itself.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import anyio

SERVER = "test"
#: The client ID metadata document URL the basic-cimd scenario expects a client to use.
CIMD_URL = "https://conformance-test.local/client-metadata.json"


def oauth_entry(scenario: str, context: dict[str, Any]) -> dict[str, Any] | None:
    """The ``oauth`` entry a user would write for this scenario's server."""
    if scenario.startswith("auth/client-credentials"):
        entry: dict[str, Any] = {"grant": "client_credentials", "clientId": context["client_id"]}
        if "private_key_pem" in context:
            entry["privateKey"] = context["private_key_pem"]
            entry["signingAlgorithm"] = context.get("signing_algorithm", "RS256")
        else:
            entry["clientSecret"] = context["client_secret"]
        return entry
    if "idp_token_endpoint" in context:  # enterprise-managed: the admin knows the issuer
        return {
            "grant": "identity_assertion",
            "clientId": context["client_id"],
            "clientSecret": context["client_secret"],
            "tokenEndpointAuthMethod": "client_secret_basic",
            "issuer": context["issuer"],
            "idpTokenEndpoint": context["idp_token_endpoint"],
            "idpClientId": context["idp_client_id"],
            "idpIdToken": context["idp_id_token"],
        }
    if scenario == "auth/basic-cimd":
        return {"clientMetadataUrl": CIMD_URL}
    if "client_id" in context:  # a client registered by hand with the authorization server
        entry = {"clientId": context["client_id"]}
        if context.get("client_secret"):
            entry["clientSecret"] = context["client_secret"]
        return entry
    return None


def arguments_for(schema: dict[str, Any]) -> dict[str, Any]:
    """Simple valid arguments from a tool's input schema."""
    values: dict[str, Any] = {}
    for name, field in (schema.get("properties") or {}).items():
        kind = field.get("type", "string") if isinstance(field, dict) else "string"
        if isinstance(field, dict) and "default" in field:
            values[name] = field["default"]
        elif kind in ("number", "integer"):
            values[name] = 1
        elif kind == "boolean":
            values[name] = True
        elif kind == "object":
            values[name] = {}
        elif kind == "array":
            values[name] = []
        else:
            values[name] = "test"
    return values


async def follow_redirect(url: str) -> None:
    """What a person's browser does on an authorization server that approves at once:
    open the page, go where it redirects (our loopback listener)."""
    import httpx2

    async with httpx2.AsyncClient(follow_redirects=False, timeout=10) as http:
        page = await http.get(url)
        location = page.headers.get("location")
        if page.is_redirect and location:
            await http.get(location)


async def authorization_server_of(url: str) -> str:
    """The authorization server the MCP server names in its protected resource metadata
    (what an administrator would look up once and write into the configuration)."""
    from urllib.parse import urlsplit

    import httpx2

    parts = urlsplit(url)
    metadata = f"{parts.scheme}://{parts.netloc}/.well-known/oauth-protected-resource{parts.path}"
    async with httpx2.AsyncClient(timeout=10) as http:
        return str((await http.get(metadata)).json()["authorization_servers"][0])


async def run(url: str, scenario: str, context: dict[str, Any], folder: Path) -> int:
    from harness_tui.core.providers.offline.scripted import Text, ToolCall, reply
    from tests.core.mcp.test_mcp_stdio import mcp_session

    if "idp_token_endpoint" in context:
        context = {**context, "issuer": await authorization_server_of(url)}
    entry: dict[str, Any] = {"type": "http", "url": url}
    oauth = oauth_entry(scenario, context)
    if oauth is not None:
        entry["oauth"] = oauth

    calls: list[ToolCall] = []

    def script(request: Any) -> Any:
        return reply(*calls) if calls and len(request.messages) == 1 else reply(Text("done"))

    session, _ = mcp_session(folder, {SERVER: entry}, script=script)
    async with session:
        await session.mcp.wait_started()
        if session.mcp.connections[SERVER].status == "needs_auth":
            await session.mcp.login(SERVER, follow_redirect, wait_s=20)
        connection = session.mcp.connections[SERVER]  # a login connects anew
        if connection.status != "ready":
            print(f"{SERVER}: {connection.status}: {connection.error}", file=sys.stderr)
            return 1
        if scenario == "initialize":
            return 0
        for tool in connection.listing.tools:
            name = f"mcp__{SERVER}__{tool.name}"
            calls.append(ToolCall(name, arguments_for(tool.input_schema or {})))
        if not calls:
            return 0
        events = session.store.subscribe("client", queue_size=10_000)
        run_id = await session.submit("call every tool")
        async for event in session.store.stream(events):
            if event.type == "ELICITATION_REQUESTED":
                # As a person who leaves every field of the form as proposed.
                await session.resolve_elicitation(event.request_id, "accept", {})
            elif event.type == "TOOL_CALL_COMPLETED":
                print(f"{event.model_dump_json()[:300]}", file=sys.stderr)
            elif event.type == "RUN_COMPLETED" and event.run_id == run_id:
                break
    return 0


def main() -> int:
    url = sys.argv[1]
    scenario = os.environ.get("MCP_CONFORMANCE_SCENARIO", "")
    context = json.loads(os.environ.get("MCP_CONFORMANCE_CONTEXT") or "{}")
    with tempfile.TemporaryDirectory() as temp:
        root = Path(temp)
        for name in ("project", "data", "config"):
            (root / name).mkdir()
        os.environ["HARNESS_DATA_DIR"] = str(root / "data")  # the tokens stay in here
        os.environ["HARNESS_CONFIG_DIR"] = str(root / "config")
        return anyio.run(run, url, scenario, context, root / "project")


if __name__ == "__main__":
    sys.exit(main())
