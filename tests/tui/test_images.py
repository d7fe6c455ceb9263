"""Images in the prompt, in the TUI: pasted from a (fake) clipboard tool, dropped or
``@``-completed as files, shown as chips, sent with the prompt, and drawn as thumbnails
where the terminal says it can."""

from __future__ import annotations

import base64
import io
import os
import stat
import sys
from pathlib import Path

import anyio
import pytest
from PIL import Image
from rich.console import Console
from textual import events

from harness_tui.core.messages import ImageBlock
from harness_tui.core.providers.models import ModelChoice
from harness_tui.core.providers.offline.scripted import ScriptedProvider, Text, Wait, reply
from harness_tui.core.session.session import Session
from harness_tui.tui import app as app_module
from harness_tui.tui import paste
from harness_tui.widgets.attachments import AttachmentRow, Chip, dropped_image_path
from harness_tui.widgets.conversation import Conversation, NoticeEntry, UserEntry
from harness_tui.widgets.prompt_input import PromptInput
from harness_tui.widgets.scrollback import renderable
from harness_tui.widgets.thumbnails import GRAPHICS_ENV, Thumbnails, graphics_protocol
from tests.fakes import script as api
from tests.fakes.wiring import anthropic_fake, fast, openai_fake, write_models_settings
from tests.helpers import wait_for
from tests.tui.test_tui import tui, type_text, until

WL_PASTE = """#!/bin/sh
case "$1" in
  --list-types) [ -n "$FAKE_PNG" ] && echo image/png; echo text/plain ;;
  --type) cat "$FAKE_PNG" ;;
  --no-newline) printf %s "$FAKE_TEXT" ;;
esac
"""
XCLIP = """#!/bin/sh
case "$*" in
  *TARGETS*) [ -n "$FAKE_PNG" ] && echo image/png; echo UTF8_STRING ;;
  *image/png*) cat "$FAKE_PNG" ;;
  *) printf %s "$FAKE_TEXT" ;;
esac
"""


def png(width: int = 64, height: int = 48, colour: str = "red") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def clipboard(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A fake clipboard: ``put(tool, image=..., text=...)`` installs the tool (``wl-paste``
    or ``xclip``) first on PATH, holding that image and text."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}/usr/bin:/bin")
    monkeypatch.setattr(sys, "platform", "linux")

    def put(tool: str, image: bytes = b"", text: str = "") -> None:
        script = bin_dir / tool
        script.write_text(WL_PASTE if tool == "wl-paste" else XCLIP)
        script.chmod(script.stat().st_mode | stat.S_IEXEC)
        monkeypatch.setenv("WAYLAND_DISPLAY" if tool == "wl-paste" else "DISPLAY", "fake")
        (tmp_path / "clip.png").write_bytes(image)
        monkeypatch.setenv("FAKE_PNG", str(tmp_path / "clip.png") if image else "")
        monkeypatch.setenv("FAKE_TEXT", text)

    return put


def session_in(cwd: Path, *replies) -> tuple[Session, ScriptedProvider]:
    provider = ScriptedProvider(list(replies or [reply(Text("I see it."))]))
    model = ModelChoice("scripted", "scripted", lambda: provider)
    return Session(model=model, tools=[], cwd=cwd), provider


def chips(app) -> list[str]:
    return [str(chip.render()) for chip in app.query(Chip)]


async def send_and_wait(pilot, session: Session) -> None:
    await pilot.press("enter")
    await wait_for(session.store, lambda e: e.type == "RUN_COMPLETED")


# --- the clipboard --------------------------------------------------------------------


@pytest.mark.parametrize("tool", ["wl-paste", "xclip"])
async def test_ctrl_v_attaches_the_clipboard_image_and_the_model_receives_it(
    tool: str, clipboard, tmp_path: Path
) -> None:
    clipboard(tool, image=png(64, 48))
    session, provider = session_in(tmp_path)
    async with tui(session) as (app, pilot):
        await type_text(pilot, "what is this")
        await pilot.press("ctrl+v")
        await until(pilot, lambda: bool(app.query(Chip)))
        assert chips(app) == ["[Image 1: clipboard 64×48, 1 KB ×]"]
        assert app.query_one(PromptInput).text == "what is this"
        await send_and_wait(pilot, session)
        assert not app.query(Chip)  # sending took them
        request = provider.requests[0]
        sent = [b for b in request.messages[-1].content if isinstance(b, ImageBlock)]
        assert [(b.width, b.height, b.name) for b in sent] == [(64, 48, "clipboard")]
        assert request.messages[-1].text == "what is this"
        assert set(request.images) == {sent[0].sha256}
        assert request.images[sent[0].sha256].media_type == "image/png"
        entry = app.query_one(UserEntry)
        assert entry.images == tuple(sent)
        assert "[Image 1: clipboard 64×48, 1 KB]" in str(entry.render())


