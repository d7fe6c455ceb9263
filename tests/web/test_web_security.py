"""Tokens, Host and Origin checks, loopback binding, session scoping, and no secrets out."""

from __future__ import annotations

import errno
import json
import socket

import anyio
import httpx2
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from harness_tui.core.providers.offline.scripted import Text, ToolCall, Wait, reply
from harness_tui.core.session.session import Session
from harness_tui.web.auth import AccessKeys
from harness_tui.web.guard import HostPolicy, split_host
from harness_tui.web.redact import MASK, Redactor
from tests.helpers import EchoTool, wait_for
from tests.web_support import mirror, receive_until, run_ended, scripted, web_server

TEST_KEY = "sk-ant-test-0123456789abcdefSECRET"


async def refused_status(url: str, **headers: str) -> tuple[int, dict]:
    with pytest.raises(InvalidStatus) as refused:
        async with connect(url, additional_headers=headers or None):
            pass
    response = refused.value.response
    return response.status_code, json.loads(response.body or b"{}")


async def test_no_token_or_a_wrong_one_is_401_everywhere() -> None:
    async with web_server() as srv:
        session, _ = await srv.new_session()
        base = srv.address.base_url
        async with httpx2.AsyncClient(base_url=base) as anonymous:
            for method, path in [
                ("GET", "/"),
                ("GET", "/api/sessions"),
                ("POST", "/api/session"),
                ("POST", f"/api/query/{session.id}"),
                ("GET", f"/api/session/{session.id}/events"),
                ("GET", "/api/does-not-exist"),
            ]:
                for headers in (
                    {},
                    {"Authorization": "Bearer wrong"},
                    {"Authorization": "Basic x"},
                ):
                    response = await anonymous.request(method, path, headers=headers)
                    assert response.status_code == 401, (path, headers)
                    assert response.json()["error"]["code"] == "unauthorized"
                    assert response.headers["www-authenticate"] == "Bearer"
            # ?token= opens the page (and the WebSocket) only: it would land in logs.
            assert (await anonymous.get("/", params={"token": srv.token})).status_code == 200
            api = await anonymous.get("/api/sessions", params={"token": srv.token})
            assert api.status_code == 401
            almost = srv.token[:-1] + ("A" if srv.token[-1] != "A" else "B")
            assert (await anonymous.get("/", params={"token": almost})).status_code == 401
            assert (await anonymous.get("/", params={"token": "é"})).status_code == 401

        for token in ("", "wrong", srv.token.upper()):
            status, body = await refused_status(srv.ws_url(session.id, token=token))
            assert status == 401 and body["error"]["code"] == "unauthorized"


async def test_a_foreign_origin_is_refused_before_the_websocket_is_accepted() -> None:
    async with web_server() as srv:
        session, _ = await srv.new_session()
        url = srv.ws_url(session.id)
        for origin in ("http://evil.test", "null", f"http://localhost:{srv.address.port + 1}"):
            status, body = await refused_status(url, Origin=origin)
            assert status == 403 and body["error"]["code"] == "origin_not_allowed"
        # The page's own origin is fine.
        own = f"http://127.0.0.1:{srv.address.port}"
        async with connect(url, origin=own) as ws:  # type: ignore[arg-type]
            assert json.loads(await ws.recv())[0]["type"] == "SESSION_STARTED"
        # Cross-site HTTP calls are refused too, even with the token (CSRF).
        evil = await srv.http.post(
            f"/api/query/{session.id}", json={"text": "x"}, headers={"Origin": "http://evil.test"}
        )
        assert evil.status_code == 403 and not session.running


async def raw_upgrade(port: int, path: str, host: str) -> int:
    """The status of a WebSocket upgrade sent with exactly this ``Host`` header."""
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n"
    )
    async with await anyio.connect_tcp("127.0.0.1", port) as stream:
        await stream.send(request.encode())
        head = await stream.receive()
    return int(head.split(b" ")[1])


async def test_a_foreign_host_header_is_refused() -> None:
    async with web_server() as srv:
        session, _ = await srv.new_session()
        port = srv.address.port
        for host in (
            f"evil.test:{port}",
            f"127.0.0.1.nip.io:{port}",
            "127.0.0.1",
            f"localhost:{port + 1}",
        ):
            response = await srv.http.get("/api/sessions", headers={"Host": host})
            assert response.status_code == 403, host
            assert response.json()["error"]["code"] == "host_not_allowed"
            path = f"/ws/{session.id}?token={srv.token}"
            assert await raw_upgrade(port, path, host) == 403
        assert (
            await raw_upgrade(port, f"/ws/{session.id}?token={srv.token}", f"localhost:{port}")
            == 101
        )
        for host in (f"localhost:{port}", f"127.0.0.1:{port}", f"[::1]:{port}"):
            assert (await srv.http.get("/api/sessions", headers={"Host": host})).status_code == 200


