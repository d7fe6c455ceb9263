"""What the app changes of Textual and of the process: two patches to Textual's terminal
handling, the signals that quit, the garbage collector's tuning; and the stylesheet's
path."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Any


def patch_textual() -> None:
    """Apply both patches below (each once, however often this is called)."""
    _patch_legacy_alt_enter()
    _patch_writer_thread()


def _patch_legacy_alt_enter() -> None:
    """Most terminals send Alt+Enter as ESC CR, which Textual reads as plain Enter.
    Read it as ``alt+enter`` so follow-ups work without the kitty keyboard protocol."""
    from textual import events
    from textual._xterm_parser import XTermParser

    original = XTermParser._sequence_to_key_events
    if getattr(original, "_harness_patched", False):
        return

    def sequence_to_key_events(self: Any, sequence: str, alt: bool = False) -> Any:
        if alt and sequence == "\r":
            return iter([events.Key("alt+enter", None)])
        return original(self, sequence, alt)

    sequence_to_key_events._harness_patched = True  # type: ignore[attr-defined]
    XTermParser._sequence_to_key_events = sequence_to_key_events  # type: ignore[method-assign]


def _patch_writer_thread() -> None:
    """Textual writes the screen from a thread fed by a bounded queue. When the terminal
    hangs up, a write fails (EIO) and the thread ends; the queue then fills and the next
    write blocks the app for ever, even its exit. Instead, quit as on a SIGHUP (which
    may have been ignored: ``nohup``), and keep taking writes, dropping them: there is
    no terminal to show them on."""
    from textual.drivers._writer_thread import WriterThread

    from harness_tui.core.processes import exit_guard

    original = WriterThread.run
    if getattr(original, "_harness_patched", False):
        return

    def run(self: Any) -> None:
        try:
            original(self)
        except (OSError, ValueError):  # ValueError: the file was closed
            exit_guard.terminal_lost()
            queue = getattr(self, "_queue", None)
            while queue is not None and queue.get() is not None:
                pass

    run._harness_patched = True  # type: ignore[attr-defined]
    WriterThread.run = run  # type: ignore[method-assign]


def quit_on_signals(quit: Callable[[int], None]) -> Callable[[], None]:
    """A closed terminal (SIGHUP), a ``kill`` (SIGTERM) or SIGINT calls ``quit``, which
    quits as Ctrl+C twice does: the run is cancelled, its processes end, the session
    file is closed. Without this the process would die on the spot and leave tool
    processes (in groups of their own) running. The handlers are the exit guard's: they
    work even when the event loop is stuck, and bound the time to exit. Returns what
    puts the previous handlers back."""
    from harness_tui.core.processes import exit_guard

    restore = exit_guard.watch_signals(quit)
    exit_guard.tui_started()
    return restore


def stylesheet(name: str) -> str:
    """Path of a stylesheet shipped in ``harness_tui.styles`` (the checkout's styles/
    folder in an editable install); found without importlib.resources, which costs
    start-up time."""
    spec = importlib.util.find_spec("harness_tui.styles")
    assert spec is not None and spec.submodule_search_locations
    return str(Path(next(iter(spec.submodule_search_locations))) / name)


def tune_gc() -> None:
    """What start-up created (Textual, our modules) lives as long as the process: freeze
    it out of the collector's passes, and collect young objects less often. A stream of
    token events allocates fast; this gave 10-15% in benchmark B2."""
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)


def collect_garbage(now: float | None = None) -> bool:
    """A full collection, at most every ``COLLECT_EVERY_S``; True when it ran. With the
    thresholds ``tune_gc`` sets the oldest generation is collected rarely, and the
    widgets a conversation folds away are cycles (Textual's nodes, their caches and
    closures): between collections they piled up (B11: RSS grew ~65 MB per 1,000 turns;
    with this, ~23). One takes ~0.3 s with a long session's objects, so ``IdleCollector``
    runs it when nothing happens."""
    import gc
    import time

    now = time.monotonic() if now is None else now
    if _last_collection and now - _last_collection[-1] < COLLECT_EVERY_S:
        return False
    started = time.perf_counter()
    gc.collect()
    collection_times.append(time.perf_counter() - started)
    del collection_times[:-100]
    _last_collection[:] = [now]
    return True


#: A full collection at most this often (seconds).
COLLECT_EVERY_S = 5.0
#: After a run ends, collect once nothing has happened for this long (seconds).
IDLE_S = 1.0
#: The durations of the last collections, in seconds (B11 reports them).
collection_times: list[float] = []
_last_collection: list[float] = []


class IdleCollector:
    """Runs ``collect_garbage`` after a run has ended, once the user has not typed for
    ``IDLE_S`` and no run has started: the pause never lands in a stream or in typing."""

    def __init__(self, app: Any, idle_s: float | None = None) -> None:
        self._app = app
        self._idle_s = IDLE_S if idle_s is None else idle_s
        self._typed_at = 0.0
        self._timer: Any = None

    def on_event(self, event: Any) -> None:
        if event.type in ("RUN_COMPLETED", "RUN_CANCELLED") and event.parent_tool_call_id is None:
            self._wait(self._idle_s)

    def typed(self) -> None:
        import time

        self._typed_at = time.monotonic()

    def _wait(self, seconds: float) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._timer = self._app.set_timer(max(seconds, 0.001), self._check)

    def _check(self) -> None:
        import time

        self._timer = None
        session = self._app.session
        if session is not None and session.running:
            return  # the next run's end asks again
        quiet = time.monotonic() - self._typed_at
        if quiet < self._idle_s:
            self._wait(self._idle_s - quiet)
        else:
            collect_garbage()
