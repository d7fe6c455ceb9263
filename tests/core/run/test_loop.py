# Over 500 lines as one unit: the loop's event sequences over shared scripted runs.
"""The agent loop, driven by the scripted provider, judged by the order of its events."""

from __future__ import annotations

import asyncio

import anyio
import pytest

from harness_tui.core.errors import HarnessError, SessionBusyError
from harness_tui.core.events import Event
from harness_tui.core.messages import AssistantMessage, ToolResultMessage, UserMessage
from harness_tui.core.providers.models import ModelChoice
from harness_tui.core.providers.offline.scripted import (
    Fail,
    Reply,
    ScriptedProvider,
    Text,
    Thinking,
    ToolCall,
    Usage,
    Wait,
    reply,
)
from harness_tui.core.session.session import Session, SessionManager
from tests.helpers import (
    ONE_TOOL_RUN,
    EchoTool,
    GateTool,
    run_to_end,
    squeeze,
    types,
    wait_for,
)


def scripted(*replies: Reply, name: str = "scripted") -> tuple[ModelChoice, ScriptedProvider]:
    provider = ScriptedProvider(list(replies))
    return ModelChoice(name, "scripted", lambda: provider), provider


def session_with(*replies: Reply, tools=None, **options) -> tuple[Session, ScriptedProvider]:
    choice, provider = scripted(*replies)
    session = Session(model=choice, tools=tools if tools is not None else [EchoTool()], **options)
    return session, provider


async def test_text_only_turn() -> None:
    session, provider = session_with(
        reply(Thinking("hmm"), Text("Hello there, world"), Usage(10, 4))
    )
    async with session:
        events = await run_to_end(session, "hi")
    assert squeeze(types(events)) == [
        "PROMPT_RECEIVED",
        "CHECKPOINT_CREATED",
        "THINKING_DELTA",
        "TOKEN_DELTA",
        "MESSAGE_COMPLETED",
        "USAGE_UPDATED",
        "RUN_COMPLETED",
    ]
    assert "".join(e.text for e in events if e.type == "TOKEN_DELTA") == "Hello there, world"
    done = events[-1]
    assert done.stop_reason == "end_turn" and done.turns == 1 and not done.is_error
    assert done.result == "Hello there, world"
    assert done.usage.input_tokens == 10
    assert [m.role for m in session.messages] == ["user", "assistant"]
    provider.assert_complete()


async def test_two_tool_calls_run_concurrently() -> None:
    gate = GateTool("Probe", concurrency_safe=True)
    session, provider = session_with(
        reply(
            Text("Checking both."),
            ToolCall("Probe", {"label": "a"}),
            ToolCall("Probe", {"label": "b"}),
        ),
        reply(Text("Both done.")),
        tools=[gate],
    )
    async with session:
        run_id = await session.submit("go")
        with anyio.fail_after(5):  # run one after the other, b would never start
            await gate.started_event("a").wait()
            await gate.started_event("b").wait()
        assert gate.finished == []  # both are running at the same time
        gate.release.set()
        await wait_for(session.store, lambda e: e.type == "RUN_COMPLETED")
    events = [e for e in session.store.replay(0) if e.run_id == run_id]
    assert squeeze(types(events)) == ONE_TOOL_RUN
    started = [e.tool_call_id for e in events if e.type == "TOOL_CALL_STARTED"]
    assert len(started) == 2
    # Results go back to the model in call order, right after the call.
    second = provider.requests[1].messages
    assert [type(m).__name__ for m in second] == [
        "UserMessage",
        "AssistantMessage",
        "ToolResultMessage",
        "ToolResultMessage",
    ]
    assert [m.tool_call_id for m in second[2:]] == started
    assert [m.content for m in second[2:]] == ["a done", "b done"]


