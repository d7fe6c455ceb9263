"""The keys that mean more than one thing, by what is going on: Esc (cancel a run;
idle, twice on an empty input: rewind) and Ctrl+C (copy, cancel, clear, twice: quit).

``TwiceKeys`` keeps, for the app, when each was last pressed.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from harness_tui.tui import clipboard, rewind
from harness_tui.tui.host import AppHost
from harness_tui.widgets.prompt_input import PromptInput
from harness_tui.widgets.status_bar import CANCELLING, StatusBar

#: Ctrl+C twice within this quits.
QUIT_WINDOW_S = 1.0
#: Esc twice within this, idle on an empty input, opens the rewind picker.
REWIND_WINDOW_S = 0.5


class TwiceKeys:
    """Esc and Ctrl+C for one app."""

    def __init__(self, app: AppHost, clock: Callable[[], float] = time.monotonic) -> None:
        self._app = app
        self._clock = clock
        self._last_escape = 0.0
        self._last_ctrl_c = 0.0

    def cancel(self) -> bool:
        """Cancel the session's run; False when none is active."""
        app = self._app
        if app.session is None or not app.session.running:
            return False
        app.query_one(StatusBar).state = CANCELLING
        app.call(app.session.cancel())
        return True

    def escape(self) -> None:
        """Esc: cancel a run; idle, twice within a moment on an empty input: /rewind."""
        if self.cancel():
            self._last_escape = 0.0
            return
        if self._app.session is None or self._app.query_one(PromptInput).text.strip():
            self._last_escape = 0.0
            return
        now = self._clock()
        if now - self._last_escape <= REWIND_WINDOW_S:
            self._last_escape = 0.0
            rewind.open_picker(self._app)
        else:
            self._last_escape = now

    def ctrl_c(self) -> None:
        """Ctrl+C, in order: copy the input's selection, else the screen's; cancel a run;
        clear the input (Up brings the text back); and twice within a moment, quit."""
        app = self._app
        prompt = app.query_one(PromptInput)
        if clipboard.copy_selection(app, prompt) or self.cancel():
            return
        if prompt.discard_draft():
            self._last_ctrl_c = 0.0
            app.notify("Input cleared (Up brings it back). Ctrl+C twice quits.", timeout=3)
            return
        now = self._clock()
        if now - self._last_ctrl_c <= QUIT_WINDOW_S:
            app.run_worker(app.action_quit())
        else:
            self._last_ctrl_c = now
            app.notify("Press Ctrl+C again to quit.", timeout=QUIT_WINDOW_S)
