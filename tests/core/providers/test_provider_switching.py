"""Switching models mid-session, across providers: every request the history turns into
must be accepted by the strict fake APIs (SPEC section 5)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

import anyio
import pytest

from harness_tui.core.session.session import Session
from tests.fakes.google_server import gemini_fake
from tests.fakes.script import Call, Say, ScriptedAPI, Think, reply
from tests.fakes.wiring import (
    anthropic_fake,
    fast,
    openai_fake,
    responses_fake,
    write_models_settings,
)
from tests.helpers import EchoTool, GateTool, run_to_end, types, wait_for


def tool_turn(thought: str, text: str, call_id: str | None = None):
    return (
        reply(Think(thought), Say(f"Looking: {text}."), Call("Echo", {"text": text}, call_id)),
        reply(Think("Got it."), Say(f"It said {text}.")),
    )


async def test_anthropic_then_openai_compat_then_another_anthropic_model(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reasoning = frozenset({"reasoning_content"})  # DeepSeek takes it back
    with (
        anthropic_fake(monkeypatch) as anthropic_api,
        openai_fake(monkeypatch, extra_message_keys=reasoning) as openai_api,
    ):
        write_models_settings({"anthropic": fast(), "deepseek": fast(base_url=openai_api.base_url)})
        monkeypatch.setenv("DEEPSEEK_API_KEY", openai_api.api_key)
        anthropic_api.script(*tool_turn("first thought", "one"), *tool_turn("third", "three"))
        # Kimi-style ids with dots and colons, which Anthropic does not accept as they are.
        openai_api.script(*tool_turn("second thought", "two", "functions.Echo:0"))
        async with Session(model="anthropic/claude-sonnet-4-6", tools=[EchoTool()]) as session:
            first = await run_to_end(session, "one")
            await session.set_model("deepseek/deepseek-flash")
            second = await run_to_end(session, "two")
            await session.set_model("anthropic/claude-haiku-4-5")
            third = await run_to_end(session, "three")
            changes = [e for e in session.store.replay(0) if e.type == "MODEL_CHANGED"]
    assert anthropic_api.rejections == [] and openai_api.rejections == []
    for events in (first, second, third):
        assert events[-1].type == "RUN_COMPLETED" and not events[-1].is_error, events[-1]
        assert "TOOL_CALL_COMPLETED" in types(events)
    assert [(c.model, c.provider, c.previous_model) for c in changes] == [
        ("deepseek/deepseek-flash", "deepseek", "anthropic/claude-sonnet-4-6"),
        ("anthropic/claude-haiku-4-5", "anthropic", "deepseek/deepseek-flash"),
    ]
    assert [r["model"] for r in anthropic_api.requests] == ["claude-sonnet-4-6"] * 2 + [
        "claude-haiku-4-5"
    ] * 2
    # The openai_compat requests carry no Anthropic thinking and no signatures.
    deepseek_first = openai_api.requests[0]
    assert "signature" not in str(deepseek_first) and "first thought" not in str(deepseek_first)
    # Back on Anthropic: its own signed thinking survives, DeepSeek's reasoning does not,
    # and the Kimi-style tool id was mapped alike in the call and its result.
    last = anthropic_api.requests[-1]["messages"]
    thinking = [b for m in last for b in m["content"] if b["type"] == "thinking"]
    assert [b["thinking"] for b in thinking] == ["first thought", "Got it.", "third"]
    uses = [b["id"] for m in last for b in m["content"] if b["type"] == "tool_use"]
    results = [b["tool_use_id"] for m in last for b in m["content"] if b["type"] == "tool_result"]
    assert uses == results and len(uses) == 3
    assert uses[1].startswith("functions_Echo_0_")


async def test_a_switch_during_a_tool_loop_applies_at_the_next_turn(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gate = GateTool("Echo")
    with anthropic_fake(monkeypatch) as anthropic_api, openai_fake(monkeypatch) as openai_api:
        write_models_settings({"anthropic": fast(), "openai": fast()})
        openai_api.script(reply(Think("plan"), Say("Checking."), Call("Echo", {"label": "x"})))
        anthropic_api.script(reply(Think("done thinking"), Say("All checked.")))
        async with Session(model="openai/gpt-4.1", tools=[gate]) as session:
            run_id = await session.submit("check")
            with anyio.fail_after(10):
                await gate.started_event("x").wait()
            await session.set_model("sonnet")  # queued: the run is busy
            assert session.model.name == "openai/gpt-4.1"
            gate.release.set()
            await wait_for(
                session.store, lambda e: e.type == "RUN_COMPLETED" and e.run_id == run_id
            )
            events = [e for e in session.store.replay(0) if e.run_id == run_id]
    assert anthropic_api.rejections == [], anthropic_api.rejections
    kinds = types(events)
    assert kinds.index("TOOL_CALL_COMPLETED") < kinds.index("MODEL_CHANGED")
    assert events[-1].type == "RUN_COMPLETED" and events[-1].result == "All checked."
    # The turn being continued came from OpenAI and has no thinking block, which the API
    # demands first when thinking is on: this one request goes without thinking.
    (request,) = anthropic_api.requests
    assert "thinking" not in request
    assert [b["type"] for b in request["messages"][1]["content"]] == ["text", "tool_use"]


# --- every ordered pair of the four wire protocols ------------------------------------------


@dataclass(frozen=True)
class Side:
    """One protocol's model, its strict fake and how a user would point harness-tui at it."""

    model: str
    serve: Callable[[pytest.MonkeyPatch], AbstractContextManager[ScriptedAPI]]
    settings: Callable[[Any], dict[str, Any]]
    environ: Callable[[Any], dict[str, str]]
    #: Tool-call ids in this provider's style (None: the fake makes its own).
    call_id: str | None = None
    #: What of its own reasoning this protocol gets back in a later request: the thought
    #: text, or for Gemini the signatures (thought summaries are not sent back).
    own_reasoning: str = "thought of the second"


