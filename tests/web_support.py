"""A real web server on a loopback port in the test's own event loop, and its clients."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import httpx2
from anyio.streams.text import TextReceiveStream
from websockets.asyncio.client import ClientConnection, connect

from harness_tui.core.events import TokenDelta
from harness_tui.core.providers.base import Provider
from harness_tui.core.providers.models import ModelChoice
from harness_tui.core.providers.offline.scripted import Reply, ScriptedProvider
from harness_tui.core.session.session import Session, SessionManager
from harness_tui.core.tools.base import Tool
from harness_tui.web import WebAddress, serve_manager, serve_session
from tests.helpers import wait_for

ROOT = Path(__file__).resolve().parent.parent


def scripted(*replies: Reply, tools: Sequence[Tool] = ()) -> Callable[[], dict[str, Any]]:
    """Session options: each new session plays ``replies`` with its own provider."""

    def options() -> dict[str, Any]:
        provider = ScriptedProvider(list(replies))
        return {
            "model": ModelChoice("scripted", "scripted", lambda: provider, 200_000),
            "tools": list(tools),
        }

    return options


@dataclass
class Served:
    address: WebAddress
    http: httpx2.AsyncClient
    manager: SessionManager | None = None

    @property
    def token(self) -> str:
        return self.address.token

    def ws_url(self, session_id: str, token: str | None = None, **query: object) -> str:
        params = {"token": token if token is not None else self.token, **query}
        text = "&".join(f"{k}={v}" for k, v in params.items())
        return f"ws://127.0.0.1:{self.address.port}/ws/{session_id}?{text}"

    async def new_session(self, **body: object) -> tuple[Session, str]:
        """A session made through the API, and its own token."""
        response = await self.http.post("/api/session", json=body)
        assert response.status_code == 201, response.text
        data = response.json()
        assert self.manager is not None
        return self.manager.get(data["session"]["id"]), data["token"]

    @asynccontextmanager
    async def socket(self, session_id: str, **query: object) -> AsyncIterator[ClientConnection]:
        async with connect(self.ws_url(session_id, **query), max_size=None) as ws:
            yield ws


def client(address: WebAddress, token: str | None = None) -> httpx2.AsyncClient:
    headers = {"Authorization": f"Bearer {token or address.token}"}
    return httpx2.AsyncClient(base_url=address.base_url, headers=headers, timeout=30)


@asynccontextmanager
async def web_server(
    options: Callable[[], dict[str, Any]] | None = None, **kwargs: Any
) -> AsyncIterator[Served]:
    """``harness-tui serve`` in this event loop: a manager, the server, an HTTP client."""
    async with SessionManager() as manager, anyio.create_task_group() as group:
        start = partial(serve_manager, manager, options=options or scripted(), **kwargs)
        address = await group.start(start)
        async with client(address) as http:
            yield Served(address, http, manager)
        group.cancel_scope.cancel()


@asynccontextmanager
async def mirror(session: Session, **kwargs: Any) -> AsyncIterator[Served]:
    """The TUI's ``--serve``: one live session mirrored."""
    async with anyio.create_task_group() as group:
        address = await group.start(partial(serve_session, session, **kwargs))
        async with client(address) as http:
            yield Served(address, http)
        group.cancel_scope.cancel()


async def receive_until(
    ws: ClientConnection, done: Callable[[dict[str, Any]], bool], timeout: float = 10
) -> list[dict[str, Any]]:
    """Every item the socket sends, up to and including the first that is ``done``."""
    items: list[dict[str, Any]] = []
    with anyio.fail_after(timeout):
        while True:
            for item in json.loads(await ws.recv()):
                items.append(item)
                if done(item):
                    return items


def run_ended(item: dict[str, Any]) -> bool:
    return item.get("type") in ("RUN_COMPLETED", "RUN_CANCELLED")