async def test_tools_that_are_not_concurrency_safe_run_one_at_a_time() -> None:
    gate = GateTool("Serial", concurrency_safe=False)
    session, _ = session_with(
        reply(ToolCall("Serial", {"label": "a"}), ToolCall("Serial", {"label": "b"})),
        reply(Text("ok")),
        tools=[gate],
    )
    async with session:
        await session.submit("go")
        await gate.started_event("a").wait()
        for _ in range(20):
            await anyio.lowlevel.checkpoint()
        assert not gate.started_event("b").is_set()
        gate.release.set()
        await wait_for(session.store, lambda e: e.type == "RUN_COMPLETED")
    assert gate.finished == ["a", "b"]


async def test_max_turns_stops_the_run() -> None:
    looping = [reply(ToolCall("Echo", {"text": str(i)})) for i in range(5)]
    session, provider = session_with(*looping, max_turns=2)
    async with session:
        events = await run_to_end(session, "loop")
    done = events[-1]
    assert done.type == "RUN_COMPLETED" and done.stop_reason == "max_turns" and done.turns == 2
    assert len(provider.requests) == 2
    assert types(events).count("TOOL_CALL_COMPLETED") == 2
    # The history ends with the tool result: a valid request for whoever continues.
    assert isinstance(session.messages[-1], ToolResultMessage)


async def test_steer_during_tool_call_joins_before_next_model_call() -> None:
    gate = GateTool("Slow")
    session, provider = session_with(
        reply(Text("Working."), ToolCall("Slow", {"label": "x"})),
        reply(Text("Adjusted as you asked.")),
        tools=[gate],
    )
    async with session:
        run_id = await session.submit("start")
        await gate.started_event("x").wait()
        queued = await session.steer("use tabs, not spaces")
        assert queued is not None and queued.kind == "steer"
        assert session.steering.pending == (queued,)
        gate.release.set()
        await wait_for(session.store, lambda e: e.type == "RUN_COMPLETED")
    events = [e for e in session.store.replay(0) if e.run_id == run_id]
    assert squeeze(types(events)) == [
        "PROMPT_RECEIVED",
        "CHECKPOINT_CREATED",
        "TOKEN_DELTA",
        "MESSAGE_COMPLETED",
        "TOOL_CALL_STARTED",
        "STEERING_QUEUED",
        "TOOL_CALL_COMPLETED",
        "STEERING_DELIVERED",
        "TOKEN_DELTA",
        "MESSAGE_COMPLETED",
        "RUN_COMPLETED",
    ]
    delivered = next(e for e in events if e.type == "STEERING_DELIVERED")
    assert delivered.steering_id == queued.id and delivered.turn == 2
    second = provider.requests[1].messages
    assert isinstance(second[-2], ToolResultMessage)
    assert second[-1] == UserMessage.of("use tabs, not spaces", "steering")
    assert len(provider.requests[0].messages) == 1  # it was not there before


async def test_steer_after_a_final_answer_continues_the_same_run() -> None:
    hold, reached = anyio.Event(), anyio.Event()
    session, provider = session_with(
        reply(Text("Done."), Wait(hold, reached)), reply(Text("Also handled the extra ask."))
    )
    async with session:
        run_id = await session.submit("start")
        await reached.wait()
        await session.steer("one more thing")
        hold.set()
        await wait_for(session.store, lambda e: e.type == "RUN_COMPLETED")
    events = [e for e in session.store.replay(0) if e.run_id == run_id]
    assert types(events).count("MESSAGE_COMPLETED") == 2
    assert events[-1].turns == 2
    assert provider.requests[1].messages[-1].text == "one more thing"


