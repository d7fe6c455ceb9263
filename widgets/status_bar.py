"""The status line: model, mode, run state, queue, tokens, cost, context, elapsed time.

The cost is the session's; with a budget (``SESSION_STARTED`` names them) it is shown
against it: ``$0.42 / $5.00`` for the session's, ``run $0.12 / $0.50`` for each run's.

The right part (tokens to elapsed time) gives way to the ``statusLine`` command's line
when one is set (``harness_tui.tui.status_line``); the run state stays: it is live."""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from harness_tui.widgets.lazy import lazy_module

# Loads on first use, after the first frame is painted (see harness_tui.widgets.lazy).
ev = lazy_module("harness_tui.core.events")

IDLE, WORKING, STREAMING, TOOLS, ASKING, CANCELLING = (
    "idle",
    "working",
    "streaming",
    "running tools",
    "waiting for you",
    "cancelling",
)

_STATE_MARK = {IDLE: "○", WORKING: "◌", STREAMING: "●", TOOLS: "⚙", ASKING: "?", CANCELLING: "■"}

#: Each permission mode's CSS name: the bar gets ``-mode-NAME`` and the mode's label is
#: drawn in the component class ``status-bar--mode-NAME`` (colours in styles/app.tcss).
MODE_CLASS = {
    "default": "default",
    "acceptEdits": "accept-edits",
    "plan": "plan",
    "bypassPermissions": "bypass",
}
#: Not by colour alone: the mode that asks nothing carries a warning sign.
MODE_LABEL = {"bypassPermissions": "⚠ bypassPermissions"}


def compact_count(value: int) -> str:
    if value >= 1_000_000:
        return f"{value / 1_000_000:.1f}M"
    if value >= 1_000:
        return f"{value / 1_000:.1f}k"
    return str(value)


def clock_text(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60}:{seconds % 60:02d}"


def cost_parts(
    total: float | None, run: float, run_budget: float | None, session_budget: float | None
) -> list[str]:
    """The session's cost (against its budget), and the run's against its budget.
    Unpriced usage counts as nothing, as the budgets count it."""
    parts = []
    if session_budget is not None:
        parts.append(f"${total or 0.0:.2f} / ${session_budget:.2f}")
    elif total is not None:
        parts.append(f"${total:.2f}")
    if run_budget is not None:
        parts.append(f"run ${run:.2f} / ${run_budget:.2f}")
    return parts


