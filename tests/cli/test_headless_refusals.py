"""Headless refusals: whatever refused a call (a deny rule, plan mode, a question nobody
can answer, a PreToolUse hook, in the session or in a sub-agent), the run exits 3 and
the output names each denied call and why: ``permission_denials`` in json (Claude Code's
name and shape, plus ``reason``), one ``denied:`` line each on stderr in text, and the
``TOOL_CALL_FAILED`` events (with ``details.reason``) in stream-json."""

from __future__ import annotations

import io
import json
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from harness_tui.core.providers.models import ModelChoice
from harness_tui.core.providers.offline.scripted import ScriptedProvider, Text, ToolCall, reply
from harness_tui.core.session.session import Session
from harness_tui.core.tools import builtin_tools
from harness_tui.headless import EXIT_DENIED, EXIT_OK, run_headless
from tests.cli.test_cli import harness
from tests.core.run.test_subagents import Router, task

RM = {"command": "rm -rf build"}
ECHO = {"command": "echo hi"}
WRITE = {"file_path": "notes.txt", "content": "x"}
GRANT = {"file_path": ".claude/commands/x.md", "content": "---\nallowed-tools: Bash\n---\nx"}
OUTSIDE = {"command": "echo hi > /tmp/harness-outside-test"}


def settings(project: Path, text: str) -> None:
    (project / ".harness").mkdir(exist_ok=True)
    (project / ".harness" / "settings.yaml").write_text(textwrap.dedent(text))


def hook(project: Path, event: str, body: str, matcher: str | None = "Bash") -> None:
    """A command hook (a real Python process) for ``event``."""
    script = project / "hooks" / f"{event}.py"
    script.parent.mkdir(exist_ok=True)
    script.write_text(textwrap.dedent(body))
    entry: dict[str, Any] = {
        "hooks": [{"type": "command", "command": f'"{sys.executable}" "{script}"'}]
    }
    if matcher is not None:
        entry["matcher"] = matcher
    (project / ".claude").mkdir(exist_ok=True)
    (project / ".claude" / "settings.json").write_text(json.dumps({"hooks": {event: [entry]}}))


EXIT_2 = """
    import sys
    sys.stderr.write("rm is not allowed here\\n")
    sys.exit(2)
"""
JSON_DENY = """
    import json
    print(json.dumps({"hookSpecificOutput": {"hookEventName": "PreToolUse",
        "permissionDecision": "deny", "permissionDecisionReason": "policy says no"}}))
"""
JSON_BLOCK = """
    import json
    print(json.dumps({"decision": "block", "reason": "blocked by the old way"}))
"""


def call(name: str, input: dict, id: str) -> ToolCall:
    return ToolCall(name, input, id=id)


