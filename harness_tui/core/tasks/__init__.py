"""Background tasks: commands Bash started with run_in_background, and TaskStop."""

from harness_tui.core.tasks.manager import TaskInfo, TaskManager

__all__ = ["TaskInfo", "TaskManager"]
