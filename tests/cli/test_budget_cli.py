"""``--max-budget-usd`` and ``--max-turns`` with ``-p``: the run stops, says why on
stderr, and exits 4; bad amounts are one line and exit 2."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from harness_tui.core.providers.offline.scripted import Text, ToolCall, Usage, reply
from harness_tui.headless import EXIT_BUDGET, EXIT_OK, run_headless
from tests.cli.test_cli import harness
from tests.helpers import EchoTool, scripted_in

#: A script whose every reply runs `echo` in Bash and costs $0.10 (its own reported cost).
PRICED_LOOP = "".join(
    f"- tool_calls: [{{name: Bash, input: {{command: 'echo {i}'}}}}]\n"
    "  usage: {input_tokens: 1000, output_tokens: 20, cost_usd: 0.10}\n"
    for i in range(5)
)


def test_the_flag_stops_a_scripted_run_and_exits_4(tmp_path: Path) -> None:
    script = tmp_path / "loop.yaml"
    script.write_text(PRICED_LOOP)
    result = harness(
        "-p",
        "loop",
        "--model",
        f"scripted:{script}",
        "--mode",
        "bypassPermissions",
        "--max-budget-usd",
        "$0.25",
        "--output-format",
        "json",
        cwd=tmp_path,
        env={"HARNESS_PLUGINS": "off"},
    )
    assert result.returncode == EXIT_BUDGET, result.stderr
    final = json.loads(result.stdout)
    assert (final["stop_reason"], final["turns"], final["is_error"]) == (
        "budget_exceeded",
        2,
        False,
    )
    assert final["cost_usd"] == pytest.approx(0.2)
    assert (
        "harness-tui: stopped before the next request: $0.20 spent, and the next request "
        "(about $0.10) would pass the run's budget of $0.25 (--max-budget-usd)"
    ) in result.stderr


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0", "'0' is not an amount of US dollars above 0"),
        ("-3", "'-3' is not an amount"),
        ("five", "'five' is not an amount"),
        ("nan", "'nan' is not an amount"),
    ],
)
def test_a_bad_amount_is_one_line_and_exit_2(tmp_path: Path, value: str, message: str) -> None:
    result = harness("-p", "hi", f"--max-budget-usd={value}", cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


def test_help_documents_the_flag_and_exit_code_4() -> None:
    result = harness("--help")
    text = " ".join(result.stdout.split())
    assert "--max-budget-usd USD" in text
    assert "4 a budget stopped the run" in text


async def test_max_turns_exits_4_and_says_so(tmp_path: Path) -> None:
    looping = [reply(ToolCall("Echo", {"text": str(i)})) for i in range(3)]
    session, _ = scripted_in(tmp_path, looping, tools=[EchoTool()], max_turns=2)
    out, err = io.StringIO(), io.StringIO()
    code = await run_headless(session, "loop", "text", out, err)
    assert code == EXIT_BUDGET
    assert "stopped after 2 model requests: the run's limit is 2 (--max-turns)" in err.getvalue()


async def test_a_run_within_its_budget_exits_0(tmp_path: Path) -> None:
    script = [reply(Text("fine"), Usage(10, 10, cost_usd=0.01))]
    session, _ = scripted_in(tmp_path, script, tools=[EchoTool()], max_budget_usd=1)
    out, err = io.StringIO(), io.StringIO()
    assert await run_headless(session, "hi", "text", out, err) == EXIT_OK
    assert out.getvalue() == "fine\n" and err.getvalue() == ""
