"""Headless mode in-process: exit codes and what it prints for each output format."""

from __future__ import annotations

import io
import json

from harness_tui.core.providers.models import ModelChoice
from harness_tui.core.providers.offline.scripted import ScriptedProvider, Text, ToolCall, reply
from harness_tui.core.session.session import Session
from harness_tui.headless import EXIT_DENIED, EXIT_OK, run_headless
from tests.helpers import WriteLikeTool


def headless_session(*replies, **options) -> Session:
    provider = ScriptedProvider(list(replies))
    return Session(
        model=ModelChoice("scripted", "scripted", lambda: provider),
        tools=[WriteLikeTool()],
        ask_policy="deny",
        **options,
    )


async def test_a_tool_that_needs_permission_is_denied_and_exits_3() -> None:
    session = headless_session(reply(ToolCall("Touch")), reply(Text("could not touch")))
    out, err = io.StringIO(), io.StringIO()
    code = await run_headless(session, "touch", "stream-json", out, err)
    assert code == EXIT_DENIED
    events = [json.loads(line) for line in out.getvalue().splitlines()]
    resolved = next(e for e in events if e["type"] == "PERMISSION_RESOLVED")
    assert resolved["decision"] == "deny" and "--mode" in resolved["reason"]
    failed = next(e for e in events if e["type"] == "TOOL_CALL_FAILED")
    assert failed["kind"] == "denied"
    assert events[-1]["type"] == "RUN_COMPLETED"


async def test_bypass_mode_runs_it_and_text_output_is_the_final_answer() -> None:
    session = headless_session(
        reply(ToolCall("Touch")), reply(Text("touched it")), mode="bypassPermissions"
    )
    out, err = io.StringIO(), io.StringIO()
    code = await run_headless(session, "touch", "text", out, err)
    assert code == EXIT_OK
    assert out.getvalue() == "touched it\n"
    assert err.getvalue() == ""
