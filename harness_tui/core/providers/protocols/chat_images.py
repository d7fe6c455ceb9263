"""Images in OpenAI-compatible chat completions, where a ``tool`` message holds text
only: the pictures tools returned follow their results in a user message."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from harness_tui.core.messages import ImageData, Message, ToolResultMessage
from harness_tui.core.providers.protocols.history import tool_images


def with_tool_images(
    messages: Sequence[Message],
    wire: list[dict[str, Any] | None],
    images: Mapping[str, ImageData],
) -> list[dict[str, Any]]:
    """The wire messages with the images of tool results added: a ``tool`` message holds
    only text, so after each run of tool messages comes a user message that shows the
    images they returned (the chat-completions way to show a tool's picture)."""
    out: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    for message, rendered in zip(messages, wire, strict=True):
        if rendered is None:
            continue
        if parts and rendered["role"] != "tool":
            out.append({"role": "user", "content": parts})
            parts = []
        out.append(rendered)
        if isinstance(message, ToolResultMessage) and message.images:
            count = len(message.images)
            parts.append(
                {
                    "type": "text",
                    "text": f"The {message.tool_name} call {rendered['tool_call_id']} "
                    f"returned {count} image{'s' if count != 1 else ''}:",
                }
            )
            parts += [
                {
                    "type": "image_url",
                    "image_url": {"url": f"data:{image.media_type};base64,{image.data}"},
                }
                for image in tool_images(message, images)
            ]
    if parts:
        out.append({"role": "user", "content": parts})
    return out
