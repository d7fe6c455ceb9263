# Over 500 lines as one unit: each hook event with real scripts, shared helpers.
"""Hooks with real scripts run as subprocesses, speaking Claude Code's protocol."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from harness_tui.core.events import Event
from harness_tui.core.hooks.config import HookMatcher
from harness_tui.core.messages import ToolResultMessage, UserMessage
from harness_tui.core.providers.models import ModelChoice
from harness_tui.core.providers.offline.scripted import (
    Reply,
    ScriptedProvider,
    Text,
    ToolCall,
    reply,
)
from harness_tui.core.session.session import MAX_STOP_BLOCKS, Session
from tests.helpers import EchoTool, run_to_end, types, wait_for

# Claude Code's published example, bash_command_validator_example.py, as users have it.
VALIDATOR = """
import json, re, sys

_VALIDATION_RULES = [
    (
        r"^grep\\b(?!.*\\|)",
        "Use 'rg' (ripgrep) instead of 'grep' for better performance and features",
    ),
    (
        r"^find\\s+\\S+\\s+-name\\b",
        "Use 'rg --files | rg pattern' or 'rg --files -g pattern' instead of "
        "'find -name' for better performance",
    ),
]

def _validate_command(command):
    issues = []
    for pattern, message in _VALIDATION_RULES:
        if re.search(pattern, command):
            issues.append(message)
    return issues

def main():
    try:
        input_data = json.load(sys.stdin)
    except json.JSONDecodeError as e:
        print(f"Error: Invalid JSON input: {e}", file=sys.stderr)
        sys.exit(1)
    tool_name = input_data.get("tool_name", "")
    if tool_name != "Bash":
        sys.exit(0)
    tool_input = input_data.get("tool_input", {})
    command = tool_input.get("command", "")
    if not command:
        sys.exit(0)
    issues = _validate_command(command)
    if issues:
        for message in issues:
            print(f"• {message}", file=sys.stderr)
        sys.exit(2)

if __name__ == "__main__":
    main()
"""


def script(project: Path, name: str, body: str) -> str:
    """Write a hook script; the command that runs it, as a user would write it."""
    path = project / "hooks" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(body))
    return f'"{sys.executable}" "$CLAUDE_PROJECT_DIR"/hooks/{name}'


def hooks_file(project: Path, hooks: dict[str, Any]) -> None:
    folder = project / ".claude"
    folder.mkdir(exist_ok=True)
    (folder / "settings.json").write_text(json.dumps({"hooks": hooks}))


def command_hook(command: str, matcher: str | None = None, timeout: float | None = None) -> dict:
    hook: dict[str, Any] = {"type": "command", "command": command}
    if timeout is not None:
        hook["timeout"] = timeout
    entry: dict[str, Any] = {"hooks": [hook]}
    if matcher is not None:
        entry["matcher"] = matcher
    return entry


def session_in(
    project: Path, *replies: Reply, mode: str = "bypassPermissions", **options: Any
) -> tuple[Session, ScriptedProvider]:
    provider = ScriptedProvider(list(replies))
    session = Session(
        model=ModelChoice("scripted", "scripted", lambda: provider),
        cwd=project,
        mode=mode,
        trusted=True,
        **options,
    )
    return session, provider


def hook_events(events: list[Event]) -> list[Event]:
    return [e for e in events if e.type in ("HOOK_EXECUTED", "HOOK_DENIED")]


async def test_the_published_bash_validator_blocks_and_the_model_reads_why(tmp_path: Path) -> None:
    hooks_file(
        tmp_path, {"PreToolUse": [command_hook(script(tmp_path, "v.py", VALIDATOR), "Bash")]}
    )
    session, provider = session_in(
        tmp_path,
        reply(ToolCall("Bash", {"command": "grep -r TODO ."})),
        reply(ToolCall("Bash", {"command": "echo fine"})),
        reply(Text("ok")),
    )
    async with session:
        events = await run_to_end(session, "find the todos")
    denied = next(e for e in events if e.type == "HOOK_DENIED")
    assert denied.hook_event == "PreToolUse" and denied.exit_code == 2 and denied.matcher == "Bash"
    assert "Use 'rg' (ripgrep) instead of 'grep'" in denied.reason and denied.duration_ms > 0
    failed = next(e for e in events if e.type == "TOOL_CALL_FAILED")
    assert failed.kind == "denied" and "Use 'rg' (ripgrep)" in failed.error
    result = provider.requests[1].messages[-1]
    assert isinstance(result, ToolResultMessage) and result.is_error
    assert "a PreToolUse hook blocked it: • Use 'rg'" in result.content
    fine = [e for e in events if e.type == "TOOL_CALL_COMPLETED"]
    assert fine and fine[0].content == "fine"
    executed = [e for e in hook_events(events) if e.type == "HOOK_EXECUTED"]
    assert executed[0].decision == "ok" and executed[0].exit_code == 0


DECIDER = """
import json, sys
data = json.load(sys.stdin)
word = data["tool_input"]["command"].split()[-1]
if word in ("allow", "deny", "ask"):
    print(json.dumps({"hookSpecificOutput": {"hookEventName": "PreToolUse",
        "permissionDecision": word, "permissionDecisionReason": f"the hook said {word}"}}))