def test_host_policy_and_parsing() -> None:
    policy = HostPolicy("127.0.0.1", 8765)
    assert policy.allows("127.0.0.1:8765") and policy.allows("LOCALHOST:8765")
    assert policy.allows("[::1]:8765") and policy.allows("192.168.1.9:8765")
    assert not policy.allows("attacker.example:8765") and not policy.allows(None)
    assert not policy.allows("127.0.0.1:80") and not policy.allows("127.0.0.1:x")
    assert HostPolicy("devbox.lan", 80).allows("devbox.lan")
    assert split_host("[::1]:99") == ("::1", 99) and split_host("a") == ("a", 80)


async def test_the_server_listens_only_on_127_0_0_1_by_default() -> None:
    async with web_server() as srv:
        assert srv.address.host == "127.0.0.1" and not srv.address.exposed
        assert srv.address.url.startswith(f"http://127.0.0.1:{srv.address.port}/?token=")
        port = srv.address.port
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass
        # Another loopback address of this machine reaches a wildcard listener, not ours.
        with pytest.raises(OSError) as refused:
            socket.create_connection(("127.0.0.2", port), timeout=5).close()
        assert refused.value.errno == errno.ECONNREFUSED


async def test_listening_on_every_address_is_reported_as_exposed() -> None:
    async with web_server(host="0.0.0.0") as srv:
        assert srv.address.exposed
        assert srv.address.base_url == f"http://127.0.0.1:{srv.address.port}"
        with socket.create_connection(("127.0.0.2", srv.address.port), timeout=5):
            pass


async def test_a_session_token_opens_its_session_and_nothing_else() -> None:
    async with web_server(scripted(reply(Text("a")))) as srv:
        a, token_a = await srv.new_session()
        b, token_b = await srv.new_session()
        assert token_a != token_b != srv.token

        status, body = await refused_status(srv.ws_url(b.id, token=token_a))
        assert status == 403 and body["error"]["message"] == "this token is for another session"
        async with connect(srv.ws_url(a.id, token=token_a)) as ws:
            assert json.loads(await ws.recv())[0]["session_id"] == a.id

        headers = {"Authorization": f"Bearer {token_a}"}
        for method, path, body in [
            ("GET", f"/api/session/{b.id}/events", None),
            ("POST", f"/api/cancel/{b.id}", None),
            ("DELETE", f"/api/session/{b.id}", None),
            ("GET", f"/api/models?session={b.id}", None),
            ("POST", f"/api/model/{b.id}", {"model": "demo"}),
            ("POST", f"/api/mode/{b.id}", {"mode": "plan"}),
            ("POST", f"/api/pullback/{b.id}", None),
        ]:
            response = await srv.http.request(method, path, headers=headers, json=body)
            assert response.status_code == 403, path
            assert response.json()["error"]["message"] == "this token is for another session"
        assert (b.model.name, b.mode) == ("scripted", "default")
        assert [e.type for e in b.store.replay(0)] == ["SESSION_STARTED"]
        own = await srv.http.get(f"/api/session/{a.id}/events", headers=headers)
        assert own.status_code == 200
        listing = (await srv.http.get("/api/sessions", headers=headers)).json()
        assert [s["id"] for s in listing["sessions"]] == [a.id] and listing["scope"] == "session"
        create = await srv.http.post("/api/session", headers=headers)
        assert create.status_code == 403
        # Closing a session retires its token.
        await srv.http.delete(f"/api/session/{a.id}")
        assert (await srv.http.get("/api/sessions", headers=headers)).status_code == 401


def test_tokens_are_random_per_start_and_session_tokens_are_derived() -> None:
    one, two = AccessKeys(), AccessKeys()
    assert one.server_token != two.server_token and len(one.server_token) == 43  # 32 bytes
    assert one.session_token("ses_a") != two.session_token("ses_a")
    assert one.check(one.session_token("ses_a"), ["ses_b", "ses_a"]).session_id == "ses_a"  # type: ignore[union-attr]
    assert one.check(one.session_token("ses_a"), ["ses_b"]) is None
    assert one.check(two.server_token, []) is None and one.check(None, []) is None
    assert one.check(one.server_token, []).everything  # type: ignore[union-attr]


