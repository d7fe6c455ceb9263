"""The ``openai_responses`` adapter against the strict Responses fake, through the real
``openai`` SDK: reasoning summaries as thinking, encrypted reasoning kept and sent back
with ``store: false``, parallel function calls answered by ``call_id``, usage with
cached and reasoning tokens, refusals, the output limit, errors and images."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import httpx2
import pytest

from harness_tui.core.session.session import Session
from tests.fakes.script import Call, ErrorHere, HTTPError, Say, Think, Usage, reply
from tests.fakes.wiring import fast, responses_fake, write_models_settings
from tests.helpers import EchoTool, check_error_outcome, check_usage, png, run_to_end, types

MODEL = "openai/gpt-5"

EXCHANGE = (
    reply(
        Think("Two files to read; both at once."),
        Say("Reading both files."),
        Call("Echo", {"text": "alpha"}),
        Call("Echo", {"text": "beta"}),
        usage=Usage(input=1200, output=80, cache_read=900),
    ),
    reply(Think("Both came back."), Say("Both came back: alpha and beta."), usage=Usage(40, 12)),
)


async def test_a_tool_loop_keeps_its_encrypted_reasoning_and_records_usage_and_cost(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with responses_fake(monkeypatch) as api:
        write_models_settings({"openai": fast()})
        api.script(*EXCHANGE, reply(Say("Still here.")))
        async with Session(model=MODEL, tools=[EchoTool()]) as session:
            events = await run_to_end(session, "read alpha and beta")
            more = await run_to_end(session, "anything else?")
    assert api.rejections == []
    assert types(events)[:3] == ["PROMPT_RECEIVED", "CHECKPOINT_CREATED", "THINKING_DELTA"]
    thinking = "".join(e.text for e in events if e.type == "THINKING_DELTA")
    assert thinking == "Two files to read; both at once.Both came back."
    done = [e for e in events if e.type == "TOOL_CALL_COMPLETED"]
    assert sorted(e.content for e in done) == ["alpha", "beta"]
    assert events[-1].type == "RUN_COMPLETED" and not events[-1].is_error
    assert more[-1].type == "RUN_COMPLETED" and not more[-1].is_error

    first, second, third = api.requests
    assert first["store"] is False
    assert first["include"] == ["reasoning.encrypted_content"]
    assert first["reasoning"] == {"summary": "auto"}
    assert first["max_output_tokens"] == 128000
    assert first["tools"][0]["name"] == "Echo" and first["tools"][0]["type"] == "function"
    # The follow-up carries the reasoning back encrypted as issued, then the text, the
    # two calls and their outputs, by call_id, with no item ids (nothing is stored).
    items = second["input"]
    assert [i.get("type") for i in items] == [
        "message",
        "reasoning",
        "message",
        "function_call",
        "function_call",
        "function_call_output",
        "function_call_output",
    ]
    reasoning = items[1]
    assert reasoning["encrypted_content"] in api.issued
    assert reasoning["summary"] == [
        {"type": "summary_text", "text": "Two files to read; both at once."}
    ]
    assert not any("id" in item for item in items)
    calls, outputs = items[3:5], items[5:7]
    assert [c["call_id"] for c in calls] == [o["call_id"] for o in outputs]
    assert [json.loads(c["arguments"]) for c in calls] == [{"text": "alpha"}, {"text": "beta"}]
    assert [o["output"] for o in outputs] == ["alpha", "beta"]
    # the next prompt: both responses' reasoning goes back
    sent = [i["encrypted_content"] for i in third["input"] if i.get("type") == "reasoning"]
    assert len(sent) == 2 and all(s in api.issued for s in sent)

    # gpt-5: $1.25 in, $10 out, $0.125 cached, per million tokens
    check_usage(events, [1200, 40], [900, 0], [80, 12], price=(1.25, 10, 0.125))


async def test_a_refusal_is_a_visible_stop_and_is_not_replayed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with responses_fake(monkeypatch) as api:
        write_models_settings({"openai": fast()})
        api.script(reply(Say("I can't help with that."), stop="refusal"), reply(Say("Fine.")))
        async with Session(model=MODEL) as session:
            events = await run_to_end(session, "something bad")
            await run_to_end(session, "something else")
    assert session.messages[1].stop_reason == "refusal"
    assert "I can't help with that." in session.messages[1].text
    assert any(e.type == "RUN_COMPLETED" for e in events)
    assert "I can't help" not in json.dumps(api.requests[1]["input"])


@pytest.mark.parametrize(
    ("stop", "expected"), [("length", "max_tokens"), ("content_filter", "content_filter")]
)
async def test_an_incomplete_response_says_why(
    monkeypatch: pytest.MonkeyPatch, stop: str, expected: str
) -> None:
    with responses_fake(monkeypatch) as api:
        write_models_settings({"openai": fast()})
        api.script(reply(Say("Half an"), stop=stop))
        async with Session(model=MODEL) as session:
            await run_to_end(session, "go")
    assert session.messages[1].stop_reason == expected


OVERFLOW = (
    "Your input exceeds the context window of this model. Please adjust your input and try again."
)
ERRORS = {
    # (script, the ERROR event's code or None, retried first, the run's result)
    "429 then an answer": (
        (HTTPError(429, message="Rate limit reached for gpt-5"), reply(Say("ok"))),
        None,
        True,
        "ok",
    ),
    "an error event mid-answer": (
        (reply(Say("partial"), ErrorHere("server_error", "The server had an error.")),),
        "server_error",
        False,
        "partial",
    ),
    "response.failed": ((reply(Say("half"), stop="failed"),), "server_error", False, "half"),
    "the context window": (
        (HTTPError(400, message=OVERFLOW, kind="invalid_request_error"),),
        "context_overflow",
        False,
        "",
    ),
    "no credit": (
        (
            HTTPError(
                429,
                message="You exceeded your current quota, please check your plan and billing "
                "details.",
                kind="insufficient_quota",
            ),
        ),
        "quota",
        False,
        "",
    ),
}


@pytest.mark.parametrize("name", list(ERRORS))
async def test_errors_are_classified_and_retried_where_a_retry_can_help(
    monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    script, code, retried, result = ERRORS[name]
    with responses_fake(monkeypatch) as api:
        write_models_settings({"openai": fast()})
        api.script(*script)
        async with Session(model=MODEL) as session:
            events = await run_to_end(session, "go")
    check_error_outcome(events, code, retried, result)
    assert events[-1].is_error is (code is not None)


async def test_reasoning_the_api_cannot_verify_is_dropped_and_the_request_sent_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A key of another organisation cannot read the reasoning encrypted for the first
    (openai/codex#8119): the request goes once more without it, instead of breaking the
    session for good."""
    with responses_fake(monkeypatch) as api:
        write_models_settings({"openai": fast()})
        api.script(*EXCHANGE, reply(Say("Still here.")))
        async with Session(model=MODEL, tools=[EchoTool()]) as session:
            await run_to_end(session, "read alpha and beta")
            api.issued.clear()  # as if the key now belonged to another organisation
            events = await run_to_end(session, "anything else?")
    assert len(api.rejections) == 1 and "could not be verified" in api.rejections[0]
    assert [e.type for e in events if e.type == "RETRYING"] == ["RETRYING"]
    assert events[-1].type == "RUN_COMPLETED" and not events[-1].is_error
    assert not any(i.get("type") == "reasoning" for i in api.requests[-1]["input"])


