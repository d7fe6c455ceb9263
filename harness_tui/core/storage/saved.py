"""Saved sessions: where they are, which belong to a folder, and what one holds.

Each session is one file, ``<data dir>/sessions/<session id>.jsonl`` (see
``session_records`` for the format). There is no separate index to fall out of step:
listing reads the first and last few kilobytes of each file (its header, first prompt
and latest model), which stays fast for thousands of sessions.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pydantic_core
from pydantic import TypeAdapter, ValidationError

from harness_tui.core.config import paths
from harness_tui.core.errors import HarnessError
from harness_tui.core.events import PlanEntry, UsageUpdated, parse_event
from harness_tui.core.files.regular import open_regular
from harness_tui.core.messages import ImageBlock, TokenUsage
from harness_tui.core.run.steering import QueuedMessage
from harness_tui.core.storage.records import (
    ENTRY_TYPES,
    HEADER_TYPE,
    ReadResult,
    SessionFormatError,
    SessionHeader,
    Skipped,
    check_header,
    read_records,
)
from harness_tui.core.storage.recovery import (
    EntryRepair,
    identity,
    in_session_folder,
    recover_listing,
)
from harness_tui.core.storage.tree import Context, EntryTree

SUFFIX = ".jsonl"
#: How much of each end of a file the listing reads.
PEEK_BYTES = 64 * 1024


def sessions_dir() -> Path:
    return paths.data_dir() / "sessions"


def session_path(session_id: str) -> Path:
    return sessions_dir() / f"{session_id}{SUFFIX}"


def checkpoints_dir(session_id: str) -> Path:
    """Where a new session keeps the bytes of its checkpoints (``checkpoints.blobs``)."""
    return session_path(session_id).with_suffix("") / "checkpoints"


def tasks_dir(session_id: str) -> Path:
    """Where a session's background tasks write their output (``<task_id>.log``)."""
    return session_path(session_id).with_suffix("") / "tasks"


def images_dir(session_id: str) -> Path:
    """Where a new session keeps the images attached to it (``images.store``): a
    folder beside its file (``SavedSession.images_folder``)."""
    return session_path(session_id).with_suffix("") / "images"


class NoSuchSession(HarnessError):
    """No saved session has the id (or prefix) asked for."""


def _folder_error(folder: Path, exc: OSError) -> HarnessError:
    return HarnessError(
        f"cannot read the session folder {folder}: {exc.strerror or exc}",
        hint="check its permissions, or point HARNESS_DATA_DIR at a folder you can use",
    )


# --- listing --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """A saved session as a listing shows it."""

    session_id: str
    path: Path
    cwd: str
    title: str
    model: str
    created: float
    modified: float
    size: int
    #: What the user called it (``SESSION_RENAMED``); "" for none.
    name: str = ""
    #: Why the file's header is unusable (None: it is fine); the rest was recovered
    #: from its other records. Resuming it tells what was skipped.
    damaged: str | None = None

    def label(self, width: int = 60) -> str:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(self.modified))
        title = " ".join((self.name or self.title).split())
        title = title if len(title) <= width else title[: width - 1] + "…"
        mark = "  [damaged: resuming says what was skipped]" if self.damaged else ""
        return f"{when}  {title:<{width}}  {self.model}  {_size(self.size)}{mark}"


def _size(size: int) -> str:
    for unit in ("B", "KB", "MB"):
        if size < 1024:
            return f"{size:.0f} {unit}"
        size /= 1024  # type: ignore[assignment]
    return f"{size:.1f} GB"


def list_sessions(cwd: Path | None = None, *, include_empty: bool = False) -> list[SessionInfo]:
    """Saved sessions, newest first: of the folder ``cwd`` (all folders when None).
    Sessions in which nothing was asked are left out unless ``include_empty``.
    Raises ``HarnessError`` when the session folder cannot be read."""
    folder = sessions_dir()
    try:
        names = [e for e in os.scandir(folder) if e.name.endswith(SUFFIX) and e.is_file()]
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise _folder_error(folder, exc) from None
    wanted = str(cwd.resolve()) if cwd is not None else None
    found = []
    for entry in names:
        info = session_info(Path(entry.path))
        if info is None or (wanted is not None and info.cwd != wanted):
            continue
        if info.title or include_empty:
            found.append(info)
    found.sort(key=lambda i: i.modified, reverse=True)
    return found


