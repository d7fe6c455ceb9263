"""A tool card's duration is the tool's own run time, from being allowed to run to
finishing; the wait for the user's permission answer is reported apart
(``permission_wait_ms``), the same in the events, the card, the session file and the
JSON export. Time is a fake clock the test moves: "the user thinks for 12 s" is one
assignment, and the tool's run advances the clock by a known amount."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import pytest

from harness_tui.core import events as ev
from harness_tui.core.providers.offline.scripted import Text, ToolCall, reply
from harness_tui.core.storage.export import export_json
from harness_tui.core.storage.saved import load_session
from harness_tui.core.tools.base import CallTiming, Tool, ToolContext, ToolResult
from harness_tui.widgets.conversation import Conversation
from harness_tui.widgets.screens.permission import PermissionDialog
from harness_tui.widgets.tools_pane import ToolsPane
from tests.helpers import run_to_end, scripted_in, wait_for
from tests.tui.test_tui import tui, type_text, until

RUN_S = 0.25


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(CallTiming, "clock", fake)
    return fake


class Timed(Tool):
    """Runs for ``RUN_S`` on the fake clock; ``then``: "ok", "raise", or "hang" (until
    cancelled)."""

    name = "Timed"
    description = "takes a known time"
    input_schema = {"type": "object", "properties": {"then": {"type": "string"}}}

    def __init__(self, clock: FakeClock, *, read_only: bool = False) -> None:
        self.clock = clock
        self.read_only = read_only  # type: ignore[misc]
        self.running = anyio.Event()

    async def run(self, input: dict[str, Any], ctx: ToolContext) -> ToolResult:
        self.clock.now += RUN_S
        self.running.set()
        then = input.get("then", "ok")
        if then == "raise":
            raise RuntimeError("broke")
        if then == "hang":
            await anyio.sleep_forever()
        return ToolResult(content="done")


def finished(session) -> ev.ToolCallCompleted | ev.ToolCallFailed:
    return next(
        e
        for e in session.store.replay(0)
        if isinstance(e, ev.ToolCallCompleted | ev.ToolCallFailed)
    )


def saved_and_exported(session) -> list[dict[str, Any]]:
    """The tool's result event as the session file and the JSON export hold it."""
    saved = load_session(str(session.file), every_record=True)
    exported = json.loads(export_json(saved))
    ends = ("TOOL_CALL_COMPLETED", "TOOL_CALL_FAILED")
    return [e for e in exported["events"] if e["type"] in ends]


# (key pressed in the dialog, seconds the user takes, the call's input, expected outcome)
ANSWERS = [
    pytest.param("1", 12.0, {}, "done", id="allow-once-after-12s"),
    pytest.param("2", 0.5, {}, "done", id="allow-session-after-half-a-second"),
    pytest.param("3", 90.0, {}, "done", id="allow-always-after-90s"),
    pytest.param("escape", 7.0, {}, "denied", id="deny-after-7s"),
    pytest.param("1", 30.0, {"then": "raise"}, "failed", id="allowed-then-raises"),
]


@pytest.mark.parametrize(("key", "think_s", "call", "outcome"), ANSWERS)
async def test_the_card_shows_run_time_and_the_wait_apart(
    tmp_path: Path, clock: FakeClock, key: str, think_s: float, call: dict, outcome: str
) -> None:
    tool = Timed(clock)
    script = [reply(ToolCall("Timed", call)), reply(Text("ok"))]
    session, _ = scripted_in(tmp_path, script, tools=[tool])
    async with tui(session) as (app, pilot):
        await type_text(pilot, "go")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, PermissionDialog))
        clock.now += think_s  # the user reads the dialog
        await pilot.press(key)
        await wait_for(session.store, lambda e: e.type == "RUN_COMPLETED")
        result = finished(session)
        ran_ms = 0.0 if outcome == "denied" else RUN_S * 1e3
        assert result.duration_ms == pytest.approx(ran_ms)
        assert result.permission_wait_ms == pytest.approx(think_s * 1e3)
        card = app.query_one(Conversation).card(result.tool_call_id)
        assert card is not None
        await until(pilot, lambda: card.status != "running")
        header = card._header().plain
        waited = f"waited {think_s * 1e3:.0f} ms" if think_s < 1 else f"waited {think_s:.1f} s"
        assert f"{waited} for permission" in header
        assert ("250 ms" in header) == (outcome != "denied")
        pane = app.query_one(ToolsPane)._render_rows().plain
        assert ("250 ms" in pane) == (outcome != "denied") and " 0 ms" not in pane
    [stored] = saved_and_exported(session)
    assert stored["duration_ms"] == pytest.approx(ran_ms)
    assert stored["permission_wait_ms"] == pytest.approx(think_s * 1e3)


async def test_a_call_that_asks_nothing_reports_no_wait(tmp_path: Path, clock: FakeClock):
    tool = Timed(clock, read_only=True)
    session, _ = scripted_in(tmp_path, [reply(ToolCall("Timed")), reply(Text("ok"))], tools=[tool])
    async with session:
        await run_to_end(session, "go")
    result = finished(session)
    assert result.duration_ms == pytest.approx(RUN_S * 1e3)
    assert result.permission_wait_ms is None


@pytest.mark.parametrize("when", ["while-asking", "while-running"])
async def test_a_cancel_reports_what_ran_and_what_waited(
    tmp_path: Path, clock: FakeClock, when: str
) -> None:
    tool = Timed(clock)
    session, _ = scripted_in(tmp_path, [reply(ToolCall("Timed", {"then": "hang"}))], tools=[tool])
    async with session:
        await session.submit("go")
        asked = await wait_for(session.store, lambda e: e.type == "PERMISSION_REQUESTED")
        clock.now += 5.0
        if when == "while-running":
            await session.resolve_permission(asked.request_id, "allow_once")
            await tool.running.wait()
        await session.cancel()
        await wait_for(session.store, lambda e: e.type == "RUN_CANCELLED")
    result = finished(session)
    assert isinstance(result, ev.ToolCallFailed) and result.kind == "cancelled"
    assert result.duration_ms == pytest.approx(0.0 if when == "while-asking" else RUN_S * 1e3)
    assert result.permission_wait_ms == pytest.approx(5_000)


async def test_headless_refusals_wait_for_nobody(tmp_path: Path, clock: FakeClock) -> None:
    session, _ = scripted_in(
        tmp_path, [reply(ToolCall("Timed")), reply(Text("ok"))], tools=[Timed(clock)],
        ask_policy="deny",
    )  # fmt: skip
    async with session:
        await run_to_end(session, "go")
    result = finished(session)
    assert isinstance(result, ev.ToolCallFailed) and result.kind == "denied"
    assert result.duration_ms == 0.0 and result.permission_wait_ms is None


def test_sessions_saved_before_the_field_existed_still_load() -> None:
    old = {
        "type": "TOOL_CALL_COMPLETED",
        "session_id": "s",
        "tool_call_id": "c",
        "tool_name": "Bash",
        "content": "ok",
        "duration_ms": 12.5,
    }
    event = ev.ToolCallCompleted.model_validate(old)
    assert event.duration_ms == 12.5 and event.permission_wait_ms is None
