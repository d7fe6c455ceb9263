"""The input's completion under fast typing and pastes: Enter never accepts a completion
computed for an earlier text, and never one the user did not move to unless it is the
only match of what is typed. Keys are sent as a terminal sends them: a burst with no
pause between them (the app has no chance to update the menu in between)."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual import events
from textual.app import App

from harness_tui.core.providers.offline.scripted import Text, reply
from harness_tui.tui.app import HarnessApp
from harness_tui.widgets.conversation import NoticeEntry
from harness_tui.widgets.prompt_input import CompletionMenu, PromptInput
from harness_tui.widgets.screens.model_picker import ModelPicker, ModelRow
from tests.helpers import wait_for
from tests.tui.test_tui import scripted_session, tui, type_text, until

_KEY_NAMES = {"/": "slash", " ": "space", "@": "at", ".": "full_stop", "\n": "enter"}


def burst(app: HarnessApp, text: str) -> None:
    """Keys as a fast typist or a terminal's read delivers them: all queued at once,
    without waiting for the app between them (``\\n`` is Enter, ``\\t`` is Tab)."""
    for char in text:
        if char == "\t":
            key, printable = "tab", None
        elif char == "\n":
            key, printable = "enter", "\r"
        else:
            key, printable = _KEY_NAMES.get(char, char), char
        event = events.Key(key, printable)
        event.set_sender(app)
        app._driver.send_message(event)  # type: ignore[union-attr]


def send_keys(app: HarnessApp, *keys: str) -> None:
    """Named keys in one burst."""
    for key in keys:
        event = events.Key(key, "\r" if key == "enter" else None)
        event.set_sender(app)
        app._driver.send_message(event)  # type: ignore[union-attr]


def paste(app: HarnessApp, text: str) -> None:
    """A bracketed paste, as the terminal driver delivers it."""
    event = events.Paste(text)
    event.set_sender(app)
    app._driver.send_message(event)  # type: ignore[union-attr]


async def settle(app: HarnessApp, pilot) -> None:
    """Let queued keys, pastes and the messages they cause be handled."""
    for _ in range(6):
        await pilot.pause()


def notices(app: HarnessApp) -> list[str]:
    return [n.text for n in app.query(NoticeEntry)]


async def slow(pilot, text: str) -> None:
    """Typed key by key, the app idle after each (the menu is up to date)."""
    await type_text(pilot, text)


async def type_then(app: HarnessApp, pilot, typed: str, then: str) -> None:
    """``typed`` key by key, then ``then`` in one burst (``paste:TEXT``: pasted, then
    Enter), and wait until all of it is handled."""
    await slow(pilot, typed)
    if then.startswith("paste:"):
        paste(app, then.removeprefix("paste:"))
        burst(app, "\n")
    else:
        burst(app, then)
    await settle(app, pilot)


# Each: what is typed slowly, then what arrives in one burst (or pasted: "paste:" prefix,
# then Enter). All mean "/context": the conversation must stay and /context must answer.
CONTEXT_VARIANTS = [
    pytest.param("", "/context\n", id="whole-burst"),
    pytest.param("/c", "ontext\n", id="menu-shows-clear-then-burst"),
    pytest.param("/", "context\n", id="slash-then-burst"),
    pytest.param("/co", "ntext\n", id="co-then-burst"),
    pytest.param("/con", "text\n", id="con-then-burst"),
    pytest.param("/context", "\n", id="typed-slowly"),
    pytest.param("", "paste:/context", id="paste-whole"),
    pytest.param("/c", "paste:ontext", id="menu-shows-clear-then-paste"),
    pytest.param("/", "paste:context", id="slash-then-paste"),
]


@pytest.mark.parametrize(("typed", "then"), CONTEXT_VARIANTS)
async def test_context_typed_or_pasted_fast_is_never_clear(typed: str, then: str) -> None:
    session = scripted_session()
    async with tui(session) as (app, pilot):
        await type_then(app, pilot, typed, then)
        await until(pilot, lambda: any(t.startswith("Context:") for t in notices(app)))
        assert app.session is session, "the conversation was replaced (/clear ran)"
        assert app.query_one(PromptInput).text == ""


@pytest.mark.parametrize(
    ("typed", "then", "sent"),
    [
        # The menu was computed for "/mo" (model, mode); "/mode plan" is what is typed.
        pytest.param("/mo", "de plan\n", "plan", id="mode-with-argument"),
        pytest.param("/mod", "e plan\n", "plan", id="mode-from-two-matches"),
        pytest.param("/", "mode acceptEdits\n", "acceptEdits", id="from-bare-slash"),
        pytest.param("", "/mode plan\n", "plan", id="whole-burst"),
        pytest.param("/m", "paste:ode plan", "plan", id="paste-argument"),
    ],
)
async def test_a_command_with_an_argument_is_sent_as_typed(typed: str, then: str, sent: str):
    session = scripted_session()
    async with tui(session) as (app, pilot):
        await type_then(app, pilot, typed, then)
        await until(pilot, lambda: session.mode == sent)
        assert app.query_one(PromptInput).text == ""


async def test_a_stale_move_in_the_menu_is_not_a_choice() -> None:
    """Down moved to /cost in the list for "/c"; then "ontext" + Enter came in a burst:
    the move was made in a list for another text, so what is typed is sent."""
    session = scripted_session()
    async with tui(session) as (app, pilot):
        await slow(pilot, "/c")
        await pilot.press("down")
        burst(app, "ontext\n")
        await settle(app, pilot)
        await until(pilot, lambda: any(t.startswith("Context:") for t in notices(app)))
        assert not any("Tokens so far" in t for t in notices(app))  # /cost did not run
        assert app.session is session


async def test_ambiguous_prefix_and_enter_sends_what_is_typed() -> None:
    """ "/c" matches four commands: Enter sends "/c" (Enter always sends what is on
    screen unless the user picked a completion or only one fits); the app answers that
    there is no such command and names the candidates. Nothing runs, nothing clears."""
    session = scripted_session()
    async with tui(session) as (app, pilot):
        await slow(pilot, "/c")
        await pilot.press("enter")
        await until(pilot, lambda: any("Unknown command /c" in t for t in notices(app)))
        message = next(t for t in notices(app) if "Unknown command /c" in t)
        assert "/clear" in message and "/context" in message and "Tab" in message
        assert app.session is session


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("/cl", "/clear "), ("/cont", "/context "), ("/he", "/help "), ("/mc", "/mcp ")],
)
async def test_the_only_match_is_filled_in_not_sent(typed: str, expected: str) -> None:
    session = scripted_session()
    async with tui(session) as (app, pilot):
        await slow(pilot, typed)
        await pilot.press("enter")
        await settle(app, pilot)
        assert app.query_one(PromptInput).text == expected
        assert app.session is session and not notices(app)[1:]


@pytest.mark.parametrize("how", ["slow", "burst"])
async def test_a_chosen_completion_is_accepted(how: str) -> None:
    """Moving to an entry and pressing Enter accepts it (also when Enter follows fast)."""
    session = scripted_session()
    async with tui(session) as (app, pilot):
        await slow(pilot, "/mo")
        menu = app.query_one(CompletionMenu)
        second = menu._values[1]
        if how == "slow":
            await pilot.press("down", "enter")
        else:
            send_keys(app, "down", "enter")
        await settle(app, pilot)
        assert app.query_one(PromptInput).text == second


async def test_escape_then_enter_sends_what_is_typed() -> None:
    session = scripted_session()
    async with tui(session) as (app, pilot):
        await slow(pilot, "/cl")
        await pilot.press("escape", "enter")
        await until(pilot, lambda: any("Unknown command /cl" in t for t in notices(app)))
        assert app.session is session


def files(tmp_path: Path) -> Path:
    for name in ("a.txt", "ab.txt", "abc.txt"):
        (tmp_path / name).write_text(name)
    return tmp_path


@pytest.mark.parametrize(
    ("typed", "then", "expected"),
    [
        pytest.param("/c", "on\t", "/context ", id="stale-list-for-c"),
        pytest.param("/", "he\t", "/help ", id="stale-list-for-slash"),
        pytest.param("/mo", "del\t", "/model ", id="stale-list-for-mo"),
        pytest.param("", "/cont\t", "/context ", id="menu-not-open-yet"),
        pytest.param("hi ", "@ab\t", "hi @ab.txt", id="path-menu-not-open-yet"),
    ],
)
async def test_tab_completes_from_a_list_for_the_current_text(
    tmp_path: Path, typed: str, then: str, expected: str
) -> None:
    session = scripted_session(cwd=files(tmp_path))
    async with tui(session) as (app, pilot):
        await slow(pilot, typed)
        burst(app, then)
        await settle(app, pilot)
        assert app.query_one(PromptInput).text == expected


@pytest.mark.parametrize(
    ("typed", "then", "sent"),
    [
        pytest.param("read @a", "b.txt\n", "read @ab.txt", id="stale-list-for-a"),
        pytest.param("read @", "abc.txt\n", "read @abc.txt", id="stale-list-for-at"),
        pytest.param("read @a", "paste:bc.txt", "read @abc.txt", id="paste-after-a"),
        pytest.param("", "read @ab.txt\n", "read @ab.txt", id="whole-burst"),
        pytest.param("read @a", "\n", "read @a", id="ambiguous-sent-as-typed"),
        pytest.param("read @a.txt", "\n", "read @a.txt", id="exact-typed-slowly"),
    ],
)
async def test_at_paths_are_sent_as_typed(tmp_path: Path, typed: str, then: str, sent: str):
    session = scripted_session(reply(Text("ok")), cwd=files(tmp_path))
    async with tui(session) as (app, pilot):
        await type_then(app, pilot, typed, then)
        received = await wait_for(session.store, lambda e: e.type == "PROMPT_RECEIVED")
        assert received.text.split("\n")[0] == sent


async def test_clear_says_how_to_get_the_conversation_back(tmp_path: Path) -> None:
    """/clear is destructive only in appearance: the old session stays saved, and the
    notice after it names the /resume that brings it back."""
    session = scripted_session(reply(Text("remember me")), cwd=tmp_path)
    async with tui(session) as (app, pilot):
        await slow(pilot, "hello")
        await pilot.press("enter")
        await wait_for(session.store, lambda e: e.type == "RUN_COMPLETED")
        old_id = session.id
        await slow(pilot, "/clear")
        await pilot.press("enter")
        await until(pilot, lambda: app.session is not session)
        await until(pilot, lambda: any(f"/resume {old_id}" in t for t in notices(app)))


PICKER_ROWS = [ModelRow("gpt-4o", "openai"), ModelRow("gpt-4o-mini", "openai")]
PICKER_ROWS.append(ModelRow("claude-sonnet", "anthropic"))
KNOWN_MODELS = {"gpt-4", "gpt-4o", "gpt-4o-mini", "claude-sonnet"}


class PickerHost(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.chosen: list[str | None] = []

    def on_mount(self) -> None:
        def check(name: str) -> str | None:
            return None if name in KNOWN_MODELS else f"unknown model {name!r}"

        self.push_screen(ModelPicker(PICKER_ROWS, "gpt-4o", check), callback=self.chosen.append)


@pytest.mark.parametrize(
    ("typed", "keys", "chosen"),
    [
        pytest.param("gpt-4", [], "gpt-4", id="typed-in-full-though-two-rows-contain-it"),
        pytest.param("gpt-4o", [], "gpt-4o", id="exact-row"),
        pytest.param("gpt-4o", ["down"], "gpt-4o-mini", id="moved-to"),
        pytest.param("sonnet", [], "claude-sonnet", id="only-match"),
        pytest.param("", [], "gpt-4o", id="nothing-typed"),
        pytest.param("gpt", [], None, id="ambiguous-and-no-model"),
    ],
)
async def test_the_model_picker_takes_what_is_typed(
    typed: str, keys: list[str], chosen: str | None
) -> None:
    """The model picker's Enter follows the same rule as the input's completion."""
    app = PickerHost()
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, ModelPicker))
        await type_text(pilot, typed)
        await pilot.press(*keys, "enter")
        await settle(app, pilot)
        if chosen is None:
            assert isinstance(app.screen, ModelPicker) and not app.chosen
            assert "2 models match 'gpt'" in str(app.screen.query_one("#message").content)
        else:
            assert app.chosen == [chosen]


@pytest.mark.parametrize("command", ["/clear", "/quit", "/exit"])
async def test_a_command_that_ends_something_ignores_nothing_it_was_given(command: str) -> None:
    """ "/clear the cache and rerun" reads like a prompt: it neither clears nor quits,
    and the app says why."""
    session = scripted_session()
    async with tui(session) as (app, pilot):
        await slow(pilot, f"{command} the cache and rerun")
        await pilot.press("enter")
        await until(pilot, lambda: any("takes no argument" in t for t in notices(app)))
        assert app.session is session and app.is_running
