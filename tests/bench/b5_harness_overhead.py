"""B5 harness overhead: one run of N turns, each a streamed response with one trivial tool
call, through the whole harness (session, loop, events, executor, adapter, SDK) against
a fake API; versus a bare SDK loop making the same N streamed requests, with the same
system prompt, tools and growing history, to the same server in the same process.

Measured for each wire protocol (Anthropic, OpenAI-compatible chat completions, OpenAI's
Responses API, Gemini's native API). The server's own time is
in both sides, as a real API's latency would be; the ratio is what the harness adds.
With the openai SDK, both sides are dominated by the SDK's own ``maybe_transform`` of
the whole message list on every request (it grows with the history), so that ratio is
less sensitive than the Anthropic one; ``overhead_ms_per_turn`` gives the absolute cost.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
import statistics
import time
from typing import Any

from harness_tui.core.providers.endpoint import resolve_endpoint
from harness_tui.core.providers.models import ModelChoice, _factory, model_catalogue, resolve_model
from harness_tui.core.session.session import Session
from tests.bench import Figure
from tests.fakes.anthropic_server import FakeAnthropic
from tests.fakes.google_server import FakeGemini
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.responses_server import FakeResponses
from tests.fakes.script import Call, ScriptedAPI, Usage, reply
from tests.helpers import EchoTool

ID = "B5"
TITLE = "harness overhead"
SYSTEM = "You are a benchmark. Call Echo."
TARGET = 1.15
KEY = "bench-key"


def _always_echo(body: dict[str, Any]) -> Any:
    return reply(Call("Echo", {"text": "x"}), usage=Usage(input=50, output=10))


@functools.cache
def _tool_specs() -> tuple[tuple[str, str, dict[str, Any]], ...]:
    """The tools the harness offers the model (Echo, plus Task and whatever plugins add),
    so that the bare loops send exactly the same definitions. Found once (by building a
    session), outside any measurement."""
    session = Session(model="demo", tools=[EchoTool()], system_prompt=SYSTEM)
    return tuple((t.name, t.description, t.input_schema) for t in session.executor.specs())


# --- through the harness -------------------------------------------------------------------


def _choice(model: str, protocol: str | None) -> ModelChoice:
    """``model`` spoken over ``protocol`` (None: the catalogue's)."""
    choice = resolve_model(model)
    if protocol is None or choice.spec is None:
        return choice
    catalogue = model_catalogue()
    spec = choice.spec.model_copy(update={"protocol": protocol})
    endpoint = resolve_endpoint(catalogue, catalogue.providers[spec.provider], spec)
    return dataclasses.replace(choice, create=_factory(spec, endpoint))


async def _harness(choice: ModelChoice, turns: int) -> float:
    """From nothing (the SDK imported) to the run's end: the session is built and opened,
    and builds its client, inside the measurement, as the bare loops build theirs."""
    started = time.perf_counter()
    session = Session(model=choice, tools=[EchoTool()], max_turns=turns, system_prompt=SYSTEM)
    async with session:
        sub = session.store.subscribe("bench", queue_size=10_000)
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

    started = time.perf_counter()  # the client is built inside, as the harness's is
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

    started = time.perf_counter()  # the client is built inside, as the harness's is
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


async def _bare_responses(url: str, turns: int) -> float:
    import openai

    started = time.perf_counter()  # the client is built inside, as the harness's is
    client = openai.AsyncOpenAI(api_key=KEY, base_url=url, max_retries=0)
    tools = [
        {
            "type": "function",
            "name": name,
            "description": about,
            "parameters": schema,
            "strict": False,
        }
        for name, about, schema in _tool_specs()
    ]
    items: list[dict[str, Any]] = [{"type": "message", "role": "user", "content": "go"}]
    for _ in range(turns):
        stream = await client.responses.create(
            model="bench-model",
            instructions=SYSTEM,
            input=items,
            tools=tools,
            stream=True,
            store=False,
        )
        calls: dict[str, list[str]] = {}
        async for event in stream:
            if event.type == "response.output_item.added" and event.item.type == "function_call":
                calls[event.item.id] = [event.item.call_id, event.item.name, ""]
            elif event.type == "response.function_call_arguments.delta":
                calls[event.item_id][2] += event.delta
        items += [
            {"type": "function_call", "call_id": i, "name": n, "arguments": raw}
            for i, n, raw in calls.values()
        ]
        items += [
            {"type": "function_call_output", "call_id": i, "output": json.loads(raw)["text"]}
            for i, _, raw in calls.values()
        ]
    elapsed = time.perf_counter() - started
    await client.close()
    return elapsed


async def _bare_google(url: str, turns: int) -> float:
    """google-genai's own loop: the model's parts go back as they came (their thought
    signatures on them), the answers as function responses in one user turn."""
    from google import genai
    from google.genai import types

    started = time.perf_counter()  # the client is built inside, as the harness's is
    client = genai.Client(
        vertexai=False,
        api_key=KEY,
        http_options=types.HttpOptions(
            base_url=url, api_version="v1beta", retry_options=types.HttpRetryOptions(attempts=1)
        ),
    )
    config = types.GenerateContentConfig(
        system_instruction=SYSTEM,
        tools=[
            types.Tool(
                function_declarations=[
                    types.FunctionDeclaration(
                        name=name, description=about, parameters_json_schema=schema
                    )
                    for name, about, schema in _tool_specs()
                ]
            )
        ],
        max_output_tokens=65536,
        thinking_config=types.ThinkingConfig(include_thoughts=True),
    )
    contents: list[types.Content] = [types.Content(role="user", parts=[types.Part(text="go")])]
    for _ in range(turns):
        parts: list[types.Part] = []
        stream = await client.aio.models.generate_content_stream(
            model="bench-model", contents=contents, config=config
        )
        async for chunk in stream:
            for candidate in chunk.candidates or ():
                if candidate.content and candidate.content.parts:
                    parts += candidate.content.parts
        calls = [p.function_call for p in parts if p.function_call]
        contents += [
            types.Content(role="model", parts=parts),
            types.Content(
                role="user",
                parts=[
                    types.Part(
                        function_response=types.FunctionResponse(
                            name=call.name, response={"output": (call.args or {})["text"]}
                        )
                    )
                    for call in calls
                ],
            ),
        ]
    elapsed = time.perf_counter() - started
    await client.aio.aclose()
    client.close()
    return elapsed


# --- the measurement -----------------------------------------------------------------------


async def _measure(turns: int, rounds: int) -> dict[str, Figure]:
    import os

    figures: dict[str, Figure] = {}
    # name, fake server, the SDK's variable prefix, the model and protocol, the bare loop
    sides: list[tuple[str, ScriptedAPI, str, str, str | None, Any]] = [
        (
            "anthropic",
            FakeAnthropic(api_key=KEY, responder=_always_echo),
            "ANTHROPIC",
            "anthropic/bench-model",
            None,
            _bare_anthropic,
        ),
        (
            "openai",
            FakeOpenAI(api_key=KEY, responder=_always_echo),
            "OPENAI",
            "openai/bench-model",
            "openai_compat",
            _bare_openai,
        ),
        (
            "openai_responses",
            FakeResponses(api_key=KEY, responder=_always_echo),
            "OPENAI",
            "openai/bench-model",
            "openai_responses",
            _bare_responses,
        ),
        (
            "google",
            FakeGemini(api_key=KEY, responder=_always_echo),
            "GEMINI",
            "gemini/bench-model",
            None,
            _bare_google,
        ),
    ]
    for name, api, prefix, model_name, protocol, bare in sides:
        with api:
            url = api.url if name in ("anthropic", "google") else f"{api.url}/v1"
            base = "GOOGLE_GEMINI" if name == "google" else prefix
            os.environ[f"{base}_BASE_URL"] = url
            os.environ[f"{prefix}_API_KEY"] = KEY
            model = _choice(model_name, protocol)
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
