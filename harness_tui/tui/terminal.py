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
