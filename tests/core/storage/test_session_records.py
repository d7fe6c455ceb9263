"""The session file format and the reader that survives damaged files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness_tui.core.events import EVENT_TYPES, parse_event
from harness_tui.core.messages import UserMessage
from harness_tui.core.storage.records import (
    FORMAT_VERSION,
    MessageEntry,
    SessionFormatError,
    SessionHeader,
    encode,
    read_records,
)
from harness_tui.core.storage.tree import EntryTree, context_of
from tests.core.test_events import COMMON, SAMPLES


def header(session_id: str = "ses_1") -> bytes:
    return encode(SessionHeader(session_id=session_id, cwd="/w", created=1.0, version="0"))


def event_line(seq: int, text: str = "tok") -> bytes:
    record = {"type": "TOKEN_DELTA", "seq": seq, "session_id": "ses_1", "message_id": "m"}
    return json.dumps({**record, "text": text}, separators=(",", ":")).encode() + b"\n"


def entry_line(entry_id: str, parent: str | None, text: str) -> bytes:
    entry = MessageEntry(id=entry_id, parent_id=parent, timestamp=2.0, message=UserMessage.of(text))
    return encode(entry)


def seqs(result) -> list[int]:
    return [r["seq"] for r in result.records if r["type"] == "TOKEN_DELTA"]


def test_every_event_type_is_written_as_its_own_json() -> None:
    for type_name, fields in SAMPLES.items():
        event = EVENT_TYPES[type_name](**COMMON, **fields)
        line = encode(event)
        assert line.endswith(b"\n") and line.count(b"\n") == 1
        assert line[:-1].decode() == event.model_dump_json()
        assert parse_event(line[:-1]) == event


def test_a_clean_file_reads_whole(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_bytes(header() + event_line(1) + entry_line("e1", None, "hi") + event_line(2))
    result = read_records(path)
    assert result.header is not None and result.header.session_id == "ses_1"
    assert [r["type"] for r in result.records] == [
        "session",
        "TOKEN_DELTA",
        "message",
        "TOKEN_DELTA",
    ]
    assert result.skipped == [] and result.report() is None and not result.torn_tail


def test_a_torn_last_line_is_skipped_and_reported(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    whole = header() + event_line(1) + event_line(2)
    path.write_bytes(whole + event_line(3)[:25])
    result = read_records(path)
    assert seqs(result) == [1, 2]
    assert result.torn_tail
    [skipped] = result.skipped
    assert skipped.line == 4 and skipped.offset == len(whole) and skipped.length == 25
    assert "skipped 1 damaged part" in result.report() and "line 4" in result.report()


def test_a_nul_run_in_the_middle_keeps_the_records_around_it(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    # A crash left a block of zeros where records had not been written yet; the process
    # that resumed went on after it.
    path.write_bytes(header() + event_line(1) + b"\x00" * 4096 + event_line(2) + event_line(3))
    result = read_records(path)
    assert seqs(result) == [1, 2, 3]
    [skipped] = result.skipped
    assert skipped.length == 4096 and skipped.reason == "NUL bytes"


def test_nul_bytes_inside_a_torn_record_are_reported_apart(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_bytes(header() + event_line(1)[:30] + b"\x00" * 100 + b"\n" + event_line(2))
    result = read_records(path)
    assert seqs(result) == [2]
    assert sorted(s.reason for s in result.skipped) == ["NUL bytes", "torn record"]


def test_two_records_on_one_line_are_both_kept(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    glued = event_line(2).rstrip(b"\n") + entry_line("e1", None, "a {brace} }{ in text")
    path.write_bytes(header() + event_line(1) + glued + event_line(3))
    result = read_records(path)
    assert seqs(result) == [1, 2, 3]
    assert [r["id"] for r in result.records if r["type"] == "message"] == ["e1"]
    assert result.skipped == []


def test_a_torn_record_glued_to_a_whole_one(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    torn = event_line(2)[:40]
    path.write_bytes(header() + event_line(1) + torn + event_line(3) + b"garbage\n" + event_line(4))
    result = read_records(path)
    assert seqs(result) == [1, 3, 4]
    assert [(s.line, s.length) for s in result.skipped] == [(3, 40), (4, 7)]


def test_a_file_of_a_newer_format_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    newer = json.loads(header())
    newer["format"] = FORMAT_VERSION + 1
    path.write_text(json.dumps(newer) + "\n")
    with pytest.raises(SessionFormatError) as caught:
        read_records(path)
    message = str(caught.value)
    assert "newer harness-tui" in message and f"format {FORMAT_VERSION + 1}" in message
    assert "upgrade harness-tui" in message


def test_the_branch_context_follows_parents_not_file_order() -> None:
    a = MessageEntry(id="a", parent_id=None, timestamp=0, message=UserMessage.of("one"))
    b = MessageEntry(id="b", parent_id="a", timestamp=0, message=UserMessage.of("two"))
    c = MessageEntry(id="c", parent_id="a", timestamp=0, message=UserMessage.of("other two"))
    tree = EntryTree([a, b, c])
    assert [m.text for m in tree.context("b").messages] == ["one", "two"]
    assert [m.text for m in context_of(tree.path("c")).messages] == ["one", "other two"]
    assert tree.leaves() == ["b", "c"]
    assert tree.context(None).messages == []


def test_dropped_types_are_checked_but_not_kept(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    glued = event_line(2).rstrip(b"\n") + entry_line("e1", None, "kept")
    path.write_bytes(header() + event_line(1) + glued + event_line(3)[:20])
    result = read_records(path, drop=frozenset({"TOKEN_DELTA"}))
    assert [r["type"] for r in result.records] == ["session", "message"]
    assert result.dropped == 2 and len(result.skipped) == 1  # the torn third is still seen
