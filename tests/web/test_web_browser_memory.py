"""Memory writes on the page (headless Chromium): the model's ``Memory`` call is a line
in the transcript saying what was kept and where, as every view shows it."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import expect

from harness_tui.core.memory.tool import MemoryTool
from harness_tui.core.providers.offline.scripted import Text, ToolCall, reply
from tests.web.test_web_browser import browser_page
from tests.web_support import scripted, web_server


async def test_a_memory_write_is_a_line_on_the_page(tmp_path: Path) -> None:
    call = ToolCall("Memory", {"action": "add", "text": "deploys need the VPN"})
    options = scripted(reply(call), reply(Text("Noted.")), tools=[MemoryTool()])
    async with web_server(options) as srv, browser_page(tmp_path) as page:
        _, token = await srv.new_session()
        await page.goto(f"{srv.address.base_url}/?token={token}")
        await expect(page.locator("#conn")).to_have_attribute("data-state", "live")
        await page.fill("#prompt", "remember the VPN")
        await page.press("#prompt", "Enter")
        line = page.locator(".line.memory")
        await expect(line).to_have_count(1)
        await expect(line).to_contain_text("The model kept in project memory: deploys need the VPN")