async def test_follow_up_starts_a_new_run_after_run_completed() -> None:
    hold, reached = anyio.Event(), anyio.Event()
    session, provider = session_with(
        reply(Text("First"), Wait(hold, reached)), reply(Text("Second"))
    )
    async with session:
        first = await session.submit("one")
        await reached.wait()
        queued = await session.follow_up("two")
        hold.set()
        second_done = await wait_for(
            session.store, lambda e: e.type == "RUN_COMPLETED" and e.run_id != first
        )
    events = [e for e in session.store.replay(0) if e.run_id is not None]
    seq_types = [(e.run_id == first, e.type) for e in events]
    first_end = seq_types.index((True, "RUN_COMPLETED"))
    second_start = seq_types.index((False, "PROMPT_RECEIVED"))
    assert first_end < second_start  # the follow-up waits for the end of the run
    second = [e for e in events if e.run_id == second_done.run_id]
    assert squeeze(types(second)) == [
        "PROMPT_RECEIVED",
        "STEERING_DELIVERED",
        "CHECKPOINT_CREATED",
        "TOKEN_DELTA",
        "MESSAGE_COMPLETED",
        "RUN_COMPLETED",
    ]
    assert second[0].text == "two" and second[0].source == "follow_up"
    assert second[1].steering_id == queued.id and second[1].turn == 1
    # The first run never saw the follow-up.
    assert [m.role for m in provider.requests[0].messages] == ["user"]
    assert provider.requests[1].messages[-1].text == "two"


async def test_pull_back_takes_a_pending_message_out_of_the_queue() -> None:
    hold, reached = anyio.Event(), anyio.Event()
    session, provider = session_with(reply(Text("ok"), Wait(hold, reached)))
    async with session:
        await session.submit("one")
        await reached.wait()
        first = await session.steer("keep me")
        second = await session.follow_up("take me back")
        pulled = await session.pull_back()
        assert pulled == second
        assert session.steering.pending == (first,)
        await session.pull_back(first.id)
        hold.set()
        await wait_for(session.store, lambda e: e.type == "RUN_COMPLETED")
    withdrawn = [e for e in session.store.replay(0) if e.type == "STEERING_WITHDRAWN"]
    assert [(e.steering_id, e.reason) for e in withdrawn] == [
        (second.id, "pulled_back"),
        (first.id, "pulled_back"),
    ]
    assert len(provider.requests) == 1


async def test_cancel_during_streaming_keeps_partial_text() -> None:
    hold, reached = anyio.Event(), anyio.Event()
    session, provider = session_with(
        reply(
            Thinking("let me think"),
            Text("Partial answer"),
            Wait(hold, reached),
            Text(" never sent"),
        ),
        reply(Text("Recovered.")),
    )
    async with session:
        await session.checkpoints.ready()  # its build is the session's, not the run's
        baseline = asyncio.all_tasks()
        run_id = await session.submit("go")
        await reached.wait()
        steer = await session.steer("a pending steer")
        follow = await session.follow_up("a pending follow-up")
        returned = await session.cancel()
        assert asyncio.all_tasks() == baseline  # nothing of the run is left running
        assert not session.running
        assert returned == [steer, follow]
        events = [e for e in session.store.replay(0) if e.run_id == run_id]
        assert squeeze(types(events)) == [
            "PROMPT_RECEIVED",
            "CHECKPOINT_CREATED",
            "THINKING_DELTA",
            "TOKEN_DELTA",
            "STEERING_QUEUED",
            "MESSAGE_COMPLETED",
            "STEERING_WITHDRAWN",
            "RUN_CANCELLED",
        ]
        completed = next(e for e in events if e.type == "MESSAGE_COMPLETED")
        assert completed.message.interrupted and completed.message.text == "Partial answer"
        assert [e.reason for e in events if e.type == "STEERING_WITHDRAWN"] == [
            "cancelled",
            "cancelled",
        ]
        kept = session.messages[-1]
        assert isinstance(kept, AssistantMessage) and kept.text == "Partial answer"
        # The session goes on: the next request carries the interrupted answer.
        await run_to_end(session, "again")
        assert [m.role for m in provider.requests[1].messages] == ["user", "assistant", "user"]


