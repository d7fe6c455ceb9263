"""Rewind in the TUI: ``/rewind`` (and Esc Esc on an empty input) opens the picker of
the branch's prompts (``widgets.screens.rewind``); the choice goes to the session
(``Session.rewind``), after a question when files were changed by hand since; ``/redo``
undoes the last rewind (``Session.redo``).

What a rewind did comes back as a ``REWOUND`` event and is told as a notice
(``widgets.event_notices``); one that moved the conversation first shows the branch it
went back to (``show_batch``), wherever it was asked for (this TUI, a browser).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from harness_tui.tui.host import AppHost
from harness_tui.widgets.lazy import lazy_module

if TYPE_CHECKING:
    from harness_tui.core.events import Event

ev = lazy_module("harness_tui.core.events")

BUSY = "The agent is working: rewind once the run has ended (Esc cancels it)."
NOTHING = "Nothing to rewind yet: no prompt on this branch so far."


def open_picker(app: AppHost) -> None:
    """The picker of this branch's prompts, unless a run is active or there are none."""
    session = app.session
    if session is None:
        return
    if session.running:
        app.say(BUSY)
        return
    points = session.rewind_points()
    if not points:
        app.say(NOTHING)
        return
    from harness_tui.widgets.screens.rewind import RewindPicker  # on demand

    def chosen(choice: tuple[int, str] | None) -> None:
        if choice is not None:
            app.run_worker(rewind(app, *choice), group="rewind", exit_on_error=False)

    app.push_screen(RewindPicker(points, session.preview_rewind), callback=chosen)


async def rewind(app: AppHost, number: int, mode: str, hand_edits: str = "refuse") -> None:
    """Rewind to prompt ``number``; files changed by hand since are asked about first.
    A rewind of the conversation puts the prompt back in the input, to edit and resend."""
    from harness_tui.core.checkpoints import RewindConflict
    from harness_tui.core.errors import HarnessError, SessionBusyError

    session = app.session
    try:
        rewound = await session.rewind(number, mode, hand_edits=hand_edits)  # type: ignore[arg-type]
    except RewindConflict as exc:
        ask_about_hand_edits(app, exc.files, lambda answer: rewind(app, number, mode, answer))
        return
    except SessionBusyError:
        app.say(BUSY)
        return
    except HarnessError as exc:
        app.say(str(exc), "error")
        return
    if mode != "code" and rewound.prompt and session is app.session:
        from harness_tui.widgets.prompt_input import PromptInput

        app.query_one(PromptInput).put_back(rewound.prompt)


def ask_about_hand_edits(
    app: AppHost, paths: Sequence[str], then: Callable[[str], Awaitable[None]], what: str = "Rewind"
) -> None:
    """Overwrite the files changed by hand, keep them, or cancel the rewind."""
    from harness_tui.widgets.screens.rewind import HandEditsDialog

    def answered(answer: str | None) -> None:
        if answer is None:
            app.say(f"{what} cancelled: nothing was changed.")
        else:
            app.run_worker(then(answer), group="rewind", exit_on_error=False)

    app.push_screen(HandEditsDialog(paths), callback=answered)


async def redo(app: AppHost, hand_edits: str = "refuse") -> None:
    """``/redo``: undo the last rewind (its files, and the conversation); files changed
    by hand since are asked about first. The prompt a rewind put back in the input
    leaves it again."""
    from harness_tui.core.checkpoints import RewindConflict
    from harness_tui.core.errors import HarnessError, SessionBusyError
    from harness_tui.widgets.prompt_input import PromptInput

    try:
        redone = await app.session.redo(hand_edits=hand_edits)  # type: ignore[arg-type]
    except RewindConflict as exc:
        ask_about_hand_edits(app, exc.files, lambda answer: redo(app, answer), "Redo")
        return
    except SessionBusyError:
        app.say(BUSY)
        return
    except HarnessError as exc:
        text = str(exc)  # "nothing to redo": said as a sentence
        app.say(text[:1].upper() + text[1:] + ("" if text.endswith(".") else "."))
        return
    prompt = app.query_one(PromptInput)
    if redone.mode != "code" and redone.prompt and prompt.text == redone.prompt:
        prompt.load_text("")


def moved_conversation(app: AppHost, event: Event) -> bool:
    """A rewind (or redo) of the session on screen that left the conversation on
    another entry: the branch on screen is no longer the session's."""
    return (
        isinstance(event, ev.Rewound)
        and app.session is not None
        and event.session_id == app.session.id
        and event.entry_id != event.previous_entry_id
    )


async def show_batch(
    app: AppHost, events: list[Event], show: Callable[[list[Event]], Awaitable[Any]]
) -> None:
    """Show a batch with ``show``; at a rewind that moved the conversation, what is on
    screen is replaced by the branch the session is on now, and the rewind's notice
    follows it."""
    start = 0
    for index, event in enumerate(events):
        if moved_conversation(app, event):
            if index > start:
                await show(events[start:index])
            from harness_tui.tui import sessions
            from harness_tui.widgets.conversation import Conversation

            await app.query_one(Conversation).clear()
            await sessions.show_branch(app, app.session)
            start = index
    await show(events[start:])
