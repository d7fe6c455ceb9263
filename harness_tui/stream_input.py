"""``-p --input-format stream-json``: user messages as JSON lines on stdin.

Each line is one message in Claude Code's stream-json input shape, read unchanged::

    {"type": "user", "message": {"role": "user", "content": "fix the test"}}
    {"type": "user", "message": {"role": "user", "content": [
        {"type": "text", "text": "what is wrong on this page?"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                     "data": "iVBORw0..."}}]}}

A message starts a run when the session is idle and waits for the active run's end
otherwise (a follow-up); the program ends when stdin closes and the last run has ended.
A line that is not such a message, or an image that cannot be attached, is reported on
stderr with its line number and skipped: nothing else of the input is lost.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from harness_tui.core.errors import HarnessError
from harness_tui.core.files.images import decode

#: Most images one message may carry.
MAX_IMAGES = 20


class InputLineError(HarnessError):
    """A line of stream-json input that is not a user message we can take."""


@dataclass(frozen=True)
class InputMessage:
    """A user message from one input line: its text and its images' bytes."""

    text: str
    images: list[tuple[bytes, str]] = field(default_factory=list)


def parse_line(line: str, number: int) -> InputMessage | None:
    """The user message on ``line`` (number ``number``, for messages); None for a blank
    line; ``InputLineError`` naming the line and the field when it is not one."""
    if not line.strip():
        return None
    where = f"stdin line {number}"
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise InputLineError(f"{where}: not JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(record, dict) or record.get("type") != "user":
        kind = record.get("type") if isinstance(record, dict) else type(record).__name__
        raise InputLineError(
            f"{where}: a {kind!r} record; only user messages are read",
            hint='send {"type": "user", "message": {"role": "user", "content": "..."}}',
        )
    message = record.get("message")
    content = message.get("content") if isinstance(message, dict) else None
    if isinstance(content, str):
        return InputMessage(content)
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
    return InputMessage("\n\n".join(texts), images)


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
