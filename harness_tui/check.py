"""``harness-tui check [MODEL]``: does this provider work, before a long session finds out?

One real session (nothing saved, nothing of the project loaded) runs one small task: call
a tool with a word, then answer with what the tool returned. That exercises what a
session needs from a provider: the key and base URL, streaming, a tool call, the request
that carries the tool result back (with the model's thinking, where it thinks, in the
form the provider demands), usage and cost. Each is reported as worked or not; what
failed comes with the provider's own message and what to change. Exit 0 only when the
tool round trip was valid.
"""

from __future__ import annotations

import json
import secrets
import tempfile
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any, ClassVar, TextIO

from harness_tui.core.tools.base import Tool, ToolContext, ToolResult

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2

RUN_END_TYPES = ("RUN_COMPLETED", "RUN_CANCELLED")
SYSTEM = (
    "You are taking part in a connection check of harness-tui. Follow the user's "
    "instructions exactly and keep your answer to one line."
)


class EchoTool(Tool):
    """Gives the word back, marked, so the final answer shows the result was read."""

    name = "check_echo"
    description = "Returns the given word, marked as read by the tool."
    input_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {"word": {"type": "string", "description": "The word to echo."}},
        "required": ["word"],
    }
    read_only = True
    concurrency_safe = True

    async def run(self, input: dict[str, Any], ctx: ToolContext) -> ToolResult:
        word = str(input.get("word", ""))
        return ToolResult(content=f"echo-{word}")


@dataclass
class Step:
    name: str
    ok: bool | None  # None: not applicable / not known
    detail: str


@dataclass
class Report:
    model: str
    steps: list[Step] = field(default_factory=list)
    error: str | None = None
    hint: str | None = None
    passed: bool = False

    def add(self, name: str, ok: bool | None, detail: str) -> None:
        self.steps.append(Step(name, ok, detail))

    def as_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "passed": self.passed,
            "steps": [{"name": s.name, "ok": s.ok, "detail": s.detail} for s in self.steps],
            "error": self.error,
            "hint": self.hint,
        }


async def run_check(
    name: str | None,
    out: TextIO,
    err: TextIO,
    *,
    as_json: bool = False,
    word: str | None = None,
) -> int:
    """Check ``name`` (the default model when None) and print the report. ``word``: what
    the model is asked to echo (random unless given: a test's scripted API knows it)."""
    from pathlib import Path

    from harness_tui.core.errors import HarnessError
    from harness_tui.core.providers.models import default_model_name, resolve_model

    try:
        choice = resolve_model(name or default_model_name(), cwd=Path.cwd())
    except HarnessError as exc:
        print(f"harness-tui check: {exc}", file=err)
        return EXIT_BAD_INPUT
    report = await _check(choice, word or secrets.token_hex(3))
    if as_json:
        print(json.dumps(report.as_dict(), indent=2), file=out)
    else:
        _print(report, out)
    return EXIT_OK if report.passed else EXIT_FAILED


async def _check(choice: Any, word: str) -> Report:
    from harness_tui.core.events import Event
    from harness_tui.core.session.session import Session

    prompt = (
        f'Call the check_echo tool once with the word "{word}". After it returns, reply '
        "with exactly the text the tool returned and nothing else."
    )
    report = Report(choice.name)
    with tempfile.TemporaryDirectory(prefix="harness-check-") as folder:
        session = Session(
            model=choice,
            cwd=folder,
            mode="bypassPermissions",
            tools=[EchoTool()],
            system_prompt=SYSTEM,
            max_turns=3,
            ask_policy="deny",
            trusted=False,
            persist=False,
        )
        sub = session.store.subscribe("check", queue_size=100_000, since=0)
        events: list[Any] = []
        async with session:
            run_id = await session.submit(prompt)
            async with aclosing(session.store.stream(sub)) as stream:
                async for event in stream:
                    if not isinstance(event, Event):
                        continue  # a gap: this subscriber's queue does not drop
                    events.append(event)
                    if event.type in RUN_END_TYPES and event.run_id == run_id:
                        break
    _judge(report, choice, events, word)
    return report


