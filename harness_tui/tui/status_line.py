"""Claude Code's ``statusLine`` command: its first line of output is the status bar's
right part.

The setting, read from the same files as Claude Code's (``~/.claude/settings.json``,
``.claude/settings.json``, ... and ours; checked by ``core.config.settings``)::

    {"statusLine": {"type": "command", "command": "~/.claude/statusline.sh", "padding": 0}}

plus our ``timeout`` (seconds, default ``DEFAULT_TIMEOUT_S``). The command runs through
``bash -c`` in the session's folder, in a process group of its own
(``core.processes.group``), with the session's state as JSON on stdin, in the shape
Claude Code sends (its statusline documentation, docs.claude.com/docs/claude-code/statusline;
fields we cannot know, such as lines added, are left out rather than made up)::

    {"hook_event_name": "Status", "session_id": ..., "transcript_path": ..., "cwd": ...,
     "model": {"id": ..., "display_name": ...},
     "workspace": {"current_dir": ..., "project_dir": ...},
     "version": ..., "output_style": {"name": "default"},
     "cost": {"total_cost_usd": ..., "total_duration_ms": ...},
     "context_window": {"total_input_tokens": ..., "total_output_tokens": ...,
                        "context_window_size": ..., "current_usage": {...},
                        "used_percentage": ..., "remaining_percentage": ...},
     "exceeds_200k_tokens": ..., "permission_mode": ..., "provider": ...}

When it runs: on the session's events (not on streamed text), at most every
``DEBOUNCE_S`` (Claude Code's 300 ms), one at a time; a change while it runs runs it
again once it is done. It never blocks the app: it runs in a worker, and is stopped at
its timeout. A failure (exit code, timeout, cannot start) shows ``FAILED_MARK`` and the
reason, logs its stderr, and the next run waits ``FAILURE_PAUSE_S`` (doubling with each
failure in a row, up to a minute): a broken command is never run in a tight loop.

Trust: the session's settings hold a project's files only once the folder is trusted
(``core.session.workspace``), as for hooks, so a repository cannot run a command here by
itself. ANSI colours (SGR) in the output are kept; every other escape and control
character is taken out.
"""

from __future__ import annotations

import json
import logging
import re
import time
from typing import TYPE_CHECKING, Any

from rich.text import Text

from harness_tui.widgets.lazy import lazy_module

if TYPE_CHECKING:
    from textual.app import App

    from harness_tui.core.events import Event
    from harness_tui.core.session.session import Session

ev = lazy_module("harness_tui.core.events")
log = logging.getLogger(__name__)

DEBOUNCE_S = 0.3
DEFAULT_TIMEOUT_S = 5.0
FAILURE_PAUSE_S = 2.0
MAX_FAILURE_PAUSE_S = 60.0
FAILED_MARK = "⚠ statusLine"
#: The output kept (a status line is one short line).
MAX_OUTPUT = 4096

_SGR = r"\x1b\[[0-9;:]*m"
_ESCAPE = re.compile(
    rf"({_SGR})"  # kept: colours and styles
    r"|\x1b\[[0-?]*[ -/]*[@-~]?"  # other CSI: cursor moves, clears
    r"|\x1b[\]PX^_].*?(?:\x07|\x1b\\|$)"  # OSC, DCS, SOS, PM, APC: titles, links, ...
    r"|\x1b.?"  # any other escape
    r"|[\x00-\x1f\x7f-\x9f]",  # other control characters
    re.DOTALL,
)


def clean_ansi(line: str) -> Text:
    """``line`` as Rich text: its SGR colours kept, every other escape taken out."""
    kept = _ESCAPE.sub(lambda m: m.group(1) or ("" if m.group(0) != "\t" else " "), line)
    return Text.from_ansi(kept, end="")


def first_line(output: str) -> str:
    return output[:MAX_OUTPUT].split("\n", 1)[0].rstrip("\r")


