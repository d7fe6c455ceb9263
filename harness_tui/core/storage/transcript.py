"""Events that show a restored conversation in a view.

A resumed or forked session starts with messages that no live event showed. Views show
events, so the branch is turned back into the events a run would have produced: the
prompt, the streamed text and thinking, each tool call and its result. They are not
appended to any store (their ``seq`` stays 0); they only feed a view.
"""

from __future__ import annotations

from collections.abc import Sequence

from harness_tui.core.events import (
    Event,
    MessageCompleted,
    Notice,
    PromptReceived,
    SteeringDelivered,
    ThinkingDelta,
    TokenDelta,
    ToolCallStarted,
)
from harness_tui.core.messages import AssistantMessage, TextBlock, ThinkingBlock, UserMessage
from harness_tui.core.run.loop import CANCELLED_RESULT
from harness_tui.core.storage.records import CompactionEntry, Entry, MessageEntry
from harness_tui.core.tools.base import CallTiming, ToolResult

#: A restored view shows at most this many entries; the file keeps them all.
MAX_SHOWN = 200


def transcript_events(
    session_id: str, path: Sequence[Entry], limit: int = MAX_SHOWN
) -> list[Event]:
    """Display events for the entries of a branch (root first); only the newest
    ``limit`` entries are shown, with a note about the rest."""
    events: list[Event] = []
    hidden = len(path) - limit
    if hidden > 0:
        events.append(
            Notice(
                session_id=session_id,
                message=f"… {hidden} earlier entries of this conversation are not shown "
                "(/export writes all of it)",
            )
        )
        path = path[hidden:]
    for entry in path:
        if isinstance(entry, CompactionEntry):
            events.append(
                Notice(
                    session_id=session_id,
                    message=f"⋯ Conversation compacted ({entry.tokens_before:,} → "
                    f"{entry.tokens_after:,} tokens). Summary:\n{entry.summary}",
                )
            )
        else:
            events.extend(_message_events(session_id, entry))
    return events


def _message_events(session_id: str, entry: MessageEntry) -> list[Event]:
    message = entry.message
    if isinstance(message, UserMessage):
        if message.source == "steering":
            return [
                SteeringDelivered(
                    session_id=session_id,
                    steering_id="",
                    text=message.typed,
                    kind="steer",
                    turn=0,
                    images=message.images,
                )
            ]
        return [
            PromptReceived(
                session_id=session_id,
                text=message.typed,
                source="follow_up" if message.source == "follow_up" else "user",
                images=message.images,
            )
        ]
    if isinstance(message, AssistantMessage):
        events: list[Event] = []
        for block in message.content:
            if isinstance(block, TextBlock):
                events.append(
                    TokenDelta(session_id=session_id, message_id=message.id, text=block.text)
                )
            elif isinstance(block, ThinkingBlock):
                events.append(
                    ThinkingDelta(session_id=session_id, message_id=message.id, text=block.text)
                )
        events.append(MessageCompleted(session_id=session_id, message=message, turn=0))
        events.extend(
            ToolCallStarted(
                session_id=session_id,
                tool_call_id=call.id,
                tool_name=call.name,
                input=call.input,
                message_id=message.id,
            )
            for call in message.tool_calls
        )
        return events
    # A restored result: what the model saw, as the views see a result (no run time).
    result = ToolResult(
        content=message.content,
        is_error=message.is_error,
        error_kind="cancelled" if message.content == CANCELLED_RESULT else "tool_error",
    )
    kind, fields = result.to_event(message.tool_call_id, message.tool_name, CallTiming())
    return [kind(session_id=session_id, **fields)]
