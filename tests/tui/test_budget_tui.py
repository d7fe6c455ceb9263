"""Budgets in the TUI: the status bar shows spend against each budget, and a budget that
stops the run is a notice that says why and what to do."""

from __future__ import annotations

from pathlib import Path

from harness_tui.core import events as ev
from harness_tui.core.session.session import Session
from harness_tui.widgets.conversation import NoticeEntry
from harness_tui.widgets.prompt_input import PromptInput
from harness_tui.widgets.status_bar import StatusBar, cost_parts
from tests import tui_events as canned
from tests.helpers import wait_for
from tests.tui.test_tui import tui, type_text, until
from tests.tui.test_tui_snapshots import app, feeding
from tests.tui_events import make


def budget_events() -> list[ev.Event]:
    started = canned.welcome()[0].model_copy(
        update={"run_budget_usd": 0.5, "session_budget_usd": 5.0}
    )
    return [
        started,
        *canned.prompt("Fix every failing test"),
        canned.usage(),  # $0.051
        make(ev.UsageUpdated, **_usage(cost=0.4, total=0.451), parent_tool_call_id="task_1"),
        make(
            ev.BudgetExceeded,
            budget="run_usd",
            limit=0.5,
            used=0.451,
            next_estimate=0.4,
            message="stopped before the next request: $0.45 spent, and the next request "
            "(about $0.40) would pass the run's budget of $0.50 (--max-budget-usd)",
        ),
        make(ev.RunCompleted, stop_reason="budget_exceeded", turns=2, duration_ms=8200.0),
    ]


def _usage(cost: float, total: float) -> dict:
    event = canned.usage()
    return {
        "usage": event.usage,
        "total": event.total,
        "cost_usd": cost,
        "total_cost_usd": total,
        "context_tokens": 9_000,
        "context_window": 200_000,
    }


def test_cost_parts_show_spend_against_each_budget() -> None:
    assert cost_parts(None, 0.0, None, None) == []
    assert cost_parts(0.42, 0.1, None, None) == ["$0.42"]
    assert cost_parts(0.42, 0.1, None, 5) == ["$0.42 / $5.00"]
    assert cost_parts(None, 0.0, 0.5, 5) == ["$0.00 / $5.00", "run $0.00 / $0.50"]
    assert cost_parts(1.5, 0.25, 0.5, None) == ["$1.50", "run $0.25 / $0.50"]


async def test_the_bar_counts_the_runs_spend_with_its_subagents_and_restarts_per_run() -> None:
    harness = app()
    async with harness.run_test(size=(120, 36)) as pilot:
        await harness.apply_events(budget_events())
        await harness.settle()
        await pilot.pause()
        bar = harness.query_one(StatusBar)
        shown = str(bar.render())
        assert "$0.45 / $5.00" in shown and "run $0.45 / $0.50" in shown
        await harness.apply_events(canned.prompt("again"))
        await pilot.pause()
        assert "run $0.00 / $0.50" in str(bar.render())


def test_a_budget_stop_on_screen(snap_compare) -> None:
    assert snap_compare(app(), terminal_size=(120, 24), run_before=feeding(budget_events()))


async def test_cost_names_the_budgets_and_clear_keeps_the_run_budget(tmp_path: Path) -> None:
    script = tmp_path / "priced.yaml"
    script.write_text(
        "- text: hello\n  usage: {input_tokens: 10, output_tokens: 2, cost_usd: 0.1}\n"
    )
    budget = tmp_path / ".harness" / "settings.yaml"
    budget.parent.mkdir()
    budget.write_text("budget: {sessionUsd: 3}\n")
    session = Session(
        model=f"scripted:{script}", cwd=tmp_path, tools=[], max_budget_usd=0.5, trusted=True
    )
    async with tui(session) as (app, pilot):
        app.query_one(PromptInput).load_text("hi")
        await pilot.press("enter")
        await wait_for(session.store, lambda e: e.type == "RUN_COMPLETED")
        app.query_one(PromptInput).load_text("")
        await type_text(pilot, "/cost")
        await pilot.press("enter")
        await until(pilot, lambda: any("Budget:" in n.text for n in app.query(NoticeEntry)))
        cost = next(n.text for n in app.query(NoticeEntry) if "Budget:" in n.text)
        assert "Budget: $0.1000 of the session's $3.00; $0.1000 of the last run's $0.50." in cost
        app.query_one(PromptInput).load_text("")
        await type_text(pilot, "/clear")
        await pilot.press("enter")
        await until(pilot, lambda: app.session is not session and app.session.is_open)
        limits = app.session.usage.limits
        assert (limits.run_usd, limits.session_usd) == (0.5, 3)
        bar = app.query_one(StatusBar)
        await until(pilot, lambda: "run $0.00 / $0.50" in str(bar.render()))
