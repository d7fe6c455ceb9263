"""Both SDK adapters, each against its fake API through the real SDK, behave alike:
the same events, the same history; and each sends what its API expects."""

from __future__ import annotations

import json

import pytest

from harness_tui.core.events import Event
from harness_tui.core.session.session import Session
from tests.fakes.script import Call, Redacted, Say, Think, Usage, reply
from tests.fakes.wiring import (
    anthropic_fake,
    fast,
    neutral_history,
    openai_fake,
    write_models_settings,
)
from tests.helpers import EchoTool, check_usage, run_to_end, types

#: DeepSeek and Kimi take the model's reasoning back on assistant messages.
REASONING = frozenset({"reasoning_content"})

EXCHANGE = (
    reply(
        Think("Two files to read; both at once."),
        Say("Reading both files."),
        Call("Echo", {"text": "alpha"}),
        Call("Echo", {"text": "beta"}),
        usage=Usage(input=1200, output=80, cache_read=900, cache_write=300),
    ),
    reply(
        Say("Both came back: alpha and beta."), usage=Usage(input=40, output=12, cache_read=2400)
    ),
)


async def _run(model: str) -> tuple[list[Event], Session]:
    async with Session(model=model, tools=[EchoTool()]) as session:
        events = await run_to_end(session, "read alpha and beta")
    return events, session


