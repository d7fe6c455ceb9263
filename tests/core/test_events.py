# Over 500 lines as one unit: a sample and the key order of every event type, side by side.
"""Every event type is immutable and survives a JSON round trip exactly."""

from __future__ import annotations

import json
from typing import Any

import pydantic
import pytest

from harness_tui.core.events import EVENT_TYPES, Event, PlanEntry, StreamGap, parse_event
from harness_tui.core.messages import (
    AssistantMessage,
    TextBlock,
    ThinkingBlock,
    TokenUsage,
    ToolCallBlock,
)

USAGE = TokenUsage(input_tokens=120, output_tokens=30, cache_read_tokens=7, cache_write_tokens=2)
MESSAGE = AssistantMessage(
    id="msg_1",
    content=(
        ThinkingBlock(text="hmm", signature="sig=="),
        TextBlock(text="Hello **world** — ünïcode ✓\n"),
        ToolCallBlock(id="call_1", name="Glob", input={"pattern": "**/*.py", "n": [1, 2.5, None]}),
    ),
    provider="anthropic",
    model="claude-x",
    stop_reason="tool_use",
    usage=USAGE,
)
PLAN = (
    PlanEntry(content="a", status="completed", active_form="doing a"),
    PlanEntry(content="b", status="in_progress"),
)