def _judge(report: Report, choice: Any, events: list[Any], word: str) -> None:
    spec = getattr(choice, "spec", None)
    thinks = bool(spec and spec.capabilities.thinking)
    responses = [e for e in events if e.type == "MESSAGE_COMPLETED"]
    errors = [e for e in events if e.type == "ERROR"]
    end = next((e for e in events if e.type == "RUN_COMPLETED"), None)
    pieces = [e for e in events if e.type in ("TOKEN_DELTA", "THINKING_DELTA") and e.text]
    thinking = [e for e in events if e.type == "THINKING_DELTA" and e.text]
    calls = [e for e in events if e.type == "TOOL_CALL_STARTED"]
    echoed = [e for e in events if e.type == "TOOL_CALL_COMPLETED"]
    usage = [e for e in events if e.type == "USAGE_UPDATED"]

    report.add(
        "reached",
        bool(responses),
        f"{choice.provider} answered" if responses else "no response arrived",
    )
    # A short answer may come whole even over a stream (Gemini sends a tool call and its
    # thought summary one chunk each): only several pieces show that it streams.
    report.add(
        "streaming",
        True if len(pieces) >= 2 else None,
        f"the answers came in {len(pieces)} pieces"
        if len(pieces) >= 2
        else f"the answers came in {len(pieces)} piece(s): too short to tell",
    )
    good_call = any(
        c.tool_name == EchoTool.name and str(c.input.get("word")) == word for c in calls
    )
    report.add(
        "tool call",
        good_call if responses else None,
        f"{EchoTool.name} called with the word" if good_call else _calls_text(calls),
    )
    round_trip = good_call and len(responses) >= 2 and bool(echoed)
    second_ok = round_trip and end is not None and not end.is_error
    detail = "the tool result went back and the model answered"
    if thinking:
        detail += " (with its thinking sent back as the provider requires)"
    if not good_call:
        detail = "not tried: no valid tool call to answer"
    elif not second_ok:
        detail = "the request carrying the tool result failed"
    report.add("tool round trip", second_ok if good_call else None, detail)
    answered = second_ok and f"echo-{word}" in (end.result if end else "")
    report.add(
        "final answer",
        answered if second_ok else None,
        "it quoted the tool's result"
        if answered
        else "the answer did not quote the result"
        if second_ok
        else "not reached",
    )
    if thinks:
        report.add(
            "thinking",
            bool(thinking) if responses else None,
            "thinking streamed" if thinking else "the model thinks but no thinking arrived",
        )
    total = usage[-1].total if usage else None
    counted = total is not None and (total.input_tokens + total.output_tokens) > 0
    report.add(
        "usage",
        counted if responses else None,
        f"{total.input_tokens} in, {total.output_tokens} out"
        + (f", {total.cache_read_tokens} cached" if total.cache_read_tokens else "")
        if counted and total is not None
        else "the provider reported no token counts (cost and compaction would run blind)",
    )
    cost = usage[-1].total_cost_usd if usage else None
    report.add(
        "cost",
        True if cost is not None else None,
        f"${cost:.6f}"
        if cost is not None
        else "unknown: no price for this model (add price: under models: in your settings)",
    )
    fatal = next((e for e in errors if e.fatal), errors[0] if errors else None)
    if fatal is not None:
        report.error, report.hint = fatal.message, fatal.hint
    elif end is not None and end.is_error:
        report.error = end.error or f"the run ended with {end.stop_reason}"
    report.passed = bool(answered or (second_ok and good_call))


def _calls_text(calls: list[Any]) -> str:
    if not calls:
        return "the model called no tool"
    shown = ", ".join(f"{c.tool_name}({json.dumps(c.input)[:60]})" for c in calls)
    return f"unexpected call(s): {shown}"


def _print(report: Report, out: TextIO) -> None:
    marks = {True: "ok  ", False: "FAIL", None: "--  "}
    print(f"harness-tui check: {report.model}", file=out)
    for step in report.steps:
        print(f"  {marks[step.ok]} {step.name:<16} {step.detail}", file=out)
    if report.error:
        print(f"  provider said: {report.error}", file=out)
    if report.hint:
        print(f"  what to do: {report.hint}", file=out)
    verdict = "works" if report.passed else "does NOT work for harness-tui sessions"
    print(f"{report.model} {verdict}", file=out)