async def test_cancel_during_tool_calls_answers_every_call() -> None:
    gate = GateTool("Slow")
    session, provider = session_with(
        reply(
            Text("Two steps."),
            ToolCall("Echo", {"text": "quick"}),
            ToolCall("Slow", {"label": "a"}),
            ToolCall("Slow", {"label": "b"}),
        ),
        reply(Text("after")),
        tools=[EchoTool(), gate],
    )
    async with session:
        await session.checkpoints.ready()  # its build is the session's, not the run's
        baseline = asyncio.all_tasks()
        run_id = await session.submit("go")
        await gate.started_event("a").wait()
        await session.cancel()
        assert asyncio.all_tasks() == baseline
        assert gate.cancelled == ["a"] and gate.finished == []
        events = [e for e in session.store.replay(0) if e.run_id == run_id]
        assert types(events)[-1] == "RUN_CANCELLED"
        outcome = {
            e.tool_call_id: (e.type, getattr(e, "kind", None))
            for e in events
            if e.type in ("TOOL_CALL_COMPLETED", "TOOL_CALL_FAILED")
        }
        calls = [b.id for b in session.messages[1].tool_calls]
        assert [outcome[c] for c in calls] == [
            ("TOOL_CALL_COMPLETED", None),
            ("TOOL_CALL_FAILED", "cancelled"),
            ("TOOL_CALL_FAILED", "cancelled"),
        ]
        results = session.messages[2:]
        assert [r.tool_call_id for r in results] == calls
        assert [r.content for r in results] == ["quick", "cancelled by user", "cancelled by user"]
        assert [r.is_error for r in results] == [False, True, True]
        await run_to_end(session, "continue")
        assert [m.role for m in provider.requests[1].messages] == [
            "user",
            "assistant",
            "tool",
            "tool",
            "tool",
            "user",
        ]


async def test_cancel_while_waiting_for_permission() -> None:
    from tests.helpers import WriteLikeTool

    session, _ = session_with(reply(ToolCall("Touch")), tools=[WriteLikeTool()])
    async with session:
        run_id = await session.submit("touch it")
        await wait_for(session.store, lambda e: e.type == "PERMISSION_REQUESTED")
        await session.cancel()
    events = [e for e in session.store.replay(0) if e.run_id == run_id]
    resolved = next(e for e in events if e.type == "PERMISSION_RESOLVED")
    assert resolved.decision == "cancelled"
    assert types(events)[-2:] == ["TOOL_CALL_FAILED", "RUN_CANCELLED"]


async def test_two_sessions_at_once_never_see_each_others_events() -> None:
    async with SessionManager() as manager:
        sessions = []
        for name in ("alpha", "beta"):
            choice, _ = scripted(
                reply(Text(f"{name} one"), ToolCall("Echo", {"text": name})),
                reply(Text(f"{name} two"), delay=0.001),
            )
            sessions.append(await manager.create(model=choice, tools=[EchoTool()]))
        async with anyio.create_task_group() as group:
            for session in sessions:
                group.start_soon(run_to_end, session, "go")
        for session, name in zip(sessions, ("alpha", "beta"), strict=True):
            events = session.store.replay(0)
            assert {e.session_id for e in events} == {session.id}
            assert [e.seq for e in events] == list(range(1, len(events) + 1))
            text = "".join(e.text for e in events if e.type == "TOKEN_DELTA")
            assert text == f"{name} one{name} two"
        assert sessions[0].id != sessions[1].id
        assert {s.id for s in manager.list()} == {s.id for s in sessions}
        await manager.close(sessions[0].id)
        assert sessions[0].store.replay(0)[-1].type == "SESSION_ENDED"
        with pytest.raises(HarnessError, match="no open session"):
            manager.get(sessions[0].id)


async def test_run_iterator_yields_until_the_run_ends() -> None:
    session, _ = session_with(reply(Text("hello")), reply(Text("unused")))
    async with session:
        seen = [event.type async for event in session.run("hi")]
        assert seen[0] == "PROMPT_RECEIVED" and seen[-1] == "RUN_COMPLETED"
        assert not session.running


