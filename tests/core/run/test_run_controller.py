"""The run controller on its own: one run at a time, messages typed meanwhile queued
and chained, a cancel that hands them back, and a run's first and last events whatever
happens in between."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest

from harness_tui.core.errors import HarnessError, SessionBusyError
from harness_tui.core.hooks.pipeline import HookOutcome
from harness_tui.core.messages import UserMessage
from harness_tui.core.providers.offline.scripted import Text, ToolCall, Usage, reply
from harness_tui.core.run.controller import RunController, prompt_message
from harness_tui.core.run.steering import QueuedMessage
from harness_tui.core.run.turn_host import TurnHost
from tests.helpers import GateTool, squeeze, wait_for
from tests.turn_support import Models, Owner


class Cost:
    def __init__(self) -> None:
        self.run_cost_usd: float | None = 9.0
        self.runs = 0

    def start_run(self) -> None:
        self.runs += 1
        self.run_cost_usd = 0.25 * self.runs


class Controlled:
    """A controller over an ``Owner`` whose run id is the controller's."""

    def __init__(self, owner: Owner, *, open_: bool = True) -> None:
        self.owner = owner
        self.cost = Cost()
        self.after: list[str] = []
        self.cancelled = 0
        self.open = open_
        host = TurnHost(owner, [], owner.executor, "system", Models(owner))
        self.runs = RunController(
            host,
            self.cost,
            prompt_message=self.prompt,
            after_run=self.after_run,
            on_cancel=self.on_cancel,
            require_open=self.require_open,
        )
        owner.current_run = lambda: self.runs.run_id

    async def prompt(
        self, text: str, queued: QueuedMessage | None, hooked: HookOutcome
    ) -> UserMessage:
        return prompt_message(text, queued, hooked, [("@notes", "n")])

    async def after_run(self) -> None:
        self.after.append(self.runs.run_id or "")

    def on_cancel(self) -> None:
        self.cancelled += 1

    def require_open(self) -> None:
        if not self.open:
            raise HarnessError("closed")


async def ended(owner: Owner, run_id: str) -> None:
    await wait_for(
        owner.store, lambda e: e.run_id == run_id and e.type in ("RUN_COMPLETED", "RUN_CANCELLED")
    )


async def test_a_run_starts_ends_and_reports_its_cost(tmp_path: Path) -> None:
    owner = Owner(tmp_path, reply(Text("hello"), Usage(5, 1)))
    ctl = Controlled(owner)
    async with anyio.create_task_group() as group:
        ctl.runs.open(group)
        run_id = ctl.runs.submit("hi @notes")
        assert ctl.runs.running and ctl.runs.run_id == run_id
        await ended(owner, run_id)
    assert not ctl.runs.running
    assert squeeze(owner.types()) == [
        "PROMPT_RECEIVED",
        "TOKEN_DELTA",
        "MESSAGE_COMPLETED",
        "RUN_COMPLETED",
    ]
    done = owner.events()[-1]
    assert done.stop_reason == "end_turn" and done.cost_usd == 0.25 and done.result == "hello"
    assert ctl.after == [run_id]  # before the last event, with the run still named
    prompt = owner.provider.requests[0].messages[0]
    assert "[contents of @notes]\nn" in [b.text for b in prompt.content]


async def test_prompts_are_refused_empty_busy_or_closed(tmp_path: Path) -> None:
    owner = Owner(tmp_path, reply(ToolCall("Gate", {"label": "a"})), reply(Text("ok")))
    gate = GateTool()
    owner.executor.add(gate)
    ctl = Controlled(owner, open_=False)
    with pytest.raises(HarnessError, match="closed"):
        ctl.runs.submit("hi")
    ctl.open = True
    with pytest.raises(HarnessError, match="empty"):
        ctl.runs.submit("  ")
    async with anyio.create_task_group() as group:
        ctl.runs.open(group)
        run_id = ctl.runs.submit("go")
        await gate.started_event("a").wait()
        with pytest.raises(SessionBusyError):
            ctl.runs.submit("again")
        gate.release.set()
        await ended(owner, run_id)


async def test_queued_messages_chain_and_a_cancel_hands_them_back(tmp_path: Path) -> None:
    owner = Owner(
        tmp_path,
        reply(ToolCall("Gate", {"label": "a"})),
        reply(Text("first done")),
        reply(ToolCall("Hold", {"label": "b"})),
    )
    gate, hold = GateTool(), GateTool("Hold")
    owner.executor.add(gate)
    owner.executor.add(hold)
    ctl = Controlled(owner)
    async with anyio.create_task_group() as group:
        ctl.runs.open(group)
        first = ctl.runs.submit("one")
        await gate.started_event("a").wait()
        follow = await ctl.runs.enqueue("two", "follow_up")
        later = await ctl.runs.enqueue("three", "follow_up")
        assert follow is not None and later is not None
        gate.release.set()
        await ended(owner, first)
        await hold.started_event("b").wait()
        returned = await ctl.runs.cancel()
    assert [m.text for m in returned] == ["three"]
    assert ctl.cancelled == 1 and not ctl.runs.running and hold.cancelled == ["b"]
    kinds = [e.type for e in owner.events() if e.type.startswith(("RUN_", "STEERING_"))]
    assert kinds == [
        "STEERING_QUEUED",
        "STEERING_QUEUED",
        "RUN_COMPLETED",
        "STEERING_DELIVERED",
        "STEERING_WITHDRAWN",
        "RUN_CANCELLED",
    ]
    runs = {e.run_id for e in owner.events() if e.type.startswith("RUN_")}
    assert len(runs) == 2 and first in runs  # the follow-up ran as a run of its own


async def test_a_blocked_prompt_ends_the_run_without_a_model_call(tmp_path: Path) -> None:
    owner = Owner(tmp_path)

    async def block(data: dict[str, Any]) -> dict[str, Any]:
        return {"decision": "block", "reason": "not that"}

    owner.hooks.add_callback("UserPromptSubmit", block)
    ctl = Controlled(owner)
    async with anyio.create_task_group() as group:
        ctl.runs.open(group)
        run_id = ctl.runs.submit("forbidden")
        await ended(owner, run_id)
    done = owner.events()[-1]
    assert done.type == "RUN_COMPLETED" and done.stop_reason == "prompt_blocked"
    assert owner.provider.requests == []


async def test_a_crash_is_an_error_and_a_completed_run(tmp_path: Path) -> None:
    owner = Owner(tmp_path)
    ctl = Controlled(owner)

    async def broken(*args: Any) -> UserMessage:
        raise RuntimeError("boom")

    ctl.runs._prompt_message = broken
    async with anyio.create_task_group() as group:
        ctl.runs.open(group)
        run_id = ctl.runs.submit("hi")
        await ended(owner, run_id)
    assert [e.type for e in owner.events()] == ["PROMPT_RECEIVED", "ERROR", "RUN_COMPLETED"]
    done = owner.events()[-1]
    assert done.is_error and done.error == "internal error: RuntimeError: boom"


async def test_stream_yields_the_runs_events_until_it_ends(tmp_path: Path) -> None:
    owner = Owner(tmp_path, reply(Text("streamed")))
    ctl = Controlled(owner)
    async with anyio.create_task_group() as group:
        ctl.runs.open(group)
        seen = [e.type async for e in ctl.runs.stream(owner.store, "hi")]
    assert squeeze(seen) == ["PROMPT_RECEIVED", "TOKEN_DELTA", "MESSAGE_COMPLETED", "RUN_COMPLETED"]
