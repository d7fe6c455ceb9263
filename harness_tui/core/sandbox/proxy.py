"""The host side of the sandbox's network: an HTTP and a SOCKS5 proxy on unix sockets that
lets a connection through only when the policy allows its host.

The sandbox has no network of its own (bubblewrap's ``--unshare-net``); the bridge inside
it (``bridge.py``) forwards its loopback ports to the two unix sockets served here, and
the command's ``HTTP_PROXY``/``ALL_PROXY`` point at those ports (``netenv.proxy_env``).

Use::

    proxy = SandboxProxy(policy, on_blocked=report)
    async with proxy.serving(folder) as (http_path, socks_path):
        ...  # run sandboxed commands; leaving the block stops the proxy

``policy(host, port)`` decides each connection (it may ask the user, so it may take a
while: it is awaited, never blocking the loop); ``host`` is normalised (lower case, no
trailing dot, no brackets, IPv4 shorthand like ``127.1`` spelled out). A refused
connection calls ``on_blocked(host, port)`` (sync or async) and answers like Claude
Code's sandbox-runtime (anthropic-experimental/sandbox-runtime, src/sandbox/http-proxy.ts):
``403 Forbidden`` with ``X-Proxy-Error: blocked-by-allowlist``; SOCKS5 replies 0x02
("connection not allowed by ruleset", RFC 1928 section 6).

HTTP: ``CONNECT host:port`` (then the bytes are spliced both ways), and absolute-form
requests (``GET http://host/path HTTP/1.1``), rewritten to origin-form with ``Host`` set
from the URL and ``Connection: close``: ONE request per client connection (a keep-alive
client opens a new connection for the next). ``https://`` absolute-form is refused (400):
clients use CONNECT for it. Request heads are bounded (64 KiB) and timed.
SOCKS5 (RFC 1928): no-auth only, CONNECT only, IPv4/domain/IPv6 addresses.
"""

from __future__ import annotations

import errno
import inspect
import ipaddress
import logging
import os
import re
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit

import anyio
from anyio.abc import ByteReceiveStream, ByteStream, SocketStream
from anyio.streams.buffered import BufferedByteReceiveStream

# What the caller composes the sandboxed command with, importable from here too.
from harness_tui.core.sandbox.netenv import bridge_argv as bridge_argv
from harness_tui.core.sandbox.netenv import proxy_env as proxy_env

log = logging.getLogger(__name__)

Policy = Callable[[str, int], Awaitable[bool]]
OnBlocked = Callable[[str, int], object]

MAX_HEAD = 64 * 1024
HEAD_TIMEOUT_S = 10.0
CONNECT_TIMEOUT_S = 10.0
#: When the proxy stops, how long connections may take to end on their own.
SHUTDOWN_GRACE_S = 0.2
CHUNK = 65536
#: sun_path is 108 bytes with its terminating NUL (unix(7)).
MAX_UNIX_PATH = 107
HTTP_SOCKET = "http.sock"
SOCKS_SOCKET = "socks.sock"
_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authorization",
    "proxy-authenticate",
    "te",
    "trailer",
    "upgrade",
    "host",
}
_HOSTNAME = re.compile(r"[a-z0-9_]([a-z0-9_-]{0,62}\.?)*")

# SOCKS5 reply codes (RFC 1928 section 6).
SOCKS_OK = 0x00
SOCKS_FAILURE = 0x01
SOCKS_NOT_ALLOWED = 0x02
SOCKS_NET_UNREACHABLE = 0x03
SOCKS_HOST_UNREACHABLE = 0x04
SOCKS_REFUSED = 0x05
SOCKS_COMMAND_UNSUPPORTED = 0x07
SOCKS_ADDRESS_UNSUPPORTED = 0x08


# --- hosts and patterns ---------------------------------------------------------------------


def normalize_host(host: str) -> str:
    """Lower case, no brackets, no trailing dot; an IP literal in its canonical spelling
    (``127.1`` and ``0x7f.0.0.1`` are ``127.0.0.1``: the resolver would read them so).
    Raises ``ValueError`` for something that is neither an IP nor a host name."""
    h = host.strip().lower()
    if h.startswith("[") and h.endswith("]"):
        h = h[1:-1]
    if h.endswith(".") and not h.endswith(".."):
        h = h[:-1]
    ip = _ip(h)
    if ip is not None:
        return str(ip)
    if not h or len(h) > 253 or not _HOSTNAME.fullmatch(h) or ".." in h:
        raise ValueError(f"not a host name: {host!r}")
    return h