async def test_leaving_the_run_iterator_early_cancels_the_run() -> None:
    hold = anyio.Event()
    session, _ = session_with(reply(Text("a b c"), Wait(hold)))
    async with session:
        async with anyio.create_task_group():
            agen = session.run("hi")
            async for event in agen:
                if event.type == "TOKEN_DELTA":
                    break
            await agen.aclose()
        assert not session.running
        assert session.store.replay(0)[-1].type == "RUN_CANCELLED"


async def test_submit_while_running_is_refused_with_advice() -> None:
    hold, reached = anyio.Event(), anyio.Event()
    session, _ = session_with(reply(Text("x"), Wait(hold, reached)))
    async with session:
        await session.submit("one")
        await reached.wait()
        with pytest.raises(SessionBusyError, match="already active"):
            await session.submit("two")
        hold.set()
    with pytest.raises(HarnessError, match="empty"):
        await Session(model="demo").submit("   ")


async def test_model_switch_during_a_run_waits_for_the_turn_boundary() -> None:
    hold, reached = anyio.Event(), anyio.Event()
    first, first_provider = scripted(
        reply(Text("on first"), ToolCall("Echo", {"text": "t"}), Wait(hold, reached)), name="first"
    )
    second, second_provider = scripted(reply(Text("on second")), name="second")
    session = Session(model=first, tools=[EchoTool()])
    async with session:
        run_id = await session.submit("go")
        await reached.wait()
        await session.set_model(second)
        assert session.model.name == "first"  # not yet: mid-response
        hold.set()
        await wait_for(session.store, lambda e: e.type == "RUN_COMPLETED")
    events = [e for e in session.store.replay(0) if e.run_id == run_id]
    order = squeeze(types(events))
    assert (
        order.index("TOOL_CALL_COMPLETED")
        < order.index("MODEL_CHANGED")
        < order.index("RUN_COMPLETED")
    )
    changed = next(e for e in events if e.type == "MODEL_CHANGED")
    assert (changed.previous_model, changed.model) == ("first", "second")
    assert len(first_provider.requests) == len(second_provider.requests) == 1
    assert isinstance(second_provider.requests[0].messages[-1], ToolResultMessage)


async def test_stream_failure_keeps_content_and_the_session_stays_usable() -> None:
    session, provider = session_with(
        reply(
            Text("Half an answer"),
            ToolCall("Echo", {"text": "never"}),
            Fail("the server is overloaded", "overloaded", "try again in a minute"),
        ),
        reply(Text("Fine now.")),
    )
    async with session:
        events = await run_to_end(session, "go")
        assert squeeze(types(events))[-3:] == ["MESSAGE_COMPLETED", "ERROR", "RUN_COMPLETED"]
        error = next(e for e in events if e.type == "ERROR")
        assert error.fatal and error.code == "overloaded" and error.hint
        done = events[-1]
        assert done.is_error and done.stop_reason == "error"
        assert "overloaded" in done.error
        kept = session.messages[-1]
        assert kept.text == "Half an answer" and kept.tool_calls == ()  # never run
        events = await run_to_end(session, "again")
        assert not events[-1].is_error
        # The next request carries the partial answer and no unanswered tool call.
        assert [m.role for m in provider.requests[1].messages] == ["user", "assistant", "user"]


async def test_provider_crash_and_exhausted_script_end_the_run_cleanly() -> None:
    from harness_tui.core.providers.offline.scripted import Crash

    session, _ = session_with(reply(Text("so far"), Crash("socket exploded")))
    async with session:
        events = await run_to_end(session, "go")
        error = next(e for e in events if e.type == "ERROR")
        assert "socket exploded" in error.message and error.code == "provider_exception"
        events = await run_to_end(session, "more")  # the script has nothing left
        error = next(e for e in events if e.type == "ERROR")
        assert error.code == "script_exhausted" and events[-1].is_error


