"""The budget's rules on their own: the check, the amounts it takes, its messages."""

from __future__ import annotations

import re

import pytest

from harness_tui.core.run.budget import BudgetLimits, BudgetStop, check_spend, parse_usd


@pytest.mark.parametrize(
    ("spent", "estimate", "stopped"),
    [
        (0.0, 0.0, False),  # nothing spent, nothing known: the first request goes
        (0.5, 0.0, False),
        (0.7, 0.3, False),  # exactly at the budget is within it
        (0.7, 0.30001, True),
        (1.0, 0.0, True),  # spent: even a request estimated at nothing is refused
        (1.2, 0.0, True),
    ],
)
def test_a_request_goes_while_spent_plus_its_estimate_is_within_the_budget(
    spent: float, estimate: float, stopped: bool
) -> None:
    stop = check_spend(BudgetLimits(run_usd=1.0), spent, spent, estimate)
    assert (stop is not None) == stopped


def test_float_drift_does_not_stop_a_request_that_fits() -> None:
    assert 0.1 + 0.2 > 0.3  # what the slack is for
    assert check_spend(BudgetLimits(run_usd=0.3), 0.1 + 0.1, 0.2, 0.1) is None


def test_the_run_budget_is_checked_before_the_session_budget() -> None:
    limits = BudgetLimits(run_usd=1.0, session_usd=2.0)
    assert check_spend(limits, 0.2, 1.9, 0.2).budget == "session_usd"  # type: ignore[union-attr]
    assert check_spend(limits, 0.9, 1.95, 0.2).budget == "run_usd"  # type: ignore[union-attr]
    assert check_spend(BudgetLimits(), 100.0, 100.0, 100.0) is None


def test_messages_say_which_budget_and_where_it_is_set() -> None:
    used_up = BudgetStop("session_usd", 5.0, 5.02, 0.3)
    assert used_up.message == (
        "stopped: the session's budget of $5.00 is used up ($5.02 spent; budget.sessionUsd)"
    )
    tiny = BudgetStop("run_usd", 0.05, 0.031, 0.0304)
    assert tiny.message == (
        "stopped before the next request: $0.0310 spent, and the next request (about "
        "$0.0304) would pass the run's budget of $0.05 (--max-budget-usd)"
    )
    assert tiny.fields()["limit"] == 0.05 and tiny.stop_reason == "budget_exceeded"
    turns = BudgetStop("turns", 3, 3)
    assert turns.fields() == {
        "budget": "turns",
        "limit": 3,
        "used": 3,
        "next_estimate": None,
        "message": "stopped after 3 model requests: the run's limit is 3 (--max-turns)",
    }


@pytest.mark.parametrize(("text", "value"), [("5", 5.0), ("0.50", 0.5), ("$2.5", 2.5), (" 1 ", 1)])
def test_amounts_of_dollars(text: str, value: float) -> None:
    assert parse_usd(text) == value


@pytest.mark.parametrize("text", ["0", "-1", "", "$", "abc", "inf", "nan", "1e999"])
def test_what_is_no_amount_is_refused_naming_it(text: str) -> None:
    with pytest.raises(ValueError, match=re.escape(f"{text!r} is not an amount of US dollars")):
        parse_usd(text)