async def test_no_response_contains_the_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", TEST_KEY)
    # A tool that prints the key (as `env` would) is the way it could leak.
    gate, reached = anyio.Event(), anyio.Event()
    replies = (
        reply(Text("Checking."), ToolCall("Echo", {"text": f"ANTHROPIC_API_KEY={TEST_KEY}"})),
        reply(Text(f'The key is {TEST_KEY}, quoted: "{TEST_KEY}"')),
        reply(Text("Held."), Wait(gate, reached)),
    )
    async with web_server(scripted(*replies, tools=[EchoTool()])) as srv:
        session, _ = await srv.new_session()
        bodies = [(await srv.http.post(f"/api/query/{session.id}", json={"text": "show"})).text]
        async with srv.socket(session.id) as ws:
            frames = await receive_until(ws, run_ended)
        await wait_for(session.store, lambda e: e.type == "RUN_COMPLETED")
        bodies.append(json.dumps(frames))
        for path in (
            "/",
            "/api/sessions",
            f"/api/session/{session.id}/events",
            f"/api/session/{session.id}/events?since=3",
        ):
            bodies.append((await srv.http.get(path)).text)
        bodies.append((await srv.http.post("/api/session", json={"model": "nope"})).text)
        bodies.append((await srv.http.post(f"/api/cancel/{session.id}")).text)
        bodies.append((await srv.http.get("/api/sessions", headers={"Authorization": ""})).text)
        # The model and mode controls, and messages handed back from the queue.
        script = session.model
        for path in ("/api/models", f"/api/models?session={session.id}"):
            bodies.append((await srv.http.get(path)).text)
        for model in ("nope", "anthropic/nope", "anthropic/claude-sonnet-4-6"):
            switched = await srv.http.post(f"/api/model/{session.id}", json={"model": model})
            bodies.append(switched.text)
        assert switched.json()["applies"] == "now"  # the key is there: the switch is made
        bodies.append((await srv.http.post(f"/api/mode/{session.id}", json={"mode": "x"})).text)
        bodies.append((await srv.http.post(f"/api/mode/{session.id}", json={"mode": "plan"})).text)
        bodies.append((await srv.http.post(f"/api/pullback/{session.id}")).text)
        await session.set_model(script)  # no network: the held run is the script's
        await session.submit("hold")
        await reached.wait()
        for _ in range(2):
            await srv.http.post(f"/api/steer/{session.id}", json={"text": f"key: {TEST_KEY}"})
        pulled = await srv.http.post(f"/api/pullback/{session.id}")
        assert pulled.json()["text"] == f"key: {MASK}"
        returned = await srv.http.post(f"/api/cancel/{session.id}")
        assert returned.json()["returned"][0]["text"] == f"key: {MASK}"
        bodies += [pulled.text, returned.text]
        assert all(TEST_KEY not in body for body in bodies)
        assert any(MASK in body for body in bodies)  # the leak was there, and was masked
        # The store itself is untouched: redaction is for what leaves the server.
        assert any(TEST_KEY in getattr(e, "text", "") for e in session.store.replay(0))


def test_redactor_masks_secret_environment_values_only() -> None:
    env = {
        "OPENAI_API_KEY": "sk-abcdefgh12345",
        "GITHUB_TOKEN": 'ghp_with"quote\\x',
        "HARNESS_DEMO_PACE": "0.00000000",
        "SHORT_TOKEN": "abc",
        "PATH": "/usr/bin:/bin",
    }
    redact = Redactor.from_environment(env)
    assert redact("k=sk-abcdefgh12345") == f"k={MASK}"
    assert redact(json.dumps({"t": 'ghp_with"quote\\x'})) == json.dumps({"t": MASK})
    assert redact("pace 0.00000000, abc, /usr/bin:/bin") == "pace 0.00000000, abc, /usr/bin:/bin"


async def test_the_mirror_url_carries_a_token_for_its_session_only() -> None:
    async with Session(model="demo") as session, mirror(session) as srv:
        assert srv.address.url.startswith(f"http://127.0.0.1:{srv.address.port}/?token=")
        async with Session(model="demo") as other:
            assert srv.address.token not in (session.id, other.id)
        listing = (await srv.http.get("/api/sessions")).json()
        assert listing["scope"] == "session"
        async with srv.socket(session.id) as ws:
            assert json.loads(await ws.recv())[0]["session_id"] == session.id
        async with srv.socket(session.id) as ws:
            await srv.http.post(f"/api/query/{session.id}", json={"text": "hi"})
            assert (await receive_until(ws, run_ended))[-1]["type"] == "RUN_COMPLETED"
