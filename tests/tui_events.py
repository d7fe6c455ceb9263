"""Canned events with fixed ids, times and durations, for stable TUI snapshots."""

from __future__ import annotations

import itertools
from typing import Any

from harness_tui.core import events as ev
from harness_tui.core.messages import AssistantMessage, TextBlock, TokenUsage, ToolCallBlock

SESSION = "ses_snapshot"
RUN = "run_snapshot"
_seq = itertools.count(1)


def make(cls: type[ev.Event], run: str | None = RUN, **fields: Any) -> ev.Event:
    seq = next(_seq)
    return cls(
        seq=seq,
        event_id=f"e{seq}",
        timestamp=1_795_000_000.0 + seq,
        session_id=SESSION,
        run_id=run,
        **fields,
    )


def welcome() -> list[ev.Event]:
    return [
        make(
            ev.SessionStarted,
            run=None,
            cwd="/home/dev/project",
            model="demo",
            permission_mode="default",
            version="0.1.0",
        ),
        make(
            ev.Notice,
            run=None,
            message="You are on the offline demo model: it plays a "
            "script and reads no key. To use a real model, set an API key, e.g. `export "
            "ANTHROPIC_API_KEY=...`, then run `harness-tui --model <provider>/<model>`.",
        ),
    ]


def prompt(text: str = "Refactor the parser and add tests") -> list[ev.Event]:
    return [make(ev.PromptReceived, text=text)]


def deltas(text: str, message_id: str = "msg_1", thinking: bool = False) -> list[ev.Event]:
    cls = ev.ThinkingDelta if thinking else ev.TokenDelta
    words = text.split(" ")
    return [
        make(cls, message_id=message_id, text=w + (" " if i < len(words) - 1 else ""))
        for i, w in enumerate(words)
    ]


def completed(
    message_id: str, text: str, calls: tuple[ToolCallBlock, ...] = (), interrupted: bool = False
) -> ev.Event:
    content: tuple[Any, ...] = ((TextBlock(text=text),) if text else ()) + calls
    return make(
        ev.MessageCompleted,
        turn=1,
        message=AssistantMessage(
            id=message_id,
            content=content,
            provider="scripted",
            model="demo",
            stop_reason="cancelled" if interrupted else "end_turn",
            interrupted=interrupted,
        ),
    )


def tool_started(call_id: str, name: str, **input: Any) -> ev.Event:
    return make(
        ev.ToolCallStarted, tool_call_id=call_id, tool_name=name, input=input, message_id="msg_1"
    )


def usage(input_tokens: int = 12_400, output_tokens: int = 860) -> ev.Event:
    u = TokenUsage(input_tokens=input_tokens, output_tokens=output_tokens)
    return make(
        ev.UsageUpdated,
        usage=u,
        total=u,
        cost_usd=0.051,
        total_cost_usd=0.051,
        context_tokens=input_tokens + output_tokens,
        context_window=200_000,
    )


def run_completed() -> ev.Event:
    return make(ev.RunCompleted, stop_reason="end_turn", turns=2, duration_ms=8200.0)


STREAMING_ANSWER = (
    "I'll split `parse()` into a tokenizer and a parser.\n\n"
    "## Plan\n\n1. Extract `tokenize()`\n2. Keep `parse()` small\n\n"
    "```python\ndef tokenize(text: str) -> list[str]:\n    return text.split()\n"
)

DIFF = (
    "--- a/parser.py\n+++ b/parser.py\n@@ -1,4 +1,6 @@\n"
    "-def parse(text):\n-    return text.split()\n"
    "+def tokenize(text: str) -> list[str]:\n+    return text.split()\n+\n"
    "+def parse(text: str) -> list[str]:\n+    return tokenize(text)\n"
)