class StatusLine:
    """Runs the ``statusLine`` command of the session's settings and shows its line."""

    def __init__(self, app: App[Any]) -> None:
        self._app = app
        self._session: Session | None = None
        self._started = time.monotonic()
        self._usage: Any = None
        self._busy = False  # a run is waiting for its time, or running
        self._wanted = False  # something changed since the last run started
        self._next_at = 0.0
        self._failures = 0
        self._shown = False
        #: Runs finished (tests wait on it).
        self.runs = 0

    def start(self, session: Session) -> None:
        """A session is shown (the first, or after /clear, /resume)."""
        self._session, self._usage, self._started = session, None, time.monotonic()
        self.refresh()

    def on_event(self, event: Event) -> None:
        if self._session is None or event.type in ("TOKEN_DELTA", "THINKING_DELTA"):
            return
        if isinstance(event, ev.UsageUpdated) and event.parent_tool_call_id is None:
            self._usage = event
        self.refresh()

    def config(self) -> dict[str, Any] | None:
        found = self._session.settings.value("statusLine") if self._session else None
        return found[0] if found else None

    def refresh(self) -> None:
        """Run the command soon (debounced; at most one run at a time)."""
        if self.config() is None:
            if self._shown:  # the setting went (another session, other settings)
                self._show(None)
            return
        self._wanted = True
        if self._busy:
            return
        self._busy = True
        delay = self._next_at - time.monotonic()
        if delay > 0:
            self._app.set_timer(delay, self._launch)
        else:  # (a timer of 0 s divides by zero)
            self._app.call_later(self._launch)

    def _launch(self) -> None:
        config, session = self.config(), self._session
        if config is None or session is None:
            self._busy = False
            return
        self._wanted = False
        self._next_at = time.monotonic() + DEBOUNCE_S
        try:
            payload = json.dumps(self.payload(session))
        except Exception:  # a fact missing must not take the app down
            log.exception("the statusLine command's input could not be made")
            self._busy = False
            return
        self._app.run_worker(
            self._run(session, config, payload), group="status-line", exit_on_error=False
        )

    async def _run(self, session: Session, config: dict[str, Any], payload: str) -> None:
        try:
            line, problem = await self._execute(session, config, payload)
        finally:
            self._busy = False
        self.runs += 1
        if session is not self._session:
            pass  # another session is shown now: this line is not its
        elif problem is None:
            self._failures = 0
            padding = " " * int(config.get("padding", 0))
            self._show(Text(padding) + clean_ansi(line))
        else:
            self._failures += 1
            pause = FAILURE_PAUSE_S * 2 ** (self._failures - 1)
            self._next_at = time.monotonic() + min(MAX_FAILURE_PAUSE_S, pause)
            self._show(Text(f"{FAILED_MARK}: {problem}", style="bold"))
        if self._wanted:
            self.refresh()

    async def _execute(
        self, session: Session, config: dict[str, Any], payload: str
    ) -> tuple[str, str | None]:
        """The first line of output, and what went wrong (None: nothing)."""
        from harness_tui.core.hooks.config import command_env
        from harness_tui.core.processes.group import run_in_group, shell_argv

        timeout = float(config.get("timeout", DEFAULT_TIMEOUT_S))
        command = str(config["command"])
        try:
            result = await run_in_group(
                shell_argv(command),
                cwd=session.cwd,
                env=command_env(session.cwd),
                stdin=payload.encode(),
                timeout_s=timeout,
                grace_s=0.1,
                capture_chars=MAX_OUTPUT,
            )
        except OSError as exc:
            log.warning("statusLine command %r could not start: %s", command, exc)
            return "", "could not start"
        if result.stderr.strip():
            log.warning("statusLine command %r wrote to stderr: %s", command, result.stderr)
        if result.timed_out:
            return "", f"timed out after {timeout:g} s"
        if result.exit_code != 0:
            return "", f"exit code {result.exit_code}"
        return first_line(result.stdout), None

    def payload(self, session: Session) -> dict[str, Any]:
        """The session's state as Claude Code gives it to its status line command."""
        from harness_tui import __version__
        from harness_tui.core.storage.saved import session_path

        model = session.model
        spec = getattr(model, "spec", None)
        cwd = str(session.cwd)
        total = session.total_usage
        usage = self._usage
        window = usage.context_window if usage else model.context_window
        used = usage.context_tokens if usage else 0
        share = round(100 * used / window, 1) if window else None
        current = usage.usage if usage else None
        return {
            "hook_event_name": "Status",
            "session_id": session.id,
            "transcript_path": str(session.file or session_path(session.id)),
            "cwd": cwd,
            "model": {"id": spec.id if spec else model.name, "display_name": model.name},
            "workspace": {"current_dir": cwd, "project_dir": cwd},
            "version": __version__,
            "output_style": {"name": "default"},
            "cost": {
                "total_cost_usd": session.total_cost_usd,
                "total_duration_ms": round((time.monotonic() - self._started) * 1000),
            },
            "context_window": {
                "total_input_tokens": total.input_tokens + total.cache_read_tokens,
                "total_output_tokens": total.output_tokens,
                "context_window_size": window,
                "current_usage": None
                if current is None
                else {
                    "input_tokens": current.input_tokens,
                    "output_tokens": current.output_tokens,
                    "cache_creation_input_tokens": current.cache_write_tokens,
                    "cache_read_input_tokens": current.cache_read_tokens,
                },
                "used_percentage": share,
                "remaining_percentage": None if share is None else round(100 - share, 1),
            },
            "exceeds_200k_tokens": used > 200_000,
            "permission_mode": session.mode,
            "provider": model.provider,
        }

    def _show(self, text: Text | None) -> None:
        from harness_tui.widgets.status_bar import StatusBar

        self._shown = text is not None
        for screen in self._app.screen_stack:  # a dialog may be on top
            for bar in screen.query(StatusBar):
                bar.custom = text