async def test_tool_images_go_back_inside_the_function_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Responses API takes a list of input parts as a function call's output."""
    (tmp_path / "dot.png").write_bytes(png())
    with responses_fake(monkeypatch) as api:
        write_models_settings({"openai": fast()})
        api.script(reply(Call("Read", {"file_path": "dot.png"})), reply(Say("A red square.")))
        async with Session(model=MODEL, cwd=tmp_path) as session:
            events = await run_to_end(session, "what is in dot.png?")
    assert api.rejections == [] and not events[-1].is_error
    output = api.requests[1]["input"][-1]
    assert output["type"] == "function_call_output"
    text, image = output["output"]
    assert text["type"] == "input_text" and "image/png" in text["text"]
    assert image["type"] == "input_image"
    assert image["image_url"] == f"data:image/png;base64,{base64.b64encode(png()).decode()}"


def test_the_fake_refuses_what_the_api_refuses() -> None:
    """Each rule of the fake, with the API's own words (sources in responses_server)."""
    from tests.fakes.responses_server import FakeResponses

    with FakeResponses() as api:
        headers = {"authorization": f"Bearer {api.api_key}"}

        def post(items: list[dict[str, object]]) -> httpx2.Response:
            body = {"model": "gpt-5", "input": items, "store": False, "stream": True}
            return httpx2.post(f"{api.base_url}/responses", json=body, headers=headers, timeout=10)

        user = {"role": "user", "content": "hi"}
        api.issued["gAAAAAgood"] = "rs_1"
        api.call_reasoning["fc_1"] = "rs_1"
        call = {"type": "function_call", "call_id": "call_1", "name": "Echo", "arguments": "{}"}
        output = {"type": "function_call_output", "call_id": "call_1", "output": "ok"}
        reasoning = {"type": "reasoning", "summary": [], "encrypted_content": "gAAAAAgood"}
        cases = [
            (
                [user, {"type": "reasoning", "id": "rs_1", "summary": []}, call, output],
                404,
                "Items are not persisted when `store` is set to false",
            ),
            (
                [user, {**reasoning, "encrypted_content": "gAAAAAforged"}, call, output],
                400,
                "could not be verified",
            ),
            (
                [user, {**call, "id": "fc_1"}, output],
                400,
                "was provided without its required 'reasoning' item: 'rs_1'",
            ),
            ([user, reasoning, user], 400, "was provided without its required following item"),
            ([user, call], 400, "No tool output found for function call call_1."),
            (
                [user, output],
                400,
                "No tool call found for function call output with call_id call_1.",
            ),
            (
                [{"role": "tool", "content": "x"}],
                400,
                "Supported values are: 'assistant', 'system', 'developer', and 'user'.",
            ),
        ]
        for items, status, words in cases:
            answer = post(items)
            assert answer.status_code == status, (items, answer.text)
            assert words in answer.json()["error"]["message"]
        assert post([user, reasoning, {**call, "id": "fc_1"}, output]).status_code == 200
        unknown = httpx2.post(
            f"{api.base_url}/responses",
            json={"model": "gpt-5", "messages": []},
            headers=headers,
            timeout=10,
        )
        assert unknown.json()["error"]["code"] == "unknown_parameter"
