"""B5 harness overhead: one run of N turns, each a streamed response with one trivial tool
call, through the whole harness (session, loop, events, executor, adapter, SDK) against
a fake API; versus a bare SDK loop making the same N streamed requests, with the same
system prompt, tools and growing history, to the same server in the same process.

Measured for both adapters (Anthropic and OpenAI-compatible). The server's own time is
in both sides, as a real API's latency would be; the ratio is what the harness adds.
With the openai SDK, both sides are dominated by the SDK's own ``maybe_transform`` of
the whole message list on every request (it grows with the history), so that ratio is
less sensitive than the Anthropic one; ``overhead_ms_per_turn`` gives the absolute cost.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from typing import Any

from harness_tui.core.models import resolve_model
from harness_tui.core.session import Session
from tests.bench import Figure
from tests.fakes.anthropic_server import FakeAnthropic
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.script import Call, ScriptedAPI, Usage, reply
from tests.helpers import EchoTool

ID = "B5"
TITLE = "harness overhead"
SYSTEM = "You are a benchmark. Call Echo."
TARGET = 1.15
KEY = "bench-key"


def _always_echo(body: dict[str, Any]) -> Any:
    return reply(Call("Echo", {"text": "x"}), usage=Usage(input=50, output=10))


def _tool_specs() -> list[tuple[str, str, dict[str, Any]]]:
    """The tools the harness offers the model (Echo, plus Task and whatever plugins add),
    so that the bare loops send exactly the same definitions."""
    session = Session(model="demo", tools=[EchoTool()], system_prompt=SYSTEM)
    return [(t.name, t.description, t.input_schema) for t in session.executor.specs()]


# --- through the harness -------------------------------------------------------------------


async def _harness(model: str, turns: int) -> float:
    choice = resolve_model(model)
    session = Session(model=choice, tools=[EchoTool()], max_turns=turns, system_prompt=SYSTEM)
    async with session:
        sub = session.store.subscribe("bench", queue_size=10_000)
        started = time.perf_counter()
        run_id = await session.submit("go")
        async for event in session.store.stream(sub):
            if event.type == "RUN_COMPLETED" and event.run_id == run_id:  # type: ignore[union-attr]
                assert event.turns == turns and not event.is_error, event  # type: ignore[union-attr]
                break
        elapsed = time.perf_counter() - started
    return elapsed


# --- bare SDK loops ------------------------------------------------------------------------


async def _bare_anthropic(url: str, turns: int) -> float:
    import anthropic

    client = anthropic.AsyncAnthropic(api_key=KEY, base_url=url, max_retries=0)
    cache = {"type": "ephemeral"}
    tools: list[dict[str, Any]] = [
        {"name": name, "description": about, "input_schema": schema}
        for name, about, schema in _tool_specs()
    ]
    tools[-1]["cache_control"] = cache
    system = [{"type": "text", "text": SYSTEM, "cache_control": cache}]
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": [{"type": "text", "text": "go", "cache_control": cache}]}
    ]
    started = time.perf_counter()
    for _ in range(turns):
        stream = await client.messages.create(
            model="bench-model",
            max_tokens=8192,
            system=system,
            tools=tools,
            messages=messages,
            stream=True,
        )
        calls: dict[int, list[str]] = {}
        async for event in stream:
            if event.type == "content_block_start" and event.content_block.type == "tool_use":
                block = event.content_block
                calls[event.index] = [block.id, block.name, ""]
            elif event.type == "content_block_delta" and event.delta.type == "input_json_delta":
                calls[event.index][2] += event.delta.partial_json
        del messages[-1]["content"][-1]["cache_control"]
        content = [
            {"type": "tool_use", "id": i, "name": n, "input": json.loads(raw)}
            for i, n, raw in calls.values()
        ]
        results = [
            {"type": "tool_result", "tool_use_id": i, "content": json.loads(raw)["text"]}
            for i, _, raw in calls.values()
        ]
        results[-1]["cache_control"] = cache
        messages += [
            {"role": "assistant", "content": content},
            {"role": "user", "content": results},
        ]
    elapsed = time.perf_counter() - started
    await client.close()
    return elapsed


async def _bare_openai(url: str, turns: int) -> float:
    import openai

    client = openai.AsyncOpenAI(api_key=KEY, base_url=url, max_retries=0)
    tools = [
        {
            "type": "function",
            "function": {"name": name, "description": about, "parameters": schema},
        }
        for name, about, schema in _tool_specs()
    ]
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": "go"},
    ]
    started = time.perf_counter()
    for _ in range(turns):
        stream = await client.chat.completions.create(
            model="bench-model",
            messages=messages,
            tools=tools,
            stream=True,
            stream_options={"include_usage": True},
        )
        calls: dict[int, list[str]] = {}
        async for chunk in stream:
            for choice in chunk.choices:
                for fragment in choice.delta.tool_calls or ():
                    call = calls.setdefault(fragment.index, ["", "", ""])
                    if fragment.id:
                        call[0] = fragment.id
                    if fragment.function.name:
                        call[1] = fragment.function.name
                    call[2] += fragment.function.arguments or ""
        messages.append(
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": i, "type": "function", "function": {"name": n, "arguments": raw}}
                    for i, n, raw in calls.values()
                ],
            }
        )
        messages += [
            {"role": "tool", "tool_call_id": i, "content": json.loads(raw)["text"]}
            for i, _, raw in calls.values()
        ]
    elapsed = time.perf_counter() - started
    await client.close()
    return elapsed


# --- the measurement -----------------------------------------------------------------------


async def _measure(turns: int, rounds: int) -> dict[str, Figure]:
    import os

    figures: dict[str, Figure] = {}
    sides: list[tuple[str, ScriptedAPI, str, Any]] = [
        (
            "anthropic",
            FakeAnthropic(api_key=KEY, responder=_always_echo),
            "ANTHROPIC",
            _bare_anthropic,
        ),
        ("openai", FakeOpenAI(api_key=KEY, responder=_always_echo), "OPENAI", _bare_openai),
    ]
    for name, api, prefix, bare in sides:
        with api:
            url = api.url if name == "anthropic" else f"{api.url}/v1"
            os.environ[f"{prefix}_BASE_URL"] = url
            os.environ[f"{prefix}_API_KEY"] = KEY
            model = f"{name}/bench-model"
            await _harness(model, 10)  # warm-up: imports, first connections
            await bare(url, 10)
            ours, base = [], []
            for i in range(rounds):
                # Paired and alternating, so drift in machine load hits both sides alike.
                if i % 2:
                    base.append(await bare(url, turns))
                    ours.append(await _harness(model, turns))
                else:
                    ours.append(await _harness(model, turns))
                    base.append(await bare(url, turns))
            assert api.rejections == [], api.rejections[:1]
        harness_s, bare_s = statistics.median(ours), statistics.median(base)
        ratio = statistics.median(h / b for h, b in zip(ours, base, strict=True))
        figures[f"{name}_harness_ms_per_turn"] = Figure(
            harness_s / turns * 1e3, "ms", note=f"median of {rounds} runs of {turns} turns"
        )
        figures[f"{name}_bare_ms_per_turn"] = Figure(
            bare_s / turns * 1e3, "ms", note="bare SDK loop"
        )
        figures[f"{name}_overhead_ms_per_turn"] = Figure((harness_s - bare_s) / turns * 1e3, "ms")
        figures[f"{name}_ratio"] = Figure(
            ratio, "x", TARGET, "<=", "median of the paired runs' ratios"
        )
    return figures


def run(quick: bool) -> dict[str, Figure]:
    turns, rounds = (50, 3) if quick else (200, 4)
    return asyncio.run(_measure(turns, rounds))
