"""Stop reasons that are not a finished answer — Anthropic's ``refusal``, ``max_tokens``,
``model_context_window_exceeded`` and ``pause_turn``; OpenAI-compatible ``content_filter``
and ``length`` — each through the real SDK against its strict fake API: a refusal or a
cut-off answer is a visible error with a hint and a failed run, never a success; the
next request is shaped as the provider documents (a refused answer is not replayed, a
cut-off tool call is not run, a paused turn goes on).

Sources: Anthropic, "Handling stop reasons"
(https://docs.anthropic.com/en/api/handling-stop-reasons: refusal, pause_turn,
model_context_window_exceeded, max_tokens); OpenAI chat completions ``finish_reason``
(https://platform.openai.com/docs/api-reference/chat/object: "length" if the maximum
number of tokens was reached, "content_filter" if content was omitted by a filter)."""

from __future__ import annotations

import io
import json

import pytest
import yaml

from harness_tui.core.session.session import Session
from harness_tui.headless import run_headless
from tests.fakes.loopback import LoopbackServer, Request, SSEResponse
from tests.fakes.script import Call, Say, Think, reply
from tests.fakes.wiring import anthropic_fake, fast, openai_fake, write_models_settings
from tests.helpers import EchoTool, run_to_end, types
from tests.wire_corpus import CORPUS

ANTHROPIC = (anthropic_fake, "anthropic/claude-sonnet-4-6")
OPENAI = (openai_fake, "openai/gpt-4.1")  # chat completions (gpt-5 speaks Responses)


def end_of(events: list) -> tuple:
    errors = [e for e in events if e.type == "ERROR"]
    return events[-1], errors


@pytest.mark.parametrize(
    ("api", "stop", "code"),
    [
        (ANTHROPIC, "refusal", "refusal"),
        (OPENAI, "content_filter", "content_filter"),
        (ANTHROPIC, "max_tokens", "max_tokens"),
        (OPENAI, "length", "max_tokens"),
        (ANTHROPIC, "model_context_window_exceeded", "context_overflow"),
    ],
    ids=[
        "anthropic-refusal",
        "openai-content-filter",
        "anthropic-max-tokens",
        "openai-length",
        "anthropic-window-full",
    ],
)
async def test_an_unfinished_answer_fails_the_run_with_a_hint(
    monkeypatch: pytest.MonkeyPatch, api: tuple, stop: str, code: str
) -> None:
    fake, model = api
    with fake(monkeypatch) as server:
        write_models_settings({model.split("/")[0]: fast()})
        server.script(reply(Say("I will not"), stop=stop), reply(Say("Sure, here it is.")))
        async with Session(model=model, tools=[EchoTool()]) as session:
            events = await run_to_end(session, "do the thing")
            end, errors = end_of(events)
            assert end.type == "RUN_COMPLETED" and end.is_error and end.stop_reason != "end_turn"
            assert [(e.code, e.fatal) for e in errors] == [(code, True)]
            assert errors[0].hint
            # The session goes on: the next prompt is a valid request.
            again = await run_to_end(session, "something else then")
    assert server.rejections == []
    assert again[-1].type == "RUN_COMPLETED" and not again[-1].is_error
    second = json.dumps(server.requests[1])
    refused = stop in ("refusal", "content_filter")
    assert ("I will not" in second) is not refused  # a refused answer is not replayed


@pytest.mark.parametrize("api", [ANTHROPIC, OPENAI], ids=["anthropic", "openai"])
async def test_a_tool_call_cut_off_at_the_limit_is_not_run(
    monkeypatch: pytest.MonkeyPatch, api: tuple
) -> None:
    fake, model = api
    stop = "max_tokens" if fake is anthropic_fake else "length"
    with fake(monkeypatch) as server:
        write_models_settings({model.split("/")[0]: fast()})
        server.script(
            reply(Say("Reading."), Call("Echo", {"text": "half"}), stop=stop),
            reply(Say("ok")),
        )
        async with Session(model=model, tools=[EchoTool()]) as session:
            events = await run_to_end(session, "read it")
            assert "TOOL_CALL_STARTED" not in types(events)
            await run_to_end(session, "go on")
    assert server.rejections == []  # no call was left without a result


async def test_a_paused_turn_is_sent_back_and_goes_on(monkeypatch: pytest.MonkeyPatch) -> None:
    with anthropic_fake(monkeypatch) as server:
        write_models_settings({"anthropic": fast()})
        server.script(
            reply(Think("Searching takes a while."), Say("Half of it"), stop="pause_turn"),
            reply(Say(" and the rest.")),
        )
        async with Session(model="anthropic/claude-sonnet-4-6") as session:
            events = await run_to_end(session, "long task")
    assert server.rejections == []
    end = events[-1]
    assert end.type == "RUN_COMPLETED" and not end.is_error and end.turns == 2
    assert "ERROR" not in types(events)
    continued = server.requests[1]["messages"]
    assert continued[-1]["role"] == "assistant"  # the paused turn, sent back as it was
    assert any(b.get("text") == "Half of it" for b in continued[-1]["content"])


@pytest.mark.parametrize(("api", "stop"), [(ANTHROPIC, "refusal"), (OPENAI, "length")])
async def test_headless_exits_1_and_says_why(
    monkeypatch: pytest.MonkeyPatch, api: tuple, stop: str
) -> None:
    fake, model = api
    with fake(monkeypatch) as server:
        write_models_settings({model.split("/")[0]: fast()})
        server.script(reply(Say("No."), stop=stop))
        out, err = io.StringIO(), io.StringIO()
        code = await run_headless(Session(model=model), "do it", "text", out, err)
    assert code == 1
    assert stop.replace("length", "max_tokens") in err.getvalue()


async def test_a_paused_server_tool_goes_back_as_it_came(monkeypatch: pytest.MonkeyPatch) -> None:
    """The documented pause_turn response (a ``server_tool_use`` block with no result yet,
    tests/wire/anthropic/pause-turn-server-tool.yaml) is sent back block for block, the
    server tool's input included, so the API can finish it."""
    paused = yaml.safe_load((CORPUS / "anthropic" / "pause-turn-server-tool.yaml").read_text())
    done = yaml.safe_load((CORPUS / "anthropic" / "thinking-summarized-then-text.yaml").read_text())
    with Sequence([paused["body"], done["body"]]) as server:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", server.url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", "k")
        write_models_settings({"anthropic": fast()})
        async with Session(model="anthropic/claude-sonnet-4-6") as session:
            events = await run_to_end(session, "weather in New York?")
    assert events[-1].type == "RUN_COMPLETED" and not events[-1].is_error, events[-1]
    assert len(server.requests) == 2
    sent = server.requests[1]["messages"][-1]
    assert sent["role"] == "assistant"
    blocks = [{k: v for k, v in b.items() if k != "cache_control"} for b in sent["content"]]
    assert [b["type"] for b in blocks] == ["text", "server_tool_use"]
    assert blocks[1] == {
        "type": "server_tool_use",
        "id": "srvtoolu_014hJH82Qum7Td6UV8gDXThB",
        "name": "web_search",
        "input": {"query": "weather NYC today"},
    }


class Sequence(LoopbackServer):
    """Answers the n-th request with the n-th raw SSE body and records the requests."""

    def __init__(self, bodies: list[str]) -> None:
        super().__init__()
        self.bodies = bodies
        self.requests: list[dict] = []

    async def handle(self, request: Request) -> SSEResponse:
        self.requests.append(request.json())
        body = self.bodies[min(len(self.requests), len(self.bodies)) - 1]
        return SSEResponse([body.encode()], 200, {"content-type": "text/event-stream"})