#: variant -> (set-up, mode, model replies, [(tool, input, id, reason fragment)]).
VARIANTS: dict[str, tuple[Any, str, list, list[tuple[str, dict, str, str]]]] = {
    "deny-rule-bash": (
        lambda p: settings(p, "permissions:\n  deny: ['Bash(rm:*)']\n"),
        "bypassPermissions",
        [reply(call("Bash", RM, "c1")), reply(Text("could not"))],
        [("Bash", RM, "c1", "the rule Bash(rm:*)")],
    ),
    "deny-rule-write": (
        lambda p: settings(p, "permissions:\n  deny: ['Write(notes.txt)']\n"),
        "acceptEdits",
        [reply(call("Write", WRITE, "c1")), reply(Text("could not"))],
        [("Write", WRITE, "c1", "the rule Write(notes.txt)")],
    ),
    "plan-mode-bash": (
        None,
        "plan",
        [reply(call("Bash", ECHO, "c1")), reply(Text("planned"))],
        [("Bash", ECHO, "c1", "plan mode")],
    ),
    "plan-mode-write": (
        None,
        "plan",
        [reply(call("Write", WRITE, "c1")), reply(Text("planned"))],
        [("Write", WRITE, "c1", "plan mode")],
    ),
    "ask-in-headless": (
        None,
        "default",
        [reply(call("Bash", ECHO, "c1")), reply(Text("could not"))],
        [("Bash", ECHO, "c1", "nobody can answer permission questions here")],
    ),
    # The advice fits the refusal: no rule or acceptEdits opens a protected file, and a
    # write outside the workspace needs its folder added.
    "protected-in-accept-edits": (
        None,
        "acceptEdits",
        [reply(call("Write", GRANT, "c1")), reply(Text("could not"))],
        [("Write", GRANT, "c1", "no rule and no acceptEdits allow it")],
    ),
    "outside-workspace": (
        lambda p: settings(p, "permissions:\n  allow: ['Bash(echo:*)']\n"),
        "default",
        [reply(call("Bash", OUTSIDE, "c1")), reply(Text("could not"))],
        [("Bash", OUTSIDE, "c1", "permissions.additionalDirectories")],
    ),
    "hook-exit-2": (
        lambda p: hook(p, "PreToolUse", EXIT_2),
        "bypassPermissions",
        [reply(call("Bash", RM, "c1")), reply(Text("could not"))],
        [("Bash", RM, "c1", "rm is not allowed here")],
    ),
    "hook-json-deny": (
        lambda p: hook(p, "PreToolUse", JSON_DENY),
        "bypassPermissions",
        [reply(call("Bash", RM, "c1")), reply(Text("could not"))],
        [("Bash", RM, "c1", "policy says no")],
    ),
    "hook-json-block": (
        lambda p: hook(p, "PreToolUse", JSON_BLOCK),
        "bypassPermissions",
        [reply(call("Bash", RM, "c1")), reply(Text("could not"))],
        [("Bash", RM, "c1", "blocked by the old way")],
    ),
    "several-in-one-response": (
        lambda p: settings(p, "permissions:\n  deny: ['Bash(rm:*)', 'Write(notes.txt)']\n"),
        "bypassPermissions",
        [reply(call("Bash", RM, "c1"), call("Write", WRITE, "c2")), reply(Text("no"))],
        [("Bash", RM, "c1", "Bash(rm:*)"), ("Write", WRITE, "c2", "Write(notes.txt)")],
    ),
    "several-in-several-turns": (
        None,
        "plan",
        [
            reply(call("Bash", ECHO, "c1")),
            reply(call("Write", WRITE, "c2")),
            reply(Text("gave up")),
        ],
        [("Bash", ECHO, "c1", "plan mode"), ("Write", WRITE, "c2", "plan mode")],
    ),
    "denied-then-success": (
        lambda p: settings(p, "permissions:\n  deny: ['Bash(rm:*)']\n"),
        "bypassPermissions",
        [reply(call("Bash", RM, "c1")), reply(call("Bash", ECHO, "c2")), reply(Text("done"))],
        [("Bash", RM, "c1", "Bash(rm:*)")],
    ),
}


def session_for(project: Path, variant: str) -> tuple[Session, list]:
    set_up, mode, replies, expected = VARIANTS[variant]
    if set_up is not None:
        set_up(project)
    provider = ScriptedProvider(replies)
    session = Session(
        model=ModelChoice("scripted", "scripted", lambda: provider),
        cwd=project,
        mode=mode,
        tools=builtin_tools(),
        ask_policy="deny",
        trusted=True,
    )
    return session, expected


