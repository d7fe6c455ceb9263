"""The page in a real headless Chromium (Debian's, driven by Playwright): it streams a
scripted run, shows a tool card complete, steers, cancels, and resyncs after a reload,
a dropped connection and a gap; it switches the mode and the model and pulls back a
queued message."""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import pytest
from playwright.async_api import Page, async_playwright, expect

from harness_tui.core.providers.models import available_models
from harness_tui.core.providers.offline.scripted import Text, ToolCall, Wait, reply
from tests.helpers import GateTool, WriteLikeTool, wait_for
from tests.web_support import scripted, web_server, words

CHROMIUM = Path("/usr/bin/chromium")
# As root and offline: no sandbox, and no background calls to Google's services.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

if not CHROMIUM.exists():
    if os.environ.get("CI"):
        raise RuntimeError(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium")
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)", allow_module_level=True)


@asynccontextmanager
async def browser_page(tmp_path: Path) -> AsyncIterator[Page]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, timeout=60_000
        )
        try:
            context = await browser.new_context(viewport={"width": 1280, "height": 860})
            page = await context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            yield page
            assert errors == [], errors
        finally:
            await browser.close()


async def test_the_page_streams_steers_cancels_and_resyncs(tmp_path: Path) -> None:
    gate = GateTool()
    hold, held = anyio.Event(), anyio.Event()
    hold2, held2 = anyio.Event(), anyio.Event()
    replies = (
        reply(
            Text("# Plan\n\nHello from the **script**. Here is `code` and a list:\n\n- one\n- two"),
            ToolCall("Gate", {"label": "first"}, id="call_1"),
        ),
        reply(Text("Halfway there."), Wait(hold, held)),
        reply(Text("Steered, carrying on"), Wait(hold2, held2), Text(" never shown")),
        reply(Text("After the reconnect.")),
    )
    async with web_server(scripted(*replies, tools=[gate])) as srv, browser_page(tmp_path) as page:
        session, token = await srv.new_session()
        await page.goto(f"{srv.address.base_url}/?token={token}")
        await expect(page.locator("#conn")).to_have_attribute("data-state", "live")
        await expect(page.locator("#model")).to_have_text("scripted")

        # A prompt from the page starts a run; its text streams in as Markdown.
        await page.fill("#prompt", "Build it")
        await page.press("#prompt", "Enter")
        assistant = page.locator(".assistant .md").first
        await expect(assistant.locator("h1")).to_have_text("Plan")
        await expect(assistant.locator("strong")).to_have_text("script")
        await expect(assistant.locator("li")).to_have_count(2)

        # The tool card appears running and completes in place.
        card = page.locator('.tool[data-id="call_1"]')
        await expect(card).to_have_attribute("data-status", "running")
        await expect(card.locator(".name")).to_have_text("Gate")
        gate.release.set()
        await expect(card).to_have_attribute("data-status", "completed")
        await expect(card.locator(".result")).to_have_text("first done")

        # Steer while the model is mid-reply: queued, then delivered at the next turn.
        await held.wait()
        await expect(page.locator("#send")).to_have_text("Steer")
        await page.fill("#prompt", "Also check the tests")
        await page.press("#prompt", "Enter")
        queued = await wait_for(session.store, lambda e: e.type == "STEERING_QUEUED")
        assert queued.text == "Also check the tests" and queued.kind == "steer"
        await expect(page.locator("#queue li[data-id] .text")).to_have_text(
            "steer: Also check the tests"
        )
        hold.set()
        await expect(page.locator(".user .tag", has_text="steered")).to_have_text(
            re.compile(r"steered \(turn 3\)")
        )
        await expect(page.locator("#queue li[data-id]")).to_have_count(0)

        # Cancel from the page reaches the session and ends the run.
        await held2.wait()
        await expect(page.locator(".assistant .md").last).to_contain_text("Steered, carrying on")
        await page.click("#cancel")
        await wait_for(session.store, lambda e: e.type == "RUN_CANCELLED")
        await expect(page.locator("#run-state")).to_have_text("idle")
        await expect(page.locator(".line.warning")).to_contain_text("cancelled")
        await expect(page.locator(".assistant.interrupted")).to_have_count(1)
        assert not session.running
        await expect(page.locator("body")).to_have_attribute(
            "data-last-seq", str(session.store.last_seq)
        )
        await page.screenshot(path=str(tmp_path / "page.png"), full_page=True)
        await page.evaluate("() => new Promise((done) => requestAnimationFrame(done))")
        before = await page.inner_text("#log")  # after the frame that paints the last text

        # A reload rebuilds the same view from the server's events.
        await page.reload()
        await expect(page.locator("#conn")).to_have_attribute("data-state", "live")
        await expect(page.locator("body")).to_have_attribute(
            "data-last-seq", str(session.store.last_seq)
        )
        await expect(page.locator('.tool[data-id="call_1"]')).to_have_attribute(
            "data-status", "completed"
        )
        # Markdown is painted on the next animation frame after the events arrive.
        await page.wait_for_function(
            "before => document.querySelector('#log').innerText === before",
            arg=before,
            timeout=10_000,
        )
        assert await page.inner_text("#log") == before

        # A dropped connection reconnects from where it was, and the page goes on.
        await page.evaluate("window.harness.socket.close(4000)")
        await expect(page.locator("#conn")).to_have_attribute("data-state", "live")
        await page.fill("#prompt", "One more")
        await page.press("#prompt", "Enter")
        await expect(page.locator(".assistant .md").last).to_have_text("After the reconnect.")
        await expect(page.locator("#run-state")).to_have_text("idle")
        await expect(page.locator("body")).to_have_attribute(
            "data-last-seq", str(session.store.last_seq)
        )
        await page.screenshot(path=str(tmp_path / "page-after-reload.png"), full_page=True)
        print(f"screenshots: {tmp_path / 'page.png'} {tmp_path / 'page-after-reload.png'}")


