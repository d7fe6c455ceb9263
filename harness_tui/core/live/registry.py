"""The live-session registry: ``<data dir>/live/<session id>.json``, one file per open
session, rewritten (atomically) when its state changes.

A record says which process holds the session (``pid``, ``front_end``), where
(``cwd``), what it is (``name``, ``model``, ``mode``), and its ``state``:

- ``starting``: open, nothing asked yet; ``idle``: between runs;
- ``running``: a run is going on;
- ``waiting``: it waits for a person (``question``: its kind, permission, trust,
  sampling or elicitation, the request's id, the tool and a one-line summary);
- ``finished``: the session closed (the file is removed then; a reader never sees it
  unless the process died without closing: see ``live_sessions``).

``control`` is the session's control socket (``control``: answer, stop, send, close);
``attach`` the socket of the background holder whose terminal runs it (``background``),
empty for a session in a terminal of its own or without a terminal.

Readers (``live_sessions``) skip records whose process is gone, and delete them. Writing
is best effort: a read-only data folder costs the registry, never the session.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from contextlib import aclosing
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import anyio

from harness_tui.core.config import paths

SUFFIX = ".json"


def live_dir() -> Path:
    return paths.data_dir() / "live"


@dataclass
class LiveRecord:
    session_id: str
    pid: int
    front_end: str
    cwd: str
    model: str
    mode: str
    state: str = "starting"
    name: str = ""
    question: dict[str, Any] | None = None
    started_at: float = field(default_factory=time.time)
    last_activity: float = field(default_factory=time.time)
    cost_usd: float | None = None
    #: The last prompt's first line (what the session is doing).
    detail: str = ""
    #: The first line of the model's latest answer with text (how it is going).
    reply: str = ""
    #: Its control socket ("" when none could be made).
    control: str = ""
    #: Its background holder's socket, to attach a terminal to ("" when not background).
    attach: str = ""
    #: The git worktree it works in and its branch ("" when not in one of ours).
    worktree: str = ""
    branch: str = ""


_FIELDS = frozenset(LiveRecord.__dataclass_fields__)


def _summary(tool_name: str, data: dict[str, Any]) -> str:
    for key in ("command", "file_path", "path", "url", "pattern"):
        if isinstance(data.get(key), str):
            return f"{tool_name}({data[key][:80]})"
    return tool_name


_ASKED = (
    "PERMISSION_REQUESTED",
    "TRUST_REQUESTED",
    "SAMPLING_REQUESTED",
    "ELICITATION_REQUESTED",
)
_ANSWERED = ("PERMISSION_RESOLVED", "TRUST_RESOLVED", "SAMPLING_RESOLVED", "ELICITATION_RESOLVED")


def _question(event: Any) -> dict[str, Any]:
    """What a view shows of a question, and what answers it: ``kind`` (``permission``,
    ``trust``, ``sampling``, ``elicitation``), ``request_id`` (``trust`` for the
    folder's), ``tool_name`` and a one-line ``summary``."""
    kind = event.type.removesuffix("_REQUESTED").lower()
    if kind == "permission":
        tool = event.tool_name
        return {
            "kind": kind,
            "request_id": event.request_id,
            "tool_name": tool,
            "summary": _summary(tool, event.input),
        }
    if kind == "trust":
        return {
            "kind": kind,
            "request_id": "trust",
            "tool_name": "",
            "summary": f"trust {event.folder} (its settings, hooks, servers)?",
        }
    what = event.message if kind == "elicitation" else "asks to use the model"
    return {
        "kind": kind,
        "request_id": event.request_id,
        "tool_name": "",
        "summary": f"{event.server}: {what.splitlines()[0][:100] if what else ''}",
    }


class LiveBeacon:
    """Keeps ``session``'s record up to date from its events (a store subscriber)."""

    def __init__(self, session: Any, front_end: str) -> None:
        self.session = session
        self.record = LiveRecord(
            session_id=session.id,
            pid=os.getpid(),
            front_end=front_end,
            cwd=str(session.cwd),
            model=session.model.name,
            mode=session.mode,
            attach=getattr(session, "attach", "") or "",
        )
        use = getattr(session, "worktree", None)
        if use is not None:
            self.record.worktree = str(use.worktree.path)
            self.record.branch = use.worktree.branch
        self.path = live_dir() / f"{session.id}{SUFFIX}"
        self._sub = session.store.subscribe("live", queue_size=1000, drop_on_full=True)
        self._written = anyio.Event()
        self._was = "running"  # the state before a question, to go back to

    async def next_write(self) -> None:
        """Until the record is written next (or removed)."""
        await self._written.wait()

    def _tell(self) -> None:
        self._written.set()
        self._written = anyio.Event()

    def write(self) -> None:
        self.record.last_activity = time.time()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary = self.path.with_suffix(f".{os.getpid()}.tmp")
            temporary.write_text(json.dumps(asdict(self.record)))
            os.replace(temporary, self.path)
        except OSError:
            return
        finally:
            self._tell()

    def remove(self) -> None:
        with contextlib.suppress(OSError):
            self.path.unlink()
        self._tell()

    def apply(self, event: Any) -> bool:
        """Fold one event into the record; whether it changed what a view shows."""
        record, kind = self.record, event.type
        if kind == "PROMPT_RECEIVED":
            record.state, record.question = "running", None
            lines = (getattr(event, "text", "") or "").strip().splitlines()
            record.detail = lines[0][:120] if lines else ""
        elif kind in _ASKED:
            if record.state != "waiting":
                self._was = record.state
            record.state, record.question = "waiting", _question(event)
        elif kind in _ANSWERED:
            asked = (record.question or {}).get("request_id")
            if asked == getattr(event, "request_id", "trust"):
                record.state, record.question = self._was, None
        elif kind in ("RUN_COMPLETED", "RUN_CANCELLED"):
            record.state, record.question = "idle", None
        elif kind == "MESSAGE_COMPLETED":
            lines = [line for line in event.message.text.splitlines() if line.strip()]
            if not lines:
                return False
            record.reply = lines[0].strip()[:160]
        elif kind == "MODEL_CHANGED":
            record.model = event.model
        elif kind == "MODE_CHANGED":
            record.mode = event.mode
        elif kind == "USAGE_UPDATED" and event.total_cost_usd is not None:
            record.cost_usd = round(event.total_cost_usd, 6)
        elif kind == "SESSION_RENAMED":
            record.name = getattr(event, "name", "")
        else:
            return False
        return True

    async def run(self) -> None:
        """Follow the session until it closes, serving its control socket; the record
        goes with it."""
        from harness_tui.core.live.control import ControlServer

        try:
            async with anyio.create_task_group() as group:
                self.record.control = await group.start(
                    ControlServer(self.session, self.record).serve
                )
                self.write()
                async with aclosing(self.session.store.stream(self._sub)) as events:
                    async for event in events:
                        if getattr(event, "type", None) == "SESSION_ENDED":
                            break
                        if not getattr(event, "parent_tool_call_id", None) and self.apply(event):
                            self.write()
                group.cancel_scope.cancel()
        finally:
            self.remove()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def live_sessions() -> list[LiveRecord]:
    """Every open session of this user, newest activity first. Records of processes
    that are gone are deleted; unreadable ones are skipped."""
    found = []
    try:
        entries = list(os.scandir(live_dir()))
    except OSError:
        return []
    for entry in entries:
        if not entry.name.endswith(SUFFIX):
            continue
        try:
            data = json.loads(Path(entry.path).read_text())
            # (fields a newer harness-tui added are left out: its sessions still show)
            record = LiveRecord(**{k: v for k, v in data.items() if k in _FIELDS})
        except (OSError, ValueError, TypeError):
            continue
        if not _alive(record.pid):
            socket = record.control  # left behind too (only a session's own socket name)
            ours = os.path.basename(socket) == f"{record.session_id}.sock"
            for left in (entry.path, socket if ours else ""):
                with contextlib.suppress(OSError):
                    if left:
                        os.unlink(left)
            continue
        found.append(record)
    found.sort(key=lambda r: r.last_activity, reverse=True)
    return found
