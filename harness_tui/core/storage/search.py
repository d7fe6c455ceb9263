"""Search over the saved sessions: an SQLite FTS5 index in the user data folder.

The session files stay the truth; ``search-index.sqlite`` beside the ``sessions`` folder
only makes them quick to search, and is kept up to date by every search: a file that
grew is read from where the index left it (only its appended lines), a file that shrank
or was replaced is read again, a removed one is dropped. The index is built on the first
search; one with another ``SCHEMA_VERSION``, or damaged, is rebuilt; one locked by
another process is searched as it is (or, if it cannot be read at all, a fresh one is
built in memory): a search never fails because of its index.

Indexed text, one row per message: what the user typed, the assistant's answers, each
tool call (its name and its string inputs: paths, commands, patterns), compaction
summaries and the session's names. Tool outputs are left out (the bulk of every file,
and mostly file contents the tool calls already name). Results are ranked by bm25, one
per session, each with the line that matched (FTS5 ``snippet``).
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness_tui.core.config import paths
from harness_tui.core.files.regular import open_regular
from harness_tui.core.storage.records import HEADER_TYPE, SessionFormatError, read_records

#: Bumped whenever the tables or what goes in them change: the index is rebuilt.
SCHEMA_VERSION = 1
INDEX_NAME = "search-index.sqlite"
#: Rows of one file live at rowids ``fid << ROW_BITS`` and up, so a file's rows are
#: dropped by a rowid range (fast) rather than by a scan of a column.
ROW_BITS = 24
#: How much of each string input of a tool call is indexed.
INPUT_CHARS = 400
#: Marks around the matched words in ``SearchHit.snippet``.
OPEN, CLOSE = "\x02", "\x03"
#: Only these records carry searchable text; the rest are not decoded.
_WANTED = ("message", "compaction", "SESSION_RENAMED", "PROMPT_RECEIVED", "SESSION_STARTED")
_WANTED_PREFIXES = tuple(b'{"type":"' + k.encode() + b'"' for k in (*_WANTED, "session"))


def index_path() -> Path:
    """Where the index is kept: ``<data dir>/search-index.sqlite``."""
    return paths.data_dir() / INDEX_NAME


@dataclass(frozen=True, slots=True)
class SearchHit:
    """A session that matched, with its best-matching line."""

    session_id: str
    path: Path
    cwd: str
    title: str
    name: str
    modified: float
    #: What the line is: ``you``, ``assistant``, ``tool``, ``summary`` or ``name``.
    kind: str
    #: The matching line, the matched words between ``OPEN`` and ``CLOSE``.
    snippet: str
    #: bm25: lower is better.
    score: float

    @property
    def line(self) -> str:
        """The matching line as plain text, on one line."""
        return " ".join(self.snippet.replace(OPEN, "").replace(CLOSE, "").split())

    def marked(self, before: str, after: str) -> str:
        """The matching line with the matched words between ``before`` and ``after``."""
        return " ".join(self.snippet.split()).replace(OPEN, before).replace(CLOSE, after)

    @property
    def label(self) -> str:
        """The session's name, else its first prompt (on one line)."""
        return " ".join((self.name or self.title).split())


@dataclass(frozen=True, slots=True)
class IndexStats:
    """What one update of the index did."""

    files: int
    read: int
    removed: int
    seconds: float


def fts_query(text: str) -> str | None:
    """The user's words as an FTS5 query: every word must occur (each a quoted phrase,
    so punctuation is no syntax: ``login.py`` is the phrase ``login py``); the last one
    may be the start of a word, for a search that runs as the user types. None: no words."""
    words = [w for w in text.split() if re.search(r"\w", w)]
    if not words:
        return None
    quoted = ['"' + w.replace('"', '""') + '"' for w in words]
    if not text[-1:].isspace():
        quoted[-1] += "*"
    return " ".join(quoted)


# --- what a file says ------------------------------------------------------------------------


@dataclass
class _FileFacts:
    session_id: str = ""
    cwd: str = ""
    title: str = ""
    name: str = ""
    created: float = 0.0