async def test_a_page_behind_the_window_fetches_the_gap_and_shows_the_whole_text(
    tmp_path: Path,
) -> None:
    text = words(400)
    async with (
        web_server(scripted(reply(Text(text))), lag_window=50) as srv,
        browser_page(tmp_path) as page,
    ):
        session, token = await srv.new_session()
        await srv.http.post(f"/api/query/{session.id}", json={"text": "go"})
        await wait_for(session.store, lambda e: e.type == "RUN_COMPLETED")
        fetched: list[str] = []
        page.on("request", lambda r: fetched.append(r.url) if "/events?" in r.url else None)
        await page.goto(f"{srv.address.base_url}/?token={token}")
        await expect(page.locator("body")).to_have_attribute(
            "data-last-seq", str(session.store.last_seq)
        )
        await expect(page.locator(".assistant .md")).to_have_text(text.strip())
        assert fetched, "the page should have fetched the range it was told it missed"


async def test_with_the_server_token_the_page_starts_and_switches_sessions(
    tmp_path: Path,
) -> None:
    replies = (reply(Text("First answer.")),)
    async with web_server(scripted(*replies)) as srv, browser_page(tmp_path) as page:
        await page.goto(srv.address.url)
        await expect(page.locator(".line.notice")).to_contain_text("No session yet")
        await page.fill("#prompt", "Hello")
        await page.click("#send")
        await expect(page.locator(".assistant .md")).to_have_text("First answer.")
        (first,) = srv.manager.list()  # type: ignore[union-attr]
        await expect(page.locator("#session-picker option")).to_have_count(1)
        assert "session=" + first.id in page.url

        await page.click("#new-session")
        await expect(page.locator("#session-picker option")).to_have_count(2)
        await expect(page.locator(".assistant")).to_have_count(0)
        second = srv.manager.list()[-1]  # type: ignore[union-attr]
        await expect(page.locator("body")).to_have_attribute(
            "data-last-seq", str(second.store.last_seq)
        )
        await page.select_option("#session-picker", first.id)
        await expect(page.locator(".assistant .md")).to_have_text("First answer.")


async def test_permission_questions_are_answered_from_the_page(tmp_path: Path) -> None:
    touch = WriteLikeTool()
    replies = (reply(ToolCall("Touch", {}, id="call_1")), reply(Text("Touched.")))
    async with (
        web_server(scripted(*replies, tools=[touch])) as srv,
        browser_page(tmp_path) as page,
    ):
        _, token = await srv.new_session()
        await page.goto(f"{srv.address.base_url}/?token={token}")
        await page.fill("#prompt", "touch it")
        await page.press("#prompt", "Enter")
        card = page.locator(".permission")
        await expect(card.locator("strong")).to_have_text("Allow Touch?")
        await card.locator('button[data-decision="allow_once"]').click()
        await expect(card).to_have_attribute("data-resolved", "allow_once")
        await expect(page.locator('.tool[data-id="call_1"]')).to_have_attribute(
            "data-status", "completed"
        )
        await expect(page.locator(".assistant .md").last).to_have_text("Touched.")
        assert touch.runs == 1


