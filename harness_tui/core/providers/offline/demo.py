"""The offline demo model: a scripted provider that needs no key and no network.

For each prompt it thinks aloud, writes a plan, looks at the workspace with the
read-only ``Glob`` tool, and answers in Markdown about what it found and how to connect a
real model. It is what ``harness-tui`` runs on a machine with no API key, so the program
is never a dead end.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import PurePosixPath

from harness_tui.core.messages import AssistantMessage, ToolResultMessage, UserMessage
from harness_tui.core.providers.base import ModelRequest
from harness_tui.core.providers.offline.scripted import (
    Reply,
    ScriptedProvider,
    Text,
    Thinking,
    ToolCall,
    Usage,
)

KEY_HELP = (
    "To use a real model, set an API key, e.g. `export ANTHROPIC_API_KEY=...` "
    "(or OPENAI_API_KEY, DEEPSEEK_API_KEY, GEMINI_API_KEY, …): harness-tui then starts on "
    "that provider's default model; pick another with `--model <provider>/<model>`."
)

_PLAN_START = [
    {
        "content": "Look at the workspace",
        "status": "in_progress",
        "activeForm": "Looking at the workspace",
    },
    {"content": "Summarise what is there", "status": "pending", "activeForm": "Summarising"},
]
_PLAN_DONE = [dict(entry, status="completed") for entry in _PLAN_START]


def demo_provider(pace: float | None = None) -> ScriptedProvider:
    """The demo model. ``pace`` is the pause between streamed words (seconds);
    ``HARNESS_DEMO_PACE`` overrides the default."""
    if pace is None:
        pace = float(os.environ.get("HARNESS_DEMO_PACE", "0.012"))
    return ScriptedProvider(lambda request: _respond(request, pace), model="demo")


def _respond(request: ModelRequest, pace: float) -> Reply:
    messages = request.messages
    start = max(
        (
            i
            for i, m in enumerate(messages)
            if isinstance(m, UserMessage) and m.source != "steering"
        ),
        default=0,
    )
    first = messages[start]
    prompt = first.typed if isinstance(first, UserMessage) else ""
    stage = sum(isinstance(m, AssistantMessage) for m in messages[start:])
    last = messages[-1] if messages else None
    steer = last.text if isinstance(last, UserMessage) and last.source == "steering" else None
    usage = Usage(
        input_tokens=sum(len(_text(m)) for m in messages) // 4 + 400, output_tokens=60 + 40 * stage
    )
    ack = (
        (
            Text(
                f"You steered me with *{steer}* — the demo model can't follow it, but it "
                "reached me at the turn boundary, before this reply.\n\n"
            ),
        )
        if steer
        else ()
    )
    if stage == 0:
        return Reply(
            (
                Thinking(
                    f"The user wrote: {prompt[:200]!r}. I am the offline demo model, so I "
                    "will show what the harness does: make a plan, look at the workspace "
                    "with a read-only tool, then report."
                ),
                *ack,
                Text("I'm the **offline demo model**. Let me look around your workspace."),
                *_seen_images(first, request),
                ToolCall("TodoWrite", {"todos": _PLAN_START}),
                ToolCall("Glob", {"pattern": "**/*"}),
                usage,
            ),
            delay=pace,
        )
    if stage == 1:
        return Reply(
            (
                *ack,
                Text("Done looking. Marking the plan complete, then the summary."),
                ToolCall("TodoWrite", {"todos": _PLAN_DONE}),
                usage,
            ),
            delay=pace,
        )
    return Reply((*ack, Text(_summary(messages[start:])), usage), delay=pace)


def _seen_images(message: object, request: ModelRequest) -> tuple[Text, ...]:
    """What the demo says of the prompt's images: it cannot look at them, but it tells
    the size each was sent at (fitted to the limits it takes, Anthropic's)."""
    images = message.images if isinstance(message, UserMessage) else ()
    if not images:
        return ()
    import base64
    import io

    from PIL import Image

    lines = []
    for block in images:
        sent = request.images.get(block.sha256)
        if sent is None:
            lines.append(f"- {block.label}: not sent to me")
            continue
        with Image.open(io.BytesIO(base64.b64decode(sent.data))) as image:
            width, height = image.size
        lines.append(f"- {block.label}: reached me as {width}×{height} ({sent.media_type})")
    many = f"{len(images)} images (I can't look at them)"
    count = "1 image (I can't look at it)" if len(images) == 1 else many
    return (Text(f"\n\nYou attached {count}:\n" + "\n".join(lines) + "\n\n"),)


def _text(message: object) -> str:
    if isinstance(message, ToolResultMessage):
        return message.content
    return getattr(message, "text", "")


def _summary(messages: object) -> str:
    listing = next(
        (
            m.content
            for m in messages  # type: ignore[attr-defined]
            if isinstance(m, ToolResultMessage) and m.tool_name == "Glob"
        ),
        "",
    )
    paths = [
        line for line in listing.splitlines() if line and not line.startswith(("(", "No files"))
    ]
    kinds = Counter(PurePosixPath(p).suffix or "(none)" for p in paths)
    if paths:
        rows = "\n".join(f"| `{ext}` | {count} |" for ext, count in kinds.most_common(6))
        found = (
            f"I found **{len(paths)} files** (newest first: `{paths[0]}`).\n\n"
            f"| extension | files |\n|---|---|\n{rows}\n"
        )
    else:
        found = "This folder has no files yet.\n"
    return (
        "## What I found\n\n"
        f"{found}\n"
        "## What the harness just did\n\n"
        "- streamed my *thinking* and this text as events\n"
        "- kept a **plan** with `TodoWrite` (`PLAN_GENERATED`, then `PLAN_UPDATED`)\n"
        "- ran a read-only **tool call** (`Glob`) on your workspace\n\n"
        f"{KEY_HELP}\n"
    )
