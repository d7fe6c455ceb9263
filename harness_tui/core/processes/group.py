"""Child processes that can always be stopped: each in its own process group.

Every subprocess the harness starts (``Bash`` commands, command hooks, ``rg``) goes
through ``run_in_group``:

- it starts in a new session, so its process group holds it and what it spawns, and
  with a marker in its environment (``HARNESS_TOOL_CALL``), so that what leaves the
  group (``setsid``, ``setsid -f``, a double fork) is found too (see ``process_tree``);
- stdin is ``/dev/null`` unless the caller feeds it bytes (hooks read JSON there);
- cancel and timeout send SIGTERM to the whole group and every marked process and
  their descendants, wait a short grace, then SIGKILL;
- once the direct child has exited, output is drained only briefly: a grandchild that
  still holds the pipe (``sleep 999 &``) cannot make us wait.

The harness makes itself a *child subreaper* (Linux), so grandchildren orphaned by a
dying shell are re-parented to us and reaped here. Without it, on machines whose PID 1
does not reap (containers), killed grandchildren would stay zombies and the group would
never be gone; and a process that left the group would be nobody's descendant of ours.
"""

from __future__ import annotations

import codecs
import logging
import os
import subprocess
import time
from collections import deque
from collections.abc import Awaitable, Callable, Generator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import anyio
import anyio.abc

from harness_tui.core.processes import tree as process_tree
from harness_tui.core.processes.tree import MARKER_ENV, become_subreaper, new_marker

log = logging.getLogger(__name__)

#: Between SIGTERM and SIGKILL.
GRACE_S = 0.5
#: How long to keep reading after the direct child exited (a grandchild may hold the pipe).
DRAIN_S = 0.2
#: After SIGKILL, how long to wait for the group to be gone before giving up on it.
KILL_WAIT_S = 2.0
#: Output kept per stream: the first and the last half of this many characters.
MAX_CAPTURE_CHARS = 1_000_000

OnOutput = Callable[[str], Awaitable[None]]