def _ip(h: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(h)
    except ValueError:
        pass
    last = h.rsplit(".", 1)[-1]
    if last.isdigit() or last.startswith("0x"):  # inet_aton's shorthands: 127.1, 0x7f.1
        try:
            return ipaddress.IPv4Address(socket.inet_aton(h))
        except OSError:
            return None
    return None


def domain_matches(host: str, patterns: Iterable[str]) -> bool:
    """Whether ``host`` matches one of ``patterns``, as Claude Code's
    ``sandbox.network.allowedDomains`` (sandbox-runtime's ``matchesDomainPattern``,
    src/sandbox/sandbox-utils.ts): case-insensitive, a trailing dot ignored;
    ``*.example.com`` matches its subdomains but not ``example.com`` itself; a plain
    ``example.com`` only itself; an IP literal only when listed literally (a wildcard
    never matches an IP)."""
    try:
        h = normalize_host(host)
    except ValueError:
        return False
    ip = _ip(h)
    for pattern in patterns:
        p = pattern.strip().lower().rstrip(".")
        if p.startswith("[") and p.endswith("]"):
            p = p[1:-1]
        if ip is not None:
            if _ip(p) == ip:
                return True
        elif p.startswith("*."):
            if len(p) > 2 and h.endswith(p[1:]):
                return True
        elif p == h:
            return True
    return False


def allowed(host: str, allowed: Iterable[str], denied: Iterable[str] = ()) -> bool:
    """On the allow-list and not on the deny-list (deny wins)."""
    return domain_matches(host, allowed) and not domain_matches(host, denied)


def split_host_port(target: str) -> tuple[str, int]:
    """``host:port`` or ``[v6]:port`` → (normalised host, port). Raises ``ValueError``."""
    if target.startswith("["):
        host, sep, port = target[1:].partition("]:")
    else:
        host, sep, port = target.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"want host:port, got {target!r}")
    return normalize_host(host), int(port)


# --- the proxy -------------------------------------------------------------------------------


