"""Choose a model: filter the catalogue, or type any model name."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option


@dataclass(frozen=True)
class ModelRow:
    name: str
    provider: str
    context_window: int | None = None
    price: str = ""
    key_present: bool = True
    note: str = ""

    def label(self) -> str:
        window = f"{self.context_window // 1000}k" if self.context_window else "?"
        key = "key ✓" if self.key_present else "no key"
        extra = f" · {self.note}" if self.note else ""
        return f"{self.name:<34} {self.provider:<14} {window:>6}  {self.price:<14} {key}{extra}"


class ModelPicker(ModalScreen[str | None]):
    """Returns the chosen model name (checked with ``check`` first), or None."""

    DEFAULT_CSS = """
    ModelPicker { align: center middle; }
    ModelPicker > Vertical { width: 90%; max-width: 100; height: auto; max-height: 80%;
                             border: thick $accent; background: $surface; padding: 1 2; }
    ModelPicker OptionList { height: auto; max-height: 16; }
    ModelPicker #message { color: $error; height: auto; }
    """

    BINDINGS = [Binding("escape", "dismiss(None)", "Close")]

    #: How long a row stays highlighted before its model is warmed (arrowing past
    #: rows warms nothing).
    WARM_AFTER = 0.3

    def __init__(
        self,
        rows: Sequence[ModelRow],
        current: str,
        check: Callable[[str], str | None],
        warm: Callable[[str], None] | None = None,
    ) -> None:
        """``check(name)`` returns an error message for a name that cannot be used;
        ``warm(name)`` gets the highlighted model ready, so that the first request after
        switching to it is not slower than the rest."""
        super().__init__()
        self.rows = list(rows)
        self.current = current
        self.check = check
        self.warm = warm
        self._warm_timer: Timer | None = None
        #: The user moved to a row (Up/Down) in the list as it is now.
        self._moved = False

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"Model (now: {self.current})", markup=False)
            yield Input(placeholder="filter, or type provider/model and press Enter", id="filter")
            yield OptionList(id="models")
            yield Static("", id="message", markup=False)

    def on_mount(self) -> None:
        self._fill("")

    def _fill(self, text: str) -> None:
        self._moved = False  # a new list: no row chosen in it yet
        options = self.query_one(OptionList)
        options.clear_options()
        needle = text.lower().strip()
        matches = [r for r in self.rows if needle in f"{r.name} {r.provider}".lower()]
        options.add_options(Option(Text(r.label()), id=r.name) for r in matches)
        message = self.query_one("#message", Static)
        if matches:
            options.highlighted = 0
            message.update("")
        else:
            message.update(
                f"No model in the list matches {text!r}; press Enter to try it as a model name."
            )

    @on(OptionList.OptionHighlighted)
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        name = event.option.id
        if self.warm is None or not name or name == self.current:
            return
        if self._warm_timer is not None:
            self._warm_timer.stop()
        warm = self.warm
        self._warm_timer = self.set_timer(self.WARM_AFTER, lambda: warm(name))

    @on(Input.Changed, "#filter")
    def _filter(self, event: Input.Changed) -> None:
        self._fill(event.value)

    @on(Input.Submitted, "#filter")
    def _submitted(self, event: Input.Submitted) -> None:
        """Enter takes the row moved to; else a model name typed in full, as it is (a
        row that merely contains it, "gpt-4o" for "gpt-4", is not what was asked for);
        else the only row left, or the first when nothing was typed."""
        typed = event.value.strip()
        options = self.query_one(OptionList)
        names = [options.get_option_at_index(i).id or "" for i in range(options.option_count)]
        highlighted = names[options.highlighted] if options.highlighted is not None else None
        if highlighted is not None and self._moved:
            self._choose(highlighted)
        elif typed in names or (typed and not names):
            self._choose(typed)
        elif highlighted is not None and (len(names) == 1 or not typed):
            self._choose(highlighted)
        elif typed:
            self._choose(typed, several=len(names))

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self._choose(event.option.id or "")

    def _choose(self, name: str, several: int = 0) -> None:
        problem = self.check(name)
        if problem and several:
            problem = f"{several} models match {name!r}: pick one with ↑/↓ and Enter."
        if problem:
            self.query_one("#message", Static).update(problem)
            return
        self.dismiss(name)

    def key_down(self) -> None:
        self.query_one(OptionList).action_cursor_down()
        self._moved = True

    def key_up(self) -> None:
        self.query_one(OptionList).action_cursor_up()
        self._moved = True
