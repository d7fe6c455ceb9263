"""Choose a saved session to resume — or, for ``/fork``, an earlier message to branch
from: type to filter, Enter picks, Escape closes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option


@dataclass(frozen=True)
class PickerRow:
    """One choice: ``key`` is what the picker returns (a session or entry id)."""

    key: str
    label: str
    #: Extra text the filter matches (a session's folder, say), not shown.
    search: str = ""


class SessionPicker(ModalScreen[str | None]):
    """Returns the chosen row's key, or None."""

    DEFAULT_CSS = """
    SessionPicker { align: center middle; }
    SessionPicker > Vertical { width: 90%; max-width: 120; height: auto; max-height: 80%;
                               border: thick $accent; background: $surface; padding: 1 2; }
    SessionPicker OptionList { height: auto; max-height: 18; }
    SessionPicker #message { color: $text-muted; height: auto; }
    """

    BINDINGS = [Binding("escape", "dismiss(None)", "Close")]

    def __init__(self, title: str, rows: Sequence[PickerRow], empty: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.rows = list(rows)
        self.empty = empty or "Nothing to choose from."

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.title_text, markup=False)
            yield Input(placeholder="type to filter, Enter to choose, Esc to close", id="filter")
            yield OptionList(id="choices")
            yield Static("", id="message", markup=False)

    def on_mount(self) -> None:
        self._fill("")

    def _fill(self, text: str) -> None:
        options = self.query_one(OptionList)
        options.clear_options()
        needle = text.lower().strip()
        matches = [r for r in self.rows if needle in f"{r.label} {r.key} {r.search}".lower()]
        options.add_options(Option(Text(r.label), id=r.key) for r in matches)
        message = self.query_one("#message", Static)
        if matches:
            options.highlighted = 0
            message.update(f"{len(matches)} of {len(self.rows)}")
        else:
            message.update(self.empty if not self.rows else f"Nothing matches {text!r}.")

    @on(Input.Changed, "#filter")
    def _filter(self, event: Input.Changed) -> None:
        self._fill(event.value)

    @on(Input.Submitted, "#filter")
    def _submitted(self) -> None:
        options = self.query_one(OptionList)
        if options.option_count and options.highlighted is not None:
            self.dismiss(options.get_option_at_index(options.highlighted).id)

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def key_down(self) -> None:
        self.query_one(OptionList).action_cursor_down()

    def key_up(self) -> None:
        self.query_one(OptionList).action_cursor_up()
