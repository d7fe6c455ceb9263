"""The fault matrix, for both SDK adapters against their fake APIs: what a broken
network or API does to a run, what the user is told, and that the session carries on
with a history the strict fakes accept."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

from harness_tui.core.session.session import Session
from tests.fakes.script import (
    CutHere,
    ErrorHere,
    HTTPError,
    MalformedHere,
    Planned,
    ResetHere,
    ResetOnRequest,
    Say,
    ScriptedAPI,
    StallHere,
    Think,
    reply,
)
from tests.fakes.wiring import anthropic_fake, fast, openai_fake, write_models_settings
from tests.helpers import EchoTool, run_to_end, squeeze, types

READ_TIMEOUT = 0.5
PARTIAL = "Here is the first half"
OK = reply(Say("Fine."))
AFTER = reply(Say("All good now."))

RETRIED = [
    "PROMPT_RECEIVED",
    "CHECKPOINT_CREATED",
    "RETRYING",
    "TOKEN_DELTA",
    "MESSAGE_COMPLETED",
    "USAGE_UPDATED",
]
BROKE_OFF = [
    "PROMPT_RECEIVED",
    "CHECKPOINT_CREATED",
    "TOKEN_DELTA",
    "MESSAGE_COMPLETED",
    "ERROR",
    "RUN_COMPLETED",
]


@dataclass(frozen=True)
class Case:
    name: str
    script: tuple[Planned, ...]
    events: list[str]
    #: Words the ERROR message must contain (per provider when a dict).
    says: str | dict[str, str] | None = None
    status: int | None = None


def overloaded(provider: str) -> HTTPError:
    # Anthropic answers 529 overloaded_error; OpenAI-compatible APIs answer 503.
    return HTTPError(529) if provider == "anthropic" else HTTPError(503, message="overloaded")


CASES = [
    Case(
        "429 with retry-after", (HTTPError(429, retry_after="1"), OK), [*RETRIED, "RUN_COMPLETED"]
    ),
    Case("overloaded", (), [*RETRIED, "RUN_COMPLETED"]),  # script per provider, below
    Case("500", (HTTPError(500), OK), [*RETRIED, "RUN_COMPLETED"], status=500),
    Case("reset before content", (ResetOnRequest(), OK), [*RETRIED, "RUN_COMPLETED"]),
    Case("reset mid-stream", (reply(Say(PARTIAL), ResetHere()),), BROKE_OFF, "connection"),
    Case("malformed data", (reply(Say(PARTIAL), MalformedHere()),), BROKE_OFF, "could not be read"),
    Case("stream cut", (reply(Say(PARTIAL), CutHere()),), BROKE_OFF, "before it was complete"),
    Case(
        "error event mid-stream",
        (reply(Say(PARTIAL), ErrorHere()),),
        BROKE_OFF,
        {"anthropic": "overloaded", "openai": "internal error"},
    ),
    Case(
        "error event before content",
        (reply(ErrorHere()), OK),
        [*RETRIED, "RUN_COMPLETED"],
    ),
    Case(
        "cut while thinking",
        (reply(Think("pondering deeply"), CutHere()),),
        [
            "PROMPT_RECEIVED",
            "CHECKPOINT_CREATED",
            "THINKING_DELTA",
            "MESSAGE_COMPLETED",
            "ERROR",
            "RUN_COMPLETED",
        ],
        "before it was complete",
    ),
    Case("stall mid-stream", (reply(Say(PARTIAL), StallHere(5)),), BROKE_OFF, "read timeout"),
    Case(
        "retries run out",
        (HTTPError(500), HTTPError(500), HTTPError(500)),
        ["PROMPT_RECEIVED", "CHECKPOINT_CREATED", "RETRYING", "ERROR", "RUN_COMPLETED"],
        "after 3 attempts",
    ),
]


@contextmanager
def fake(provider: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[ScriptedAPI, str]]:
    serve = anthropic_fake if provider == "anthropic" else openai_fake
    with serve(monkeypatch) as api:
        write_models_settings({provider: fast(read_timeout=READ_TIMEOUT)})
        yield api, ("anthropic/claude-haiku-4-5" if provider == "anthropic" else "openai/gpt-4.1")


@pytest.mark.parametrize("provider", ["anthropic", "openai"])
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_fault(provider: str, case: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    script = case.script or (overloaded(provider), OK)
    with fake(provider, monkeypatch) as (api, model):
        api.script(*script, AFTER)
        async with Session(model=model, tools=[EchoTool()]) as session:
            started = time.monotonic()
            events = await run_to_end(session, "go", timeout=20)
            elapsed = time.monotonic() - started
            assert squeeze(types(events)) == case.events
            errors = [e for e in events if e.type == "ERROR"]
            if case.says:
                says = case.says if isinstance(case.says, str) else case.says[provider]
                assert says in errors[0].message, errors[0].message
                assert errors[0].hint and errors[0].fatal
                assert events[-1].is_error and events[-1].error == errors[0].message
            retries = [e for e in events if e.type == "RETRYING"]
            for retry in retries:
                assert retry.max_attempts == 3 and retry.reason
            if case.name == "429 with retry-after":
                (retry,) = retries
                assert retry.status_code == 429 and retry.delay_s == 1.0
                assert "rate" in retry.reason
                assert elapsed >= 1.0
            if case.status:
                assert retries[0].status_code == case.status
            if events[2].type == "TOKEN_DELTA" and errors:
                # The partial answer is kept, marked interrupted; nothing else came.
                (partial,) = [e.message for e in events if e.type == "MESSAGE_COMPLETED"]
                assert partial.interrupted and partial.text.startswith("Here is")
            assert elapsed < READ_TIMEOUT + 4
            # The session carries on, and its history is a request the API accepts.
            after = await run_to_end(session, "again")
            assert after[-1].type == "RUN_COMPLETED" and not after[-1].is_error
            assert after[-1].result == "All good now."
    assert api.rejections == []
    assert api.pending == 0


@pytest.mark.parametrize("provider", ["anthropic", "openai"])
async def test_wrong_key_names_the_variable_and_is_not_retried(
    provider: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    variable = f"{provider.upper()}_API_KEY"
    with fake(provider, monkeypatch) as (api, model):
        monkeypatch.setenv(variable, "sk-wrong-0123456789")
        async with Session(model=model) as session:
            events = await run_to_end(session, "hi")
            assert squeeze(types(events)) == [
                "PROMPT_RECEIVED",
                "CHECKPOINT_CREATED",
                "ERROR",
                "RUN_COMPLETED",
            ]
            error = events[2]
            assert variable in error.message and "401" in error.message
            assert variable in error.hint
            everything = "".join(e.model_dump_json() for e in session.store.replay(0))
            assert "sk-wrong-0123456789" not in everything
            # Fix the key, pick the model again: the same session works.
            monkeypatch.setenv(variable, api.api_key)
            await session.set_model(model)
            after = await run_to_end(session, "hi again")
            assert after[-1].type == "RUN_COMPLETED" and not after[-1].is_error
    assert api.rejections == []


@pytest.mark.parametrize("provider", ["anthropic", "openai"])
async def test_stall_before_any_content_is_retried(
    provider: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with fake(provider, monkeypatch) as (api, model):
        api.script(reply(StallHere(5)), OK)
        async with Session(model=model) as session:
            events = await run_to_end(session, "go", timeout=20)
    assert squeeze(types(events)) == [*RETRIED, "RUN_COMPLETED"]
    assert "timeout" in next(e for e in events if e.type == "RETRYING").reason


async def test_a_cancel_during_a_retry_pause_stops_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    with anthropic_fake(monkeypatch) as api:
        write_models_settings({"anthropic": {"retry": {"base_delay": 30, "max_delay": 30}}})
        api.script(HTTPError(500), OK)
        async with Session(model="haiku") as session:
            await session.submit("go")
            from tests.helpers import wait_for

            await wait_for(session.store, lambda e: e.type == "RETRYING")
            started = time.monotonic()
            await session.cancel()
            assert time.monotonic() - started < 2
            kinds = types(session.store.replay(0))
            assert kinds[-1] == "RUN_CANCELLED"
            api.script(OK)  # the retry never happened: its reply is still queued
            after = await run_to_end(session, "again")
            assert after[-1].type == "RUN_COMPLETED" and not after[-1].is_error


@pytest.mark.parametrize("provider", ["anthropic", "openai"])
async def test_refusals_are_not_retried_and_say_what_to_do(
    provider: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with fake(provider, monkeypatch) as (api, model):
        api.script(
            HTTPError(400, message="prompt is too long: 250000 tokens > 200000 maximum"),
            HTTPError(404, message="model: claude-nope"),
        )
        async with Session(model=model) as session:
            too_long = await run_to_end(session, "a very long conversation")
            missing = await run_to_end(session, "again")
    assert squeeze(types(too_long)) == [
        "PROMPT_RECEIVED",
        "CHECKPOINT_CREATED",
        "ERROR",
        "RUN_COMPLETED",
    ]
    assert "prompt is too long" in too_long[2].message and "/compact" in too_long[2].hint
    assert "does not know this model" in missing[2].message and "404" in missing[2].message


@pytest.mark.parametrize("provider", ["anthropic", "openai"])
async def test_cancel_mid_stream_keeps_the_partial_answer(
    provider: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.helpers import wait_for

    with fake(provider, monkeypatch) as (api, model):
        write_models_settings({provider: fast(read_timeout=30)})
        api.script(reply(Say(PARTIAL), StallHere(30)), AFTER)
        async with Session(model=model) as session:
            await session.submit("go")
            # The whole first half is on its way before the stall; cancel during the stall.
            await wait_for(
                session.store,
                lambda e: e.type == "TOKEN_DELTA" and e.text.rstrip().endswith("half"),
            )
            started = time.monotonic()
            await session.cancel()
            assert time.monotonic() - started < 2
            events = session.store.replay(0)
            assert events[-1].type == "RUN_CANCELLED"
            partial = session.messages[-1]
            assert partial.role == "assistant" and partial.interrupted
            assert partial.text.startswith("Here is")
            after = await run_to_end(session, "again")
            assert after[-1].result == "All good now."
    assert api.rejections == []
