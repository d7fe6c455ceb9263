"""``-p --input-format stream-json``: the lines a program sends on stdin, parsed.

A line is one JSON object. The user message is Claude Code's stream-json input shape,
read unchanged (its SDKs send it); control lines follow Claude Code's control protocol
(``control_request`` / ``control_response``, as claude-agent-sdk-python's
``src/claude_agent_sdk/_internal/query.py`` writes and reads them); ``steer`` and
``follow_up`` are ours, as Claude Code has no steering::

    {"type": "user", "message": {"role": "user", "content": "fix the test"}}
    {"type": "steer", "message": {"role": "user", "content": "use pytest, not unittest"}}
    {"type": "follow_up", "message": {"role": "user", "content": "then run it"}}
    {"type": "control_request", "request_id": "r1", "request": {"subtype": "interrupt"}}
    {"type": "control_request", "request_id": "r2",
     "request": {"subtype": "set_model", "model": "openai/gpt-5"}}
    {"type": "control_request", "request_id": "r3",
     "request": {"subtype": "set_permission_mode", "mode": "acceptEdits"}}
    {"type": "control_response", "response": {"subtype": "success", "request_id": "perm_1",
     "response": {"behavior": "allow"}}}

Message content is a string or a list of ``text`` and base64 ``image`` blocks. What the
session does with each is ``stream_driver``'s business; here a line becomes a command,
or an ``InputLineError`` that names the line and the field that is wrong.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import IO, Any, Literal

import anyio

from harness_tui.core.errors import HarnessError
from harness_tui.core.files.images import decode

#: Most images one message may carry.
MAX_IMAGES = 20

Delivery = Literal["follow_up", "steer"]

#: The kinds of line read, by their ``type``.
MESSAGE_TYPES: dict[str, Delivery] = {
    "user": "follow_up",
    "follow_up": "follow_up",
    "steer": "steer",
}
#: The ``control_request`` subtypes a client may send (Claude Code's names).
REQUEST_SUBTYPES = ("initialize", "interrupt", "set_model", "set_permission_mode")
#: What a ``can_use_tool`` answer may decide beyond Claude Code's allow/deny (ours).
ANSWER_DECISIONS = ("allow_once", "allow_session", "allow_always", "deny")


class InputLineError(HarnessError):
    """A line of stream-json input that is no command we can take. ``request_id``: the
    control request it was, when that much could be read (its answer is an error)."""

    def __init__(self, message: str, *, hint: str | None = None, request_id: str | None = None):
        super().__init__(message, hint=hint)
        self.request_id = request_id


@dataclass(frozen=True)
class InputMessage:
    """A user message from one input line: its text and its images' bytes, and when it
    goes in while a run is active (``follow_up``: after it; ``steer``: at its next turn
    boundary)."""

    text: str
    images: list[tuple[bytes, str]] = field(default_factory=list)
    delivery: Delivery = "follow_up"


@dataclass(frozen=True)
class ControlRequest:
    """A ``control_request`` from the client: ``subtype`` and its other fields."""

    request_id: str
    subtype: str
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PermissionAnswer:
    """A ``control_response`` to our ``can_use_tool`` request ``request_id``."""

    request_id: str
    decision: str
    reason: str | None = None


Command = InputMessage | ControlRequest | PermissionAnswer

#: Bytes read from a pipe at a time.
READ_SIZE = 1 << 16


async def input_lines(stream: IO[str]) -> AsyncIterator[str]:
    """The lines of ``stream`` as they arrive. A pipe or socket is read by the event
    loop itself: a thread blocked in ``readline`` would hold the program's exit until
    the writer closed it (after a signal, or once stdout has gone). Anything else (a
    file, a terminal, a test's ``StringIO``) is read in a worker thread."""
    try:
        fd = stream.fileno()
        pollable = stat.S_ISFIFO(mode := os.fstat(fd).st_mode) or stat.S_ISSOCK(mode)
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is both
        pollable = False
    if not pollable:
        while line := await anyio.to_thread.run_sync(stream.readline, abandon_on_cancel=True):
            yield line
        return
    pending = bytearray()
    while True:
        await anyio.wait_readable(fd)
        chunk = os.read(fd, READ_SIZE)
        if not chunk:
            break
        start = len(pending)
        pending += chunk
        while (end := pending.find(b"\n", start)) >= 0:
            yield pending[: end + 1].decode("utf-8", "replace")  # a bad byte: a bad line
            del pending[: end + 1]
            start = 0
    if pending:
        yield pending.decode("utf-8", "replace")


def parse_line(line: str, number: int) -> Command | None:
    """The command on ``line`` (number ``number``, for messages); None for a blank line;
    ``InputLineError`` naming the line and the field when it is not one."""
    if not line.strip():
        return None
    where = f"stdin line {number}"
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise InputLineError(f"{where}: not JSON ({exc.msg} at column {exc.colno})") from None
    kind = record.get("type") if isinstance(record, dict) else None
    if kind in MESSAGE_TYPES:
        return _message(record, where, MESSAGE_TYPES[kind])
    if kind == "control_request":
        return _control_request(record, where)
    if kind == "control_response":
        return _permission_answer(record, where)
    if not isinstance(record, dict):
        raise InputLineError(
            f"{where}: a line must be a JSON object, not a {type(record).__name__}"
        )
    raise InputLineError(
        f"{where}: type: a {kind!r} record is not read here",
        hint="send one of user, steer, follow_up, control_request, control_response; "
        "the README lists them under `-p --input-format stream-json`",
    )


def _message(record: dict[str, Any], where: str, delivery: Delivery) -> InputMessage:
    message = record.get("message")
    content = message.get("content") if isinstance(message, dict) else None
    if isinstance(content, str):
        return InputMessage(content, delivery=delivery)
    if not isinstance(content, list):
        raise InputLineError(f"{where}: message.content must be a string or a list of blocks")
    texts: list[str] = []
    images: list[tuple[bytes, str]] = []
    for index, block in enumerate(content):
        field_name = f"{where}: message.content[{index}]"
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "text" and isinstance(block.get("text"), str):
            texts.append(block["text"])
        elif kind == "image":
            images.append((_image_bytes(block, field_name), f"image {len(images) + 1}"))
        else:
            raise InputLineError(f"{field_name}: a text or image block was expected")
    if len(images) > MAX_IMAGES:
        raise InputLineError(f"{where}: {len(images)} images; at most {MAX_IMAGES} a message")
    return InputMessage("\n\n".join(texts), images, delivery)


def _image_bytes(block: dict[str, Any], where: str) -> bytes:
    source = block.get("source")
    if not isinstance(source, dict) or source.get("type") != "base64":
        raise InputLineError(f'{where}.source: must be {{"type": "base64", "data": ...}}')
    data = source.get("data")
    if not isinstance(data, str):
        raise InputLineError(f"{where}.source.data: must be base64 text")
    decoded = decode(data)
    if decoded is None:
        raise InputLineError(f"{where}.source.data: not valid base64")
    return decoded


def _control_request(record: dict[str, Any], where: str) -> ControlRequest:
    request_id = record.get("request_id")
    if not isinstance(request_id, str) or not request_id:
        raise InputLineError(
            f"{where}: request_id: a control_request needs one (a string), for its answer"
        )
    request = record.get("request")
    subtype = request.get("subtype") if isinstance(request, dict) else None
    if not isinstance(request, dict) or subtype not in REQUEST_SUBTYPES:
        raise InputLineError(
            f"{where}: request.subtype: {subtype!r} is not a request harness-tui takes",
            hint="use one of " + ", ".join(REQUEST_SUBTYPES),
            request_id=request_id,
        )
    fields = {k: v for k, v in request.items() if k != "subtype"}
    needed = {"set_model": "model", "set_permission_mode": "mode"}.get(subtype)
    if needed is not None and not (isinstance(fields.get(needed), str) and fields[needed]):
        raise InputLineError(
            f"{where}: request.{needed}: {subtype} needs a {needed} name (a string)",
            request_id=request_id,
        )
    return ControlRequest(request_id, subtype, fields)


def _permission_answer(record: dict[str, Any], where: str) -> PermissionAnswer:
    response = record.get("response")
    if not isinstance(response, dict):
        raise InputLineError(f"{where}: response: must be an object")
    request_id = response.get("request_id")
    if not isinstance(request_id, str) or not request_id:
        raise InputLineError(
            f"{where}: response.request_id: the id of the can_use_tool request answered"
        )
    if response.get("subtype") == "error":  # the client failed to decide: a refusal
        error = response.get("error")
        return PermissionAnswer(request_id, "deny", f"the client failed to answer: {error}")
    if response.get("subtype") != "success":
        raise InputLineError(f"{where}: response.subtype: must be success or error")
    answer = response.get("response")
    if not isinstance(answer, dict):
        raise InputLineError(f"{where}: response.response: must be an object")
    behavior = answer.get("behavior")
    decision = answer.get("decision")  # ours: allow_session, allow_always
    if decision is not None:
        if decision not in ANSWER_DECISIONS:
            raise InputLineError(
                f"{where}: response.response.decision: {decision!r} is not a decision",
                hint="use one of " + ", ".join(ANSWER_DECISIONS),
            )
    elif behavior == "allow":
        decision = "allow_once"
    elif behavior == "deny":
        decision = "deny"
    else:
        raise InputLineError(f"{where}: response.response.behavior: must be allow or deny")
    message = answer.get("message")
    return PermissionAnswer(request_id, decision, message if isinstance(message, str) else None)
