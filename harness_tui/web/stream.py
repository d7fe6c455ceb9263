"""``WS /ws/{session_id}``: a session's events, live, to one browser.

Each frame is a JSON array: events (as the store holds them, in seq order) and, where
the browser fell too far behind, a ``STREAM_GAP`` marker naming the seq range to fetch
from ``GET /api/session/{id}/events``. The stream starts with the retained events after
``?since=SEQ`` (default 0: everything). With ``?encoding=deflate`` the arrays come as
binary frames of zlib-compressed JSON (``DecompressionStream("deflate")`` in a browser):
about 18 times fewer bytes, compressed once for all browsers. The browser may send
``{"type": "ping"}`` and gets ``[{"type": "PONG"}]``; anything else earns a
``PROTOCOL_ERROR`` item, and the stream goes on. When the session ends the socket
closes with code 1000; when the server stops, with 1001 (the page then retries).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from contextlib import aclosing

import anyio
from starlette.websockets import WebSocket, WebSocketDisconnect

from harness_tui.web.feed import SessionFeed

Send = Callable[[str | bytes], Awaitable[None]]

#: A client that keeps sending things it should not is cut off after this many.
MAX_BAD_MESSAGES = 20
PONG = '[{"type":"PONG"}]'


async def stream_session(
    websocket: WebSocket, feed: SessionFeed, since: int, deflate: bool = False
) -> None:
    """Accept the socket and stream until either side ends."""
    await websocket.accept()
    # Pings are answered from the listening task; the lock keeps frames whole. Fast
    # acquire: the pump, alone on it nearly always, takes it without a loop turn.
    send_lock = anyio.Lock(fast_acquire=True)

    async def send(data: str | bytes) -> None:
        async with send_lock:
            if isinstance(data, bytes):
                await websocket.send_bytes(data)
            else:
                await websocket.send_text(data)

    async with anyio.create_task_group() as group:

        async def pump_then_close() -> None:
            try:
                await _pump(feed, since, deflate, send)
                code, reason = (
                    (1001, "the server is stopping")
                    if feed.stopping
                    else (1000, "the session ended")
                )
                with anyio.CancelScope(shield=True), anyio.move_on_after(1):
                    await websocket.close(code=code, reason=reason)
            except (WebSocketDisconnect, RuntimeError, OSError):
                pass  # the browser went away while we were sending
            group.cancel_scope.cancel()

        async def listen_then_stop() -> None:
            await _listen(websocket, send)
            group.cancel_scope.cancel()

        group.start_soon(pump_then_close)
        group.start_soon(listen_then_stop)


async def _pump(feed: SessionFeed, cursor: int, deflate: bool, send: Send) -> None:
    async with aclosing(feed.frames(cursor, deflate)) as frames:
        async for frame in frames:
            await send(frame)


async def _listen(websocket: WebSocket, send: Send) -> None:
    bad = 0
    while True:
        try:
            message = await websocket.receive()
        except (WebSocketDisconnect, RuntimeError):
            return
        if message["type"] == "websocket.disconnect":
            return
        problem = _check_client_message(message.get("text"), message.get("bytes"))
        try:
            if problem is None:
                await send(PONG)
                continue
            bad += 1
            await send(json.dumps([{"type": "PROTOCOL_ERROR", "message": problem}]))
            if bad >= MAX_BAD_MESSAGES:
                await websocket.close(code=1008, reason="too many invalid messages")
                return
        except (WebSocketDisconnect, RuntimeError, OSError):
            return


def _check_client_message(text: str | None, data: bytes | None) -> str | None:
    """None for a valid ping, else what is wrong with the message."""
    if text is None:
        return 'binary frames are not understood; send JSON text such as {"type": "ping"}'
    try:
        decoded = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: thousands of nested brackets
        return 'the message is not JSON; this socket only understands {"type": "ping"}'
    if not isinstance(decoded, dict) or decoded.get("type") != "ping":
        return (
            'unknown message; this socket only understands {"type": "ping"} '
            "(send commands with POST /api/query, /api/steer, /api/cancel)"
        )
    return None