@pytest.mark.parametrize(
    ("call", "kind", "needle"),
    [
        (ToolCall("Nope", {}), "unknown_tool", "Unknown tool 'Nope'"),
        (ToolCall("Echo", {"txt": 1}), "invalid_input", "'text' is a required property"),
        (ToolCall("Echo", raw_json='{"text": "unterminated'), "invalid_input", "not valid JSON"),
    ],
)
async def test_bad_tool_calls_become_errors_for_the_model(call, kind, needle) -> None:
    session, provider = session_with(reply(call), reply(Text("sorry")))
    async with session:
        events = await run_to_end(session, "go")
    failed = next(e for e in events if e.type == "TOOL_CALL_FAILED")
    assert failed.kind == kind and needle in failed.error
    result = provider.requests[1].messages[-1]
    assert isinstance(result, ToolResultMessage) and result.is_error and needle in result.content
    assert events[-1].type == "RUN_COMPLETED" and not events[-1].is_error


async def test_plan_mode_refuses_tools_that_change_things() -> None:
    from tests.helpers import WriteLikeTool

    tool = WriteLikeTool()
    session, _ = session_with(
        reply(ToolCall("Touch")), reply(Text("ok")), tools=[tool], mode="plan"
    )
    async with session:
        events = await run_to_end(session, "go")
    failed = next(e for e in events if e.type == "TOOL_CALL_FAILED")
    assert failed.kind == "denied" and "plan mode" in failed.error
    assert tool.runs == 0


async def test_permission_request_is_answered_through_the_session() -> None:
    from tests.helpers import WriteLikeTool

    tool = WriteLikeTool()
    session, _ = session_with(
        reply(ToolCall("Touch")),
        reply(ToolCall("Touch")),
        reply(ToolCall("Touch")),
        reply(Text("done")),
        tools=[tool],
    )
    async with session:
        run_id = await session.submit("go")
        asked = await wait_for(session.store, lambda e: e.type == "PERMISSION_REQUESTED")
        with pytest.raises(HarnessError, match="unknown permission decision"):
            await session.resolve_permission(asked.request_id, "maybe")
        await session.resolve_permission(asked.request_id, "deny", "not that file")
        second = await wait_for(
            session.store,
            lambda e: e.type == "PERMISSION_REQUESTED" and e.request_id != asked.request_id,
        )
        await session.resolve_permission(second.request_id, "allow_session")
        await wait_for(session.store, lambda e: e.type == "RUN_COMPLETED")
        with pytest.raises(HarnessError, match="no open permission request"):
            await session.resolve_permission(asked.request_id, "allow_once")
    events = [e for e in session.store.replay(0) if e.run_id == run_id]
    assert types(events).count("PERMISSION_REQUESTED") == 2  # the third call was allowed
    denied = next(e for e in events if e.type == "TOOL_CALL_FAILED")
    assert "not that file" in denied.error
    assert tool.runs == 2


async def test_set_mode_emits_and_applies_to_the_next_call() -> None:
    session, _ = session_with(reply(Text("x")))
    async with session:
        await session.set_mode("plan")
        with pytest.raises(HarnessError, match="unknown permission mode"):
            await session.set_mode("yolo")
    changed = [e for e in session.store.replay(0) if e.type == "MODE_CHANGED"]
    assert [(e.previous_mode, e.mode) for e in changed] == [("default", "plan")]
    assert session.mode == "plan"


