"""The sandbox's network in a whole session (real bubblewrap, the proxy on the host,
curl inside): an allowed host answers through the proxy (plain HTTP, a CONNECT tunnel
and SOCKS5), another is refused and the model told, nothing goes around the proxy, and
a host the user allows when asked goes through.

The host's test server listens on 127.0.0.1; inside the sandbox 127.0.0.1 is the
sandbox's own loopback, so only the proxy can reach the server. The commands clear
``NO_PROXY`` (which names localhost) so that curl uses the proxy for it."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness_tui.core.providers.offline.scripted import Text, ToolCall, reply
from tests.helpers import run_to_end, scripted_in, wait_for
from tests.sandbox_support import sandbox_scratch, turn_on

CURL = "NO_PROXY= no_proxy= curl -s -S --max-time 10"


class _Hello(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"hello from the host\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        return None


@pytest.fixture
def port() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture
def ws() -> Iterator[Path]:
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed (.ci/run installs it): the network tests use it")
    with sandbox_scratch("sbx-net-") as top:
        yield top / "ws"


def bash(command: str) -> Any:
    return reply(ToolCall("Bash", {"command": command}))


def results(events: list[Any]) -> list[Any]:
    return [e for e in events if e.type in ("TOOL_CALL_COMPLETED", "TOOL_CALL_FAILED")]


def text_of(result: Any) -> str:
    return result.content if result.type == "TOOL_CALL_COMPLETED" else result.error


async def test_only_allowed_hosts_answer(ws: Path, port: int) -> None:
    turn_on(ws, {"network": {"allowedDomains": ["localhost"]}})
    url = f"http://localhost:{port}/"
    script = [
        bash(f"{CURL} {url}"),
        bash(f"{CURL} --proxytunnel {url}"),
        bash(f"env -u http_proxy -u HTTP_PROXY {CURL} {url}"),  # ALL_PROXY: SOCKS5
        bash(f"{CURL} -o /dev/null -w '%{{http_code}}' http://127.0.0.1:{port}/"),
        bash(f"{CURL} --noproxy '*' {url}"),
        reply(Text("ok")),
    ]
    session, _ = scripted_in(ws, script, ask_policy="deny", trusted=True)
    async with session:
        events = await run_to_end(session, "go", timeout=60)
    plain, tunnel, socks, refused, direct = results(events)
    for how, result in (("http", plain), ("connect", tunnel), ("socks5", socks)):
        assert text_of(result).strip() == "hello from the host", how
    assert text_of(refused).startswith("403")
    assert f"blocked network connections to 127.0.0.1:{port}" in text_of(refused)
    assert direct.type == "TOOL_CALL_FAILED"  # nothing listens on the sandbox's own loopback
    assert "hello" not in text_of(direct)
    blocked = [e for e in events if e.type == "SANDBOX_BLOCKED"]
    assert [(b.kind, b.target, b.tool_call_id) for b in blocked] == [
        ("network", f"127.0.0.1:{port}", refused.tool_call_id)
    ]


async def test_a_host_the_user_allows_goes_through(ws: Path, port: int) -> None:
    turn_on(ws, {})
    command = f"{CURL} http://localhost:{port}/"
    script = [bash(command), bash(command), reply(Text("ok"))]
    session, _ = scripted_in(ws, script, ask_policy="ask", trusted=True)
    async with session:
        await session.submit("go")
        asked = await wait_for(session.store, lambda e: e.type == "PERMISSION_REQUESTED", 30)
        assert asked.input == {"host": "localhost", "port": port}
        assert asked.rule == "WebFetch(domain:localhost)"
        await session.resolve_permission(asked.request_id, "allow_always")
        end = await wait_for(session.store, lambda e: e.type == "RUN_COMPLETED", 60)
        events = [e for e in session.store.replay(0) if e.run_id == end.run_id]
        status = session.sandbox_status()
    first, second = results(events)
    assert text_of(first).strip() == text_of(second).strip() == "hello from the host"
    assert len([e for e in events if e.type == "PERMISSION_REQUESTED"]) == 1
    assert "localhost" in status.allowed_domains
    saved = yaml.safe_load((ws / ".harness" / "settings.local.yaml").read_text())
    assert saved["permissions"]["allow"] == ["WebFetch(domain:localhost)"]
