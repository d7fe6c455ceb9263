"""``TodoWrite``: the model keeps its plan; every change becomes a ``PLAN_*`` event."""

from __future__ import annotations

from typing import Any

from harness_tui.core.events import PlanEntry
from harness_tui.core.tools.base import Tool, ToolContext, ToolResult, object_schema

_MARKS = {"pending": "[ ]", "in_progress": "[~]", "completed": "[x]"}


class TodoWriteTool(Tool):
    name = "TodoWrite"
    description = (
        "Create or replace your task list for the current work. Send the whole list each "
        "time, with each item's status: pending, in_progress (one at a time) or completed. "
        "Use it for work of three or more steps so the user can follow your progress."
    )
    input_schema = object_schema(
        properties={
            "todos": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "content": {"type": "string", "minLength": 1},
                        "status": {"enum": ["pending", "in_progress", "completed"]},
                        "activeForm": {"type": "string"},
                    },
                    "required": ["content", "status"],
                },
            }
        },
        required=["todos"],
    )
    # It changes the harness's plan, not the workspace: allowed in plan mode.
    read_only = True

    async def run(self, input: dict[str, Any], ctx: ToolContext) -> ToolResult:
        entries = [
            PlanEntry(content=t["content"], status=t["status"], active_form=t.get("activeForm"))
            for t in input["todos"]
        ]
        await ctx.set_plan(entries, ctx.tool_call_id)
        done = sum(e.status == "completed" for e in entries)
        lines = "\n".join(f"{_MARKS[e.status]} {e.content}" for e in entries)
        return ToolResult(
            content=f"Plan saved ({done} of {len(entries)} done).\n{lines}",
            display=f"{done}/{len(entries)} done",
        )
