"""Searching saved sessions: the FTS5 index finds sessions by their prompts, answers,
tool calls and file names, ranked, with the matching line; it keeps up with files that
grow, shrink or go, and a damaged index is rebuilt."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from harness_tui.core.providers.models import ModelChoice
from harness_tui.core.providers.offline.scripted import ScriptedProvider, Text, ToolCall, reply
from harness_tui.core.session.session import Session
from harness_tui.core.storage import search
from harness_tui.core.storage.saved import list_sessions, session_path, sessions_dir
from harness_tui.core.storage.search import (
    CLOSE,
    OPEN,
    SessionIndex,
    fts_query,
    index_path,
    open_index,
    search_sessions,
)
from tests.helpers import EchoTool, run_to_end


def scripted(*replies) -> ModelChoice:
    provider = ScriptedProvider(list(replies))
    return ModelChoice("scripted", "scripted", lambda: provider)


async def saved_session(cwd: Path, prompt: str, *replies) -> str:
    async with Session(model=scripted(*replies), tools=[EchoTool()], cwd=cwd) as session:
        await run_to_end(session, prompt)
    return session.id


async def test_finds_sessions_by_prompt_answer_and_tool_input_ranked(tmp_path: Path) -> None:
    login = await saved_session(
        tmp_path,
        "the login page rejects valid passwords",
        reply(Text("Looking at it."), ToolCall("Echo", {"text": "src/auth/login_form.py"})),
        reply(Text("Fixed the login bug: the password was trimmed twice.")),
    )
    other = await saved_session(tmp_path, "write tests for the parser", reply(Text("Done.")))
    hits = search_sessions("login", tmp_path)
    assert [h.session_id for h in hits] == [login]
    hit = hits[0]
    assert hit.title == "the login page rejects valid passwords"
    assert f"{OPEN}login{CLOSE}" in hit.snippet
    assert "login" in hit.line and OPEN not in hit.line
    assert hit.marked("[", "]").count("[login]") >= 1
    # A file name a tool call was given, and the answer's words.
    assert [h.kind for h in search_sessions("login_form.py", tmp_path)] == ["tool"]
    assert [h.kind for h in search_sessions("trimmed twice", tmp_path)] == ["assistant"]
    assert [h.session_id for h in search_sessions("parser", tmp_path)] == [other]
    # Every word must occur; the last may be the start of a word.
    assert search_sessions("parser login", tmp_path) == []
    assert [h.session_id for h in search_sessions("pars", tmp_path)] == [other]


async def test_ranking_puts_the_closer_match_first(tmp_path: Path) -> None:
    weak = await saved_session(
        tmp_path,
        "a long note that mentions a deadlock once among many other words " * 5,
        reply(Text("ok")),
    )
    strong = await saved_session(tmp_path, "deadlock deadlock", reply(Text("deadlock")))
    assert [h.session_id for h in search_sessions("deadlock", tmp_path)] == [strong, weak]


async def test_only_this_folders_sessions_unless_all(tmp_path: Path) -> None:
    here, there = tmp_path / "here", tmp_path / "there"
    here.mkdir(), there.mkdir()
    mine = await saved_session(here, "quartz crystal", reply(Text("ok")))
    theirs = await saved_session(there, "quartz clock", reply(Text("ok")))
    assert [h.session_id for h in search_sessions("quartz", here)] == [mine]
    assert {h.session_id for h in search_sessions("quartz")} == {mine, theirs}


async def test_index_follows_appends_rewrites_and_removals(tmp_path: Path) -> None:
    first = await saved_session(tmp_path, "alpha topic", reply(Text("ok")))
    index = open_index()
    try:
        assert [h.session_id for h in index.search("alpha")] == [first]
        assert index.update().read == 0  # nothing changed: nothing read again
        # Appended lines (a resumed session writes more): only they are read.
        path = session_path(first)
        size = path.stat().st_size
        message = (
            '{"type":"message","id":"m9","parent_id":null,"timestamp":1.0,'
            '"message":{"role":"user","content":[{"type":"text","text":"zebra crossing"}]}}\n'
        )
        with path.open("a") as file:
            file.write(message)
        stats = index.update()
        assert stats.read == 1
        assert [h.session_id for h in index.search("zebra")] == [first]
        assert [h.session_id for h in index.search("alpha")] == [first]
        row = index.db.execute("SELECT done, created, cwd FROM files").fetchone()
        assert row[0] == size + len(message)
        assert row[1] > 1e9 and row[2] == list_sessions()[0].cwd  # from the header
        # A line not written compactly (by hand, by another program) is read too.
        with path.open("a") as file:
            file.write(
                message.replace('"type":"message"', '"type": "message"').replace("zebra", "ibex")
            )
        index.update()
        assert [h.session_id for h in index.search("ibex")] == [first]
        # A torn last line is read once it is whole.
        with path.open("a") as file:
            file.write(message.replace("zebra", "yak")[:60])
        index.update()
        assert index.search("yak") == []
        with path.open("a") as file:
            file.write(message.replace("zebra", "yak")[60:])
        index.update()
        assert [h.session_id for h in index.search("yak")] == [first]
        # Rewritten shorter: read again from the start, the old text gone.
        text = path.read_text().replace("zebra crossing", "other words")
        path.write_text(text[: len(text) // 2 + text[len(text) // 2 :].index("\n") + 1])
        index.update()
        assert index.search("zebra") == []
        # Removed: gone from the results.
        path.unlink()
        assert index.update().removed == 1
        assert index.search("alpha") == []
        assert index.db.execute("SELECT count(*) FROM lines").fetchone()[0] == 0
    finally:
        index.close()


async def test_a_damaged_index_is_rebuilt_and_an_old_schema_replaced(tmp_path: Path) -> None:
    found = await saved_session(tmp_path, "walrus", reply(Text("ok")))
    assert [h.session_id for h in search_sessions("walrus")] == [found]
    db = index_path()
    search._remove(db)
    db.write_bytes(b"this is not a database" * 100)
    assert [h.session_id for h in search_sessions("walrus")] == [found]
    with sqlite3.connect(db) as raw:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == search.SCHEMA_VERSION
        raw.execute("PRAGMA user_version=999")
    assert [h.session_id for h in search_sessions("walrus")] == [found]
    with sqlite3.connect(db) as raw:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == search.SCHEMA_VERSION


async def test_a_locked_index_is_searched_as_it_stands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    found = await saved_session(tmp_path, "narwhal", reply(Text("ok")))
    search_sessions("narwhal")  # built
    later = await saved_session(tmp_path, "narwhal again", reply(Text("ok")))
    holder = sqlite3.connect(index_path(), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process is writing it
    original = search.SessionIndex.__init__

    def quick(self, db, folder):  # not the 2 s wait for the lock
        original(self, db, folder)
        self.db.execute("PRAGMA busy_timeout=50")

    monkeypatch.setattr(search.SessionIndex, "__init__", quick)
    try:
        assert [h.session_id for h in search_sessions("narwhal")] == [found]
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert {h.session_id for h in search_sessions("narwhal")} == {found, later}


def test_odd_files_and_queries_never_fail(tmp_path: Path) -> None:
    folder = sessions_dir()
    folder.mkdir(parents=True)
    (folder / "garbage.jsonl").write_bytes(b"\x00\x00{not json\n" + os.urandom(500) + b"\n")
    (folder / "newer.jsonl").write_text(
        '{"type":"session","format":99,"session_id":"n","cwd":"/","created":1,"version":"9"}\n'
    )
    (folder / "notes.txt").write_text("not a session")
    index = SessionIndex(":memory:", folder)
    try:
        assert index.update().files == 2
        for text in ("", "   ", '"', "AND OR NOT", "(", "*", "col:x", "NEAR(a b)", "ü"):
            assert index.search(text) == []
    finally:
        index.close()
    assert fts_query('say "hi" ') == '"say" """hi"""'
    assert fts_query("login.py") == '"login.py"*'
    assert fts_query("--") is None
