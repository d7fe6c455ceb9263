"""One card per tool call, keyed by its id and updated in place."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from rich.console import Group, RenderableType
from rich.text import Text
from textual import on
from textual.events import Click
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Static

from harness_tui.widgets.lazy import lazy_module

# Loads on first use, after the first frame is painted (see harness_tui.widgets.lazy).
ev = lazy_module("harness_tui.core.events")

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
ICONS = {"running": "", "waiting": "?", "done": "✓", "failed": "✗", "cancelled": "■"}
#: Input keys that best say what a call is about, in order of preference.
SUMMARY_KEYS = (
    "command",
    "file_path",
    "path",
    "pattern",
    "url",
    "query",
    "description",
    "prompt",
    "todos",
)
LIVE_OUTPUT_LINES = 8
MAX_OUTPUT_CHARS = 200_000
MAX_BODY_LINES = 400


def summarize_input(input: dict[str, Any], width: int = 60) -> str:
    """A one-line digest of a call's arguments."""
    value: Any = next((input[k] for k in SUMMARY_KEYS if k in input), None)
    if value is None:
        value = next((v for v in input.values() if isinstance(v, str)), None)
    if isinstance(value, list):
        text = f"{len(value)} items"
    elif value is None:
        text = json.dumps(input, ensure_ascii=False) if input else ""
    else:
        text = str(value)
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def duration_text(ms: float) -> str:
    return f"{ms:.0f} ms" if ms < 1000 else f"{ms / 1000:.1f} s"


def timing_text(duration_ms: float | None, permission_wait_ms: float | None) -> str:
    """A finished call's times: its own run time, then the wait for the user's answer
    (never added together: the tool did not run while the question was open)."""
    parts = []
    if duration_ms:  # 0: it never ran (denied, invalid input)
        parts.append(duration_text(duration_ms))
    if permission_wait_ms is not None:
        parts.append(f"waited {duration_text(permission_wait_ms)} for permission")
    return " · ".join(parts)


def _summary_of(display: str | None, display_format: str) -> str:
    """One line about a result: ``+5 -2`` for a diff, else the display's first line."""
    if not display or not display.strip():
        return ""
    lines = display.splitlines()
    if display_format == "diff":
        added = sum(1 for line in lines if line.startswith("+") and not line.startswith("+++"))
        removed = sum(1 for line in lines if line.startswith("-") and not line.startswith("---"))
        return f"+{added} −{removed}"
    return display.strip().splitlines()[0]


def diagnostics_text(files: Any) -> str:
    """``⚠ 2 new problems`` from a result's language-server diagnostics (nothing when
    the change is clean; old problems are not counted)."""
    if not isinstance(files, list):
        return ""
    new = sum(
        1
        for file in files
        for problem in file.get("problems", ())
        if isinstance(problem, dict) and not problem.get("preexisting")
    )
    return f"⚠ {new} new problem{'s' if new != 1 else ''}" if new else ""


def header_text(
    call: Mapping[str, Any], icon: str | None = None, timing: str | None = None
) -> Text:
    """A call's header line from its record (``ToolCard.record``): icon, name, agent,
    arguments, summary and times. A card still running gives its live ``icon`` and
    ``timing``; without them an unfinished call shows a still mark and no time."""
    status = call["status"]
    if icon is None:
        icon = {"running": "●", "waiting": "?"}.get(status) or ICONS[status]
    if timing is None:
        unfinished = status in ("running", "waiting")
        timing = "" if unfinished else timing_text(call["duration_ms"], call["permission_wait_ms"])
    header = Text()
    header.append(f"{icon} ", style="bold")
    header.append(call["tool_name"], style="bold")
    if call["agent_label"]:
        header.append(f" [{call['agent_label']}]", style="italic")
    args = summarize_input(call["input"])
    if args:
        header.append(f"  {args}", style="dim")
    tail = " · ".join(p for p in (call["summary"], timing) if p)
    if tail:
        header.append(f"  · {tail}", style="red" if status == "failed" else "")
    return header


