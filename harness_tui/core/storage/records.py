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
from harness_tui.core.files.regular import read_regular
from harness_tui.core.messages import Message

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
    """The first record of a file. Checked strictly (``"format": "1"`` is not a format
    number): a header that does not hold exactly what this version writes is treated as
    damaged, and what it stood for is recovered from the rest of the file."""

    model_config = ConfigDict(frozen=True, extra="ignore", strict=True)

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
        if not self.length:  # a whole record, found invalid after decoding
            return f"line {self.line} ({self.reason})"
        return f"line {self.line} ({self.length} bytes at offset {self.offset}: {self.reason})"


@dataclass
class ReadResult:
    """Every valid record of a file, in file order, as decoded JSON objects."""

    path: Path
    records: list[dict[str, Any]] = field(default_factory=list)
    #: The line of each record of ``records``.
    lines: list[int] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    header: SessionHeader | None = None
    #: Why the file has no usable header (None: it has one). The session it stood for
    #: is recovered from the other records (see ``session_recovery``).
    header_problem: str | None = None
    #: What a reader changed, in memory only, to keep every intact record usable (an
    #: entry whose parent was lost now follows the entry before it, ...).
    repairs: list[str] = field(default_factory=list)
    #: The file ends inside a record (a torn last line): the next append must start
    #: on a line of its own.
    torn_tail: bool = False
    #: Valid records of the types the caller asked not to keep.
    dropped: int = 0
    #: The dropped records that came after the last top-level response, prompt or run
    #: end: the text of an answer that was streaming when the process died.
    trailing: list[dict[str, Any]] = field(default_factory=list)

    def report(self) -> str | None:
        """One line for the user about what was damaged, skipped and repaired, or None."""
        said = []
        if self.header_problem:
            said.append(self.header_problem)
        if self.skipped:
            n = len(self.skipped)
            said.append(
                f"skipped {n} damaged part{'s' if n != 1 else ''} and kept every valid "
                f"record: {_first_few([s.describe() for s in self.skipped])}"
            )
        if self.repairs:
            n = len(self.repairs)
            said.append(
                f"repaired {n} record{'s' if n != 1 else ''} as it read them (the file is "
                f"left as it is): {_first_few(self.repairs)}"
            )
        if not said:
            return None
        return f"session file {self.path}: " + "; ".join(said)


def _first_few(items: list[str], few: int = 5) -> str:
    text = ", ".join(items[:few])
    return text + (f" and {len(items) - few} more" if len(items) > few else "")


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
    records, lines, trailing = result.records, result.lines, result.trailing
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
                    _keep(result, salvaged, number)
            continue
        if not isinstance(record, dict) or not isinstance(record.get("type"), str):
            if not line.isspace():
                result.skipped.append(Skipped(number, start, len(line), "not a record"))
        elif dropped and line.startswith(dropped):
            result.dropped += 1
            trailing.append(record)
        else:
            records.append(record)
            lines.append(number)
            if trailing and record["type"] in _STREAM_BOUNDARIES:
                if record.get("parent_tool_call_id") is None:
                    trailing.clear()
    _read_header(result)
    return result


#: Top-level records after which earlier streamed deltas no longer matter.
_STREAM_BOUNDARIES = frozenset(
    {"MESSAGE_COMPLETED", "PROMPT_RECEIVED", "RUN_COMPLETED", "RUN_CANCELLED"}
)


def _keep(result: ReadResult, record: dict[str, Any], line: int) -> None:
    result.records.append(record)
    result.lines.append(line)
    if result.trailing and record["type"] in _STREAM_BOUNDARIES:
        if record.get("parent_tool_call_id") is None:
            result.trailing.clear()


def _salvage(line: bytes, number: int, start: int, skipped: list[Skipped]) -> Iterator[dict]:
    """The valid records in a line that is not one valid record: the pieces between
    runs of NUL bytes, and records glued together, each decoded on its own."""
    for piece_start, piece_end in _pieces(line, number, start, skipped):
        piece = line[piece_start:piece_end]
        try:
            text = piece.decode("utf-8")
        except UnicodeDecodeError:
            # Kept, but told: what is read from it may differ from what was written.
            text = piece.decode("utf-8", errors="replace")
            skipped.append(
                Skipped(number, start + piece_start, len(piece), "not UTF-8, read as it could be")
            )
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
    """Set ``header``, or say in ``header_problem`` why there is none. Only a newer
    format stops the reading: this version would misread it."""
    if not result.records:
        result.header_problem = (
            "it is empty, so it has no header"
            if not result.skipped
            else "it holds no valid record, so it has no header"
        )
        return
    record, line = result.records[0], result.lines[0]
    if record.get("type") != HEADER_TYPE:
        result.header_problem = (
            f"its header (the first record) is missing or damaged; line {line} is the "
            "first valid record"
        )
        return
    fmt = record.get("format")
    if isinstance(fmt, int) and not isinstance(fmt, bool) and fmt > FORMAT_VERSION:
        raise SessionFormatError(
            f"session file {result.path} was written by a newer harness-tui (format "
            f"{fmt}; this version reads format {FORMAT_VERSION})",
            hint="upgrade harness-tui to open it",
        )
    if any(s.line == line for s in result.skipped):
        # Pieced together from a damaged line: what it says may be damaged too.
        result.header_problem = f"its header (line {line}) is damaged"
        return
    checked = check_header(record)
    if isinstance(checked, str):
        result.header_problem = f"its header (line {line}) {checked}"
    else:
        result.header = checked


def check_header(record: dict[str, Any]) -> SessionHeader | str:
    """The header a decoded first record is, or what is wrong with it ("is not valid
    (cwd: ...)"). A newer format is the caller's to refuse."""
    try:
        header = SessionHeader.model_validate(record)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"]) or "header"
        return f"is not valid ({where}: {error['msg']})"
    if header.format < 1:
        return f"has no known format ({header.format})"
    return header