def _rows(records: list[dict[str, Any]], facts: _FileFacts) -> Iterator[tuple[str, str]]:
    """(kind, text) of each searchable record; ``facts`` takes the session's details."""
    for record in records:
        kind = record.get("type")
        if kind == "message":
            yield from _message_rows(record.get("message"))
        elif kind == "compaction":
            yield "summary", str(record.get("summary", ""))
        elif kind == "SESSION_RENAMED":
            facts.name = str(record.get("name", ""))
            if facts.name:
                yield "name", facts.name
        elif kind == "PROMPT_RECEIVED":
            if not facts.title and record.get("parent_tool_call_id") is None:
                facts.title = str(record.get("text", ""))
        elif kind == HEADER_TYPE:
            facts.session_id = str(record.get("session_id") or facts.session_id)
            facts.cwd = str(record.get("cwd") or facts.cwd)
            created = record.get("created")
            if isinstance(created, int | float):
                facts.created = float(created)
        elif kind == "SESSION_STARTED":
            facts.session_id = facts.session_id or str(record.get("session_id", ""))
            facts.cwd = facts.cwd or str(record.get("cwd", ""))


def _message_rows(message: Any) -> Iterator[tuple[str, str]]:
    if not isinstance(message, dict) or not isinstance(message.get("content"), list):
        return
    role = message.get("role")
    if role not in ("user", "assistant"):
        return  # tool results: see the module's docstring
    for block in message["content"]:
        if not isinstance(block, dict):
            continue
        if block.get("type") == "text" and isinstance(block.get("text"), str):
            yield ("you" if role == "user" else "assistant"), block["text"]
        elif block.get("type") == "tool_call":
            yield "tool", _tool_text(block)


def _tool_text(block: dict[str, Any]) -> str:
    inputs = block.get("input")
    parts = [str(block.get("name", ""))]
    if isinstance(inputs, dict):
        parts += [v[:INPUT_CHARS] for v in inputs.values() if isinstance(v, str) and v]
    return " ".join(parts)


# --- the index -------------------------------------------------------------------------------


