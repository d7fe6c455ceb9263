"""The page with a budget, in headless Chromium: spend against the budget in the usage
line, and the budget's stop as a warning line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.async_api import expect

from harness_tui.core.providers.models import ModelChoice
from harness_tui.core.providers.offline.scripted import ScriptedProvider, ToolCall, Usage, reply
from tests.helpers import EchoTool
from tests.web.test_web_browser import browser_page
from tests.web_support import web_server


def budgeted() -> dict[str, Any]:
    """Sessions whose every reply calls Echo and costs $0.10, with $0.25 a run."""
    provider = ScriptedProvider(
        [reply(ToolCall("Echo", {"text": str(i)}), Usage(10, 10, cost_usd=0.1)) for i in range(4)]
    )
    return {
        "model": ModelChoice("scripted", "scripted", lambda: provider, 200_000),
        "tools": [EchoTool()],
        "max_budget_usd": 0.25,
    }


async def test_the_page_shows_spend_against_the_budget_and_its_stop(tmp_path: Path) -> None:
    async with web_server(budgeted) as srv, browser_page(tmp_path) as page:
        _, token = await srv.new_session()
        await page.goto(f"{srv.address.base_url}/?token={token}")
        await expect(page.locator("#conn")).to_have_attribute("data-state", "live")
        await page.fill("#prompt", "loop")
        await page.press("#prompt", "Enter")
        warning = page.locator(".entry.line.warning").filter(has_text="would pass the run's")
        await expect(warning).to_contain_text("budget of $0.25 (--max-budget-usd)")
        await expect(page.locator("#usage")).to_contain_text("run $0.2000 / $0.25")
