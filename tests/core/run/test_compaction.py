"""Context accounting and compaction, with the scripted provider and both fake APIs."""

from __future__ import annotations

from typing import Any

import pytest

from harness_tui.core.messages import (
    AssistantMessage,
    TextBlock,
    ToolCallBlock,
    ToolResultMessage,
    UserMessage,
)
from harness_tui.core.providers.models import ModelChoice
from harness_tui.core.providers.offline.scripted import (
    ScriptedProvider,
    Text,
    ToolCall,
    Usage,
    reply,
)
from harness_tui.core.run.context import (
    SUMMARY_SYSTEM,
    ContextAccount,
    estimate_message,
    plan_cut,
    safe_cuts,
)
from harness_tui.core.session.session import Session
from harness_tui.core.storage.saved import load_session
from harness_tui.core.storage.tree import SUMMARY_INTRO
from tests.fakes import script as api
from tests.fakes.wiring import anthropic_fake, fast, openai_fake, write_models_settings
from tests.helpers import EchoTool, GateTool, run_to_end, squeeze, types, wait_for


def scripted_session(*replies, window: int | None = 1000, **options) -> tuple[Session, Any]:
    provider = ScriptedProvider(list(replies))
    model = ModelChoice("scripted", "scripted", lambda: provider, context_window=window)
    options.setdefault("tools", [EchoTool()])
    return Session(model=model, **options), provider


def call(call_id: str) -> AssistantMessage:
    return AssistantMessage(
        id=f"m_{call_id}",
        content=(ToolCallBlock(id=call_id, name="Echo", input={"text": "x"}),),
        provider="p",
        model="m",
    )


def answer(text: str) -> AssistantMessage:
    return AssistantMessage(id="m", content=(TextBlock(text=text),), provider="p", model="m")


def result(call_id: str, text: str = "out") -> ToolResultMessage:
    return ToolResultMessage(tool_call_id=call_id, tool_name="Echo", content=text)


def test_a_cut_never_falls_between_a_call_and_its_result() -> None:
    two_calls = AssistantMessage(
        id="m2",
        content=(
            ToolCallBlock(id="a", name="Echo", input={}),
            ToolCallBlock(id="b", name="Echo", input={}),
        ),
        provider="p",
        model="m",
    )
    messages = [
        UserMessage.of("go"),
        two_calls,
        result("a"),
        result("b"),
        call("c"),
        result("c"),
        UserMessage.of("steer", "steering"),
        answer("done"),
    ]
    # Not 2 or 3 (results of m2 would part from it), not 5 (c's result).
    assert safe_cuts(messages) == [1, 4, 6, 7, 8]
    # An unanswered call (a run cut off by a crash) allows no cut after it.
    assert safe_cuts([UserMessage.of("go"), call("z")]) == [1]


def test_the_cut_keeps_recent_whole_turns_and_cuts_inside_a_turn_only_when_it_must() -> None:
    big = "y" * 4000  # about 1,000 tokens
    turn1 = [UserMessage.of("first " + big), answer("one")]
    turn2 = [UserMessage.of("second"), call("a"), result("a", big), answer("two")]
    messages = turn1 + turn2
    cost = sum(estimate_message(m) for m in turn2)
    assert plan_cut(messages, keep_tokens=cost) == 2  # all of turn 2, whole
    # Turn 2 alone is over the budget: cut inside it, at a response, never at a result.
    assert plan_cut(messages, keep_tokens=cost - 10) == 5
    # Nothing before the cut but an earlier summary: nothing to do.
    assert plan_cut(messages[:1], keep_tokens=10_000, summarized=1) is None
    assert plan_cut([], keep_tokens=10_000) is None


def test_context_use_is_the_reported_count_plus_an_estimate_of_what_came_since() -> None:
    account = ContextAccount()
    messages = [UserMessage.of("x" * 400)]
    estimated = account.used("", (), messages)
    assert estimated == 100 + 4
    messages.append(answer("ok"))
    account.report(5000, len(messages))  # the provider counted the request and answer
    assert account.used("", (), messages) == 5000
    messages.append(result("a", "z" * 40))
    assert account.used("", (), messages) == 5000 + estimate_message(messages[-1])
    account.reset()
    assert account.used("", (), messages) < 5000