class SessionIndex:
    """The search index of one sessions folder. ``update`` brings it up to date with
    the files; ``search`` finds sessions. One connection, for one thread."""

    def __init__(self, db: Path | str, folder: Path) -> None:
        """``db``: the index file (``":memory:"`` for one that is not kept);
        ``folder``: the sessions folder it indexes. Raises ``sqlite3.Error``."""
        self.folder = folder
        self.db = sqlite3.connect(str(db), timeout=2.0, isolation_level=None)
        try:
            self._prepare()
        except sqlite3.Error:
            self.db.close()
            raise

    def close(self) -> None:
        self.db.close()

    def _prepare(self) -> None:
        db = self.db
        db.execute("PRAGMA journal_mode=WAL")
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version == SCHEMA_VERSION:
            return
        db.execute("BEGIN IMMEDIATE")
        db.execute("DROP TABLE IF EXISTS files")
        db.execute("DROP TABLE IF EXISTS lines")
        db.execute(
            "CREATE TABLE files (fid INTEGER PRIMARY KEY, path TEXT UNIQUE NOT NULL, "
            "session_id TEXT, cwd TEXT, title TEXT, name TEXT, created REAL, "
            "mtime_ns INTEGER, size INTEGER, done INTEGER, rows INTEGER)"
        )
        db.execute(
            "CREATE VIRTUAL TABLE lines USING fts5(body, kind UNINDEXED, "
            "tokenize='unicode61 remove_diacritics 2')"
        )
        db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        db.execute("COMMIT")

    def update(self) -> IndexStats:
        """Index what changed in the folder since the last update. Raises
        ``sqlite3.Error`` (another process holds the index for too long, ...)."""
        started = time.perf_counter()
        found = _session_files(self.folder)
        read = removed = 0
        if not self._changes(found):  # the common case: no write, no lock
            return IndexStats(len(found), 0, 0, time.perf_counter() - started)
        self.db.execute("BEGIN IMMEDIATE")
        try:  # read again under the lock: another process may have indexed them meanwhile
            known = self._known()
            for path in known.keys() - found.keys():
                self._drop(known[path][0])
                removed += 1
            for path, stat in found.items():
                old = known.get(path)
                if old is not None and (old[1], old[2]) == (stat.st_mtime_ns, stat.st_size):
                    continue
                if self._read(path, stat, old):
                    read += 1
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return IndexStats(len(found), read, removed, time.perf_counter() - started)

    def _known(self) -> dict[str, tuple[Any, ...]]:
        """Each indexed file's (fid, mtime_ns, size, bytes read), by path."""
        rows = self.db.execute("SELECT path, fid, mtime_ns, size, done FROM files")
        return {row[0]: row[1:] for row in rows}

    def _changes(self, found: dict[str, os.stat_result]) -> bool:
        known = self._known()
        if known.keys() != found.keys():
            return True
        return any(
            (known[path][1], known[path][2]) != (stat.st_mtime_ns, stat.st_size)
            for path, stat in found.items()
        )

    def _drop(self, fid: int) -> None:
        self.db.execute("DELETE FROM files WHERE fid = ?", (fid,))
        self.db.execute(
            "DELETE FROM lines WHERE rowid BETWEEN ? AND ?",
            (fid << ROW_BITS, ((fid + 1) << ROW_BITS) - 1),
        )

    def _read(self, path: str, stat: os.stat_result, old: tuple[Any, ...] | None) -> bool:
        """Index a new or changed file: only its appended lines when it grew."""
        fid, start, facts, count = None, 0, _FileFacts(), 0
        if old is not None:
            fid, _, size, done = old
            if stat.st_size >= size and done:
                row = self.db.execute(
                    "SELECT session_id, cwd, title, name, created, rows FROM files WHERE fid = ?",
                    (fid,),
                ).fetchone()
                facts = _FileFacts(*row[:5])
                start, count = done, row[5]
            else:  # shrank or rewritten: read it all again
                self._drop(fid)
                fid = None
        try:
            with open_regular(Path(path)) as file:  # never a FIFO left in the folder
                file.seek(start)
                data = file.read(max(0, stat.st_size - start))
        except OSError:
            return False
        whole = data[: data.rfind(b"\n") + 1]  # a line being written is read next time
        if fid is None:
            cursor = self.db.execute(
                "INSERT INTO files (path, rows) VALUES (?, 0) "
                "ON CONFLICT(path) DO UPDATE SET rows = 0 RETURNING fid",
                (path,),
            )
            fid = cursor.fetchone()[0]
        # Lines this version writes are compact: the records of other types are skipped
        # undecoded; any other line (written by hand, say) is decoded to be sure.
        picked = b"\n".join(
            line
            for line in whole.split(b"\n")
            if line.startswith(_WANTED_PREFIXES) or not line.startswith(b'{"type":"')
        )
        try:
            records = read_records(Path(path), picked).records if picked else []
        except SessionFormatError:  # a newer harness-tui's file: not this index's to read
            records = []
        base = fid << ROW_BITS
        rows = [
            (base + count + i, text, kind) for i, (kind, text) in enumerate(_rows(records, facts))
        ]
        self.db.executemany("INSERT INTO lines (rowid, body, kind) VALUES (?, ?, ?)", rows)
        self.db.execute(
            "UPDATE files SET session_id = ?, cwd = ?, title = ?, name = ?, created = ?, "
            "mtime_ns = ?, size = ?, done = ?, rows = ? WHERE fid = ?",
            (
                facts.session_id or Path(path).stem,
                facts.cwd,
                facts.title,
                facts.name,
                facts.created,
                stat.st_mtime_ns,
                stat.st_size,
                start + len(whole),
                count + len(rows),
                fid,
            ),
        )
        return True

    def search(self, text: str, cwd: Path | None = None, limit: int = 50) -> list[SearchHit]:
        """The sessions whose text matches every word of ``text``, best first: of the
        folder ``cwd`` (all folders when None). Raises ``sqlite3.Error``."""
        query = fts_query(text)
        if query is None:
            return []
        where, params = "", [query]
        if cwd is not None:
            where, params = " AND f.cwd = ?", [query, str(cwd.resolve())]
        best = self.db.execute(
            f"SELECT f.fid, min(l.rank) AS score FROM lines l JOIN files f "
            f"ON f.fid = (l.rowid >> {ROW_BITS}) WHERE lines MATCH ?{where} "
            f"GROUP BY f.fid ORDER BY score LIMIT ?",
            [*params, limit],
        ).fetchall()
        return [hit for fid, score in best if (hit := self._hit(fid, score, query))]

    def _hit(self, fid: int, score: float, query: str) -> SearchHit | None:
        row = self.db.execute(
            f"SELECT snippet(lines, 0, '{OPEN}', '{CLOSE}', '…', 24), kind FROM lines "
            "WHERE lines MATCH ? AND rowid BETWEEN ? AND ? ORDER BY rank LIMIT 1",
            (query, fid << ROW_BITS, ((fid + 1) << ROW_BITS) - 1),
        ).fetchone()
        info = self.db.execute(
            "SELECT session_id, path, cwd, title, name, mtime_ns FROM files WHERE fid = ?",
            (fid,),
        ).fetchone()
        if row is None or info is None:
            return None
        session_id, path, cwd, title, name, mtime_ns = info
        return SearchHit(
            session_id, Path(path), cwd, title, name, mtime_ns / 1e9, row[1], row[0], score
        )

    def size(self) -> int:
        """Bytes the index takes on disk (0 in memory)."""
        pages = self.db.execute("PRAGMA page_count").fetchone()[0]
        return int(pages * self.db.execute("PRAGMA page_size").fetchone()[0])


