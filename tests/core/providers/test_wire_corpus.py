"""Real providers' responses and error bodies (``tests/wire``), each from a public source,
replayed through the real adapters and SDKs on loopback: what the user sees is what the
provider meant."""

from __future__ import annotations

import json

import pytest

from harness_tui.core.providers.faults import KINDS
from tests.wire_corpus import CORPUS, ERROR_CODES, FAMILIES, Case, cases, problems_of, run_case

#: The corpus's stop names -> the neutral ones the adapters report.
STOPS = {"context_window_exceeded": "model_context_window_exceeded"}


def ids(found: list[Case]) -> list[str]:
    return [c.id for c in found]


ALL = cases()
RESPONSES = cases("response")
ERRORS = cases("error")


@pytest.mark.parametrize("case", ALL, ids=ids(ALL))
def test_every_case_is_well_formed(case: Case) -> None:
    assert list(problems_of(case)) == []


def test_every_family_has_cases_of_its_own() -> None:
    counts = {family: sum(c.family == family for c in ALL) for family in FAMILIES}
    assert all(n >= 3 for n in counts.values()), counts


@pytest.mark.parametrize("case", RESPONSES, ids=ids(RESPONSES))
async def test_a_response_is_read_as_the_provider_meant(case: Case) -> None:
    expect = case.data.get("expect") or {}
    outcome = await run_case(case)
    if "error" in expect:
        assert outcome.failure is not None, "the error in the stream was not reported"
        wanted = expect["error"]
        if wanted.get("message_contains"):
            assert wanted["message_contains"] in outcome.failure.message
        if wanted.get("kind"):
            assert outcome.failure.code == ERROR_CODES.get(wanted["kind"], wanted["kind"])
    else:
        assert outcome.failure is None, outcome.failure
    if "text" in expect:
        assert outcome.text == expect["text"]
    if "thinking" in expect:
        assert outcome.thinking == expect["thinking"]
    if "tool_calls" in expect:
        got = [(c["name"], c["input"]) for c in outcome.tool_calls]
        assert got == [(c["name"], c.get("input", {})) for c in expect["tool_calls"]]
        for call, wanted in zip(outcome.tool_calls, expect["tool_calls"], strict=True):
            if wanted.get("id"):
                assert call["id"] == wanted["id"]
    if "usage" in expect:
        assert outcome.usage is not None, "no usage was recorded"
        for name, value in expect["usage"].items():
            assert getattr(outcome.usage, name) == value, name
    if "stop" in expect and expect["stop"] != "error":
        assert outcome.stop == STOPS.get(expect["stop"], expect["stop"])


@pytest.mark.parametrize("case", ERRORS, ids=ids(ERRORS))
async def test_an_error_reaches_the_user_in_the_providers_words(case: Case) -> None:
    expect = case.data.get("expect") or {}
    outcome = await run_case(case)
    failure = outcome.failure
    assert failure is not None, "the error was not reported"
    if expect.get("message_contains"):
        assert expect["message_contains"] in failure.message, failure.message
    if expect.get("kind"):
        assert failure.code == ERROR_CODES.get(expect["kind"], expect["kind"]), failure
    assert "likely a bug in harness-tui" not in (failure.hint or "")
    if "retry" in expect:
        retried = KINDS.get(failure.code, ("", False))[1]
        assert retried == expect["retry"], f"{failure.code} is retried: {retried}"


async def test_a_call_whose_id_changes_mid_stream_stays_one_call() -> None:
    """vLLM serving Kimi K2 may send a new id on a continuation fragment of the same
    index (ids functions.read:0 -> chatcmpl-tool-a -> chatcmpl-tool-b): keyed strictly by
    id, one call became three, two without a name. Shape from a public test, "coalesces
    tool call deltas by stable index when provider mutates ids mid-stream" (noted in the
    corpus research, its repository not resolved), so it is built here, not a corpus case."""

    def frame(delta: dict[str, object], finish: str | None = None) -> str:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        return (
            "data: "
            + json.dumps(
                {
                    "id": "c",
                    "object": "chat.completion.chunk",
                    "created": 1,
                    "model": "m",
                    "choices": [choice],
                }
            )
            + "\n\n"
        )

    body = "".join(
        [
            frame(
                {
                    "role": "assistant",
                    "tool_calls": [
                        {
                            "index": 0,
                            "id": "functions.read:0",
                            "type": "function",
                            "function": {"name": "read", "arguments": ""},
                        }
                    ],
                }
            ),
            frame(
                {
                    "tool_calls": [
                        {
                            "index": 0,
                            "id": "chatcmpl-tool-a",
                            "function": {"arguments": '{"path": '},
                        }
                    ]
                }
            ),
            frame(
                {
                    "tool_calls": [
                        {"index": 0, "id": "chatcmpl-tool-b", "function": {"arguments": '"a.py"}'}}
                    ]
                }
            ),
            frame({}, "tool_calls"),
            "data: [DONE]\n\n",
        ]
    )
    case = Case(CORPUS / "vllm" / "id-changes.yaml", {"kind": "response", "body": body})
    outcome = await run_case(case)
    assert outcome.failure is None, outcome.failure
    assert outcome.tool_calls == [
        {"id": "functions.read:0", "name": "read", "input": {"path": "a.py"}}
    ]


async def test_a_balance_too_small_for_the_output_limit_says_to_lower_it() -> None:
    """OpenRouter's 402 'requires more credits, or fewer max_tokens' is fixed by a smaller
    max_output, which the hint names (a harness that retried it as a 5xx: QwenLM/qwen-code#73)."""
    case = next(c for c in ERRORS if c.id == "openrouter/error-fewer-max-tokens-402")
    failure = (await run_case(case)).failure
    assert failure is not None and failure.hint is not None
    assert "max_output" in failure.hint
