"""Every way harness-tui ends, ends its processes and the program within a bound.

The rule (the command line arms it; in-process uses, such as tests, only get the
signal callbacks):

- A signal (SIGHUP: the terminal closed; SIGTERM: ``kill``; SIGINT) starts an orderly
  shutdown (the run is cancelled, its processes end, the session file is closed) *and*
  a watchdog: if the program is still there ``SIGNAL_DEADLINE_S`` later, the watchdog
  ends every process the harness started and exits. Other shutdowns (``/quit``, the
  end of a ``-p`` run, a crash) get ``ORDERLY_DEADLINE_S``: SessionEnd hooks may take
  a moment.
- A second SIGTERM or SIGINT during the shutdown exits at once (its processes are
  ended first). A repeated SIGHUP does not count: a closing terminal and the shell
  around it may both send one. So does a signal while no view listens (starting up,
  closing down): there is no orderly shutdown to wait for.
- After SIGHUP the terminal is gone: writes to it fail or block, so standard input,
  output and error are pointed at ``/dev/null`` when they were the terminal. Nothing
  left to do at exit can then hang on it. A SIGHUP that was ignored when harness-tui
  started (``nohup``) stays ignored; if the TUI then fails to write to its terminal,
  that counts as the hang-up (``terminal_lost``).
- ``-p`` notices at once when the reader of its output pipe goes (``output_closed``).
- The handlers are Python's own (``signal.signal``), not the event loop's: they run
  even when the event loop is stuck, and the watchdog is a thread that needs no loop.
- At the very end, whatever the harness started and is still running (anything
  descended from it, or carrying its marker; see ``process_tree``) is ended:
  SIGTERM, ``FINAL_GRACE_S``, SIGKILL.
"""

from __future__ import annotations

import fcntl
import os
import signal
import stat
import termios
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from typing import Any, NoReturn

SIGNAL_DEADLINE_S = 1.3
ORDERLY_DEADLINE_S = 5.0
#: Between SIGTERM and SIGKILL for what is left at exit.
FINAL_GRACE_S = 0.2
HANDLED = (signal.SIGHUP, signal.SIGTERM, signal.SIGINT)


