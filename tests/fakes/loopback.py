"""A real HTTP/1.1 server on 127.0.0.1 (port 0) in a thread, for fake provider APIs.

The SDKs under test talk to it over real sockets, so what they see is what a real API
would send: status lines, headers, chunked Server-Sent Events, keep-alive — and the
faults a network produces: a reset connection, a response that ends early, a stall.
``h11`` (already a dependency of the HTTP stack) does the HTTP framing.

A subclass implements ``handle(request)`` and returns a ``JSONResponse`` or an
``SSEResponse`` whose body is a list of ``Action``s.
"""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import struct
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import h11


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    #: The number of the TCP connection it came on (1 for the first accepted).
    connection: int = 0
    #: ``time.time()`` when its first byte was read.
    arrived: float = 0.0

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class JSONResponse:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Stall:
    """Send nothing for this long (the client's read timeout should fire first)."""

    seconds: float


@dataclass(frozen=True)
class Reset:
    """Abort the TCP connection (RST), as a crashed proxy or a dropped link would."""


@dataclass(frozen=True)
class End:
    """End the HTTP response cleanly here, whatever the protocol had still to say."""


Action = bytes | Stall | Reset | End


@dataclass(frozen=True)
class SSEResponse:
    actions: Iterable[Action]
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


Response = JSONResponse | SSEResponse


class LoopbackServer:
    """Start with ``with Server() as server:`` (or ``start()``/``stop()``); ``url`` is
    ``http://127.0.0.1:PORT`` (``https://`` when a ``tls`` context is given)."""

    #: Serve TLS with this server context (set before ``start()``).
    tls: ssl.SSLContext | None = None

    def __init__(self) -> None:
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.AbstractServer | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._failure: BaseException | None = None
        #: TCP connections accepted so far (a client that reuses its connection opens one).
        self.connections = 0
        #: Every request read, whatever the subclass made of it: (method, path,
        #: connection number, time.time() of its first byte).
        self.arrivals: list[tuple[str, str, int, float]] = []

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    async def handle(self, request: Request) -> Response:
        raise NotImplementedError

    # --- lifecycle ----------------------------------------------------------------------

    def start(self) -> LoopbackServer:
        self._thread = threading.Thread(target=self._run, name=type(self).__name__, daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the loopback server did not start")
        if self._failure is not None:
            raise RuntimeError("the loopback server failed to start") from self._failure
        return self

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        loop.call_soon_threadsafe(lambda: asyncio.ensure_future(self._shutdown()))
        thread.join(10)
        self._loop = self._thread = None

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            self._server = loop.run_until_complete(
                asyncio.start_server(self._connection, "127.0.0.1", 0, ssl=self.tls)
            )
            self.port = self._server.sockets[0].getsockname()[1]
        except BaseException as exc:
            self._failure = exc
            self._ready.set()
            return
        self._ready.set()
        loop.run_forever()
        loop.close()

    async def _shutdown(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        asyncio.get_running_loop().stop()

    # --- HTTP ---------------------------------------------------------------------------

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections += 1
        try:
            await self._serve(reader, writer, self.connections)
        except (ConnectionError, asyncio.IncompleteReadError, h11.ProtocolError):
            pass  # the client went away: normal after a timeout or a cancel
        except asyncio.CancelledError:
            pass  # the server is stopping
        finally:
            self._tasks.discard(task)
            if not writer.is_closing():
                writer.close()

    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, number: int
    ) -> None:
        conn = h11.Connection(h11.SERVER)
        while True:
            request = await _read_request(conn, reader, number)
            if request is None:
                return
            self.arrivals.append((request.method, request.path, number, request.arrived))
            response = await self.handle(request)
            if not await self._send(conn, writer, response, head=request.method == "HEAD"):
                return
            if conn.our_state is h11.MUST_CLOSE or conn.their_state is h11.MUST_CLOSE:
                return
            conn.start_next_cycle()

    async def _send(
        self,
        conn: h11.Connection,
        writer: asyncio.StreamWriter,
        response: Response,
        *,
        head: bool = False,
    ) -> bool:
        """Write the response (no body for a HEAD: h11 refuses one); False when the
        connection must not be reused."""
        if isinstance(response, JSONResponse):
            body = json.dumps(response.body).encode()
            headers = {
                "content-type": "application/json",
                "content-length": str(len(body)),
                **response.headers,
            }
            writer.write(conn.send(h11.Response(status_code=response.status, headers=_h(headers))))
            if not head:
                writer.write(conn.send(h11.Data(data=body)))
            writer.write(conn.send(h11.EndOfMessage()))
            await writer.drain()
            return True
        headers = {
            "content-type": "text/event-stream",
            "cache-control": "no-cache",
            "transfer-encoding": "chunked",
            **response.headers,
        }
        writer.write(conn.send(h11.Response(status_code=response.status, headers=_h(headers))))
        for action in response.actions:
            if isinstance(action, bytes):
                writer.write(conn.send(h11.Data(data=action)))
                await writer.drain()
            elif isinstance(action, Stall):
                await writer.drain()
                await asyncio.sleep(action.seconds)
            elif isinstance(action, Reset):
                await writer.drain()
                _reset(writer)
                return False
            elif isinstance(action, End):
                break
        writer.write(conn.send(h11.EndOfMessage()))
        await writer.drain()
        return True


async def _read_request(
    conn: h11.Connection, reader: asyncio.StreamReader, number: int = 0
) -> Request | None:
    head: h11.Request | None = None
    body = bytearray()
    arrived = 0.0
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            # b"" at end of file: h11 then reports ConnectionClosed or a protocol error.
            data = await reader.read(65536)
            if not arrived:
                arrived = time.time()
            conn.receive_data(data)
            continue
        if isinstance(event, h11.Request):
            head = event
        elif isinstance(event, h11.Data):
            body += event.data
        elif isinstance(event, h11.EndOfMessage):
            assert head is not None
            headers = {k.decode().lower(): v.decode() for k, v in head.headers}
            return Request(
                head.method.decode(),
                head.target.decode(),
                headers,
                bytes(body),
                number,
                arrived or time.time(),
            )
        elif isinstance(event, h11.ConnectionClosed):
            return None


def _h(headers: dict[str, str]) -> list[tuple[str, str]]:
    return list(headers.items())


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with RST rather than FIN: SO_LINGER on, zero timeout."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()
