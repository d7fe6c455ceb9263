"""Spending caps: a run's turns, a run's dollars and a session's dollars.

Checked at each turn boundary, before the model request that would start the turn (the
session's own turns and a sub-agent's alike): the run stops there, with
``BUDGET_EXCEEDED`` and a ``RUN_COMPLETED`` whose ``stop_reason`` says which cap, when

- ``turns``: the run (or sub-agent) already made ``max_turns`` requests;
- ``run_usd`` / ``session_usd``: what was spent, plus the estimate of the next request,
  is more than the budget. The estimate is what the previous request of the same
  conversation cost (the next one sends that request's input again, and more); a
  conversation's first request is estimated at nothing, so it is refused only when the
  budget is already spent. One request can still pass the budget: an answer's length is
  not known before it is written.

Everything priced counts: the session's requests, its sub-agents' (their usage goes into
the session's meter) and compaction summaries. Usage without a known price (a model
missing from the catalogue, an unpriced script) counts as nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from harness_tui.core.config.settings import Settings

BudgetKind = Literal["turns", "run_usd", "session_usd"]

#: The ``stop_reason`` of a run that a cap ended (``max_turns`` was the name before).
STOP_REASONS: dict[BudgetKind, str] = {
    "turns": "max_turns",
    "run_usd": "budget_exceeded",
    "session_usd": "budget_exceeded",
}
BUDGET_STOP_REASONS = frozenset(STOP_REASONS.values())
#: The settings section (``budget: {sessionUsd: 5, runUsd: 1}``) and its keys.
SETTINGS_KEY = "budget"
SETTINGS_FIELDS = {"sessionUsd": "session_usd", "runUsd": "run_usd"}
_SLACK_USD = 1e-9


@dataclass(frozen=True, slots=True)
class BudgetLimits:
    """The dollar caps (None: no cap)."""

    run_usd: float | None = None
    session_usd: float | None = None

    @property
    def any(self) -> bool:
        return self.run_usd is not None or self.session_usd is not None


@dataclass(frozen=True, slots=True)
class BudgetStop:
    """Why the next request is not made: the ``BUDGET_EXCEEDED`` event's fields."""

    budget: BudgetKind
    limit: float
    used: float
    next_estimate: float | None = None

    @property
    def stop_reason(self) -> str:
        return STOP_REASONS[self.budget]

    @property
    def message(self) -> str:
        if self.budget == "turns":
            return (
                f"stopped after {int(self.used)} model requests: the run's limit is "
                f"{int(self.limit)} (--max-turns)"
            )
        whose = "the run's budget" if self.budget == "run_usd" else "the session's budget"
        source = "--max-budget-usd" if self.budget == "run_usd" else "budget.sessionUsd"
        spent = f"{_usd(self.used)} spent"
        if self.used >= self.limit or not self.next_estimate:
            return f"stopped: {whose} of {_usd(self.limit)} is used up ({spent}; {source})"
        return (
            f"stopped before the next request: {spent}, and the next request (about "
            f"{_usd(self.next_estimate)}) would pass {whose} of {_usd(self.limit)} ({source})"
        )

    def fields(self) -> dict[str, Any]:
        """The ``BudgetExceeded`` event's fields."""
        return {
            "budget": self.budget,
            "limit": int(self.limit) if self.budget == "turns" else self.limit,
            "used": int(self.used) if self.budget == "turns" else round(self.used, 6),
            "next_estimate": None if self.next_estimate is None else round(self.next_estimate, 6),
            "message": self.message,
        }


def check_spend(
    limits: BudgetLimits, run_spent: float, session_spent: float, next_estimate: float
) -> BudgetStop | None:
    """The dollar cap the next request (``next_estimate``) would pass, the run's first."""
    for kind, limit, spent in (
        ("run_usd", limits.run_usd, run_spent),
        ("session_usd", limits.session_usd, session_spent),
    ):
        # Sums of float prices drift (0.1 + 0.2 > 0.3): compare to a billionth of a dollar.
        if limit is not None and (
            spent >= limit - _SLACK_USD or spent + next_estimate > limit + _SLACK_USD
        ):
            return BudgetStop(kind, limit, spent, next_estimate)  # type: ignore[arg-type]
    return None


def limits_from_settings(
    settings: Settings, run_usd: float | None = None
) -> tuple[BudgetLimits, list[str]]:
    """The caps from ``budget`` in the settings, ``run_usd`` (the
    command line's) winning over ``runUsd``; the problems found, each naming its file
    (a bad value is ignored: no cap)."""
    problems: list[str] = []
    found = settings.value(SETTINGS_KEY)
    values: dict[str, float | None] = {"run_usd": None, "session_usd": None}
    if found is not None:
        section, source = found
        where = f"{source.label}: {SETTINGS_KEY}"
        if not isinstance(section, dict):
            problems.append(
                f"{where}: expected a mapping such as {{sessionUsd: 5.0}}; no budget applies"
            )
            section = {}
        for key, value in section.items():
            name = SETTINGS_FIELDS.get(key)
            if name is None:
                problems.append(
                    f"{where}.{key}: unknown key (known: {', '.join(SETTINGS_FIELDS)}); ignored"
                )
            elif _dollars(value) is None:
                problems.append(
                    f"{where}.{key}: {value!r} is not an amount of US dollars above 0 "
                    "(write e.g. 5 or 2.50); this budget is ignored"
                )
            else:
                values[name] = _dollars(value)
    if run_usd is not None:
        values["run_usd"] = run_usd
    return BudgetLimits(**values), problems


def parse_usd(text: str) -> float:
    """``--max-budget-usd``'s value: ``5``, ``0.50`` or ``$2.5``; ValueError otherwise."""
    value = _dollars(text.strip().removeprefix("$")) if isinstance(text, str) else None
    if value is None:
        raise ValueError(f"{text!r} is not an amount of US dollars above 0 (e.g. 5 or 0.50)")
    return value


def _dollars(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number < float("inf") else None


def _usd(value: float) -> str:
    """Cents, or four places for small amounts that cents would round away."""
    return f"${value:,.2f}" if value >= 0.1 or round(value, 2) == value else f"${value:.4f}"
