"""Task-augmented tool calls (MCP 2025-11-25 "tasks") and which tools we can call.

A tool whose ``execution.taskSupport`` is ``"required"`` must be called as a task: the
``tools/call`` carries a ``task`` field and the server answers at once with a task
(``CreateTaskResult``); we poll ``tasks/get`` (at the server's ``pollInterval``), showing
each status message on the tool card, and fetch the tool's result with ``tasks/result``
once the task ends (or when it needs input: ``tasks/result`` is the stream on which the
server then sends its elicitation or sampling requests, and it blocks until the task
ends). A run cancelled meanwhile sends ``tasks/cancel``. Tools with optional task
support are called normally.

The SDK (mcp 2.3.0) has the task types but no client calls for them: its ``send_request``
checks a ``tools/call`` result against ``CallToolResult``, which a ``CreateTaskResult`` is
not. So the first request goes through the session's dispatcher directly
(``_send_task_call``); ``tasks/get``, ``tasks/result`` and ``tasks/cancel`` use
``send_request``, which lets methods it does not know through unchecked.

A tool needing a protocol feature we lack is not offered to the model
(``unsupported_reason``); ``/mcp`` lists it with the reason.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import anyio

log = logging.getLogger(__name__)

#: Seconds between polls when the server suggests none, and the bounds we hold a
#: suggestion to (a zero would spin; a very long one would leave a finished task idle).
DEFAULT_POLL_S = 1.0
MIN_POLL_S = 0.05
MAX_POLL_S = 30.0
#: How long a cancelled run waits for the server to take its ``tasks/cancel``.
CANCEL_TIMEOUT_S = 2.0
TERMINAL = ("completed", "failed", "cancelled")
_STATUS_TEXT = {"working": "working", "input_required": "waiting for input"}

Report = Callable[[str], Awaitable[None]]


def task_support(spec: Any) -> str:
    """``"forbidden"`` (also when absent), ``"optional"`` or ``"required"``."""
    execution = getattr(spec, "execution", None)
    return getattr(execution, "task_support", None) or "forbidden"


def server_takes_task_calls(capabilities: Any) -> bool:
    """The server declares ``tasks.requests.tools.call`` (clients must not send task
    calls otherwise)."""
    tasks = getattr(capabilities, "tasks", None)
    requests = getattr(tasks, "requests", None)
    tools = getattr(requests, "tools", None)
    return getattr(tools, "call", None) is not None


def unsupported_reason(spec: Any, capabilities: Any, server: str) -> str | None:
    """Why harness-tui cannot call this tool of ``server``, or None when it can."""
    if task_support(spec) == "required" and not server_takes_task_calls(capabilities):
        return (
            "it must be called as a task (execution.taskSupport: required), but MCP server "
            f"{server} does not declare task-augmented tool calls (capabilities.tasks."
            "requests.tools.call); the server's maintainers need to declare them"
        )
    return None


def uses_tasks(spec: Any) -> bool:
    """Call this tool as a task (only those that require it: optional ones run
    normally)."""
    return task_support(spec) == "required"


async def call_as_task(
    client: Any,
    tool: str,
    arguments: dict[str, Any],
    report: Report,
    progress_token: str | None = None,
) -> Any:
    """Call ``tool`` as a task and return its ``CallToolResult``; ``report`` gets each
    new status text. The server may send progress with ``progress_token`` for as long
    as the task lives (the caller routes it). Raises ``MCPError`` as a plain call
    would."""
    from mcp import types

    raw = await _send_task_call(client, tool, arguments, progress_token)
    if "task" not in raw:  # a server may run the call normally all the same
        return types.CallToolResult.model_validate(raw, by_name=False)
    task = _TaskCall(client, types.CreateTaskResult.model_validate(raw, by_name=False).task)
    try:
        result = await task.follow(report)
        if not result.is_error:  # as the SDK's call_tool checks a plain call's result
            await client.session.validate_tool_result(tool, result)
        return result
    finally:
        if not task.ended:  # cancelled, or the polling failed: do not leave it running
            with anyio.CancelScope(shield=True), anyio.move_on_after(CANCEL_TIMEOUT_S):
                await _cancel(client, task.task_id)


async def _send_task_call(
    client: Any, tool: str, arguments: dict[str, Any], progress_token: str | None
) -> dict[str, Any]:
    session = client.session
    params: dict[str, Any] = {"name": tool, "arguments": arguments, "task": {}}
    if progress_token is not None:
        params["_meta"] = {"progressToken": progress_token}
    data: dict[str, Any] = {"method": "tools/call", "params": params}
    opts: dict[str, Any] = {}
    try:
        stamp = session._stamp
        dispatcher = session._dispatcher
    except AttributeError:  # pragma: no cover - a later SDK moved them
        raise RuntimeError(
            "this version of the mcp SDK cannot make task calls (harness-tui uses mcp "
            "2.3.0's ClientSession internals for them); install mcp 2.3.x"
        ) from None
    stamp(data, opts)
    raw: dict[str, Any] = await dispatcher.send_raw_request("tools/call", data["params"], opts)
    return raw


class _TaskCall:
    """One task on the server, followed to its end."""

    def __init__(self, client: Any, task: Any) -> None:
        self.client = client
        self.task = task
        self.task_id: str = task.task_id
        self.shown: str | None = None
        self.fetched = False

    @property
    def ended(self) -> bool:
        return self.fetched or self.task.status in TERMINAL

    async def update(self, report: Report) -> None:
        self.task = await _get(self.client, self.task_id)
        await self.show(report)

    async def show(self, report: Report) -> None:
        task = self.task
        text = task.status_message or _STATUS_TEXT.get(task.status, task.status)
        if text != self.shown:
            self.shown = text
            await report(text)

    async def follow(self, report: Report) -> Any:
        await self.show(report)
        while self.task.status == "working":
            await anyio.sleep(_interval(self.task))
            await self.update(report)
        if self.ended:
            return await _result(self.client, self.task_id)
        # input_required: the server sends its requests on the tasks/result stream,
        # which blocks until the task ends; the status is still polled for the card.
        async with anyio.create_task_group() as group:
            group.start_soon(self._keep_showing, report)
            result = await _result(self.client, self.task_id)
            self.fetched = True
            group.cancel_scope.cancel()
        return result

    async def _keep_showing(self, report: Report) -> None:
        try:
            while not self.ended:
                await anyio.sleep(_interval(self.task))
                await self.update(report)
        except Exception as exc:  # the result is what matters; stop showing
            log.debug("polling task %s failed: %s", self.task_id, exc)


def _interval(task: Any) -> float:
    suggested = task.poll_interval
    if suggested is None:
        return DEFAULT_POLL_S
    return min(MAX_POLL_S, max(MIN_POLL_S, suggested / 1000))


async def _get(client: Any, task_id: str) -> Any:
    from mcp import types

    return await client.session.send_request(
        types.GetTaskRequest(params=types.GetTaskRequestParams(task_id=task_id)),
        types.GetTaskResult,
    )


async def _result(client: Any, task_id: str) -> Any:
    from mcp import types

    return await client.session.send_request(
        types.GetTaskPayloadRequest(params=types.GetTaskPayloadRequestParams(task_id=task_id)),
        types.CallToolResult,
    )


async def _cancel(client: Any, task_id: str) -> None:
    from mcp import types

    try:
        await client.session.send_request(
            types.CancelTaskRequest(params=types.CancelTaskRequestParams(task_id=task_id)),
            types.CancelTaskResult,
        )
    except Exception as exc:  # ended already, or the server is gone: nothing to stop
        log.debug("tasks/cancel of %s failed: %s", task_id, exc)