def test_a_message_is_estimated_once_and_its_estimate_goes_with_it() -> None:
    """Without usage reports the whole history is estimated on every turn: each message's
    estimate is kept while the message lives (a long run is not quadratic in JSON), and
    is dropped, with no reference kept, when the message goes."""
    import gc
    import weakref

    from harness_tui.core.run import context as compaction

    message = call("c")
    calls: list[object] = []
    real = compaction._estimate_message
    compaction._estimate_message = lambda m: calls.append(m) or real(m)  # type: ignore[assignment]
    try:
        first = estimate_message(message)
        assert estimate_message(message) == first == real(message)
        assert calls == [message]  # the second answer came from the kept estimate
        alive = weakref.ref(message)
        calls.clear()
        del message
        gc.collect()
        assert alive() is None  # the kept estimate held no reference to the message
        other = UserMessage.of("y" * 400)
        assert estimate_message(other) == 100 + 4  # a new message at any address: its own
    finally:
        compaction._estimate_message = real  # type: ignore[assignment]
    assert all(ref() is not None for ref, _ in compaction._ESTIMATES.values())


async def test_automatic_compaction_at_the_threshold(tmp_path) -> None:
    session, provider = scripted_session(
        reply(Text("first answer"), Usage(input_tokens=700, output_tokens=50)),
        reply(Text("second answer"), Usage(input_tokens=800, output_tokens=60)),  # 860 > 850
        reply(Text("The user asked twice; both answered.")),  # the summary
        reply(Text("third answer"), Usage(input_tokens=120, output_tokens=10)),
        cwd=tmp_path,
    )
    async with session:
        first = await run_to_end(session, "one")
        assert "CONTEXT_COMPACTED" not in types(first)
        await run_to_end(session, "two")
        assert session.context_tokens() == 860
        events = await run_to_end(session, "three")
    assert squeeze(types(events)) == [
        "PROMPT_RECEIVED",
        "CHECKPOINT_CREATED",
        "NOTICE",  # compacting…
        "CONTEXT_COMPACTED",
        "TOKEN_DELTA",
        "MESSAGE_COMPLETED",
        "USAGE_UPDATED",
        "RUN_COMPLETED",
    ]
    compacted = next(e for e in events if e.type == "CONTEXT_COMPACTED")
    assert compacted.trigger == "auto" and compacted.tokens_before > 850
    assert compacted.tokens_after < compacted.tokens_before
    assert compacted.summary == "The user asked twice; both answered."
    summary_call, next_call = provider.requests[2], provider.requests[3]
    assert summary_call.system == SUMMARY_SYSTEM and summary_call.tools == ()
    assert "[user] one" in summary_call.messages[0].text
    # The request after compaction: the summary, then the turn being asked, whole.
    assert next_call.messages[0].text == SUMMARY_INTRO + compacted.summary
    assert [m.role for m in next_call.messages] == ["user", "user"]
    assert next_call.messages[1].text == "three"
    # The file keeps everything; a resume sees what the model saw.
    saved = load_session(session.id)
    assert len(saved.tree.path(saved.head)) == 7  # 6 messages, the compaction, then 2
    assert [m.text for m in saved.context().messages] == [
        next_call.messages[0].text,
        "three",
        "third answer",
    ]


async def test_below_the_threshold_nothing_is_compacted(tmp_path) -> None:
    session, provider = scripted_session(
        reply(Text("a"), Usage(input_tokens=800, output_tokens=40)),  # 840 < 850
        reply(Text("b")),
        cwd=tmp_path,
    )
    async with session:
        await run_to_end(session, "one")
        events = await run_to_end(session, "two")
    assert "CONTEXT_COMPACTED" not in types(events)
    provider.assert_complete()


