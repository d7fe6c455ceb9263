"""The session file's format, and a reader that survives damaged files.

A session file is JSON Lines, one record per line, appended to and never rewritten:

- a header first: ``{"type": "session", "format": 1, "session_id", "cwd", "created",
  "version"}``. A file whose format is newer than ``FORMAT_VERSION`` is refused with a
  message that says so, rather than misread;
- every event of the session, as the event's own JSON (``"type": "TOKEN_DELTA"`` ...).
  Each process that opens the session starts a segment with ``SESSION_STARTED``; ``seq``
  counts from 1 again in each segment;
- conversation entries, linked by ``parent_id`` so that the conversation is a tree
  (forking from an entry starts a branch): ``"type": "message"`` holds one message the
  model sees, ``"type": "compaction"`` a summary that stands for everything before it on
  its branch except the entries from ``first_kept_id`` on.

Files of other programs (Claude Code, Codex) have met torn last lines, runs of NUL bytes
after a crash and two records on one line; ``read_records`` keeps every valid record in
all three cases and reports what it skipped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pydantic_core
from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from harness_tui.core.errors import HarnessError
from harness_tui.core.messages import Message
from harness_tui.core.regular_files import read_regular

#: The format this version writes, and the newest it reads.
FORMAT_VERSION = 1
HEADER_TYPE = "session"
MESSAGE_TYPE = "message"
COMPACTION_TYPE = "compaction"
ENTRY_TYPES = frozenset({MESSAGE_TYPE, COMPACTION_TYPE})


class SessionFormatError(HarnessError):
    """A session file this version cannot read (newer format, not a session file)."""


class _Record(BaseModel):
    # Unknown fields are ignored: a reader of format 1 can load a file that a later
    # version of format 1 wrote with optional extras.
    model_config = ConfigDict(frozen=True, extra="ignore")


class SessionHeader(_Record):
    """The first record of a file."""

    type: Literal["session"] = "session"
    format: int = FORMAT_VERSION
    session_id: str
    cwd: str
    created: float
    version: str


class MessageEntry(_Record):
    """One message of the conversation, on the branch that continues from ``parent_id``."""

    type: Literal["message"] = "message"
    id: str
    parent_id: str | None
    timestamp: float
    message: Message


class CompactionEntry(_Record):
    """The conversation was compacted: from here on the model sees ``summary`` in place
    of the entries before this one on its branch, except those from ``first_kept_id``
    on (None: none are kept)."""

    type: Literal["compaction"] = "compaction"
    id: str
    parent_id: str | None
    timestamp: float
    summary: str
    first_kept_id: str | None
    trigger: Literal["auto", "manual"] = "auto"
    tokens_before: int = 0
    tokens_after: int = 0


Entry = MessageEntry | CompactionEntry
_MESSAGE_ENTRY: TypeAdapter[MessageEntry] = TypeAdapter(MessageEntry)
_COMPACTION_ENTRY: TypeAdapter[CompactionEntry] = TypeAdapter(CompactionEntry)


def encode(record: BaseModel) -> bytes:
    """One record as one line of the file (with its newline)."""
    # Serialising the field dict skips pydantic's per-model wrapper: the same JSON as
    # ``model_dump_json`` (nested models use their own serializers), in half the time.
    return pydantic_core.to_json(record.__dict__) + b"\n"


def parse_entry(data: dict[str, Any]) -> Entry:
    """A decoded entry record as its model; raises ``ValidationError``."""
    if data.get("type") == MESSAGE_TYPE:
        return _MESSAGE_ENTRY.validate_python(data)
    return _COMPACTION_ENTRY.validate_python(data)


# --- reading, with recovery ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Skipped:
    """A part of the file that held no valid record."""

    line: int
    offset: int
    length: int
    reason: str

    def describe(self) -> str:
        if not self.line:  # found invalid after decoding, where the line is not kept
            return self.reason
        return f"line {self.line} ({self.length} bytes at offset {self.offset}: {self.reason})"


@dataclass
class ReadResult:
    """Every valid record of a file, in file order, as decoded JSON objects."""

    path: Path
    records: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    header: SessionHeader | None = None
    #: The file ends inside a record (a torn last line): the next append must start
    #: on a line of its own.
    torn_tail: bool = False
    #: Valid records of the types the caller asked not to keep.
    dropped: int = 0
    #: The dropped records that came after the last top-level response, prompt or run
    #: end: the text of an answer that was streaming when the process died.
    trailing: list[dict[str, Any]] = field(default_factory=list)

    def report(self) -> str | None:
        """One line for the user about what was skipped, or None."""
        if not self.skipped:
            return None
        parts = ", ".join(s.describe() for s in self.skipped[:5])
        more = len(self.skipped) - 5
        if more > 0:
            parts += f" and {more} more"
        return (
            f"session file {self.path}: skipped {len(self.skipped)} damaged "
            f"part{'s' if len(self.skipped) != 1 else ''} and kept every valid record: {parts}"
        )


_NULS = re.compile(rb"\x00+")
_RECORD_START = '{"type":'
_DECODER = json.JSONDecoder()


def read_records(
    path: Path, data: bytes | None = None, *, drop: frozenset[str] = frozenset()
) -> ReadResult:
    """Read every valid record of a session file. Damage (a torn or garbled line, a run
    of NUL bytes, two records glued on one line) is skipped and listed in ``skipped``.
    Records whose type is in ``drop`` are checked but not kept (streamed deltas, the
    bulk of every file, when only the state matters). Raises ``SessionFormatError`` for
    a file of a newer format, ``OSError`` when the file cannot be read."""
    if data is None:
        data = read_regular(path, None)  # a FIFO or device in the session folder is refused
    result = ReadResult(path)
    result.torn_tail = bool(data) and not data.endswith(b"\n")
    records, trailing = result.records, result.trailing
    from_json = pydantic_core.from_json
    dropped = tuple(b'{"type":"' + name.encode() + b'"' for name in drop)
    offset = 0
    for number, line in enumerate(data.split(b"\n"), start=1):
        start, offset = offset, offset + len(line) + 1
        if not line:
            continue
        try:
            record = from_json(line)
        except ValueError:
            for salvaged in _salvage(line, number, start, result.skipped):
                if salvaged["type"] in drop:
                    result.dropped += 1
                    result.trailing.append(salvaged)
                else:
                    _keep(result, salvaged)
            continue
        if not isinstance(record, dict) or not isinstance(record.get("type"), str):
            if not line.isspace():
                result.skipped.append(Skipped(number, start, len(line), "not a record"))
        elif dropped and line.startswith(dropped):
            result.dropped += 1
            trailing.append(record)
        else:
            records.append(record)
            if trailing and record["type"] in _STREAM_BOUNDARIES:
                if record.get("parent_tool_call_id") is None:
                    trailing.clear()
    _read_header(result)
    return result


#: Top-level records after which earlier streamed deltas no longer matter.
_STREAM_BOUNDARIES = frozenset(
    {"MESSAGE_COMPLETED", "PROMPT_RECEIVED", "RUN_COMPLETED", "RUN_CANCELLED"}
)


def _keep(result: ReadResult, record: dict[str, Any]) -> None:
    result.records.append(record)
    if result.trailing and record["type"] in _STREAM_BOUNDARIES:
        if record.get("parent_tool_call_id") is None:
            result.trailing.clear()


def _salvage(line: bytes, number: int, start: int, skipped: list[Skipped]) -> Iterator[dict]:
    """The valid records in a line that is not one valid record: the pieces between
    runs of NUL bytes, and records glued together, each decoded on its own."""
    for piece_start, piece_end in _pieces(line, number, start, skipped):
        text = line[piece_start:piece_end].decode("utf-8", errors="replace")
        position = 0
        while position < len(text):
            found = text.find(_RECORD_START, position)
            if found < 0:
                found = len(text)
            if text[position:found].strip():
                skipped.append(_skip(text, position, found, piece_start, start, number))
            if found >= len(text):
                break
            try:
                record, end = _DECODER.raw_decode(text, found)
            except ValueError:
                record, end = None, found
            if isinstance(record, dict) and isinstance(record.get("type"), str):
                yield record
                position = end
                continue
            # No valid record starts here: skip to where the next one might.
            nxt = text.find(_RECORD_START, max(end, found + 1))
            nxt = len(text) if nxt < 0 else nxt
            skipped.append(_skip(text, found, nxt, piece_start, start, number, "torn record"))
            position = nxt


def _skip(
    text: str,
    begin: int,
    end: int,
    piece_start: int,
    line_start: int,
    number: int,
    reason: str = "torn or garbled record",
) -> Skipped:
    offset = line_start + piece_start + len(text[:begin].encode())
    return Skipped(number, offset, len(text[begin:end].encode()), reason)


def _pieces(
    line: bytes, number: int, start: int, skipped: list[Skipped]
) -> Iterator[tuple[int, int]]:
    """The parts of a line between runs of NUL bytes (each run reported)."""
    position = 0
    for run in _NULS.finditer(line):
        if run.start() > position:
            yield position, run.start()
        skipped.append(Skipped(number, start + run.start(), len(run.group()), "NUL bytes"))
        position = run.end()
    if position < len(line):
        yield position, len(line)


def _read_header(result: ReadResult) -> None:
    for record in result.records[:1]:
        if record.get("type") != HEADER_TYPE:
            return
        fmt = record.get("format")
        if isinstance(fmt, int) and fmt > FORMAT_VERSION:
            raise SessionFormatError(
                f"session file {result.path} was written by a newer harness-tui (format "
                f"{fmt}; this version reads format {FORMAT_VERSION})",
                hint="upgrade harness-tui to open it",
            )
        try:
            result.header = SessionHeader.model_validate(record)
        except ValidationError as exc:
            raise SessionFormatError(
                f"session file {result.path}: its header is not valid ({exc.errors()[0]['msg']})",
                hint="this is not a harness-tui session file",
            ) from None