def session_info(path: Path) -> SessionInfo | None:
    """What the listing shows of one file; None for a file that is not a session's."""
    try:
        with open_regular(path) as file:  # never a FIFO or device left in the folder
            stat = os.fstat(file.fileno())
            head = file.read(PEEK_BYTES)
            tail = b""
            if stat.st_size > PEEK_BYTES:
                file.seek(max(PEEK_BYTES, stat.st_size - PEEK_BYTES))
                tail = file.read()
    except OSError:
        return None
    header: dict[str, Any] | None = None
    title, model, name = "", "", ""
    for record in _peek(head):
        kind = record.get("type")
        if kind == HEADER_TYPE and header is None:
            header = record
        elif kind == "PROMPT_RECEIVED" and not title:
            title = str(record.get("text", ""))
        elif kind in ("SESSION_STARTED", "MODEL_CHANGED"):
            model = str(record.get("model", model))
        name = _name(record, name)
    for record in _peek(tail):
        if record.get("type") in ("SESSION_STARTED", "MODEL_CHANGED"):
            model = str(record.get("model", model))
        name = _name(record, name)
    checked = check_header(header) if header is not None else None
    if not isinstance(checked, SessionHeader):
        return _recovered_info(path, head, tail, stat, title, model, name)
    return SessionInfo(
        session_id=checked.session_id,
        path=path,
        cwd=checked.cwd,
        title=title,
        model=model,
        created=checked.created,
        modified=stat.st_mtime,
        size=stat.st_size,
        name=name,
    )


def _name(record: dict[str, Any], name: str) -> str:
    """The session's name after ``record``: a rename sets it, and each process that
    opens a named session repeats it in its ``SESSION_STARTED`` (so the tail that the
    listing reads holds it, however far back the rename was)."""
    kind = record.get("type")
    if kind == "SESSION_RENAMED" or (kind == "SESSION_STARTED" and record.get("name")):
        return str(record.get("name") or "")
    return name


def _recovered_info(
    path: Path, head: bytes, tail: bytes, stat: os.stat_result, title: str, model: str, name: str
) -> SessionInfo | None:
    """The listing of a file whose header is damaged: what its other records tell."""
    found = recover_listing(path, head + b"\n" + tail, DELTA_TYPES)
    if found is None:
        return None  # not a session's file
    return SessionInfo(
        session_id=found.session_id,
        path=path,
        cwd=found.cwd,
        title=title or found.title,
        model=model,
        created=found.created or stat.st_mtime,
        modified=stat.st_mtime,
        size=stat.st_size,
        name=name,
        damaged=found.problem,
    )


_PEEKED = (
    b'{"type":"session"',
    b'{"type":"PROMPT_RECEIVED"',
    b'{"type":"SESSION_STARTED"',
    b'{"type":"MODEL_CHANGED"',
    b'{"type":"SESSION_RENAMED"',
)


def _peek(chunk: bytes) -> list[dict[str, Any]]:
    """The records of interest to the listing in a chunk (partial lines ignored)."""
    found = []
    for line in chunk.split(b"\n"):
        if line.startswith(_PEEKED):
            try:
                record = pydantic_core.from_json(line)
            except ValueError:
                continue
            if isinstance(record, dict):
                found.append(record)
    return found