async def test_ctrl_v_with_text_on_the_clipboard_pastes_the_text(clipboard, tmp_path) -> None:
    clipboard("wl-paste", text="pasted words")
    session, _ = session_in(tmp_path)
    async with tui(session) as (app, pilot):
        await pilot.press("ctrl+v")
        prompt = app.query_one(PromptInput)
        await until(pilot, lambda: prompt.text == "pasted words")
        assert not app.query(Chip)


async def test_ctrl_v_without_a_clipboard_tool_says_what_to_install(clipboard, tmp_path) -> None:
    session, _ = session_in(tmp_path)
    async with tui(session) as (app, pilot):
        await type_text(pilot, "kept")
        await pilot.press("ctrl+v")
        await until(pilot, lambda: bool(app._notifications))
        said = [n.message for n in app._notifications]
        assert said == [paste.NO_TOOL]
        assert app.query_one(PromptInput).text == "kept"


async def test_an_empty_clipboard_is_told(clipboard, tmp_path) -> None:
    clipboard("xclip")
    session, _ = session_in(tmp_path)
    async with tui(session) as (app, pilot):
        await pilot.press("ctrl+v")
        await until(pilot, lambda: bool(app._notifications))
        assert [n.message for n in app._notifications] == [paste.NO_IMAGE]


async def test_an_empty_terminal_paste_reads_the_clipboard_image(clipboard, tmp_path) -> None:
    clipboard("wl-paste", image=png())
    session, _ = session_in(tmp_path)
    async with tui(session) as (app, pilot):
        app.query_one(PromptInput).post_message(events.Paste(""))
        await until(pilot, lambda: bool(app.query(Chip)))


# --- files: dropped, pasted, @-completed ----------------------------------------------


@pytest.mark.parametrize(
    "pasted",
    [
        "{path}",
        "'{path}'",
        "file://{url}",
        "{escaped}",
    ],
)
async def test_a_dropped_image_path_attaches_the_file(pasted: str, tmp_path: Path) -> None:
    folder = tmp_path / "my shots"
    folder.mkdir()
    shot = folder / "shot 1.png"
    shot.write_bytes(png(32, 16))
    text = pasted.format(
        path=shot, url=str(shot).replace(" ", "%20"), escaped=str(shot).replace(" ", "\\ ")
    )
    session, provider = session_in(tmp_path)
    async with tui(session) as (app, pilot):
        await type_text(pilot, "see")
        app.query_one(PromptInput).post_message(events.Paste(text))
        await until(pilot, lambda: bool(app.query(Chip)))
        assert chips(app) == ["[Image 1: shot 1.png 32×16, 1 KB ×]"]
        assert app.query_one(PromptInput).text == "see"  # the path was not typed in
        await send_and_wait(pilot, session)
        assert len(provider.requests[0].images) == 1


async def test_an_image_mention_typed_out_shows_with_the_message(tmp_path: Path) -> None:
    (tmp_path / "shot.png").write_bytes(png(20, 10))
    session, provider = session_in(tmp_path)
    async with tui(session) as (app, pilot):
        await type_text(pilot, "look at @shot.png and @missing.png")
        await pilot.press("escape")  # no completion: sent as typed
        await send_and_wait(pilot, session)
        entry = app.query_one(UserEntry)
        assert [i.name for i in entry.images] == ["shot.png"]
        assert len(provider.requests[0].images) == 1


def test_what_counts_as_a_dropped_image_path() -> None:
    assert dropped_image_path('"/tmp/a b.PNG"') == "/tmp/a b.PNG"
    assert dropped_image_path("file:///tmp/a%20b.webp\n") == "/tmp/a b.webp"
    assert dropped_image_path("/tmp/a.png /tmp/b.png\nmore") is None
    assert dropped_image_path("look at shot.png please") is None
    assert dropped_image_path("notes.txt") is None