"""


async def test_json_permission_decisions_deny_ask_allow(tmp_path: Path) -> None:
    hooks_file(tmp_path, {"PreToolUse": [command_hook(script(tmp_path, "d.py", DECIDER), "Bash")]})
    session, _ = session_in(
        tmp_path,
        reply(ToolCall("Bash", {"command": "echo allow"})),
        reply(ToolCall("Bash", {"command": "echo deny"})),
        reply(ToolCall("Bash", {"command": "echo ask"})),
        reply(Text("done")),
        mode="default",
    )
    async with session:
        run_id = await session.submit("go")
        asked = await wait_for(session.store, lambda e: e.type == "PERMISSION_REQUESTED")
        assert asked.input == {"command": "echo ask"} and asked.reason == "the hook said ask"
        await session.resolve_permission(asked.request_id, "allow_once")
        await wait_for(session.store, lambda e: e.type == "RUN_COMPLETED")
    events = [e for e in session.store.replay(0) if e.run_id == run_id]
    # Bash asks in default mode: the hook's allow skipped the question, its ask kept it.
    assert types(events).count("PERMISSION_REQUESTED") == 1
    results = [e for e in events if e.type in ("TOOL_CALL_COMPLETED", "TOOL_CALL_FAILED")]
    assert [e.type for e in results] == [
        "TOOL_CALL_COMPLETED",
        "TOOL_CALL_FAILED",
        "TOOL_CALL_COMPLETED",
    ]
    assert "the hook said deny" in results[1].error
    decisions = [(e.type, getattr(e, "decision", None)) for e in hook_events(events)]
    assert decisions == [
        ("HOOK_EXECUTED", "allow"),
        ("HOOK_DENIED", None),
        ("HOOK_EXECUTED", "ask"),
    ]


REWRITER = """
import json, sys
data = json.load(sys.stdin)
command = data["tool_input"]["command"].replace("original", "rewritten")
print(json.dumps({"hookSpecificOutput": {"hookEventName": "PreToolUse",
    "updatedInput": {"command": command}}}))
"""

CONTEXT = """
import json, sys
data = json.load(sys.stdin)
print(json.dumps({"hookSpecificOutput": {"hookEventName": data["hook_event_name"],
    "additionalContext": "lint: 0 problems"}}))