def find_session(session_id: str) -> Path:
    """The file of a saved session, by id, unique id prefix, or path to the file."""
    if not session_id.strip():
        raise NoSuchSession("no session id given", hint="list them with `harness-tui sessions`")
    as_path = Path(session_id).expanduser()
    if session_id.endswith(SUFFIX) and as_path.is_file():
        return as_path
    folder = sessions_dir()
    exact = session_path(session_id)
    try:
        if exact.is_file():
            return exact
        matches = sorted(
            e.path
            for e in os.scandir(folder)
            if e.name.startswith(session_id) and e.name.endswith(SUFFIX)
        )
    except FileNotFoundError:
        matches = []
    except OSError as exc:
        raise _folder_error(folder, exc) from None
    if len(matches) == 1:
        return Path(matches[0])
    if matches:
        raise NoSuchSession(
            f"several sessions start with {session_id!r}", hint="give more of the id"
        )
    raise NoSuchSession(
        f"no saved session {session_id!r} in {folder}",
        hint="list them with `harness-tui sessions`",
    )


def latest_session(cwd: Path) -> SessionInfo | None:
    """The session of this folder that changed last."""
    sessions = list_sessions(cwd)
    return sessions[0] if sessions else None


# --- loading --------------------------------------------------------------------------------


@dataclass
class SavedSession:
    """Everything a resumed session takes from its file."""

    path: Path
    session_id: str
    cwd: str
    header: SessionHeader | None
    tree: EntryTree
    #: The entry the conversation continues from (None: the conversation is empty).
    head: str | None
    model: str | None = None
    mode: str | None = None
    plan: tuple[PlanEntry, ...] = ()
    #: Messages queued while a run was active and never delivered nor withdrawn.
    pending: list[QueuedMessage] = field(default_factory=list)
    total_usage: TokenUsage = field(default_factory=TokenUsage)
    total_cost_usd: float | None = None
    title: str = ""
    #: What the user called it (``SESSION_RENAMED``); "" for none.
    name: str = ""
    read: ReadResult | None = None
    #: The file ends inside a run (the process was killed or crashed): the resumed
    #: session closes that run's loose ends (see ``Session``).
    interrupted: bool = False
    #: The text of the answer that was streaming then (never completed).
    partial_text: str = ""

    #: Its CHECKPOINT_CREATED and REWOUND events, in order (the rewind timeline).
    checkpoints: list[Any] = field(default_factory=list)

    @property
    def checkpoints_folder(self) -> Path:
        """Where the bytes of its checkpoints are kept: beside its file."""
        return self.path.with_suffix("") / "checkpoints"

    @property
    def images_folder(self) -> Path:
        """Where its attached images are kept: beside its file (``images.store``)."""
        return self.path.with_suffix("") / "images"

    def context(self, head: str | None = None) -> Context:
        """What the model sees at ``head`` (default: the saved head)."""
        return self.tree.context(self.head if head is None else head)

    @property
    def problems(self) -> str | None:
        return self.read.report() if self.read is not None else None


#: Streamed text and thinking: nothing to restore from them (the messages hold it all).
DELTA_TYPES = frozenset({"TOKEN_DELTA", "THINKING_DELTA"})


#: The first and last record of a run.
_RUN_EDGES = frozenset({"PROMPT_RECEIVED", "RUN_COMPLETED", "RUN_CANCELLED"})


def load_session(session_id: str, *, every_record: bool = False) -> SavedSession:
    """Read a saved session (by id, id prefix or path). ``every_record`` keeps the
    streamed deltas too (for an export); by default they are checked and dropped.
    Raises ``NoSuchSession``, ``SessionFormatError`` or ``HarnessError`` (an unreadable
    file) with a clear message."""
    path = find_session(session_id)
    try:
        result = read_records(path, drop=frozenset() if every_record else DELTA_TYPES)
    except OSError as exc:
        raise HarnessError(
            f"cannot read session file {path}: {exc.strerror or exc}",
            hint="check the file's permissions",
        ) from None
    return restore(result)