#: Field values for each event type beyond the common ones; non-default where possible.
SAMPLES: dict[str, dict[str, Any]] = {
    "SESSION_STARTED": {
        "cwd": "/w",
        "model": "demo",
        "permission_mode": "plan",
        "source": "resume",
        "version": "0.1.0",
        "run_budget_usd": 0.5,
        "session_budget_usd": 5.0,
        "name": "login bug",
    },
    "SESSION_ENDED": {"reason": "quit"},
    "SESSION_RENAMED": {"name": "login bug", "previous_name": "first try"},
    "MEMORY_UPDATED": {
        "action": "add",
        "scope": "project",
        "entry_id": "3f2a9c1d",
        "text": "Use pnpm, not npm.",
        "by": "model",
        "tool_call_id": "call_1",
    },
    "MODEL_CHANGED": {
        "model": "openai/gpt-x",
        "provider": "openai_compat",
        "previous_model": "demo",
    },
    "MODE_CHANGED": {"mode": "acceptEdits", "previous_mode": "default"},
    "NOTICE": {"message": "set a key", "level": "warning"},
    "PROMPT_RECEIVED": {"text": "do it", "source": "follow_up"},
    "TOKEN_DELTA": {"message_id": "msg_1", "text": "Hel"},
    "THINKING_DELTA": {"message_id": "msg_1", "text": "hmm"},
    "MESSAGE_COMPLETED": {"message": MESSAGE, "turn": 2},
    "USAGE_UPDATED": {
        "usage": USAGE,
        "total": USAGE + USAGE,
        "cost_usd": 0.0123,
        "total_cost_usd": 0.5,
        "context_tokens": 159,
        "context_window": 200000,
    },
    "RETRYING": {
        "attempt": 2,
        "max_attempts": 5,
        "delay_s": 1.5,
        "reason": "overloaded",
        "status_code": 529,
    },
    "CONTEXT_COMPACTED": {
        "trigger": "auto",
        "tokens_before": 170000,
        "tokens_after": 9000,
        "summary": "so far",
    },
    "BRANCH_CHANGED": {"entry_id": "ent_2", "previous_entry_id": "ent_9", "messages": 4},
    "CHECKPOINT_CREATED": {
        "checkpoint_id": "cp_1",
        "kind": "tool",
        "entry_id": None,
        "tool_call_id": "call_1",
        "tool_name": "Bash",
        "files": (
            {
                "path": "src/a.py",
                "change": "modified",
                "before": {"sha256": "ab" * 32, "size": 10, "mode": 0o644, "not_kept": None},
                "after": {"sha256": "cd" * 32, "size": 12, "mode": 0o644, "not_kept": None},
                "by_hand": False,
            },
            {
                "path": "logo.png",
                "change": "created",
                "before": None,
                "after": {"sha256": None, "size": 900, "mode": 0o600, "not_kept": "binary"},
                "by_hand": True,
            },
        ),
        "bytes": 48,
    },
    "REWOUND": {
        "rewind_id": "rw_1",
        "checkpoint_id": "cp_0",
        "mode": "both",
        "files": (
            {
                "path": "new.txt",
                "change": "deleted",
                "before": {"sha256": "ef" * 32, "size": 3, "mode": 0o644, "not_kept": None},
                "after": None,
                "by_hand": False,
            },
        ),
        "skipped": ({"path": "logo.png", "reason": "not kept: binary"},),
        "entry_id": "ent_1",
        "previous_entry_id": "ent_7",
        "undoes": None,
        "prompt": "add a logo",
    },
    "TASK_STARTED": {
        "task_id": "task_1",
        "tool_call_id": "call_1",
        "command": "npm run dev",
        "description": "start the dev server",
        "output_path": "/data/sessions/s/tasks/task_1.log",
        "pgid": 4242,
        "sandboxed": True,
    },
    "TASK_ENDED": {
        "task_id": "task_1",
        "status": "stopped",
        "exit_code": None,
        "duration_ms": 1500.0,
        "tail": "ready on :3000",
    },
    "SANDBOX_BLOCKED": {
        "kind": "network",
        "target": "example.com:443",
        "tool_call_id": "call_1",
        "task_id": None,
        "reason": "not on the sandbox's network allow-list",
        "allowed": False,
    },
    "RUN_COMPLETED": {
        "stop_reason": "end_turn",
        "turns": 3,
        "duration_ms": 1234.5,
        "result": "done",
        "is_error": True,
        "error": "boom",
        "usage": USAGE,
        "cost_usd": 0.01,
    },
    "BUDGET_EXCEEDED": {
        "budget": "run_usd",
        "limit": 0.5,
        "used": 0.42,
        "next_estimate": 0.12,
        "message": "the run's budget of $0.50 would be passed by the next request",
    },
    "RUN_CANCELLED": {"turns": 1, "duration_ms": 12.0, "reason": "cancelled by user"},
    "ERROR": {"message": "overloaded", "code": "overloaded", "hint": "try later", "fatal": True},
    "PLAN_GENERATED": {"entries": PLAN, "tool_call_id": "call_1"},
    "PLAN_UPDATED": {"entries": PLAN[:1], "tool_call_id": None},
    "TOOL_CALL_STARTED": {
        "tool_call_id": "call_1",
        "tool_name": "Bash",
        "input": {"command": "ls -la", "nested": {"a": [True, False]}},
        "message_id": "msg_1",
    },
    "TOOL_CALL_PROGRESS": {
        "tool_call_id": "call_1",
        "output": "line\n",
        "progress": 3.0,
        "total": 10.0,
        "status": "copying",
    },
    "TOOL_CALL_COMPLETED": {
        "tool_call_id": "call_1",
        "tool_name": "Edit",
        "content": "ok",
        "display": "--- a\n+++ b\n",
        "display_format": "diff",
        "details": {"exit_code": 0},
        "duration_ms": 3.25,
    },
    "TOOL_CALL_FAILED": {
        "tool_call_id": "call_1",
        "tool_name": "Bash",
        "error": "timed out",
        "kind": "timeout",
        "display": "tail",
        "details": {"exit_code": -9},
        "duration_ms": 600000.0,
    },
    "DIAGNOSTICS": {
        "tool_call_id": "call_1",
        "files": [
            {
                "path": "src/a.py",
                "problems": [
                    {
                        "line": 4,
                        "column": 3,
                        "severity": "error",
                        "message": "Argument of type str cannot be assigned to int",
                        "code": "reportArgumentType",
                        "source": "basedpyright",
                        "text": "f('no')",
                        "preexisting": False,
                    }
                ],
            }
        ],
        "new": 1,
        "preexisting": 0,
        "duration_ms": 312.5,
    },
    "HOOK_EXECUTED": {
        "hook_event": "PostToolUse",
        "hook": "./check.sh",
        "matcher": "Edit|Write",
        "tool_call_id": "call_1",
        "decision": "allow",
        "exit_code": 0,
        "output": "{}",
        "error": None,
        "duration_ms": 20.0,
    },
    "HOOK_DENIED": {
        "hook_event": "PreToolUse",
        "hook": "./deny.sh",
        "matcher": "Bash",
        "tool_call_id": "call_1",
        "reason": "no rm -rf",
        "exit_code": 2,
        "output": "",
        "duration_ms": 5.0,
    },
    "PERMISSION_REQUESTED": {
        "request_id": "perm_1",
        "tool_call_id": "call_1",
        "tool_name": "Write",
        "input": {"file_path": "a.txt"},
        "reason": "writes a file",
        "rule": "Write(*)",
        "preview": "+a",
    },
    "PERMISSION_RESOLVED": {
        "request_id": "perm_1",
        "tool_call_id": "call_1",
        "decision": "deny",
        "reason": "not now",
    },
    "TRUST_REQUESTED": {"folder": "/w", "found": (".claude/settings.json",)},
    "TRUST_RESOLVED": {"folder": "/w", "trusted": True, "remembered": True},
    "STEERING_QUEUED": {"steering_id": "steer_1", "text": "use tabs", "kind": "steer"},
    "STEERING_DELIVERED": {
        "steering_id": "steer_1",
        "text": "use tabs",
        "kind": "follow_up",
        "turn": 4,
    },
    "STEERING_WITHDRAWN": {
        "steering_id": "steer_1",
        "text": "use tabs",
        "kind": "steer",
        "reason": "cancelled",
    },
    "SUBAGENT_STARTED": {
        "tool_call_id": "call_9",
        "agent_name": "reviewer",
        "description": "review",
        "model": "demo",
    },
    "SUBAGENT_COMPLETED": {
        "tool_call_id": "call_9",
        "agent_name": "reviewer",
        "status": "failed",
        "result": "no",
        "duration_ms": 99.0,
        "turns": 2,
        "usage": {"input_tokens": 10, "output_tokens": 3},
    },
    "MCP_SERVER_STATUS": {
        "server": "time",
        "status": "crashed",
        "transport": "stdio",
        "target": "mcp-server-time (stdio)",
        "source": "/w/.mcp.json",
        "tools": 2,
        "resources": 1,
        "prompts": 3,
        "error": "the server exited",
        "attempt": 2,
        "log_path": "/d/mcp-logs/time.log",
    },
    "MCP_SERVER_LOG": {"server": "time", "level": "warning", "message": "slow", "logger": "tz"},
    "SAMPLING_REQUESTED": {
        "request_id": "smp_1",
        "server": "notes",
        "messages": ({"role": "user", "text": "summarise"},),
        "system_prompt": "be brief",
        "max_tokens": 200,
        "model": "demo",
    },
    "SAMPLING_RESOLVED": {
        "request_id": "smp_1",
        "server": "notes",
        "decision": "approved",
        "response": "short",
        "model": "demo",
        "reason": "ok",
    },
    "ELICITATION_REQUESTED": {
        "request_id": "eli_1",
        "server": "notes",
        "message": "Who are you?",
        "mode": "url",
        "requested_schema": {"type": "object", "properties": {"n": {"type": "string"}}},
        "url": "https://example.com/auth",
    },
    "ELICITATION_RESOLVED": {
        "request_id": "eli_1",
        "server": "notes",
        "action": "accept",
        "content": {"n": "Ada", "age": 3},
    },
}

