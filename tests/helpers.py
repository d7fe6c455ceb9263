"""Small tools and waits shared by the tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio

from harness_tui.core.event_store import EventStore
from harness_tui.core.events import Event
from harness_tui.core.messages import (
    AssistantMessage,
    Message,
    ToolCallBlock,
    ToolResultMessage,
    UserMessage,
)
from harness_tui.core.session.session import Session
from harness_tui.core.tools.base import Tool, ToolContext, ToolResult


def scripted_in(cwd: Any, script: Any, **options: Any) -> tuple[Session, Any]:
    """A session in ``cwd`` on a scripted model (a list of replies, or a function of the
    request); the built-in tools unless ``tools`` is given."""
    from harness_tui.core.providers.models import ModelChoice
    from harness_tui.core.providers.offline.scripted import ScriptedProvider
    from harness_tui.core.tools import builtin_tools

    provider = ScriptedProvider(script)
    options.setdefault("tools", builtin_tools())
    choice = ModelChoice("scripted", "scripted", lambda: provider)
    return Session(model=choice, cwd=cwd, **options), provider


#: The event types of a run whose model calls one tool and then answers (``squeeze``d).
ONE_TOOL_RUN = [
    "PROMPT_RECEIVED",
    "CHECKPOINT_CREATED",
    "TOKEN_DELTA",
    "MESSAGE_COMPLETED",
    "TOOL_CALL_STARTED",
    "TOOL_CALL_COMPLETED",
    "TOKEN_DELTA",
    "MESSAGE_COMPLETED",
    "RUN_COMPLETED",
]


def check_error_outcome(events: list[Any], code: str | None, retried: bool, result: str) -> None:
    """A run that met a provider's error: whether it was retried, the ``ERROR`` event's
    code (None: no error reached the user), and the answer the run ended with."""
    assert any(e.type == "RETRYING" for e in events) is retried
    errors = [e for e in events if e.type == "ERROR"]
    assert [e.code for e in errors] == ([code] if code else [])
    assert events[-1].type == "RUN_COMPLETED" and events[-1].result == result


def check_usage(
    events: list[Any],
    input_tokens: list[int],
    cache_read_tokens: list[int],
    output_tokens: list[int] | None = None,
    price: tuple[float, float, float] | None = None,
) -> list[Any]:
    """The run's ``USAGE_UPDATED`` events, after checking their token counts (one per
    response), that the first costs what ``price`` (US dollars per million tokens: input,
    output, cached input) makes of its tokens, and that the run's cost is their sum."""
    import pytest

    usage = [e for e in events if e.type == "USAGE_UPDATED"]
    assert [u.usage.input_tokens for u in usage] == input_tokens
    assert [u.usage.cache_read_tokens for u in usage] == cache_read_tokens
    if output_tokens is not None:
        assert [u.usage.output_tokens for u in usage] == output_tokens
    if price is not None:
        first, (per_input, per_output, per_cached) = usage[0].usage, price
        expected = (
            first.input_tokens * per_input
            + first.output_tokens * per_output
            + first.cache_read_tokens * per_cached
        ) / 1e6
        assert usage[0].cost_usd == pytest.approx(expected)
    assert events[-1].cost_usd == pytest.approx(sum(u.cost_usd for u in usage))
    return usage


def history_across_a_model_switch(
    call_input: Callable[[str], dict[str, Any]] = lambda call_id: {},
) -> tuple[Message, ...]:
    """A history whose current turn has calls another model made (a ``/model`` switch
    mid-turn): an earlier turn (model ``old``: call ``a``), then this turn's calls ``b``
    and ``c`` by ``claude`` (an Anthropic model); every call answered ``ok``."""

    def calls(model: str, *ids: str) -> AssistantMessage:
        content = tuple(ToolCallBlock(id=i, name="Echo", input=call_input(i)) for i in ids)
        return AssistantMessage(
            id=f"m-{ids[0]}", content=content, provider="anthropic", model=model
        )

    def result(call_id: str) -> ToolResultMessage:
        return ToolResultMessage(tool_call_id=call_id, tool_name="Echo", content="ok")

    return (
        UserMessage.of("earlier"),
        calls("old", "a"),
        result("a"),
        UserMessage.of("now"),
        calls("claude", "b", "c"),
        result("b"),
        result("c"),
    )