"""


async def test_updated_input_changes_the_call_and_context_reaches_the_model(tmp_path: Path) -> None:
    hooks_file(
        tmp_path,
        {
            "PreToolUse": [command_hook(script(tmp_path, "r.py", REWRITER), "Bash")],
            "PostToolUse": [command_hook(script(tmp_path, "c.py", CONTEXT), "Bash|Edit")],
            "UserPromptSubmit": [command_hook("echo 'the user prefers tabs'")],
        },
    )
    session, provider = session_in(
        tmp_path, reply(ToolCall("Bash", {"command": "echo original"})), reply(Text("ok"))
    )
    async with session:
        events = await run_to_end(session, "go")
    done = next(e for e in events if e.type == "TOOL_CALL_COMPLETED")
    assert done.content.startswith("rewritten")
    prompt = provider.requests[0].messages[0]
    assert isinstance(prompt, UserMessage)
    assert [b.text for b in prompt.content] == [
        "go",
        "[context from a UserPromptSubmit hook]\nthe user prefers tabs",
    ]
    result = provider.requests[1].messages[-1]
    assert result.content == "rewritten\n\nlint: 0 problems"


async def test_failing_hooks_are_visible_but_do_not_block(tmp_path: Path) -> None:
    slow = script(tmp_path, "slow.py", "import time; time.sleep(30)")
    crash = script(tmp_path, "crash.py", "import sys; print('boom', file=sys.stderr); sys.exit(1)")
    garbage = script(tmp_path, "garbage.py", "print('{this is not json')")
    weird = script(
        tmp_path, "weird.py", 'print(\'{"hookSpecificOutput": {"permissionDecision": "maybe"}}\')'
    )
    hooks_file(
        tmp_path,
        {
            "PreToolUse": [
                command_hook(slow, "Echo", timeout=0.5),
                command_hook(crash, "Echo"),
                command_hook(garbage, "Echo"),
                command_hook(weird, "Echo"),
                command_hook("no-such-program-xyz --check", "Echo"),
            ]
        },
    )
    session, _ = session_in(
        tmp_path,
        reply(ToolCall("Echo", {"text": "still runs"})),
        reply(Text("ok")),
        tools=[EchoTool()],
    )
    async with session:
        events = await run_to_end(session, "go", timeout=20)
    notices = [e.message for e in session.store.replay(0) if e.type == "NOTICE"]
    assert any(
        "hooks.PreToolUse[4].hooks[0]: command 'no-such-program-xyz' not found" in n
        for n in notices
    )
    errors = {e.hook: e.error for e in hook_events(events)}
    assert all(e.type == "HOOK_EXECUTED" and e.decision == "error" for e in hook_events(events))
    assert "timed out after 0.5 s" in errors[slow]
    assert errors[crash] == "exit code 1: boom"
    assert errors[garbage].startswith("printed invalid JSON")
    assert 'must be "allow", "deny" or "ask", not \'maybe\'' in errors[weird]
    assert "exit code 127: command not found" in errors["no-such-program-xyz --check"]
    assert next(e for e in events if e.type == "TOOL_CALL_COMPLETED").content == "still runs"


async def test_a_user_prompt_submit_block_stops_the_prompt(tmp_path: Path) -> None:
    blocker = script(
        tmp_path,
        "b.py",
        """
        import json, sys
        if "password" in json.load(sys.stdin)["prompt"]:
            print("prompts may not contain passwords", file=sys.stderr)
            sys.exit(2)
        """,
    )
    hooks_file(tmp_path, {"UserPromptSubmit": [command_hook(blocker)]})
    session, provider = session_in(tmp_path, reply(Text("never")))
    async with session:
        events = await run_to_end(session, "my password is hunter2")
    assert types(events) == ["PROMPT_RECEIVED", "HOOK_DENIED", "RUN_COMPLETED"]
    assert events[1].reason == "prompts may not contain passwords"
    assert events[-1].stop_reason == "prompt_blocked"
    assert provider.requests == [] and session.messages == []  # the prompt was erased


async def test_a_stop_hook_forces_one_more_turn(tmp_path: Path) -> None:
    stopper = script(
        tmp_path,
        "stop.py",
        """
        import json, sys
        if not json.load(sys.stdin)["stop_hook_active"]:
            print(json.dumps({"decision": "block", "reason": "Run the tests before stopping."}))
        """,
    )
    hooks_file(tmp_path, {"Stop": [command_hook(stopper)]})
    session, provider = session_in(tmp_path, reply(Text("done")), reply(Text("tests pass")))
    async with session:
        events = await run_to_end(session, "fix it")
    assert events[-1].type == "RUN_COMPLETED" and events[-1].result == "tests pass"
    assert len(provider.requests) == 2
    nudge = provider.requests[1].messages[-1]
    assert isinstance(nudge, UserMessage) and nudge.text == "Run the tests before stopping."
    stops = [e for e in hook_events(events)]
    assert [e.type for e in stops] == ["HOOK_DENIED", "HOOK_EXECUTED"]
    provider.assert_complete()


async def test_a_stop_hook_that_always_blocks_is_overridden(tmp_path: Path) -> None:
    hooks_file(tmp_path, {"Stop": [command_hook("echo keep going >&2; exit 2")]})
    session, provider = session_in(tmp_path, *[reply(Text(f"turn {i}")) for i in range(10)])
    async with session:
        events = await run_to_end(session, "go")
    assert len(provider.requests) == MAX_STOP_BLOCKS + 1
    assert events[-1].type == "RUN_COMPLETED"
    assert any(e.type == "NOTICE" and "stopping anyway" in e.message for e in events)


async def test_matching_hooks_run_in_parallel_and_identical_commands_once(tmp_path: Path) -> None:
    # Each waits for the other's flag: run one after the other, both would time out.
    meet = """
        import pathlib, sys, time
        me, other = sys.argv[1], sys.argv[2]
        pathlib.Path(me).touch()
        deadline = time.time() + 5
        while not pathlib.Path(other).exists():
            if time.time() > deadline:
                sys.exit(1)
            time.sleep(0.01)
        """
    first = script(tmp_path, "meet.py", meet) + " a.flag b.flag"
    second = script(tmp_path, "meet.py", meet) + " b.flag a.flag"
    counter = f'echo x >> "{tmp_path}/count"'
    hooks_file(
        tmp_path,
        {
            "PreToolUse": [
                command_hook(first, "*", timeout=3),
                command_hook(second, "", timeout=3),
                command_hook(counter, "Echo"),
                command_hook(counter, "Ec.*"),
            ]
        },
    )
    session, _ = session_in(
        tmp_path, reply(ToolCall("Echo", {"text": "x"})), reply(Text("ok")), tools=[EchoTool()]
    )
    async with session:
        events = await run_to_end(session, "go", timeout=20)
    runs = hook_events(events)
    assert len(runs) == 3 and all(e.decision == "ok" for e in runs), runs
    assert (tmp_path / "count").read_text() == "x\n"


DUMP = """
import json, os, sys
data = json.load(sys.stdin)
data["env"] = {k: os.environ.get(k) for k in ("CLAUDE_PROJECT_DIR", "HARNESS_PROJECT_DIR")}
name = data["hook_event_name"] + ".json"
with open(os.path.join(os.environ["CLAUDE_PROJECT_DIR"], name), "w") as f:
    json.dump(data, f)
