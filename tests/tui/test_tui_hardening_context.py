"""``/context``: the parts shown add up exactly to the total shown, and the total is the
count the status bar and compaction use (``Session.context_tokens``), in every state of
a session: empty, with tools and MCP tools, long, after the provider's count arrived
(above or below the estimates), with messages after that count, and after compaction."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness_tui.core.providers.offline.scripted import Text, ToolCall, Usage, reply
from harness_tui.core.session.session import Session
from harness_tui.core.tools import builtin_tools
from harness_tui.tui.sessions import context_text
from tests.helpers import EchoTool, run_to_end, scripted_in
from tests.tui.test_tui import tui, type_text, until
from tests.tui.test_tui_hardening import notices

_ROW = re.compile(r"^  (?P<label>\S.*?)\s{2,}(?P<sign>[+−-]?)(?P<value>[\d,]+)$")


def rows(text: str) -> dict[str, int]:
    """The "  label    1,234" rows of the listing (signed ones: +12 or −12)."""
    found = {}
    for line in text.splitlines():
        match = _ROW.match(line)
        if match:
            value = int(match["value"].replace(",", ""))
            found[match["label"]] = -value if match["sign"] in "−-" and match["sign"] else value
    return found


def check_adds_up(text: str, session: Session) -> dict[str, int]:
    parts = rows(text)
    total = parts.pop("total")
    assert sum(parts.values()) == total, f"parts {parts} do not add up to {total}:\n{text}"
    assert total == session.context_tokens()
    headline = re.search(r"Context: ([\d,]+) tokens", text)
    assert headline and int(headline[1].replace(",", "")) == total
    return parts


class McpEcho(EchoTool):
    """Stands in for a server's tool: MCP tools are known by their ``mcp__`` names."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name  # type: ignore[misc]


def long_chat(turns: int) -> list:
    return [reply(Text(f"answer {i} " * 40)) for i in range(turns)]


async def context_after(session: Session, prompts: list[str]) -> str:
    """``/context``'s text once the prompts have run, checked to add up."""
    async with session:
        for prompt in prompts:
            await run_to_end(session, prompt)
        text = context_text(session)
        check_adds_up(text, session)
    return text


# (what the model answers, the prompts, tools): each a state of a session.
STATES = {
    "empty, no tools": ([], [], []),
    "built-in tools": ([], [], "builtin"),
    "mcp tools": ([], [], "mcp"),
    "one answer, no count": ([reply(Text("hello"))], ["hi"], []),
    "count above the estimate": (
        [reply(Text("hello"), Usage(input_tokens=5000, output_tokens=7))],
        ["hi"],
        "builtin",
    ),
    "count below the estimate": (
        [reply(Text("hello"), Usage(input_tokens=3, output_tokens=1))],
        ["hi"],
        "builtin",
    ),
    "messages after the count": (
        [
            reply(ToolCall("Echo", {"text": "x" * 3000}), Usage(input_tokens=900)),
            reply(Text("done " * 300)),
        ],
        ["go"],
        "echo",
    ),
    "long conversation": (long_chat(30), [f"question {i} " * 20 for i in range(30)], "mcp"),
    "long, counted": (
        [reply(Text(f"a{i} " * 50), Usage(input_tokens=100 * i + 1)) for i in range(12)],
        [f"q{i}" for i in range(12)],
        "builtin",
    ),
}


def tools_for(kind: object) -> list:
    if kind == "builtin":
        return builtin_tools()
    if kind == "mcp":
        return [*builtin_tools(), McpEcho("mcp__files__read"), McpEcho("mcp__web__fetch")]
    if kind == "echo":
        return [EchoTool()]
    return []


@pytest.mark.parametrize("state", list(STATES))
async def test_the_parts_add_up_to_the_total(tmp_path: Path, state: str) -> None:
    script, prompts, tools = STATES[state]
    session, _ = scripted_in(tmp_path, list(script), tools=tools_for(tools))
    parts = rows(await context_after(session, prompts))
    if tools == "mcp":
        assert any(label.startswith("MCP tool definitions") for label in parts)
    if "count" in state and "no count" not in state:
        assert any("provider" in label for label in parts)


async def test_after_compaction_the_parts_still_add_up(tmp_path: Path) -> None:
    script = [*long_chat(8), reply(Text("SUMMARY of it all"), Usage(input_tokens=50))]
    session, _ = scripted_in(tmp_path, script, tools=builtin_tools())
    async with session:
        for i in range(8):
            await run_to_end(session, f"question {i} " * 40)
        await session.compact()
        check_adds_up(context_text(session), session)


async def test_context_in_the_tui_adds_up(tmp_path: Path) -> None:
    (tmp_path / "AGENTS.md").write_text("Keep it short.\n" * 50)
    script = [reply(Text("hello " * 100), Usage(input_tokens=4321, output_tokens=99))]
    session, _ = scripted_in(tmp_path, script)
    async with tui(session) as (app, pilot):
        await type_text(pilot, "hi")
        await pilot.press("enter")
        await until(pilot, lambda: not session.running and session.messages)
        await type_text(pilot, "/context")
        await pilot.press("enter")
        await until(pilot, lambda: any(t.startswith("Context:") for t in notices(app)))
        check_adds_up(next(t for t in notices(app) if t.startswith("Context:")), session)