COMMON = {
    "seq": 42,
    "event_id": "evt1",
    "timestamp": 1795350000.123456,
    "session_id": "ses_1",
    "run_id": "run_1",
    "parent_tool_call_id": "call_0",
}

SPEC_TYPES = {  # SPEC.md section 3
    "SESSION_STARTED",
    "SESSION_ENDED",
    "PROMPT_RECEIVED",
    "PLAN_GENERATED",
    "PLAN_UPDATED",
    "TOKEN_DELTA",
    "THINKING_DELTA",
    "TOOL_CALL_STARTED",
    "TOOL_CALL_PROGRESS",
    "TOOL_CALL_COMPLETED",
    "TOOL_CALL_FAILED",
    "HOOK_EXECUTED",
    "HOOK_DENIED",
    "PERMISSION_REQUESTED",
    "PERMISSION_RESOLVED",
    "STEERING_QUEUED",
    "STEERING_DELIVERED",
    "MODEL_CHANGED",
    "MODE_CHANGED",
    "USAGE_UPDATED",
    "RETRYING",
    "CONTEXT_COMPACTED",
    "SUBAGENT_STARTED",
    "SUBAGENT_COMPLETED",
    "MESSAGE_COMPLETED",
    "RUN_COMPLETED",
    "RUN_CANCELLED",
    "ERROR",
}


def sample(type_name: str) -> Event:
    return EVENT_TYPES[type_name](**COMMON, **SAMPLES[type_name])


def test_every_spec_type_exists_and_has_a_sample() -> None:
    assert SPEC_TYPES <= set(EVENT_TYPES)
    assert set(SAMPLES) == set(EVENT_TYPES)


