# Over 500 lines as one unit: the Gemini adapter against one strict fake.
"""The ``google`` adapter (Gemini's native API) on the real ``google-genai`` SDK against
the strict Gemini fake: thought summaries as thinking, parallel function calls answered
in one user turn, thought signatures sent back on the parts they came with
(ai.google.dev/gemini-api/docs/thought-signatures), usage with cached and thinking
tokens, safety stops, Google's errors, the placeholder for another model's calls."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from harness_tui.core.messages import (
    AssistantMessage,
    ThinkingBlock,
    ToolCallBlock,
    ToolResultMessage,
    UserMessage,
)
from harness_tui.core.providers.base import (
    ModelRequest,
    RetryNotice,
    StreamChunk,
    StreamEnd,
    StreamFailed,
    ThinkingSignature,
    UsageChunk,
)
from harness_tui.core.providers.catalogue import load_catalogue
from harness_tui.core.providers.endpoint import resolve_endpoint
from harness_tui.core.providers.models import _factory
from harness_tui.core.providers.protocols.google import GoogleProvider
from harness_tui.core.session.session import Session
from tests.fakes.google_server import PLACEHOLDER, FakeGemini, decode_signature, gemini_fake
from tests.fakes.script import (
    Call,
    CutHere,
    ErrorHere,
    HTTPError,
    MalformedHere,
    Say,
    Think,
    Usage,
    reply,
)
from tests.fakes.wiring import FAST_RETRY, fast, write_models_settings
from tests.helpers import (
    EchoTool,
    check_error_outcome,
    check_usage,
    history_across_a_model_switch,
    png,
    run_to_end,
    types,
)

MODEL = "gemini/gemini-3.8-flash"
MISSING = "Function call is missing a thought_signature in functionCall parts"

EXCHANGE = (
    reply(
        Think("Two texts to echo; both at once."),
        Say("Echoing both."),
        Call("Echo", {"text": "alpha"}),
        Call("Echo", {"text": "beta"}),
        usage=Usage(input=1200, output=80, cache_read=900),
    ),
    reply(
        Say("Both came back: alpha and beta."), usage=Usage(input=40, output=12, cache_read=2400)
    ),
)


def _parts(request: dict[str, Any], role: str) -> list[list[dict[str, Any]]]:
    return [c["parts"] for c in request["contents"] if c["role"] == role]


async def test_a_tool_loop_sends_each_signature_back_on_its_part_and_counts_usage_and_cost(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Parallel calls: "thought_signature is only attached to the first functionCall
    part"; a response without calls signs its last part (an empty text part in a
    stream); both go back "in the exact part" they came with."""
    with gemini_fake(monkeypatch) as api:
        write_models_settings({"gemini": fast()})
        api.script(*EXCHANGE, reply(Say("Still here.")))
        async with Session(model=MODEL, tools=[EchoTool()]) as session:
            events = await run_to_end(session, "echo alpha and beta")
            more = await run_to_end(session, "anything else?")
    assert api.rejections == []
    assert api.models == ["gemini-3.8-flash"] * 3
    assert api.headers[0]["x-goog-api-key"] == api.api_key
    assert types(events)[:3] == ["PROMPT_RECEIVED", "CHECKPOINT_CREATED", "THINKING_DELTA"]
    thinking = "".join(e.text for e in events if e.type == "THINKING_DELTA")
    assert thinking == "Two texts to echo; both at once."
    done = [e for e in events if e.type == "TOOL_CALL_COMPLETED"]
    assert sorted(e.content for e in done) == ["alpha", "beta"]
    assert events[-1].type == "RUN_COMPLETED" and not events[-1].is_error
    assert more[-1].type == "RUN_COMPLETED" and more[-1].result == "Still here."

    first, second, third = api.requests
    assert first["generationConfig"] == {
        "maxOutputTokens": 65536,
        "thinkingConfig": {"includeThoughts": True},
    }
    assert first["tools"][0]["functionDeclarations"][0]["name"] == "Echo"
    assert first["tools"][0]["functionDeclarations"][0]["parametersJsonSchema"] == (
        EchoTool.input_schema
    )
    # The follow-up: the model turn as it came (unsigned thought summaries stay out),
    # the signature on the first call only, both responses in one user turn, in order.
    model_turn = _parts(second, "model")[0]
    assert [next(iter(p.keys() - {"thoughtSignature"})) for p in model_turn] == [
        "text",
        "functionCall",
        "functionCall",
    ]
    call_a, call_b = model_turn[1:]
    assert decode_signature(call_a["thoughtSignature"]) == api.call_signature(
        "Echo", {"text": "alpha"}
    )
    assert "thoughtSignature" not in call_b
    answers = second["contents"][-1]
    assert answers["role"] == "user"
    assert [p["functionResponse"] for p in answers["parts"]] == [
        {"name": "Echo", "response": {"output": "alpha"}},
        {"name": "Echo", "response": {"output": "beta"}},
    ]
    # The text answer's signature goes back on its text part.
    answer = _parts(third, "model")[1]
    assert answer == [
        {
            "text": "Both came back: alpha and beta.",
            "thoughtSignature": answer[0]["thoughtSignature"],
        }
    ]
    assert decode_signature(answer[0]["thoughtSignature"]) == api.sign(
        "text", "Both came back: alpha and beta."
    )

    # promptTokenCount includes the cached tokens; thoughtsTokenCount is output.
    # 3.8 Flash: $0.75 in, $3.75 out (thinking included), $0.075 cached, per million.
    check_usage(events, [1200, 40], [900, 2400], [80, 12], price=(0.75, 3.75, 0.075))