class ToolCard(Static):
    """Name, short arguments, status, live output and result of one tool call.

    One widget drawing header and body together: a container of parts took several
    times longer to appear (benchmark B6). A sub-agent's calls are cards of their own,
    placed after this one and indented (``depth``)."""

    DEFAULT_CSS = """
    ToolCard {
        height: auto;
        max-height: 26;
        margin: 0 0 0 2;
        padding: 0 1;
        border-left: wide $panel-lighten-2;
    }
    ToolCard.-running, ToolCard.-waiting { border-left: wide $accent; }
    ToolCard.-failed { border-left: wide $error; }
    ToolCard.-cancelled { border-left: wide $warning; }
    ToolCard:focus { background: $boost; }
    """

    can_focus = True
    BINDINGS = [("enter", "toggle", "Expand/collapse")]

    expanded: reactive[bool] = reactive(False)
    status: reactive[str] = reactive("running")

    class Toggled(Message):
        def __init__(self, card: ToolCard) -> None:
            super().__init__()
            self.card = card

    def __init__(
        self, event: ev.ToolCallStarted, *, frozen_clock: bool = False, depth: int = 0
    ) -> None:
        # No DOM id from the call id: ids repeat across models (the scripted one
        # numbers its calls), and the conversation finds cards by call id itself.
        super().__init__(markup=False)
        self.depth = depth
        if depth:
            self.styles.margin = (0, 0, 0, 2 + 3 * depth)
        self.tool_call_id = event.tool_call_id
        self.tool_name = event.tool_name
        self.input = dict(event.input)
        self.output = ""
        self.result: str | None = None
        #: What the tool returned in full (the model's text, capped at MAX_OUTPUT_CHARS);
        #: ``result`` is the shorter display (a tail, "lines 1-50 of 200", a diff).
        self.full_output: str | None = None
        self.display_format = "text"
        self.summary = ""
        self.duration_ms: float | None = None
        self.permission_wait_ms: float | None = None
        self.agent_label: str | None = None
        self._frozen = frozen_clock
        self._started = time.monotonic()
        self._frame = 0
        self.set_class(True, "-running")
        # Content from the start: an update right after mounting would lay out twice.
        self.update(self._renderable())

    def on_mount(self) -> None:
        if not self._frozen:
            self._timer = self.set_interval(0.1, self._spin)

    def _spin(self) -> None:
        if self.status in ("running", "waiting"):
            self._frame += 1
            self._refresh_header()
        else:
            self._timer.stop()

    # --- events ---------------------------------------------------------------

    def apply(self, event: ev.Event) -> None:
        if isinstance(event, ev.ToolCallProgress):
            if event.output:
                self.output = (self.output + event.output)[-MAX_OUTPUT_CHARS:]
            if event.status or event.progress is not None:
                total = f"/{event.total:g}" if event.total else ""
                progress = f" {event.progress:g}{total}" if event.progress is not None else ""
                self.summary = f"{event.status or ''}{progress}".strip()
            self._refresh_all()
        elif isinstance(event, ev.ToolCallCompleted):
            self.status, self.duration_ms = "done", event.duration_ms
            self.permission_wait_ms = event.permission_wait_ms
            self.result = event.display if event.display is not None else event.content
            self.full_output = event.content[:MAX_OUTPUT_CHARS]
            self.display_format = event.display_format
            self.summary = _summary_of(event.display, event.display_format)
            problems = diagnostics_text(event.details.get("diagnostics"))
            if problems:
                self.summary = f"{self.summary} · {problems}" if self.summary else problems
            self._refresh_all()
        elif isinstance(event, ev.ToolCallFailed):
            self.status = "cancelled" if event.kind == "cancelled" else "failed"
            self.duration_ms = event.duration_ms
            self.permission_wait_ms = event.permission_wait_ms
            self.result = event.error if event.display is None else event.display
            self.full_output = event.error[:MAX_OUTPUT_CHARS]
            first = event.error.strip().splitlines()[0] if event.error.strip() else event.kind
            self.summary = first if event.kind != "cancelled" else "cancelled by user"
            self._refresh_all()
        elif isinstance(event, ev.PermissionRequested):
            self.status, self.summary = "waiting", "asking for permission"
            self._refresh_all()
        elif isinstance(event, ev.PermissionResolved) and self.status == "waiting":
            self.status = "running"
            self._started = time.monotonic()  # the live clock shows run time, not the wait
            self.summary = "" if event.decision != "deny" else "denied"
            self._refresh_all()
        elif isinstance(event, ev.SubagentStarted):
            self.agent_label = event.agent_name
            self._refresh_header()
        elif isinstance(event, ev.SubagentCompleted):
            self.agent_label = f"{event.agent_name} · {event.status}"
            self._refresh_header()

    def watch_status(self, status: str) -> None:
        for name in ("running", "waiting", "done", "failed", "cancelled"):
            self.set_class(status == name, f"-{name}")

    def watch_expanded(self, expanded: bool) -> None:
        self.set_class(expanded, "-expanded")
        if self.is_mounted:
            self._refresh_body()

    def action_toggle(self) -> None:
        self.expanded = not self.expanded
        self.post_message(self.Toggled(self))

    @on(Click)
    def _clicked(self, event: Click) -> None:
        event.stop()
        self.action_toggle()

    # --- folding (see Conversation) -----------------------------------------------

    _RECORDED = (
        "tool_name",
        "input",
        "output",
        "result",
        "full_output",
        "display_format",
        "summary",
        "duration_ms",
        "permission_wait_ms",
        "agent_label",
        "status",
    )

    def record(self) -> tuple[type[ToolCard], dict[str, Any]]:
        return ToolCard, {
            "tool_call_id": self.tool_call_id,
            **{name: getattr(self, name) for name in self._RECORDED},
        }

    @classmethod
    def restore(cls, data: dict[str, Any]) -> ToolCard:
        card = cls(
            ev.ToolCallStarted(
                session_id="",
                tool_call_id=data["tool_call_id"],
                tool_name=data["tool_name"],
                input=data["input"],
            ),
            frozen_clock=True,
        )
        for name in cls._RECORDED:
            setattr(card, name, data[name])
        card._refresh_all()  # drawn as recorded (the constructor drew it running)
        return card

    # --- rendering ------------------------------------------------------------

    def _refresh_all(self) -> None:
        self.update(self._renderable())

    _refresh_header = _refresh_body = _refresh_all

    def _renderable(self) -> RenderableType:
        body = self._body()
        if isinstance(body, Text) and not body.plain:
            return self._header()
        return Group(self._header(), body)

    def _header(self) -> Text:
        if self.status in ("running", "waiting") and not self._frozen:  # a live clock
            icon = "?" if self.status == "waiting" else SPINNER[self._frame % len(SPINNER)]
            timing = duration_text((time.monotonic() - self._started) * 1e3)
            return header_text(self.record()[1], icon, timing)
        return header_text(self.record()[1])

    def _body(self) -> RenderableType:
        renderable: RenderableType
        if self.status in ("running", "waiting"):
            lines = self.output.rstrip("\n").splitlines()[-LIVE_OUTPUT_LINES:]
            renderable = Text("\n".join(lines))
        elif self.expanded:
            text = self.result if self.result is not None else self.output
            lines = text.splitlines()
            if len(lines) > MAX_BODY_LINES:
                lines = [*lines[:MAX_BODY_LINES], f"… {len(lines) - MAX_BODY_LINES} more lines"]
            joined = "\n".join(lines)
            if self.display_format == "diff":
                from rich.syntax import Syntax  # pygments: only when a diff is shown

                renderable = Syntax(joined, "diff", theme="ansi_dark", background_color="default")
            else:
                renderable = Text(joined)
        else:
            renderable = Text("")
        return renderable
