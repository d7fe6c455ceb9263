"""The TUI side of plugins, skills, sub-agents and custom commands: listings, ``/name``
invocation, completion, and how nested sub-agent cards look."""

from __future__ import annotations

from pathlib import Path

from harness_tui.core import events as ev
from harness_tui.core.messages import ToolCallBlock
from harness_tui.core.providers.base import ModelRequest
from harness_tui.core.providers.offline.scripted import Reply, Text, ToolCall, reply
from harness_tui.core.session.session import Session
from harness_tui.tui.app import HarnessApp
from harness_tui.widgets.conversation import Conversation, NoticeEntry, UserEntry
from harness_tui.widgets.prompt_input import PromptInput
from harness_tui.widgets.tool_card import ToolCard
from tests import tui_events as canned
from tests.helpers import EchoTool, scripted_in, wait_for
from tests.tui.test_tui import scripted_session, tui, type_text, until
from tests.tui_events import make


def notice_with(app: HarnessApp, text: str) -> bool:
    return any(text in n.text for n in app.query(NoticeEntry))


def project(tmp_path: Path) -> Path:
    skill = tmp_path / ".claude" / "skills" / "deploy" / "SKILL.md"
    skill.parent.mkdir(parents=True)
    skill.write_text("---\nname: deploy\ndescription: Ship the app.\n---\nDeploy to $ARGUMENTS\n")
    command = tmp_path / ".claude" / "commands" / "fix.md"
    command.parent.mkdir(parents=True)
    command.write_text("---\ndescription: Fix an issue\nargument-hint: <id>\n---\nFix issue $1\n")
    (tmp_path / "AGENTS.md").write_text("Run the tests before you finish.\n")
    return tmp_path


async def test_listings_of_skills_plugins_and_context(plugins_on: None, tmp_path: Path) -> None:
    session = scripted_session(cwd=project(tmp_path))
    async with tui(session) as (app, pilot):
        for command, expected in (
            ("/skills", "/deploy: Ship the app. · project"),
            ("/plugins", "git 1.0.0 (bundled"),
            ("/context", f"{tmp_path / 'AGENTS.md'} (project, 33 bytes)"),
        ):
            await type_text(pilot, command)
            await pilot.press("enter")
            await until(pilot, lambda expected=expected: notice_with(app, expected))
        assert notice_with(app, "Sub-agents: general-purpose, reviewer")


async def test_custom_commands_and_skills_complete_and_run_from_the_input(tmp_path: Path) -> None:
    session = scripted_session(reply(Text("on it")), reply(Text("shipping")), cwd=project(tmp_path))
    async with tui(session) as (app, pilot):
        prompt = app.query_one(PromptInput)
        await type_text(pilot, "/fi")
        await pilot.press("tab")
        assert prompt.text == "/fix "
        await type_text(pilot, "42")
        await pilot.press("enter")
        await wait_for(session.store, lambda e: e.type == "RUN_COMPLETED")
        conversation = app.query_one(Conversation)
        await until(pilot, lambda: bool(conversation.query(UserEntry)))
        assert conversation.query(UserEntry).first().text == "Fix issue 42"
        await type_text(pilot, "/deploy staging")
        await pilot.press("enter")
        await until(
            pilot,
            lambda: sum(e.type == "RUN_COMPLETED" for e in session.store.replay(0)) == 2,
        )
        prompts = [e.text for e in session.store.replay(0) if e.type == "PROMPT_RECEIVED"]
        assert "Deploy to staging" in prompts[1]
        slash = dict(app.slash_commands())
        assert slash["fix"] == "Fix an issue <id> (project)" and "deploy" in slash


