"""The reference "everything" server (npm ``@modelcontextprotocol/server-everything``)
over stdio, streamable HTTP and SSE: every tool it offers is called through a session
(the model's tool calls, the executor, the MCP tool), with the server's questions
(sampling, elicitation, URL elicitation) answered as a user would, and its task tool
(``simulate-research-query``, ``execution.taskSupport: required``) run as a task that
asks for input halfway."""

from __future__ import annotations

import base64
import itertools
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest

from harness_tui.core.events import Event
from harness_tui.core.providers.base import ModelRequest
from harness_tui.core.providers.offline.scripted import Reply, Text, ToolCall, reply
from harness_tui.core.session.session import Session
from tests.core.mcp.test_mcp_stdio import mcp_session, server_status
from tests.helpers import wait_for
from tests.node_parts import node_env, node_program

SERVER = "everything"
SAMPLING_SYSTEM = "You are a helpful test server."
GZIP_INPUT = b"hello, gzip\n" * 4
ASKING = 'Found multiple interpretations for "python". Requesting clarification...'
#: The task's status messages in order (polling sees those current at each poll).
RESEARCH_STATUSES = [
    "Gathering sources...",
    "Analyzing content...",
    "Synthesizing findings...",
    ASKING,
    'Continuing with interpretation: "programming"...',
    "Generating report...",
]