class _Guard:
    """Process-wide state: one per program (``GUARD``)."""

    def __init__(self) -> None:
        self.armed = False
        self.deadline: float | None = None
        self.code = 1
        self.reason = ""
        self.first_signal: int | None = None
        self.hup_ignored = False
        self.terminal_fds: tuple[int, ...] = ()
        self.terminal_attrs: list[Any] | None = None
        self.tui = False
        self.signal_deadline_s = SIGNAL_DEADLINE_S
        #: What a hang-up tells the views (see ``terminal_lost``).
        self.hangup_listeners: list[Callable[[], object]] = []
        self._wake_w = -1

    def arm(self) -> None:
        from harness_tui.core.processes import tree as process_tree  # noqa: F401  (now, not when exiting)

        if self.armed:
            return
        self.armed = True
        self.hup_ignored = signal.getsignal(signal.SIGHUP) == signal.SIG_IGN
        self.terminal_fds = tuple(fd for fd in (0, 1, 2) if _isatty(fd))
        if self.terminal_fds:
            try:
                self.terminal_attrs = termios.tcgetattr(self.terminal_fds[0])
            except (OSError, termios.error):
                pass
        for number in HANDLED:  # until a view installs its own (see watch_signals)
            if not (number == signal.SIGHUP and self.hup_ignored):
                signal.signal(number, self._unwatched)
        # The watchdog waits on a pipe: a signal handler can wake it with a plain write
        # (no lock that the interrupted code may hold).
        wake_r, self._wake_w = os.pipe()
        watchdog = threading.Thread(target=self._watch, args=(wake_r,), daemon=True)
        watchdog.start()

    def begin(self, deadline_s: float, code: int, reason: str) -> None:
        """Exit within ``deadline_s`` from now (or sooner, if so set already)."""
        if not self.armed:
            return
        deadline = time.monotonic() + deadline_s
        if self.deadline is None or deadline < self.deadline:
            self.code, self.reason = code, reason
            self.deadline = deadline  # last: the watchdog reads it
            try:
                os.write(self._wake_w, b"!")
            except OSError:
                pass

    def _watch(self, wake_r: int) -> None:
        from harness_tui.core.processes import tree as process_tree

        # Orphans of tools and servers stay ours to end (here: ctypes is slow to import,
        # and the first frame should not wait for it).
        process_tree.become_subreaper()
        os.read(wake_r, 1)
        while True:
            deadline = self.deadline  # may move sooner
            assert deadline is not None
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            time.sleep(min(remaining, 0.05))
        self.exit_now(self.code, f"{self.reason} took too long; ended its processes and quit")

    def exit_now(self, code: int, why: str = "") -> NoReturn:
        """End every process we started (a short grace), put the terminal back, say
        ``why`` (after: the full screen would hide it), exit."""
        from harness_tui.core.processes import tree as process_tree

        try:
            process_tree.end_processes(process_tree.our_descendants, FINAL_GRACE_S, 0.5)
        finally:
            self._restore_terminal()
            if why:
                self._say(f"harness-tui: {why}")
            os._exit(code)

    def _restore_terminal(self) -> None:
        if self.terminal_attrs is not None and self.terminal_fds:
            try:
                termios.tcsetattr(self.terminal_fds[0], termios.TCSANOW, self.terminal_attrs)
            except (OSError, termios.error):
                pass
        if self.tui:
            # Leave the alternate screen, show the cursor, stop mouse reports.
            self._say("\x1b[?1049l\x1b[?25h\x1b[?1000l\x1b[?1003l\x1b[?1006l\x1b[?2004l", "")

    def _say(self, text: str, end: str = "\n") -> None:
        """Write to stderr from any thread without waiting on it: a terminal stopped with
        Ctrl+S would block the write, and nothing may block the exit."""
        data = (text + end).encode(errors="replace")

        def write() -> None:
            try:
                os.write(2, data)
            except OSError:
                pass

        writer = threading.Thread(target=write, daemon=True)
        writer.start()
        writer.join(0.05)

    def detach_terminal(self) -> None:
        """Point the terminal's standard streams at /dev/null (it hung up)."""
        if not self.terminal_fds:
            return
        try:
            null = os.open(os.devnull, os.O_RDWR)
        except OSError:
            return
        for fd in self.terminal_fds:
            try:
                os.dup2(null, fd)
            except OSError:
                pass
        os.close(null)
        self.terminal_attrs = None
        self.tui = False

    def _unwatched(self, number: int, frame: object) -> None:
        """A signal when no view listens (starting up, closing down): nothing orderly
        is under way to wait for, so exit now (a repeated SIGHUP excepted)."""
        if self.on_signal(number):
            self.exit_now(128 + number)

    def on_signal(self, number: int) -> bool:
        """Called first by every handler; False when the signal is to be ignored."""
        if not self.armed:
            return True
        if number == signal.SIGHUP:
            self.detach_terminal()
            if self.first_signal is not None:
                return False  # the terminal hangs up once
        elif self.first_signal is not None:
            self.exit_now(128 + number, f"{_name(number)} during the shutdown: quit at once")
        self.first_signal = number
        self.begin(self.signal_deadline_s, 128 + number, f"shutting down after {_name(number)}")
        return True


GUARD = _Guard()


def arm() -> None:
    """For the command line only: shutdowns now end the program within a bound."""
    GUARD.arm()


def tui_started() -> None:
    """The terminal is in full-screen mode: a forced exit puts it back."""
    GUARD.tui = GUARD.armed


def begin_shutdown(reason: str, code: int = 1, deadline_s: float = ORDERLY_DEADLINE_S) -> None:
    """An orderly shutdown has begun: if the program is still there after
    ``deadline_s``, end its processes and exit with ``code``. A no-op unless armed."""
    GUARD.begin(deadline_s, code, reason)


def terminal_lost() -> None:
    """The terminal went away but no SIGHUP came (it was ignored: ``nohup``), so a write
    to it failed: do what a SIGHUP does. From any thread."""
    if not GUARD.on_signal(signal.SIGHUP):
        return
    if not GUARD.hangup_listeners:
        GUARD.exit_now(128 + signal.SIGHUP)
    for listener in list(GUARD.hangup_listeners):
        listener()


