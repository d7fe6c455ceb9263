"""Claude Code's whole hook vocabulary: every event harness-tui fires runs a command hook
and an http hook (a loopback server), and both get the input fields Claude Code's
schema names (``claude_code_inputs``); the events it cannot fire are accepted quietly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness_tui.core.errors import HarnessError
from harness_tui.core.hooks.catalog import EVENTS, FIRED_EVENTS, HOOK_EVENTS
from harness_tui.core.providers.offline.scripted import Fail, Text, ToolCall, reply
from harness_tui.core.session.session import Session
from tests.core.hooks.claude_code_inputs import DOCUMENTED_EVENTS, INPUT_FIELDS
from tests.core.hooks.hook_support import (
    FailTool,
    HookServer,
    both_hooks,
    check_both,
    write_settings,
)
from tests.fakes.loopback import JSONResponse
from tests.helpers import EchoTool, WriteLikeTool, run_to_end, scripted_in, types, wait_for

README = Path(__file__).parents[3] / "README.md"


def test_the_catalog_is_claude_codes_list_and_the_fixture_covers_what_fires() -> None:
    assert set(HOOK_EVENTS) == DOCUMENTED_EVENTS
    assert set(INPUT_FIELDS) == FIRED_EVENTS


def test_the_readme_table_says_which_events_fire() -> None:
    rows = {}
    for line in README.read_text().splitlines():
        cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0] in EVENTS:
            rows[cells[0]] = cells[1]
    assert set(rows) == set(HOOK_EVENTS)
    for name, status in rows.items():
        assert status == ("supported" if name in FIRED_EVENTS else "not applicable"), name


async def test_a_session_fires_each_event_with_claude_codes_input(tmp_path: Path) -> None:
    events = [
        "SessionStart",
        "UserPromptSubmit",
        "PreToolUse",
        "PostToolUse",
        "PostToolUseFailure",
        "PostToolBatch",
        "SubagentStart",
        "SubagentStop",
        "Stop",
        "PreCompact",
        "PostCompact",
        "StopFailure",
        "SessionEnd",
    ]
    with HookServer() as server:
        both_hooks(tmp_path, server.url, events)
        session, provider = scripted_in(
            tmp_path,
            [
                reply(ToolCall("Echo", {"text": "x"}, id="call_1"), ToolCall("Fail", {}, id="c2")),
                reply(
                    ToolCall(
                        "Task",
                        {
                            "description": "a job",
                            "prompt": "sub job",
                            "subagent_type": "general-purpose",
                        },
                        id="task_1",
                    )
                ),
                reply(Text("sub done")),  # the sub-agent
                reply(Text("all done")),
                reply(Text("Summary: echo and fail.")),  # the compaction
                reply(Fail("bad key", code="auth_failed")),
            ],
            tools=[EchoTool(), FailTool()],
            mode="bypassPermissions",
            trusted=True,
        )
        async with session:
            await run_to_end(session, "look " + "q" * 8000)
            assert await session.compact() is not None
            failed = await run_to_end(session, "again")
            assert types(failed)[-1] == "RUN_COMPLETED"
        provider.assert_complete()
        inputs = {event: check_both(tmp_path, server, event) for event in events}

    pre = inputs["PreToolUse"]
    assert {(d["tool_name"], d["tool_use_id"]) for d in pre} >= {("Echo", "call_1"), ("Fail", "c2")}
    assert [d["tool_name"] for d in inputs["PostToolUse"]] == ["Echo", "Task"]  # successes
    [failure] = inputs["PostToolUseFailure"]
    assert failure["error"] == "the disk is on fire" and failure["is_interrupt"] is False
    first_batch = inputs["PostToolBatch"][0]["tool_calls"]
    assert [(c["tool_use_id"], c["tool_response"]) for c in first_batch] == [
        ("call_1", "x"),
        ("c2", "the disk is on fire"),
    ]
    [start] = inputs["SubagentStart"]
    [stop] = inputs["SubagentStop"]
    assert start["agent_id"] == stop["agent_id"] == "task_1"
    assert start["agent_type"] == stop["agent_type"] == "general-purpose"
    assert stop["last_assistant_message"] == "sub done"
    [ended] = [d for d in inputs["Stop"] if d["stop_hook_active"] is False]
    assert ended["last_assistant_message"] == "all done"
    assert inputs["PostCompact"][0]["compact_summary"] == "Summary: echo and fail."
    assert inputs["PreCompact"][0]["trigger"] == inputs["PostCompact"][0]["trigger"] == "manual"
    [stop_failure] = inputs["StopFailure"]
    assert stop_failure["error"] == "authentication_failed"
    assert "bad key" in stop_failure["error_details"]
    assert inputs["SessionStart"][0]["model"] == "scripted"
    assert inputs["SessionEnd"][0]["reason"] == "other"


def touching(project: Path, ask_policy: str = "deny") -> Session:
    """A session in default mode whose model calls ``Touch`` (which asks) once, then
    answers; with ``ask_policy="deny"`` nobody answers permission questions."""
    session, _ = scripted_in(
        project,
        [reply(ToolCall("Touch", {}, id="t1")), reply(Text("ok"))],
        tools=[WriteLikeTool()],
        mode="default",
        trusted=True,
        ask_policy=ask_policy,
    )
    return session


async def test_permission_request_and_denied_hooks_with_nobody_to_ask(tmp_path: Path) -> None:
    events = ["PermissionRequest", "PermissionDenied"]
    retry = {"hookSpecificOutput": {"hookEventName": "PermissionDenied", "retry": True}}
    with HookServer({"/PermissionDenied": JSONResponse(200, retry)}) as server:
        both_hooks(tmp_path, server.url, events)
        session = touching(tmp_path)
        async with session:
            run = await run_to_end(session, "touch it")
        [asked] = check_both(tmp_path, server, "PermissionRequest")
        [denied] = check_both(tmp_path, server, "PermissionDenied")
    assert asked["tool_name"] == denied["tool_name"] == "Touch"
    assert denied["tool_use_id"] == "t1" and "nobody can answer" in denied["reason"]
    [failed] = [e for e in run if e.type == "TOOL_CALL_FAILED"]
    assert "a PermissionDenied hook says you may retry" in failed.error


async def test_a_permission_request_hook_answers_for_the_user(tmp_path: Path) -> None:
    allow = {
        "hookSpecificOutput": {
            "hookEventName": "PermissionRequest",
            "decision": {"behavior": "allow"},
        }
    }
    with HookServer({"/PermissionRequest": JSONResponse(200, allow)}) as server:
        both_hooks(tmp_path, server.url, ["PermissionRequest", "PermissionDenied"])
        session = touching(tmp_path)
        async with session:
            run = await run_to_end(session, "touch it")
        assert server.inputs("PermissionDenied") == []
    assert "TOOL_CALL_COMPLETED" in types(run) and "PERMISSION_REQUESTED" not in types(run)


async def test_a_permission_request_hook_denies_with_a_message(tmp_path: Path) -> None:
    deny = {
        "hookSpecificOutput": {
            "hookEventName": "PermissionRequest",
            "decision": {"behavior": "deny", "message": "not on Fridays"},
        }
    }
    with HookServer({"/PermissionRequest": JSONResponse(200, deny)}) as server:
        hook = {"type": "http", "url": f"{server.url}/PermissionRequest"}
        write_settings(tmp_path, {"hooks": {"PermissionRequest": [{"hooks": [hook]}]}})
        session = touching(tmp_path, ask_policy="ask")
        async with session:
            run = await run_to_end(session, "touch it")
    [failed] = [e for e in run if e.type == "TOOL_CALL_FAILED"]
    assert "not on Fridays" in failed.error and "PERMISSION_REQUESTED" not in types(run)


async def test_a_permission_question_notifies_both_hook_types(tmp_path: Path) -> None:
    with HookServer() as server:
        both_hooks(tmp_path, server.url, ["Notification"])
        session = touching(tmp_path, ask_policy="ask")
        async with session:
            await session.submit("touch it")
            asked = await wait_for(session.store, lambda e: e.type == "PERMISSION_REQUESTED")
            runs: list[Any] = []

            def both_ran(event: Any) -> bool:
                if event.type == "HOOK_EXECUTED":
                    runs.append(event)
                return len(runs) == 2

            await wait_for(session.store, both_ran)
            await session.resolve_permission(asked.request_id, "deny")
            await wait_for(session.store, lambda e: e.type == "RUN_COMPLETED")
        [note] = check_both(tmp_path, server, "Notification")
    assert note["notification_type"] == "permission_prompt" and "Touch" in note["message"]


async def test_events_without_a_counterpart_are_accepted_and_never_run(tmp_path: Path) -> None:
    quiet = sorted(set(HOOK_EVENTS) - FIRED_EVENTS)
    with HookServer() as server:
        both_hooks(tmp_path, server.url, quiet)
        session, _ = scripted_in(
            tmp_path,
            [reply(ToolCall("Echo", {"text": "x"})), reply(Text("ok"))],
            tools=[EchoTool()],
            mode="bypassPermissions",
            trusted=True,
        )
        async with session:
            run = await run_to_end(session, "hi")
            notices = [e for e in session.store.replay(0) if e.type == "NOTICE"]
        assert server.requests == []
    assert not any("hook" in e.message for e in notices)
    assert "HOOK_EXECUTED" not in types(run)
    assert not (tmp_path / "inputs").exists()


async def test_a_slash_command_expansion_runs_both_hooks_and_may_be_blocked(
    tmp_path: Path,
) -> None:
    commands = tmp_path / ".claude" / "commands"
    commands.mkdir(parents=True)
    (commands / "fix.md").write_text("Fix issue $1: $ARGUMENTS")
    context = {
        "hookSpecificOutput": {
            "hookEventName": "UserPromptExpansion",
            "additionalContext": "Issues live in tracker.example.",
        }
    }
    with HookServer({"/UserPromptExpansion": JSONResponse(200, context)}) as server:
        both_hooks(tmp_path, server.url, ["UserPromptExpansion"])
        session, provider = scripted_in(tmp_path, [reply(Text("fixing"))], trusted=True)
        async with session:
            run_id = await session.invoke_command("fix", "42 crash")
            await wait_for(
                session.store, lambda e: e.run_id == run_id and e.type == "RUN_COMPLETED"
            )
            block = {"decision": "block", "reason": "no fixing on Fridays"}
            server.answers["/UserPromptExpansion"] = JSONResponse(200, block)
            with pytest.raises(HarnessError, match="blocked /fix 7: no fixing on Fridays"):
                await session.invoke_command("fix", "7")
        first, _ = check_both(tmp_path, server, "UserPromptExpansion")
    assert first["command_name"] == "fix" and first["command_args"] == "42 crash"
    assert first["prompt"] == "/fix 42 crash" and first["command_source"] == "project"
    sent = provider.requests[0].messages[0].text
    assert "Fix issue 42" in sent and "Issues live in tracker.example." in sent
    provider.assert_complete()  # the blocked command sent nothing
