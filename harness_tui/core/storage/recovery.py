"""What a damaged session file still tells: the session it belongs to when its header is
lost, and every intact conversation entry when others around it are.

The rules (the file itself is never changed: repairs are made as it is read, the same
way on every read, and each one is told to the user):

- **a damaged header**: the session id, folder and start time come from the file's first
  ``SESSION_STARTED`` record (every process that opens a session writes one), then from
  whatever fields of the header are still valid, then from any event's ``session_id``
  and, for a file in the session folder, from the file's name (``<id>.jsonl``);
- **an entry whose parent is not an earlier entry of the file** (its parent's line was
  lost, the id is dangling, it points to itself or to a later entry, which is how a
  cycle would form): it follows the entry before it in the file. The writer only ever
  links to an entry it already wrote, so "the one before" is where a lost link most
  likely led, and the conversation stays whole;
- **an entry with the id of an earlier one**: kept once when it is the same record
  written twice; otherwise kept under ``<id>~2`` (``~3``...), and later links to that
  id go to the latest entry that had it, as they did when they were written;
- **an entry with a missing or invalid id or timestamp**: it gets ``line<N>`` (its line)
  or the timestamp of the entry before it. An entry whose message is lost is skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from harness_tui.core.storage.records import (
    HEADER_TYPE,
    Entry,
    ReadResult,
    SessionFormatError,
    Skipped,
    parse_entry,
    read_records,
)
from harness_tui.core.storage.tree import EntryTree

#: What a file name must look like to stand for a session id.
_SESSION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


@dataclass(frozen=True, slots=True)
class Identity:
    """Which session a file holds, and where and when it started."""

    session_id: str | None
    cwd: str
    created: float | None


def identity(result: ReadResult, *, file_names_session: bool = False) -> Identity:
    """The session of a file, from its header, or recovered when the header is damaged
    (then ``result.header_problem`` says how it was recovered). ``file_names_session``:
    the file is in the session folder, so its name is the session's id."""
    header = result.header
    if header is not None:
        return Identity(header.session_id, header.cwd, header.created)
    started: dict[str, Any] = next(
        (r for r in result.records if r["type"] == "SESSION_STARTED"), {}
    )
    partial = result.records[0] if result.records else {}
    if partial.get("type") != HEADER_TYPE:
        partial = {}
    session_id = _text(started.get("session_id")) or _text(partial.get("session_id"))
    source = "its first SESSION_STARTED record" if started else "what is left of its header"
    if session_id is None:
        session_id = next(
            (r["session_id"] for r in result.records if _text(r.get("session_id"))), None
        )
        source = "its events"
    if session_id is None and file_names_session and _SESSION_ID.match(result.path.stem):
        session_id, source = result.path.stem, "the file's name"
    cwd = _text(started.get("cwd")) or _text(partial.get("cwd")) or ""
    created = _number(partial.get("created"))
    if created is None:
        created = next((t for r in result.records if (t := _number(r.get("timestamp")))), None)
    if (
        result.header_problem
        and session_id is not None
        and "recovered" not in result.header_problem
    ):
        folder = "its folder is not known" if not cwd else f"folder {cwd}"
        result.header_problem += (
            f"; the session ({session_id}, {folder}) was recovered from {source}"
        )
    return Identity(session_id, cwd, created)


def _text(value: Any) -> str | None:
    # A replacement character means the text was pieced together from damaged bytes.
    return value if isinstance(value, str) and value and "\ufffd" not in value else None