def subagent_events() -> list[ev.Event]:
    """Two reviewers in parallel: one done, one still working."""

    def task(call_id: str, prompt: str) -> ev.Event:
        return canned.tool_started(
            call_id, "Task", description=prompt, prompt=prompt, subagent_type="reviewer"
        )

    def inner(event_type: type[ev.Event], parent: str, **fields: object) -> ev.Event:
        return make(event_type, parent_tool_call_id=parent, **fields)

    calls = (
        ToolCallBlock(id="task_1", name="Task", input={"description": "review parser"}),
        ToolCallBlock(id="task_2", name="Task", input={"description": "review tests"}),
    )
    return [
        *canned.prompt("Review the parser and its tests"),
        canned.completed("msg_1", "Two reviewers, in parallel.", calls),
        task("task_1", "review parser"),
        task("task_2", "review tests"),
        make(ev.SubagentStarted, tool_call_id="task_1", agent_name="reviewer", model="demo"),
        make(ev.SubagentStarted, tool_call_id="task_2", agent_name="reviewer", model="demo"),
        inner(ev.ToolCallStarted, "task_1", tool_call_id="d1", tool_name="git_diff", input={}),
        inner(
            ev.ToolCallStarted,
            "task_2",
            tool_call_id="r2",
            tool_name="Read",
            input={"file_path": "tests/test_parser.py"},
        ),
        inner(
            ev.ToolCallCompleted,
            "task_1",
            tool_call_id="d1",
            tool_name="git_diff",
            content="diff",
            display="exit 0",
            duration_ms=40.0,
        ),
        inner(
            ev.ToolCallStarted,
            "task_1",
            tool_call_id="g1",
            tool_name="Grep",
            input={"pattern": "def parse"},
        ),
        inner(
            ev.ToolCallCompleted,
            "task_1",
            tool_call_id="g1",
            tool_name="Grep",
            content="2 matches",
            display="2 matches",
            duration_ms=12.0,
        ),
        make(
            ev.SubagentCompleted,
            tool_call_id="task_1",
            agent_name="reviewer",
            status="completed",
            result="No bugs found.",
            duration_ms=5100.0,
            turns=3,
        ),
        make(
            ev.ToolCallCompleted,
            tool_call_id="task_1",
            tool_name="Task",
            content="No bugs found.",
            display="reviewer: 3 turn(s)\nNo bugs found.",
            duration_ms=5100.0,
        ),
    ]


def test_nested_subagent_cards(snap_compare) -> None:
    app = HarnessApp(Session(model="demo", cwd=Path("/")), frozen_clock=True, connect=False)

    async def run_before(pilot) -> None:
        await pilot.pause()
        await pilot.app.apply_events(subagent_events())
        await pilot.app.settle()
        await pilot.pause()
        cards = {c.tool_call_id: c for c in pilot.app.query(ToolCard)}
        # The sub-agents' calls come right after their Task card, indented.
        order = [c.tool_call_id for c in pilot.app.query(ToolCard)]
        assert order.index("task_1") < order.index("d1") < order.index("task_2")
        assert order.index("task_2") < order.index("r2")
        assert (cards["d1"].depth, cards["r2"].depth, cards["task_1"].depth) == (1, 1, 0)

    assert snap_compare(app, terminal_size=(120, 36), run_before=run_before)


async def test_a_live_subagents_cards_nest_under_its_task_card(tmp_path: Path) -> None:
    def script(request: ModelRequest) -> Reply:
        turn = sum(m.role == "assistant" for m in request.messages)
        if request.messages[0].text == "delegate":
            job = {"description": "echo", "prompt": "echo job", "subagent_type": "general-purpose"}
            return reply(ToolCall("Task", job, id="task")) if turn == 0 else reply(Text("done"))
        if turn == 0:
            return reply(ToolCall("Echo", {"text": "from the helper"}, id="inner"))
        return reply(Text("echoed"))

    session, _ = scripted_in(tmp_path, script, tools=[EchoTool()])
    async with tui(session) as (app, pilot):
        await type_text(pilot, "delegate")
        await pilot.press("enter")
        await wait_for(session.store, lambda e: e.type == "RUN_COMPLETED")
        await until(pilot, lambda: len(app.query(ToolCard)) == 2)
        cards = {c.tool_call_id: c for c in app.query(ToolCard)}
        await until(pilot, lambda: cards["task"].status == "done")
        order = [c.tool_call_id for c in app.query(ToolCard)]
        assert order == ["task", "inner"] and cards["inner"].depth == 1
        assert cards["task"].agent_label == "general-purpose · completed"
