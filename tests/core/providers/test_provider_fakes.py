"""The fake APIs are strict: invalid requests get a 400 in the real error body shape,
as the real SDKs see it. (Otherwise tests passing against them would prove little.)"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from typing import Any

import anthropic
import httpx2
import openai
import pytest

from tests.fakes.anthropic_server import FakeAnthropic, sign
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.script import Call, Say, Think, reply

TOOL = {"name": "Echo", "description": "echo", "input_schema": {"type": "object"}}


@pytest.fixture
async def anthropic_api() -> AsyncIterator[tuple[FakeAnthropic, anthropic.AsyncAnthropic]]:
    with FakeAnthropic() as api:
        client = anthropic.AsyncAnthropic(api_key=api.api_key, base_url=api.url, max_retries=0)
        yield api, client  # type: ignore[misc]
        await client.close()


@pytest.fixture
async def openai_api() -> AsyncIterator[tuple[FakeOpenAI, openai.AsyncOpenAI]]:
    with FakeOpenAI() as api:
        client = openai.AsyncOpenAI(api_key=api.api_key, base_url=api.base_url, max_retries=0)
        yield api, client  # type: ignore[misc]
        await client.close()


def tool_exchange(api: FakeAnthropic, thinking: bool = True) -> dict[str, Any]:
    """A valid request continuing a tool loop, with signed thinking."""
    first: list[dict[str, Any]] = [
        {"type": "text", "text": "Checking."},
        {"type": "tool_use", "id": "toolu_1", "name": "Echo", "input": {}},
    ]
    if thinking:
        first.insert(0, {"type": "thinking", "thinking": "hm", "signature": sign(api.secret, "hm")})
    return {
        "model": "claude-haiku-4-5",
        "max_tokens": 4096,
        "tools": [TOOL],
        "thinking": {"type": "enabled", "budget_tokens": 2048},
        "messages": [
            {"role": "user", "content": "go"},
            {"role": "assistant", "content": first},
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "x"}],
            },
        ],
    }


def broken(params: dict[str, Any], change: Any) -> dict[str, Any]:
    params = copy.deepcopy(params)
    change(params)
    return params


ANTHROPIC_INVALID = {
    "roles do not alternate": (
        lambda p: p["messages"].insert(1, {"role": "user", "content": "again"}),
        "roles must alternate",
    ),
    "first message from the assistant": (
        lambda p: p["messages"].insert(0, {"role": "assistant", "content": "hi"}),
        'first message must use the "user" role',
    ),
    "tool_use without its result": (
        lambda p: p["messages"][2]["content"].__setitem__(0, {"type": "text", "text": "?"}),
        "`tool_use` ids were found without `tool_result` blocks",
    ),
    "result for an unknown call": (
        lambda p: p["messages"][2]["content"].append(
            {"type": "tool_result", "tool_use_id": "toolu_9", "content": "?"}
        ),
        "unexpected `tool_use_id`",
    ),
    "thinking signed for other text": (
        lambda p: p["messages"][1]["content"][0].__setitem__("thinking", "changed"),
        "Invalid `signature` in `thinking` block",
    ),
    "thinking without signature": (
        lambda p: p["messages"][1]["content"][0].pop("signature"),
        "signature: Field required",
    ),
    "thinking on, continued turn starts with text": (
        lambda p: p["messages"][1]["content"].pop(0),
        "must start with a thinking block",
    ),
    "whitespace-only text": (
        lambda p: p["messages"][1]["content"].__setitem__(1, {"type": "text", "text": "  "}),
        "non-whitespace text",
    ),
    "budget not below max_tokens": (
        lambda p: p.__setitem__("thinking", {"type": "enabled", "budget_tokens": 4096}),
        "`max_tokens` must be greater than `thinking.budget_tokens`",
    ),
    "bad tool_use id": (
        lambda p: (
            p["messages"][1]["content"][2].__setitem__("id", "functions.Echo:0"),
            p["messages"][2]["content"][0].__setitem__("tool_use_id", "functions.Echo:0"),
        ),
        "String should match pattern",
    ),
    "five cache breakpoints": (
        lambda p: p.__setitem__(
            "system",
            [
                {"type": "text", "text": f"part {i}", "cache_control": {"type": "ephemeral"}}
                for i in range(5)
            ],
        ),
        "A maximum of 4 blocks with cache_control",
    ),
}


async def test_the_anthropic_fake_accepts_a_valid_tool_loop(anthropic_api) -> None:
    api, client = anthropic_api
    stream = await client.messages.create(**tool_exchange(api), stream=True)
    kinds = [event.type async for event in stream]
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    assert api.rejections == []


@pytest.mark.parametrize("case", list(ANTHROPIC_INVALID))
async def test_the_anthropic_fake_refuses_what_the_api_refuses(case: str, anthropic_api) -> None:
    api, client = anthropic_api
    change, message = ANTHROPIC_INVALID[case]
    with pytest.raises(anthropic.BadRequestError) as caught:
        await client.messages.create(**broken(tool_exchange(api), change), stream=True)
    error = caught.value
    assert error.status_code == 400 and error.type == "invalid_request_error"
    assert error.body["type"] == "error"  # type: ignore[index]
    assert message in error.body["error"]["message"]  # type: ignore[index]
    assert api.requests == []


async def test_the_anthropic_fake_refuses_removed_parameters_and_missing_headers(
    anthropic_api,
) -> None:
    api, client = anthropic_api
    with pytest.raises(TypeError):  # the SDK itself no longer takes it
        await client.messages.create(**tool_exchange(api), temperature=0.5, stream=True)  # type: ignore[call-arg]
    with pytest.raises(anthropic.BadRequestError) as caught:
        await client.messages.create(
            **tool_exchange(api), extra_body={"temperature": 0.5}, stream=True
        )
    assert "temperature: Extra inputs are not permitted" in str(caught.value)
    async with httpx2.AsyncClient() as http:
        response = await http.post(
            f"{api.url}/v1/messages",
            json=tool_exchange(api),
            headers={"authorization": f"Bearer {api.api_key}"},
        )
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "anthropic-version: header is required"
    bad_key = anthropic.AsyncAnthropic(api_key="nope", base_url=api.url, max_retries=0)
    with pytest.raises(anthropic.AuthenticationError) as caught_auth:
        await bad_key.messages.create(**tool_exchange(api), stream=True)
    await bad_key.close()
    assert caught_auth.value.type == "authentication_error"


def openai_exchange() -> dict[str, Any]:
    return {
        "model": "gpt-4.1",
        "stream": True,
        "stream_options": {"include_usage": True},
        "tools": [{"type": "function", "function": {"name": "Echo", "parameters": {}}}],
        "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "go"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "Echo", "arguments": "{}"},
                    },
                    {
                        "id": "call_2",
                        "type": "function",
                        "function": {"name": "Echo", "arguments": "{}"},
                    },
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "a"},
            {"role": "tool", "tool_call_id": "call_2", "content": "b"},
        ],
    }


OPENAI_INVALID = {
    "a call without its tool message": (
        lambda p: p["messages"].pop(4),
        "did not have response messages: call_2",
    ),
    "user message before the results": (
        lambda p: p["messages"].insert(3, {"role": "user", "content": "wait"}),
        "must be followed by tool messages",
    ),
    "tool message answering no call": (
        lambda p: p["messages"][3].__setitem__("tool_call_id", "call_9"),
        "must be a response to a preceeding message with 'tool_calls'",
    ),
    "unknown message field": (
        lambda p: p["messages"][2].__setitem__("reasoning_content", "hm"),
        "'reasoning_content' was unexpected",
    ),
    "id over 40 characters": (
        lambda p: (
            p["messages"][2]["tool_calls"][0].__setitem__("id", "c" * 41),
            p["messages"][3].__setitem__("tool_call_id", "c" * 41),
        ),
        "maximum length 40",
    ),
    "assistant with neither content nor calls": (
        lambda p: p["messages"].insert(2, {"role": "assistant", "content": None}),
        "expected a string, got null",
    ),
}


async def test_the_openai_fake_accepts_a_valid_tool_loop(openai_api) -> None:
    api, client = openai_api
    api.script(reply(Think("hm"), Say("Done."), Call("Echo", {"text": "x"})))
    stream = await client.chat.completions.create(**openai_exchange())
    chunks = [chunk async for chunk in stream]
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 5
    assert chunks[1].choices[0].delta.model_extra == {"reasoning_content": "hm"}
    assert api.rejections == []


@pytest.mark.parametrize("case", list(OPENAI_INVALID))
async def test_the_openai_fake_refuses_what_the_api_refuses(case: str, openai_api) -> None:
    api, client = openai_api
    change, message = OPENAI_INVALID[case]
    with pytest.raises(openai.BadRequestError) as caught:
        await client.chat.completions.create(**broken(openai_exchange(), change))
    error = caught.value
    assert error.status_code == 400 and error.type == "invalid_request_error"
    assert message in error.body["message"]  # type: ignore[index]
    assert set(error.body) == {"message", "type", "param", "code"}  # type: ignore[arg-type]
    assert api.requests == []


async def test_the_openai_fake_refuses_unknown_arguments_and_keys(openai_api) -> None:
    api, client = openai_api
    with pytest.raises(openai.BadRequestError) as caught:
        await client.chat.completions.create(**openai_exchange(), extra_body={"thinking": {}})
    assert "Unrecognized request argument supplied: thinking" in str(caught.value)
    params = openai_exchange()
    params["stream"] = False
    with pytest.raises(openai.BadRequestError) as caught:
        await client.chat.completions.create(**params)
    assert "only allowed when 'stream' is enabled" in str(caught.value)
    bad_key = openai.AsyncOpenAI(api_key="sk-nope-1234", base_url=api.base_url, max_retries=0)
    with pytest.raises(openai.AuthenticationError) as caught_auth:
        await bad_key.chat.completions.create(**openai_exchange())
    await bad_key.close()
    assert caught_auth.value.code == "invalid_api_key"