def finish(code: int) -> None:
    """The last step of the program: end whatever it started that still runs. Also
    bounds what Python does after it (joining threads); ``code`` is the exit code."""
    if not GUARD.armed:
        return
    from harness_tui.core.processes import tree as process_tree

    GUARD.begin(ORDERLY_DEADLINE_S, code, "exiting")
    process_tree.end_processes(process_tree.our_descendants, FINAL_GRACE_S, 0.5)


def watch_signals(
    callback: Callable[[int], object],
    signals: Iterable[int] = HANDLED,
    deadline_s: float = SIGNAL_DEADLINE_S,
) -> Callable[[], None]:
    """Call ``callback(signal number)`` in the running event loop on each of
    ``signals``, after the guard's own steps (see the module); the program exits at the
    latest ``deadline_s`` after the first. Must be called in the main thread, in the
    loop; returns a function that puts the old handlers back."""
    import asyncio

    loop = asyncio.get_running_loop()
    GUARD.signal_deadline_s = deadline_s
    previous: dict[int, Any] = {}

    def deliver(number: int) -> None:
        try:
            loop.call_soon_threadsafe(callback, number)
        except RuntimeError:  # the loop is closed: the program is on its way out
            pass

    def handler(number: int, frame: object) -> None:
        if GUARD.on_signal(number):
            deliver(number)

    def on_hangup() -> None:
        deliver(signal.SIGHUP)

    signals = tuple(signals)
    if signal.SIGHUP in signals:
        GUARD.hangup_listeners.append(on_hangup)
    for number in signals:
        if number == signal.SIGHUP and GUARD.hup_ignored:
            continue  # nohup: the user wants the program to outlive the terminal
        try:
            previous[number] = signal.signal(number, handler)
        except (ValueError, OSError):  # not the main thread
            continue

    def restore() -> None:
        if on_hangup in GUARD.hangup_listeners:
            GUARD.hangup_listeners.remove(on_hangup)
        for number, old in previous.items():
            try:
                signal.signal(number, old if old is not None else signal.SIG_DFL)
            except (ValueError, OSError):
                pass
        previous.clear()

    return restore


@asynccontextmanager
async def signal_receiver(
    signals: Iterable[int] = HANDLED, deadline_s: float = SIGNAL_DEADLINE_S
) -> AsyncIterator[AsyncIterator[int]]:
    """Like ``anyio.open_signal_receiver``, with the guard's steps (see the module)."""
    import anyio

    send, receive = anyio.create_memory_object_stream[int](16)

    def deliver(number: int) -> None:
        try:
            send.send_nowait(number)
        except (anyio.WouldBlock, anyio.ClosedResourceError, anyio.BrokenResourceError):
            pass

    restore = watch_signals(deliver, signals, deadline_s)
    try:
        async with send, receive:
            yield receive
    finally:
        restore()


async def output_closed(stream: Any) -> None:
    """Return once nobody reads ``stream`` any more (its pipe's reader has gone); never,
    for anything but a pipe we only write to (a file, a terminal). ``-p … | head``
    would otherwise be noticed only at the next write, which a long tool call delays."""
    import anyio

    try:
        fd = stream.fileno()
        is_pipe = stat.S_ISFIFO(os.fstat(fd).st_mode)
        write_only = fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_WRONLY
    except (AttributeError, OSError, ValueError):
        is_pipe = write_only = False
    if not (is_pipe and write_only):
        await anyio.sleep_forever()
    # The writing end of a pipe is never readable; it reports an error (which the event
    # loop hands to readers) when the last reader closes.
    await anyio.wait_readable(fd)


def _isatty(fd: int) -> bool:
    try:
        return os.isatty(fd)
    except OSError:
        return False


def _name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


__all__ = [
    "FINAL_GRACE_S",
    "ORDERLY_DEADLINE_S",
    "SIGNAL_DEADLINE_S",
    "arm",
    "begin_shutdown",
    "finish",
    "output_closed",
    "signal_receiver",
    "terminal_lost",
    "tui_started",
    "watch_signals",
]
