"""The input box: multi-line, history, steering keys, completion of ``/`` and ``@``, and
the images attached to the prompt (chips above it, ``attachments``).

Keys: Enter sends (the app steers when a run is active); Alt+Enter queues a follow-up;
Shift+Enter or Ctrl+J inserts a newline; Up/Down at the first/last line walk the
history; Alt+Up asks for the newest pending message back. Ctrl+V (and a paste with no
text) asks the app for the clipboard's image; a pasted or dropped image path, or an
``@`` completion of an image file, asks it to attach that file; Backspace at the very
start removes the last chip. With the completion menu open, Up/Down move in it, Tab
accepts and Esc closes it. Enter accepts the entry moved to, or the only completion of
what is typed; otherwise it sends exactly what is typed (see
``PromptInput.completion_for_enter``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import OptionList, TextArea
from textual.widgets.option_list import Option

from harness_tui.widgets.attachments import AttachmentRow, dropped_image_path
from harness_tui.widgets.mcp_completions import McpCompletions

if TYPE_CHECKING:
    from harness_tui.core.messages import ImageBlock

MAX_HISTORY = 500
MAX_SUGGESTIONS = 12


def complete_path(cwd: Path, fragment: str, limit: int = MAX_SUGGESTIONS) -> list[str]:
    """Paths under ``cwd`` that start with ``fragment`` (folders end with ``/``)."""
    folder, _, stem = fragment.rpartition("/")
    base = (cwd / folder) if folder else cwd
    try:
        entries = sorted(os.scandir(base), key=lambda e: e.name)
    except OSError:
        return []
    found = []
    for entry in entries:
        if entry.name.startswith(".") and not stem.startswith("."):
            continue
        if entry.name.startswith(stem):
            path = f"{folder}/{entry.name}" if folder else entry.name
            found.append(path + ("/" if entry.is_dir() else ""))
            if len(found) >= limit:
                break
    return found


#: What a completion list was computed for: the input's text and cursor.
Source = tuple[str, tuple[int, int]]
#: (text to insert, label) pairs; None when nothing is to be completed at the cursor.
Completer = Callable[["PromptInput"], "list[tuple[str, str]] | None"]


#: ``/mcp VERB NAME``, completed in the input.
MCP_VERBS = {
    "restart": "stop and start one MCP server",
    "login": "log in to a remote MCP server (OAuth, in the browser)",
    "logout": "forget a remote MCP server's login",
}


class CompletionMenu(OptionList):
    """The suggestions above the input. It remembers the text they were computed for
    (``source``) and whether the user moved in them: a list for an earlier text is
    never accepted (fast typing and pastes outrun the list's update)."""

    DEFAULT_CSS = """
    CompletionMenu { height: auto; max-height: 8; display: none; border: none;
                     background: $panel; }
    CompletionMenu.-open { display: block; }
    """

    can_focus = False

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._values: list[str] = []
        self.source: Source | None = None
        #: The user moved to the highlighted entry (Up/Down) in this list.
        self.moved = False

    def show(self, options: list[tuple[str, str]], source: Source) -> None:
        """``options``: (text to insert, label), computed for ``source``."""
        self.clear_options()
        self._values = [value for value, _ in options]
        # Labels are names and paths from files: plain text, never markup.
        self.add_options(Option(Text(label)) for _, label in options)
        self.source, self.moved = source, False
        self.set_class(bool(options), "-open")
        if options:
            self.highlighted = 0

    def close(self) -> None:
        self.source = None
        self.set_class(False, "-open")

    def move(self, step: int) -> None:
        self.action_cursor_up() if step < 0 else self.action_cursor_down()
        self.moved = True

    @property
    def is_open(self) -> bool:
        return self.has_class("-open")

    def chosen(self) -> str | None:
        if not self.is_open or self.highlighted is None:
            return None
        return self._values[self.highlighted]


class PromptInput(TextArea):
    """The text area itself; see the module docstring for its keys."""

    DEFAULT_CSS = """
    PromptInput { height: auto; min-height: 3; max-height: 10; border: round $panel-lighten-2; }
    PromptInput:focus { border: round $accent; }
    """

    class Submitted(Message):
        def __init__(self, text: str, follow_up: bool, images: tuple[ImageBlock, ...] = ()) -> None:
            super().__init__()
            self.text = text
            self.follow_up = follow_up
            self.images = images

    class PasteImage(Message):
        """Ctrl+V, or the terminal pasted nothing: attach the clipboard's image (else
        paste its text)."""

    class AttachFile(Message):
        """Attach the image file at ``path`` (pasted, dropped or completed after ``@``)."""

        def __init__(self, path: str) -> None:
            super().__init__()
            self.path = path

    class PullBack(Message):
        """Alt+Up: the user wants the newest pending message back for editing."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(soft_wrap=True, show_line_numbers=False, tab_behavior="focus", **kwargs)  # type: ignore[arg-type]
        self.prompt_history: list[str] = []
        self._history_index: int | None = None
        self._draft = ""
        self.menu: CompletionMenu | None = None
        #: The chips of the attached images (set by ``PromptBox``).
        self.attachments: AttachmentRow | None = None
        #: Computes the completions for the current text (set by ``PromptBox``).
        self.completer: Completer | None = None
        #: The text for which the user closed the menu with Esc (it stays closed).
        self.dismissed: Source | None = None

    @property
    def source(self) -> Source:
        """The text and cursor a completion list must have been computed for."""
        return self.text, self.cursor_location

    def fresh_options(self) -> list[tuple[str, str]] | None:
        """The completions for the current text, computed now."""
        return self.completer(self) if self.completer is not None else None

    def refresh_menu(self, *, force: bool = False) -> None:
        """Bring the menu up to date with the text (a no-op when it already is, so the
        user's place in it is kept; ``force``: completions arrived for it)."""
        menu = self.menu
        source = self.source
        if menu is None or (menu.is_open and menu.source == source and not force):
            return
        options = None if self.dismissed == source else self.fresh_options()
        if options:
            menu.show(options, source)
        else:
            menu.close()

    def completion_for_enter(self) -> str | None:
        """What Enter accepts, or None to send the text as it is. Enter accepts only a
        completion of the current text (never a list left from an earlier one, which a
        fast typist or a paste outruns) that the user moved to, or the only one there
        is; a word typed out in full is sent as it is."""
        menu = self.menu
        source = self.source
        if menu is not None and menu.is_open and menu.source == source and menu.moved:
            return menu.chosen()
        if self.dismissed == source:
            return None
        options = self.fresh_options() or []
        word = self._current_word()
        if any(value.strip() == word for value, _ in options):
            return None
        return options[0][0] if len(options) == 1 else None

    def _menu_key(self, key: str) -> bool:
        """Enter, Tab, Up, Down and Esc while completing; True when the key was used."""
        menu = self.menu
        if menu is None:
            return False
        if key == "enter":
            value = self.completion_for_enter()
            if value is None:
                return False
            self._accept(value)
            return True
        if key == "escape":
            if not menu.is_open:
                return False
            menu.close()
            self.dismissed = self.source
            return True
        # Moves and Tab act on the list for what is typed now, also when keys came
        # faster than the list (it may be out of date, or not open yet).
        was_open = menu.is_open
        self.refresh_menu()
        if not menu.is_open:
            return key == "tab" and was_open  # nothing to complete: Tab does nothing
        if key == "tab":
            self._accept(menu.chosen())
        else:
            menu.move(-1 if key == "up" else 1)
        return True

    async def _on_key(self, event: events.Key) -> None:
        key = event.key
        if key in ("enter", "tab", "up", "down", "escape") and self._menu_key(key):
            event.prevent_default()
            event.stop()
            return
        if key in ("enter", "alt+enter"):
            event.prevent_default()
            event.stop()
            self._submit(follow_up=key == "alt+enter")
            return
        if key in ("shift+enter", "ctrl+j"):
            event.prevent_default()
            event.stop()
            self.insert("\n")
            return
        if key == "backspace" and self._at_start() and self.attachments is not None:
            if self.attachments.pop() is not None:
                event.prevent_default()
                event.stop()
                return
        if key == "alt+up":
            event.prevent_default()
            event.stop()
            self.post_message(self.PullBack())
            return
        if key == "up" and self.cursor_location[0] == 0 and self.prompt_history:
            event.prevent_default()
            event.stop()
            self._walk_history(-1)
            return
        if (
            key == "down"
            and self._history_index is not None
            and self.cursor_location[0] == self.document.line_count - 1
        ):
            event.prevent_default()
            event.stop()
            self._walk_history(+1)
            return
        await super()._on_key(event)

    def _at_start(self) -> bool:
        return self.cursor_location == (0, 0) and self.selection.is_empty

    def action_paste(self) -> None:
        """Ctrl+V: the app reads the clipboard (an image, else its text: ``paste_text``)."""
        self.post_message(self.PasteImage())

    def paste_text(self, text: str) -> None:
        """Put ``text`` in place of the selection, as a paste does."""
        if result := self._replace_via_keyboard(text, *self.selection):
            self.move_cursor(result.end_location)

    async def _on_paste(self, event: events.Paste) -> None:
        """An image path, or nothing (the terminal had no text): attach instead of
        inserting. Text goes on to ``TextArea``'s handler (Textual calls each class's)."""
        path = dropped_image_path(event.text) if event.text.strip() else None
        if path is not None or not event.text.strip():
            event.prevent_default()
            event.stop()
            self.post_message(self.AttachFile(path) if path else self.PasteImage())

    def _submit(self, follow_up: bool) -> None:
        text = self.text
        attached = self.attachments.images if self.attachments is not None else []
        if not text.strip() and not attached:
            return
        images = self.attachments.take() if self.attachments is not None else ()
        if text.strip():
            self._remember(text)
        if self.menu is not None:
            self.menu.close()
        self.post_message(self.Submitted(text, follow_up, images))

    def _walk_history(self, step: int) -> None:
        if self._history_index is None:
            if step > 0:
                return
            self._draft = self.text
            index = len(self.prompt_history) - 1
        else:
            index = self._history_index + step
        if index >= len(self.prompt_history):
            self._history_index = None
            self.load_text(self._draft)
        else:
            self._history_index = max(0, index)
            self.load_text(self.prompt_history[self._history_index])
        self.move_cursor(self.document.end)

    def discard_draft(self) -> bool:
        """Empty the box, keeping what it held in the history (Up brings it back);
        False when there was nothing to discard."""
        text = self.text
        if not text.strip():
            return False
        self._remember(text)
        return True

    def _remember(self, text: str) -> None:
        """Into the history (no repeat of the newest), and out of the box."""
        if not self.prompt_history or self.prompt_history[-1] != text:
            self.prompt_history = [*self.prompt_history, text][-MAX_HISTORY:]
        self._history_index = None
        self.clear()

    def put_back(self, text: str, images: tuple[ImageBlock, ...] = ()) -> None:
        """Return a message to the box (pulled back or handed back by a cancel)."""
        current = self.text.rstrip()
        if text:
            self.load_text(f"{current}\n{text}" if current else text)
            self.move_cursor(self.document.end)
        for image in images:
            self.attach(image)

    def attach(self, image: ImageBlock) -> None:
        """Show ``image`` as a chip; it goes with the next prompt sent."""
        if self.attachments is not None:
            self.attachments.add(image)

    def _current_word(self) -> str:
        row, column = self.cursor_location
        line = self.document.get_line(row)[:column]
        return line.rsplit(" ", 1)[-1].rsplit("\n", 1)[-1]

    def _accept(self, value: str | None) -> None:
        if value is None or self.menu is None:
            return
        row, column = self.cursor_location
        line = self.document.get_line(row)[:column]
        start = max(line.rfind(" "), line.rfind("\n")) + 1
        self.replace(value, (row, start), (row, column))
        self.menu.close()
        path = dropped_image_path(value[1:]) if value.startswith("@") else None
        if path is not None:  # the core attaches @mentions too; the chip shows it now
            self.post_message(self.AttachFile(path))


class PromptBox(Vertical):
    """The completion menu above the input. ``commands`` are (name, description) pairs
    for ``/``; ``cwd`` is where ``@`` looks for paths; ``mcp`` gives the session's MCP
    completions (or None), for resources and argument values (see ``mcp_completions``)."""

    DEFAULT_CSS = """
    PromptBox { height: auto; }
    """

    def __init__(
        self,
        cwd: Path,
        commands: Callable[[], list[tuple[str, str]]],
        mcp: Callable[[], Any] = lambda: None,
        **kwargs: object,
    ) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.cwd = cwd
        self.commands = commands
        self.mcp = McpCompletions(self, mcp, self._completions_arrived)

    def _completions_arrived(self) -> None:
        self.query_one(PromptInput).refresh_menu(force=True)

    def compose(self) -> ComposeResult:
        menu = CompletionMenu()
        attachments = AttachmentRow(id="attachments")
        prompt = PromptInput(id="prompt")
        prompt.menu, prompt.completer, prompt.attachments = menu, self.suggestions, attachments
        yield menu
        yield attachments
        yield prompt

    @on(AttachmentRow.Removed)
    def _chip_removed(self) -> None:
        self.query_one(PromptInput).focus()

    @on(TextArea.Changed)
    def _suggest(self, event: TextArea.Changed) -> None:
        event.text_area.refresh_menu()  # type: ignore[attr-defined]

    def suggestions(self, prompt: PromptInput) -> list[tuple[str, str]] | None:
        """Completions at the cursor: slash commands on the first line (and the
        arguments of MCP prompts, the server of ``/mcp restart``), MCP resources and
        paths after ``@``; None when none applies."""
        row, column = prompt.cursor_location
        line = prompt.document.get_line(row)[:column]
        word = line.rsplit(" ", 1)[-1]
        if row == 0 and line.startswith("/") and " " not in line:
            options = [
                (f"/{name} ", f"/{name}  {about}")
                for name, about in self.commands()
                if name.startswith(line[1:])
            ]
            return options[:MAX_SUGGESTIONS]
        if row == 0 and line.startswith("/mcp__"):
            return self.mcp.prompt_arguments(line)
        if row == 0 and line.startswith("/mcp ") and line.count(" ") == 1:
            verbs = [(f"{v} ", f"{v} NAME  {about}") for v, about in MCP_VERBS.items()]
            return [(v, about) for v, about in verbs if v.startswith(word)] or None
        verb = line.split(" ")[1] if line.startswith("/mcp ") else ""
        if row == 0 and verb in MCP_VERBS and line.count(" ") == 2:
            names = [n for n in self.mcp.server_names() if n.startswith(word)]
            return [(n, f"{n}  {verb} this MCP server") for n in names[:MAX_SUGGESTIONS]]
        if word.startswith("@"):
            mcp = self.mcp.mentions(word, MAX_SUGGESTIONS)
            if ":" in word and mcp:  # @server:uri
                return mcp
            paths = [(f"@{p}", f"@{p}") for p in complete_path(self.cwd, word[1:])]
            return [*paths, *mcp][:MAX_SUGGESTIONS]
        return None