@pytest.mark.parametrize("type_name", sorted(EVENT_TYPES))
def test_json_round_trip_is_exact(type_name: str) -> None:
    event = sample(type_name)
    text = event.model_dump_json()
    back = parse_event(text)
    assert type(back) is type(event)
    assert back == event
    assert back.model_dump_json() == text
    assert parse_event(json.loads(text)) == event  # from a decoded dict too


@pytest.mark.parametrize("type_name", sorted(EVENT_TYPES))
def test_events_are_frozen(type_name: str) -> None:
    event = sample(type_name)
    with pytest.raises(pydantic.ValidationError):
        event.seq = 7  # type: ignore[misc]


async def test_the_store_stamps_identity_fields() -> None:
    from harness_tui.core.event_store import EventStore

    a = EVENT_TYPES["TOKEN_DELTA"](session_id="s", message_id="m", text="x")
    assert (a.seq, a.event_id, a.timestamp, a.run_id) == (0, "", 0.0, None)
    store, other = EventStore(), EventStore()
    stamped = [
        await store.append(EVENT_TYPES["NOTICE"](session_id="s", message=str(i))) for i in range(3)
    ] + [await other.append(a)]
    assert [e.seq for e in stamped] == [1, 2, 3, 1]
    assert len({e.event_id for e in stamped}) == 4  # unique, also across stores
    assert all(e.timestamp > 1_700_000_000 for e in stamped)


def test_unknown_type_and_bad_fields_are_rejected() -> None:
    with pytest.raises(pydantic.ValidationError):
        parse_event('{"type": "NOT_AN_EVENT", "session_id": "s"}')
    with pytest.raises(pydantic.ValidationError, match="text"):
        parse_event('{"type": "TOKEN_DELTA", "session_id": "s", "message_id": "m"}')
    # A field from a newer version is ignored, not an error.
    newer = parse_event('{"type": "NOTICE", "session_id": "s", "message": "m", "colour": 1}')
    assert newer.message == "m" and "colour" not in newer.model_dump()


def test_stream_gap_is_not_a_log_event() -> None:
    gap = StreamGap(from_seq=5, to_seq=9)
    assert "STREAM_GAP" not in EVENT_TYPES
    assert StreamGap.model_validate_json(gap.model_dump_json()) == gap


