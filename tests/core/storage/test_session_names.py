"""Session names: ``rename`` is an event in the file, the listing and a resume read it
back, and a reader ignores record types it does not know (as an older one does
``SESSION_RENAMED``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness_tui.core.errors import HarnessError
from harness_tui.core.providers.models import ModelChoice
from harness_tui.core.providers.offline.scripted import ScriptedProvider, Text, reply
from harness_tui.core.session.session import MAX_NAME, Session
from harness_tui.core.storage.records import read_records
from harness_tui.core.storage.saved import list_sessions, load_session, session_path
from tests.helpers import run_to_end


def scripted(*replies) -> ModelChoice:
    provider = ScriptedProvider(list(replies))
    return ModelChoice("scripted", "scripted", lambda: provider)


async def test_rename_is_saved_listed_and_resumed(tmp_path: Path) -> None:
    async with Session(model=scripted(reply(Text("ok"))), cwd=tmp_path) as session:
        await run_to_end(session, "first prompt")
        assert await session.rename("  login\n bug  ") == "login bug"
        await session.rename("login bug")  # the same name: no event
        await session.rename("auth fix")
        with pytest.raises(HarnessError, match="name needs a character"):
            await session.rename(" \t")
    renamed = [e for e in session.store.replay(0) if e.type == "SESSION_RENAMED"]
    assert [(e.name, e.previous_name) for e in renamed] == [
        ("login bug", None),
        ("auth fix", "login bug"),
    ]
    assert session.name == "auth fix"
    (info,) = list_sessions(tmp_path)
    assert (info.name, info.title) == ("auth fix", "first prompt")
    assert "auth fix" in info.label() and "first prompt" not in info.label()
    saved = load_session(session.id)
    assert saved.name == "auth fix"
    resumed = Session.resume(saved, model=scripted(reply(Text("again"))))
    async with resumed:
        started = [e for e in resumed.store.replay(0) if e.type == "SESSION_STARTED"]
        assert started[0].name == "auth fix"  # every view learns it as the session opens
    assert resumed.name == "auth fix"


async def test_a_name_given_at_the_start_and_a_long_one_cut(tmp_path: Path) -> None:
    async with Session(model=scripted(), cwd=tmp_path, name="x" * 300) as session:
        pass
    assert session.name == "x" * MAX_NAME
    records = read_records(session_path(session.id)).records
    kinds = [r["type"] for r in records]
    assert kinds.index("SESSION_STARTED") < kinds.index("SESSION_RENAMED")


def pad(session_id: str, kilobytes: int) -> None:
    notice = {"type": "NOTICE", "seq": 0, "session_id": session_id, "message": "x" * 1000}
    with session_path(session_id).open("a") as file:
        file.writelines(json.dumps(notice) + "\n" for _ in range(kilobytes))


async def test_a_name_deep_inside_a_big_file_is_listed_once_the_session_reopens(
    tmp_path: Path,
) -> None:
    async with Session(model=scripted(reply(Text("ok"))), cwd=tmp_path) as session:
        await run_to_end(session, "go")
    pad(session.id, 100)  # past the listing's first 64 KB
    async with Session.resume(session.id, model=scripted()) as again:
        await again.rename("deep name")
    pad(session.id, 100)  # and more than its last 64 KB after the rename
    async with Session.resume(session.id, model=scripted()):
        pass  # its SESSION_STARTED repeats the name, near the end of the file
    (info,) = list_sessions(tmp_path)
    assert info.name == "deep name"
    assert load_session(session.id).name == "deep name"


def test_records_of_unknown_types_are_ignored_by_the_reader(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    lines = [
        {"type": "session", "format": 1, "session_id": "s", "cwd": "/", "created": 1.0,
         "version": "1"},
        {"type": "SOMETHING_NEWER", "session_id": "s", "whatever": [1, 2]},
        {"type": "PROMPT_RECEIVED", "session_id": "s", "text": "hello", "seq": 1},
    ]  # fmt: skip
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    saved = load_session(str(path))
    assert saved.title == "hello" and saved.problems is None
