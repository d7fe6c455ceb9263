# Over 500 lines as one unit: every login flow against the suite's authorization servers.
"""OAuth for remote MCP servers: a server that wants a login says how, a login connects it
and stores the tokens (0600, nowhere else), the next session uses them, logout forgets
them; the browser's way back refuses answers that are not for this login; bad ``oauth``
entries name the field. The authorization servers are the MCP conformance suite's own
(npm ``@modelcontextprotocol/conformance``, interactive mode), not ours."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx2
import pytest

from harness_tui.core.mcp.config import McpConfigError, server_config
from harness_tui.core.mcp.login import CallbackListener, LoginFailed, auth_dir
from tests.core.mcp.test_mcp_conformance import SUITE
from tests.core.mcp.test_mcp_stdio import mcp_session, server_status
from tests.mcp_conformance_client import follow_redirect
from tests.node_parts import node_env, node_program


def _serve_scenario(scenario: str) -> Iterator[str]:
    """The suite's servers for ``scenario`` (interactive mode: they stay up); their URL."""
    node = node_program("node")
    process = subprocess.Popen(
        [str(node), str(SUITE), "client", "--scenario", scenario],
        env=node_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    assert process.stdout is not None
    try:
        for line in process.stdout:  # "Server URL: http://localhost:PORT/mcp"
            if line.startswith("Server URL:"):
                yield line.split(":", 1)[1].strip()
                break
        else:
            pytest.fail(f"the conformance suite did not start {scenario}")
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture(scope="module")
def oauth_server() -> Iterator[str]:
    """An MCP server behind an authorization server with discovery and registration."""
    yield from _serve_scenario("auth/metadata-default")


def _everything_under(folder: Path, skip: Path) -> str:
    text = []
    for path in folder.rglob("*"):
        if path.is_file() and skip not in path.parents:
            text.append(path.read_text(errors="replace"))
    return "\n".join(text)


async def test_a_login_connects_the_server_and_the_tokens_stay_in_their_file(
    tmp_path: Path, oauth_server: str
) -> None:
    servers = {"remote": {"type": "http", "url": oauth_server}}
    session, _ = mcp_session(tmp_path, servers)
    async with session:
        asked = await server_status(session, "remote", "needs_auth", "ready", "failed")
        assert asked.status == "needs_auth", asked.error
        assert "run /mcp login remote" in (asked.error or "")
        assert "harness-tui mcp login remote" in (asked.error or "")
        assert not [t for t in session.executor.tools if t.startswith("mcp__remote__")]

        opened: list[str] = []

        async def browser(url: str) -> None:
            opened.append(url)
            await follow_redirect(url)

        await session.mcp.login("remote", browser, wait_s=20)
        assert session.mcp.connections["remote"].status == "ready"
        assert any(t.startswith("mcp__remote__") for t in session.executor.tools)
        [url] = opened
        notices = [e.message for e in session.store.replay(0) if e.type == "NOTICE"]
        assert f"Log in to MCP server remote in your browser: {url}" in notices
        assert "Logged in to MCP server remote." in notices
        events = "\n".join(e.model_dump_json() for e in session.store.replay(0))
        session_file = session.file

    [stored] = auth_dir().glob("remote-*.json")
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert stat.S_IMODE(stored.parent.stat().st_mode) == 0o700
    tokens = json.loads(stored.read_text())["tokens"]
    secrets = [tokens["access_token"]]
    secrets += [tokens["refresh_token"]] if "refresh_token" in tokens else []
    data = Path(os.environ["HARNESS_DATA_DIR"])
    elsewhere = events + _everything_under(data, skip=stored.parent)
    elsewhere += _everything_under(Path(os.environ["HARNESS_CONFIG_DIR"]), skip=stored.parent)
    assert session_file is not None and session_file.exists()
    for secret in secrets:
        assert secret not in elsewhere  # not in events, the session file, logs or settings

    # The next session uses the stored tokens: no login.
    again, _ = mcp_session(tmp_path, servers)
    async with again:
        ready = await server_status(again, "remote", "ready", "needs_auth", "failed")
        assert ready.status == "ready", ready.error
        assert await again.mcp.logout("remote") is True  # and connected again, without
        assert again.mcp.connections["remote"].status == "needs_auth"
        assert await again.mcp.logout("remote") is False
    for left in auth_dir().glob("remote-*.json"):  # at most the client registration
        assert "tokens" not in json.loads(left.read_text())


async def test_logging_in_to_a_local_server_is_refused_with_a_reason(tmp_path: Path) -> None:
    from harness_tui.core.errors import HarnessError
    from tests.mcp_servers import time_entry

    session, _ = mcp_session(tmp_path, {"time": time_entry()})
    async with session:
        await server_status(session, "time", "ready", "failed")
        with pytest.raises(HarnessError, match=r"runs on this machine \(stdio\): it has no login"):
            await session.mcp.login("time")
        with pytest.raises(HarnessError, match="no MCP server named 'nope'"):
            await session.mcp.login("nope")


# --- the browser's way back ------------------------------------------------------------------


async def test_the_listener_ignores_answers_for_another_login_and_takes_its_own() -> None:
    async with CallbackListener("remote") as listener, httpx2.AsyncClient() as http:
        assert listener.redirect_uri.startswith("http://127.0.0.1:")
        listener.expect("right")
        wrong = await http.get(f"{listener.redirect_uri}?code=stolen&state=wrong")
        assert wrong.status_code == 400 and "not for the login under way" in wrong.text
        elsewhere = await http.get(listener.redirect_uri.replace("/callback", "/favicon.ico"))
        assert elsewhere.status_code == 404
        good = await http.get(f"{listener.redirect_uri}?code=abc&state=right&iss=https%3A%2F%2Fas")
        assert good.status_code == 200 and "You can close this tab" in good.text
        assert await listener.result(1) == ("abc", "right", "https://as")
        late = await http.get(f"{listener.redirect_uri}?code=again&state=right")
        assert late.status_code == 409


async def test_a_refused_or_abandoned_login_names_the_server_and_the_reason() -> None:
    async with CallbackListener("remote") as listener, httpx2.AsyncClient() as http:
        listener.expect("s")
        page = await http.get(
            f"{listener.redirect_uri}?error=access_denied&error_description=User+said+no&state=s"
        )
        assert "User said no" in page.text
        refused = r"remote: the login was refused \(access_denied: User said no\)"
        with pytest.raises(LoginFailed, match=refused):
            await listener.result(1)
    async with CallbackListener("remote") as listener:
        with pytest.raises(LoginFailed, match=r"remote: no answer from the browser within 0\.05 s"):
            await listener.result(0.05)


async def test_a_taken_callback_port_is_a_clear_error() -> None:
    async with CallbackListener("one") as first:
        with pytest.raises(LoginFailed, match=f"127.0.0.1:{first.port}.*oauth.callbackPort"):
            async with CallbackListener("two", first.port):
                pass


# --- the oauth entry -------------------------------------------------------------------------


def _remote(oauth: object) -> object:
    return server_config(
        "api", {"type": "http", "url": "https://x.example/mcp", "oauth": oauth}, source=".mcp.json"
    )


def test_the_oauth_entry_is_read_with_claude_codes_keys() -> None:
    config = (
        _remote(
            {"clientId": "abc", "clientSecret": "${SECRET}", "callbackPort": 8123, "scopes": "a b"}
        )
        if os.environ.setdefault("SECRET", "s3cret")
        else None
    )
    assert config.oauth is not None  # type: ignore[attr-defined]
    oauth = config.oauth  # type: ignore[attr-defined]
    assert (oauth.client_id, oauth.client_secret, oauth.callback_port, oauth.scopes) == (
        "abc",
        "s3cret",
        8123,
        "a b",
    )
    assert "s3cret" not in repr(config)


@pytest.mark.parametrize(
    ("oauth", "message"),
    [
        ("yes", "field 'oauth': must be a mapping"),
        ({"callbackPort": 70000}, "field 'oauth.callbackPort': must be a port number"),
        ({"callbackPort": True}, "field 'oauth.callbackPort': must be a port number"),
        ({"grant": "password"}, "field 'oauth.grant': unknown grant 'password'"),
        ({"grant": "client_credentials"}, "needs oauth.clientId"),
        ({"grant": "client_credentials", "clientId": "c"}, "needs oauth.clientSecret or"),
        ({"tokenEndpointAuthMethod": "magic"}, "'oauth.tokenEndpointAuthMethod': unknown"),
        ({"clientMetadataUrl": "http://x/c.json"}, "'oauth.clientMetadataUrl': must be an https"),
        ({"privateKeyFile": "/nonexistent/key.pem"}, "'oauth.privateKeyFile': cannot read"),
        ({"clientSecret": "${NOT_SET_ANYWHERE}"}, r"\$\{NOT_SET_ANYWHERE\} is not set"),
        (
            {"grant": "identity_assertion", "clientId": "c", "clientSecret": "s"},
            "identity_assertion needs oauth.issuer, oauth.idpTokenEndpoint, oauth.idpIdToken",
        ),
    ],
)
def test_a_bad_oauth_entry_names_the_field(oauth: object, message: str) -> None:
    with pytest.raises(McpConfigError, match=message) as raised:
        _remote(oauth)
    assert ".mcp.json: server 'api'" in str(raised.value)


async def test_no_anyio_leak_when_the_listener_is_cancelled() -> None:
    with anyio.move_on_after(0.05):
        async with CallbackListener("remote") as listener:
            await listener.result(10)


# --- the command line and the TUI -------------------------------------------------------------

BROWSER = """\
import sys, urllib.request
class Stop(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        urllib.request.urlopen(newurl)  # the loopback listener: the code arrives
        return None
try:
    urllib.request.build_opener(Stop).open(sys.argv[1])
except Exception:
    pass
"""


def _cli(folder: Path, *args: str, browser: Path | None = None) -> subprocess.CompletedProcess[str]:
    import sys

    env = dict(os.environ)
    if browser is not None:
        env["BROWSER"] = str(browser)  # what webbrowser runs with the URL
    return subprocess.run(
        [sys.executable, "-m", "harness_tui", "mcp", *args],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_harness_tui_mcp_login_list_and_logout(tmp_path: Path, oauth_server: str) -> None:
    import sys

    browser = tmp_path / "browser"
    browser.write_text(f"#!{sys.executable}\n{BROWSER}")
    browser.chmod(0o755)
    project = tmp_path / "project"
    project.mkdir()
    servers = {"remote": {"type": "http", "url": oauth_server}, "local": {"command": "true"}}
    (project / ".mcp.json").write_text(json.dumps({"mcpServers": servers}))

    listed = _cli(project, "--trust", "list")
    assert "remote  http://localhost" in listed.stdout and "not logged in" in listed.stdout

    logged = _cli(project, "login", "remote", "--wait", "20", browser=browser)
    assert logged.returncode == 0, logged.stderr
    assert "open:\n  http://localhost" in logged.stderr  # the address, for another machine
    assert logged.stderr.rstrip().endswith("Logged in to remote.")
    assert "  logged in  " in _cli(project, "list").stdout

    refused = _cli(project, "login", "local")
    assert refused.returncode == 2 and "runs on this machine (stdio)" in refused.stderr
    unknown = _cli(project, "logout", "nope")
    assert "no MCP server named 'nope' (servers: local, remote)" in unknown.stderr

    assert _cli(project, "logout", "remote").stdout.strip() == "Logged out of remote."
    assert "not logged in" in _cli(project, "list").stdout
    assert _cli(project, "logout", "remote").stdout.strip() == "remote: no stored login."


def test_headless_names_the_login_command(tmp_path: Path, oauth_server: str) -> None:
    import sys

    (tmp_path / ".mcp.json").write_text(
        json.dumps({"mcpServers": {"remote": {"type": "http", "url": oauth_server}}})
    )
    done = subprocess.run(
        [sys.executable, "-m", "harness_tui", "--trust", "--model", "demo", "-p", "hi"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert "MCP server remote: it needs a login" in done.stderr
    assert "`harness-tui mcp login remote`" in done.stderr


async def test_mcp_login_in_the_tui(
    tmp_path: Path, oauth_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from harness_tui.core.mcp import manager
    from harness_tui.widgets.conversation import Conversation, NoticeEntry
    from harness_tui.widgets.screens.mcp import McpScreen
    from tests.tui.test_tui import tui, type_text, until

    monkeypatch.setattr(manager, "open_in_browser", follow_redirect)  # the user's browser
    session, _ = mcp_session(tmp_path, {"remote": {"type": "http", "url": oauth_server}})
    async with tui(session) as (app, pilot):
        await server_status(session, "remote", "needs_auth")
        await type_text(pilot, "/mcp login remote")
        await pilot.press("enter")
        await until(pilot, lambda: session.mcp.connections["remote"].status == "ready")

        def notices() -> list[str]:
            return [str(n.render()) for n in app.query_one(Conversation).query(NoticeEntry)]

        await until(pilot, lambda: any("Logged in to MCP server remote." in n for n in notices()))
        assert any("Log in to MCP server remote in your browser: http" in n for n in notices())
        await type_text(pilot, "/mcp logout remote")
        await pilot.press("enter")
        await until(pilot, lambda: any("Logged out of MCP server remote." in n for n in notices()))
        assert session.mcp.connections["remote"].status == "needs_auth"
        await type_text(pilot, "/mcp")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, McpScreen))
        report = str(app.screen.query_one("#mcp-report").render())
        assert "remote  needs_auth" in report and "/mcp login NAME logs in" in report
        await pilot.press("escape")
        await type_text(pilot, "/mcp paste http://127.0.0.1:9/callback?code=c&state=s")
        await pilot.press("enter")
        await until(pilot, lambda: any("no MCP login is under way" in n for n in notices()))
        await type_text(pilot, "/mcp frobnicate")
        await pilot.press("enter")
        usage = "/mcp login NAME or /mcp logout NAME"
        await until(pilot, lambda: any(usage in n for n in notices()))


async def test_a_stored_token_past_its_lifetime_is_refreshed_not_sent() -> None:
    """The SDK forgets when a stored token expires; the token file remembers, so after a
    restart an expired token is refreshed first (not sent, refused, and logged in again)."""
    import time
    from contextlib import AsyncExitStack

    from mcp.shared.auth import OAuthClientInformationFull, OAuthToken

    from harness_tui.core.mcp.login import token_file
    from harness_tui.core.mcp.oauth import build_auth

    config = server_config(
        "api", {"type": "http", "url": "https://x.example/mcp"}, source=".mcp.json"
    )
    store = token_file(config)
    redirect = "http://127.0.0.1:1/callback"
    await store.set_client_info(OAuthClientInformationFull(client_id="c", redirect_uris=[redirect]))
    await store.set_tokens(
        OAuthToken(access_token="old", token_type="Bearer", expires_in=60, refresh_token="r")
    )
    async with AsyncExitStack() as stack:
        fresh = await build_auth(config, stack, None)
        await fresh._initialize()
        assert fresh.context.is_token_valid()  # just stored: valid for a minute
        data = json.loads(store.path.read_text())
        data["obtained_at"] = time.time() - 3600
        store.path.write_text(json.dumps(data))
        stale = await build_auth(config, stack, None)
        await stale._initialize()
        assert not stale.context.is_token_valid() and stale.context.can_refresh_token()
        headed = server_config(
            "api",
            {"type": "http", "url": "https://x.example/mcp", "headers": {"Authorization": "x"}},
            source=".mcp.json",
        )
        assert await build_auth(headed, stack, None) is None  # a static header: no OAuth


# --- what fails, said ------------------------------------------------------------------------


class _Refusing:
    """A remote MCP server that answers every request 401 (status and body as a real one
    with OAuth would), with more or less of OAuth behind it: ``none`` (no metadata at
    all), ``closed`` (metadata, but registration closed: RFC 7591's error body), ``stale``
    (metadata and a token endpoint that refuses a refresh: RFC 6749's ``invalid_grant``)."""

    def __init__(self, kind: str) -> None:
        import http.server
        import threading

        kind_ = kind

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self) -> None:
                self.rfile.read(int(self.headers.get("content-length") or 0))
                base = f"http://127.0.0.1:{self.server.server_port}"
                status, body = 404, {}
                if self.path == "/mcp":
                    status = 401
                elif kind_ != "none" and self.path == "/.well-known/oauth-authorization-server":
                    status, body = (
                        200,
                        {
                            "issuer": base,
                            "authorization_endpoint": f"{base}/authorize",
                            "token_endpoint": f"{base}/token",
                            "registration_endpoint": f"{base}/register",
                            "response_types_supported": ["code"],
                        },
                    )
                elif kind_ == "closed" and self.path == "/register":
                    status = 400
                    body = {"error": "invalid_client_metadata", "error_description": "closed"}
                elif kind_ == "stale" and self.path == "/token":
                    status = 400
                    body = {"error": "invalid_grant", "error_description": "refresh expired"}
                data = json.dumps(body).encode() if body else b""
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_DELETE = _answer

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/mcp"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize(
    ("kind", "status", "message"),
    [
        (
            "none",
            "failed",
            "publishes no OAuth metadata, so there is nothing to log in to; "
            "give it a token in its 'headers'",
        ),
        (
            "closed",
            "failed",
            "its authorization server refused to register harness-tui "
            "(400 invalid_client_metadata: closed); register a client with it yourself",
        ),
        (
            "stale",
            "needs_auth",
            "its stored login has expired or was revoked (refreshing it "
            "was refused): run /mcp login remote",
        ),
        (
            "header",  # a token written in the headers, refused: no OAuth, no login
            "failed",
            "the server refused the token in its 'headers' (401); check it",
        ),
        ("header-sse", "failed", "the server refused the token in its 'headers' (401)"),
    ],
)
async def test_each_way_a_login_cannot_work_is_said(
    tmp_path: Path, kind: str, status: str, message: str
) -> None:
    import time

    from mcp.shared.auth import OAuthClientInformationFull, OAuthToken

    from harness_tui.core.mcp.login import TokenFile

    server = _Refusing(kind)
    try:
        if kind == "stale":  # a login from yesterday, its access token long expired
            store = TokenFile("remote", server.url)
            callback = "http://127.0.0.1:1/callback"
            await store.set_client_info(
                OAuthClientInformationFull(client_id="c", redirect_uris=[callback])
            )
            await store.set_tokens(
                OAuthToken(access_token="a", token_type="Bearer", expires_in=60, refresh_token="r")
            )
            data = json.loads(store.path.read_text())
            store.path.write_text(json.dumps({**data, "obtained_at": time.time() - 86_400}))
        entry: dict[str, object] = {"type": "sse" if kind.endswith("sse") else "http"}
        entry["url"] = server.url
        if kind.startswith("header"):
            entry["headers"] = {"Authorization": "Bearer wrong"}
        session, _ = mcp_session(tmp_path, {"remote": entry})
        async with session:
            seen = await server_status(session, "remote", "ready", "failed", "needs_auth")
            notices = [e.message for e in session.store.replay(0) if e.type == "NOTICE"]
    finally:
        server.close()
    assert seen.status == status
    assert message in (seen.error or "")
    assert any(message in n for n in notices)  # said in every view, headless stderr too


# --- a browser on another machine ---------------------------------------------------------------


async def test_a_login_finishes_with_the_address_a_far_browser_ended_on(
    tmp_path: Path, oauth_server: str
) -> None:
    """Over SSH the browser runs elsewhere: the authorization server's redirect to
    127.0.0.1 fails there, and the user pastes the address it ended on instead."""
    from harness_tui.core.errors import HarnessError

    session, _ = mcp_session(tmp_path, {"remote": {"type": "http", "url": oauth_server}})
    async with session:
        await server_status(session, "remote", "needs_auth")
        with pytest.raises(HarnessError, match="no MCP login is under way"):
            session.mcp.paste_login("http://127.0.0.1:1/callback?code=x&state=y")

        async def far_browser(url: str) -> None:
            async with httpx2.AsyncClient(follow_redirects=False) as http:
                ended_on = (await http.get(url)).headers["location"]  # never loaded here
            wrong = ended_on.replace("state=", "state=forged")
            with pytest.raises(HarnessError, match="not this login's answer: Wrong login"):
                session.mcp.paste_login(wrong)
            assert session.mcp.paste_login(f"  {ended_on}\n") == "remote"

        await session.mcp.login("remote", far_browser, wait_s=20)
        assert session.mcp.connections["remote"].status == "ready"
        notices = [e.message for e in session.store.replay(0) if e.type == "NOTICE"]
        assert any("paste that page's address here with /mcp paste ADDRESS" in n for n in notices)


async def test_a_pasted_address_for_another_port_is_refused() -> None:
    async with CallbackListener("remote") as listener:
        listener.expect("s")
        with pytest.raises(LoginFailed, match=r"another login \(port 1, this one listens on"):
            listener.accept("http://127.0.0.1:1/callback?code=c&state=s")
        listener.accept(f"{listener.redirect_uri}?code=c&state=s")
        assert await listener.result(1) == ("c", "s", None)


@pytest.mark.parametrize(
    ("request_line", "status"),
    [
        ("GET /callback?code=c HTTP/1.1", 400),  # no state at all
        ("GET /callback?code=c&state= HTTP/1.1", 400),  # an empty state
        ("GET /callback?code=c&state=RIGHT HTTP/1.1", 400),  # another case
        ("GET /callback?code=c&state=righ HTTP/1.1", 400),  # a prefix
        ("GET /callback?code=c&state=right%00 HTTP/1.1", 400),  # a NUL appended
        ("GET /callback?code=c#state=right HTTP/1.1", 400),  # in a fragment
        ("GET /callback/../callback?code=c&state=right HTTP/1.1", 404),  # another path
        ("GET /CALLBACK?code=c&state=right HTTP/1.1", 404),
        ("POST /callback?code=c&state=right HTTP/1.1", 400),  # not a redirect
        ("GET /callback?state=right HTTP/1.1", 400),  # no code
        ("garbage", 400),
    ],
)
async def test_the_listener_refuses_each_forged_or_broken_answer(
    request_line: str, status: int
) -> None:
    """A page the user visits can make their browser request 127.0.0.1 too: only the
    exact answer for this login counts, and a refused one leaves the login waiting."""
    async with CallbackListener("remote") as listener:
        listener.expect("right")
        stream = await anyio.connect_tcp("127.0.0.1", listener.port)
        async with stream:
            await stream.send(f"{request_line}\r\nHost: 127.0.0.1\r\n\r\n".encode())
            reply = b""
            with anyio.fail_after(5):
                try:
                    while True:
                        reply += await stream.receive()
                except anyio.EndOfStream:
                    pass
        assert reply.startswith(f"HTTP/1.1 {status} ".encode())
        with pytest.raises(LoginFailed, match="no answer from the browser"):
            await listener.result(0.01)  # still waiting for the real answer