"""


async def test_hooks_get_claude_codes_input_and_environment(tmp_path: Path) -> None:
    dump = script(tmp_path, "dump.py", DUMP)
    hooks_file(
        tmp_path,
        {
            event: [command_hook(dump)]
            for event in (
                "PreToolUse",
                "PostToolUse",
                "UserPromptSubmit",
                "Stop",
                "SessionStart",
                "SessionEnd",
            )
        },
    )
    session, _ = session_in(
        tmp_path,
        reply(ToolCall("Echo", {"text": "x"}, id="call_7")),
        reply(Text("ok")),
        tools=[EchoTool()],
    )
    async with session:
        await run_to_end(session, "hello")

    def read(event: str) -> dict[str, Any]:
        return json.loads((tmp_path / f"{event}.json").read_text())

    pre = read("PreToolUse")
    common = {
        "session_id": session.id,
        "cwd": str(session.cwd),
        "permission_mode": "bypassPermissions",
        "env": {
            "CLAUDE_PROJECT_DIR": str(session.cwd),
            "HARNESS_PROJECT_DIR": str(session.cwd),
        },
    }
    assert pre.items() >= {**common, "hook_event_name": "PreToolUse", "tool_name": "Echo"}.items()
    assert pre["tool_input"] == {"text": "x"} and pre["tool_use_id"] == "call_7"
    assert pre["transcript_path"].endswith(f"{session.id}.jsonl")
    assert read("PostToolUse")["tool_response"]["content"] == "x"
    assert read("UserPromptSubmit")["prompt"] == "hello"
    assert read("Stop")["stop_hook_active"] is False
    assert read("SessionStart")["source"] == "startup"
    assert read("SessionEnd")["reason"] == "other"  # Claude Code's reason for a plain exit


async def test_python_callbacks_follow_the_same_protocol(tmp_path: Path) -> None:
    seen: list[dict[str, Any]] = []

    async def guard(data: dict[str, Any]) -> dict[str, Any] | None:
        seen.append(data)
        if data["tool_input"]["text"] == "secret":
            return {
                "hookSpecificOutput": {
                    "permissionDecision": "deny",
                    "permissionDecisionReason": "no",
                }
            }
        return None

    session, _ = session_in(
        tmp_path,
        reply(ToolCall("Echo", {"text": "secret"})),
        reply(ToolCall("Echo", {"text": "public"})),
        reply(Text("ok")),
        tools=[EchoTool()],
    )
    session.hooks.add_callback("PreToolUse", guard, matcher="Echo", name="guard")
    async with session:
        events = await run_to_end(session, "go")
    assert [e.type for e in hook_events(events)] == ["HOOK_DENIED", "HOOK_EXECUTED"]
    assert hook_events(events)[0].hook == "guard"
    outcomes = [e.type for e in events if e.type in ("TOOL_CALL_FAILED", "TOOL_CALL_COMPLETED")]
    assert outcomes == ["TOOL_CALL_FAILED", "TOOL_CALL_COMPLETED"]
    assert seen[0]["hook_event_name"] == "PreToolUse"


@pytest.mark.parametrize(
    ("matcher", "value", "matches"),
    [
        (None, "Bash", True),
        ("", "Bash", True),
        ("*", "Write", True),
        ("Bash", "Bash", True),
        ("Bash", "BashOutput", False),
        ("Edit|Write", "Write", True),
        ("Edit|Write", "NotebookEdit", False),
        ("Edit.*", "NotebookEdit", True),
        ("mcp__memory__.*", "mcp__memory__create", True),
        ("mcp__github", "mcp__github__x", False),
        ("^Read$", "Read", True),
    ],
)
def test_matchers(matcher: str | None, value: str, matches: bool) -> None:
    assert HookMatcher.build("PreToolUse", matcher, ()).matches(value) is matches


async def test_bad_hook_settings_are_reported_and_the_session_starts(tmp_path: Path) -> None:
    hooks_file(
        tmp_path,
        {
            "PreToolUse": [
                {"matcher": "(", "hooks": [{"type": "command", "command": "true"}]},
                {"matcher": "Bash", "hooks": [{"type": "prompt", "prompt": "x"}]},
                {
                    "matcher": "Bash",
                    "hooks": [{"type": "command", "command": "true", "timeout": -1}],
                },
                "not a mapping",
            ],
            "OnSomething": [],
        },
    )
    session, _ = session_in(tmp_path, reply(Text("hi")))
    async with session:
        events = await run_to_end(session, "go")
    notices = "\n".join(e.message for e in session.store.replay(0) if e.type == "NOTICE")
    path = session.cwd / ".claude" / "settings.json"
    assert f"{path}: hooks.PreToolUse[0].matcher: '(' is not a valid regex" in notices
    assert f"{path}: hooks.PreToolUse[1].hooks[0]: hook type 'prompt' is not supported" in notices
    assert f"{path}: hooks.PreToolUse[2].hooks[0].timeout: must be a positive number" in notices
    assert f"{path}: hooks.PreToolUse[3]: must be a mapping" in notices
    assert f"{path}: hooks.OnSomething: unknown hook event" in notices
    assert events[-1].type == "RUN_COMPLETED" and events[-1].result == "hi"


async def test_a_permission_question_runs_notification_hooks(tmp_path: Path) -> None:
    dump = script(tmp_path, "dump.py", DUMP)
    hooks_file(tmp_path, {"Notification": [command_hook(dump, "permission_prompt")]})
    session, _ = session_in(
        tmp_path, reply(ToolCall("Bash", {"command": "true"})), reply(Text("ok")), mode="default"
    )
    async with session:
        await session.submit("go")
        asked = await wait_for(session.store, lambda e: e.type == "PERMISSION_REQUESTED")
        ran = await wait_for(session.store, lambda e: e.type == "HOOK_EXECUTED")
        assert ran.hook_event == "Notification" and ran.decision == "ok"
        await session.resolve_permission(asked.request_id, "deny")
        await wait_for(session.store, lambda e: e.type == "RUN_COMPLETED")
    sent = json.loads((tmp_path / "Notification.json").read_text())
    assert sent["message"] == "harness-tui needs your permission to use Bash"
    assert sent["notification_type"] == "permission_prompt"
