"""Sub-agents through the Task tool, driven by one scripted provider that answers the
parent and each sub-agent by the first message of their conversation."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import anyio
import pytest

from harness_tui.core.events import Event
from harness_tui.core.extensions.agents import discover_agents
from harness_tui.core.messages import ToolResultMessage, UserMessage
from harness_tui.core.providers.base import ModelRequest
from harness_tui.core.providers.offline.scripted import (
    Reply,
    Sleep,
    Text,
    ToolCall,
    Usage,
    Wait,
    reply,
)
from harness_tui.core.session.session import Session
from harness_tui.core.tools import builtin_tools
from tests.helpers import EchoTool, run_to_end, scripted_in, squeeze, types, wait_for


class Router:
    """A script per conversation, chosen by the text of its first message."""

    def __init__(self, scripts: dict[str, Sequence[Reply]]) -> None:
        self.scripts = {key: list(replies) for key, replies in scripts.items()}
        self.requests: dict[str, list[ModelRequest]] = {key: [] for key in scripts}

    def __call__(self, request: ModelRequest) -> Reply:
        first = request.messages[0]
        assert isinstance(first, UserMessage)
        for key, replies in self.scripts.items():
            if key in first.text:
                self.requests[key].append(request)
                return replies.pop(0)
        raise AssertionError(f"no script for a conversation starting {first.text!r}")


def session_with(router: Router, cwd: Path, **options) -> Session:
    options.setdefault("tools", [EchoTool()])
    options.setdefault("trusted", True)
    return scripted_in(cwd, router, **options)[0]


def task(call_id: str, prompt: str, agent: str = "general-purpose") -> ToolCall:
    return ToolCall(
        "Task", {"description": "a job", "prompt": prompt, "subagent_type": agent}, id=call_id
    )


def agent_file(cwd: Path, folder: str, name: str, body: str, **fields: str) -> None:
    path = cwd / folder / "agents" / f"{name}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    head = "".join(f"{key}: {value}\n" for key, value in fields.items())
    path.write_text(f"---\nname: {name}\n{head}---\n{body}\n")


def nested(events: list[Event], call_id: str) -> list[Event]:
    return [e for e in events if e.parent_tool_call_id == call_id]


async def test_two_subagents_run_in_parallel_and_both_answers_reach_the_parent(
    tmp_path: Path,
) -> None:
    release = anyio.Event()
    reached = {"A": anyio.Event(), "B": anyio.Event()}
    router = Router(
        {
            "user task": [
                reply(task("task_a", "job A"), task("task_b", "job B")),
                reply(Text("Both done")),
            ],
            "job A": [reply(Wait(release, reached["A"]), Text("answer A"), Usage(100, 10))],
            "job B": [reply(Wait(release, reached["B"]), Text("answer B"), Usage(200, 20))],
        }
    )
    session = session_with(router, tmp_path)
    async with session:
        run_id = await session.submit("user task")
        # Both sub-agents are streaming at the same time: they run in parallel.
        with anyio.fail_after(10):
            await reached["A"].wait()
            await reached["B"].wait()
        release.set()
        await wait_for(session.store, lambda e: e.type == "RUN_COMPLETED" and e.run_id == run_id)
    results = [
        m for m in router.requests["user task"][1].messages if isinstance(m, ToolResultMessage)
    ]
    assert [(r.tool_call_id, r.content, r.is_error) for r in results] == [
        ("task_a", "answer A", False),
        ("task_b", "answer B", False),
    ]
    events = session.store.replay(0)
    done = [e for e in events if e.type == "SUBAGENT_COMPLETED"]
    assert {(e.tool_call_id, e.status, e.result) for e in done} == {
        ("task_a", "completed", "answer A"),
        ("task_b", "completed", "answer B"),
    }
    # A sub-agent's tokens count for the session.
    assert session.total_usage.input_tokens == 300
    assert next(e for e in done if e.tool_call_id == "task_b").usage.output_tokens == 20


async def test_events_of_a_subagent_are_nested_under_its_task_call(tmp_path: Path) -> None:
    router = Router(
        {
            "user task": [reply(task("task_1", "echo job")), reply(Text("The helper said hi"))],
            "echo job": [reply(ToolCall("Echo", {"text": "hi"}, id="echo_1")), reply(Text("hi"))],
        }
    )
    session = session_with(router, tmp_path)
    async with session:
        events = await run_to_end(session, "user task")
    assert squeeze(types(events)) == [
        "PROMPT_RECEIVED",
        "CHECKPOINT_CREATED",
        "MESSAGE_COMPLETED",
        "TOOL_CALL_STARTED",  # Task
        "SUBAGENT_STARTED",
        "MESSAGE_COMPLETED",  # the sub-agent asks for Echo
        "TOOL_CALL_STARTED",
        "TOOL_CALL_COMPLETED",
        "TOKEN_DELTA",
        "MESSAGE_COMPLETED",  # its answer
        "SUBAGENT_COMPLETED",
        "TOOL_CALL_COMPLETED",  # Task
        "TOKEN_DELTA",
        "MESSAGE_COMPLETED",
        "RUN_COMPLETED",
    ]
    inside = nested(events, "task_1")
    assert types(inside)[0] == "MESSAGE_COMPLETED" and "TOOL_CALL_STARTED" in types(inside)
    started = next(e for e in events if e.type == "SUBAGENT_STARTED")
    assert started.parent_tool_call_id is None and started.tool_call_id == "task_1"
    assert started.agent_name == "general-purpose" and started.model == "scripted"
    # Everything between SUBAGENT_STARTED and SUBAGENT_COMPLETED belongs to it.
    first = events.index(started)
    last = next(i for i, e in enumerate(events) if e.type == "SUBAGENT_COMPLETED")
    assert all(e.parent_tool_call_id == "task_1" for e in events[first + 1 : last])
    # The sub-agent starts from a fresh context: only its prompt, its own system prompt.
    child_request = router.requests["echo job"][0]
    assert [m.role for m in child_request.messages] == ["user"]
    assert "sub-agent" in child_request.system
    assert "Task" not in {t.name for t in child_request.tools}


async def test_a_subagent_with_tools_read_cannot_call_bash(tmp_path: Path) -> None:
    agent_file(tmp_path, ".claude", "reader", "You only read.", description="Reads.", tools="Read")
    (tmp_path / "notes.txt").write_text("hello")
    router = Router(
        {
            "user task": [reply(task("task_1", "read job", "reader")), reply(Text("ok"))],
            "read job": [
                reply(
                    ToolCall("Bash", {"command": "echo hi"}, id="bash_1"),
                    ToolCall("Read", {"file_path": "notes.txt"}, id="read_1"),
                ),
                reply(Text("I could only read")),
            ],
        }
    )
    session = session_with(router, tmp_path, tools=builtin_tools(), mode="bypassPermissions")
    async with session:
        events = await run_to_end(session, "user task")
    assert [t.name for t in router.requests["read job"][0].tools] == ["Read"]
    failed = next(e for e in events if e.type == "TOOL_CALL_FAILED")
    assert failed.tool_call_id == "bash_1" and failed.kind == "unknown_tool"
    assert failed.parent_tool_call_id == "task_1"
    read = next(e for e in events if e.type == "TOOL_CALL_COMPLETED" and e.tool_name == "Read")
    assert "hello" in read.content


@pytest.mark.parametrize("setup", ["deny_rule", "plan_mode"])
async def test_the_parents_rules_and_mode_apply_inside_a_subagent(
    tmp_path: Path, setup: str
) -> None:
    (tmp_path / "secret.txt").write_text("password")
    options: dict[str, object] = {"tools": builtin_tools()}
    if setup == "deny_rule":
        (tmp_path / ".harness").mkdir()
        (tmp_path / ".harness" / "settings.yaml").write_text(
            "permissions:\n  deny: ['Read(./secret.txt)']\n"
        )
        options["mode"] = "bypassPermissions"  # deny rules hold even in bypass mode
        call = ToolCall("Read", {"file_path": "secret.txt"}, id="inner_1")
    else:
        options["mode"] = "plan"
        call = ToolCall("Bash", {"command": "touch made-by-child"}, id="inner_1")
    router = Router(
        {
            "user task": [reply(task("task_1", "sneaky job")), reply(Text("ok"))],
            "sneaky job": [reply(call), reply(Text("refused"))],
        }
    )
    session = session_with(router, tmp_path, **options)
    async with session:
        events = await run_to_end(session, "user task")
    failed = next(e for e in events if e.type == "TOOL_CALL_FAILED")
    assert failed.tool_call_id == "inner_1" and failed.kind == "denied"
    assert failed.parent_tool_call_id == "task_1"
    assert "password" not in failed.error and not (tmp_path / "made-by-child").exists()


async def test_a_deny_rule_on_task_names_the_agent(tmp_path: Path) -> None:
    (tmp_path / ".harness").mkdir()
    (tmp_path / ".harness" / "settings.yaml").write_text(
        "permissions:\n  deny: ['Task(general-purpose)']\n"
    )
    router = Router({"user task": [reply(task("task_1", "job")), reply(Text("ok"))]})
    session = session_with(router, tmp_path)
    async with session:
        events = await run_to_end(session, "user task")
    failed = next(e for e in events if e.type == "TOOL_CALL_FAILED")
    assert failed.tool_call_id == "task_1" and failed.kind == "denied"
    assert "SUBAGENT_STARTED" not in types(events)


async def test_cancelling_the_parent_cancels_every_subagent(tmp_path: Path) -> None:
    never = anyio.Event()
    reached = {"A": anyio.Event(), "B": anyio.Event()}
    router = Router(
        {
            "user task": [reply(task("task_a", "job A"), task("task_b", "job B"))],
            "job A": [
                reply(ToolCall("Echo", {"text": "a"}, id="echo_a")),
                reply(Wait(never, reached["A"])),
            ],
            "job B": [reply(Text("thinking about it "), Wait(never, reached["B"]))],
        }
    )
    session = session_with(router, tmp_path)
    async with session:
        run_id = await session.submit("user task")
        with anyio.fail_after(10):
            await reached["A"].wait()
            await reached["B"].wait()
        await session.cancel()
        assert not session.running
    events = [e for e in session.store.replay(0) if e.run_id == run_id]
    assert types(events)[-1] == "RUN_CANCELLED"
    done = [e for e in events if e.type == "SUBAGENT_COMPLETED"]
    assert sorted((e.tool_call_id, e.status) for e in done) == [
        ("task_a", "cancelled"),
        ("task_b", "cancelled"),
    ]
    # B's partial answer is kept (interrupted) inside B; both Task calls are answered.
    partial = [e for e in nested(events, "task_b") if e.type == "MESSAGE_COMPLETED"]
    assert partial and partial[-1].message.interrupted
    failed = {e.tool_call_id: e.kind for e in events if e.type == "TOOL_CALL_FAILED"}
    assert failed == {"task_a": "cancelled", "task_b": "cancelled"}
    results = [m for m in session.messages if isinstance(m, ToolResultMessage)]
    assert [r.tool_call_id for r in results] == ["task_a", "task_b"]


async def test_a_subagent_stop_hook_makes_it_continue(tmp_path: Path) -> None:
    router = Router(
        {
            "user task": [reply(task("task_1", "job")), reply(Text("ok"))],
            "job": [reply(Text("first try")), reply(Text("second try"))],
        }
    )
    session = session_with(router, tmp_path)
    seen: list[dict] = []

    async def check(payload: dict) -> dict | None:
        seen.append(payload)
        return {"decision": "block", "reason": "look again"} if len(seen) == 1 else None

    session.hooks.add_callback("SubagentStop", check)
    async with session:
        events = await run_to_end(session, "user task")
    assert [p["stop_hook_active"] for p in seen] == [False, True]
    assert seen[0]["agent_name"] == "general-purpose" and seen[0]["tool_use_id"] == "task_1"
    second = router.requests["job"][1]
    assert second.messages[-1].text == "look again"
    done = next(e for e in events if e.type == "SUBAGENT_COMPLETED")
    assert done.result == "second try" and done.turns == 2
    hooks = [e for e in events if e.type == "HOOK_DENIED"]
    assert hooks and hooks[0].parent_tool_call_id == "task_1"


async def test_an_agent_with_a_model_of_its_own(tmp_path: Path) -> None:
    script = tmp_path / "child.yaml"
    script.write_text("responses:\n  - text: from the other model\n")
    agent_file(
        tmp_path,
        ".harness",
        "other",
        "You use another model.",
        description="x",
        model=str(f"scripted:{script}"),
    )
    router = Router({"user task": [reply(task("task_1", "job", "other")), reply(Text("ok"))]})
    session = session_with(router, tmp_path)
    async with session:
        events = await run_to_end(session, "user task")
    started = next(e for e in events if e.type == "SUBAGENT_STARTED")
    assert started.model == f"scripted:{script}"
    done = next(e for e in events if e.type == "TOOL_CALL_COMPLETED")
    assert done.content == "from the other model"


async def test_unknown_agents_and_bad_model_names_are_tool_errors(tmp_path: Path) -> None:
    agent_file(tmp_path, ".claude", "broken", "x", description="x", model="no-such-model")
    router = Router(
        {
            "user task": [
                reply(task("task_1", "job", "nobody"), task("task_2", "job", "broken")),
                reply(Text("ok")),
            ]
        }
    )
    session = session_with(router, tmp_path)
    async with session:
        events = await run_to_end(session, "user task")
    errors = {e.tool_call_id: e.error for e in events if e.type == "TOOL_CALL_FAILED"}
    assert "There is no agent 'nobody'" in errors["task_1"] and "broken" in errors["task_1"]
    assert "cannot start" in errors["task_2"] and "no-such-model" in errors["task_2"]


def test_agent_files_are_found_and_bad_ones_reported(tmp_path: Path) -> None:
    agent_file(
        tmp_path, ".claude", "reviewer", "Review.", description="Reviews.", tools="Read, Grep"
    )
    agent_file(tmp_path, ".harness", "writer", "Write.", description="Writes.", model="inherit")
    agent_file(tmp_path, ".claude", "nameless", "x", description="")
    (tmp_path / ".claude" / "agents" / "bad.md").write_text("---\nname: [x\n---\nbody\n")
    found = discover_agents(tmp_path)
    assert set(found.agents) == {"general-purpose", "reviewer", "writer"}
    assert found.agents["reviewer"].tools == ("Read", "Grep")
    assert found.agents["writer"].model is None
    assert any("nameless.md: description: required" in p for p in found.problems)
    assert any("bad.md" in p and "line 2" in p for p in found.problems)


async def test_a_subagent_is_not_cut_by_the_tool_timeout(tmp_path: Path) -> None:
    router = Router(
        {
            "user task": [reply(task("task_1", "slow job")), reply(Text("ok"))],
            "slow job": [reply(ToolCall("Echo", {"text": "a"})), reply(Sleep(0.3), Text("done"))],
        }
    )
    session = session_with(router, tmp_path)
    session.executor.timeout_s = 0.1  # shorter than the sub-agent's whole run
    async with session:
        events = await run_to_end(session, "user task")
    task_done = next(e for e in events if e.type == "TOOL_CALL_COMPLETED" and e.tool_name == "Task")
    assert task_done.content == "done"
