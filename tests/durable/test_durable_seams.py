"""The core seams a durable run stands on, and the durable package's smaller parts,
in process: ids from a per-task source, events ingested with their own numbers, a
session file's writes tapped and flushed on demand, a stateless scripted model, and
the service's refusals."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import anyio
import pytest

from harness_tui.core.errors import HarnessError
from harness_tui.core.event_store import EventStore
from harness_tui.core.events import ID_SOURCE, TokenDelta, new_id
from harness_tui.core.messages import AssistantMessage, TextBlock, UserMessage
from harness_tui.core.providers.base import ModelRequest, StreamFailed
from harness_tui.core.providers.offline.scripted import ScriptedProvider
from harness_tui.core.session.session import Session
from harness_tui.core.storage.writer import LINE_TAP, SessionLog
from harness_tui.durable.execution import IdCounter
from harness_tui.durable.service import DurableService, redact_url


def delta(text: str = "x") -> TokenDelta:
    return TokenDelta(session_id="s", message_id="m", text=text)


async def test_new_id_takes_ids_from_the_tasks_source_and_random_ones_elsewhere() -> None:
    counter = IdCounter("run_abc")
    seen: list[str] = []

    async def elsewhere() -> None:
        seen.append(new_id("msg"))

    token = ID_SOURCE.set(counter)
    try:
        first, second = new_id("msg"), new_id("ent")
        await asyncio.create_task(elsewhere())  # a child task shares the source
    finally:
        ID_SOURCE.reset(token)
    assert (first, second) == ("msg_runabc000001", "ent_runabc000002")
    assert seen == ["msg_runabc000003"]
    again = IdCounter("run_abc")  # a replay of the same run names things the same
    assert [again("msg"), again("ent")] == [first, second]
    assert new_id("msg") != new_id("msg")  # outside: random


async def test_ingest_keeps_the_events_numbers_and_refuses_a_gap() -> None:
    source, mirror = EventStore(), EventStore()
    events = [await source.append(delta(str(i))) for i in range(3)]
    sub = mirror.subscribe("reader")
    for event in events:
        await mirror.ingest(event)
    assert mirror.last_seq == 3
    assert [e.seq for e in mirror.replay(0)] == [1, 2, 3]
    assert [(e.seq, e.event_id) for e in mirror.replay(1, 2)] == [(2, events[1].event_id)]
    got = []
    mirror.close()
    async for item in mirror.stream(sub):
        got.append(item.seq)
    assert got == [1, 2, 3]
    later = await source.append(delta())
    later_copy = later.model_copy(update={"seq": 5})
    with pytest.raises(ValueError, match="seq 5 does not follow 3"):
        await EventStoreWith(3).ingest(later_copy)


def EventStoreWith(last: int) -> EventStore:
    store = EventStore()
    store._seq = last
    return store


async def test_a_session_log_tap_sees_every_write_and_flush_writes_at_once(
    tmp_path: Path,
) -> None:
    store = EventStore()
    seen: list[bytes] = []
    keep = True

    def tap(data: bytes) -> bool:
        seen.append(data)
        return keep

    token = LINE_TAP.set(tap)
    try:
        log = SessionLog(tmp_path / "s.jsonl", store)
    finally:
        LINE_TAP.reset(token)
    log.open()
    async with anyio.create_task_group() as group:
        group.start_soon(log.run)
        await store.append(delta("a"))
        await log.flush()  # no waiting for the writer's gathering pause
        assert log.written_seq == 1
        assert b'"text":"a"' in b"".join(seen)
        keep = False  # a tap may keep lines out of the file
        await store.append(delta("b"))
        await log.flush()
        store.close()
    text = (tmp_path / "s.jsonl").read_text()
    assert '"text":"a"' in text and '"text":"b"' not in text
    assert any(b'"text":"b"' in data for data in seen)


def test_a_by_answers_script_replies_by_the_conversation_not_by_calls(tmp_path: Path) -> None:
    script = tmp_path / "s.yaml"
    script.write_text("pick: by_answers\nresponses:\n  - text: one\n  - text: two\n")

    def ask(provider: ScriptedProvider, answers: int) -> list[object]:
        messages: list[object] = [UserMessage.of("hi")]
        answer = AssistantMessage(
            id="m", content=(TextBlock(text="x"),), provider="scripted", model="s"
        )
        messages += [answer] * answers
        request = ModelRequest(model="s", system="", messages=tuple(messages))  # type: ignore[arg-type]

        async def collect() -> list[object]:
            return [c async for c in provider.stream(request)]

        return anyio.run(collect)

    first, second = ScriptedProvider.from_file(script), ScriptedProvider.from_file(script)
    assert "two" in repr(ask(first, 1)) and "one" in repr(ask(second, 0))
    assert "two" in repr(ask(second, 1)) and "one" in repr(ask(first, 0))  # stateless
    exhausted = ask(first, 2)
    assert isinstance(exhausted[0], StreamFailed)
    assert "no reply for answer 3 (its script has 2)" in exhausted[0].message


def test_the_service_refuses_a_url_it_cannot_use_and_hides_passwords(tmp_path: Path) -> None:
    with pytest.raises(HarnessError, match="neither a postgresql:// nor a sqlite:///"):
        DurableService("mysql://u:p@h/db", folder=tmp_path)
    assert redact_url("postgresql://ann:secret@db:5432/agents") == (
        "postgresql://ann:***@db:5432/agents"
    )


async def test_a_second_process_on_one_sqlite_database_is_refused(tmp_path: Path) -> None:
    first = DurableService(folder=tmp_path)
    first._lock_sqlite()
    try:
        with pytest.raises(HarnessError, match="another `serve --durable` process uses"):
            DurableService(folder=tmp_path)._lock_sqlite()
    finally:
        first._release()
    DurableService(folder=tmp_path)._lock_sqlite()  # free again once it is gone


async def test_a_resumed_session_can_be_given_its_run_id(tmp_path: Path) -> None:
    session = Session(model="demo", cwd=tmp_path, persist=False)
    async with session:
        run_id = await session.submit("hello", run_id="run_given")
        assert session.run_id == "run_given"
        await session.runs.wait_idle()
        assert not session.running
    assert run_id == "run_given"


def test_the_command_line_refuses_what_it_cannot_serve(tmp_path: Path) -> None:
    # In processes of their own: `serve` arms the exit guard (signal handlers and a
    # watchdog that ends the process), which must never run inside pytest.
    def said(*arguments: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "harness_tui", *arguments],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            start_new_session=True,
        )
        assert done.returncode == 2, done
        return done.stderr

    assert "--max-runs goes with --durable" in said("serve", "--max-runs", "2")
    refused = said("serve", "--database", "mysql://u@h/db", "--port", "0")
    assert "neither a postgresql:// nor a sqlite:/// URL" in refused and "leave it out" in refused
    none = said("runs", "--database", f"sqlite:///{tmp_path}/none.sqlite")
    assert "no durable service has run here" in none