async def test_one_exchange_gives_the_same_events_and_history_on_both_adapters(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with (
        anthropic_fake(monkeypatch) as anthropic_api,
        openai_fake(monkeypatch, extra_message_keys=REASONING) as openai_api,
    ):
        write_models_settings({"anthropic": fast(), "deepseek": fast(base_url=openai_api.base_url)})
        monkeypatch.setenv("DEEPSEEK_API_KEY", openai_api.api_key)
        anthropic_api.script(*EXCHANGE)
        openai_api.script(*EXCHANGE)
        a_events, a_session = await _run("anthropic/claude-sonnet-4-6")
        o_events, o_session = await _run("deepseek/deepseek-flash")
    assert anthropic_api.rejections == [] and openai_api.rejections == []
    assert types(a_events) == types(o_events)
    assert types(a_events)[:5] == [
        "PROMPT_RECEIVED",
        "CHECKPOINT_CREATED",
        "THINKING_DELTA",
        "THINKING_DELTA",
        "THINKING_DELTA",
    ]
    assert "TOOL_CALL_COMPLETED" in types(a_events) and a_events[-1].type == "RUN_COMPLETED"
    assert neutral_history(a_session.messages) == neutral_history(o_session.messages)
    thinking = a_session.messages[1].content[0]
    assert thinking.type == "thinking" and thinking.text == "Two files to read; both at once."
    # Only Anthropic signs its thinking; the signature is what differs.
    assert thinking.signature and o_session.messages[1].content[0].signature is None
    for events in (a_events, o_events):
        usage = check_usage(events, [1200, 40], [900, 2400])
        assert usage[0].usage.cache_write_tokens == 300
        assert usage[0].context_tokens == 1200 + 900 + 300 + 80
        assert all(u.cost_usd and u.cost_usd > 0 for u in usage)
    a_usage = next(e for e in a_events if e.type == "USAGE_UPDATED")
    # Sonnet: $3 in, $15 out, $0.30 cache read, $3.75 cache write, per million tokens.
    assert a_usage.cost_usd == pytest.approx((1200 * 3 + 80 * 15 + 900 * 0.3 + 300 * 3.75) / 1e6)
    assert a_usage.context_window == 1_000_000


async def test_anthropic_request_caches_prompt_and_tools_and_returns_signed_thinking(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with anthropic_fake(monkeypatch) as api:
        write_models_settings({"anthropic": fast()})
        api.script(*EXCHANGE)
        events, session = await _run("anthropic/claude-haiku-4-5")
    assert api.rejections == []
    first, second = api.requests
    headers = api.headers[0]
    assert headers["authorization"] == f"Bearer {api.api_key}"
    assert headers["anthropic-version"]
    assert first["model"] == "claude-haiku-4-5" and first["max_tokens"] == 64000
    # 4.5 models think with a budget; 4.6 and later adaptively (test_provider_families)
    assert first["thinking"] == {"type": "enabled", "budget_tokens": 8000}
    assert not {"temperature", "top_p", "top_k"} & set(first)
    assert first["system"][-1]["cache_control"] == {"type": "ephemeral"}
    assert first["tools"][-1]["cache_control"] == {"type": "ephemeral"}
    assert first["messages"][-1]["content"][-1]["cache_control"] == {"type": "ephemeral"}
    # The second request carries the thinking back, signed, then both results in one turn.
    assistant, results = second["messages"][1], second["messages"][2]
    assert [b["type"] for b in assistant["content"]] == ["thinking", "text", "tool_use", "tool_use"]
    assert assistant["content"][0]["signature"] == session.messages[1].content[0].signature
    assert [b["type"] for b in results["content"]] == ["tool_result", "tool_result"]
    assert "cache_control" not in json.dumps(first["messages"][:-1])
    assert "api_key" not in json.dumps([e.model_dump() for e in events])


async def test_openai_request_uses_the_providers_quirks(monkeypatch: pytest.MonkeyPatch) -> None:
    with openai_fake(monkeypatch, extra_message_keys=REASONING) as api:
        write_models_settings({"openai": fast(), "deepseek": fast(base_url=api.base_url)})
        monkeypatch.setenv("DEEPSEEK_API_KEY", api.api_key)
        api.script(*EXCHANGE, *EXCHANGE)
        await _run("openai/gpt-4.1")  # chat completions (gpt-5 speaks Responses)
        await _run("deepseek/deepseek-flash")
    assert api.rejections == []
    gpt, gpt_second, deepseek, deepseek_second = api.requests
    assert gpt["stream_options"] == {"include_usage": True}
    assert gpt["max_completion_tokens"] == 32768 and "max_tokens" not in gpt
    assert deepseek["max_tokens"] == 393216 and "max_completion_tokens" not in deepseek
    # DeepSeek V4 wants its reasoning back on every assistant message
    assert deepseek_second["messages"][2]["reasoning_content"] == "Two files to read; both at once."
    assert gpt["messages"][0]["role"] == "system"
    assert gpt["tools"][0]["function"]["name"] == "Echo"
    assistant = gpt_second["messages"][2]
    assert assistant["content"] == "Reading both files."
    assert [c["function"]["name"] for c in assistant["tool_calls"]] == ["Echo", "Echo"]
    # OpenAI's chat completions take no reasoning back.
    assert "reasoning_content" not in assistant
    tool_messages = gpt_second["messages"][3:5]
    assert [m["tool_call_id"] for m in tool_messages] == [c["id"] for c in assistant["tool_calls"]]


@pytest.mark.parametrize("style", ["interleave", "same_index", "no_index", "whole"])
async def test_parallel_tool_calls_are_told_apart_however_they_arrive(
    monkeypatch: pytest.MonkeyPatch, style: str
) -> None:
    """Interleaved fragments; every call at ``index`` 0, told apart by id; no ``index``
    at all; whole calls in one chunk. (The providers that send each shape, with their
    sources, are in the wire corpus: tests/wire.)"""
    with openai_fake(monkeypatch, calls_style=style) as api:
        write_models_settings({"openai": fast()})
        api.script(*EXCHANGE)
        events, session = await _run("openai/gpt-4.1")
    calls = session.messages[1].tool_calls
    assert [c.input for c in calls] == [{"text": "alpha"}, {"text": "beta"}]
    # The two calls run in parallel: they may finish in either order.
    results = {e.tool_call_id: e.content for e in events if e.type == "TOOL_CALL_COMPLETED"}
    assert results == {calls[0].id: "alpha", calls[1].id: "beta"}


async def test_a_kimi_style_model_gets_its_reasoning_back(monkeypatch: pytest.MonkeyPatch) -> None:
    with openai_fake(monkeypatch, extra_message_keys=frozenset({"reasoning_content"})) as api:
        write_models_settings({"moonshot": fast(base_url=api.base_url)})
        monkeypatch.setenv("MOONSHOT_API_KEY", api.api_key)
        api.script(*EXCHANGE)
        await _run("moonshot/kimi-k3")
    assistant = api.requests[1]["messages"][2]
    assert assistant["reasoning_content"] == "Two files to read; both at once."


async def test_both_adapters_reuse_one_connection_across_turns(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A response read only up to its last event cannot give its connection back to the
    pool; every turn would then pay for a new connection."""
    with anthropic_fake(monkeypatch) as anthropic_api, openai_fake(monkeypatch) as openai_api:
        write_models_settings({"anthropic": fast(), "openai": fast()})
        for api in (anthropic_api, openai_api):
            api.script(*EXCHANGE, *EXCHANGE)
        for model in ("haiku", "openai/gpt-4.1"):
            async with Session(model=model, tools=[EchoTool()]) as session:
                await run_to_end(session, "one")
                await run_to_end(session, "two")
    for api in (anthropic_api, openai_api):
        assert len(api.requests) == 4 and api.connections == 1


async def test_redacted_thinking_goes_back_unchanged(monkeypatch: pytest.MonkeyPatch) -> None:
    with anthropic_fake(monkeypatch) as api:
        write_models_settings({"anthropic": fast()})
        api.script(
            reply(
                Think("visible"),
                Redacted("sealed-123"),
                Say("Calling."),
                Call("Echo", {"text": "x"}),
            ),
            reply(Say("Done.")),
        )
        events, session = await _run("sonnet")
    assert api.rejections == [] and events[-1].result == "Done."
    assert [b["type"] for b in api.requests[1]["messages"][1]["content"]] == [
        "thinking",
        "redacted_thinking",
        "text",
        "tool_use",
    ]
    assert api.requests[1]["messages"][1]["content"][1]["data"] == "sealed-123"
    thinking = [b for b in session.messages[1].content if b.type == "thinking"]
    assert [b.text for b in thinking] == ["visible", ""]  # nothing to show for the sealed one


async def test_proxies_can_get_the_key_as_x_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    with anthropic_fake(monkeypatch) as api:
        write_models_settings({"anthropic": fast(auth_header="x-api-key")})
        await _run("haiku")
    assert api.headers[0]["x-api-key"] == api.api_key
