"""``TaskStop``: end a background task (Claude Code's tool of that name: ``task_id``;
its older ``KillShell`` took ``shell_id``, accepted here too)."""

from __future__ import annotations

from typing import Any

from harness_tui.core.tasks.manager import TaskManager
from harness_tui.core.tools.base import Tool, ToolContext, ToolResult


class TaskStopTool(Tool):
    name = "TaskStop"
    description = (
        "Stop a background task that Bash started with run_in_background: its whole "
        "process group ends (TERM, then KILL). Returns the last lines of its output. "
        "Use it for dev servers and watchers you no longer need."
    )
    input_schema = {
        "type": "object",
        "properties": {
            "task_id": {"type": "string", "description": "The id Bash returned."},
            "shell_id": {"type": "string", "description": "Old name of task_id."},
        },
        "additionalProperties": False,
    }
    # It only ends what the agent itself started in the background: no question, in
    # every mode (plan mode included: stopping a server changes no file).
    read_only = True

    def __init__(self, tasks: TaskManager) -> None:
        self.tasks = tasks

    async def run(self, input: dict[str, Any], ctx: ToolContext) -> ToolResult:
        task_id = str(input.get("task_id") or input.get("shell_id") or "").strip()
        info = self.tasks.get(task_id) if task_id else None
        if info is None:
            running = ", ".join(f"{t.task_id} (`{t.command}`)" for t in self.tasks.running())
            known = f"running: {running}" if running else "no task is running"
            return ToolResult.error(f"no background task {task_id!r}; {known}")
        if not info.running:
            return ToolResult(
                content=f"Task {task_id} had already ended ({info.status}, exit code "
                f"{info.exit_code}). Last lines:\n{self.tasks.tail(task_id)}",
                display=f"already {info.status}",
            )
        info = await self.tasks.stop(task_id)
        tail = self.tasks.tail(task_id)
        return ToolResult(
            content=f"Stopped task {task_id} (`{info.command}`). Its output is in "
            f"{info.output_path}. Last lines:\n{tail or '(no output)'}",
            display=f"stopped {task_id}",
            details={"task_id": task_id},
        )
