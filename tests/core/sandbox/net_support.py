"""Loopback servers for the sandbox network tests: an HTTP upstream that records what it
got, and a TCP echo that answers after the client's half-close."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import anyio
from anyio.abc import SocketStream
from anyio.streams.buffered import BufferedByteReceiveStream


@dataclass
class Upstream:
    """What the loopback server saw: one request head per connection."""

    port: int
    heads: list[bytes] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)


async def _http(client: SocketStream, seen: Upstream) -> None:
    async with client:
        reader = BufferedByteReceiveStream(client)
        try:
            head = await reader.receive_until(b"\r\n\r\n", 65536)
        except (anyio.IncompleteRead, anyio.EndOfStream, anyio.BrokenResourceError):
            return
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        body = await reader.receive_exactly(length) if length else b""
        seen.heads.append(head)
        seen.bodies.append(body)
        answer = b"hello from upstream: " + head.split(b"\r\n")[0] + b"\n" + body
        await client.send(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(answer), answer)
        )


@asynccontextmanager
async def http_upstream() -> AsyncIterator[Upstream]:
    """An HTTP server on the host's 127.0.0.1 (any port) answering every request."""
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    seen = Upstream(port=listener.extra(anyio.abc.SocketAttribute.local_port))
    async with listener, anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, lambda c: _http(c, seen))
        yield seen
        tg.cancel_scope.cancel()


async def _shout(client: SocketStream) -> None:
    async with client:
        data = b""
        while True:
            try:
                data += await client.receive()
            except (anyio.EndOfStream, anyio.BrokenResourceError):
                break
        await client.send(data.upper())


@asynccontextmanager
async def shout_upstream() -> AsyncIterator[int]:
    """A TCP server that reads until EOF, then sends back what it got in upper case:
    it answers only if the half-close reached it."""
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    async with listener, anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, _shout)
        yield listener.extra(anyio.abc.SocketAttribute.local_port)
        tg.cancel_scope.cancel()


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then closed)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def exchange(path: str, data: bytes, *, eof: bool = False) -> bytes:
    """Send ``data`` to the unix socket at ``path`` (then half-close if ``eof``) and
    read until the other side closes."""
    async with await anyio.connect_unix(path) as stream:
        await stream.send(data)
        if eof:
            await stream.send_eof()
        return await read_all(stream)


async def read_all(stream: anyio.abc.ByteReceiveStream) -> bytes:
    out = b""
    while True:
        try:
            out += await stream.receive()
        except (anyio.EndOfStream, anyio.BrokenResourceError):
            return out
