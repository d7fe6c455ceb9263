"""MCP content as our tool results and prompt text.

Content blocks are read by their ``type`` (duck-typed), so this module does not import
the SDK. Text goes to the model as it is; an image or audio clip becomes a placeholder
naming its type and size (its bytes stay out of events), and an image also travels with
the result to models that can see it; a ``resource_link`` names the resource; an
embedded resource contributes its text.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterable
from typing import Any

from harness_tui.core.errors import HarnessError
from harness_tui.core.messages import ImageData
from harness_tui.core.tools.base import ToolResult

#: Structured content larger than this (as JSON) stays out of the result's details.
MAX_STRUCTURED_DETAIL = 10_000


def _size(b64: str) -> str:
    size = len(b64) * 3 // 4 - b64[-2:].count("=")
    return f"{size / 1024:.1f} KB" if size >= 1024 else f"{size} bytes"


def resource_text(contents: Any) -> str:
    """One resource's contents (text, or a note for binary data)."""
    uri = str(getattr(contents, "uri", ""))
    text = getattr(contents, "text", None)
    if text is not None:
        return text
    mime = getattr(contents, "mime_type", None) or "binary"
    return f"[{uri}: {mime}, {_size(getattr(contents, 'blob', '') or '')} of binary data]"


def block_text(block: Any) -> str:
    """One content block as text for the model."""
    kind = getattr(block, "type", None)
    if kind == "text":
        return block.text
    if kind in ("image", "audio"):
        return f"[{kind}: {block.mime_type}, {_size(block.data)}]"
    if kind == "resource_link":
        about = f" — {block.description}" if getattr(block, "description", None) else ""
        mime = f" ({block.mime_type})" if getattr(block, "mime_type", None) else ""
        return f"[resource link: {block.name} <{block.uri}>{mime}{about}]"
    if kind == "resource":
        resource = block.resource
        return f"[resource {resource.uri}]\n{resource_text(resource)}"
    return f"[{kind or 'unknown'} content]"


def blocks_text(blocks: Iterable[Any]) -> str:
    return "\n".join(block_text(b) for b in blocks)


def tool_result(result: Any, *, server: str, tool: str) -> ToolResult:
    """A ``CallToolResult`` as a ``ToolResult``; ``is_error`` results become tool errors
    the model reads."""
    blocks = list(getattr(result, "content", None) or [])
    structured = getattr(result, "structured_content", None)
    text = blocks_text(blocks)
    if not blocks and structured is not None:
        text = json.dumps(structured, ensure_ascii=False, indent=2)
    details: dict[str, Any] = {"server": server, "tool": tool}
    media = [
        {"type": b.type, "mime_type": b.mime_type, "size": _size(b.data)}
        for b in blocks
        if getattr(b, "type", None) in ("image", "audio")
    ]
    if media:
        details["media"] = media
    images = tuple(
        image
        for b in blocks
        if getattr(b, "type", None) == "image"
        and (image := ImageData.of(str(b.mime_type), str(b.data))) is not None
    )
    links = [str(b.uri) for b in blocks if getattr(b, "type", None) == "resource_link"]
    if links:
        details["resource_links"] = links
    if structured is not None:
        encoded = json.dumps(structured, ensure_ascii=False, default=str)
        if len(encoded) <= MAX_STRUCTURED_DETAIL:
            details["structured_content"] = structured
    is_error = bool(getattr(result, "is_error", False))
    if not text and is_error:
        text = f"{tool} on MCP server {server} reported an error (no details)"
    return ToolResult(text or "(no output)", details=details, is_error=is_error, images=images)


def prompt_text(result: Any) -> str:
    """A ``GetPromptResult`` as the text of one user message. Messages of several roles
    are labelled, so a scripted exchange stays readable."""
    messages = list(getattr(result, "messages", None) or [])
    roles = {m.role for m in messages}
    parts = []
    for message in messages:
        text = block_text(message.content)
        parts.append(text if roles == {"user"} else f"[{message.role}]\n{text}")
    return "\n\n".join(parts)


def prompt_arguments(declared: list[Any], text: str, command: str) -> dict[str, str]:
    """The arguments of prompt command ``/command`` from the text typed after it: a word
    each, the last one taking the rest; raises ``HarnessError`` naming missing ones."""
    try:
        words = shlex.split(text)
    except ValueError:
        words = text.split()
    values: dict[str, str] = {}
    for index, argument in enumerate(declared):
        if index >= len(words):
            break
        last = index == len(declared) - 1
        values[argument.name] = " ".join(words[index:]) if last else words[index]
    missing = [a.name for a in declared if a.required and a.name not in values]
    if missing:
        usage = " ".join(f"<{a.name}>" if a.required else f"[{a.name}]" for a in declared)
        raise HarnessError(
            f"/{command} needs {', '.join(missing)}", hint=f"usage: /{command} {usage}"
        )
    return values