async def test_call_ids_gemini_gives_go_back_on_calls_and_responses(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with gemini_fake(monkeypatch, call_ids=True) as api:
        write_models_settings({"gemini": fast()})
        api.script(*EXCHANGE)
        async with Session(model=MODEL, tools=[EchoTool()]) as session:
            await run_to_end(session, "echo alpha and beta")
    assert api.rejections == []
    calls = [p["functionCall"] for p in _parts(api.requests[1], "model")[0][1:]]
    answers = [p["functionResponse"] for p in api.requests[1]["contents"][-1]["parts"]]
    assert [c["id"] for c in calls] == [a["id"] for a in answers]
    assert [b.id for b in session.messages[1].tool_calls] == [c["id"] for c in calls]


async def test_a_signed_thought_goes_back_as_a_thought_part(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with gemini_fake(monkeypatch, sign_thoughts=True) as api:
        write_models_settings({"gemini": fast()})
        api.script(reply(Think("Plain greeting."), Say("Hello.")), reply(Say("Again.")))
        async with Session(model=MODEL) as session:
            await run_to_end(session, "hi")
            await run_to_end(session, "again")
    thought = session.messages[1].content[0]
    assert isinstance(thought, ThinkingBlock) and thought.text == "Plain greeting."
    sent = _parts(api.requests[1], "model")[0]
    assert sent[0]["thought"] is True and sent[0]["text"] == "Plain greeting."
    assert decode_signature(sent[0]["thoughtSignature"]) == api.sign("thought", "Plain greeting.")
    assert sent[1]["text"] == "Hello."


@pytest.mark.parametrize("stop", ["SAFETY", "RECITATION", "PROHIBITED_CONTENT", "PROMPT_BLOCKED"])
async def test_a_safety_stop_is_visible_and_not_replayed(
    monkeypatch: pytest.MonkeyPatch, stop: str
) -> None:
    with gemini_fake(monkeypatch) as api:
        write_models_settings({"gemini": fast()})
        api.script(reply(Say("Here is how to"), stop=stop), reply(Say("Fine.")))
        async with Session(model=MODEL) as session:
            events = await run_to_end(session, "something bad")
            await run_to_end(session, "something else")
    assert api.rejections == []
    withheld = session.messages[1]
    assert isinstance(withheld, AssistantMessage) and withheld.stop_reason == "content_filter"
    if stop == "PROMPT_BLOCKED":  # nothing came: the stop is named in the answer
        assert withheld.text == "[Gemini blocked the prompt (blockReason PROHIBITED_CONTENT)]"
    errors = [e for e in events if e.type == "ERROR"]
    assert [e.code for e in errors] == ["content_filter"]
    assert events[-1].type == "RUN_COMPLETED"
    # Not replayed: the two prompts make one user turn.
    assert api.requests[1]["contents"] == [
        {"role": "user", "parts": [{"text": "something bad"}, {"text": "something else"}]}
    ]


async def test_the_output_limit_is_a_max_tokens_stop(monkeypatch: pytest.MonkeyPatch) -> None:
    with gemini_fake(monkeypatch) as api:
        write_models_settings({"gemini": fast()})
        api.script(reply(Say("Half an"), stop="MAX_TOKENS"))
        async with Session(model=MODEL) as session:
            await run_to_end(session, "go")
    assert session.messages[1].stop_reason == "max_tokens"


OVERFLOW = "The input token count (1054016) exceeds the maximum number of tokens allowed (1048576)."
QUOTA = (
    "You exceeded your current quota, please check your plan and billing details. For more "
    "information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.\n"
    "* Quota exceeded for metric: generativelanguage.googleapis.com/"
    "generate_content_free_tier_requests, limit: 0, model: gemini-3.1-pro"
)
ERRORS = {
    # (script, the ERROR event's code or None, retried first, the run's result)
    "429 RESOURCE_EXHAUSTED then an answer": (
        (
            HTTPError(429, message="Resource has been exhausted (e.g. check quota)."),
            reply(Say("ok")),
        ),
        None,
        True,
        "ok",
    ),
    "503 UNAVAILABLE then an answer": (
        (
            HTTPError(503, message="The model is overloaded. Please try again later."),
            reply(Say("ok")),
        ),
        None,
        True,
        "ok",
    ),
    "the context window (400 INVALID_ARGUMENT)": (
        (HTTPError(400, message=OVERFLOW),),
        "context_overflow",
        False,
        "",
    ),
    "a free tier with no quota (429 limit: 0)": (
        (HTTPError(429, message=QUOTA),),
        "quota",
        False,
        "",
    ),
    "an error event mid-answer": (
        (reply(Say("partial"), ErrorHere("overloaded_error")),),
        "overloaded",
        False,
        "partial",
    ),
    "a malformed function call, then a good one": (
        (reply(stop="MALFORMED_FUNCTION_CALL"), reply(Say("ok"))),
        None,
        True,
        "ok",
    ),
    "a stream cut before its finishReason, then an answer": (
        (reply(CutHere()), reply(Say("ok"))),
        None,
        True,
        "ok",
    ),
    "data that is not JSON, then an answer": (
        (reply(MalformedHere()), reply(Say("ok"))),
        None,
        True,
        "ok",
    ),
}


@pytest.mark.parametrize("name", list(ERRORS))
async def test_errors_are_classified_and_retried_where_a_retry_can_help(
    monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """Wordings: context overflow from gemini-cli#13006 and #4118, the free tier's
    "limit: 0" from continuedev/continue#12643, RESOURCE_EXHAUSTED from
    n4ze3m/page-assist#406 (tests/wire/gemini/error-*.yaml)."""
    script, code, retried, result = ERRORS[name]
    with gemini_fake(monkeypatch) as api:
        write_models_settings({"gemini": fast()})
        api.script(*script)
        async with Session(model=MODEL) as session:
            events = await run_to_end(session, "go")
    check_error_outcome(events, code, retried, result)


def _provider(api: FakeGemini, model: str = "gemini-3.8-flash") -> GoogleProvider:
    write_models_settings({"gemini": fast()})
    catalogue = load_catalogue()
    spec = catalogue.find(f"gemini/{model}")
    assert spec is not None
    env = {"GEMINI_API_KEY": api.api_key, "GOOGLE_GEMINI_BASE_URL": api.url}
    endpoint = resolve_endpoint(catalogue, catalogue.providers["gemini"], spec, env)
    provider = _factory(spec, endpoint)()
    assert isinstance(provider, GoogleProvider)
    return provider


async def _collect(stream: AsyncIterator[StreamChunk]) -> list[StreamChunk]:
    return [chunk async for chunk in stream]


async def test_a_wrong_key_and_the_retry_delay_in_googles_body() -> None:
    with FakeGemini() as api:
        provider = _provider(api)
        request = ModelRequest(model=provider.model, system="", messages=(UserMessage.of("hi"),))
        api.script(HTTPError(429, message="Resource has been exhausted.", retry_after="0.01"))
        chunks = await _collect(provider.stream(request))
        assert isinstance(chunks[0], RetryNotice) and "rate limited, HTTP 429" in chunks[0].reason
        assert chunks[0].delay_s == pytest.approx(0.01)
        assert isinstance(chunks[-1], StreamEnd)
        api.api_key = "another-key"  # the key we send is now wrong
        failed = (await _collect(provider.stream(request)))[-1]
        await provider.aclose()
    assert isinstance(failed, StreamFailed) and failed.code == "auth_failed"
    assert "GEMINI_API_KEY" in (failed.hint or "")
    assert FAST_RETRY["max_attempts"] == 3


async def test_another_models_calls_in_the_current_turn_get_the_placeholder() -> None:
    """After a /model switch mid-turn, Gemini 3 refuses unsigned calls of the current
    turn; the first call of each such model turn gets Google's documented
    ``skip_thought_signature_validator`` (sent as the SDK's Python users send it:
    google/adk-python, LiteLLM's tests), and the fake accepts it. Earlier turns are not
    validated and stay as they were."""

    messages = history_across_a_model_switch(lambda call_id: {"text": call_id})
    with FakeGemini() as api:
        provider = _provider(api)
        request = ModelRequest(model=provider.model, system="be brief", messages=messages)
        chunks = await _collect(provider.stream(request))
        await provider.aclose()
    assert api.rejections == [] and isinstance(chunks[-1], StreamEnd)
    earlier, current = _parts(api.requests[0], "model")
    assert "thoughtSignature" not in earlier[0]
    assert decode_signature(current[0]["thoughtSignature"]) == PLACEHOLDER
    assert "thoughtSignature" not in current[1]
    # The results of the earlier turn and the new prompt make one user turn.
    roles = [c["role"] for c in api.requests[0]["contents"]]
    assert roles == ["user", "model", "user", "model", "user"]


async def test_thinking_and_signatures_of_another_model_are_not_sent() -> None:
    """Only the same model gets its thoughts and signatures back."""
    signed = AssistantMessage(
        id="m1",
        content=(
            ThinkingBlock(text="mine", signature="c2ln"),
            ToolCallBlock(id="x", name="Echo", input={}, extra={"thought_signature": "c2ln"}),
        ),
        provider="google",
        model="gemini-3.1-pro-preview",
    )
    messages = (
        UserMessage.of("go"),
        signed,
        ToolResultMessage(tool_call_id="x", tool_name="Echo", content="ok"),
    )
    with FakeGemini() as api:
        provider = _provider(api)
        params = provider._params(ModelRequest(model=provider.model, system="", messages=messages))
        await provider.aclose()
    model_turn = next(c for c in params["contents"] if c.role == "model")
    assert [p.thought for p in model_turn.parts] == [None]
    # Not its own signature: the current turn's call gets the placeholder instead.
    assert model_turn.parts[0].thought_signature == PLACEHOLDER


async def test_tool_images_follow_the_function_responses_as_inline_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Inline images in the user turn of the responses work on every Gemini model;
    ``functionResponse.parts`` would be Gemini 3 only (ai.google.dev/gemini-api/docs/
    function-calling, multimodal function responses)."""
    (tmp_path / "dot.png").write_bytes(png())
    with gemini_fake(monkeypatch) as api:
        write_models_settings({"gemini": fast()})
        api.script(reply(Call("Read", {"file_path": "dot.png"})), reply(Say("A red square.")))
        async with Session(model=MODEL, cwd=tmp_path) as session:
            events = await run_to_end(session, "what is in dot.png?")
    assert api.rejections == [] and not events[-1].is_error
    response, image = api.requests[1]["contents"][-1]["parts"]
    assert response["functionResponse"]["name"] == "Read"
    assert image["inlineData"]["mimeType"] == "image/png"
    assert decode_signature(image["inlineData"]["data"]) == png()


async def test_a_tool_error_goes_back_under_the_error_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """``response``: 'Use "output" key to specify function output and "error" key to
    specify error details' (google-genai types.FunctionResponse)."""
    with gemini_fake(monkeypatch) as api:
        write_models_settings({"gemini": fast()})
        api.script(reply(Call("Echo", {"nope": 1})), reply(Say("Sorry.")))
        async with Session(model=MODEL, tools=[EchoTool()]) as session:
            await run_to_end(session, "go")
    assert api.rejections == []
    response = api.requests[1]["contents"][-1]["parts"][0]["functionResponse"]["response"]
    assert list(response) == ["error"]


async def test_a_stream_that_ends_without_a_finish_reason_is_cut() -> None:
    with FakeGemini() as api:
        provider = _provider(api)
        request = ModelRequest(model=provider.model, system="", messages=(UserMessage.of("hi"),))
        api.script(*(reply(Say("half"), CutHere()) for _ in range(3)))
        chunks = await _collect(provider.stream(request))
        await provider.aclose()
    failed = chunks[-1]
    assert isinstance(failed, StreamFailed) and failed.code == "stream_cut"
    assert not any(isinstance(c, UsageChunk | ThinkingSignature) for c in chunks)


# --- the fake's own rules, through the SDK ----------------------------------------------


async def _send(api: FakeGemini, contents: list[dict[str, Any]], key: str = "") -> Any:
    """A hand-made request through the real SDK; the error it raises, or None."""
    from google import genai
    from google.genai import errors, types

    client = genai.Client(
        api_key=key or api.api_key,
        http_options=types.HttpOptions(base_url=api.url, api_version="v1beta"),
    )
    try:
        stream = await client.aio.models.generate_content_stream(
            model="gemini-3.8-flash", contents=contents
        )
        async for _ in stream:
            pass
    except errors.APIError as exc:
        return exc
    finally:
        await client.aio.aclose()
    return None


def _loop(api: FakeGemini, signature: bytes | None) -> list[dict[str, Any]]:
    first: dict[str, Any] = {"function_call": {"name": "Echo", "args": {"text": "a"}}}
    if signature is not None:
        first["thought_signature"] = signature
    return [
        {"role": "user", "parts": [{"text": "go"}]},
        {
            "role": "model",
            "parts": [first, {"function_call": {"name": "Echo", "args": {"text": "b"}}}],
        },
        {
            "role": "user",
            "parts": [
                {"function_response": {"name": "Echo", "response": {"output": "a"}}},
                {"function_response": {"name": "Echo", "response": {"output": "b"}}},
            ],
        },
    ]


async def test_the_fake_refuses_a_dropped_or_altered_signature_and_takes_the_real_one() -> None:
    """Gemini 3: "you must pass back thought signatures during function calling,
    otherwise you will get a validation error (4xx)"; the wordings are Google's
    (tests/wire/gemini/error-missing-thought-signature.yaml; "Corrupted thought
    signature.": google-gemini/gemini-cli#13467)."""
    with FakeGemini() as api:
        good = api.call_signature("Echo", {"text": "a"})
        assert await _send(api, _loop(api, good)) is None
        assert await _send(api, _loop(api, PLACEHOLDER)) is None
        dropped = await _send(api, _loop(api, None))
        altered = await _send(api, _loop(api, b"gsig" + bytes(32)))
        # An earlier turn is not validated: a new user text after it.
        later = [*_loop(api, None), {"role": "user", "parts": [{"text": "next"}]}]
        assert await _send(api, later) is None
    assert dropped.code == 400 and dropped.status == "INVALID_ARGUMENT"
    assert MISSING in dropped.message and "default_api:Echo" in dropped.message
    assert altered.code == 400 and altered.message == "Corrupted thought signature."
    assert len(api.rejections) == 2


async def test_the_fake_refuses_what_the_api_refuses() -> None:
    with FakeGemini() as api:
        good = api.call_signature("Echo", {"text": "a"})

        def change(edit: Any) -> list[dict[str, Any]]:
            contents = _loop(api, good)
            edit(contents)
            return contents

        cases = [
            (
                change(lambda c: c[2]["parts"].pop()),
                "number of function response parts is equal to the number of function call",
            ),
            (
                change(lambda c: c[2]["parts"][1]["function_response"].update(name="Other")),
                "number of function response parts is equal to the number of function call",
            ),
            (change(lambda c: c.pop(1)), "function response turn comes immediately after"),
            (change(lambda c: c[0].update(role="assistant")), "Please use a valid role"),
            (change(lambda c: c[0].update(parts=[])), "contents.parts must not be empty"),
        ]
        for contents, words in cases:
            error = await _send(api, contents)
            assert error is not None and error.code == 400, words
            assert words in error.message
        assert api.requests == []
        wrong_key = await _send(api, _loop(api, good), key="not-the-key")
    assert wrong_key.code == 400 and wrong_key.message.startswith("API key not valid")


def test_the_adapter_keeps_the_sdk_out_of_the_core_import() -> None:
    """The SDK is imported on the first request only (tests/test_layers.py checks the
    whole core); creating the provider does not load it either."""
    import subprocess
    import sys

    code = (
        "import sys, harness_tui.core.providers.protocols.google as g\n"
        "print('google.genai' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_signatures_are_kept_as_base64_text() -> None:
    """Session files are JSON: a signature's bytes are kept as base64 text."""
    from harness_tui.core.providers.protocols.google import _pack, _unpack

    raw = bytes(range(256))
    assert _unpack(_pack(raw)) == raw
    assert _unpack(base64.urlsafe_b64encode(raw).decode().rstrip("=")) == raw