#: What every event's JSON holds first, in this order.
EVENT_COMMON = (
    "type",
    "seq",
    "event_id",
    "timestamp",
    "session_id",
    "run_id",
    "parent_tool_call_id",
)
#: Each event's own fields, in the order its JSON writes them (after ``COMMON``).
EVENT_FIELDS: dict[str, tuple[str, ...]] = {
    "SESSION_STARTED": (
        "cwd",
        "model",
        "permission_mode",
        "source",
        "version",
        "run_budget_usd",
        "session_budget_usd",
        "name",
    ),
    "SESSION_ENDED": ("reason",),
    "SESSION_RENAMED": ("name", "previous_name"),
    "MEMORY_UPDATED": ("action", "scope", "entry_id", "text", "by", "tool_call_id"),
    "MODEL_CHANGED": ("model", "provider", "previous_model"),
    "MODE_CHANGED": ("mode", "previous_mode"),
    "NOTICE": ("message", "level"),
    "PROMPT_RECEIVED": ("text", "source", "images"),
    "TOKEN_DELTA": ("message_id", "text"),
    "THINKING_DELTA": ("message_id", "text"),
    "MESSAGE_COMPLETED": ("message", "turn"),
    "USAGE_UPDATED": (
        "usage",
        "total",
        "cost_usd",
        "total_cost_usd",
        "context_tokens",
        "context_window",
    ),
    "RETRYING": ("attempt", "max_attempts", "delay_s", "reason", "status_code"),
    "CONTEXT_COMPACTED": ("trigger", "tokens_before", "tokens_after", "summary"),
    "BRANCH_CHANGED": ("entry_id", "previous_entry_id", "messages"),
    "CHECKPOINT_CREATED": (
        "checkpoint_id",
        "kind",
        "entry_id",
        "tool_call_id",
        "tool_name",
        "files",
        "bytes",
    ),
    "REWOUND": (
        "rewind_id",
        "checkpoint_id",
        "mode",
        "files",
        "skipped",
        "entry_id",
        "previous_entry_id",
        "undoes",
        "prompt",
    ),
    "TASK_STARTED": (
        "task_id",
        "tool_call_id",
        "command",
        "description",
        "output_path",
        "pgid",
        "sandboxed",
    ),
    "TASK_ENDED": ("task_id", "status", "exit_code", "duration_ms", "tail"),
    "SANDBOX_BLOCKED": ("kind", "target", "tool_call_id", "task_id", "reason", "allowed"),
    "RUN_COMPLETED": (
        "stop_reason",
        "turns",
        "duration_ms",
        "result",
        "is_error",
        "error",
        "usage",
        "cost_usd",
    ),
    "BUDGET_EXCEEDED": ("budget", "limit", "used", "next_estimate", "message"),
    "RUN_CANCELLED": ("turns", "duration_ms", "reason"),
    "ERROR": ("message", "code", "hint", "fatal"),
    "PLAN_GENERATED": ("entries", "tool_call_id"),
    "PLAN_UPDATED": ("entries", "tool_call_id"),
    "TOOL_CALL_STARTED": ("tool_call_id", "tool_name", "input", "message_id"),
    "TOOL_CALL_PROGRESS": ("tool_call_id", "output", "progress", "total", "status"),
    "TOOL_CALL_COMPLETED": (
        "tool_call_id",
        "tool_name",
        "content",
        "display",
        "display_format",
        "details",
        "duration_ms",
        "permission_wait_ms",
    ),
    "TOOL_CALL_FAILED": (
        "tool_call_id",
        "tool_name",
        "error",
        "kind",
        "display",
        "details",
        "duration_ms",
        "permission_wait_ms",
    ),
    "DIAGNOSTICS": ("tool_call_id", "files", "new", "preexisting", "duration_ms"),
    "HOOK_EXECUTED": (
        "hook_event",
        "hook",
        "matcher",
        "tool_call_id",
        "decision",
        "exit_code",
        "output",
        "error",
        "duration_ms",
    ),
    "HOOK_DENIED": (
        "hook_event",
        "hook",
        "matcher",
        "tool_call_id",
        "reason",
        "exit_code",
        "output",
        "duration_ms",
    ),
    "PERMISSION_REQUESTED": (
        "request_id",
        "tool_call_id",
        "tool_name",
        "input",
        "reason",
        "rule",
        "preview",
    ),
    "PERMISSION_RESOLVED": ("request_id", "tool_call_id", "decision", "reason"),
    "TRUST_REQUESTED": ("folder", "found"),
    "TRUST_RESOLVED": ("folder", "trusted", "remembered"),
    "STEERING_QUEUED": ("steering_id", "text", "kind", "images"),
    "STEERING_DELIVERED": ("steering_id", "text", "kind", "turn", "images"),
    "STEERING_WITHDRAWN": ("steering_id", "text", "kind", "reason", "images"),
    "SUBAGENT_STARTED": ("tool_call_id", "agent_name", "description", "model"),
    "SUBAGENT_COMPLETED": (
        "tool_call_id",
        "agent_name",
        "status",
        "result",
        "duration_ms",
        "turns",
        "usage",
    ),
    "MCP_SERVER_STATUS": (
        "server",
        "status",
        "transport",
        "target",
        "source",
        "tools",
        "resources",
        "prompts",
        "error",
        "attempt",
        "log_path",
    ),
    "MCP_SERVER_LOG": ("server", "level", "message", "logger"),
    "SAMPLING_REQUESTED": (
        "request_id",
        "server",
        "messages",
        "system_prompt",
        "max_tokens",
        "model",
    ),
    "SAMPLING_RESOLVED": ("request_id", "server", "decision", "response", "model", "reason"),
    "ELICITATION_REQUESTED": ("request_id", "server", "message", "mode", "requested_schema", "url"),
    "ELICITATION_RESOLVED": ("request_id", "server", "action", "content"),
}


@pytest.mark.parametrize("type_name", sorted(EVENT_TYPES))
def test_every_events_json_keeps_its_keys_in_their_order(type_name: str) -> None:
    """Session files and the web feed hold these keys: how the event classes are built
    (shared bases) must not move, add or drop one."""
    keys = list(json.loads(sample(type_name).model_dump_json()))
    assert keys == [*EVENT_COMMON, *EVENT_FIELDS[type_name]]


def test_a_retry_notice_and_its_event_have_the_same_fields() -> None:
    """The loop's builder turns a ``RetryNotice`` into ``RETRYING`` field for field."""
    import dataclasses

    from harness_tui.core.events import Retrying
    from harness_tui.core.providers.base import RetryNotice

    notice = [f.name for f in dataclasses.fields(RetryNotice)]
    assert notice == list(Retrying.model_fields)[len(EVENT_COMMON) :]