class ProcessGroup:
    """A started process, its group, and every process it started: those that left the
    group (``setsid``, double forks) are found by the call's marker (see
    ``process_tree``). ``kill`` ends every one of them."""

    def __init__(self, process: anyio.abc.Process, marker: str = "") -> None:
        self.process = process
        self.pgid = process.pid
        self.marker = marker

    def alive(self) -> bool:
        """True while any process of the call runs (zombies of ours are reaped first)."""
        self._reap_orphans()
        return self._group_exists() or bool(self._live())

    def _live(self) -> set[int]:
        # Linux's /proc has them all; elsewhere (or for a leader the event loop has not
        # reaped yet: until then it is ours to leave alone), the group says.
        self._reap_orphans()
        found = process_tree.call_members(self.pgid, self.marker, spare=self.process.pid)
        if not found and self._group_exists():
            found = {self.pgid}
        return found

    def _group_exists(self) -> bool:
        try:
            os.killpg(self.pgid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def _signal(self, pids: set[int], sig: int) -> int:
        """The group at once (none of its members can slip out), then each process."""
        sent = 0
        try:
            os.killpg(self.pgid, sig)
            sent = 1
        except ProcessLookupError:
            pass
        except PermissionError:  # a member changed user (setuid): nothing more we can do
            log.debug("cannot signal process group %s", self.pgid)
            sent = 1
        return sent + process_tree.send(pids, sig)

    async def kill(self, grace_s: float = GRACE_S) -> None:
        """SIGTERM to every process of the call, up to ``grace_s`` for them to go, then
        SIGKILL (again to any that appear meanwhile: a process may be forking)."""
        if not await _run(process_tree.ending(self._live, grace_s, KILL_WAIT_S, self._signal)):
            log.warning("process group %s survived SIGKILL", self.pgid)

    def _reap_orphans(self) -> None:
        if self.process.returncode is None:
            return  # the leader first: its exit status is the event loop's
        try:
            while os.waitpid(-self.pgid, os.WNOHANG)[0]:
                pass
        except ChildProcessError:
            pass


async def _run(steps: Generator[float, None, bool]) -> bool:
    """Follow ``process_tree.ending`` without blocking the event loop."""
    while True:
        try:
            pause = next(steps)
        except StopIteration as done:
            return bool(done.value)
        await anyio.sleep(pause)


async def _end_marked(marker: str, grace_s: float) -> None:
    """End the processes of a call whose start was cancelled: asyncio then kills the
    one process it started, not what that process had started meanwhile."""
    find = partial(process_tree.call_members, None, marker)
    await _run(process_tree.ending(find, grace_s, KILL_WAIT_S))


class _Capture:
    """Decoded output, bounded: the head and the tail are kept, the middle counted."""

    def __init__(self, limit: int = MAX_CAPTURE_CHARS) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._half = limit // 2
        self._head: list[str] = []
        self._head_len = 0
        self._tail: deque[str] = deque()
        self._tail_len = 0
        self.dropped = 0

    def feed(self, data: bytes, final: bool = False) -> str:
        text = self._decoder.decode(data, final)
        if not text:
            return ""
        room = self._half - self._head_len
        if room > 0:
            self._head.append(text[:room])
            self._head_len += min(room, len(text))
            rest = text[room:]
        else:
            rest = text
        if rest:
            self._tail.append(rest)
            self._tail_len += len(rest)
            while self._tail_len - len(self._tail[0]) >= self._half:
                self.dropped += len(self._tail[0])
                self._tail_len -= len(self._tail.popleft())
        return text

    @property
    def text(self) -> str:
        middle = f"\n[... {self.dropped:,} characters of output not kept ...]\n"
        return "".join(self._head) + (middle if self.dropped else "") + "".join(self._tail)


@dataclass(frozen=True, slots=True)
class GroupResult:
    """How a process ended. ``exit_code`` is negative for a signal (as in subprocess);
    ``timed_out`` when we stopped it; ``group`` is set when members outlived the direct
    child (background jobs), still running, for the caller to own."""

    exit_code: int | None
    stdout: str
    stderr: str
    timed_out: bool
    duration_s: float
    group: ProcessGroup | None = None


async def run_in_group(
    argv: Sequence[str],
    *,
    cwd: str | Path,
    env: Mapping[str, str] | None = None,
    stdin: bytes | None = None,
    merge_stderr: bool = False,
    timeout_s: float | None = None,
    on_output: OnOutput | None = None,
    keep_background: bool = False,
    grace_s: float = GRACE_S,
    capture_chars: int = MAX_CAPTURE_CHARS,
) -> GroupResult:
    """Run ``argv`` in a new process group and collect its output.

    ``on_output`` gets stdout text as it arrives (with ``merge_stderr``, stderr too).
    Background members still running when the direct child has exited are killed,
    unless ``keep_background``: then they are handed back in ``GroupResult.group``.
    A cancel kills the group before it propagates. Raises ``OSError`` when the program
    cannot be started."""
    become_subreaper()
    started = time.perf_counter()
    group = await _start(
        argv,
        cwd=cwd,
        env=env,
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT if merge_stderr else subprocess.PIPE,
        grace_s=grace_s,
    )
    process = group.process
    out, err = _Capture(capture_chars), _Capture()
    timed_out = False
    try:
        async with anyio.create_task_group() as tasks:
            readers_done = anyio.Event()
            tasks.start_soon(_read_all, process, out, err, on_output, readers_done)
            if stdin is not None:
                tasks.start_soon(_feed, process, stdin)
            with anyio.move_on_after(timeout_s if timeout_s is not None else float("inf")):
                await process.wait()
            if process.returncode is None:
                timed_out = True
                with anyio.CancelScope(shield=True):
                    await group.kill(grace_s)
            with anyio.move_on_after(DRAIN_S):
                await readers_done.wait()
            tasks.cancel_scope.cancel()
    except BaseException:
        with anyio.CancelScope(shield=True):
            await group.kill(grace_s)
            await _close(process)
        raise
    with anyio.CancelScope(shield=True):
        await _close(process)
        leftover: ProcessGroup | None = None
        if group.alive():
            if keep_background:
                leftover = group
            else:
                await group.kill(grace_s)
    return GroupResult(
        exit_code=None if timed_out else process.returncode,
        stdout=out.text,
        stderr=err.text,
        timed_out=timed_out,
        duration_s=time.perf_counter() - started,
        group=leftover,
    )


async def _read_all(
    process: anyio.abc.Process,
    out: _Capture,
    err: _Capture,
    on_output: OnOutput | None,
    done: anyio.Event,
) -> None:
    async def pump(stream: anyio.abc.ByteReceiveStream | None, capture: _Capture) -> None:
        if stream is None:
            return
        try:
            async for data in stream:
                text = capture.feed(data)
                if text and on_output is not None and capture is out:
                    await on_output(text)
        except (anyio.ClosedResourceError, anyio.BrokenResourceError, OSError):
            pass
        tail = capture.feed(b"", final=True)
        if tail and on_output is not None and capture is out:
            await on_output(tail)

    try:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(pump, process.stdout, out)
            tasks.start_soon(pump, process.stderr, err)
    finally:
        done.set()


async def _feed(process: anyio.abc.Process, data: bytes) -> None:
    stream = process.stdin
    assert stream is not None
    try:
        await stream.send(data)
    except (anyio.ClosedResourceError, anyio.BrokenResourceError, OSError):
        pass  # the program did not read its input: its choice
    finally:
        try:
            await stream.aclose()
        except (anyio.ClosedResourceError, anyio.BrokenResourceError, OSError):
            pass


async def _close(process: anyio.abc.Process) -> None:
    for stream in (process.stdin, process.stdout, process.stderr):
        if stream is not None:
            try:
                await stream.aclose()
            except (anyio.ClosedResourceError, anyio.BrokenResourceError, OSError):
                pass
    # asyncio keeps the pipes' transport open until every holder of the pipe is gone,
    # which a background job can delay past the event loop's end (then its finaliser
    # complains). Our side is done with it now. The leader has been reaped by then, so
    # closing it signals nothing.
    transport = getattr(getattr(process, "_process", None), "_transport", None)
    if transport is not None and process.returncode is not None:
        transport.close()


async def start_in_group(
    argv: Sequence[str],
    *,
    cwd: str | Path,
    env: Mapping[str, str] | None,
    output: Path,
) -> ProcessGroup:
    """Start ``argv`` in a new process group with the call marker (as ``run_in_group``
    does), stdin ``/dev/null``, stdout and stderr appended to ``output``, and return
    without waiting: a background task. The caller owns the group: it waits for
    ``group.process`` and ends it with ``group.kill``. Raises ``OSError`` when the
    program cannot be started."""
    become_subreaper()
    fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
    try:
        return await _start(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=fd,
            stderr=subprocess.STDOUT,
            grace_s=GRACE_S,
        )
    finally:
        os.close(fd)


async def _start(
    argv: Sequence[str],
    *,
    cwd: str | Path,
    env: Mapping[str, str] | None,
    stdin: int,
    stdout: int,
    stderr: int,
    grace_s: float,
) -> ProcessGroup:
    """Open the process in a new session with a fresh call marker in its environment
    (every process the call starts inherits it unless it clears its environment: how
    those that leave the group are found). A start that fails or is cancelled half-way
    ends whatever it had started."""
    marker = new_marker()
    try:
        process = await anyio.open_process(
            list(argv),
            stdin=stdin,
            stdout=stdout,
            stderr=stderr,
            cwd=cwd,
            env={**(os.environ if env is None else env), MARKER_ENV: marker},
            start_new_session=True,
        )
    except BaseException:
        with anyio.CancelScope(shield=True):
            await _end_marked(marker, grace_s)
        raise
    return ProcessGroup(process, marker)


def shell_argv(command: str) -> list[str]:
    """``bash -c command`` (``sh`` where there is no bash)."""
    import shutil

    return [shutil.which("bash") or "/bin/sh", "-c", command]
