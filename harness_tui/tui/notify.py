"""Telling the user the agent needs them: a desktop notification, written as a terminal
escape, when a run ends or a question waits while the terminal is not focused.

What is told: a run that completed (``harness-tui: done — <first line of the answer>``)
or stopped on an error, and every question that opens a dialog (``dialogs.Questions``):
a permission, the folder's trust, an MCP server's sampling request or form. A cancelled
run is not told (the user, or a browser, cancelled it); nor are sub-agents' runs.

Focus: Textual's driver turns on the terminal's focus reports (``CSI ? 1004 h``) and
keeps ``App.app_focus`` (True until the terminal says otherwise; a key or a click sets
it again). Focus is *unknown* until ``app_focus`` first changes: many terminals do not
report on start, and some never do (tmux without ``focus-events on``). Unknown counts as
not focused, so a notification is sent: a needless one beats a missed question.
Focused, nothing is sent, except the bell an error has always rung.

The escape (setting ``notifications``, or Claude Code's ``preferredNotifChannel``):

- ``osc9``   ``ESC ] 9 ; message BEL``: iTerm2, WezTerm, ghostty, Windows Terminal;
- ``osc777`` ``ESC ] 777 ; notify ; title ; body BEL``: rxvt-unicode, foot, ghostty,
  VTE terminals built with the notification patch;
- ``osc99``  ``ESC ] 99 ; ; message ESC \\``: kitty's own protocol;
- ``bell``   ``BEL``: every terminal (a sound, a flag on the tab or window);
- ``auto``   (default) chosen from the environment (``detect``); ``off``: nothing.

Under tmux (``TMUX`` set) an OSC goes in tmux's passthrough
(``ESC P tmux; <escape, its ESC doubled> ESC \\``), which tmux 3.3+ forwards only with
``set -g allow-passthrough on``; GNU screen (``STY``) gets ``ESC P <escape> ESC \\``.
The bell is never wrapped: the multiplexer handles it (``bell-action``).

The message is the model's text: every control character is taken out (C0, DEL, C1),
so that it can never end the escape early and smuggle one of its own.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from harness_tui.widgets.lazy import lazy_module

if TYPE_CHECKING:
    from textual.app import App

    from harness_tui.core.events import Event

ev = lazy_module("harness_tui.core.events")

TITLE = "harness-tui"
#: Longest message sent (terminals and multiplexers cap escapes; a toast is short).
MAX_MESSAGE = 180
#: Claude Code's ``preferredNotifChannel`` values, as ours.
CLAUDE_CHANNELS = {
    "auto": "auto",
    "iterm2": "osc9",
    "iterm2_with_bell": "osc9+bell",
    "kitty": "osc99",
    "ghostty": "osc777",
    "terminal_bell": "bell",
    "notifications_disabled": "off",
}
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")


def clean(text: str, limit: int = MAX_MESSAGE) -> str:
    """``text`` on one line with no control character, at most ``limit`` characters."""
    text = " ".join(_CONTROL.sub(" ", text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def detect(env: Mapping[str, str]) -> str:
    """The escape this terminal shows as a notification (``bell`` when none is known)."""
    term, program = env.get("TERM", ""), env.get("TERM_PROGRAM", "")
    if env.get("KITTY_WINDOW_ID") or term == "xterm-kitty":
        return "osc99"
    if program == "ghostty" or env.get("GHOSTTY_RESOURCES_DIR") or term == "xterm-ghostty":
        return "osc777"
    if (
        program in ("iTerm.app", "WezTerm")
        or env.get("LC_TERMINAL") == "iTerm2"
        or env.get("ITERM_SESSION_ID")
        or env.get("WEZTERM_PANE")
        or env.get("WT_SESSION")
    ):
        return "osc9"
    if term.startswith(("foot", "rxvt")) or env.get("VTE_VERSION"):
        return "osc777"
    return "bell"


def escape(channel: str, message: str, env: Mapping[str, str]) -> str:
    """The bytes to write for ``message`` on ``channel`` (``auto`` resolved already)."""
    message = clean(message)
    osc = ""
    if channel.startswith("osc9") and not channel.startswith("osc99"):
        osc = f"\x1b]9;{message}\x07"
    elif channel == "osc777":
        osc = f"\x1b]777;notify;{TITLE};{message}\x07"
    elif channel == "osc99":
        osc = f"\x1b]99;;{message}\x1b\\"
    if osc and env.get("TMUX"):
        osc = "\x1bPtmux;" + osc.replace("\x1b", "\x1b\x1b") + "\x1b\\"
    elif osc and env.get("STY"):
        osc = "\x1bP" + osc + "\x1b\\"
    bell = "\x07" if channel in ("bell", "osc9+bell") else ""
    return osc + bell


def channel_setting(settings: Any) -> str:
    """``notifications`` or ``preferredNotifChannel`` from the file with the highest
    precedence that sets either (values checked by ``core.config.settings``)."""
    for source in reversed(getattr(settings, "files", ())):
        if "notifications" in source.data:
            return str(source.data["notifications"])
        if "preferredNotifChannel" in source.data:
            return CLAUDE_CHANNELS.get(source.data["preferredNotifChannel"], "auto")
    return "auto"


def message_for(event: Event) -> str | None:
    """What to tell about ``event`` (None: nothing)."""
    if isinstance(event, ev.RunCompleted):
        if event.parent_tool_call_id is not None:
            return None
        if event.is_error:
            return f"{TITLE}: stopped on an error — {first_line(event.error or event.result)}"
        answer = first_line(event.result).lstrip("#>*-• ")  # not the Markdown's marks
        return f"{TITLE}: done — {answer}" if answer else f"{TITLE}: done"
    if isinstance(event, ev.PermissionRequested):
        from harness_tui.widgets.tool_card import summarize_input

        return f"{TITLE} needs you: allow {event.tool_name}({summarize_input(event.input)})?"
    if isinstance(event, ev.TrustRequested):
        return f"{TITLE} needs you: trust the configuration of {event.folder}?"
    if isinstance(event, ev.SamplingRequested):
        return f"{TITLE} needs you: MCP server {event.server} asks to use the model"
    if isinstance(event, ev.ElicitationRequested):
        return f"{TITLE} needs you: MCP server {event.server} asks: {first_line(event.message)}"
    return None


def first_line(text: str | None) -> str:
    return next((line.strip() for line in (text or "").splitlines() if line.strip()), "")


class Notifier:
    """Watches the app's focus and tells the user about ``on_event``'s events."""

    def __init__(self, app: App[Any], env: Mapping[str, str] | None = None) -> None:
        self._app = app
        self._env = env
        #: Has the terminal ever reported focus (``app_focus`` changed)?
        self.focus_known = False
        app.watch(app, "app_focus", self._focus_changed, init=False)

    def _focus_changed(self, focused: bool) -> None:
        self.focus_known = True

    @property
    def focused(self) -> bool:
        """The user is looking at the terminal (unknown counts as not)."""
        return self.focus_known and bool(self._app.app_focus)

    def on_event(self, event: Event) -> None:
        message = message_for(event)
        if message is None:
            return
        session = getattr(self._app, "session", None)
        channel = channel_setting(getattr(session, "settings", None))
        error = isinstance(event, ev.RunCompleted) and event.is_error
        if self.focused or channel == "off":
            if error and channel != "off":
                self._app.bell()  # an error has always rung the bell
            return
        self.send(channel, message)

    def send(self, channel: str, message: str) -> None:
        """Write ``message`` as ``channel``'s escape through the app's driver."""
        env = os.environ if self._env is None else self._env
        if channel == "auto":
            channel = detect(env)
        driver = getattr(self._app, "_driver", None)
        if driver is not None:
            driver.write(escape(channel, message, env))
