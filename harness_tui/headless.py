"""``harness-tui -p``: one prompt, no TUI. The output is a subscriber of the session's
event store like every other view.

Exit codes: 0 success; 1 the run ended on an error; 4 a budget stopped the run
(``--max-budget-usd``, ``--max-turns``, the settings' ``budget``: ``run.budget``); 3
something was refused — a tool
call (by a deny rule, plan mode, a permission question nobody is there to answer, a
PreToolUse hook; the session's or a sub-agent's) or the prompt (a UserPromptSubmit hook),
even when the run then went on to succeed; 130 cancelled (Ctrl+C); 141 the reader of
stdout went away (the run is cancelled). Bad invocations exit 2 before a run starts (see
``cli``), and so does an image given with ``-i`` that cannot be attached.

``--input-format stream-json`` reads commands as JSON lines on stdin instead
(``stream_input``, ``stream_driver``): user messages, steers, follow-ups and Claude Code's
control requests, with the permission questions asked of the program that writes them;
the output is every event of every run, and the program ends when stdin has closed and
the last run has ended (or at once after a signal or stdout closing, once the run is
cancelled). The exit code covers every run: the last one's end, and a refusal in any.

Each refusal is named, as the events tell it (``Refusals``): json adds Claude Code's
``permission_denials`` (``tool_name``, ``tool_use_id``, ``tool_input``, plus
``parent_tool_use_id`` and ``reason``) to the final event, and ``prompt_denial`` when the
prompt was blocked; text prints ``denied: Tool(what): why`` on stderr for each; in
stream-json the ``TOOL_CALL_FAILED`` events of kind ``denied`` carry the reason in
``details.reason`` (the stream still ends with the run's last event).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Sequence
from contextlib import aclosing
from typing import IO, Any, Literal

import anyio
from anyio.abc import TaskGroup

from harness_tui.core.errors import HarnessError
from harness_tui.core.events import (
    RUN_END_TYPES,
    BudgetExceeded,
    Error,
    Event,
    HookDenied,
    Notice,
    Retrying,
    RunCancelled,
    RunCompleted,
    ToolCallCompleted,
    ToolCallFailed,
    ToolCallStarted,
)
from harness_tui.core.processes import exit_guard
from harness_tui.core.run.budget import BUDGET_STOP_REASONS
from harness_tui.core.session.session import Session

OutputFormat = Literal["text", "json", "stream-json"]

EXIT_OK, EXIT_ERROR, EXIT_BAD_INPUT, EXIT_DENIED, EXIT_BUDGET = 0, 1, 2, 3, 4
EXIT_CANCELLED, EXIT_OUTPUT_GONE = 130, 141


async def run_headless(
    session: Session,
    prompt: str,
    output_format: OutputFormat = "text",
    out: IO[str] | None = None,
    err: IO[str] | None = None,
    *,
    images: Sequence[str] = (),
    stream_input: IO[str] | None = None,
) -> int:
    """Run ``prompt`` with the image files ``images`` in a new (not yet entered)
    session, print, return the exit code. With ``stream_input``, the prompts are its
    lines instead (``stream_input``)."""
    out = out or sys.stdout
    err = err or sys.stderr
    printer = _Printer(output_format, out, err)
    sub = session.store.subscribe("headless", queue_size=10_000)
    session.front_end = "print"
    async with session, anyio.create_task_group() as group:
        signalled = anyio.Event()

        def remote_close() -> None:  # ``close`` from the agent view: as Ctrl+C does
            signalled.set()
            group.start_soon(session.cancel)

        session.remote_close = remote_close  # type: ignore[attr-defined]
        group.start_soon(_cancel_on_interrupt, session, signalled)
        group.start_soon(_cancel_when_output_closes, session, printer)
        try:
            blocks = [await session.attach_image_file(path) for path in images]
        except HarnessError as exc:  # ImageError: names the file and the reason
            err.write(f"harness-tui: {exc.message}{f' ({exc.hint})' if exc.hint else ''}\n")
            group.cancel_scope.cancel()
            return EXIT_BAD_INPUT
        if stream_input is not None:
            await _input_runs(session, stream_input, printer, sub, signalled)
            # stdin closed before any run: nothing was asked, nothing failed
            printer.idle_ok = not signalled.is_set()
        else:
            await _one_run(session, await session.submit(prompt, blocks), printer, sub, group)
        exit_guard.begin_shutdown("closing the session", printer.exit_code)
        group.cancel_scope.cancel()
    printer.finish()
    return printer.exit_code


async def _one_run(
    session: Session, run_id: str, printer: _Printer, sub: Any, group: TaskGroup
) -> None:
    async with aclosing(session.store.stream(sub)) as events:
        async for event in events:
            if not printer.show(event):  # type: ignore[arg-type]
                # Nobody reads the answer any more (`| head`): stop spending tokens.
                # In a task of its own, as this loop must keep draining meanwhile.
                group.start_soon(session.cancel)
            if event.type in RUN_END_TYPES and event.run_id == run_id:  # type: ignore[union-attr]
                break


async def _input_runs(
    session: Session, lines: IO[str], printer: _Printer, sub: Any, signalled: anyio.Event
) -> None:
    """Commands from ``lines`` (``stream_driver``) until they end and the last run has
    ended, or a signal came; the output is every event, with the control protocol's
    lines among them."""
    from harness_tui.stream_driver import StreamDriver

    async with aclosing(session.store.stream(sub)) as events:
        await StreamDriver(session, lines, printer).run(events, signalled)  # type: ignore[arg-type]


async def _cancel_on_interrupt(session: Session, signalled: anyio.Event) -> None:
    # Ctrl+C, `kill`, or the terminal closing: cancel, so tool processes end with the run
    # (a second Ctrl+C or `kill` exits at once; see exit_guard).
    async with exit_guard.signal_receiver() as signals:
        async for _ in signals:
            signalled.set()  # commands on stdin: no more are read
            await session.cancel()


async def _cancel_when_output_closes(session: Session, printer: _Printer) -> None:
    # `| head` has what it wanted: stop now, not at the next write (a tool may run long).
    await exit_guard.output_closed(printer.out)
    printer.output_gone = True
    _silence(printer.out)
    await session.cancel()


class _Printer:
    def __init__(self, output_format: OutputFormat, out: IO[str], err: IO[str]) -> None:
        self.format = output_format
        self.out = out
        self.err = err
        self.final: RunCompleted | RunCancelled | None = None
        self.refusals = Refusals()
        self.output_gone = False
        #: No run at all is a success (commands on stdin that never started one).
        self.idle_ok = False

    def show(self, event: Event) -> bool:
        """Print what this format shows of the event; False once stdout is gone."""
        return self._guarded(self._show, event)

    def control(self, record: dict[str, Any]) -> bool:
        """Print a line of the stream-json control protocol; False once stdout is gone."""
        return self._guarded(self._control, record)

    def _guarded(self, write: Callable[[Any], None], what: Any) -> bool:
        try:
            write(what)
        except BrokenPipeError:
            if not self.output_gone:
                self.output_gone = True
                _silence(self.out)
        return not self.output_gone

    def _control(self, record: dict[str, Any]) -> None:
        if not self.output_gone:
            self.out.write(json.dumps(record, ensure_ascii=False) + "\n")
            self.out.flush()

    def _show(self, event: Event) -> None:
        denial = self.refusals.see(event)
        if isinstance(event, RunCompleted | RunCancelled):
            self.final = event
        if self.format == "stream-json" and not self.output_gone:
            self.out.write(event.model_dump_json() + "\n")
            self.out.flush()
        elif isinstance(event, Notice):
            self.err.write(f"harness-tui: {event.message}\n")
        elif denial is not None:
            call = call_text(denial["tool_name"], denial["tool_input"])
            self.err.write(f"harness-tui: denied: {call}: {_one_line(denial['reason'])}\n")
        elif isinstance(event, HookDenied) and event.hook_event != "PreToolUse":
            # (a PreToolUse block is said by the denied call's own line)
            self.err.write(f"harness-tui: {event.hook_event} hook blocked: {event.reason}\n")
        elif isinstance(event, BudgetExceeded):
            nested = "a sub-agent " if event.parent_tool_call_id else ""
            self.err.write(f"harness-tui: {nested}{event.message}\n")
        elif isinstance(event, Error):
            hint = f" ({event.hint})" if event.hint else ""
            self.err.write(f"harness-tui: error: {event.message}{hint}\n")
        elif isinstance(event, Retrying):
            self.err.write(
                f"harness-tui: retrying ({event.reason}), "
                f"attempt {event.attempt} of {event.max_attempts}\n"
            )

    def finish(self) -> None:
        try:
            self._finish()
        except BrokenPipeError:
            self.output_gone = True
            _silence(self.out)

    def _finish(self) -> None:
        final = self.final
        if final is None or self.format == "stream-json" or self.output_gone:
            return
        if self.format == "json":
            data = final.model_dump(mode="json")
            data["permission_denials"] = self.refusals.denials
            if self.refusals.prompt is not None:
                data["prompt_denial"] = self.refusals.prompt
            self.out.write(json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n")
        elif isinstance(final, RunCancelled):
            self.err.write("harness-tui: cancelled\n")
        elif final.result:
            self.out.write(final.result if final.result.endswith("\n") else final.result + "\n")
        self.out.flush()

    @property
    def exit_code(self) -> int:
        if self.output_gone:
            return EXIT_OUTPUT_GONE
        final = self.final
        if final is None and self.idle_ok:
            return EXIT_OK
        if not isinstance(final, RunCompleted):
            return EXIT_CANCELLED
        if final.is_error:
            return EXIT_ERROR
        if final.stop_reason in BUDGET_STOP_REASONS:
            return EXIT_BUDGET
        if self.refusals:
            return EXIT_DENIED
        return EXIT_OK


class Refusals:
    """What a run refused, from its events: each tool call that failed as ``denied``
    (whatever denied it: the executor's gate runs hooks, rules, the mode and the
    question, and the gate of a sub-agent is its parent's), and a prompt blocked by a
    ``UserPromptSubmit`` hook. Other hooks' blocks are no refusals (a ``Stop`` block asks
    for more work, a ``PostToolUse`` block is feedback on a call that ran)."""

    def __init__(self) -> None:
        self._inputs: dict[str, dict[str, Any]] = {}
        #: Claude Code's ``permission_denials`` entries, plus the reason.
        self.denials: list[dict[str, Any]] = []
        self.prompt: dict[str, Any] | None = None

    def __bool__(self) -> bool:
        return bool(self.denials) or self.prompt is not None

    def see(self, event: Event) -> dict[str, Any] | None:
        """Take note of ``event``; the denial it reports, if it reports one."""
        if isinstance(event, ToolCallStarted):
            self._inputs[event.tool_call_id] = event.input
        elif isinstance(event, ToolCallCompleted):
            self._inputs.pop(event.tool_call_id, None)
        elif isinstance(event, ToolCallFailed):
            tool_input = self._inputs.pop(event.tool_call_id, {})
            if event.kind == "denied":
                denial = {
                    "tool_name": event.tool_name,
                    "tool_use_id": event.tool_call_id,
                    "tool_input": tool_input,
                    "parent_tool_use_id": event.parent_tool_call_id,
                    "reason": str(event.details.get("reason") or event.error),
                }
                self.denials.append(denial)
                return denial
        elif isinstance(event, HookDenied) and event.hook_event == "UserPromptSubmit":
            self.prompt = {"hook": event.hook, "reason": event.reason}
        return None


#: The input field that says best what a call does, in the order looked for.
_SHOWN_FIELDS = ("command", "file_path", "notebook_path", "path", "pattern", "url", "query")


def call_text(tool_name: str, tool_input: dict[str, Any], width: int = 100) -> str:
    """``Bash(rm -rf build)``: a call as one short line."""
    shown = next((v for k in _SHOWN_FIELDS if isinstance(v := tool_input.get(k), str) and v), None)
    if shown is None:
        shown = json.dumps(tool_input, ensure_ascii=False) if tool_input else ""
    shown = _one_line(shown)
    if len(shown) > width:
        shown = shown[: width - 1] + "…"
    return f"{tool_name}({shown})"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _silence(stream: IO[str]) -> None:
    """Point a broken stdout at /dev/null, so that flushing it at exit stays quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
    except (OSError, ValueError):
        pass
