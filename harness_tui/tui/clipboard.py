"""Copy: the mouse's selection, the last answer, a code block, a tool's full output.

Everything copied goes out as OSC 52 (``App.copy_to_clipboard`` writes
``ESC ] 52 ; c ; <base64> BEL``), which the terminal puts on the clipboard, over SSH too
and in tmux with ``set -g set-clipboard on``. When a local clipboard tool is present
(``wl-copy`` under Wayland, ``xclip`` or ``xsel`` under X, ``pbcopy`` on macOS) the text
is also handed to it, in a thread: never blocking the screen, never raising (a failure is
logged). A toast says what was copied, or that there was nothing to copy.

What is copied is found in the conversation's entries, folded ones too (their records):
the last answer is the Markdown of the newest assistant entry; a code block is a fenced
block of an answer (the one under the mouse, else the newest); a tool's output is the
focused card's, else the newest card's (see ``tool_output``).
"""

from __future__ import annotations

import itertools
import logging
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from textual.binding import Binding

from harness_tui.widgets.assistant_entry import AssistantEntry
from harness_tui.widgets.conversation import Conversation
from harness_tui.widgets.tool_card import ToolCard

if TYPE_CHECKING:
    from textual.widgets import TextArea

log = logging.getLogger(__name__)

#: The copy keys: Alt chords (terminals send Esc+letter, which SSH and tmux pass on;
#: Ctrl+Y is the input's redo, F6/F7 select in it). Priority: the parser makes ESC c a
#: printable ``alt+c`` that the input would type as "c". Where Alt types characters
#: (macOS Terminal without "Use Option as Meta"), ``/copy`` does the same.
BINDINGS = [
    Binding("alt+c", "copy('answer')", "Copy the last answer (/copy)", show=False, priority=True),
    Binding(
        "alt+k",
        "copy('code')",
        "Copy the code block under the mouse, or the last (/copy code)",
        show=False,
        priority=True,
    ),
    Binding(
        "alt+o",
        "copy('tool')",
        "Copy a tool's output: the focused card, or the last (/copy tool)",
        show=False,
        priority=True,
    ),
]
NOTHING = {
    "answer": "Nothing to copy: there is no answer yet.",
    "code": "Nothing to copy: no answer has a code block (``` fenced).",
    "tool": "Nothing to copy: no tool has run yet.",
}
LOCAL_TOOL_TIMEOUT_S = 5.0
#: The mouse selection copied last when the mouse let go (None after any other copy).
_released: dict[Any, Any] | None = None
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


# --- what to copy ------------------------------------------------------------------------


def code_blocks(markdown: str) -> list[tuple[int, str]]:
    """The fenced code blocks of ``markdown``: (offset of the opening fence, the code
    without its fences). A block still open at the end (streaming) runs to the end."""
    blocks: list[tuple[int, str]] = []
    fence, start, body, offset = "", 0, [], 0
    for line in markdown.splitlines(keepends=True):
        match = _FENCE.match(line)
        mark = match.group(1) if match else ""
        if not fence and mark:
            fence, start, body = mark, offset, []
        elif fence and _closes(fence, mark, line):
            blocks.append((start, "".join(body).rstrip("\n")))
            fence = ""
        elif fence:
            body.append(line)
        offset += len(line)
    if fence:
        blocks.append((start, "".join(body).rstrip("\n")))
    return blocks


def _closes(fence: str, mark: str, line: str) -> bool:
    """A closing fence: the opening's character, at least as many, nothing after."""
    return bool(mark) and mark[0] == fence[0] and len(mark) >= len(fence) and (line.strip() == mark)


def tool_output(data: Mapping[str, Any]) -> str:
    """A card's full output: the streamed output while it runs; a diff as shown; else
    what the tool returned (the model's text: all of a command's output, not the tail
    the card shows), or the display of a card recorded before it kept that."""
    if data.get("status") in ("running", "waiting"):
        return str(data.get("output") or "")
    if data.get("display_format") == "diff" and data.get("result"):
        return str(data["result"])
    for key in ("full_output", "result", "output"):
        if data.get(key):
            return str(data[key])
    return ""


def _block_under_mouse(entry: AssistantEntry, line: int) -> str | None:
    """The code block of ``entry`` drawn at or above its ``line`` (else its first)."""
    blocks = code_blocks(entry.text)
    if not blocks:
        return None
    chosen = blocks[0][1]
    for start, code in blocks[1:]:
        if entry.rendered_height(entry.text[:start]) <= line:
            chosen = code
    return chosen


