"""The turn host on its own: what a run of the loop gets from its owner each turn (the
provider, the tools, the hooks at the end, usage, the plan, a halt), for the session's
conversation and for a sub-agent's, judged by the events and figures the owner gets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness_tui.core.events import PlanEntry
from harness_tui.core.extensions.agents import AgentDefinition
from harness_tui.core.messages import UserMessage
from harness_tui.core.providers.base import Provider
from harness_tui.core.providers.offline.scripted import Text, ToolCall, Usage, reply
from harness_tui.core.run.loop import AgentLoop
from harness_tui.core.run.subagents import SubagentHost
from harness_tui.core.run.turn_host import MAX_STOP_BLOCKS, TurnHost
from tests.helpers import EchoTool, squeeze
from tests.turn_support import Models, Owner


def host_of(owner: Owner, **options: Any) -> tuple[TurnHost, Models]:
    models = Models(owner)
    messages = [UserMessage.of("go", "prompt")]
    return TurnHost(owner, messages, owner.executor, "system", models, **options), models


async def test_a_run_on_the_host_reports_through_the_owner(tmp_path: Path) -> None:
    owner = Owner(
        tmp_path,
        reply(ToolCall("Echo", {"text": "x"}), Usage(10, 2)),
        reply(Text("done"), Usage(12, 3)),
        tools=[EchoTool()],
    )
    host, models = host_of(owner)
    outcome = await AgentLoop(host, owner.max_turns).run()
    assert outcome.stop_reason == "end_turn" and outcome.result == "done" and outcome.turns == 2
    assert squeeze(owner.types()) == [
        "MESSAGE_COMPLETED",
        "TOOL_CALL_STARTED",
        "TOOL_CALL_COMPLETED",
        "TOKEN_DELTA",
        "MESSAGE_COMPLETED",
    ]
    # Every event carries the owner's session and run; usage goes to the owner's meter,
    # priced with the owner's model (None: the conversation's own).
    assert {(e.session_id, e.run_id) for e in owner.events()} == {("ses_owner", "run_owner")}
    assert [(u.input_tokens, u.output_tokens, m) for u, m in owner.usage] == [
        (10, 2, None),
        (12, 3, None),
    ]
    assert models.turns == 2
    assert [m.role for m in host.messages] == ["user", "assistant", "tool", "assistant"]
    request = owner.provider.requests[0]
    assert request.system == "system" and [t.name for t in request.tools] == ["Echo"]


async def test_the_context_count_follows_each_answer(tmp_path: Path) -> None:
    from harness_tui.core.run.context import ContextAccount

    owner = Owner(tmp_path, reply(Text("hi"), Usage(1000, 20)))
    context = ContextAccount()
    host, _ = host_of(owner, context=context)
    await AgentLoop(host, 3).run()
    assert context.used("system", lambda: (), host.messages) == 1020


async def test_a_stop_hook_keeps_the_run_going_until_it_is_overridden(tmp_path: Path) -> None:
    seen: list[bool] = []

    async def keep_going(data: dict[str, Any]) -> dict[str, Any]:
        seen.append(data["stop_hook_active"])
        return {"decision": "block", "reason": "one more thing"}

    owner = Owner(tmp_path)
    owner.hooks.add_callback("Stop", keep_going)
    host, _ = host_of(owner)
    answers = [await host.stop_requested() for _ in range(MAX_STOP_BLOCKS + 1)]
    assert answers == ["one more thing"] * MAX_STOP_BLOCKS + [None]
    assert seen == [False] + [True] * MAX_STOP_BLOCKS
    warnings = [e for e in owner.events() if e.type == "NOTICE"]
    assert len(warnings) == 1 and "3 times in a row" in warnings[0].message
    host.start_run()  # a new run: the hook may block again
    assert await host.stop_requested() == "one more thing"


async def test_a_halt_ends_the_run_and_skips_the_stop_hooks(tmp_path: Path) -> None:
    owner = Owner(tmp_path)
    ran: list[str] = []

    async def stop(data: dict[str, Any]) -> None:
        ran.append("Stop")

    owner.hooks.add_callback("Stop", stop)
    host, _ = host_of(owner)
    assert host.halt_requested() is None
    host.request_halt("first")
    host.request_halt("second")
    assert host.halt_requested() == "first"  # the first reason holds
    assert await host.stop_requested() is None and ran == []
    host.start_run()
    assert host.halt_requested() is None


async def test_the_plan_is_generated_then_updated(tmp_path: Path) -> None:
    owner = Owner(tmp_path)
    host, _ = host_of(owner)
    await host.set_plan([PlanEntry(content="read")], "c1")
    await host.set_plan([PlanEntry(content="read", status="completed")], "c2")
    assert owner.types() == ["PLAN_GENERATED", "PLAN_UPDATED"]
    assert host.plan == (PlanEntry(content="read", status="completed"),)
    assert owner.events()[1].tool_call_id == "c2"


async def test_tool_contexts_carry_the_owners_session_run_and_mode(tmp_path: Path) -> None:
    owner = Owner(tmp_path)
    owner.mode = "acceptEdits"
    host, _ = host_of(owner)
    ctx = host.tool_context("call_1")
    assert (ctx.session_id, ctx.run_id, ctx.tool_call_id) == ("ses_owner", "run_owner", "call_1")
    assert ctx.permission_mode == "acceptEdits" and ctx.cwd == tmp_path


async def test_compaction_and_mcp_come_in_at_the_turn_boundary(tmp_path: Path) -> None:
    calls: list[str] = []

    class Mcp:
        async def wait_started(self) -> None:
            calls.append("mcp")

        def select_tools(self, specs: Any, window: Any, hidden: Any) -> tuple[Any, ...]:
            calls.append("select")
            return ()

    class Compaction:
        async def at_boundary(self, provider: Provider, run_id: str | None) -> None:
            calls.append(f"compact {run_id}")

        async def recover(self, provider: Provider) -> bool:
            calls.append("recover")
            return True

    owner = Owner(tmp_path, tools=[EchoTool()])
    host, _ = host_of(owner, mcp=Mcp(), compaction=Compaction())
    provider = await host.begin_turn()
    assert calls == ["mcp", "compact run_owner"]
    assert host.build_request(provider).tools == ()  # as the MCP selection says
    assert await host.recover_from_overflow(provider) is True
    bare, _ = host_of(owner)
    assert await bare.recover_from_overflow(provider) is False


def agent(tools: tuple[str, ...] | None = None) -> AgentDefinition:
    return AgentDefinition("helper", "helps", "You help.", tools=tools, source="test")


async def test_a_sub_agent_host_shares_the_owners_usage_halt_and_hooks(tmp_path: Path) -> None:
    owner = Owner(tmp_path, reply(Text("found it"), Usage(7, 1)))
    seen: list[dict[str, Any]] = []

    async def subagent_stop(data: dict[str, Any]) -> None:
        seen.append(data)

    owner.hooks.add_callback("SubagentStop", subagent_stop)
    child_model = owner.model
    host = SubagentHost(owner, agent(), "look", "task_1", child_model, [EchoTool()])
    outcome = await AgentLoop(host, 3).run()
    assert outcome.result == "found it"
    # Its usage is the owner's, priced with the sub-agent's own model.
    assert [(u.input_tokens, m) for u, m in owner.usage] == [(7, child_model)]
    assert seen[0]["agent_name"] == "helper" and seen[0]["tool_use_id"] == "task_1"
    request = owner.provider.requests[0]
    assert "You help." in request.system
    assert [t.name for t in request.tools] == ["Echo"]
    # A halt of the owner's run halts the sub-agent; its plan stays its own.
    owner.halt = "hook said stop"
    assert host.halt_requested() == "hook said stop"
    await host.set_plan([PlanEntry(content="x")], "c")
    assert "PLAN_GENERATED" not in owner.types()
    await host.aclose()