class SandboxProxy:
    """HTTP (CONNECT and absolute-form) and SOCKS5 on two unix sockets; every connection
    asks ``policy(host, port)``. See the module's docstring."""

    def __init__(
        self,
        policy: Policy,
        on_blocked: OnBlocked | None = None,
        *,
        head_timeout_s: float = HEAD_TIMEOUT_S,
        connect_timeout_s: float = CONNECT_TIMEOUT_S,
    ) -> None:
        self.policy = policy
        self.on_blocked = on_blocked
        self.head_timeout_s = head_timeout_s
        self.connect_timeout_s = connect_timeout_s

    @asynccontextmanager
    async def serving(self, folder: str | os.PathLike[str]) -> AsyncIterator[tuple[str, str]]:
        """Listen on ``folder/http.sock`` and ``folder/socks.sock`` (mode 0600, stale
        ones replaced) until the block ends; yields their paths. Raises ``ValueError`` when
        the folder's path is too long for a unix socket."""
        paths = [Path(folder) / HTTP_SOCKET, Path(folder) / SOCKS_SOCKET]
        for path in paths:
            if len(os.fsencode(path)) > MAX_UNIX_PATH:
                raise ValueError(
                    f"sandbox proxy socket path {str(path)!r} is {len(os.fsencode(path))} bytes; "
                    f"unix sockets allow {MAX_UNIX_PATH}: use a shorter folder"
                )
            path.unlink(missing_ok=True)
        conns = _Connections()
        try:
            async with anyio.create_task_group() as conns.group:
                async with anyio.create_task_group() as accepting:
                    for path, handler in zip(paths, (self._http, self._socks), strict=True):
                        listener = await anyio.create_unix_listener(path, mode=0o600)
                        await accepting.start(_serve, listener, conns, handler)
                    yield str(paths[0]), str(paths[1])
                    accepting.cancel_scope.cancel()
                # Connections about to end (their client closed) end on their own: a
                # cancelled receive on a unix socket can race its readiness in anyio.
                with anyio.move_on_after(SHUTDOWN_GRACE_S):
                    await conns.idle()
                conns.group.cancel_scope.cancel()
        finally:
            for path in paths:
                path.unlink(missing_ok=True)

    async def _decide(self, host: str, port: int) -> bool:
        try:
            ok = bool(await self.policy(host, port))
        except Exception:
            log.exception("sandbox network policy failed for %s:%s; refused", host, port)
            ok = False
        if not ok and self.on_blocked is not None:
            try:
                result = self.on_blocked(host, port)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception("on_blocked failed for %s:%s", host, port)
        return ok

    async def _connect(self, host: str, port: int) -> SocketStream:
        with anyio.fail_after(self.connect_timeout_s):
            return await anyio.connect_tcp(host, port)

    # --- HTTP ------------------------------------------------------------------------------

    async def _http(self, client: SocketStream) -> None:
        reader = BufferedByteReceiveStream(client)
        try:
            with anyio.fail_after(self.head_timeout_s):
                head = await reader.receive_until(b"\r\n\r\n", MAX_HEAD)
        except TimeoutError:
            return await _respond(
                client, 408, "Request Timeout", "request head not received in time"
            )
        except anyio.DelimiterNotFound:
            return await _respond(
                client, 431, "Request Header Fields Too Large", "request head over 64 KiB"
            )
        except anyio.IncompleteRead:
            return
        try:
            method, target, version, headers = _parse_head(head)
            if method == "CONNECT":
                host, port = split_host_port(target)
                first = b""
            else:
                host, port, first = _origin_form(method, target, version, headers)
        except ValueError as err:
            return await _respond(client, 400, "Bad Request", str(err))
        if not await self._decide(host, port):
            return await _respond(
                client,
                403,
                "Forbidden",
                f"harness-tui sandbox: {host} is not on the sandbox's network allow-list, "
                "so the connection was refused. The user can allow it with /sandbox.",
                blocked=True,
            )
        try:
            upstream = await self._connect(host, port)
        except (OSError, TimeoutError) as err:
            return await _respond(
                client, 502, "Bad Gateway", f"cannot connect to {host}:{port}: {_reason(err)}"
            )
        async with upstream:
            if method == "CONNECT":
                await client.send(b"HTTP/1.1 200 Connection established\r\n\r\n")
            else:
                await upstream.send(first)
            await _splice(reader, client, upstream)

    # --- SOCKS5 ----------------------------------------------------------------------------

    async def _socks(self, client: SocketStream) -> None:
        reader = BufferedByteReceiveStream(client)
        try:
            with anyio.fail_after(self.head_timeout_s):
                request = await _socks_request(reader, client)
        except (TimeoutError, anyio.IncompleteRead):
            return
        if request is None:
            return
        if isinstance(request, int):
            return await client.send(_socks_reply(request))
        host, port = request
        if not await self._decide(host, port):
            return await client.send(_socks_reply(SOCKS_NOT_ALLOWED))
        try:
            upstream = await self._connect(host, port)
        except (OSError, TimeoutError) as err:
            return await client.send(_socks_reply(_socks_code(err)))
        async with upstream:
            await client.send(_socks_reply(SOCKS_OK))
            await _splice(reader, client, upstream)


async def _socks_request(
    reader: BufferedByteReceiveStream, client: SocketStream
) -> tuple[str, int] | int | None:
    """The method negotiation and the request: (host, port), or a reply code to refuse
    with; ``None`` when the client gets no reply (not SOCKS5, or no acceptable method:
    it got 0xFF)."""
    version, count = await reader.receive_exactly(2)
    if version != 5:
        return None
    if 0x00 not in await reader.receive_exactly(count):
        await client.send(b"\x05\xff")
        return None
    await client.send(b"\x05\x00")
    version, command, _reserved, kind = await reader.receive_exactly(4)
    if version != 5:
        return None
    if kind == 1:
        raw = str(ipaddress.IPv4Address(await reader.receive_exactly(4)))
    elif kind == 4:
        raw = str(ipaddress.IPv6Address(await reader.receive_exactly(16)))
    elif kind == 3:
        length = (await reader.receive_exactly(1))[0]
        raw = (await reader.receive_exactly(length)).decode("latin-1")
    else:
        return SOCKS_ADDRESS_UNSUPPORTED
    port = int.from_bytes(await reader.receive_exactly(2), "big")
    if command != 1:
        return SOCKS_COMMAND_UNSUPPORTED
    try:
        return normalize_host(raw), port
    except ValueError:
        return SOCKS_HOST_UNREACHABLE


def _socks_reply(code: int) -> bytes:
    return bytes([5, code, 0, 1, 0, 0, 0, 0, 0, 0])


def _errno_of(err: BaseException) -> int | None:
    """The errno, also under anyio's "All connection attempts failed" (its cause)."""
    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno:
            return seen.errno
        group = getattr(seen, "exceptions", None)
        seen = group[0] if group else seen.__cause__
    return None