class PacedProvider(Provider):
    """A scripted provider that streams like a model over the network: ``burst`` chunks
    per read, reads at ``rate`` chunks per second (when the event loop keeps up), and
    the event loop free between reads. ``rate=None`` streams as fast as the loop can
    go, one chunk per loop turn: a worst case no real model comes near."""

    name = "scripted"

    def __init__(self, inner: ScriptedProvider, rate: float | None, burst: int = 10) -> None:
        self._inner = inner
        self.model = inner.model
        self.rate = rate
        self.burst = burst if rate else 1

    async def stream(self, request: Any) -> AsyncIterator[Any]:
        started = time.perf_counter()
        count = 0
        async for chunk in self._inner.stream(request):
            if count % self.burst == 0:
                due = started + count / self.rate if self.rate else 0
                await anyio.sleep(max(0.0, due - time.perf_counter()))  # 0: one loop turn
            count += 1
            yield chunk


def paced(
    *replies: Reply, rate: float | None, burst: int = 10, history_limit: int = 50_000
) -> Callable[[], dict[str, Any]]:
    """Session options like ``scripted``, streamed by a ``PacedProvider``, with room in
    the history for the whole run."""

    def options() -> dict[str, Any]:
        provider = PacedProvider(ScriptedProvider(list(replies)), rate, burst)
        return {
            "model": ModelChoice("scripted", "scripted", lambda: provider, 200_000),
            "tools": [],
            "history_limit": history_limit,
        }

    return options


def words(count: int) -> str:
    """A text the scripted model streams as ``count`` TOKEN_DELTA events."""
    return "".join(f"w{i} " for i in range(count))


def producer_rate(session: Session, run_id: str) -> float:
    """Events per second the run appended, from the store's own timestamps."""
    events = [e for e in session.store.replay(0) if e.run_id == run_id]
    return (len(events) - 1) / (events[-1].timestamp - events[0].timestamp)


async def run_alone(srv: Served) -> float:
    """Run the server's script in a new session that nobody watches; its event rate."""
    session, _ = await srv.new_session()
    run_id = (await srv.http.post(f"/api/query/{session.id}", json={"text": "go"})).json()
    await wait_for(session.store, lambda e: e.type == "RUN_COMPLETED", timeout=120)
    return producer_rate(session, run_id["run_id"])


async def run_watched(
    srv: Served, normal: int, stalled: int = 0, deflate: bool = False, light: bool = False
) -> tuple[float, dict[str, Any], str]:
    """Run the script in a new session watched by ``tests.web_clients`` in another
    process; the run's event rate, the clients' report and the run's full text."""
    session, _ = await srv.new_session()
    command = [
        sys.executable,
        "-m",
        "tests.web_clients",
        "--normal",
        str(normal),
        "--stalled",
        str(stalled),
        *(["--deflate"] if deflate else []),
        *(["--light"] if light else []),
        "--",  # a token may start with "-"
        srv.address.base_url,
        session.id,
        srv.token,
    ]
    async with await anyio.open_process(command, cwd=ROOT, stderr=subprocess.STDOUT) as clients:
        assert clients.stdout is not None and clients.stdin is not None
        out = ""
        output = TextReceiveStream(clients.stdout)
        with anyio.fail_after(60):
            async for chunk in output:
                out += chunk
                if out.endswith("ready\n"):
                    break
        assert out.endswith("ready\n"), out
        run_id = (await srv.http.post(f"/api/query/{session.id}", json={"text": "go"})).json()
        await wait_for(session.store, lambda e: e.type == "RUN_COMPLETED", timeout=120)
        await clients.stdin.send(b"resume\n")  # the stalled clients read on
        out = ""
        with anyio.fail_after(120):
            async for chunk in output:
                out += chunk
        assert await clients.wait() == 0, out
    text = "".join(e.text for e in session.store.replay(0) if isinstance(e, TokenDelta))
    rate = producer_rate(session, run_id["run_id"])
    return rate, json.loads(out.splitlines()[-1]), text
