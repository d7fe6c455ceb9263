"""Which processes a tool call started, found in Linux's ``/proc``, and how to end them.

A process group is not enough to end everything a command started: ``setsid``,
``setsid -f``, a daemon's double fork, ``nohup cmd &`` followed by ``setsid`` all leave
the group (a new session is a new group). So the processes of a call are:

- the members of its process group;
- every process that carries the call's *marker*, the ``HARNESS_TOOL_CALL`` variable
  set in the environment the call was started with; those that are re-parented to the
  harness (a child subreaper, see ``process_group``) are read from ``/proc/PID/environ``;
- every process descended (parent by parent) from one of the above.

At exit, the harness ends every process descended from itself (orphans come to it, as
the subreaper) and every process that carries one of its markers.

Limits, by design: a process that clears its environment (``env -i``, ``sudo``) and
whose parent has gone is found only while it is our descendant, which as the subreaper
it stays unless it escapes to another subreaper; a process that changed user cannot be
signalled. Elsewhere than Linux nothing here finds anything, and the process group alone
is used.
"""

from __future__ import annotations

import itertools
import os
import signal
import sys
import time
from collections.abc import Callable, Generator, Iterable

#: The variable that marks every process a call starts; its value is ``PID.N`` (the
#: harness's pid, a counter), so one harness never ends another's processes.
MARKER_ENV = "HARNESS_TOOL_CALL"
#: In the environment a process started with: it is detached on purpose (a background
#: session's holder) and outlives whoever started it, with all it runs.
DETACHED_ENV = "HARNESS_DETACHED"
_counter = itertools.count(1)


_subreaper = False
_tried = False


def become_subreaper() -> None:
    """Adopt orphaned descendants (Linux ``PR_SET_CHILD_SUBREAPER``): a killed call's
    grandchildren can be reaped by us, and whatever a call left behind stays our
    descendant. Harmless to call twice; a no-op elsewhere."""
    global _subreaper, _tried
    if _tried or not sys.platform.startswith("linux"):
        return
    _tried = True
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_child_subreaper = 36
        _subreaper = libc.prctl(pr_set_child_subreaper, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):  # no libc to talk to: orphans go to PID 1
        pass


def new_marker() -> str:
    """A marker for one call, unique in this process."""
    return f"{os.getpid()}.{next(_counter)}"


class Proc:
    """One line of ``/proc``: ``gone`` for a zombie (it needs reaping, not signals)."""

    __slots__ = ("gone", "pgid", "pid", "ppid")

    # Not a dataclass: this module is imported at start-up (see ``exit_guard``).
    def __init__(self, pid: int, ppid: int, pgid: int, gone: bool) -> None:
        self.pid, self.ppid, self.pgid, self.gone = pid, ppid, pgid, gone


def snapshot() -> dict[int, Proc]:
    """Every process now, from ``/proc`` (empty where there is none)."""
    procs: dict[int, Proc] = {}
    try:
        names = os.listdir("/proc")
    except OSError:
        return procs
    for name in names:
        if not name.isdigit():
            continue
        try:
            fd = os.open(f"/proc/{name}/stat", os.O_RDONLY)
            try:
                data = os.read(fd, 512)
            finally:
                os.close(fd)
            # "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
            state, ppid, pgid = data[data.rindex(b")") + 2 :].split(maxsplit=4)[:3]
        except (OSError, ValueError):
            continue  # it exited meanwhile
        pid = int(name)
        procs[pid] = Proc(pid, int(ppid), int(pgid), state in (b"Z", b"X"))
    return procs