def types(events: list[Event]) -> list[str]:
    return [e.type for e in events]


def squeeze(names: list[str]) -> list[str]:
    """Event types with runs of the same type collapsed (TOKEN_DELTA x40 -> once)."""
    out: list[str] = []
    for name in names:
        if not out or out[-1] != name:
            out.append(name)
    return out


async def wait_for(
    store: EventStore, predicate: Callable[[Event], bool], timeout: float = 10
) -> Event:
    """The first event, already stored or still to come, that matches."""
    sub = store.subscribe("wait_for", queue_size=100_000, since=0)
    with anyio.fail_after(timeout):
        async for event in store.stream(sub):
            if isinstance(event, Event) and predicate(event):
                store.unsubscribe(sub)
                return event
    raise AssertionError("the store closed before the event came")


async def run_to_end(
    session: Session, prompt: str, timeout: float = 10, images: Any = ()
) -> list[Event]:
    """Submit (with ``images``: ``ImageBlock``s) and return the events of the run, from
    PROMPT_RECEIVED to its end."""
    run_id = await session.submit(prompt, images)
    await wait_for(
        session.store,
        lambda e: e.run_id == run_id and e.type in ("RUN_COMPLETED", "RUN_CANCELLED"),
        timeout,
    )
    return [e for e in session.store.replay(0) if e.run_id == run_id]


class GateTool(Tool):
    """Signals when it starts, then waits until the test lets it finish."""

    description = "waits for the test"
    input_schema = {"type": "object", "properties": {"label": {"type": "string"}}}
    read_only = True

    def __init__(self, name: str = "Gate", *, concurrency_safe: bool = False) -> None:
        self.name = name  # type: ignore[misc]
        self.concurrency_safe = concurrency_safe  # type: ignore[misc]
        self.started: dict[str, anyio.Event] = {}
        self.release = anyio.Event()
        self.finished: list[str] = []
        self.cancelled: list[str] = []

    def started_event(self, label: str) -> anyio.Event:
        return self.started.setdefault(label, anyio.Event())

    async def run(self, input: dict[str, Any], ctx: ToolContext) -> ToolResult:
        label = input.get("label", "")
        self.started_event(label).set()
        try:
            await self.release.wait()
        except anyio.get_cancelled_exc_class():
            self.cancelled.append(label)
            raise
        self.finished.append(label)
        return ToolResult(content=f"{label} done")


class EchoTool(Tool):
    name = "Echo"
    description = "returns its text"
    input_schema = {
        "type": "object",
        "properties": {"text": {"type": "string"}},
        "required": ["text"],
        "additionalProperties": False,
    }
    read_only = True
    concurrency_safe = True

    async def run(self, input: dict[str, Any], ctx: ToolContext) -> ToolResult:
        return ToolResult(content=input["text"], display=f"echo {len(input['text'])} chars")


class WriteLikeTool(Tool):
    """A tool that is not read-only: the permission mode applies to it."""

    name = "Touch"
    description = "pretends to change the workspace"
    input_schema = {"type": "object", "properties": {}}

    def __init__(self) -> None:
        self.runs = 0

    async def run(self, input: dict[str, Any], ctx: ToolContext) -> ToolResult:
        self.runs += 1
        return ToolResult(content="touched")


def tool_context(
    cwd: Any = ".", mode: str = "default", events: list[Any] | None = None, call_id: str = "c"
) -> ToolContext:
    """A ToolContext outside a session; what the tool emits lands in ``events``."""
    from pathlib import Path

    async def emit(event_type: type, /, **fields: Any) -> None:
        if events is not None:
            events.append(event_type(session_id="s", run_id="r", **fields))

    async def set_plan(*args: Any) -> None:
        return None

    return ToolContext(
        session_id="s",
        run_id="r",
        tool_call_id=call_id,
        cwd=Path(cwd),
        permission_mode=mode,
        emit=emit,
        set_plan=set_plan,
    )


def process_group_alive(pgid: int) -> bool:
    """Whether any process of the group exists (``os.killpg(pgid, 0)``)."""
    import os

    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def process_group_members(pgid: int) -> int:
    """Live (non-zombie) processes of the group, from Linux's /proc."""
    from pathlib import Path

    count = 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                count += 1
    return count


def png(width: int = 2, height: int = 2) -> bytes:
    """A real, decodable PNG (red pixels): what a vision API would accept."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\0" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )
