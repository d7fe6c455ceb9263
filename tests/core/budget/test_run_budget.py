"""Budgets stop scripted runs with priced usage at the turn boundary where the next
request would pass them: the run's (``max_budget_usd``), the session's (settings), the
turns (``max_turns``), with a sub-agent's spend counted."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness_tui.core.errors import HarnessError
from harness_tui.core.events import BudgetExceeded, Event, RunCompleted
from harness_tui.core.messages import ToolResultMessage
from harness_tui.core.providers.offline.scripted import Reply, Text, ToolCall, Usage, reply
from harness_tui.core.session.session import Session
from tests.core.run.test_subagents import Router, session_with, task
from tests.helpers import EchoTool, run_to_end, scripted_in, types


def echo_turns(count: int, cost: float) -> list[Reply]:
    """``count`` replies that each call Echo and cost ``cost`` dollars (as a provider
    that reports cost says), so the run would go on until the script ends."""
    return [
        reply(ToolCall("Echo", {"text": str(i)}), Usage(1000, 50, cost_usd=cost))
        for i in range(count)
    ]


def ended(events: list[Event]) -> tuple[BudgetExceeded, RunCompleted]:
    stop = [e for e in events if isinstance(e, BudgetExceeded)]
    done = events[-1]
    assert len(stop) == 1 and isinstance(done, RunCompleted), types(events)
    return stop[0], done


async def test_the_run_stops_before_the_request_that_would_pass_its_budget(
    tmp_path: Path,
) -> None:
    # $0.10 a request, $0.25 to spend: after two requests ($0.20 spent) the third,
    # estimated at the last one's $0.10, would pass it. Two requests, not three.
    session, provider = scripted_in(
        tmp_path, echo_turns(5, 0.10), tools=[EchoTool()], max_budget_usd=0.25
    )
    async with session:
        events = await run_to_end(session, "loop")
    stop, done = ended(events)
    assert len(provider.requests) == 2
    assert (stop.budget, stop.limit, stop.used, stop.next_estimate) == ("run_usd", 0.25, 0.2, 0.1)
    assert "would pass the run's budget of $0.25" in stop.message
    assert "--max-budget-usd" in stop.message
    assert (done.stop_reason, done.turns, done.is_error) == ("budget_exceeded", 2, False)
    assert done.cost_usd == pytest.approx(0.2)
    # The event comes after the last tool result and before the run's end.
    assert types(events)[-3:] == ["TOOL_CALL_COMPLETED", "BUDGET_EXCEEDED", "RUN_COMPLETED"]
    assert isinstance(session.messages[-1], ToolResultMessage)  # a valid history to go on


async def test_a_budget_that_the_estimate_fits_lets_the_run_finish(tmp_path: Path) -> None:
    script = [*echo_turns(2, 0.10), reply(Text("done"), Usage(10, 5, cost_usd=0.10))]
    session, provider = scripted_in(tmp_path, script, tools=[EchoTool()], max_budget_usd=0.30)
    async with session:
        events = await run_to_end(session, "loop")
    assert "BUDGET_EXCEEDED" not in types(events)
    assert events[-1].stop_reason == "end_turn" and len(provider.requests) == 3


async def test_a_first_request_may_pass_it_and_the_next_run_is_estimated_from_it(
    tmp_path: Path,
) -> None:
    # A conversation's first request has no estimate (an answer's cost is not known
    # before it is written), so it goes. The next run's budget starts from nothing, but
    # its first request is estimated at what the conversation's last one cost.
    script = [reply(Text("a"), Usage(1, 1, cost_usd=0.40)), reply(Text("b"), Usage(1, 1))]
    session, provider = scripted_in(tmp_path, script, tools=[EchoTool()], max_budget_usd=0.30)
    async with session:
        first = await run_to_end(session, "one")
        second = await run_to_end(session, "two")
    assert "BUDGET_EXCEEDED" not in types(first) and first[-1].cost_usd == 0.40
    stop, done = ended(second)
    assert (stop.used, stop.next_estimate, done.turns) == (0.0, 0.4, 0)
    assert stop.message == (
        "stopped before the next request: $0.00 spent, and the next request (about $0.40) "
        "would pass the run's budget of $0.30 (--max-budget-usd)"
    )
    assert len(provider.requests) == 1


async def test_priced_tokens_of_a_script_file_count(tmp_path: Path) -> None:
    # A script's `price` prices its usage like a catalogue model: 100k input tokens at
    # $3 per million is $0.30 a request.
    turn = (
        "  - tool_calls: [{name: Echo, input: {text: hi}}]\n"
        "    usage: {input_tokens: 100000, output_tokens: 0}\n"
    )
    script = tmp_path / "priced.yaml"
    script.write_text("price: {input: 3, output: 15}\nresponses:\n" + turn * 4)
    session = Session(
        model=f"scripted:{script}", cwd=tmp_path, tools=[EchoTool()], max_budget_usd=1.0
    )
    async with session:
        events = await run_to_end(session, "loop")
    stop, done = ended(events)
    assert done.turns == 3 and stop.used == pytest.approx(0.9)  # $0.90 + $0.30 > $1.00
    assert session.total_cost_usd == pytest.approx(0.9)


def budget_settings(cwd: Path, text: str) -> Path:
    path = cwd / ".harness" / "settings.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


async def test_the_session_budget_from_the_settings_spans_runs(tmp_path: Path) -> None:
    budget_settings(tmp_path, "budget:\n  sessionUsd: 0.5\n")
    script = [reply(Text(x), Usage(1, 1, cost_usd=0.2)) for x in "abcd"]
    session, provider = scripted_in(tmp_path, script, tools=[EchoTool()], trusted=True)
    async with session:
        runs = [await run_to_end(session, prompt) for prompt in ("one", "two", "three")]
    assert [r[-1].stop_reason for r in runs] == ["end_turn", "end_turn", "budget_exceeded"]
    stop, done = ended(runs[2])
    # $0.40 spent and the last request cost $0.20: a third would pass $0.50.
    assert (stop.budget, stop.used, stop.next_estimate) == ("session_usd", 0.4, 0.2)
    assert "session's budget of $0.50" in stop.message and "budget.sessionUsd" in stop.message
    assert done.turns == 0 and len(provider.requests) == 2


@pytest.mark.parametrize(
    ("section", "problem"),
    [
        ("budget: 5\n", "budget: expected a mapping"),
        ("budget: {sessionUsd: -1}\n", "budget.sessionUsd: -1 is not an amount of US dollars"),
        ("budget: {sessionUsd: lots}\n", "budget.sessionUsd: 'lots' is not an amount"),
        ("budget: {sessionUSD: 5}\n", "budget.sessionUSD: unknown key (known: sessionUsd, runUsd)"),
    ],
)
async def test_a_bad_budget_setting_is_a_notice_naming_the_file(
    tmp_path: Path, section: str, problem: str
) -> None:
    path = budget_settings(tmp_path, section)
    session, _ = scripted_in(tmp_path, [reply(Text("hi"))], tools=[EchoTool()], trusted=True)
    async with session:
        notices = [e.message for e in session.store.replay(0) if e.type == "NOTICE"]
        assert session.usage.limits.session_usd is None
    assert any(f"{path}: {problem}" in n for n in notices), notices


async def test_the_command_line_run_budget_wins_over_the_settings(tmp_path: Path) -> None:
    budget_settings(tmp_path, "budget: {runUsd: 9, sessionUsd: 20}\n")
    session, _ = scripted_in(tmp_path, [], tools=[EchoTool()], trusted=True, max_budget_usd=2)
    assert (session.usage.limits.run_usd, session.usage.limits.session_usd) == (2, 20)
    with pytest.raises(HarnessError, match="max_budget_usd must be above 0"):
        scripted_in(tmp_path, [], max_budget_usd=0)


async def test_max_turns_is_a_budget_too(tmp_path: Path) -> None:
    session, provider = scripted_in(tmp_path, echo_turns(5, 0.01), tools=[EchoTool()], max_turns=2)
    async with session:
        events = await run_to_end(session, "loop")
    stop, done = ended(events)
    assert (stop.budget, stop.limit, stop.used) == ("turns", 2, 2)
    assert stop.message == "stopped after 2 model requests: the run's limit is 2 (--max-turns)"
    assert done.stop_reason == "max_turns" and len(provider.requests) == 2


async def test_a_subagents_spend_counts_and_stops_it_and_then_its_parent(
    tmp_path: Path,
) -> None:
    # The parent's request costs $0.15; the sub-agent's $0.20 each. Budget $0.60: the
    # sub-agent makes two requests ($0.55 spent), its third would pass the budget, so
    # it stops; the parent, told so, stops at its next boundary ($0.55 + $0.15 > $0.60).
    router = Router(
        {
            "user task": [reply(task("task_1", "long job"), Usage(1, 1, cost_usd=0.15))],
            "long job": [
                reply(ToolCall("Echo", {"text": str(i)}), Usage(1, 1, cost_usd=0.20))
                for i in range(4)
            ],
        }
    )
    session = session_with(router, tmp_path, max_budget_usd=0.60)
    async with session:
        events = await run_to_end(session, "user task")
    stops = [e for e in events if isinstance(e, BudgetExceeded)]
    assert [(e.parent_tool_call_id, e.used) for e in stops] == [("task_1", 0.55), (None, 0.55)]
    assert len(router.requests["long job"]) == 2 and len(router.requests["user task"]) == 1
    sub = next(e for e in events if e.type == "SUBAGENT_COMPLETED")
    assert sub.turns == 2
    result = next(e for e in events if e.type == "TOOL_CALL_COMPLETED" and e.tool_name == "Task")
    assert "would have passed the spending budget" in result.content
    done = events[-1]
    assert done.stop_reason == "budget_exceeded" and done.cost_usd == pytest.approx(0.55)


async def test_usage_without_a_price_is_named_once_when_a_budget_is_set(tmp_path: Path) -> None:
    script = [reply(Text(x), Usage(10, 10)) for x in "ab"]
    session, _ = scripted_in(tmp_path, script, tools=[EchoTool()], max_budget_usd=1)
    async with session:
        events = [*await run_to_end(session, "one"), *await run_to_end(session, "two")]
    warnings = [e.message for e in events if e.type == "NOTICE"]
    assert warnings == [
        "scripted has no known price, so the budget does not count its usage; give it one "
        "under models: in your settings (e.g. {price: {input: 3, output: 15}}, dollars per "
        "million tokens)"
    ]
    assert events[-1].stop_reason == "end_turn"


async def test_a_resumed_session_brings_its_spend_to_the_session_budget(tmp_path: Path) -> None:
    # The first request goes (nothing known of its cost) and spends $0.45 of $0.40; the
    # session, resumed, has its spend back and makes no request.
    budget_settings(tmp_path, "budget: {sessionUsd: 0.4}\n")
    script = tmp_path / "priced.yaml"
    script.write_text("- text: a\n  usage: {input_tokens: 1, output_tokens: 1, cost_usd: 0.45}\n")
    first = Session(model=f"scripted:{script}", cwd=tmp_path, tools=[], trusted=True)
    async with first:
        assert (await run_to_end(first, "spend"))[-1].stop_reason == "end_turn"
    again = Session.resume(first.id, cwd=tmp_path, tools=[], trusted=True)
    async with again:
        events = await run_to_end(again, "more")
    stop, done = ended(events)
    assert (stop.budget, stop.used, done.turns) == ("session_usd", 0.45, 0)
    assert stop.message.startswith("stopped: the session's budget of $0.40 is used up")


def test_a_bad_price_in_a_script_names_the_field(tmp_path: Path) -> None:
    from harness_tui.core.errors import ConfigError
    from harness_tui.core.providers.offline.scripted import ScriptedProvider

    script = tmp_path / "bad.yaml"
    script.write_text("price: {input: -3, output: 15}\nresponses:\n  - text: hi\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml: price\.input"):
        ScriptedProvider.from_file(script)
    script.write_text("responses:\n  - text: hi\n    usage: {cost_usd: free}\n")
    with pytest.raises(ConfigError, match=r"responses\[0\]\.usage\.cost_usd"):
        ScriptedProvider.from_file(script)
