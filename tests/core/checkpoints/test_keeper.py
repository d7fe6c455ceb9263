"""The checkpointer on its own: calls that overlap (parallel sub-agents) do not mark
each other's changes as made by hand; a change between two calls is."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness_tui.core.checkpoints import Checkpointer
from harness_tui.core.tools.base import ToolContext
from harness_tui.core.tools.shell import BashTool


async def emit(event_type: Any, /, **fields: Any) -> Any:
    return event_type(session_id="s", **fields)


async def set_plan(*_: Any) -> None:
    return None


def context(root: Path, call: str) -> ToolContext:
    return ToolContext("s", "r", call, root, "default", emit, set_plan)


async def test_overlapping_calls_are_not_hand_edits_but_a_change_between_calls_is(
    tmp_path: Path,
) -> None:
    (tmp_path / "a.txt").write_text("1")
    keeper = Checkpointer(tmp_path, None, emit)
    tool = BashTool()
    try:
        first = await keeper.before(tool, {"command": "x"}, context(tmp_path, "c1"))
        (tmp_path / "a.txt").write_text("2")  # the first call at work
        second = await keeper.before(tool, {"command": "y"}, context(tmp_path, "c2"))
        (tmp_path / "b.txt").write_text("new")  # the second one
        assert first is not None and second is not None
        ended = [await keeper.after(second), await keeper.after(first)]
        files = [f for event in ended if event is not None for f in event.files]
        assert sorted((f.path, f.by_hand) for f in files) == [
            ("a.txt", False),
            ("b.txt", False),
        ]
        (tmp_path / "a.txt").write_text("3")  # between calls: by hand
        third = await keeper.before(tool, {"command": "z"}, context(tmp_path, "c3"))
        assert third is not None
        event = await keeper.after(third)
        assert event is not None and [(f.path, f.by_hand) for f in event.files] == [("a.txt", True)]
    finally:
        keeper.close()