async def test_at_completion_of_an_image_attaches_it_as_a_chip(tmp_path: Path) -> None:
    (tmp_path / "screenshot.png").write_bytes(png(20, 10))
    session, provider = session_in(tmp_path)
    async with tui(session) as (app, pilot):
        await type_text(pilot, "fix @scr")
        await pilot.press("tab")
        prompt = app.query_one(PromptInput)
        assert prompt.text == "fix @screenshot.png"
        await until(pilot, lambda: bool(app.query(Chip)))
        assert chips(app) == ["[Image 1: screenshot.png 20×10, 1 KB ×]"]
        await send_and_wait(pilot, session)
        # The core attaches the @mention too: the same bytes, sent once.
        assert len(provider.requests[0].images) == 1


async def test_an_attach_error_names_the_file_and_keeps_what_was_typed(tmp_path: Path) -> None:
    (tmp_path / "broken.png").write_bytes(b"not a png at all")
    (tmp_path / "good.png").write_bytes(png())
    session, _ = session_in(tmp_path)
    async with tui(session) as (app, pilot):
        await type_text(pilot, "keep this text")
        prompt = app.query_one(PromptInput)
        prompt.post_message(events.Paste(str(tmp_path / "good.png")))
        await until(pilot, lambda: len(app.query(Chip)) == 1)
        prompt.post_message(events.Paste(str(tmp_path / "broken.png")))
        conversation = app.query_one(Conversation)
        await until(pilot, lambda: bool(conversation.query(NoticeEntry).filter(".-error")))
        notice = conversation.query(NoticeEntry).filter(".-error").last().text
        assert "broken.png" in notice, notice
        assert [n.severity for n in app._notifications][-1] == "error"
        assert prompt.text == "keep this text"
        assert len(app.query(Chip)) == 1  # the image attached before stays


# --- chips: removed before sending; steering carries them ----------------------------


async def test_chips_are_removed_by_backspace_at_the_start_and_by_a_click(tmp_path) -> None:
    for name, colour in (("a.png", "red"), ("b.png", "blue"), ("c.png", "green")):
        (tmp_path / name).write_bytes(png(colour=colour))
    session, _ = session_in(tmp_path)
    async with tui(session) as (app, pilot):
        prompt = app.query_one(PromptInput)
        for name in ("a.png", "b.png", "c.png"):
            prompt.post_message(events.Paste(name))
            await until(pilot, lambda name=name: name in " ".join(chips(app)))
        await pilot.press("backspace")  # empty input: the last chip goes
        await until(pilot, lambda: len(app.query(Chip)) == 2)
        assert [c.image.name for c in app.query(Chip)] == ["a.png", "b.png"]
        await pilot.click(Chip)  # the first chip
        await until(pilot, lambda: len(app.query(Chip)) == 1)
        assert app.focused is prompt
        prompt.post_message(events.Paste("c.png"))
        await until(pilot, lambda: len(app.query(Chip)) == 2)
        app.query(Chip).last().focus()  # a focused chip: Delete removes it
        await pilot.press("delete")
        await until(pilot, lambda: len(app.query(Chip)) == 1)
        assert [c.image.name for c in app.query(Chip)] == ["b.png"]
        assert app.focused is prompt
        await type_text(pilot, "x")
        await pilot.press("home", "backspace")  # at the start of a typed line too
        await until(pilot, lambda: not app.query(Chip))
        assert prompt.text == "x"
        assert not app.query_one(AttachmentRow).display


async def test_a_steering_message_carries_its_images(tmp_path: Path) -> None:
    (tmp_path / "more.png").write_bytes(png(40, 30))
    hold, reached = anyio.Event(), anyio.Event()
    session, provider = session_in(
        tmp_path, reply(Text("working"), Wait(hold, reached)), reply(Text("done"))
    )
    async with tui(session) as (app, pilot):
        await type_text(pilot, "start")
        await pilot.press("enter")
        await reached.wait()
        app.query_one(PromptInput).post_message(events.Paste("more.png"))
        await until(pilot, lambda: bool(app.query(Chip)))
        await type_text(pilot, "and this")
        await pilot.press("enter")
        queued = await wait_for(session.store, lambda e: e.type == "STEERING_QUEUED")
        assert [i.name for i in queued.images] == ["more.png"]
        hold.set()
        await wait_for(session.store, lambda e: e.type == "RUN_COMPLETED")
        steered = provider.requests[1].messages[-1]
        assert steered.text == "and this" and [i.name for i in steered.images] == ["more.png"]
        assert len(provider.requests[1].images) == 1