async def test_manual_compact_with_instructions_keeps_tool_pairs_whole(tmp_path) -> None:
    big = "z" * 2000
    session, provider = scripted_session(
        reply(Text("looked")),
        reply(ToolCall("Echo", {"text": big})),
        reply(Text("echoed")),
        reply(Text("Summary: the user asked to look, then to echo.")),
        reply(Text("after")),
        window=None,  # no automatic compaction without a window
        cwd=tmp_path,
    )
    async with session:
        await run_to_end(session, "look " + "q" * 8000)
        await run_to_end(session, "echo it")
        before = list(session.messages)
        compacted = await session.compact("keep the file names")
        assert compacted is not None and compacted.trigger == "manual"
        assert "keep the file names" in provider.requests[3].messages[0].text
        kept = session.messages[1:]
        assert [m.role for m in kept] == ["user", "assistant", "tool", "assistant"]
        assert kept == before[2:]
        await run_to_end(session, "go on")
    request = provider.requests[4]
    assert request.messages[0].text.startswith(SUMMARY_INTRO)
    calls = {c.id for m in request.messages if m.role == "assistant" for c in m.tool_calls}
    results = {m.tool_call_id for m in request.messages if m.role == "tool"}
    assert calls == results != set()


async def test_compact_during_a_run_waits_for_the_turn_boundary(tmp_path) -> None:
    gate = GateTool()
    session, provider = scripted_session(
        reply(Text("a")),
        reply(ToolCall("Gate", {"label": "g"})),
        reply(Text("summary")),
        reply(Text("done")),
        window=None,
        cwd=tmp_path,
        tools=[gate],
    )
    async with session:
        await run_to_end(session, "one " + "w" * 4000)
        run_id = await session.submit("two")
        await gate.started_event("g").wait()
        assert await session.compact() is None  # queued for the next turn boundary
        gate.release.set()
        await wait_for(session.store, lambda e: e.type == "RUN_COMPLETED" and e.run_id == run_id)
    events = [e.type for e in session.store.replay(0) if e.run_id == run_id]
    assert events.index("CONTEXT_COMPACTED") > events.index("TOOL_CALL_COMPLETED")
    assert provider.requests[2].system == SUMMARY_SYSTEM
    assert provider.requests[3].messages[0].text == SUMMARY_INTRO + "summary"


async def test_the_precompact_hook_runs_and_can_block(tmp_path) -> None:
    seen: list[dict[str, Any]] = []
    block = False

    async def hook(payload: dict[str, Any]) -> dict[str, Any] | None:
        seen.append(payload)
        return {"decision": "block", "reason": "not now"} if block else None

    session, provider = scripted_session(
        reply(Text("a " * 50)), reply(Text("summary")), window=None, cwd=tmp_path
    )
    async with session:
        session.hooks.add_callback("PreCompact", hook, name="pre")
        await run_to_end(session, "one " + "v" * 1000)
        block = True
        assert await session.compact("mine") is None
        block = False
        assert await session.compact() is not None
        notices = [e.message for e in session.store.replay(0) if e.type == "NOTICE"]
    assert [(p["hook_event_name"], p["trigger"], p["custom_instructions"]) for p in seen] == [
        ("PreCompact", "manual", "mine"),
        ("PreCompact", "manual", ""),
    ]
    assert any("PreCompact hook blocked compaction: not now" in n for n in notices)
    assert len(provider.requests) == 2  # no summary was asked for while blocked


async def test_a_failed_summary_leaves_the_conversation_unchanged(tmp_path) -> None:
    from harness_tui.core.providers.offline.scripted import Fail

    session, _ = scripted_session(
        reply(Text("a")), reply(Fail("overloaded")), window=None, cwd=tmp_path
    )
    async with session:
        await run_to_end(session, "one " + "u" * 1000)
        before = list(session.messages)
        assert await session.compact() is None
        assert list(session.messages) == before
        notices = [e.message for e in session.store.replay(0) if e.type == "NOTICE"]
    assert any("Compaction failed: overloaded" in n for n in notices)


REASONING = frozenset({"reasoning_content"})


