"""Session files through the session API: what is written, and resuming from it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import anyio
import pytest

from harness_tui.core.errors import HarnessError
from harness_tui.core.providers.models import ModelChoice
from harness_tui.core.providers.offline.scripted import (
    ScriptedProvider,
    Text,
    ToolCall,
    Wait,
    reply,
)
from harness_tui.core.session.session import Session
from harness_tui.core.storage.records import (
    FORMAT_VERSION,
    ReadResult,
    SessionFormatError,
    read_records,
)
from harness_tui.core.storage.saved import (
    NoSuchSession,
    latest_session,
    list_sessions,
    load_session,
    session_path,
)
from tests.helpers import EchoTool, run_to_end, squeeze, types, wait_for


def scripted(*replies, name: str = "scripted") -> tuple[ModelChoice, ScriptedProvider]:
    provider = ScriptedProvider(list(replies))
    return ModelChoice(name, "scripted", lambda: provider), provider


def script_file(folder: Path, *texts: str) -> str:
    """A model that resolves by name (``scripted:PATH``), so a resume can find it."""
    path = folder / "replies.yaml"
    path.write_text(json.dumps([{"text": t} for t in texts]))
    return f"scripted:{path}"


def record_types(session_id: str) -> list[str]:
    return [r["type"] for r in read_records(session_path(session_id)).records]


async def test_every_event_and_entry_is_in_the_file_in_order(tmp_path: Path) -> None:
    model, _ = scripted(reply(Text("hello"), ToolCall("Echo", {"text": "x"})), reply(Text("bye")))
    async with Session(model=model, tools=[EchoTool()], cwd=tmp_path) as session:
        await run_to_end(session, "hi")
    stored = types(session.store.replay(0))
    written = record_types(session.id)
    assert written[0] == "session"
    # Every event, in order, with the conversation's entries where they happened.
    assert [t for t in written[1:] if t != "message"] == stored
    assert squeeze(written) == [
        "session",
        "SESSION_STARTED",
        "PROMPT_RECEIVED",
        "message",  # the prompt
        "CHECKPOINT_CREATED",
        "TOKEN_DELTA",
        "message",  # the answer, before its MESSAGE_COMPLETED
        "MESSAGE_COMPLETED",
        "TOOL_CALL_STARTED",
        "TOOL_CALL_COMPLETED",
        "message",  # the tool result
        "TOKEN_DELTA",
        "message",
        "MESSAGE_COMPLETED",
        "RUN_COMPLETED",
        "SESSION_ENDED",
    ]
    saved = load_session(session.id)
    assert [m.role for m in saved.context().messages] == ["user", "assistant", "tool", "assistant"]
    assert saved.problems is None


async def test_persist_false_writes_nothing(tmp_path: Path) -> None:
    model, _ = scripted(reply(Text("hello")))
    async with Session(model=model, cwd=tmp_path, persist=False) as session:
        await run_to_end(session, "hi")
    assert not session_path(session.id).exists()
    assert session.file is None and len(session.tree) == 2  # the tree is kept in memory


async def test_resume_restores_conversation_model_mode_plan_and_pending(tmp_path: Path) -> None:
    todos = {"todos": [{"content": "read", "status": "completed"}, {"content": "fix"}]}
    todos["todos"][1]["status"] = "in_progress"
    model = script_file(tmp_path, "unused")
    first, provider = scripted(
        reply(ToolCall("TodoWrite", todos)),
        reply(Text("planned")),
        reply(Text("working"), Wait(anyio.Event(), reached := anyio.Event())),
    )
    async with Session(model=model, cwd=tmp_path) as session:
        await session.set_model(first)  # scripted in-process, named "scripted"
        await session.set_model(model)  # and back to the one resolvable by name
        session.models.provider = provider  # the same script object plays on (test seam)
        await run_to_end(session, "make a plan")
        await session.set_mode("acceptEdits")
        await session.submit("now work")
        await reached.wait()
        steer = await session.steer("mind the tests")
        follow = await session.follow_up("then summarise")
        # Leaving the session now stops the run; the queued messages stay queued.
    saved = load_session(session.id)
    assert saved.model == model and saved.mode == "acceptEdits"
    assert [(e.content, e.status) for e in saved.plan] == [
        ("read", "completed"),
        ("fix", "in_progress"),
    ]
    assert [(p.id, p.kind) for p in saved.pending] == [
        (steer.id, "steer"),
        (follow.id, "follow_up"),
    ]

    resumed = Session.resume(session.id, cwd=tmp_path)
    assert resumed.id == session.id and resumed.model.name == model
    assert resumed.mode == "acceptEdits" and resumed.plan == saved.plan
    texts = [getattr(m, "text", None) for m in resumed.messages]
    assert texts[0] == "make a plan" and "now work" in texts
    assert resumed.messages[-1].role == "assistant" and resumed.messages[-1].interrupted
    async with resumed:
        started = resumed.store.replay(0)
        assert started[0].source == "resume"
        assert [e.type for e in started if e.type in ("PLAN_GENERATED", "STEERING_QUEUED")] == [
            "PLAN_GENERATED",
            "STEERING_QUEUED",
            "STEERING_QUEUED",
        ]
        assert [m.id for m in resumed.steering.pending] == [steer.id, follow.id]
    written = read_records(session_path(session.id))
    assert written.skipped == [] and [r["type"] for r in written.records].count("session") == 1


async def test_continue_finds_the_latest_session_of_the_folder(tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    ids = []
    for folder, prompt in ((tmp_path, "first"), (other, "elsewhere"), (tmp_path, "second")):
        model, _ = scripted(reply(Text("ok")))
        async with Session(model=model, cwd=folder) as session:
            await run_to_end(session, prompt)
        ids.append(session.id)
    async with Session(model=scripted()[0], cwd=tmp_path):
        pass  # nothing asked: not listed
    listed = list_sessions(tmp_path)
    assert [i.session_id for i in listed] == [ids[2], ids[0]]
    assert listed[0].title == "second" and listed[0].model == "scripted" and listed[0].size > 0
    assert latest_session(tmp_path).session_id == ids[2]
    assert len(list_sessions(None)) == 3


async def test_resuming_another_branch_by_entry_id(tmp_path: Path) -> None:
    model, _ = scripted(reply(Text("one")), reply(Text("two")))
    async with Session(model=model, cwd=tmp_path) as session:
        await run_to_end(session, "first")
        first_answer = session.messages.head
        await run_to_end(session, "second")
    resumed = Session.resume(session.id, entry_id=first_answer[:10], model=scripted()[0])
    assert [m.role for m in resumed.messages] == ["user", "assistant"]
    async with resumed:
        changed = await wait_for(resumed.store, lambda e: e.type == "BRANCH_CHANGED")
        assert changed.entry_id == first_answer
    # The move is in the file: resuming again lands on the same branch.
    assert load_session(session.id).head == first_answer


def test_an_unknown_session_id_is_one_clear_message() -> None:
    with pytest.raises(NoSuchSession) as caught:
        Session.resume("ses_nope")
    assert "no saved session 'ses_nope'" in str(caught.value)
    assert "harness-tui sessions" in str(caught.value)


def test_a_newer_format_is_refused(tmp_path: Path) -> None:
    path = session_path("ses_future")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(
            {
                "type": "session",
                "format": FORMAT_VERSION + 1,
                "session_id": "ses_future",
                "cwd": "/",
                "created": 0,
                "version": "9",
            }
        )
        + "\n"
    )
    with pytest.raises(SessionFormatError, match="newer harness-tui"):
        Session.resume("ses_future")


async def test_an_unusable_data_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # HARNESS_DATA_DIR names a file: the session folder can be neither read nor made
    # (a chmod 000 folder does the same, but not to root, who runs CI here).
    blocker = tmp_path / "data"
    blocker.write_text("not a folder")
    monkeypatch.setenv("HARNESS_DATA_DIR", str(blocker))
    with pytest.raises(HarnessError, match="cannot read the session folder") as caught:
        list_sessions(tmp_path)
    assert "HARNESS_DATA_DIR" in str(caught.value)
    with pytest.raises(HarnessError, match="cannot read the session folder"):
        Session.resume("ses_x")
    async with Session(model=scripted()[0], cwd=tmp_path) as session:
        notices = [e.message for e in session.store.replay(0) if e.type == "NOTICE"]
    assert any("This session is not saved" in n for n in notices), notices
    assert session.file is None


async def test_a_write_failure_becomes_a_notice_and_the_session_goes_on(tmp_path: Path) -> None:
    model, _ = scripted(reply(Text("still here")))
    async with Session(model=model, cwd=tmp_path) as session:
        assert session.file is not None
        full = os.open("/dev/full", os.O_WRONLY)  # the disk fills up under the writer
        os.dup2(full, session.journal.log._fd)
        os.close(full)
        events = await run_to_end(session, "hi")
        notice = await wait_for(session.store, lambda e: "cannot be written" in str(e))
    assert events[-1].type == "RUN_COMPLETED" and not events[-1].is_error
    assert "No space left on device" in notice.message and "not saved" in notice.message
    assert session.file is None


async def test_a_failing_fsync_becomes_a_notice_and_the_session_goes_on(
    tmp_path: Path,
) -> None:
    model, _ = scripted(reply(Text("first")), reply(Text("second")))
    async with Session(model=model, cwd=tmp_path) as session:
        assert session.journal.log is not None
        read_end, write_end = os.pipe()  # writes succeed; fsync on a pipe fails (EINVAL)
        os.dup2(write_end, session.journal.log._fd)
        os.close(write_end)
        try:
            first = await run_to_end(session, "hi")
            notice = await wait_for(session.store, lambda e: "cannot be written" in str(e))
            second = await run_to_end(session, "still there?")
        finally:
            os.close(read_end)
    assert first[-1].type == "RUN_COMPLETED" and not first[-1].is_error
    assert second[-1].type == "RUN_COMPLETED" and second[-1].result == "second"
    assert "Invalid argument" in notice.message and "not saved" in notice.message


CHILD = textwrap.dedent(
    """
    import sys
    import anyio
    from harness_tui.core.providers.models import ModelChoice
    from harness_tui.core.providers.offline.scripted import (
        ScriptedProvider, Text, ToolCall, Wait, reply,
    )
    from harness_tui.core.session.session import Session
    from harness_tui.core.tools.base import Tool, ToolResult

    reached = anyio.Event()

    class Hang(Tool):
        name = "Hang"
        description = "never returns"
        input_schema = {"type": "object", "properties": {}}
        read_only = True

        async def run(self, input, ctx):
            reached.set()
            await anyio.sleep_forever()

    async def main():
        if sys.argv[2] == "stream":
            second = reply(Text("streaming " * 200, chunk=7), Wait(anyio.Event(), reached))
        else:
            second = reply(Text("Waiting on it."), ToolCall("Hang", {}))
        provider = ScriptedProvider([reply(Text("done one")), second])
        model = ModelChoice("scripted", "scripted", lambda: provider)
        async with Session(model=model, cwd=sys.argv[1], tools=[Hang()]) as session:
            async for event in session.run("first"):
                pass
            await session.submit("second")
            await reached.wait()
            log = session.journal.log
            while log.written_seq < session.store.last_seq or log._staged:
                await anyio.sleep(0.01)  # let the file catch up
            print(session.id, flush=True)
            await anyio.sleep_forever()

    anyio.run(main)
    """
)


def crash_a_child(folder: Path, where: str = "stream") -> tuple[str, ReadResult]:
    """Run CHILD until it streams (``where="stream"``) or runs a tool (``"tool"``),
    SIGKILL it; its session id and the file as it was just before the kill."""
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(folder), where],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        session_id = child.stdout.readline().strip()
        assert session_id.startswith("ses_"), child.stderr.read()
        before = read_records(session_path(session_id))
        child.send_signal(signal.SIGKILL)
        assert child.wait(10) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
        child.stdout.close()
        child.stderr.close()
    return session_id, before


async def test_sigkill_in_mid_stream_then_resume_appends_cleanly(tmp_path: Path) -> None:
    session_id, before = crash_a_child(tmp_path)
    path = session_path(session_id)
    deltas = [r for r in before.records if r["type"] == "TOKEN_DELTA"]
    assert len(deltas) > 200 and before.records[-1]["type"] == "TOKEN_DELTA"  # mid-stream
    # A crash during a write leaves half a record at the end.
    with path.open("ab") as file:
        file.write(b'{"type":"TOKEN_DELTA","seq":999,"te')

    after_kill = read_records(path)
    assert after_kill.records == before.records  # every record written before the kill
    assert len(after_kill.skipped) == 1 and after_kill.torn_tail

    model, provider = scripted(reply(Text("resumed fine")))
    resumed = Session.resume(session_id, model=model)
    assert [m.text for m in resumed.messages if m.role == "user"] == ["first", "second"]
    # The answer that was streaming is kept, marked as cut off.
    partial = resumed.messages[-1]
    assert partial.role == "assistant" and partial.interrupted
    assert partial.text == "streaming " * 200  # all of it was streamed before the kill
    async with resumed:
        events = await run_to_end(resumed, "third")
    notices = [e.message for e in resumed.store.replay(0) if e.type == "NOTICE"]
    assert any("answer that was streaming" in n for n in notices)
    assert events[-1].type == "RUN_COMPLETED" and not events[-1].is_error
    assert [m.role for m in provider.requests[0].messages] == [
        "user",
        "assistant",
        "user",
        "assistant",
        "user",
    ]
    final = read_records(path)
    assert final.records[: len(before.records)] == before.records
    assert len(final.skipped) == 1  # only the torn record; the new ones start on a new line
    segment = [r["type"] for r in final.records[len(before.records) :]]
    assert segment[0] == "SESSION_STARTED" and segment[-1] == "SESSION_ENDED"
    assert "RUN_COMPLETED" in segment and "message" in segment


async def test_sigkill_during_a_tool_call_then_resume_gives_the_call_a_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Killed while a tool ran: the resumed history answers that call (a request with
    an unanswered tool call is refused by every API), and a second resume finds the
    repair in the file instead of repeating it."""
    session_id, before = crash_a_child(tmp_path, "tool")
    assert before.records[-1]["type"] == "TOOL_CALL_STARTED"

    model, provider = scripted(reply(Text("resumed fine")))
    resumed = Session.resume(session_id, model=model)
    *_, call, result = resumed.messages
    assert call.tool_calls[0].name == "Hang" and result.tool_call_id == call.tool_calls[0].id
    assert result.is_error and "harness-tui stopped" in result.content
    async with resumed:
        events = await run_to_end(resumed, "third")
    assert events[-1].type == "RUN_COMPLETED" and not events[-1].is_error
    assert [m.role for m in provider.requests[0].messages][-3:] == ["assistant", "tool", "user"]
    assert "BRANCH_CHANGED" not in types(resumed.store.replay(0))  # the same branch, repaired

    again = load_session(session_id)
    assert not again.interrupted and again.read.skipped == []
    roles = [m.role for m in again.context().messages]
    assert roles == ["user", "assistant", "user", "assistant", "tool", "user", "assistant"]


