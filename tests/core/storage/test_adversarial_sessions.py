"""Damaged session files: a session whose header is damaged is still listed, continued
and resumed; one bad record or a dangling ``parent_id`` loses no intact message; every
repair is told; the file is only ever appended to."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from harness_tui.core.messages import AssistantMessage, Message, ToolResultMessage, UserMessage
from harness_tui.core.providers.models import ModelChoice
from harness_tui.core.providers.offline.scripted import ScriptedProvider, Text, ToolCall, reply
from harness_tui.core.session.session import Session
from harness_tui.core.storage.records import SessionFormatError
from harness_tui.core.storage.saved import (
    latest_session,
    list_sessions,
    load_session,
    session_path,
)
from tests.cli.test_cli import harness
from tests.helpers import EchoTool, run_to_end

PROMPTS = ("one", "two", "three")
ALL_TEXTS = ["one", "answer one", "two", "answer two", "three", "answer three"]


def scripted(*texts: str) -> ModelChoice:
    provider = ScriptedProvider([reply(Text(t)) for t in texts])
    return ModelChoice("scripted", "scripted", lambda: provider)


async def make_session(cwd: Path) -> tuple[str, Path]:
    """A saved session of three prompts and answers, in ``cwd``."""
    model = scripted(*(f"answer {p}" for p in PROMPTS))
    async with Session(model=model, cwd=cwd) as session:
        for prompt in PROMPTS:
            await run_to_end(session, prompt)
    return session.id, session_path(session.id)


def texts(messages: list[Message]) -> list[str]:
    out = []
    for message in messages:
        if isinstance(message, UserMessage):
            out.append(message.typed)
        elif isinstance(message, AssistantMessage):
            out.append(message.text)
    return out


def lines_of(path: Path) -> list[bytes]:
    return path.read_bytes().split(b"\n")[:-1]


def write_lines(path: Path, lines: list[bytes]) -> None:
    path.write_bytes(b"".join(line + b"\n" for line in lines))


def notices(session: Session) -> str:
    return "\n".join(session._notices)


# --- 1. a damaged header ---------------------------------------------------------------


def _header(changes: dict) -> Callable[[bytes], bytes]:
    def change(line: bytes) -> bytes:
        record = json.loads(line)
        for key, value in changes.items():
            if value is _DROP:
                record.pop(key, None)
            else:
                record[key] = value
        return json.dumps(record, separators=(",", ":")).encode()

    return change


_DROP = object()

HEADER_DAMAGE: dict[str, Callable[[bytes], bytes]] = {
    "torn": lambda line: line[: len(line) // 2],
    "torn-to-one-byte": lambda line: line[:1],
    "garbage": lambda line: b"#!@ this is not json at all ~~~",
    "empty-line": lambda line: b"",
    "wrong-type-name": _header({"type": "sesion"}),
    "wrong-type-number": _header({"type": 5}),
    "json-array": lambda line: b"[1, 2, 3]",
    "json-string": lambda line: b'"session"',
    "missing-session-id": _header({"session_id": _DROP}),
    "missing-cwd": _header({"cwd": _DROP}),
    "missing-created": _header({"created": _DROP}),
    "missing-everything": lambda line: b'{"type":"session"}',
    "session-id-number": _header({"session_id": 12}),
    "cwd-list": _header({"cwd": ["/"]}),
    "nul-bytes": lambda line: b"\x00" * len(line),
    "nul-bytes-inside": lambda line: line[:10] + b"\x00" * 8 + line[18:],
    "nul-bytes-before": lambda line: b"\x00" * 16 + line,
    "format-string": _header({"format": "1"}),
    "format-zero": _header({"format": 0}),
    "format-negative": _header({"format": -3}),
    "format-null": _header({"format": None}),
    "format-float": _header({"format": 1.5}),
    "version-number": _header({"version": 7}),
    "non-utf8-prefix": lambda line: b"\xff\xfe\xfa" + line,
    "non-utf8-in-cwd": lambda line: line.replace(b'"cwd":"', b'"cwd":"\xff\xfe'),
    "non-utf8-everywhere": lambda line: bytes(b ^ 0x80 for b in line),
}


async def damaged_session(cwd: Path, damage: Callable[[bytes], bytes]) -> tuple[str, Path]:
    session_id, path = await make_session(cwd)
    lines = lines_of(path)
    lines[0] = damage(lines[0])
    write_lines(path, lines)
    return session_id, path


@pytest.mark.parametrize("damage", HEADER_DAMAGE, ids=list(HEADER_DAMAGE))
async def test_a_damaged_header_is_listed_continued_and_resumed(
    tmp_path: Path, damage: str
) -> None:
    session_id, path = await damaged_session(tmp_path, HEADER_DAMAGE[damage])
    before = path.read_bytes()

    listed = list_sessions(tmp_path)
    assert [i.session_id for i in listed] == [session_id]
    info = listed[0]
    assert info.damaged, "the listing marks the session as damaged"
    assert info.title == "one" and info.created > 0
    assert "damaged" in info.label()
    assert latest_session(tmp_path) == info

    resumed = Session.resume(str(info.path), model=scripted("four"))
    assert resumed.id == session_id
    assert texts(resumed.messages) == ALL_TEXTS
    told = notices(resumed)
    assert "header" in told and str(path) in told
    async with resumed:
        await run_to_end(resumed, "four")
    assert path.read_bytes().startswith(before), "the file is only appended to"
    again = load_session(session_id)
    assert texts(again.context().messages) == [*ALL_TEXTS, "four", "four"]


async def test_an_empty_file_is_resumable_by_its_id(tmp_path: Path) -> None:
    session_id, path = await make_session(tmp_path)
    path.write_bytes(b"")
    assert list_sessions(None) == []  # nothing was asked in it that is left
    # Its folder is lost with its records: it is listed among every folder's sessions.
    [info] = list_sessions(None, include_empty=True)
    assert info.session_id == session_id and info.damaged
    resumed = Session.resume(session_id, model=scripted("hello"), cwd=tmp_path)
    assert resumed.id == session_id and len(resumed.messages) == 0
    assert "header" in notices(resumed)
    async with resumed:
        await run_to_end(resumed, "hello")
    assert texts(load_session(session_id).context().messages) == ["hello", "hello"]


@pytest.mark.parametrize("damage", ["intact", "garbage", "torn", "missing-cwd"])
async def test_a_file_of_only_its_header(tmp_path: Path, damage: str) -> None:
    session_id, path = await make_session(tmp_path)
    first = lines_of(path)[0]
    write_lines(path, [first if damage == "intact" else HEADER_DAMAGE[damage](first)])
    resumed = Session.resume(session_id, model=scripted("hi"), cwd=tmp_path)
    assert resumed.id == session_id and len(resumed.messages) == 0
    if damage != "intact":
        assert "header" in notices(resumed)


async def test_a_newer_format_is_listed_and_refused_with_the_reason(tmp_path: Path) -> None:
    session_id, _ = await damaged_session(tmp_path, _header({"format": 2}))
    [info] = list_sessions(tmp_path)
    assert info.session_id == session_id
    with pytest.raises(SessionFormatError, match="newer harness-tui"):
        Session.resume(session_id, model=scripted())


@pytest.mark.parametrize("damage", ["garbage", "nul-bytes", "missing-cwd", "non-utf8-in-cwd"])
async def test_the_command_line_lists_and_continues_a_damaged_session(
    tmp_path: Path, damage: str
) -> None:
    session_id, path = await damaged_session(tmp_path, HEADER_DAMAGE[damage])
    listed = harness("sessions", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert session_id in listed.stdout and "damaged" in listed.stdout
    script = tmp_path / "replies.yaml"
    script.write_text(json.dumps([{"text": "continued"}]))
    result = harness(
        "-p", "go on", "-c", "--model", f"scripted:{script}", "--output-format", "json",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["session_id"] == session_id
    assert "header" in result.stderr and str(path) in result.stderr


# --- 2. damaged records in the middle ---------------------------------------------------


def _entry_lines(lines: list[bytes]) -> list[int]:
    return [i for i, line in enumerate(lines) if line.startswith(b'{"type":"message"')]


def _edit_entry(index: int, change: Callable[[dict, list[dict]], dict | None]):
    def damage(lines: list[bytes]) -> list[bytes]:
        where = _entry_lines(lines)
        entries = [json.loads(lines[i]) for i in where]
        changed = change(entries[index], entries)
        out = list(lines)
        if changed is None:
            del out[where[index]]
        else:
            out[where[index]] = json.dumps(changed, separators=(",", ":")).encode()
        return out

    return damage


def _garble(index: int) -> Callable[[list[bytes]], list[bytes]]:
    def damage(lines: list[bytes]) -> list[bytes]:
        out = list(lines)
        at = _entry_lines(lines)[index]
        out[at] = out[at][: len(out[at]) // 3] + b"\x00\x00garbage"
        return out

    return damage


def _repeat(index: int) -> Callable[[list[bytes]], list[bytes]]:
    def damage(lines: list[bytes]) -> list[bytes]:
        at = _entry_lines(lines)[index]
        return [*lines[: at + 1], lines[at], *lines[at + 1 :]]

    return damage


def _set(**fields):
    return lambda entry, entries: {**entry, **fields}


def _drop(*keys):
    return lambda entry, entries: {k: v for k, v in entry.items() if k not in keys}


def _parent_of(index: int):
    return lambda entry, entries: {**entry, "parent_id": entries[index]["id"]}


def _id_of(index: int):
    return lambda entry, entries: {**entry, "id": entries[index]["id"]}


#: damage -> the texts that survive (every intact message).
ENTRY_DAMAGE: dict[str, tuple[Callable[[list[bytes]], list[bytes]], list[str]]] = {
    "garbled-line-in-the-middle": (_garble(2), ALL_TEXTS[:2] + ALL_TEXTS[3:]),
    "garbled-first-message": (_garble(0), ALL_TEXTS[1:]),
    "garbled-two-in-a-row": (
        lambda lines: _garble(2)(_garble(3)(lines)),
        ALL_TEXTS[:2] + ALL_TEXTS[4:],
    ),
    "invalid-role": (
        _edit_entry(2, lambda e, _: {**e, "message": {**e["message"], "role": "robot"}}),
        ALL_TEXTS[:2] + ALL_TEXTS[3:],
    ),
    "message-not-an-object": (_edit_entry(2, _set(message=42)), ALL_TEXTS[:2] + ALL_TEXTS[3:]),
    "parent-points-nowhere": (_edit_entry(3, _set(parent_id="ent_nowhere")), ALL_TEXTS),
    "parent-is-a-number": (_edit_entry(3, _set(parent_id=7)), ALL_TEXTS),
    "parent-is-itself": (
        _edit_entry(3, lambda e, _: {**e, "parent_id": e["id"]}),
        ALL_TEXTS,
    ),
    "cycle-through-a-later-entry": (_edit_entry(1, _parent_of(5)), ALL_TEXTS),
    "parent-is-a-later-entry": (_edit_entry(2, _parent_of(4)), ALL_TEXTS),
    "duplicate-id-other-content": (_edit_entry(3, _id_of(2)), ALL_TEXTS),
    "duplicate-id-of-the-head": (_edit_entry(5, _id_of(4)), ALL_TEXTS),
    "record-written-twice": (_repeat(2), ALL_TEXTS),
    "missing-timestamp": (_edit_entry(2, _drop("timestamp")), ALL_TEXTS),
    "missing-parent-id": (_edit_entry(3, _drop("parent_id")), ALL_TEXTS),
    "missing-id": (_edit_entry(2, _drop("id")), ALL_TEXTS),
    "id-is-a-number": (_edit_entry(2, _set(id=3)), ALL_TEXTS),
    "missing-message": (_edit_entry(2, _drop("message")), ALL_TEXTS[:2] + ALL_TEXTS[3:]),
    "timestamp-is-text": (_edit_entry(4, _set(timestamp="yesterday")), ALL_TEXTS),
}


@pytest.mark.parametrize("damage", ENTRY_DAMAGE, ids=list(ENTRY_DAMAGE))
async def test_every_intact_message_survives_and_each_repair_is_told(
    tmp_path: Path, damage: str
) -> None:
    change, expected = ENTRY_DAMAGE[damage]
    session_id, path = await make_session(tmp_path)
    write_lines(path, change(lines_of(path)))
    before = path.read_bytes()

    saved = load_session(session_id)
    assert texts(saved.context().messages) == expected
    assert saved.problems, "a repair is told"
    assert str(path) in saved.problems

    resumed = Session.resume(session_id, model=scripted("four"))
    assert texts(resumed.messages) == expected
    assert saved.problems in notices(resumed)
    async with resumed:
        await run_to_end(resumed, "four")
    assert path.read_bytes().startswith(before), "the repair never rewrites the file"
    # Resumed again, nothing is lost the second time either.
    again = load_session(session_id)
    assert texts(again.context().messages) == [*expected, "four", "four"]
    assert again.problems


async def test_an_intact_file_has_no_repairs(tmp_path: Path) -> None:
    session_id, _ = await make_session(tmp_path)
    saved = load_session(session_id)
    assert saved.problems is None and texts(saved.context().messages) == ALL_TEXTS
    [info] = list_sessions(tmp_path)
    assert not info.damaged and "damaged" not in info.label()


async def test_a_fork_survives_a_duplicate_id_elsewhere(tmp_path: Path) -> None:
    """The ids a repair gives are the same on every load, so a fork to one of them (a
    ``BRANCH_CHANGED`` in the file) still lands there after the next resume."""
    session_id, path = await make_session(tmp_path)
    write_lines(path, _edit_entry(3, _id_of(2))(lines_of(path)))
    duplicate = next(i for i in load_session(session_id).tree.entries if "~" in i)
    resumed = Session.resume(session_id, model=scripted("x"))
    async with resumed:
        await resumed.fork(duplicate)
    assert load_session(session_id).head == duplicate


# --- a lost half of a tool call and its result ------------------------------------------


async def make_tool_session(cwd: Path, *, end_on_a_call: bool = False) -> tuple[str, Path]:
    """Prompt, a response that calls Echo, its result, the answer; then a second prompt
    (whose response also calls Echo, and stops there when ``end_on_a_call``)."""
    second = [reply(ToolCall("Echo", {"text": "y"}))] if end_on_a_call else []
    provider = ScriptedProvider(
        [
            reply(Text("calling"), ToolCall("Echo", {"text": "x"})),
            reply(Text("answer one")),
            *(second or [reply(Text("answer two"))]),
            reply(Text("answer two")),
        ]
    )
    model = ModelChoice("scripted", "scripted", lambda: provider)
    async with Session(model=model, cwd=cwd, tools=[EchoTool()], max_turns=1 + 2) as session:
        await run_to_end(session, "one")
        await run_to_end(session, "two")
    return session.id, session_path(session.id)


def assert_requestable(messages: list[Message]) -> None:
    """What providers require: every result right after its call, every call answered
    before the next message."""
    open_calls: set[str] = set()
    for message in messages:
        if isinstance(message, ToolResultMessage):
            assert message.tool_call_id in open_calls, f"orphan result {message}"
            open_calls.discard(message.tool_call_id)
            continue
        assert not open_calls, f"calls {open_calls} unanswered before {message}"
        if isinstance(message, AssistantMessage):
            open_calls = {c.id for c in message.tool_calls}
    assert not open_calls, f"calls {open_calls} unanswered at the end"


def _lose(kind: str, nth: int = 0) -> Callable[[list[bytes]], list[bytes]]:
    """Garble the ``nth`` message entry of the role ``kind`` (and "calls": an assistant
    message with tool calls)."""

    def damage(lines: list[bytes]) -> list[bytes]:
        found = []
        for i in _entry_lines(lines):
            message = json.loads(lines[i])["message"]
            if (
                kind == "calls"
                and message["role"] == "assistant"
                and any(b["type"] == "tool_call" for b in message["content"])
            ):
                found.append(i)
            elif message["role"] == kind:
                found.append(i)
        out = list(lines)
        out[found[nth]] = b"\x00" * 12
        return out

    return damage


@pytest.mark.parametrize(
    "lose", ["calls", "tool", "tool-last"], ids=["call-lost", "result-lost", "last-result-lost"]
)
async def test_a_lost_half_of_a_tool_call_is_mended(tmp_path: Path, lose: str) -> None:
    session_id, path = await make_tool_session(tmp_path, end_on_a_call=lose == "tool-last")
    damage = _lose("tool", -1) if lose == "tool-last" else _lose(lose)
    write_lines(path, damage(lines_of(path)))
    resumed = Session.resume(session_id, model=scripted("three"), tools=[EchoTool()])
    assert_requestable(list(resumed.messages))
    kept = texts(resumed.messages)
    assert "one" in kept and "answer one" in kept and "two" in kept
    assert "lost" in notices(resumed)
    async with resumed:
        await run_to_end(resumed, "three")
    assert_requestable(load_session(session_id).context().messages)