@pytest.mark.parametrize("provider_name", ["anthropic", "openai"])
async def test_the_request_after_compaction_is_accepted_by_the_strict_fake_api(
    provider_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    big = "b" * 2000
    script = (
        api.reply(api.Say("one"), usage=api.Usage(input=1000, output=10)),
        # 180k of a 200k window: the next turn boundary compacts.
        api.reply(api.Call("Echo", {"text": big}), usage=api.Usage(input=180_000, output=20)),
        api.reply(api.Say("The user said one, then asked for an echo.")),
        api.reply(api.Say("echo seen"), usage=api.Usage(input=900, output=5)),
    )
    fake = anthropic_fake if provider_name == "anthropic" else openai_fake
    # DeepSeek takes reasoning_content back on assistant messages
    options = {} if provider_name == "anthropic" else {"extra_message_keys": REASONING}
    with fake(monkeypatch, **options) as server:
        window = {"context_window": 200_000}
        if provider_name == "anthropic":
            model = "anthropic/claude-sonnet-4-6"
            write_models_settings({"anthropic": fast(), model: window})
        else:
            model = "deepseek/deepseek-chat"
            write_models_settings({"deepseek": fast(base_url=server.base_url), model: window})
            monkeypatch.setenv("DEEPSEEK_API_KEY", server.api_key)
        server.script(*script)
        async with Session(model=model, tools=[EchoTool()]) as session:
            await run_to_end(session, "one " + "a" * 4000)
            events = await run_to_end(session, "echo it")
    assert server.rejections == []
    assert "CONTEXT_COMPACTED" in types(events) and events[-1].type == "RUN_COMPLETED"
    assert not events[-1].is_error
    summary_body, after_body = server.requests[2], server.requests[3]
    assert "tools" not in summary_body or not summary_body["tools"]
    rendered = str(after_body["messages"])
    assert "The user said one, then asked for an echo." in rendered
    assert big in rendered  # the tool call and its result were kept, together


@pytest.mark.parametrize("provider_name", ["anthropic", "openai"])
async def test_a_refusal_as_too_long_compacts_and_tries_once_more(
    provider_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Our estimate said the conversation fits; the API says it does not. The run
    compacts and sends the request again instead of failing, and the retried request
    (summary plus the newest turn) is accepted by the strict fake."""
    too_long = api.HTTPError(400, message="prompt is too long: 210000 tokens > 200000 maximum")
    fake = anthropic_fake if provider_name == "anthropic" else openai_fake
    with fake(monkeypatch) as server:
        write_models_settings({provider_name: fast()})
        model = "anthropic/claude-sonnet-4-6" if provider_name == "anthropic" else "openai/gpt-4.1"
        server.script(
            api.reply(api.Say("first answer")),
            api.reply(api.Say("second answer")),
            too_long,
            api.reply(api.Say("Earlier the user asked two long questions.")),
            api.reply(api.Say("third answer")),
            too_long,  # the next run: refused,
            too_long,  # and so is its summary request
        )
        async with Session(model=model) as session:
            await run_to_end(session, "first " + "a" * 4000)
            await run_to_end(session, "second " + "b" * 4000)
            events = await run_to_end(session, "third question")
            failed = await run_to_end(session, "fourth question")
    assert server.rejections == []
    kinds = squeeze(types(events))
    assert kinds == [
        "PROMPT_RECEIVED",
        "CHECKPOINT_CREATED",
        "NOTICE",  # the refusal, and that the conversation is compacted
        "USAGE_UPDATED",  # of the summary request
        "CONTEXT_COMPACTED",
        "TOKEN_DELTA",
        "MESSAGE_COMPLETED",
        "USAGE_UPDATED",
        "RUN_COMPLETED",
    ]
    assert not events[-1].is_error
    assert events[-1].result == "third answer"
    notices = [e.message for e in events if e.type == "NOTICE"]
    assert "too long" in notices[0] and "Compacting the conversation" in notices[0]
    retried = str(server.requests[-3]["messages"])
    assert "Earlier the user asked two long questions." in retried
    assert "third question" in retried and "a" * 4000 not in retried
    # When compacting fails too, the run ends with the error and what to do about it.
    assert squeeze(types(failed)) == [
        "PROMPT_RECEIVED",
        "CHECKPOINT_CREATED",
        "NOTICE",
        "ERROR",
        "RUN_COMPLETED",
    ]
    assert "Compaction failed" in [e for e in failed if e.type == "NOTICE"][-1].message
    assert failed[-1].is_error
    error = next(e for e in failed if e.type == "ERROR")
    assert error.code == "context_overflow" and "/compact" in error.hint
