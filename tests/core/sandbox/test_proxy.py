"""The host proxy: domain matching, HTTP (CONNECT and absolute-form) and SOCKS5 over its
unix sockets, against a real upstream on the host's 127.0.0.1."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import pytest

from harness_tui.core.sandbox.proxy import (
    SandboxProxy,
    allowed,
    bridge_argv,
    domain_matches,
    normalize_host,
    proxy_env,
    split_host_port,
)
from tests.core.sandbox.net_support import (
    closed_port,
    exchange,
    http_upstream,
    read_all,
    shout_upstream,
)

# --- matching (Claude Code's sandbox.network.allowedDomains, as sandbox-runtime's
# matchesDomainPattern in src/sandbox/sandbox-utils.ts) ---------------------------------


@pytest.mark.parametrize(
    ("host", "patterns", "expected"),
    [
        ("example.com", ["example.com"], True),
        ("EXAMPLE.com.", ["example.COM"], True),
        ("example.com", ["example.com."], True),
        ("api.example.com", ["example.com"], False),
        ("api.example.com", ["*.example.com"], True),
        ("a.b.example.com", ["*.example.com"], True),
        ("example.com", ["*.example.com"], False),
        ("badexample.com", ["*.example.com"], False),
        ("example.com.evil.net", ["example.com"], False),
        ("127.0.0.1", ["localhost"], False),
        ("127.0.0.1", ["127.0.0.1"], True),
        ("127.1", ["127.0.0.1"], True),
        ("0x7f.0.0.1", ["127.0.0.1"], True),
        ("127.0.0.1", ["*.0.0.1"], False),
        ("::1", ["[::1]"], True),
        ("[0:0::1]", ["::1"], True),
        ("localhost", ["localhost"], True),
        ("anything.com", [], False),
        ("anything.com", ["*"], False),
        ("bad host", ["bad host"], False),
    ],
)
def test_domain_matching(host: str, patterns: list[str], expected: bool) -> None:
    assert domain_matches(host, patterns) is expected


def test_deny_wins_over_allow() -> None:
    assert allowed("api.example.com", ["*.example.com"], [])
    assert not allowed("api.example.com", ["*.example.com"], ["api.example.com"])
    assert not allowed("x.example.com", ["x.example.com"], ["*.example.com"])
    assert not allowed("other.org", ["*.example.com"], [])


def test_host_and_target_parsing() -> None:
    assert normalize_host("[::1]") == "::1"
    assert normalize_host("Example.COM.") == "example.com"
    assert split_host_port("[::1]:443") == ("::1", 443)
    assert split_host_port("example.com:80") == ("example.com", 80)
    for bad in ("example.com", "example.com:0", "example.com:99999", ":80", "a b:80"):
        with pytest.raises(ValueError):
            split_host_port(bad)


def test_bridge_argv_and_proxy_env() -> None:
    argv = bridge_argv("/usr/bin/python3", [(3128, "/s/h"), (1080, "/s/s")], "/s/f", ["ls"])
    assert argv[:3] == ["/usr/bin/python3", "-I", "-S"] and argv[3].endswith("bridge.py")
    listens = ["--listen", "3128=/s/h", "--listen", "1080=/s/s"]
    assert argv[4:] == [*listens, "--seccomp", "/s/f", "--", "ls"]
    assert bridge_argv("py", [], None, ["a", "--", "b"])[-4:] == ["--", "a", "--", "b"]
    assert bridge_argv("py", [], None, ["a"], script="/ro/bridge.py")[:4] == [
        "py",
        "-I",
        "-S",
        "/ro/bridge.py",
    ]
    env = proxy_env(3128, 1080)
    assert env["HTTP_PROXY"] == env["https_proxy"] == "http://127.0.0.1:3128"
    assert env["ALL_PROXY"] == env["all_proxy"] == "socks5h://127.0.0.1:1080"
    assert env["NO_PROXY"] == env["no_proxy"] == "localhost,127.0.0.1,::1"


# --- the proxy over its unix sockets ------------------------------------------------------------


class Recorder:
    """A policy allowing ``localhost`` only, recording what it was asked and refused."""

    def __init__(self, allow: tuple[str, ...] = ("localhost",)) -> None:
        self.allow = allow
        self.asked: list[tuple[str, int]] = []
        self.blocked: list[tuple[str, int]] = []

    async def policy(self, host: str, port: int) -> bool:
        self.asked.append((host, port))
        return allowed(host, self.allow)

    def on_blocked(self, host: str, port: int) -> None:
        self.blocked.append((host, port))


@asynccontextmanager
async def serving(
    tmp_path: Path, rec: Recorder, **options: float
) -> AsyncIterator[tuple[str, str]]:
    proxy = SandboxProxy(rec.policy, on_blocked=rec.on_blocked, **options)
    async with proxy.serving(tmp_path) as paths:
        yield paths


async def test_connect_to_an_allowed_host_is_tunnelled(tmp_path: Path) -> None:
    rec = Recorder()
    async with http_upstream() as up, serving(tmp_path, rec) as (http, _socks):
        async with await anyio.connect_unix(http) as s:
            await s.send(b"CONNECT localhost:%d HTTP/1.1\r\nHost: x\r\n\r\n" % up.port)
            assert await s.receive() == b"HTTP/1.1 200 Connection established\r\n\r\n"
            await s.send(b"GET /tunnel HTTP/1.1\r\nHost: localhost\r\n\r\n")
            reply = await read_all(s)
    assert reply.startswith(b"HTTP/1.1 200 OK") and b"upstream: GET /tunnel" in reply
    assert rec.asked == [("localhost", up.port)] and rec.blocked == []


async def test_a_host_not_on_the_list_gets_403_and_is_reported(tmp_path: Path) -> None:
    rec = Recorder()
    async with http_upstream() as up, serving(tmp_path, rec) as (http, _socks):
        connect = await exchange(http, b"CONNECT 127.0.0.1:%d HTTP/1.1\r\n\r\n" % up.port)
        get = await exchange(http, b"GET http://127.0.0.1:%d/ HTTP/1.1\r\n\r\n" % up.port)
    for reply in (connect, get):
        head, _, body = reply.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 403 Forbidden\r\n")
        assert b"\r\nX-Proxy-Error: blocked-by-allowlist" in head
        assert b"127.0.0.1 is not on the sandbox's network allow-list" in body
        assert b"/sandbox" in body and b"Content-Length: %d" % len(body) in head
    assert rec.blocked == [("127.0.0.1", up.port)] * 2
    assert up.heads == []


async def test_absolute_form_is_rewritten_to_origin_form(tmp_path: Path) -> None:
    rec = Recorder()
    async with http_upstream() as up, serving(tmp_path, rec) as (http, _socks):
        reply = await exchange(
            http,
            b"POST http://LOCALHOST:%d/p/a?q=1 HTTP/1.1\r\nHost: evil.example\r\n"
            b"Proxy-Connection: keep-alive\r\nProxy-Authorization: Basic eA==\r\n"
            b"X-Mine: 1\r\nContent-Length: 5\r\n\r\nhello" % up.port,
        )
    assert reply.startswith(b"HTTP/1.1 200 OK") and reply.endswith(b"hello")
    assert up.heads == [
        b"POST /p/a?q=1 HTTP/1.1\r\nHost: localhost:%d\r\nX-Mine: 1\r\n"
        b"Content-Length: 5\r\nConnection: close" % up.port
    ]
    assert up.bodies == [b"hello"]


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n", b"400"),
        (b"GET https://localhost/ HTTP/1.1\r\n\r\n", b"400"),
        (b"CONNECT localhost HTTP/1.1\r\n\r\n", b"400"),
        (b"CONNECT local host:80 HTTP/1.1\r\n\r\n", b"400"),
        (b"GET http://localhost:99999/ HTTP/1.1\r\n\r\n", b"400"),
        (b"NONSENSE\r\n\r\n", b"400"),
        (b"GET http://localhost/ HTTP/1.1\r\nno colon here\r\n\r\n", b"400"),
        (b"GET http://localhost/ HTTP/1.1\r\nX: " + b"a" * 70000 + b"\r\n\r\n", b"431"),
    ],
)
async def test_bad_requests(tmp_path: Path, request_bytes: bytes, status: bytes) -> None:
    rec = Recorder()
    async with serving(tmp_path, rec) as (http, _socks):
        reply = await exchange(http, request_bytes)
    assert reply.startswith(b"HTTP/1.1 " + status)
    assert rec.asked == []


async def test_a_slow_request_head_times_out(tmp_path: Path) -> None:
    async with serving(tmp_path, Recorder(), head_timeout_s=0.2) as (http, _socks):
        async with await anyio.connect_unix(http) as s:
            await s.send(b"GET http://localhost/ HTTP/1.1\r\n")
            assert (await read_all(s)).startswith(b"HTTP/1.1 408 ")


async def test_an_unreachable_allowed_host_gets_502_with_the_reason(tmp_path: Path) -> None:
    port = closed_port()
    async with serving(tmp_path, Recorder()) as (http, _socks):
        reply = await exchange(http, b"CONNECT localhost:%d HTTP/1.1\r\n\r\n" % port)
    assert reply.startswith(b"HTTP/1.1 502 Bad Gateway\r\n")
    assert b"cannot connect to localhost:%d: Connection refused" % port in reply


async def test_the_tunnel_passes_a_half_close_on(tmp_path: Path) -> None:
    async with shout_upstream() as port, serving(tmp_path, Recorder()) as (http, _socks):
        async with await anyio.connect_unix(http) as s:
            await s.send(b"CONNECT localhost:%d HTTP/1.1\r\n\r\nearly bytes, " % port)
            await s.send(b"then more")
            await s.send_eof()
            reply = await read_all(s)
    assert reply == b"HTTP/1.1 200 Connection established\r\n\r\nEARLY BYTES, THEN MORE"


async def test_a_slow_policy_blocks_no_other_connection(tmp_path: Path) -> None:
    """The policy may ask the user: meanwhile other connections are served."""
    release = anyio.Event()

    async def policy(host: str, port: int) -> bool:
        if host == "slow.example":
            await release.wait()
            return False
        return host == "localhost"

    async with http_upstream() as up, SandboxProxy(policy).serving(tmp_path) as (http, _s):
        async with anyio.create_task_group() as tg:
            slow: list[bytes] = []

            async def ask_slow() -> None:
                slow.append(await exchange(http, b"CONNECT slow.example:443 HTTP/1.1\r\n\r\n"))

            tg.start_soon(ask_slow)
            fast = await exchange(http, b"GET http://localhost:%d/ HTTP/1.1\r\n\r\n" % up.port)
            assert fast.startswith(b"HTTP/1.1 200 OK") and slow == []
            release.set()
    assert slow[0].startswith(b"HTTP/1.1 403")


async def test_a_failing_policy_refuses(tmp_path: Path) -> None:
    async def policy(host: str, port: int) -> bool:
        raise RuntimeError("broken")

    async with SandboxProxy(policy).serving(tmp_path) as (http, _socks):
        reply = await exchange(http, b"CONNECT localhost:1 HTTP/1.1\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 403 Forbidden")


async def test_sockets_are_private_and_removed_afterwards(tmp_path: Path) -> None:
    (tmp_path / "http.sock").write_text("stale")
    async with serving(tmp_path, Recorder()) as (http, socks):
        assert os.stat(http).st_mode & 0o777 == os.stat(socks).st_mode & 0o777 == 0o600
    assert sorted(os.listdir(tmp_path)) == []


async def test_a_folder_too_long_for_unix_sockets_is_refused_clearly(tmp_path: Path) -> None:
    deep = tmp_path / ("d" * 120)
    with pytest.raises(ValueError, match="unix sockets allow 107: use a shorter folder"):
        async with SandboxProxy(Recorder().policy).serving(deep):
            pass


# --- SOCKS5 (RFC 1928), byte for byte ---------------------------------------------------------

NO_AUTH = b"\x05\x01\x00"


def socks_reply(code: int) -> bytes:
    return bytes([5, code, 0, 1, 0, 0, 0, 0, 0, 0])


def connect_domain(host: bytes, port: int, command: int = 1) -> bytes:
    return bytes([5, command, 0, 3, len(host)]) + host + port.to_bytes(2, "big")


async def test_socks_connect_by_name_is_tunnelled(tmp_path: Path) -> None:
    rec = Recorder()
    async with http_upstream() as up, serving(tmp_path, rec) as (_http, socks):
        reply = await exchange(
            socks,
            NO_AUTH + connect_domain(b"localhost", up.port) + b"GET /s HTTP/1.1\r\n\r\n",
        )
    assert reply.startswith(b"\x05\x00" + socks_reply(0))
    assert b"upstream: GET /s HTTP/1.1" in reply and rec.asked == [("localhost", up.port)]


@pytest.mark.parametrize(
    ("request_bytes", "expected", "asked"),
    [
        # IPv4 127.0.0.1 is not listed (only "localhost"): not allowed by ruleset.
        (b"\x05\x01\x00\x01\x7f\x00\x00\x01\x01\xbb", socks_reply(2), [("127.0.0.1", 443)]),
        # IPv6 ::1, normalised before the policy sees it.
        (b"\x05\x01\x00\x04" + b"\x00" * 15 + b"\x01\x00\x50", socks_reply(2), [("::1", 80)]),
        # BIND and UDP ASSOCIATE: command not supported.
        (connect_domain(b"localhost", 80, command=2), socks_reply(7), []),
        (connect_domain(b"localhost", 80, command=3), socks_reply(7), []),
        # An unknown address type.
        (b"\x05\x01\x00\x05", socks_reply(8), []),
        # A name that is no host name.
        (connect_domain(b"bad host", 80), socks_reply(4), []),
    ],
)
async def test_socks_refusals(
    tmp_path: Path, request_bytes: bytes, expected: bytes, asked: list[tuple[str, int]]
) -> None:
    rec = Recorder()
    async with serving(tmp_path, rec) as (_http, socks):
        reply = await exchange(socks, NO_AUTH + request_bytes)
    assert reply == b"\x05\x00" + expected
    assert rec.asked == asked and rec.blocked == asked


async def test_socks_without_the_no_auth_method_gets_ff(tmp_path: Path) -> None:
    async with serving(tmp_path, Recorder()) as (_http, socks):
        assert await exchange(socks, b"\x05\x02\x01\x02") == b"\x05\xff"
        assert await exchange(socks, b"\x04\x01\x00\x50\x7f\x00\x00\x01\x00") == b""


async def test_socks_to_a_closed_port_is_connection_refused(tmp_path: Path) -> None:
    port = closed_port()
    async with serving(tmp_path, Recorder()) as (_http, socks):
        reply = await exchange(socks, NO_AUTH + connect_domain(b"localhost", port))
    assert reply == b"\x05\x00" + socks_reply(5)