async def test_a_session_open_elsewhere_is_not_written_twice(tmp_path: Path) -> None:
    model, _ = scripted(reply(Text("one")), reply(Text("two")))
    async with Session(model=model, cwd=tmp_path) as first:
        await run_to_end(first, "hello")
        second = Session.resume(first.id, model=scripted(reply(Text("x")))[0])
        async with second:
            notices = [e.message for e in second.store.replay(0) if e.type == "NOTICE"]
            await run_to_end(second, "meanwhile")
        assert any("open in another harness-tui process" in n for n in notices), notices
        assert second.file is None
        await run_to_end(first, "still mine")
    saved = load_session(first.id)
    texts = [m.text for m in saved.context().messages if m.role == "user"]
    assert texts == ["hello", "still mine"]  # nothing of the second writer got in


async def test_resuming_a_file_by_path_goes_on_in_that_file(tmp_path: Path) -> None:
    model, _ = scripted(reply(Text("one")))
    async with Session(model=model, cwd=tmp_path) as session:
        await run_to_end(session, "hello")
    moved = tmp_path / "kept" / f"{session.id}.jsonl"
    moved.parent.mkdir()
    session_path(session.id).rename(moved)
    resumed = Session.resume(str(moved), model=scripted(reply(Text("two")))[0])
    assert resumed.hooks.transcript_path == str(moved)
    async with resumed:
        await run_to_end(resumed, "again")
    assert not session_path(session.id).exists()
    assert [m.text for m in load_session(str(moved)).context().messages] == [
        "hello",
        "one",
        "again",
        "two",
    ]