def find(app: Any, what: str) -> tuple[str, str] | None:
    """(text, what it is) for ``what`` (``answer``, ``code``, ``tool``), or None."""
    records = app.query_one(Conversation).records_newest_first()
    if what == "tool":
        focused = app.focused
        if isinstance(focused, ToolCard):
            return tool_output(focused.record()[1]), f"the output of {focused.tool_name}"
        for kind, data, _ in records:
            if kind is ToolCard:
                return tool_output(data), f"the output of {data['tool_name']}"
        return None
    if what == "code":
        hovered = app.mouse_over
        if isinstance(hovered, AssistantEntry):
            line = app.mouse_position.y - hovered.content_region.y
            code = _block_under_mouse(hovered, line)
            if code is not None:
                return code, "the code block under the mouse"
    if what == "answer":
        # Inline mode writes a long answer a block at a time: its parts are adjacent.
        for is_answer, group in itertools.groupby(records, lambda r: r[0] is AssistantEntry):
            text = "".join(reversed([data["text"] for _, data, _ in group]))
            if is_answer and text.strip():
                return text, "the last answer"
        return None
    for kind, data, _ in records:
        if kind is not AssistantEntry:
            continue
        blocks = code_blocks(data["text"])
        if blocks:
            return blocks[-1][1], "the last code block"
    return None


# --- copying -------------------------------------------------------------------------------


def local_command(
    env: Mapping[str, str] = os.environ, platform: str = sys.platform
) -> list[str] | None:
    """The local clipboard tool to hand copies to, or None (OSC 52 only)."""
    if platform == "darwin" and shutil.which("pbcopy"):
        return ["pbcopy"]
    if env.get("WAYLAND_DISPLAY") and shutil.which("wl-copy"):
        return ["wl-copy"]
    if env.get("DISPLAY"):
        if shutil.which("xclip"):
            return ["xclip", "-selection", "clipboard"]
        if shutil.which("xsel"):
            return ["xsel", "--clipboard", "--input"]
    return None


def hand_to_local_tool(text: str, command: list[str] | None = None) -> threading.Thread | None:
    """Give ``text`` to the local clipboard tool in a thread (None: there is none)."""
    command = command if command is not None else local_command()
    if not command:
        return None

    def run() -> None:
        try:
            done = subprocess.run(
                command,
                input=text.encode("utf-8"),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=LOCAL_TOOL_TIMEOUT_S,
                check=False,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            log.warning("copy: %s failed (%s); the copy went out as OSC 52 only", command[0], exc)
        else:
            if done.returncode:
                log.warning(
                    "copy: %s exited with %s; the copy went out as OSC 52 only",
                    command[0],
                    done.returncode,
                )

    thread = threading.Thread(target=run, name="clipboard", daemon=True)
    thread.start()
    return thread


def copy(app: Any, text: str, what: str) -> None:
    """Put ``text`` on the clipboard (OSC 52, and the local tool) and say so."""
    global _released
    _released = None
    app.copy_to_clipboard(text)
    hand_to_local_tool(text)
    app.notify(f"Copied {what} ({len(text):,} characters).", timeout=3)


def copy_selection(app: Any, prompt: TextArea | None = None) -> bool:
    """Ctrl+C: copy the text selected in ``prompt``, else the text selected on the screen
    with the mouse, and end that selection (so the next Ctrl+C cancels, clears, quits);
    False when neither has any. Without ``prompt``: the screen's, which stays selected."""
    if prompt is not None and prompt.selected_text:
        from textual.widgets.text_area import Selection

        copy(app, prompt.selected_text, "the selected input")
        prompt.selection = Selection.cursor(prompt.selection.end)
        return True
    text = app.screen.get_selected_text()
    if not text:
        return False
    copy(app, text, "the selection")
    if prompt is not None:
        app.screen.clear_selection()
    return True


def copy_released_selection(app: Any) -> None:
    """The mouse let go: copy the screen's selection unless it is the one copied last
    (a click on a scroll bar keeps the selection; copying it again only repeats the
    notice)."""
    global _released
    selections = dict(app.screen.selections)
    if selections and selections != _released and copy_selection(app):
        _released = selections


def copy_named(app: Any, what: str) -> None:
    """The copy keys and ``/copy``: ``answer``, ``code`` or ``tool``."""
    found = find(app, what)
    if found is None or not found[0]:
        app.notify(NOTHING[what], severity="warning", timeout=3)
    else:
        copy(app, *found)