def open_index(db: Path | None = None, folder: Path | None = None) -> SessionIndex:
    """The index, up to date. A damaged index, or one of another schema, is rebuilt;
    one another process holds is used as it stands; when none can be opened, one is
    built in memory. Never raises ``sqlite3.Error``."""
    from harness_tui.core.storage.saved import sessions_dir

    db = index_path() if db is None else db
    folder = sessions_dir() if folder is None else folder
    with contextlib.suppress(OSError):
        db.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    for attempt in range(2):
        try:
            index = SessionIndex(db, folder)
        except sqlite3.Error:
            if attempt == 0 and _damaged(db):
                _remove(db)
                continue
            break
        try:
            index.update()
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                return index  # another process is updating it: search what is there
            index.close()
            _remove(db)
            continue
        except sqlite3.Error:
            index.close()
            _remove(db)
            continue
        return index
    index = SessionIndex(":memory:", folder)
    index.update()
    return index


def _session_files(folder: Path) -> dict[str, os.stat_result]:
    """The session files in the folder, by path (none when it cannot be read)."""
    found = {}
    try:
        entries = list(os.scandir(folder))
    except OSError:  # no folder yet, or unreadable: nothing to search
        return {}
    for entry in entries:
        try:
            if entry.name.endswith(".jsonl") and entry.is_file():
                found[entry.path] = entry.stat()
        except OSError:  # removed since the folder was read
            continue
    return found


def _damaged(db: Path) -> bool:
    """Whether the file is there but not a usable index (as opposed to locked)."""
    try:
        probe = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.5)
        try:
            probe.execute("PRAGMA user_version").fetchone()
            probe.execute("SELECT count(*) FROM sqlite_master").fetchone()
        finally:
            probe.close()
    except sqlite3.OperationalError as exc:
        return "locked" not in str(exc) and "busy" not in str(exc)
    except sqlite3.Error:
        return True
    return False


def _remove(db: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        with contextlib.suppress(OSError):
            os.unlink(f"{db}{suffix}")


def search_sessions(text: str, cwd: Path | None = None, limit: int = 50) -> list[SearchHit]:
    """Search the saved sessions (of the folder ``cwd``; all when None), updating the
    index first. Never fails because of the index (see ``open_index``)."""
    index = open_index()
    try:
        try:
            return index.search(text, cwd, limit)
        except sqlite3.OperationalError:  # locked for longer than the timeout
            return []
    finally:
        index.close()
