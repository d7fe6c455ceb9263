"""Choose a saved session to resume — or, for ``/fork``, an earlier message to branch
from: type to filter, Enter picks, Escape closes. Given a ``search``, what is typed also
finds rows by their content (the sessions' full text), listed after the rows whose label
matches, each with the line that matched."""

from __future__ import annotations

from collections.abc import Callable, Sequence
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
    #: A second line, shown dimmed (the line a search matched).
    detail: str = ""


#: Finds rows by their content (run in a thread: it may read files).
Search = Callable[[str], Sequence[PickerRow]]


class SessionPicker(ModalScreen[str | None]):
    """Returns the chosen row's key, or None."""

    DEFAULT_CSS = """
    SessionPicker { align: center middle; }
    SessionPicker > Vertical { width: 90%; max-width: 120; height: auto; max-height: 80%;
                               border: thick $accent; background: $surface; padding: 1 2; }
    SessionPicker OptionList { height: auto; max-height: 18; }
    SessionPicker #message { color: $text-muted; height: auto; }
    """

    #: Searches start once the typing pauses this long (seconds).
    SEARCH_DELAY = 0.15

    BINDINGS = [Binding("escape", "dismiss(None)", "Close")]

    def __init__(
        self,
        title: str,
        rows: Sequence[PickerRow],
        empty: str = "",
        search: Search | None = None,
    ) -> None:
        super().__init__()
        self.title_text = title
        self.rows = list(rows)
        self.empty = empty or "Nothing to choose from."
        self.search = search
        #: The rows the last search found, for the text it searched.
        self.found: tuple[str, list[PickerRow]] = ("", [])

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.title_text, markup=False)
            hint = "type to filter" + (" or search their messages" if self.search else "")
            yield Input(placeholder=f"{hint}, Enter to choose, Esc to close", id="filter")
            yield OptionList(id="choices")
            yield Static("", id="message", markup=False)

    def on_mount(self) -> None:
        self._fill("")

    def _fill(self, text: str) -> None:
        options = self.query_one(OptionList)
        options.clear_options()
        needle = text.lower().strip()
        matches = [r for r in self.rows if needle in f"{r.label} {r.key} {r.search}".lower()]
        searched, found = self.found
        keys = {r.key for r in matches}
        extra = [r for r in found if r.key not in keys] if needle and searched == text else []
        options.add_options(Option(_prompt(r), id=r.key) for r in matches + extra)
        message = self.query_one("#message", Static)
        if matches or extra:
            options.highlighted = 0
            more = f"; {len(extra)} more found in their messages" if extra else ""
            message.update(f"{len(matches)} of {len(self.rows)}{more}")
        else:
            message.update(self.empty if not self.rows else f"Nothing matches {text!r}.")

    @on(Input.Changed, "#filter")
    def _filter(self, event: Input.Changed) -> None:
        self._fill(event.value)
        if self.search is not None and event.value.strip():
            # A search that fails finds nothing more: the label matches stay.
            self.run_worker(
                self._search(event.value), group="search", exclusive=True, exit_on_error=False
            )

    async def _search(self, text: str) -> None:
        from anyio import sleep, to_thread

        await sleep(self.SEARCH_DELAY)  # cancelled by the next key (exclusive)
        assert self.search is not None
        found = list(await to_thread.run_sync(self.search, text))
        if self.query_one("#filter", Input).value == text:  # still what is typed
            self.found = (text, found)
            self._fill(text)

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


def _prompt(row: PickerRow) -> Text:
    """A row as shown: its label, and its detail dimmed below (plain text, no markup)."""
    text = Text(row.label)
    if row.detail:
        text.append("\n    " + row.detail, style="dim")
    return text