def _environ(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/environ", "rb") as file:
            return b"\0" + file.read()
    except OSError:  # gone, or another user's
        return b""


def _closure(procs: dict[int, Proc], roots: Iterable[int]) -> set[int]:
    """``roots`` and everything descended from them."""
    children: dict[int, list[int]] = {}
    for proc in procs.values():
        children.setdefault(proc.ppid, []).append(proc.pid)
    found: set[int] = set()
    todo = [pid for pid in roots if pid in procs]
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo.extend(children.get(pid, ()))
    found.discard(os.getpid())
    return found


def _marked(procs: dict[int, Proc], needle: bytes, adopted_only: bool) -> list[int]:
    """Processes whose environment holds ``needle`` (``\\0NAME=VALUE``). With
    ``adopted_only``, only our children are read: as the subreaper, every orphan of a
    call becomes one, and the rest are found through their parents."""
    me = os.getpid()
    return [
        p.pid
        for p in procs.values()
        if (p.ppid == me or not adopted_only) and p.pid != me and needle in _environ(p.pid)
    ]


def call_members(pgid: int | None, marker: str, *, spare: int | None = None) -> set[int]:
    """The live processes of the call whose group is ``pgid`` (None: not known) and
    whose marker is ``marker``. Zombies among them are reaped, except ``spare`` (the
    call's first process, whose exit status belongs to the event loop)."""
    procs = snapshot()
    roots = [p.pid for p in procs.values() if p.pgid == pgid] if pgid is not None else []
    roots += _marked(procs, f"\0{MARKER_ENV}={marker}\0".encode(), adopted_only=_subreaper)
    return _running(procs, _closure(procs, roots), spare)


def our_descendants() -> set[int]:
    """Every live process this one started, directly or not, or that carries one of its
    markers, but for the detached ones (``DETACHED_ENV``) and theirs. Nothing is reaped
    (the event loop may be waiting for its children)."""
    procs = snapshot()
    me = os.getpid()
    roots = [p.pid for p in procs.values() if p.ppid == me]
    if not _subreaper:  # then orphans went elsewhere: look for our marks everywhere
        roots += _marked(procs, f"\0{MARKER_ENV}={me}.".encode(), adopted_only=False)
    found = _closure(procs, roots)
    detached = f"\0{DETACHED_ENV}=1\0".encode()
    found -= _closure(procs, [pid for pid in found if detached in _environ(pid)])
    return _running(procs, found, spare=None, reap_ours=False)


def _running(
    procs: dict[int, Proc], pids: set[int], spare: int | None, reap_ours: bool = True
) -> set[int]:
    me = os.getpid()
    running = set()
    for pid in pids:
        proc = procs[pid]
        if not proc.gone:
            running.add(pid)
        elif reap_ours and proc.ppid == me and pid != spare:
            try:
                os.waitpid(pid, os.WNOHANG)  # an orphan we adopted: nobody else will
            except ChildProcessError:
                pass
    return running


def send(pids: Iterable[int], sig: int) -> int:
    """Signal each process; returns how many could be."""
    sent = 0
    for pid in pids:
        try:
            os.kill(pid, sig)
            sent += 1
        except (ProcessLookupError, PermissionError):
            pass
    return sent


#: How to signal a set of processes; returns how many could be (``send``).
Signaller = Callable[[set[int], int], int]


def ending(
    find: Callable[[], set[int]], grace_s: float, kill_wait_s: float, signal_: Signaller = send
) -> Generator[float, None, bool]:
    """The steps of ending what ``find`` returns: SIGTERM, up to ``grace_s`` for it to
    go, then SIGKILL (again to what is found meanwhile: a process may be forking) for up
    to ``kill_wait_s``. Yields how long to pause before looking again; returns whether
    all are gone. Shared by the event loop (``process_group``) and the exit path."""
    if not signal_(find(), signal.SIGTERM):
        return True
    for sig, within in ((None, grace_s), (signal.SIGKILL, kill_wait_s)):
        deadline = time.monotonic() + within
        pause = 0.001
        while True:
            running = find()
            if not running:
                return True
            if sig is not None:
                signal_(running, sig)
            if time.monotonic() >= deadline:
                break
            yield pause
            pause = min(pause * 2, 0.02)
        if sig is None:
            signal_(find(), signal.SIGKILL)
    return False


def end_processes(find: Callable[[], set[int]], grace_s: float, kill_wait_s: float = 1.0) -> bool:
    """``ending``, blocking: for the exit path, where there may be no event loop."""
    steps = ending(find, grace_s, kill_wait_s)
    while True:
        try:
            time.sleep(next(steps))
        except StopIteration as done:
            return bool(done.value)
