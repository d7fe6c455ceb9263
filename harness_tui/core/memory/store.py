"""One scope's memory folder: ``MEMORY.md`` (the index) and topic files beside it.

The index is Markdown a person reads and edits. Each entry is one list item, its id and
origin in an HTML comment at the end (a Markdown viewer shows none of it)::

    - Use pnpm, not npm. <!-- m:3f2a9c1d session=ses_0b59 date=2026-12-05 -->
    - Deploys need the VPN; see deploy.md <!-- m:77e0a1b2 topic=deploy date=2026-12-05 -->

A list item a person wrote without the comment is an entry too (its id: ``h`` and a hash
of its text); everything else (headings, blank lines, prose) is kept as it is. Topic
files (``<topic>.md``) are plain Markdown, read on demand.

Every change is a read-modify-write under an exclusive lock on ``.lock`` in the folder
(two sessions of one project may write at once) and lands with an atomic rename, so a
reader sees the old index or the new one, never half of one. What is refused (empty,
too long, secret-looking, an unknown id) raises ``MemoryRefused`` saying why.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import hashlib
import os
import re
import secrets as _random
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from harness_tui.core.errors import HarnessError
from harness_tui.core.memory.secrets import secret_in

INDEX = "MEMORY.md"
#: The index's part of a system prompt: this many lines or bytes, whichever first (as
#: Claude Code loads its MEMORY.md).
MAX_PROMPT_LINES = 200
MAX_PROMPT_BYTES = 25_000
#: Longest entry.
MAX_ENTRY_CHARS = 500
#: Largest topic file.
MAX_TOPIC_BYTES = 100_000
TOPIC_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,59}$")
_ITEM = re.compile(r"^\s*[-*]\s+(?P<text>.*?)\s*(?:<!--\s*(?P<meta>m:[^>]*?)\s*-->)?\s*$")
_HEADER = "# Memory\n\n"


class MemoryRefused(HarnessError):
    """A memory change that is not made; the message says why."""


@dataclass(frozen=True)
class Entry:
    id: str
    text: str
    scope: str
    topic: str = ""
    session: str = ""
    date: str = ""

    def line(self) -> str:
        meta = [f"m:{self.id}"]
        meta += [f"{k}={v}" for k, v in (("topic", self.topic), ("session", self.session),
                                          ("date", self.date)) if v]  # fmt: skip
        return f"- {self.text} <!-- {' '.join(meta)} -->"


def _hashed_id(text: str) -> str:
    return "h" + hashlib.sha256(text.encode()).hexdigest()[:8]


def _parse(line: str, scope: str) -> Entry | None:
    match = _ITEM.match(line)
    if match is None or not match.group("text"):
        return None
    text, meta = match.group("text"), match.group("meta")
    if not meta:
        return Entry(_hashed_id(text), text, scope)
    fields = dict(part.split("=", 1) for part in meta.split()[1:] if "=" in part)
    return Entry(
        meta.split()[0][2:] or _hashed_id(text),
        text,
        scope,
        topic=fields.get("topic", ""),
        session=fields.get("session", ""),
        date=fields.get("date", ""),
    )


def clean_entry(text: str) -> str:
    """One line, checked: raises ``MemoryRefused`` when it cannot be kept."""
    line = " ".join(text.split())
    if not line:
        raise MemoryRefused("a memory entry needs some text")
    if len(line) > MAX_ENTRY_CHARS:
        raise MemoryRefused(
            f"a memory entry is one line of at most {MAX_ENTRY_CHARS} characters "
            f"(this one has {len(line)})",
            "put the details in a topic file and keep the entry short",
        )
    what = secret_in(line)
    if what:
        raise MemoryRefused(
            f"not written: the text holds what looks like {what}",
            "memory is plain text in the user data folder; never keep credentials there",
        )
    return line


class MemoryStore:
    """The memory of one scope (``project`` or ``user``) in ``folder``."""

    def __init__(self, folder: Path, scope: str) -> None:
        self.folder, self.scope = folder, scope
        self.index = folder / INDEX

    # --- reading ---------------------------------------------------------------------

    def lines(self) -> list[str]:
        """The index's lines; none when it cannot be read (no file yet, or a data folder
        that is not one: memory is best effort, a session never fails for it)."""
        try:
            return self.index.read_text(errors="replace").splitlines()
        except (OSError, ValueError):
            return []

    def entries(self) -> list[Entry]:
        found = (_parse(line, self.scope) for line in self.lines())
        return [entry for entry in found if entry is not None]

    def find(self, entry_id: str) -> Entry:
        for entry in self.entries():
            if entry.id == entry_id:
                return entry
        raise MemoryRefused(
            f"no {self.scope} memory entry {entry_id!r}",
            "list them with `harness-tui memory list` or /memory",
        )

    def prompt_text(self) -> tuple[str, bool]:
        """The index as a system prompt takes it: its first ``MAX_PROMPT_LINES`` lines
        or ``MAX_PROMPT_BYTES`` bytes; and whether it was cut."""
        kept: list[str] = []
        size = 0
        lines = self.lines()
        for line in lines[:MAX_PROMPT_LINES]:
            size += len(line.encode()) + 1
            if size > MAX_PROMPT_BYTES:
                break
            kept.append(line)
        return "\n".join(kept).strip(), len(kept) < len(lines)

    def over_cap(self) -> str:
        """Why the index no longer fits the prompt ("" while it does)."""
        lines = self.lines()
        size = sum(len(line.encode()) + 1 for line in lines)
        if len(lines) > MAX_PROMPT_LINES:
            return f"{len(lines)} lines, the prompt takes {MAX_PROMPT_LINES}"
        if size > MAX_PROMPT_BYTES:
            return f"{size:,} bytes, the prompt takes {MAX_PROMPT_BYTES:,}"
        return ""

    def topic(self, name: str) -> str:
        path = self._topic_path(name)
        try:
            return path.read_text(errors="replace")[:MAX_TOPIC_BYTES]
        except FileNotFoundError:
            raise MemoryRefused(f"no {self.scope} memory topic {name!r}") from None

    def topics(self) -> list[str]:
        try:
            return sorted(p.stem for p in self.folder.glob("*.md") if p.name != INDEX)
        except OSError:
            return []

    # --- writing ---------------------------------------------------------------------

    def add(self, text: str, *, topic: str = "", session: str = "") -> Entry:
        line = clean_entry(text)
        if topic:
            self._topic_path(topic)  # a bad name is refused before anything is written
        entry = Entry(
            _random.token_hex(4),
            line,
            self.scope,
            topic=topic,
            session=session,
            date=datetime.date.today().isoformat(),
        )
        with self._changing() as lines:
            if any(e and e.text == line for e in (_parse(x, self.scope) for x in lines)):
                raise MemoryRefused(f"already in {self.scope} memory: {line}")
            lines.append(entry.line())
        return entry

    def update(self, entry_id: str, text: str) -> Entry:
        line = clean_entry(text)
        with self._changing() as lines:
            for number, old in enumerate(lines):
                entry = _parse(old, self.scope)
                if entry is not None and entry.id == entry_id:
                    new = replace(entry, text=line, date=datetime.date.today().isoformat())
                    lines[number] = new.line()
                    return new
        raise MemoryRefused(f"no {self.scope} memory entry {entry_id!r}")

    def remove(self, entry_id: str) -> Entry:
        with self._changing() as lines:
            for number, old in enumerate(lines):
                entry = _parse(old, self.scope)
                if entry is not None and entry.id == entry_id:
                    del lines[number]
                    return entry
        raise MemoryRefused(f"no {self.scope} memory entry {entry_id!r}")

    def write_topic(self, name: str, text: str) -> Path:
        path = self._topic_path(name)
        if len(text.encode()) > MAX_TOPIC_BYTES:
            raise MemoryRefused(f"a topic file is at most {MAX_TOPIC_BYTES:,} bytes")
        what = secret_in(text)
        if what:
            raise MemoryRefused(f"not written: the text holds what looks like {what}")
        with self._locked():
            _atomic_write(path, text)
        return path

    def _topic_path(self, name: str) -> Path:
        if not TOPIC_NAME.match(name):
            raise MemoryRefused(
                f"a topic's name is lower-case letters, digits, - and _ (not {name!r})"
            )
        return self.folder / f"{name}.md"

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            lock = open(self.folder / ".lock", "a")
        except OSError as exc:
            raise MemoryRefused(
                f"cannot write the memory folder {self.folder}: {exc.strerror or exc}",
                "check the user data folder (HARNESS_DATA_DIR)",
            ) from None
        with lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    @contextlib.contextmanager
    def _changing(self) -> Iterator[list[str]]:
        """The index's lines, read under the lock; written back when the block ends
        without an exception (a refusal changes nothing)."""
        with self._locked():
            lines = self.lines()
            before = list(lines)
            yield lines
            if lines != before:
                text = "\n".join(lines).strip("\n")
                if not text.startswith("#"):
                    text = _HEADER + text
                _atomic_write(self.index, text + "\n")


def _atomic_write(path: Path, text: str) -> None:
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    temporary.write_text(text)
    os.replace(temporary, path)