def restore(result: ReadResult) -> SavedSession:
    """The state of a session as its records leave it, with every intact entry kept
    (see ``session_recovery`` for what is repaired and how)."""
    tree = EntryTree()
    repair = EntryRepair(tree, result)
    head: str | None = None
    model = mode = None
    found = identity(result, file_names_session=in_session_folder(result.path, sessions_dir()))
    session_id, cwd = found.session_id, found.cwd
    title = name = ""
    plan_record = usage_record = None
    pending: dict[str, QueuedMessage] = {}
    timeline: list[dict[str, Any]] = []
    run_open = False
    for record, line in zip(result.records, result.lines, strict=True):
        kind = record["type"]
        if kind in _RUN_EDGES and record.get("parent_tool_call_id") is None:
            run_open = kind == "PROMPT_RECEIVED"
        if kind in ENTRY_TYPES:
            entry = repair.add(record, line)
            if entry is not None:
                head = entry.id
        elif kind in DELTA_TYPES:
            continue
        elif kind == "SESSION_STARTED":
            model, mode = record.get("model", model), record.get("permission_mode", mode)
        elif kind == "MODEL_CHANGED":
            model = record.get("model", model)
        elif kind == "MODE_CHANGED":
            mode = record.get("mode", mode)
        elif kind in ("PLAN_GENERATED", "PLAN_UPDATED"):
            plan_record = record
        elif kind == "USAGE_UPDATED":
            usage_record = record
        elif kind == "STEERING_QUEUED":
            item = _queued(record)
            if item is not None:
                pending[item.id] = item
        elif kind in ("STEERING_DELIVERED", "STEERING_WITHDRAWN"):
            pending.pop(str(record.get("steering_id")), None)
        elif kind == "BRANCH_CHANGED":
            head = repair.move(record.get("entry_id"), line, head)
        elif kind == "PROMPT_RECEIVED" and not title:
            title = str(record.get("text", ""))
        elif kind == "SESSION_RENAMED":
            name = str(record.get("name", name))
        elif kind in ("CHECKPOINT_CREATED", "REWOUND"):
            timeline.append(record)
    if session_id is None:
        raise SessionFormatError(
            f"{result.path} is not a harness-tui session file (no session header, events "
            "or entries)",
            hint="pass the id of a saved session; list them with `harness-tui sessions`",
        )
    saved = SavedSession(
        path=result.path,
        session_id=session_id,
        cwd=cwd,
        header=result.header,
        tree=tree,
        head=head,
        model=model,
        mode=mode,
        pending=list(pending.values()),
        title=title,
        name=name,
        read=result,
        interrupted=run_open,
    )
    if run_open:
        saved.partial_text = "".join(
            str(r.get("text", ""))
            for r in result.trailing
            if r["type"] == "TOKEN_DELTA" and r.get("parent_tool_call_id") is None
        )
    for record in timeline:
        try:
            saved.checkpoints.append(parse_event(record))
        except ValidationError:
            result.skipped.append(_invalid(result, record))
    if plan_record is not None:
        try:
            saved.plan = tuple(PlanEntry.model_validate(e) for e in plan_record["entries"])
        except (ValidationError, KeyError, TypeError):
            result.skipped.append(_invalid(result, plan_record))
    if usage_record is not None:
        try:
            usage = UsageUpdated.model_validate(usage_record)
            saved.total_usage, saved.total_cost_usd = usage.total, usage.total_cost_usd
        except ValidationError:
            result.skipped.append(_invalid(result, usage_record))
    return saved


def _queued(record: dict[str, Any]) -> QueuedMessage | None:
    ident, text, kind = record.get("steering_id"), record.get("text"), record.get("kind")
    if isinstance(ident, str) and isinstance(text, str) and kind in ("steer", "follow_up"):
        try:
            images = _IMAGES.validate_python(record.get("images") or ())
        except ValidationError:
            images = ()  # a damaged reference: the text is still the user's message
        return QueuedMessage(ident, text, kind, images)
    return None


_IMAGES: TypeAdapter[tuple[ImageBlock, ...]] = TypeAdapter(tuple[ImageBlock, ...])


def _invalid(result: ReadResult, record: dict[str, Any]) -> Skipped:
    name = record.get("id") or record.get("event_id") or ""
    return Skipped(0, 0, 0, f"a {record.get('type')} record {name} with invalid fields".strip())
