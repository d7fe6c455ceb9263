"""The Agents panel on the page, in a real headless Chromium, over sessions of the four
front ends as real processes (``tests.live_support``: a TUI in a terminal waiting on a
question, ``-p`` running, this ``serve``'s own session idle, an editor's over ACP just
opened): each listed in its group with its front end and state; Allow on the TUI's
question answers it there and its card moves to Idle with the answer's first line; the
page's own session opens in the page from its card."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import expect

from harness_tui.core.live.registry import live_sessions
from tests.live_support import four_front_ends
from tests.web.test_web_browser import browser_page


async def test_the_panel_lists_the_four_front_ends_and_allow_answers(tmp_path: Path) -> None:
    async with four_front_ends(tmp_path) as ends, browser_page(tmp_path) as page:
        ids = {name: r.session_id for name, r in ends.records.items()}
        await page.goto(f"{ends.serve_url}/?token={ends.serve_token}")
        panel = page.locator("#agents")
        await expect(page.locator("#agents-panel")).to_be_visible()

        def card(name: str):
            return panel.locator(f'.agent[data-session="{ids[name]}"]')

        groups = {"tui": "waiting", "print": "running", "serve": "idle", "acp": "idle"}
        for name, group in groups.items():
            await expect(panel.locator(f'.group[data-group="{group}"]').locator(
                f'.agent[data-session="{ids[name]}"]'
            )).to_have_count(1)  # fmt: skip
            await expect(card(name).locator(".front-end")).to_have_text(name)
        await expect(card("tui").locator(".state")).to_have_text("waiting: Bash(echo from the tui)")
        await expect(card("print").locator(".state")).to_have_text("running")
        await expect(card("serve").locator(".state")).to_have_text("idle")
        await expect(card("acp").locator(".state")).to_have_text("starting")
        await expect(card("tui").locator(".title")).to_have_text("run it")
        await expect(card("print").locator(".stop")).to_have_count(1)
        await expect(page.locator('.group[data-group="waiting"] h3')).to_have_text("Needs you (1)")

        await card("tui").locator("button.allow_once").click()
        tui = panel.locator(f'.group[data-group="idle"] .agent[data-session="{ids["tui"]}"]')
        await expect(tui).to_have_count(1, timeout=30_000)
        await expect(tui.locator(".reply")).to_have_text("the tui is done")
        record = next(r for r in live_sessions() if r.session_id == ids["tui"])
        assert record.state == "idle" and record.question is None

        # The page's own session (held by this server) opens in the page.
        await card("serve").locator("a.title").click()
        await expect(page.locator("#session-picker")).to_have_value(ids["serve"])
        await expect(page.locator("#log")).to_contain_text("served from the page")
