"""Diagnostics after edits, with a real language server (basedpyright, from PyPI): a
Write that introduces a type error puts the error into the next request the model
receives (checked at the loopback Anthropic API); a clean edit adds nothing; a problem
the file already had is not presented as new."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
import yaml

from harness_tui.core.config import paths
from harness_tui.core.session.session import Session
from tests.fakes import script as api
from tests.fakes.wiring import anthropic_fake, fast
from tests.helpers import run_to_end

MODEL = "anthropic/claude-sonnet-4-6"
BAD = "def double(x: int) -> int:\n    return x * 2\n\n\nresult: int = double('two')\n"
GOOD = "def double(x: int) -> int:\n    return x * 2\n\n\nresult: int = double(2)\n"


def basedpyright() -> str:
    found = shutil.which("basedpyright-langserver") or str(
        Path(sys.prefix) / "bin" / "basedpyright-langserver"
    )
    if not Path(found).exists():
        pytest.fail("basedpyright is not installed: pip install -e '.[dev]' installs it")
    return found


def write_models_settings(models: dict) -> None:
    """The user's settings: the fake API's models, and a generous diagnostics bound (the
    suite shares two cores: a loaded machine must not turn into a missing diagnostic)."""
    path = paths.config_dir() / "settings.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({"models": models, "lsp": {"diagnosticsTimeoutMs": 20000}}))


def tool_results(body: dict) -> list[str]:
    """The text of every tool result in a request body."""
    texts = []
    for message in body["messages"]:
        if isinstance(message["content"], list):
            for block in message["content"]:
                if block.get("type") == "tool_result":
                    content = block["content"]
                    texts.append(content if isinstance(content, str) else json.dumps(content))
    return texts


async def test_a_type_error_reaches_the_next_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lsp_on: None
) -> None:
    basedpyright()
    with anthropic_fake(monkeypatch) as server:
        write_models_settings({"anthropic": fast()})
        server.script(
            api.reply(api.Call("Write", {"file_path": "calc.py", "content": BAD})),
            api.reply(api.Call("Write", {"file_path": "clean.py", "content": GOOD})),
            api.reply(api.Say("Done.")),
        )
        async with Session(model=MODEL, cwd=tmp_path, mode="bypassPermissions") as session:
            events = await run_to_end(session, "write two files")
    assert server.rejections == []
    after_bad = tool_results(server.requests[1])[-1]
    assert "<diagnostics>" in after_bad
    assert "calc.py:5:" in after_bad and "reportArgumentType" in after_bad
    after_good = tool_results(server.requests[2])[-1]
    assert "<diagnostics>" not in after_good  # a clean file adds nothing
    found = [e for e in events if e.type == "DIAGNOSTICS"]
    assert found[0].new >= 1 and found[0].files[0]["path"] == "calc.py"
    completed = [e for e in events if e.type == "TOOL_CALL_COMPLETED"]
    assert completed[0].details["diagnostics"][0]["path"] == "calc.py"


async def test_an_old_problem_is_not_sent_as_new(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lsp_on: None
) -> None:
    """The file had the error before the edit: the model is told it was there, not
    asked to fix what it did not break."""
    basedpyright()
    (tmp_path / "calc.py").write_text(BAD)
    edit = {"file_path": "calc.py", "old_string": "x * 2", "new_string": "x + x"}
    with anthropic_fake(monkeypatch) as server:
        write_models_settings({"anthropic": fast()})
        server.script(api.reply(api.Call("Edit", edit)), api.reply(api.Say("Done.")))
        async with Session(model=MODEL, cwd=tmp_path, mode="bypassPermissions") as session:
            events = await run_to_end(session, "tidy calc.py")
    result = tool_results(server.requests[1])[-1]
    assert "<diagnostics>" not in result
    found = [e for e in events if e.type == "DIAGNOSTICS"]
    assert found[0].new == 0 and found[0].preexisting >= 1


async def test_a_command_that_breaks_a_file_read_just_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lsp_on: None
) -> None:
    """Read starts the server in the background; a Bash call right after changes the
    file before the server is up: its diagnostics still come back with the command."""
    basedpyright()
    (tmp_path / "calc.py").write_text(GOOD)
    breaking = """sed -i "s/double(2)/double('two')/" calc.py"""
    with anthropic_fake(monkeypatch) as server:
        write_models_settings({"anthropic": fast()})
        server.script(
            api.reply(api.Call("Read", {"file_path": "calc.py"})),
            api.reply(api.Call("Bash", {"command": breaking})),
            api.reply(api.Say("Done.")),
        )
        async with Session(model=MODEL, cwd=tmp_path, mode="bypassPermissions") as session:
            events = await run_to_end(session, "break it")
    assert "double('two')" in (tmp_path / "calc.py").read_text()
    after_bash = tool_results(server.requests[2])[-1]
    assert "<diagnostics>" in after_bash and "calc.py:5:" in after_bash
    found = [e for e in events if e.type == "DIAGNOSTICS"]
    assert found[0].new >= 1 and found[0].preexisting == 0
