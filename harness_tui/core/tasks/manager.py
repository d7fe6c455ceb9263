"""Background tasks: commands ``Bash`` started with ``run_in_background``.

A task is ``bash -c COMMAND`` in the shell's folder and environment, wrapped by the
sandbox like any command (``ShellSession.launch``), in a process group of its own, with
its output appended to ``<session folder>/tasks/<task_id>.log`` (the model reads it with
``Read``). ``TASK_STARTED`` when it starts; ``TASK_ENDED`` when it ends: by itself
(``completed``: exit 0, ``failed``: anything else), by ``TaskStop`` or the user
(``stopped``), or with the session (``killed``). When a task ends, whatever it left
running in its group ends too.

A cancelled run does not end its tasks (that is what background means); the session's
end does, every one of them, whatever way it ends (``aclose``, and the exit guard's last
sweep of every marked process when the program itself goes). The model hears of a task
that ended at its next turn boundary (``take_notes``), in this run or the next.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import anyio.abc

from harness_tui.core.events import TaskEnded, TaskStarted, TaskStatus, new_id
from harness_tui.core.processes.group import ProcessGroup, start_in_group

log = logging.getLogger(__name__)

#: Lines of output kept in ``TASK_ENDED.tail`` and shown to the model.
TAIL_LINES = 20
#: The most of the output file read for a tail.
_TAIL_BYTES = 16 * 1024


@dataclass
class TaskInfo:
    """One background task, running or ended."""

    task_id: str
    command: str
    description: str
    started_at: float
    output_path: str
    pgid: int
    sandboxed: bool
    tool_call_id: str | None = None
    status: TaskStatus | None = None
    exit_code: int | None = None
    ended_at: float | None = None

    @property
    def running(self) -> bool:
        return self.status is None


@dataclass
class _Task:
    info: TaskInfo
    group: ProcessGroup
    #: Set once TASK_ENDED is out.
    done: anyio.Event = field(default_factory=anyio.Event)
    #: Why it is ending, once something ends it (None: by itself).
    ending: TaskStatus | None = None
    report: Callable[[str], Awaitable[str | None]] | None = None


class TaskManager:
    """The background tasks of one session."""

    def __init__(self, emit: Callable[..., Awaitable[Any]], folder: Path | None = None) -> None:
        self.emit = emit
        #: Where the output files go (None: a temporary folder, removed at close).
        self._folder = folder
        self._temporary: Path | None = None
        self._tasks: dict[str, _Task] = {}
        self._notes: list[str] = []
        #: The session's task group: each task's watcher runs there.
        self.group: anyio.abc.TaskGroup | None = None
        self.closed = False

    # --- what the views and the model see ---------------------------------------------

    def running(self) -> list[TaskInfo]:
        return [t.info for t in self._tasks.values() if t.info.running]

    def all(self) -> list[TaskInfo]:
        return [t.info for t in self._tasks.values()]

    def get(self, task_id: str) -> TaskInfo | None:
        task = self._tasks.get(task_id)
        return task.info if task is not None else None

    def take_notes(self) -> list[str]:
        """What the model has not yet been told: tasks that ended (turn boundaries)."""
        notes, self._notes = self._notes, []
        return notes

    def tail(self, task_id: str, lines: int = TAIL_LINES) -> str:
        task = self._tasks.get(task_id)
        return _tail(Path(task.info.output_path), lines) if task is not None else ""

    # --- starting and stopping ----------------------------------------------------------

    def output_folder(self) -> Path:
        if self._folder is None:
            if self._temporary is None:
                self._temporary = Path(tempfile.mkdtemp(prefix="harness-tasks-"))
            return self._temporary
        self._folder.mkdir(parents=True, exist_ok=True)
        return self._folder

    async def start(
        self,
        shell: Any,
        command: str,
        *,
        description: str = "",
        tool_call_id: str | None = None,
    ) -> TaskInfo:
        """Start ``command`` with ``shell`` (a ``ShellSession``: its folder, its
        environment, its sandbox). Raises ``OSError`` when it cannot start, and the
        shell's ``SandboxRefused`` when the sandbox is on and cannot start."""
        from harness_tui.core.tools.shell import SandboxRefused

        if self.closed or self.group is None:
            raise OSError("the session is closing: no new background task")
        task_id = new_id("task")
        launch = await shell.launch([shell.shell, "-c", command], command=command, background=True)
        if launch.refused is not None:
            raise SandboxRefused(launch.refused)
        output = self.output_folder() / f"{task_id}.log"
        group = await start_in_group(launch.argv, cwd=shell.cwd, env=launch.env, output=output)
        info = TaskInfo(
            task_id=task_id,
            command=command,
            description=description,
            started_at=time.time(),
            output_path=str(output),
            pgid=group.pgid,
            sandboxed=launch.sandboxed,
            tool_call_id=tool_call_id,
        )
        task = _Task(info, group, report=launch.report)
        self._tasks[task_id] = task
        await self.emit(
            TaskStarted,
            task_id=task_id,
            tool_call_id=tool_call_id,
            command=command,
            description=description,
            output_path=str(output),
            pgid=group.pgid,
            sandboxed=launch.sandboxed,
        )
        self.group.start_soon(self._watch, task)
        return info

    async def stop(self, task_id: str, status: TaskStatus = "stopped") -> TaskInfo:
        """End the task's whole process group (TERM, a grace, KILL) and wait for its
        ``TASK_ENDED``. Raises ``KeyError`` for an unknown id; a task that already
        ended is returned as it is."""
        task = self._tasks[task_id]
        if task.info.running:
            if task.ending is None:
                task.ending = status
            with anyio.CancelScope(shield=True):
                await task.group.kill()
                await task.done.wait()
        return task.info

    async def aclose(self) -> None:
        """The session ends: every task ends with it (``killed``), all at once."""
        self.closed = True
        running = [t for t in self._tasks.values() if t.info.running]
        with anyio.CancelScope(shield=True):
            async with anyio.create_task_group() as tasks:
                for task in running:
                    tasks.start_soon(self.stop, task.info.task_id, "killed")
        if self._temporary is not None:
            shutil.rmtree(self._temporary, ignore_errors=True)
            self._temporary = None

    async def _watch(self, task: _Task) -> None:
        """Wait for the task's leader; then end what it left behind and report."""
        with anyio.CancelScope(shield=True):
            try:
                code = await task.group.process.wait()
            except Exception:  # the leader cannot be waited for: treat it as gone
                log.exception("waiting for task %s failed", task.info.task_id)
                code = None
            if task.group.alive():  # what it started and left running ends with it
                await task.group.kill()
            info = task.info
            info.exit_code = None if task.ending is not None else code
            info.status = task.ending or ("completed" if code == 0 else "failed")
            info.ended_at = time.time()
            tail = await anyio.to_thread.run_sync(_tail, Path(info.output_path), TAIL_LINES)
            said = await task.report(tail) if task.report is not None else None
            await self.emit(
                TaskEnded,
                task_id=info.task_id,
                status=info.status,
                exit_code=info.exit_code,
                duration_ms=(info.ended_at - info.started_at) * 1e3,
                tail=tail,
            )
            if info.status in ("completed", "failed"):
                self._notes.append(_note(info, tail, said))
            task.done.set()


def _note(info: TaskInfo, tail: str, said: str | None) -> str:
    """What the model is told of a task that ended by itself."""
    how = (
        "completed (exit code 0)"
        if info.status == "completed"
        else f"failed (exit code {info.exit_code})"
        if info.exit_code is not None and info.exit_code >= 0
        else f"was killed by signal {-(info.exit_code or 0)}"
    )
    parts = [
        f"<task-notification>Background task {info.task_id} (`{info.command}`) {how}. "
        f"Its output is in {info.output_path} (read it with Read)."
    ]
    if tail.strip():
        parts.append(f"Last lines:\n{tail.rstrip()}")
    if said:
        parts.append(said)
    return "\n".join(parts) + "</task-notification>"


def _tail(path: Path, lines: int) -> str:
    """The last ``lines`` lines of ``path`` (at most its last 16 KiB), decoded."""
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            handle.seek(max(0, size - _TAIL_BYTES))
            data = handle.read(_TAIL_BYTES)
    except OSError:
        return ""
    text = data.decode("utf-8", errors="replace")
    return "\n".join(text.splitlines()[-lines:])