SIDES = {
    "anthropic": Side(
        "anthropic/claude-sonnet-4-6",
        anthropic_fake,
        lambda api: {"anthropic": fast()},
        lambda api: {"ANTHROPIC_BASE_URL": api.url, "ANTHROPIC_API_KEY": api.api_key},
    ),
    "openai_compat": Side(
        "deepseek/deepseek-flash",
        lambda mp: openai_fake(mp, extra_message_keys=frozenset({"reasoning_content"})),
        lambda api: {"deepseek": fast(base_url=api.base_url)},
        lambda api: {"DEEPSEEK_API_KEY": api.api_key},
        # Kimi-style ids, with dots and colons other APIs refuse as they are
        call_id="functions.Echo:0",
    ),
    "openai_responses": Side(
        "openai/gpt-5",
        responses_fake,
        lambda api: {"openai": fast()},
        lambda api: {"OPENAI_BASE_URL": api.base_url, "OPENAI_API_KEY": api.api_key},
    ),
    "google": Side(
        "gemini/gemini-3.8-flash",
        gemini_fake,
        lambda api: {"gemini": fast()},
        lambda api: {"GOOGLE_GEMINI_BASE_URL": api.url, "GEMINI_API_KEY": api.api_key},
        own_reasoning="thoughtSignature",
    ),
}
PAIRS = list(itertools.permutations(SIDES, 2))


@contextmanager
def serving(monkeypatch: pytest.MonkeyPatch, *names: str) -> Iterator[list[Any]]:
    """The fakes of ``names``, each reachable the way its users configure it."""
    with ExitStack() as stack:
        apis = [stack.enter_context(SIDES[name].serve(monkeypatch)) for name in names]
        settings: dict[str, Any] = {}
        for name, api in zip(names, apis, strict=True):
            settings |= SIDES[name].settings(api)
            for variable, value in SIDES[name].environ(api).items():
                monkeypatch.setenv(variable, value)
        write_models_settings(settings)
        yield apis


@pytest.mark.parametrize(("first", "second"), PAIRS, ids=["->".join(p) for p in PAIRS])
async def test_a_tool_loop_on_one_protocol_continues_on_another(
    monkeypatch: pytest.MonkeyPatch, first: str, second: str
) -> None:
    """A tool loop with thinking, a switch, a tool loop on the other protocol and one
    more turn: every request is one the other API accepts; the first model's thinking
    never reaches the second; the second gets its own reasoning back."""
    a, b = SIDES[first], SIDES[second]
    with serving(monkeypatch, first, second) as (a_api, b_api):
        a_api.script(*tool_turn("thought of the first", "one", a.call_id))
        b_api.script(*tool_turn("thought of the second", "two", b.call_id), reply(Say("Fine.")))
        async with Session(model=a.model, tools=[EchoTool()]) as session:
            runs = [await run_to_end(session, "one")]
            await session.set_model(b.model)
            runs += [await run_to_end(session, "two"), await run_to_end(session, "three")]
    assert a_api.rejections == [] and b_api.rejections == []
    for events in runs:
        assert events[-1].type == "RUN_COMPLETED" and not events[-1].is_error, events[-1]
    assert all("TOOL_CALL_COMPLETED" in types(events) for events in runs[:2])
    assert len(a_api.requests) == 2 and len(b_api.requests) == 3
    assert "thought of the first" not in json.dumps(b_api.requests)
    assert b.own_reasoning in json.dumps(b_api.requests[-1])
    # what the first model said and did is all there, in the second one's terms
    last = json.dumps(b_api.requests[-1])
    assert "Looking: one." in last and "It said one." in last


@pytest.mark.parametrize(("first", "second"), PAIRS, ids=["->".join(p) for p in PAIRS])
async def test_a_switch_mid_tool_loop_continues_the_turn_on_another_protocol(
    monkeypatch: pytest.MonkeyPatch, first: str, second: str
) -> None:
    """The other model continues a turn whose calls the first made: unsigned, without
    reasoning, with ids in the first one's style; its API accepts it."""
    a, b = SIDES[first], SIDES[second]
    gate = GateTool("Echo")
    with serving(monkeypatch, first, second) as (a_api, b_api):
        a_api.script(
            reply(
                Think("plan of the first"),
                Say("Checking."),
                Call("Echo", {"label": "x"}, a.call_id),
            )
        )
        b_api.script(reply(Think("done thinking"), Say("All checked.")))
        async with Session(model=a.model, tools=[gate]) as session:
            run_id = await session.submit("check")
            with anyio.fail_after(10):
                await gate.started_event("x").wait()
            await session.set_model(b.model)
            gate.release.set()
            await wait_for(
                session.store, lambda e: e.type == "RUN_COMPLETED" and e.run_id == run_id
            )
            events = [e for e in session.store.replay(0) if e.run_id == run_id]
    assert a_api.rejections == [] and b_api.rejections == [], b_api.rejections
    assert events[-1].type == "RUN_COMPLETED" and events[-1].result == "All checked."
    (request,) = b_api.requests
    assert "plan of the first" not in json.dumps(request)