class StatusBar(Static):
    """One line at the bottom, fed by events."""

    COMPONENT_CLASSES = {f"status-bar--mode-{name}" for name in MODE_CLASS.values()}

    DEFAULT_CSS = """
    StatusBar {
        height: 1;
        padding: 0 1;
        background: $panel;
        color: $text-muted;
    }
    StatusBar.-busy { color: $text; }
    """

    #: The session's name (``/rename``); "" for none.
    name: reactive[str] = reactive("")
    model: reactive[str] = reactive("")
    provider: reactive[str] = reactive("")
    mode: reactive[str] = reactive("default")
    state: reactive[str] = reactive(IDLE)
    queued: reactive[int] = reactive(0)
    tokens_in: reactive[int] = reactive(0)
    tokens_out: reactive[int] = reactive(0)
    cost: reactive[float | None] = reactive(None)
    #: What the current (or last) run spent, sub-agents included.
    run_cost: reactive[float] = reactive(0.0)
    #: The dollar budgets of each run and of the session (None: none).
    run_budget: reactive[float | None] = reactive(None)
    session_budget: reactive[float | None] = reactive(None)
    context_used: reactive[int] = reactive(0)
    context_window: reactive[int | None] = reactive(None)
    elapsed: reactive[float | None] = reactive(None)
    #: The ``statusLine`` command's line (None: the built-in right part).
    custom: reactive[Text | None] = reactive(None)

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        model: str = "",
        mode: str = "default",
        **kwargs: object,
    ) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._clock = clock
        self.set_reactive(StatusBar.model, model)
        self.set_reactive(StatusBar.mode, mode)
        self._mode_class(mode)
        self._run_started: float | None = None
        self._running_tools = 0
        self._queued_ids: set[str] = set()

    def on_mount(self) -> None:
        self.set_interval(1.0, self._tick)

    def watch_mode(self, mode: str) -> None:
        self._mode_class(mode)

    def _mode_class(self, mode: str) -> None:
        for name in MODE_CLASS.values():
            self.set_class(MODE_CLASS.get(mode, "default") == name, f"-mode-{name}")

    def _tick(self) -> None:
        if self._run_started is not None:
            self.elapsed = self._clock() - self._run_started

    def show_idle(self) -> None:
        """Nothing runs (after a restored transcript, whose runs are over)."""
        self._run_started, self._running_tools = None, 0
        self.state, self.elapsed = IDLE, None

    def streaming(self) -> None:
        """Text or thinking arrived (told once per batch of deltas)."""
        if self.state not in (CANCELLING, ASKING, IDLE):
            self.state = STREAMING

    def apply(self, event: ev.Event) -> None:
        if isinstance(event, ev.TokenDelta | ev.ThinkingDelta):
            self.streaming()
        elif isinstance(event, ev.SessionStarted):
            self.model, self.mode = event.model, event.permission_mode
            self.run_budget, self.session_budget = event.run_budget_usd, event.session_budget_usd
            self.run_cost = 0.0  # a new session (``/clear``, a resume) has run nothing yet
            self.name = event.name or ""
        elif isinstance(event, ev.SessionRenamed):
            self.name = event.name
        elif isinstance(event, ev.ModelChanged):
            self.model, self.provider = event.model, event.provider
        elif isinstance(event, ev.ModeChanged):
            self.mode = event.mode
        elif isinstance(event, ev.PromptReceived):
            self._run_started, self._running_tools = self._clock(), 0
            self.elapsed, self.state, self.run_cost = 0.0, WORKING, 0.0
        elif isinstance(event, ev.MessageCompleted):
            if self.state == STREAMING:
                self.state = WORKING
        elif isinstance(event, ev.ToolCallStarted):
            self._running_tools += 1
            if self.state != CANCELLING:
                self.state = TOOLS
        elif isinstance(event, ev.ToolCallCompleted | ev.ToolCallFailed):
            self._running_tools = max(0, self._running_tools - 1)
            if self.state == TOOLS and not self._running_tools:
                self.state = WORKING
        elif isinstance(event, ev.PermissionRequested):
            self.state = ASKING
        elif isinstance(event, ev.PermissionResolved):
            if self.state == ASKING:
                self.state = TOOLS
        elif isinstance(event, ev.RunCompleted | ev.RunCancelled):
            self._tick()
            self._run_started, self.state = None, IDLE
        elif isinstance(event, ev.SteeringQueued):
            self._queued_ids.add(event.steering_id)
            self.queued = len(self._queued_ids)
        elif isinstance(event, ev.SteeringDelivered | ev.SteeringWithdrawn):
            self._queued_ids.discard(event.steering_id)
            self.queued = len(self._queued_ids)
        elif isinstance(event, ev.UsageUpdated):
            self.tokens_in = event.total.input_tokens + event.total.cache_read_tokens
            self.tokens_out = event.total.output_tokens
            self.cost = event.total_cost_usd
            self.run_cost += event.cost_usd or 0.0
            if event.parent_tool_call_id is None:  # a sub-agent's context is not ours
                self.context_used, self.context_window = event.context_tokens, event.context_window

    def render(self) -> Text:
        # Model and provider names come from settings: plain text, never markup.
        text = Text()
        if self.name:  # the user's words: plain text, never markup
            text.append(self.name, style="bold").append(" · ")
        text.append(self.model + (f" ({self.provider})" if self.provider else ""))
        text.append(" · ")
        mode_style = self.get_component_rich_style(
            f"status-bar--mode-{MODE_CLASS.get(self.mode, 'default')}"
        )
        text.append(f" {MODE_LABEL.get(self.mode, self.mode)} ", style=mode_style)
        parts = [f"{_STATE_MARK.get(self.state, '·')} {self.state}"]
        if self.queued:
            parts.append(f"{self.queued} queued")
        self.set_class(self.state != IDLE, "-busy")
        if self.custom is not None:
            return text.append(" · " + " · ".join(parts) + " · ").append_text(self.custom)
        parts.append(f"↑{compact_count(self.tokens_in)} ↓{compact_count(self.tokens_out)}")
        parts += cost_parts(self.cost, self.run_cost, self.run_budget, self.session_budget)
        if self.context_window:
            share = min(1.0, self.context_used / self.context_window)
            filled = round(share * 8)
            parts.append(f"ctx {'█' * filled}{'░' * (8 - filled)} {share:.0%}")
        if self.elapsed is not None:
            parts.append(clock_text(self.elapsed))
        text.append(" · " + " · ".join(parts))
        return text
