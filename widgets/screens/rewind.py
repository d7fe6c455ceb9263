"""Rewind's screens: the picker of the branch's prompts with a preview of what a rewind
to the highlighted one would do to the files (``RewindPicker``), and the question asked
when files were changed by hand since (``HandEditsDialog``).

The picker knows no session: it is given the prompts (``RewindPoint``s) and a function
that plans a rewind (``Session.preview_rewind``), and returns ``(number, mode)``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from rich.console import Group
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Label, OptionList, Static
from textual.widgets.option_list import Option

from harness_tui.widgets.event_notices import names, one_line

if TYPE_CHECKING:
    from harness_tui.core.checkpoints import RewindPlan, RewindPoint

#: What the picker returns: the prompt's number and the mode ("both", "conversation",
#: "code").
Choice = tuple[int, str]
#: The lines of one file's diff shown in the preview; the rest are counted.
DIFF_LINES = 120
ACTION_STYLES = {"restore": "bold yellow", "remove": "bold red", "recreate": "bold green"}


class RewindPicker(ModalScreen[Choice | None]):
    """The prompts of the branch, newest last and highlighted; a preview of the plan
    for the highlighted one. Enter or 1: code and conversation, 2: conversation only,
    3: code only; Esc closes."""

    DEFAULT_CSS = """
    RewindPicker { align: center middle; }
    RewindPicker > Vertical { width: 95%; max-width: 160; height: 90%;
                              border: thick $accent; background: $surface; padding: 0 1; }
    RewindPicker .title { text-style: bold; }
    RewindPicker #panes { height: 1fr; }
    RewindPicker #points { width: 2fr; height: 1fr; }
    RewindPicker #preview-scroll { width: 3fr; height: 1fr; border-left: solid $primary;
                                   padding: 0 0 0 1; }
    RewindPicker #choices { height: auto; }
    RewindPicker Button { margin: 0 1 0 0; width: auto; min-width: 10; }
    RewindPicker #keys { color: $text-muted; }
    """

    BINDINGS = [
        Binding("enter", "enter", "Code and conversation", priority=True),
        Binding("1", "choose('both')", "Code and conversation", show=False),
        Binding("2", "choose('conversation')", "Conversation only"),
        Binding("3", "choose('code')", "Code only"),
        Binding("escape", "dismiss(None)", "Close"),
    ]

    def __init__(
        self, points: Sequence[RewindPoint], preview: Callable[[int], Awaitable[RewindPlan]]
    ) -> None:
        """``points``: oldest first, as ``Session.rewind_points`` lists them;
        ``preview(number)``: the plan of a rewind to one of them."""
        super().__init__()
        self.points = list(points)
        self.preview = preview
        #: The plan on show (None while it is being made, or when it failed).
        self.plan: RewindPlan | None = None
        self._plans: dict[int, RewindPlan] = {}

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Rewind: go back to before a prompt of this branch", classes="title")
            with Horizontal(id="panes"):
                yield OptionList(*(point_option(p) for p in self.points), id="points")
                with VerticalScroll(id="preview-scroll"):
                    yield Static("", id="preview")
            with Horizontal(id="choices"):
                # Ids of their own: the app's stylesheet styles #conversation.
                yield Button("Enter  Code and conversation", id="mode-both", variant="primary")
                yield Button("2  Conversation only", id="mode-conversation")
                yield Button("3  Code only", id="mode-code")
                yield Button("Esc  Close", id="close")
            yield Static(
                "↑↓ choose a prompt · code: the files as they were before it ran · "
                "conversation: on from just before it",
                id="keys",
            )

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.focus()
        if self.points:
            options.highlighted = len(self.points) - 1
            options.scroll_end(animate=False)

    @property
    def highlighted(self) -> RewindPoint | None:
        index = self.query_one(OptionList).highlighted
        return self.points[index] if index is not None and self.points else None

    @on(OptionList.OptionHighlighted)
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        point = self.points[event.option_index]
        cached = self._plans.get(point.number)
        if cached is not None:
            self._show(cached)
        else:
            self.plan = None
            self.query_one("#preview", Static).update(
                Text(f"Looking at prompt {point.number}…", style="dim")
            )
            self._load(point.number)

    @work(group="preview", exclusive=True, exit_on_error=False)
    async def _load(self, number: int) -> None:
        from harness_tui.core.errors import HarnessError

        try:
            plan = await self.preview(number)
        except HarnessError as exc:
            self.query_one("#preview", Static).update(Text(f"✗ {exc}", style="bold red"))
            return
        self._plans[number] = plan
        point = self.highlighted
        if point is not None and point.number == number:
            self._show(plan)

    def _show(self, plan: RewindPlan) -> None:
        self.plan = plan
        self.query_one("#preview", Static).update(plan_text(plan))
        self.query_one("#preview-scroll", VerticalScroll).scroll_home(animate=False)

    @on(OptionList.OptionSelected)
    def _clicked(self, event: OptionList.OptionSelected) -> None:
        """A click only highlights: a rewind starts from a key or a button."""
        event.stop()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "close":
            self.dismiss(None)
        elif event.button.id:
            self.action_choose(event.button.id.removeprefix("mode-"))

    def action_enter(self) -> None:
        """Enter: the focused button (reached with Tab), else code and conversation."""
        if isinstance(self.focused, Button):
            self.focused.press()
        else:
            self.action_choose("both")

    def action_choose(self, mode: str) -> None:
        point = self.highlighted
        if point is not None:
            self.dismiss((point.number, mode))


def point_option(point: RewindPoint) -> Option:
    """A prompt as a row: its number and text on one line, the files changed under it."""
    first = Text(no_wrap=True, overflow="ellipsis")  # each line cut to the list's width
    first.append(f"{point.number:>3}  ", style="bold")
    first.append(one_line(point.text, 200))
    files = Text("     ", no_wrap=True, overflow="ellipsis")
    if point.files:
        files.append(names(list(point.files)), style="cyan")
    else:
        files.append("no files changed", style="dim")
    return Option(Group(first, files), id=f"p{point.number}")


def plan_text(plan: RewindPlan) -> Text:
    """The preview: what a code rewind would do, file by file, with the diffs (from the
    file as it is now to as it would be) and the problems marked."""
    text = Text()
    point = plan.point
    if point is not None:
        text.append(f"Prompt {point.number}: ", style="bold")
        text.append(one_line(point.text, 80) + "\n")
    if not plan.files:
        text.append("\nNo file to put back: only the conversation would change.\n", style="dim")
        return text
    count = len(plan.files)
    text.append(f"{count} file{'' if count == 1 else 's'} would change:\n", style="dim")
    for planned in plan.files:
        text.append("\n")
        text.append(f"{planned.action:<9}", style=ACTION_STYLES.get(planned.action, "bold"))
        text.append(f" {planned.path}\n", style="bold")
        if planned.problem:
            text.append(f"  ✗ will be skipped: {planned.problem}\n", style="bold red")
        if planned.by_hand:
            text.append(
                "  ⚠ changed by hand since: asks before overwriting it\n",
                style="bold yellow",
            )
        text.append_text(diff_text(planned.diff))
    return text


def diff_text(diff: str, limit: int = DIFF_LINES) -> Text:
    """A unified diff, coloured: added lines green, removed red, hunks cyan."""
    text = Text()
    lines = diff.splitlines()
    for line in lines[:limit]:
        if line.startswith(("+++", "---")):
            style = "bold"
        elif line.startswith("+"):
            style = "green"
        elif line.startswith("-"):
            style = "red"
        elif line.startswith("@@"):
            style = "cyan"
        else:
            style = ""
        text.append(f"  {line}\n", style=style)
    if len(lines) > limit:
        text.append(f"  … {len(lines) - limit} more lines\n", style="dim")
    return text


class HandEditsDialog(ModalScreen[str | None]):
    """Files changed by hand since the checkpoint: overwrite them, keep them (and
    rewind the rest), or cancel. Returns ``"overwrite"``, ``"keep"`` or None."""

    DEFAULT_CSS = """
    HandEditsDialog { align: center middle; }
    HandEditsDialog > Vertical { width: 90%; max-width: 100; height: auto; max-height: 80%;
                                 border: thick $warning; background: $surface; padding: 1 2; }
    HandEditsDialog .title { text-style: bold; }
    HandEditsDialog VerticalScroll { height: auto; max-height: 12; margin: 1 0; }
    HandEditsDialog Horizontal { height: auto; }
    HandEditsDialog Button { margin: 0 1 0 0; min-width: 10; }
    """

    BINDINGS = [
        Binding("o", "answer('overwrite')", "Overwrite"),
        Binding("k", "answer('keep')", "Keep mine"),
        Binding("escape,c", "answer(None)", "Cancel"),
    ]

    def __init__(self, paths: Sequence[str]) -> None:
        super().__init__()
        self.paths = list(paths)

    def compose(self) -> ComposeResult:
        count = len(self.paths)
        with Vertical():
            yield Label(
                f"{count} file{'' if count == 1 else 's'} changed by hand since then",
                classes="title",
            )
            with VerticalScroll():
                yield Static(Text("\n".join(f"  {p}" for p in self.paths)))
            yield Static(
                "Rewinding the code would replace your changes to "
                + ("it" if count == 1 else "them")
                + " (a /redo brings them back)."
            )
            with Horizontal():
                yield Button("o  Overwrite", id="overwrite", variant="error")
                yield Button("k  Keep mine, rewind the rest", id="keep", variant="primary")
                yield Button("Esc  Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#keep", Button).focus()  # Enter keeps the user's work

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.action_answer(event.button.id if event.button.id != "cancel" else None)

    def action_answer(self, answer: Any) -> None:
        self.dismiss(answer)
