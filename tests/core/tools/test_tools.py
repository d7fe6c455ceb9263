"""The executor turns every failure into a result for the model; the built-in tools."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import anyio
import pytest

from harness_tui.core.messages import ToolCallBlock
from harness_tui.core.tools import GateVerdict, GlobTool, ToolExecutor
from harness_tui.core.tools.base import Tool, ToolContext, ToolResult
from harness_tui.core.tools.file_search import find_files, glob_regex
from tests.helpers import EchoTool, tool_context


def call(name: str, **input: Any) -> ToolCallBlock:
    return ToolCallBlock(id="call_1", name=name, input=input)


class Sleepy(Tool):
    name = "Sleepy"
    description = "sleeps"
    input_schema = {"type": "object"}

    async def run(self, input: dict[str, Any], ctx: ToolContext) -> ToolResult:
        await anyio.sleep_forever()
        raise AssertionError("unreachable")


class Broken(Tool):
    name = "Broken"
    description = "raises"
    input_schema = {"type": "object"}

    async def run(self, input: dict[str, Any], ctx: ToolContext) -> ToolResult:
        raise KeyError("missing thing")


class Chatty(Tool):
    name = "Chatty"
    description = "prints a lot"
    input_schema = {"type": "object"}

    async def run(self, input: dict[str, Any], ctx: ToolContext) -> ToolResult:
        return ToolResult(content="x" * 1000, display="1000 chars")


class BadSchema(Tool):
    name = "BadSchema"
    description = "declares a broken schema"
    input_schema = {"type": "no-such-type"}

    async def run(self, input: dict[str, Any], ctx: ToolContext) -> ToolResult:
        return ToolResult(content="ran")


async def test_timeout_exception_truncation_and_schema_errors_become_results() -> None:
    executor = ToolExecutor(
        [Sleepy(), Broken(), Chatty(), BadSchema()], timeout_s=0.05, max_output_chars=100
    )
    timed_out = await executor.execute(call("Sleepy"), tool_context())
    assert timed_out.is_error and timed_out.error_kind == "timeout"
    assert "timed out after 0.05 s" in timed_out.content
    broken = await executor.execute(call("Broken"), tool_context())
    assert broken.error_kind == "exception" and "KeyError" in broken.content
    chatty = await executor.execute(call("Chatty"), tool_context())
    assert not chatty.is_error and len(chatty.content) < 300
    assert "900 of 1,000 characters cut" in chatty.content
    assert chatty.details["truncated_chars"] == 900 and chatty.display == "1000 chars"
    bad = await executor.execute(call("BadSchema"), tool_context())
    assert bad.error_kind == "invalid_input" and "schema is invalid" in bad.content


async def test_a_gate_can_refuse_or_rewrite_the_input() -> None:
    class Rewriter:
        async def check(self, tool: Tool, input: dict[str, Any], ctx: ToolContext):
            if input["text"] == "secret":
                return GateVerdict(False, "no secrets")
            if input["text"] == "bad rewrite":
                return GateVerdict(True, updated_input={"text": 5})
            return GateVerdict(True, updated_input={"text": input["text"].upper()})

    executor = ToolExecutor([EchoTool()], gate=Rewriter())
    assert (await executor.execute(call("Echo", text="hi"), tool_context())).content == "HI"
    refused = await executor.execute(call("Echo", text="secret"), tool_context())
    assert refused.error_kind == "denied" and "no secrets" in refused.content
    rewritten = await executor.execute(call("Echo", text="bad rewrite"), tool_context())
    assert rewritten.error_kind == "invalid_input" and "as changed by a hook" in rewritten.content


def test_two_tools_with_one_name_are_refused() -> None:
    with pytest.raises(ValueError, match="two tools are named 'Echo'"):
        ToolExecutor([EchoTool(), EchoTool()])


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("*.py", "a.py", True),
        ("*.py", "src/a.py", False),
        ("**/*.py", "a.py", True),
        ("**/*.py", "src/deep/a.py", True),
        ("src/**", "src/x/y.txt", True),
        ("src/*.{ts,tsx}", "src/a.tsx", True),
        ("src/*.{ts,tsx}", "src/a.js", False),
        ("file?.txt", "file1.txt", True),
        ("[!a]*.md", "b.md", True),
        ("[!a]*.md", "a.md", False),
    ],
)
def test_glob_patterns(pattern: str, path: str, matches: bool) -> None:
    assert bool(glob_regex(pattern).match(path)) is matches


async def test_glob_tool_lists_newest_first_and_skips_vendor_folders(tmp_path: Path) -> None:
    for index, rel in enumerate(["old.py", "pkg/new.py", "node_modules/x.py", ".git/y.py"]):
        target = tmp_path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("x")
        os.utime(target, (1_000_000 + index, 1_000_000 + index))
    result = await GlobTool().run({"pattern": "**/*.py"}, tool_context(tmp_path))
    assert result.content.splitlines() == ["pkg/new.py", "old.py"]
    assert result.display == "2 files" and result.details["matches"] == 2
    nothing = await GlobTool().run({"pattern": "*.rs"}, tool_context(tmp_path))
    assert "No files match" in nothing.content
    missing = await GlobTool().run({"pattern": "*", "path": "nope"}, tool_context(tmp_path))
    assert missing.is_error and "does not exist" in missing.content


def test_find_files_limits_results_and_scanning(tmp_path: Path) -> None:
    for i in range(30):
        (tmp_path / f"f{i}.txt").write_text("x")
    paths, total, stopped = find_files(tmp_path, "*.txt", limit=5)
    assert len(paths) == 5 and total == 30 and not stopped
    paths, total, stopped = find_files(tmp_path, "*.txt", max_scanned=10)
    assert total == 10 and stopped


async def test_a_truncated_result_keeps_everything_but_the_cut_text() -> None:
    """Truncation copies the result with ``replace``: nothing it did not mean to change
    (the images of a long result, say) is lost on the way."""
    from harness_tui.core.messages import ImageData

    image = ImageData(media_type="image/png", data="aGVsbG8=")

    class Pictured(Tool):
        name = "Pictured"
        description = "a long text and an image"
        input_schema = {"type": "object"}

        async def run(self, input: dict[str, Any], ctx: ToolContext) -> ToolResult:
            return ToolResult(content="y" * 500, display_format="markdown", images=(image,))

    result = await ToolExecutor([Pictured()], max_output_chars=100).execute(
        call("Pictured"), tool_context()
    )
    assert result.details["truncated_chars"] == 400
    assert result.images == (image,) and result.display_format == "markdown"


def test_a_result_makes_its_message_and_its_event() -> None:
    from harness_tui.core.events import ToolCallCompleted, ToolCallFailed
    from harness_tui.core.tools.base import CallTiming

    timing = CallTiming(permission_wait_ms=5.0)
    done = ToolResult(content="ok", display="shown", details={"n": 1})
    message = done.to_message("c1", "Echo")
    assert (message.tool_call_id, message.tool_name, message.content) == ("c1", "Echo", "ok")
    assert not message.is_error
    kind, fields = done.to_event("c1", "Echo", timing)
    event = kind(session_id="s", **fields)
    assert isinstance(event, ToolCallCompleted)
    assert (event.content, event.display, event.details) == ("ok", "shown", {"n": 1})
    assert (event.duration_ms, event.permission_wait_ms) == (0.0, 5.0)
    failed = ToolResult.error("nope", "denied")
    assert failed.to_message("c2", "Bash").is_error
    kind, fields = failed.to_event("c2", "Bash", CallTiming())
    event = kind(session_id="s", **fields)
    assert isinstance(event, ToolCallFailed)
    assert (event.error, event.kind, event.permission_wait_ms) == ("nope", "denied", None)
