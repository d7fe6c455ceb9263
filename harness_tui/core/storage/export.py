"""A saved session as Markdown (to read or share) or JSON (to process).

Markdown shows one branch of the conversation — the head's, from its first message,
compacted parts included — with thinking folded, tool calls and results in code
blocks, and attached images as links to their files in the session's folder. JSON holds
everything (images as the references the session file holds): the branch's messages,
every entry of every branch and every event.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

from harness_tui.core.images.store import ImageStore
from harness_tui.core.messages import (
    AssistantMessage,
    TextBlock,
    ThinkingBlock,
    ToolResultMessage,
    UserMessage,
)
from harness_tui.core.storage.records import ENTRY_TYPES, HEADER_TYPE, CompactionEntry
from harness_tui.core.storage.saved import SavedSession

EXPORT_FORMATS = ("markdown", "json")


def export_session(saved: SavedSession, fmt: str = "markdown") -> str:
    if fmt == "json":
        return export_json(saved)
    return export_markdown(saved)


def export_markdown(saved: SavedSession) -> str:
    path = saved.tree.path(saved.head)
    lines = [f"# {_one_line(saved.title) or 'Session ' + saved.session_id}", ""]
    lines += [
        f"- Session: `{saved.session_id}`",
        f"- Folder: `{saved.cwd}`",
        f"- Model: {saved.model or 'unknown'}",
    ]
    if saved.header is not None:
        lines.append(f"- Started: {_when(saved.header.created)}")
    usage = saved.total_usage
    lines.append(f"- Tokens: {usage.input_tokens:,} in, {usage.output_tokens:,} out")
    if saved.total_cost_usd is not None:
        lines.append(f"- Cost: ${saved.total_cost_usd:.4f}")
    branches = len(saved.tree.leaves())
    if branches > 1:
        lines.append(f"- Branches: {branches} (this is the current one; JSON has all)")
    lines.append("")
    for entry in path:
        if isinstance(entry, CompactionEntry):
            lines += [
                f"> **Context compacted** ({entry.tokens_before:,} → {entry.tokens_after:,} "
                "tokens). The model went on from this summary:",
                ">",
                *(f"> {line}" for line in entry.summary.splitlines()),
                "",
            ]
            continue
        lines += _message_markdown(entry.message, saved)
    return "\n".join(lines).rstrip() + "\n"


def _message_markdown(message: Any, saved: SavedSession) -> list[str]:
    if isinstance(message, UserMessage):
        title = {"steering": "You (steering)", "follow_up": "You (follow-up)"}.get(
            message.source, "You"
        )
        # Each image links to its file in the session's folder (kept once, by its hash).
        images = [
            f"![{image.label}]({ImageStore(saved.images_folder).path(image).as_uri()})"
            for image in message.images
        ]
        return [f"## {title}", "", message.text, *images, ""]
    if isinstance(message, ToolResultMessage):
        state = "error" if message.is_error else "result"
        return [f"**{message.tool_name} {state}:**", "", _fence(message.content), ""]
    assert isinstance(message, AssistantMessage)
    out = ["## Assistant" + (" (interrupted)" if message.interrupted else ""), ""]
    for block in message.content:
        if isinstance(block, TextBlock):
            out += [block.text, ""]
        elif isinstance(block, ThinkingBlock):
            out += ["<details><summary>Thinking</summary>", "", block.text, "", "</details>", ""]
        else:
            arguments = json.dumps(block.input, indent=2, ensure_ascii=False)
            out += [f"**Tool call** `{block.name}`:", "", _fence(arguments, "json"), ""]
    return out


def _fence(text: str, language: str = "") -> str:
    """A code block whose fence no run of backticks in ``text`` can close."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{text}\n{fence}"


def export_json(saved: SavedSession) -> str:
    read = saved.read
    records = read.records if read is not None else []
    data = {
        "format": 1,
        "session": {
            "id": saved.session_id,
            "cwd": saved.cwd,
            "title": saved.title,
            "model": saved.model,
            "mode": saved.mode,
            "created": saved.header.created if saved.header else None,
            "usage": saved.total_usage.model_dump(),
            "cost_usd": saved.total_cost_usd,
        },
        "head": saved.head,
        "context": [m.model_dump(mode="json") for m in saved.context().messages],
        "branch": [e.id for e in saved.tree.path(saved.head)],
        "entries": [r for r in records if r["type"] in ENTRY_TYPES],
        "events": [r for r in records if r["type"] not in ENTRY_TYPES and r["type"] != HEADER_TYPE],
        "skipped": [s.describe() for s in read.skipped] if read is not None else [],
        "repairs": list(read.repairs) if read is not None else [],
        "header_problem": read.header_problem if read is not None else None,
    }
    return json.dumps(data, ensure_ascii=False, indent=1) + "\n"


def _one_line(text: str, width: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _when(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(timestamp))