def _socks_code(err: BaseException) -> int:
    if isinstance(err, TimeoutError) or isinstance(err, socket.gaierror):
        return SOCKS_HOST_UNREACHABLE
    code = _errno_of(err)
    return {
        errno.ENETUNREACH: SOCKS_NET_UNREACHABLE,
        errno.EHOSTUNREACH: SOCKS_HOST_UNREACHABLE,
        errno.ECONNREFUSED: SOCKS_REFUSED,
        errno.ETIMEDOUT: SOCKS_HOST_UNREACHABLE,
    }.get(code or 0, SOCKS_FAILURE)


def _reason(err: BaseException) -> str:
    if isinstance(err, TimeoutError):
        return "timed out"
    code = _errno_of(err)
    if isinstance(err, socket.gaierror):
        return f"name not resolved ({err.strerror})"
    return os.strerror(code) if code else str(err) or type(err).__name__


# --- HTTP parsing and plumbing ----------------------------------------------------------------


def _parse_head(head: bytes) -> tuple[str, str, str, list[tuple[str, str]]]:
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise ValueError(f"bad request line {lines[0][:200]!r}")
    headers = []
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise ValueError(f"bad header line {line[:200]!r}")
        headers.append((name, value.strip()))
    return parts[0], parts[1], parts[2], headers


def _origin_form(
    method: str, target: str, version: str, headers: list[tuple[str, str]]
) -> tuple[str, int, bytes]:
    """An absolute-form request → (host, port, the head to send upstream)."""
    url = urlsplit(target)
    if url.scheme != "http" or not url.hostname:
        raise ValueError(
            f"this is a proxy: send absolute-form http:// requests or CONNECT, not {target[:200]!r}"
        )
    host = normalize_host(url.hostname)
    port = url.port or 80  # raises ValueError for a bad port
    path = (url.path or "/") + (f"?{url.query}" if url.query else "")
    netloc = f"[{host}]" if ":" in host else host
    lines = [f"{method} {path} {version}", f"Host: {netloc}" + (f":{port}" if url.port else "")]
    lines += [f"{k}: {v}" for k, v in headers if k.lower() not in _HOP_BY_HOP]
    lines += ["Connection: close", "", ""]
    return host, port, "\r\n".join(lines).encode("latin-1")


async def _respond(
    client: ByteStream, status: int, phrase: str, text: str, *, blocked: bool = False
) -> None:
    body = (text + "\n").encode()
    extra = "X-Proxy-Error: blocked-by-allowlist\r\n" if blocked else ""
    head = (
        f"HTTP/1.1 {status} {phrase}\r\nContent-Type: text/plain; charset=utf-8\r\n{extra}"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    try:
        await client.send(head.encode() + body)
    except (anyio.BrokenResourceError, anyio.ClosedResourceError):
        pass


async def _splice(reader: ByteReceiveStream, client: ByteStream, upstream: ByteStream) -> None:
    """Both ways until both ends are done; a half-close is passed on; an error on either
    side ends both."""
    async with anyio.create_task_group() as tg:

        async def copy(src: ByteReceiveStream, dst: ByteStream) -> None:
            try:
                while True:
                    try:
                        data = await src.receive(CHUNK)
                    except anyio.EndOfStream:
                        break
                    await dst.send(data)
                await dst.send_eof()
            except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
                tg.cancel_scope.cancel()

        tg.start_soon(copy, reader, upstream)
        tg.start_soon(copy, upstream, client)


class _Connections:
    """The open client connections: their task group and how many are running."""

    group: anyio.abc.TaskGroup

    def __init__(self) -> None:
        self.count = 0
        self._idle = anyio.Event()
        self._idle.set()

    async def idle(self) -> None:
        await self._idle.wait()

    async def run(
        self, handler: Callable[[SocketStream], Awaitable[None]], client: SocketStream
    ) -> None:
        self.count += 1
        if self._idle.is_set():
            self._idle = anyio.Event()
        try:
            async with client:
                await handler(client)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError, anyio.EndOfStream):
            pass
        except Exception:
            log.exception("sandbox proxy connection failed")
        finally:
            self.count -= 1
            if not self.count:
                self._idle.set()


async def _serve(
    listener: anyio.abc.SocketListener,
    conns: _Connections,
    handler: Callable[[SocketStream], Awaitable[None]],
    *,
    task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
) -> None:
    async with listener:
        task_status.started()
        while True:
            client = await listener.accept()
            conns.group.start_soon(conns.run, handler, client)