async def run(session: Session, fmt: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = await run_headless(session, "do it", fmt, out, err)  # type: ignore[arg-type]
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("variant", VARIANTS)
async def test_json_lists_each_denial(tmp_path: Path, variant: str) -> None:
    session, expected = session_for(tmp_path, variant)
    code, out, err = await run(session, "json")
    assert code == EXIT_DENIED, err
    result = json.loads(out)
    denials = result["permission_denials"]
    assert [(d["tool_name"], d["tool_input"], d["tool_use_id"]) for d in denials] == [
        (name, input, id) for name, input, id, _ in expected
    ]
    for denial, (*_, why) in zip(denials, expected, strict=True):
        assert why in denial["reason"] and denial["parent_tool_use_id"] is None
    assert result["type"] == "RUN_COMPLETED"


@pytest.mark.parametrize("variant", VARIANTS)
async def test_text_says_each_denial_on_stderr(tmp_path: Path, variant: str) -> None:
    session, expected = session_for(tmp_path, variant)
    code, out, err = await run(session, "text")
    assert code == EXIT_DENIED
    lines = [line for line in err.splitlines() if line.startswith("harness-tui: denied: ")]
    assert len(lines) == len(expected), err
    for line, (name, input, _, why) in zip(lines, expected, strict=True):
        shown = input.get("command") or input.get("file_path")
        assert line.startswith(f"harness-tui: denied: {name}({shown}): ") and why in line
    assert out.strip() in ("could not", "planned", "no", "gave up", "done")


@pytest.mark.parametrize("variant", ["deny-rule-bash", "plan-mode-write", "hook-json-deny"])
async def test_stream_json_events_carry_each_denial(tmp_path: Path, variant: str) -> None:
    session, expected = session_for(tmp_path, variant)
    code, out, _ = await run(session, "stream-json")
    assert code == EXIT_DENIED
    events = [json.loads(line) for line in out.splitlines()]
    failed = [e for e in events if e["type"] == "TOOL_CALL_FAILED"]
    assert [(e["tool_call_id"], e["kind"]) for e in failed] == [(e[2], "denied") for e in expected]
    assert all(why in e["details"]["reason"] for e, (*_, why) in zip(failed, expected, strict=True))
    assert events[-1]["type"] == "RUN_COMPLETED"


async def test_a_subagents_denied_call_is_named_with_its_task(tmp_path: Path) -> None:
    settings(tmp_path, "permissions:\n  deny: ['Bash(rm:*)']\n")
    router = Router(
        {
            "do it": [reply(task("task_1", "clean up")), reply(Text("asked a helper"))],
            "clean up": [reply(call("Bash", RM, "inner_1")), reply(Text("it was refused"))],
        }
    )
    session = Session(
        model=ModelChoice("scripted", "scripted", lambda: ScriptedProvider(router)),
        cwd=tmp_path,
        mode="bypassPermissions",
        tools=builtin_tools(),
        ask_policy="deny",
        trusted=True,
    )
    code, out, err = await run(session, "json")
    assert code == EXIT_DENIED, err
    [denial] = json.loads(out)["permission_denials"]
    assert denial["tool_use_id"] == "inner_1" and denial["parent_tool_use_id"] == "task_1"
    assert denial["tool_name"] == "Bash" and "Bash(rm:*)" in denial["reason"]


async def test_a_blocked_prompt_exits_3_and_says_why(tmp_path: Path) -> None:
    hook(tmp_path, "UserPromptSubmit", EXIT_2, matcher=None)
    session, _ = session_for(tmp_path, "plan-mode-bash")  # no call is made
    code, out, _ = await run(session, "json")
    assert code == EXIT_DENIED
    result = json.loads(out)
    assert result["permission_denials"] == []
    assert "rm is not allowed here" in result["prompt_denial"]["reason"]


@pytest.mark.parametrize("fmt", ["json", "text"])
async def test_no_refusal_exits_0_with_an_empty_list(tmp_path: Path, fmt: str) -> None:
    provider = ScriptedProvider([reply(call("Bash", ECHO, "c1")), reply(Text("hi"))])
    session = Session(
        model=ModelChoice("scripted", "scripted", lambda: provider),
        cwd=tmp_path,
        mode="bypassPermissions",
        tools=builtin_tools(),
        ask_policy="deny",
    )
    code, out, err = await run(session, fmt)
    assert code == EXIT_OK
    assert "denied" not in err
    if fmt == "json":
        assert json.loads(out)["permission_denials"] == []


async def test_a_stop_hook_that_asks_for_more_is_no_refusal(tmp_path: Path) -> None:
    flag = tmp_path / "blocked-once"
    hook(
        tmp_path,
        "Stop",
        f"""
        import pathlib, sys
        flag = pathlib.Path({str(flag)!r})
        if not flag.exists():
            flag.write_text("x")
            sys.stderr.write("one more thing\\n")
            sys.exit(2)
        """,
        matcher=None,
    )
    provider = ScriptedProvider([reply(Text("first")), reply(Text("second"))])
    session = Session(
        model=ModelChoice("scripted", "scripted", lambda: provider),
        cwd=tmp_path,
        ask_policy="deny",
        trusted=True,
    )
    code, out, _ = await run(session, "text")
    assert code == EXIT_OK and out == "second\n"


@pytest.mark.parametrize("mode", ["plan", "default"])
def test_the_command_line_exits_3_and_names_the_call(tmp_path: Path, mode: str) -> None:
    script = tmp_path / "replies.yaml"
    script.write_text(
        json.dumps(
            [
                {"tool_calls": [{"name": "Bash", "input": ECHO, "id": "c1"}]},
                {"text": "could not"},
            ]
        )
    )
    model = f"scripted:{script}"
    text = harness("-p", "go", "--model", model, "--mode", mode, cwd=tmp_path)
    assert text.returncode == 3, text.stderr
    assert "harness-tui: denied: Bash(echo hi): " in text.stderr
    as_json = harness(
        "-p", "go", "--model", model, "--mode", mode, "--output-format", "json", cwd=tmp_path
    )
    assert as_json.returncode == 3
    [denial] = json.loads(as_json.stdout)["permission_denials"]
    assert denial == {
        "tool_name": "Bash",
        "tool_use_id": "c1",
        "tool_input": ECHO,
        "parent_tool_use_id": None,
        "reason": denial["reason"],
    }
    assert ("plan mode" if mode == "plan" else "nobody can answer") in denial["reason"]
