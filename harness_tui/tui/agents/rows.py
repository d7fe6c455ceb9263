"""The agent view's rows: every open session from the live registry, grouped by what it
needs (an answer, nothing while it works, a prompt), and the newest saved sessions that
are not open. Plain data without Textual, so ``harness-tui agents --list`` prints the
same rows the screen shows."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from harness_tui.core.live.registry import LiveRecord
    from harness_tui.core.storage.saved import SessionInfo

#: (group key, title), in the order shown. A record's state picks its group.
GROUPS = (
    ("waiting", "Needs you"),
    ("running", "Working"),
    ("idle", "Idle"),
    ("finished", "Finished"),
)
_GROUP_OF_STATE = {"waiting": "waiting", "running": "running", "starting": "idle", "idle": "idle"}
#: How many saved sessions the Finished group lists.
FINISHED_LIMIT = 20
#: What the view says when there is nothing to show.
EMPTY = (
    "No open sessions. Every harness-tui session shows here while it is open: the TUI, "
    "`-p`, `--background`, `serve` and the web page, an editor over ACP. "
    "f shows the finished ones."
)


@dataclass(frozen=True)
class AgentRow:
    """One session as the view shows it; ``record`` is None for a finished one."""

    session_id: str
    group: str
    label: str
    cwd: str
    branch: str
    front_end: str
    model: str
    state: str
    cost_usd: float | None
    last_activity: float
    record: LiveRecord | None = None

    @property
    def project(self) -> str:
        """The folder's name, and the worktree's branch when it is in one."""
        name = Path(self.cwd).name or self.cwd or "?"
        return _cut(f"{name} · {self.branch}" if self.branch else name, 32)

    @property
    def question(self) -> dict | None:
        return self.record.question if self.record is not None else None

    @property
    def where(self) -> str:
        """Which program holds it: ``tui, pid 4242``."""
        if self.record is None:
            return "no program (finished)"
        return f"{self.record.front_end}, pid {self.record.pid}"

    @property
    def detail(self) -> str:
        """The line under the table for the highlighted row: all of what the row cuts."""
        parts = [self.session_id, self.cwd or "(folder unknown)"]
        if self.record is None:
            return " · ".join([*parts, "finished: Enter resumes it"])
        parts.append(f"runs in {self.where}")
        reply = self.record.reply
        if reply and not self.question:
            parts.append(f"said: {reply}")
        if self.question:
            asks = self.question.get("summary") or self.question.get("tool_name")
            parts.append(f"asks: {asks} (y once · a this session · A always · n deny)")
        return " · ".join(parts)

    def cells(self, now: float) -> tuple[str, ...]:
        cost = f"${self.cost_usd:.2f}" if self.cost_usd else ""
        return (
            self.label,
            self.project,
            self.front_end,
            _cut(self.model, 28),
            self.state,
            cost,
            ago(now - self.last_activity),
        )


COLUMNS = ("Session", "Project", "Front end", "Model", "State", "Cost", "Active")


def ago(seconds: float) -> str:
    """``12s ago``, ``5m ago``, ``3h ago``, ``2d ago``."""
    seconds = max(0, int(seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"


def _cut(text: str, width: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def live_row(record: LiveRecord) -> AgentRow:
    group = _GROUP_OF_STATE.get(record.state, "idle")
    state = record.state
    if record.question:
        asks = record.question.get("summary") or record.question.get("tool_name") or "?"
        state = _cut(f"waiting: {asks}", 36)
    return AgentRow(
        session_id=record.session_id,
        group=group,
        label=_cut(record.name or record.detail or f"({record.session_id[:12]})"),
        cwd=record.cwd,
        branch=record.branch,
        front_end=record.front_end,
        model=record.model,
        state=state,
        cost_usd=record.cost_usd,
        last_activity=record.last_activity,
        record=record,
    )


def finished_row(info: SessionInfo) -> AgentRow:
    return AgentRow(
        session_id=info.session_id,
        group="finished",
        label=_cut(info.name or info.title or f"({info.session_id[:12]})"),
        cwd=info.cwd,
        branch="",
        front_end="",
        model=info.model,
        state="finished",
        cost_usd=None,
        last_activity=info.modified,
    )


def ordered(rows: Sequence[AgentRow]) -> list[tuple[str, list[AgentRow]]]:
    """The non-empty groups, in ``GROUPS`` order, each with its rows."""
    return [
        (title, members)
        for key, title in GROUPS
        if (members := [row for row in rows if row.group == key])
    ]


class Collector:
    """Reads the rows: the open sessions (newest activity first) each time, and, when
    asked for, the newest saved sessions that are not open, read again at most every
    ``every`` seconds or when an open one goes away. Reads files: call it from a thread."""

    def __init__(self, every: float = 5.0) -> None:
        self.every = every
        self._finished: list[AgentRow] = []
        self._read_at: float | None = None
        self._open: set[str] = set()

    def __call__(self, finished: bool = False) -> list[AgentRow]:
        from harness_tui.core.live.registry import live_sessions

        rows = [live_row(record) for record in live_sessions()]
        now_open = {row.session_id for row in rows}
        gone, self._open = self._open - now_open, now_open
        if not finished:
            self._read_at = None
            return rows
        if gone or self._read_at is None or time.monotonic() - self._read_at >= self.every:
            self._finished = finished_rows(now_open)
            self._read_at = time.monotonic()
        return rows + [row for row in self._finished if row.session_id not in now_open]


def finished_sessions(open_ids: set[str]) -> list[SessionInfo]:
    """The newest ``FINISHED_LIMIT`` saved sessions of every folder not in ``open_ids``
    (none when the sessions folder cannot be read)."""
    from harness_tui.core.errors import HarnessError
    from harness_tui.core.storage.saved import list_sessions

    try:
        saved = list_sessions(None)
    except HarnessError:
        return []
    return [info for info in saved if info.session_id not in open_ids][:FINISHED_LIMIT]


def finished_rows(open_ids: set[str]) -> list[AgentRow]:
    return [finished_row(info) for info in finished_sessions(open_ids)]


def text_lines(rows: Sequence[AgentRow], now: float | None = None) -> list[str]:
    """``harness-tui agents --list``: the groups as plain text."""
    if not rows:
        return [EMPTY]
    now = time.time() if now is None else now
    lines = []
    for title, members in ordered(rows):
        lines.append(f"{title}:")
        for row in members:
            cells = [c for c in row.cells(now) if c]
            lines.append(f"  {row.session_id[:12]}  " + "  ".join(cells))
    return lines