#: Simple valid arguments for every tool the server offers (from its tools/list).
ARGUMENTS: dict[str, dict[str, Any]] = {
    "echo": {"message": "hello"},
    "get-annotated-message": {"messageType": "success", "includeImage": True},
    "get-env": {},
    "get-resource-links": {"count": 2},
    "get-resource-reference": {"resourceType": "Text", "resourceId": 1},
    "get-structured-content": {"location": "Chicago"},
    "get-sum": {"a": 2, "b": 3},
    "get-tiny-image": {},
    "gzip-file-as-resource": {
        "name": "hello.txt.gz",
        "data": "data:text/plain;base64," + base64.b64encode(GZIP_INPUT).decode(),
        "outputType": "resource",
    },
    "toggle-simulated-logging": {},
    "toggle-subscriber-updates": {},
    "trigger-long-running-operation": {"duration": 0.2, "steps": 2},
    "get-roots-list": {},
    "trigger-elicitation-request": {},
    "trigger-url-elicitation": {"url": "https://example.com/consent"},
    "trigger-sampling-request": {"prompt": "a haiku", "maxTokens": 20},
    "simulate-research-query": {"topic": "python", "ambiguous": True},
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_listening(process: subprocess.Popen[bytes], port: int, timeout: float) -> None:
    """Return once the server accepts connections on ``port``; fail if it exits."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise AssertionError(f"mcp-server-everything exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise AssertionError(f"mcp-server-everything did not listen on {port}") from None
            time.sleep(0.02)  # between connection attempts; there is nothing to await


def stdio_entry() -> dict[str, Any]:
    """The ``.mcp.json`` entry running the everything server over stdio on Node 22."""
    program = str(node_program("mcp-server-everything"))
    return {"command": program, "args": ["stdio"], "env": {"PATH": node_env()["PATH"]}}


@pytest.fixture(params=["stdio", "http", "sse"])
def entry(request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    """The ``.mcp.json`` entry of an everything server on each transport (the HTTP and
    SSE servers run for the test and are killed, with their process group, after)."""
    if request.param == "stdio":
        yield stdio_entry()
        return
    program = str(node_program("mcp-server-everything"))
    port = _free_port()
    mode, path = ("streamableHttp", "mcp") if request.param == "http" else ("sse", "sse")
    process = subprocess.Popen(
        [program, mode],
        env={**node_env(), "PORT": str(port)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        _wait_until_listening(process, port, timeout=20)
        yield {"type": request.param, "url": f"http://127.0.0.1:{port}/{path}"}
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _script(request: ModelRequest) -> Reply:
    """The model: calls every tool at once, answers the server's sampling request, and
    ends the turn once the results are in."""
    if request.system == SAMPLING_SYSTEM:
        return reply(Text("Rain on the server"))
    if len(request.messages) == 1:
        return reply(*(ToolCall(f"mcp__{SERVER}__{n}", a) for n, a in ARGUMENTS.items()))
    return reply(Text("done"))


def _form_answer(schema: dict[str, Any]) -> dict[str, Any]:
    """Valid content for an elicitation form: each required field filled."""
    answer: dict[str, Any] = {}
    for name in schema.get("required", []):
        field = schema["properties"][name]
        if "oneOf" in field:
            answer[name] = field["oneOf"][0]["const"]
        elif "enum" in field:
            answer[name] = field["enum"][0]
        else:
            answer[name] = {"boolean": True, "integer": 1, "number": 1}.get(field["type"], "Ada")
    return answer


async def _answer_questions(session: Session, asked: list[Event]) -> None:
    """Approve every sampling request and fill every elicitation, as a user would."""
    sub = session.store.subscribe("questions", queue_size=10_000, since=0)
    async for event in session.store.stream(sub):
        if not isinstance(event, Event):
            continue
        if event.type == "SAMPLING_REQUESTED":
            asked.append(event)
            await session.resolve_sampling(event.request_id, True)
        elif event.type == "ELICITATION_REQUESTED":
            asked.append(event)
            content = _form_answer(event.requested_schema) if event.mode == "form" else None
            await session.resolve_elicitation(event.request_id, "accept", content)


@asynccontextmanager
async def everything_session(
    folder: Path, entry: dict[str, Any]
) -> AsyncIterator[tuple[Session, list[Event]]]:
    session, _ = mcp_session(folder, {SERVER: entry}, script=_script)
    asked: list[Event] = []
    async with session, anyio.create_task_group() as group:
        ready = await server_status(session, SERVER, "ready", "failed")
        assert ready.status == "ready", ready.error
        group.start_soon(_answer_questions, session, asked)
        yield session, asked
        group.cancel_scope.cancel()


async def test_every_tool_of_the_everything_server(
    tmp_path: Path, entry: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    from harness_tui.core.mcp.features import tasks

    polls: list[float] = []
    get = tasks._get

    async def timed_get(client: Any, task_id: str) -> Any:
        polls.append(time.monotonic())
        return await get(client, task_id)

    monkeypatch.setattr(tasks, "_get", timed_get)
    async with everything_session(tmp_path, entry) as (session, asked):
        offered = {
            name.removeprefix(f"mcp__{SERVER}__")
            for name in session.executor.tools
            if name.startswith(f"mcp__{SERVER}__")
        }
        assert offered == set(ARGUMENTS)
        started = time.monotonic()
        run_id = await session.submit("call every tool")
        await wait_for(
            session.store,
            lambda e: e.run_id == run_id and e.type in ("RUN_COMPLETED", "RUN_CANCELLED"),
            timeout=30,
        )
        elapsed = time.monotonic() - started
        print(f"[{entry.get('type', 'stdio')}: the run took {elapsed:.2f} s]")
    events = [e for e in session.store.replay(0) if e.run_id == run_id]
    names = {
        e.tool_call_id: e.tool_name.removeprefix(f"mcp__{SERVER}__")
        for e in events
        if e.type == "TOOL_CALL_STARTED"
    }
    failed = {names[e.tool_call_id]: e.error for e in events if e.type == "TOOL_CALL_FAILED"}
    assert failed == {}
    done = {names[e.tool_call_id]: e for e in events if e.type == "TOOL_CALL_COMPLETED"}
    assert set(done) == set(ARGUMENTS)
    progress: dict[str, list[Event]] = {}
    for e in events:
        if e.type == "TOOL_CALL_PROGRESS":
            progress.setdefault(names[e.tool_call_id], []).append(e)

    def text(tool: str) -> str:
        return str(done[tool].content)

    def details(tool: str) -> dict[str, Any]:
        return dict(done[tool].details or {})

    assert text("echo") == "Echo: hello"
    assert [m["type"] for m in details("get-annotated-message")["media"]] == ["image"]
    assert "PATH" in json.loads(text("get-env"))
    assert len(details("get-resource-links")["resource_links"]) == 2
    assert "[resource demo://resource/dynamic/text/1]\nResource 1: This is a plaintext" in text(
        "get-resource-reference"
    )
    structured = details("get-structured-content")["structured_content"]
    assert set(structured) == {"temperature", "conditions", "humidity"}
    assert "5" in text("get-sum")
    assert details("get-tiny-image")["media"][0]["mime_type"] == "image/png"
    assert "application/gzip" in text("gzip-file-as-resource")
    assert "logging" in text("toggle-simulated-logging").lower()
    assert "updates" in text("toggle-subscriber-updates").lower()
    assert [(p.progress, p.total) for p in progress["trigger-long-running-operation"]] == [
        (1, 2),
        (2, 2),
    ]
    assert session.cwd.as_uri() in text("get-roots-list")
    assert "Name: Ada" in text("trigger-elicitation-request")
    assert "accept" in text("trigger-url-elicitation")
    assert "Rain on the server" in text("trigger-sampling-request")

    # The task: created, polled (its status messages on the tool card), asked for
    # input while input_required, and its result fetched with tasks/result.
    report = text("simulate-research-query")
    assert "# Research Report: python (programming)" in report
    statuses = [p.status for p in progress["simulate-research-query"]]
    assert statuses[0] == "Gathering sources..." and ASKING in statuses
    assert statuses == sorted(statuses, key=RESEARCH_STATUSES.index)
    kinds = sorted((e.type, getattr(e, "mode", None)) for e in asked)
    assert kinds == [
        ("ELICITATION_REQUESTED", "form"),
        ("ELICITATION_REQUESTED", "form"),
        ("ELICITATION_REQUESTED", "url"),
        ("SAMPLING_REQUESTED", None),
    ]
    # tasks/get at the server's pollInterval (1000 ms), no faster.
    gaps = [b - a for a, b in itertools.pairwise(polls)]
    assert polls and min(gaps, default=1.0) >= 0.95, gaps
    assert elapsed < 15, f"the run took {elapsed:.1f} s"