# --- how images show --------------------------------------------------------------------


def test_the_terminal_decides_whether_thumbnails_are_drawn() -> None:
    assert graphics_protocol({"TERM": "xterm-kitty"}) == "kitty"
    assert graphics_protocol({"TERM_PROGRAM": "ghostty"}) == "kitty"
    assert graphics_protocol({"TERM_PROGRAM": "WezTerm"}) == "sixel"
    assert graphics_protocol({"TERM": "foot"}) == "sixel"
    assert graphics_protocol({"TERM": "xterm-256color"}) is None
    assert graphics_protocol({"TERM": "xterm-kitty", "TMUX": "/tmp/tmux"}) is None
    assert graphics_protocol({"TERM": "xterm-kitty"}, headless=True) is None
    assert graphics_protocol({GRAPHICS_ENV: "kitty"}, headless=True) == "kitty"
    assert graphics_protocol({GRAPHICS_ENV: "none", "TERM": "xterm-kitty"}) is None


@pytest.mark.parametrize(
    ("terminal", "supported"),
    [
        ({"TERM": "xterm-kitty"}, True),
        ({"TERM": "xterm-256color", GRAPHICS_ENV: "kitty"}, True),
        ({"TERM": "xterm-256color"}, False),
        ({"TERM": "xterm-kitty", "TMUX": "/tmp/tmux-0/default,1,0"}, False),
        ({"TERM": "xterm-kitty", GRAPHICS_ENV: "none"}, False),
    ],
)
async def test_the_kitty_graphics_escape_is_written_only_where_the_terminal_draws_it(
    terminal: dict[str, str], supported: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The app decides from the environment as it would in a terminal (Pilot runs
    headless, where nothing is drawn: that is set aside here). textual-image writes its
    escapes to ``sys.__stdout__``, captured here."""
    for name in ("TERM", "TERM_PROGRAM", "KITTY_WINDOW_ID", "TMUX", "STY", GRAPHICS_ENV):
        monkeypatch.delenv(name, raising=False)
    for name, value in terminal.items():
        monkeypatch.setenv(name, value)
    in_a_terminal = lambda headless: graphics_protocol(os.environ)  # noqa: E731
    monkeypatch.setattr(app_module, "graphics_protocol", in_a_terminal)
    drawn = io.StringIO()
    monkeypatch.setattr(sys, "__stdout__", drawn)
    (tmp_path / "shot.png").write_bytes(png(200, 100, "blue"))
    session, _ = session_in(tmp_path)
    async with tui(session) as (app, pilot):
        app.query_one(PromptInput).post_message(events.Paste("shot.png"))
        await until(pilot, lambda: bool(app.query(Chip)))
        await send_and_wait(pilot, session)
        conversation = app.query_one(Conversation)
        await until(pilot, lambda: bool(conversation.query(UserEntry)))
        await pilot.pause()
        assert bool(conversation.query(Thumbnails)) is supported
        if supported:
            await until(pilot, lambda: "\x1b_G" in drawn.getvalue())
        else:
            assert "\x1b_G" not in drawn.getvalue()


def test_inline_mode_writes_the_chip_lines() -> None:
    image = ImageBlock(
        sha256="a" * 64, media_type="image/png", width=1280, height=720, size=215_000, name="s.png"
    )
    out = io.StringIO()
    text = renderable(UserEntry, {"text": "look", "kind": "prompt", "images": (image,)})
    Console(file=out, width=80, color_system=None).print(text)
    lines = [line.rstrip() for line in out.getvalue().splitlines()]
    assert lines == ["", " › look", " [Image 1: s.png 1280×720, 210 KB]"]


async def test_a_resumed_session_shows_its_images_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider = ScriptedProvider([reply(Text("A red square."))])
    model = ModelChoice("scripted", "scripted", lambda: provider)
    async with Session(model=model, cwd=tmp_path, tools=[]) as first:
        image = await first.attach_image(png(30, 20), "red.png")
        await first.submit("what is it", [image])
        await wait_for(first.store, lambda e: e.type == "RUN_COMPLETED")
    monkeypatch.setenv(GRAPHICS_ENV, "kitty")
    drawn = io.StringIO()
    monkeypatch.setattr(sys, "__stdout__", drawn)
    resumed = Session.resume(first.id, model=model, cwd=tmp_path, tools=[])
    async with tui(resumed) as (app, pilot):
        conversation = app.query_one(Conversation)
        await until(pilot, lambda: bool(conversation.query(Thumbnails)))
        assert app.query_one(UserEntry).images == (image,)
        await until(pilot, lambda: "\x1b_G" in drawn.getvalue())


def test_start_up_imports_neither_pillow_nor_textual_image() -> None:
    from tests.test_layers import loaded_after

    loaded = loaded_after("import harness_tui.tui.app, harness_tui.tui.attach")
    assert not {"PIL", "textual_image"} & {name.split(".")[0] for name in loaded}


async def test_a_follow_up_pulled_back_brings_its_images_back_to_the_input(tmp_path) -> None:
    (tmp_path / "later.png").write_bytes(png(12, 12))
    hold, reached = anyio.Event(), anyio.Event()
    session, _ = session_in(tmp_path, reply(Text("working"), Wait(hold, reached)))
    async with tui(session) as (app, pilot):
        await type_text(pilot, "start")
        await pilot.press("enter")
        await reached.wait()
        prompt = app.query_one(PromptInput)
        prompt.post_message(events.Paste("later.png"))
        await until(pilot, lambda: bool(app.query(Chip)))
        await type_text(pilot, "next")
        await pilot.press("alt+enter")
        queued = await wait_for(session.store, lambda e: e.type == "STEERING_QUEUED")
        assert queued.kind == "follow_up" and [i.name for i in queued.images] == ["later.png"]
        assert not app.query(Chip)
        await pilot.press("alt+up")
        await until(pilot, lambda: bool(app.query(Chip)))
        assert prompt.text == "next"
        assert [c.image.name for c in app.query(Chip)] == ["later.png"]
        hold.set()


async def test_a_slash_command_leaves_the_chips_for_the_next_prompt(tmp_path) -> None:
    (tmp_path / "keep.png").write_bytes(png())
    session, _ = session_in(tmp_path)
    async with tui(session) as (app, pilot):
        app.query_one(PromptInput).post_message(events.Paste("keep.png"))
        await until(pilot, lambda: bool(app.query(Chip)))
        await type_text(pilot, "/help")
        await pilot.press("escape", "enter")
        await pilot.pause()
        assert [c.image.name for c in app.query(Chip)] == ["keep.png"]


@pytest.mark.parametrize("protocol", ["anthropic", "openai"])
async def test_a_pasted_4k_screenshot_reaches_the_strict_fake_api_fitted(
    protocol: str, clipboard, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the real provider and SDK to a loopback fake that validates the request:
    the image goes in the API's own shape, scaled down to its limits."""
    clipboard("wl-paste", image=png(3840, 2160, "navy"))
    fake, model = {
        "anthropic": (anthropic_fake, "anthropic/claude-sonnet-4-6"),
        "openai": (openai_fake, "openai/gpt-4.1"),
    }[protocol]
    with fake(monkeypatch) as server:
        write_models_settings({protocol: fast()})
        server.script(api.reply(api.Say("A navy screen.")))
        session = Session(model=model, cwd=tmp_path, tools=[])
        async with tui(session) as (app, pilot):
            await type_text(pilot, "what colour")
            await pilot.press("ctrl+v")
            await until(pilot, lambda: bool(app.query(Chip)))
            await send_and_wait(pilot, session)
            # Closed as quitting closes it, so the SDK's connections close in this
            # test's event loop (not in a later test's, when collected).
            session.request_close()
            await session.wait_closed()
    assert server.rejections == []
    content = server.requests[0]["messages"][-1]["content"]
    image, text = content[0], content[-1]
    assert text["text"] == "what colour"
    if protocol == "anthropic":
        assert image["type"] == "image" and image["source"]["media_type"] == "image/png"
        data = base64.b64decode(image["source"]["data"])
    else:
        url = image["image_url"]["url"]
        assert url.startswith("data:image/png;base64,")
        data = base64.b64decode(url.split(",", 1)[1])
    width, height = Image.open(io.BytesIO(data)).size
    assert abs(width / height - 16 / 9) < 0.01
    if protocol == "anthropic":
        assert max(width, height) <= 1568 and width * height <= 1_150_000
    else:
        assert max(width, height) <= 2048 and min(width, height) <= 768