def _number(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return float(value)
    return None


@dataclass(frozen=True, slots=True)
class Recovered:
    """What the listing shows of a file whose header is damaged."""

    session_id: str
    cwd: str
    created: float | None
    title: str
    problem: str


def recover_listing(path: Path, data: bytes, drop: frozenset[str]) -> Recovered | None:
    """The session of a file of the session folder whose header is damaged, from
    ``data`` (parts of the file, read as ``load_session`` would); None when nothing in
    it names a session."""
    try:
        result = read_records(path, data, drop=drop)
    except SessionFormatError:  # a newer format, pieced together from a damaged line
        return None
    found = identity(result, file_names_session=True)
    if found.session_id is None:
        return None
    prompt = next((r for r in result.records if r["type"] == "PROMPT_RECEIVED"), {})
    return Recovered(
        found.session_id,
        found.cwd,
        found.created,
        str(prompt.get("text", "")),
        result.header_problem or "its header is damaged",
    )


class EntryRepair:
    """Adds a file's entry records to a tree in file order, repairing as it goes (see
    the module's rules) and saying each repair in ``result.repairs``."""

    def __init__(self, tree: EntryTree, result: ReadResult) -> None:
        self.tree = tree
        self.result = result
        #: Each id as the file writes it -> the entry of the tree it stands for now.
        self.latest: dict[str, str] = {}
        self._records: dict[str, dict[str, Any]] = {}
        self.last: str | None = None
        self._last_time = 0.0

    def resolve(self, written: Any) -> str | None:
        """The tree's entry that an id written in the file (by a later record, such as
        ``BRANCH_CHANGED``) stands for; None when there is none."""
        return self.latest.get(written) if isinstance(written, str) else None

    def move(self, target: Any, line: int, head: str | None) -> str | None:
        """The head after a ``BRANCH_CHANGED`` to ``target`` (an id as written) on
        ``line``: unchanged, and told, when no entry has that id."""
        if target is None:
            return None
        found = self.resolve(target)
        if found is None:
            self.result.repairs.append(
                f"line {line}: a move to entry {target!r}, which is not in the file, was left out"
            )
            return head
        return found

    def add(self, record: dict[str, Any], line: int) -> Entry | None:
        """The entry of ``record`` as added to the tree (repaired where needed), the
        earlier entry it repeats, or None when it is lost (with the reason in
        ``result.skipped``)."""
        data = dict(record)
        fixes: list[str] = []
        written = data.get("id")
        if not isinstance(written, str) or not written:
            data["id"] = f"line{line}"
            fixes.append(f"it had no usable id, so it is called {data['id']}")
        if _number(data.get("timestamp")) is None:
            data["timestamp"] = self._last_time
            fixes.append("its timestamp was missing or invalid")
        parent = data.get("parent_id", _MISSING)
        if parent is None:
            pass  # a root: the first entry, or a fork from before the first message
        elif isinstance(parent, str) and parent in self.latest:
            data["parent_id"] = self.latest[parent]
        else:
            data["parent_id"] = self.last
            shown = "missing" if parent is _MISSING else repr(parent)
            where = f"follows the entry before it ({self.last})" if self.last else "is a root"
            fixes.append(f"its parent ({shown}) is not an earlier entry of the file, so it {where}")
        if isinstance(written, str) and written in self.latest:
            if self._records.get(written) == record:
                self._say(line, written, ["it repeats an earlier record, so it is kept once"])
                return self.tree.get(self.latest[written])
            data["id"] = self._free(written)
            fixes.append(f"its id was taken by an earlier entry, so it is called {data['id']}")
        try:
            entry = parse_entry(data)
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(p) for p in error["loc"])
            name = f"{record.get('type')} record" + (f" {written}" if written else "")
            reason = f"a {name} that is not valid ({where}: {error['msg']})"
            self.result.skipped.append(Skipped(line, 0, 0, reason))
            return None
        self.tree.add(entry)
        if isinstance(written, str):
            self.latest[written] = entry.id
            self._records[written] = record
        self.latest[entry.id] = entry.id
        self.last, self._last_time = entry.id, entry.timestamp
        if fixes:
            self._say(line, written if isinstance(written, str) else entry.id, fixes)
        return entry

    def _free(self, written: str) -> str:
        number = 2
        while f"{written}~{number}" in self.tree:
            number += 1
        return f"{written}~{number}"

    def _say(self, line: int, entry_id: str, fixes: list[str]) -> None:
        self.result.repairs.append(f"line {line}, entry {entry_id}: {'; '.join(fixes)}")


_MISSING: Any = object()


def in_session_folder(path: Path, folder: Path) -> bool:
    """Whether ``path`` is a file of the session folder (whose name is its session's id)."""
    try:
        return path.resolve().parent == folder.resolve()
    except OSError:
        return False
