"""A session driven by another program: ``-p --input-format stream-json``.

The program writes commands on stdin (``stream_input`` reads them) and reads the
session's events on stdout, with the control lines of Claude Code's stream-json
control protocol among them (the names as claude-agent-sdk-python's
``src/claude_agent_sdk/_internal/query.py`` uses them):

- a user message starts a run when the session is idle; while a run is active it is a
  follow-up (Claude Code queues it too), or a steer when its ``type`` is ``steer``;
- a ``control_request`` (``interrupt``, ``set_model``, ``set_permission_mode``,
  ``initialize``) is answered with a ``control_response`` of the same ``request_id``:
  ``success`` with what it did, or ``error`` with why not;
- each permission question of the session goes to the program as a ``control_request``
  of subtype ``can_use_tool`` whose ``request_id`` is the question's; its
  ``control_response`` (``behavior`` ``allow`` or ``deny``) answers it. A question the
  run stops waiting for (a cancel) is withdrawn with a ``control_cancel_request``.

A line that is no such command is reported as an ``ERROR`` event (code ``input_line``)
naming the line and the field, and on stderr; the lines after it are read as usual. The
session ends when stdin has closed, every run has ended and nothing is queued; or, once
stdout has closed or a signal came, when the run that cancels has ended. From the close
of stdin on, questions are refused (nobody is left to answer them).

Only permission questions are the program's to answer: the folder's trust is given with
``--trust`` as in the other ``-p`` modes, and MCP servers' sampling and form
(elicitation) questions are declined at once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import IO, Any, Protocol

import anyio

from harness_tui.core.errors import HarnessError
from harness_tui.core.events import (
    RUN_END_TYPES,
    Error,
    Event,
    PermissionRequested,
    PermissionResolved,
    PromptReceived,
    RunCancelled,
    SteeringDelivered,
    SteeringWithdrawn,
)
from harness_tui.core.session.session import Session
from harness_tui.stream_input import (
    ControlRequest,
    InputLineError,
    InputMessage,
    PermissionAnswer,
    input_lines,
    parse_line,
)

#: The reason a question gets once stdin has closed.
NOBODY_LEFT = "stdin closed: nobody is left to answer permission questions"


class Output(Protocol):
    """Where the driver writes: events and control lines on stdout, reports on stderr."""

    err: IO[str]

    def show(self, event: Event) -> bool: ...

    def control(self, record: dict[str, Any]) -> bool: ...


class StreamDriver:
    """Reads commands from ``lines`` into ``session`` and writes its events to ``out``
    until stdin has closed and the last run has ended."""

    def __init__(self, session: Session, lines: IO[str], out: Output) -> None:
        self.session, self.lines, self.out = session, lines, out
        #: Runs started and not ended, and messages queued and not yet delivered: the
        #: session is done only when both are empty (counted from the events, so the end
        #: is known without a timer).
        self._runs: set[str] = set()
        self._queued: set[str] = set()
        #: ``can_use_tool`` requests sent and not yet resolved.
        self._asked: set[str] = set()
        self._eof = self._ending = False
        self._stop = anyio.CancelScope()

    async def run(self, events: AsyncIterator[Event], signalled: anyio.Event | None = None) -> None:
        """Read stdin and show ``events`` (the session's, open) until the end; when
        ``signalled`` is set (Ctrl+C, ``kill``), stop reading and end once the run
        cancelled for it has ended."""
        # The program answers permission questions from now on. Not the others: the
        # session opened without asking about trust (a notice says how to trust the
        # folder, as in the other -p modes), and MCP servers' sampling and form
        # questions are declined at once, as there is no line to answer them with.
        self.session.permissions.policy = "ask"
        self.session.mcp.questions.can_ask = lambda: False
        with self._stop:
            async with anyio.create_task_group() as group:
                group.start_soon(self._read)
                if signalled is not None:
                    group.start_soon(self._end_when, signalled)
                async for event in events:
                    if not self.out.show(event) and not self._ending:
                        # Nobody reads any more: stop spending tokens, and end once the
                        # run has (stdin may stay open: the reader is not waited for).
                        self._ending = True
                        group.start_soon(self.session.cancel)
                    self._see(event)

    # --- events out ---------------------------------------------------------------------

    def _see(self, event: Event) -> None:
        if isinstance(event, PermissionRequested):
            if self.session.permissions.policy == "ask":
                self._asked.add(event.request_id)
                self.out.control(can_use_tool(event))
        elif isinstance(event, PermissionResolved):
            if event.request_id in self._asked and event.decision == "cancelled":
                # Claude Code's way to withdraw a request it no longer waits for.
                self.out.control({"type": "control_cancel_request", "request_id": event.request_id})
            self._asked.discard(event.request_id)
        elif isinstance(event, PromptReceived) and event.run_id is not None:
            self._runs.add(event.run_id)  # a run of its own for a queued message too
        elif isinstance(event, SteeringDelivered | SteeringWithdrawn):
            self._queued.discard(event.steering_id)
        elif event.type in RUN_END_TYPES:
            self._runs.discard(event.run_id)
            if isinstance(event, RunCancelled):
                # The queue went back before this event; a message the run had just
                # taken from it ended with the run.
                live = {item.id for item in self.session.steering.pending}
                self._queued &= live
        self._settle()

    async def _end_when(self, signalled: anyio.Event) -> None:
        await signalled.wait()
        self._ending = True
        self._settle()

    def _settle(self) -> None:
        if (self._eof or self._ending) and not self._runs and not self._queued:
            self._stop.cancel()

    # --- commands in --------------------------------------------------------------------

    async def _read(self) -> None:
        number = 0
        async for line in input_lines(self.lines):
            number += 1
            command = None
            try:
                command = parse_line(line, number)
                if command is not None:
                    await self._take(command)
            except InputLineError as exc:
                await self._bad(exc)
            except HarnessError as exc:  # the session refused it: an unknown model, ...
                where = f"stdin line {number}: {refused_field(command)}"
                request_id = command.request_id if isinstance(command, ControlRequest) else None
                await self._bad(
                    InputLineError(where + exc.message, hint=exc.hint, request_id=request_id)
                )
        self._eof = True
        self.session.permissions.policy = "deny"
        for request_id in self.session.permissions.pending_ids:
            await self.session.resolve_permission(request_id, "deny", NOBODY_LEFT)
        self._settle()

    async def _take(self, command: InputMessage | ControlRequest | PermissionAnswer) -> None:
        session = self.session
        if isinstance(command, InputMessage):
            blocks = [await session.attach_image(data, name) for data, name in command.images]
            send = session.steer if command.delivery == "steer" else session.follow_up
            item = await send(command.text, blocks)
            if item is None:  # it started a run (no await since, so it is the active one)
                if (run_id := session.runs.run_id) is not None:
                    self._runs.add(run_id)
            else:
                self._queued.add(item.id)
        elif isinstance(command, PermissionAnswer):
            self._asked.discard(command.request_id)
            await session.resolve_permission(command.request_id, command.decision, command.reason)
        else:
            answer = await self._control(command)
            self.out.control(success(command.request_id, answer))

    async def _control(self, request: ControlRequest) -> dict[str, Any]:
        session = self.session
        if request.subtype == "interrupt":
            withdrawn = await session.cancel()
            return {"withdrawn": [item.text for item in withdrawn]}
        if request.subtype == "set_model":
            choice = await session.set_model(request.fields["model"])
            return {"model": choice.name}
        if request.subtype == "set_permission_mode":
            await session.set_mode(request.fields["mode"])
            return {"mode": session.mode}
        # initialize: Claude Code's SDKs send it first and wait for its answer. Its
        # callbacks (hooks, in-process MCP servers) are not taken here.
        return {"session_id": session.id, "model": session.model.name, "mode": session.mode}

    async def _bad(self, exc: InputLineError) -> None:
        """Report a line that was not taken: stderr, an ``ERROR`` event, and the answer to
        the control request it was."""
        self.out.err.write(f"harness-tui: {exc}\n")
        self.out.err.flush()
        if exc.request_id is not None:
            self.out.control(failure(exc.request_id, str(exc)))
        await self.session.emit(Error, message=exc.message, code="input_line", hint=exc.hint)


def refused_field(command: object) -> str:
    """The field of ``command`` whose value the session refused, as a message's start."""
    if isinstance(command, ControlRequest):
        name = {"set_model": "model", "set_permission_mode": "mode"}.get(command.subtype)
        return f"request.{name}: " if name else f"request ({command.subtype}): "
    if isinstance(command, PermissionAnswer):
        return "response.request_id: "
    return "message.content: "


def can_use_tool(event: PermissionRequested) -> dict[str, Any]:
    """The question as Claude Code's ``can_use_tool`` control request (its field names,
    plus ``rule`` and ``preview``, ours)."""
    request: dict[str, Any] = {
        "subtype": "can_use_tool",
        "tool_name": event.tool_name,
        "input": event.input,
        "tool_use_id": event.tool_call_id,
        "decision_reason": event.reason,
    }
    if event.parent_tool_call_id is not None:  # asked inside a sub-agent
        request["agent_id"] = event.parent_tool_call_id
    request["rule"], request["preview"] = event.rule, event.preview
    return {"type": "control_request", "request_id": event.request_id, "request": request}


def success(request_id: str, response: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "control_response",
        "response": {"subtype": "success", "request_id": request_id, "response": response},
    }


def failure(request_id: str, error: str) -> dict[str, Any]:
    return {
        "type": "control_response",
        "response": {"subtype": "error", "request_id": request_id, "error": error},
    }