async def test_demo_model_plans_looks_at_the_workspace_and_answers(tmp_path) -> None:
    (tmp_path / "app.py").write_text("print('hi')\n")
    (tmp_path / "README.md").write_text("# hi\n")
    session = Session(model="demo", cwd=tmp_path)
    async with session:
        events = await run_to_end(session, "what is here?")
    all_types = types(session.store.replay(0))
    assert all_types[:2] == ["SESSION_STARTED", "NOTICE"]
    order = squeeze(types(events))
    for expected in ("THINKING_DELTA", "PLAN_GENERATED", "TOOL_CALL_COMPLETED", "PLAN_UPDATED"):
        assert expected in order
    assert "**2 files**" in events[-1].result
    assert events[-1].type == "RUN_COMPLETED" and not events[-1].is_error


async def test_events_are_stamped_with_session_and_run() -> None:
    session, _ = session_with(reply(Text("x")))
    async with session:
        events = await run_to_end(session, "go")
    assert all(isinstance(e, Event) and e.session_id == session.id for e in events)
    assert len({e.run_id for e in events}) == 1


async def test_cancel_reaches_a_stream_that_never_has_to_wait() -> None:
    # 200,000 deltas ready at once: the stream never suspends on its own.
    session, _ = session_with(reply(Text("word " * 200_000)))
    seen = 0
    async with session, anyio.create_task_group() as group:
        run_id = await session.submit("go")
        sub = session.store.subscribe("reader", queue_size=64)
        async for event in session.store.stream(sub):
            if event.type == "TOKEN_DELTA":
                seen += 1
                if seen == 100:
                    group.start_soon(session.cancel)  # the reader keeps draining
            if event.type in ("RUN_CANCELLED", "RUN_COMPLETED") and event.run_id == run_id:
                break
    assert event.type == "RUN_CANCELLED"
    deltas = sum(1 for e in session.store.replay(0) if e.type == "TOKEN_DELTA")
    assert deltas < 1_000  # stopped within a buffer's worth, not at the end of the stream


async def test_every_provider_can_be_closed_and_one_that_holds_nothing_closes_as_a_no_op() -> None:
    from harness_tui.core.providers.base import Provider

    provider = ScriptedProvider([reply("hi")])
    assert isinstance(provider, Provider)
    await provider.aclose()  # inherited: nothing to release


async def test_the_builder_turns_each_chunk_into_its_event_and_its_part_of_the_message() -> None:
    from harness_tui.core.messages import TokenUsage
    from harness_tui.core.providers.base import (
        RetryNotice,
        StreamEnd,
        StreamFailed,
        TextChunk,
        ThinkingChunk,
        ToolCallArgs,
        ToolCallBegin,
        UsageChunk,
    )
    from harness_tui.core.run.message_builder import MessageBuilder

    emitted: list[tuple[str, dict]] = []

    async def emit(event_type: type, /, **fields: object) -> None:
        emitted.append((event_type.__name__, fields))

    builder = MessageBuilder("m1", "scripted", "model", emit)
    usage = TokenUsage(input_tokens=3)
    chunks = [
        RetryNotice(attempt=2, max_attempts=4, delay_s=0.5, reason="overloaded", status_code=529),
        ThinkingChunk("hmm"),
        TextChunk("Hi"),
        ToolCallBegin("c1", "Echo"),
        ToolCallArgs("c1", '{"text": "x"}'),
        UsageChunk(usage),
        StreamEnd("tool_use"),
    ]
    for chunk in chunks:
        emission = builder.add(chunk)
        if emission is not None:
            await emission
    assert emitted == [
        (
            "Retrying",
            {
                "attempt": 2,
                "max_attempts": 4,
                "delay_s": 0.5,
                "reason": "overloaded",
                "status_code": 529,
            },
        ),
        ("ThinkingDelta", {"message_id": "m1", "text": "hmm"}),
        ("TokenDelta", {"message_id": "m1", "text": "Hi"}),
    ]
    message = builder.build()
    assert message is not None and message.text == "Hi" and message.usage == usage
    assert message.tool_calls[0].input == {"text": "x"} and message.stop_reason == "tool_use"
    assert builder.failure is None
    failed = StreamFailed("broken")
    assert builder.add(failed) is None and builder.failure is failed