async def test_the_page_pulls_back_a_queued_message_and_switches_mode_and_model(
    tmp_path: Path,
) -> None:
    hold, held = anyio.Event(), anyio.Event()
    replies = (reply(Text("Working on it."), Wait(hold, held)),)
    async with web_server(scripted(*replies)) as srv, browser_page(tmp_path) as page:
        session, token = await srv.new_session()
        await page.goto(f"{srv.address.base_url}/?token={token}")
        await expect(page.locator("#conn")).to_have_attribute("data-state", "live")

        # A steer queued while the run is held comes back into the prompt box.
        await page.fill("#prompt", "Build it")
        await page.press("#prompt", "Enter")
        await held.wait()
        await expect(page.locator("#send")).to_have_text("Steer")
        await page.click("#model")
        await page.press("#model-input", "Escape")  # closes the input, does not cancel
        await expect(page.locator("#model-input")).to_be_hidden()
        await page.fill("#prompt", "Actually, wait")
        await page.press("#prompt", "Enter")
        queued = await wait_for(session.store, lambda e: e.type == "STEERING_QUEUED")
        item = page.locator(f'#queue li[data-id="{queued.steering_id}"]')
        await expect(item.locator(".text")).to_have_text("steer: Actually, wait")
        await expect(page.locator("#prompt")).to_have_value("")
        await item.locator("button.pull-back").click()
        withdrawn = await wait_for(session.store, lambda e: e.type == "STEERING_WITHDRAWN")
        assert withdrawn.steering_id == queued.steering_id and withdrawn.reason == "pulled_back"
        await expect(page.locator("#queue li[data-id]")).to_have_count(0)
        await expect(page.locator("#queue .empty")).to_have_text("nothing queued")
        await expect(page.locator("#prompt")).to_have_value("Actually, wait")
        hold.set()  # the run ends after its one turn: nothing was left to steer it
        await wait_for(session.store, lambda e: e.type == "RUN_COMPLETED")
        await expect(page.locator("#run-state")).to_have_text("idle")
        assert "STEERING_DELIVERED" not in [e.type for e in session.store.replay(0)]

        # The mode select offers what a browser may choose, and follows the events.
        mode = page.locator("#mode")
        await expect(mode).to_have_value("default")
        options = await mode.locator("option").all_inner_texts()
        assert options == ["default", "acceptEdits", "plan"]  # no bypass: not started in it
        await page.select_option("#mode", "plan")
        changed = await wait_for(session.store, lambda e: e.type == "MODE_CHANGED")
        assert changed.mode == "plan" and session.mode == "plan"
        await expect(page.locator(".line.notice").last).to_have_text("permission mode: plan")
        await expect(mode).to_have_attribute("data-mode", "plan")
        await session.set_mode("acceptEdits")  # changed elsewhere (the TUI of a mirror)
        await expect(mode).to_have_attribute("data-mode", "acceptEdits")
        await expect(mode).to_have_value("acceptEdits")

        # The model button opens an input with the picker's list; Esc closes it.
        model = page.locator("#model")
        box = page.locator("#model-input")
        await expect(model).to_have_text("scripted")
        await model.click()
        await expect(box).to_be_visible()
        await expect(box).to_be_focused()
        names = [m.name for m in available_models(session.cwd, session.settings)]
        await expect(page.locator("#model-list option")).to_have_count(len(names))
        await box.press("Escape")
        await expect(box).to_be_hidden()
        assert session.model.name == "scripted"

        # An unknown name is refused with the core's message; a known one switches.
        await model.click()
        await box.fill("gpt-17-imaginary")
        await box.press("Enter")
        await expect(page.locator(".line.error").last).to_contain_text(
            "unknown model 'gpt-17-imaginary'"
        )
        await expect(box).to_be_visible()
        await box.fill("demo")
        await box.press("Enter")
        await wait_for(session.store, lambda e: e.type == "MODEL_CHANGED")
        await expect(model).to_have_text("demo")
        await expect(box).to_be_hidden()
        assert session.model.name == "demo"
