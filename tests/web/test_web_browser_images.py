"""Images on the page, in a real headless Chromium: attached with the button, dropped on
the page and pasted into the prompt box, shown as chips that can be removed, sent with
the prompt (the strict Anthropic fake checks what the model received, fitted), and shown
in the conversation, also after a reload."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import anyio
import pytest
from PIL import Image, ImageDraw
from playwright.async_api import Page, expect

from harness_tui.core.images.fit import target_size
from harness_tui.core.providers.catalogue import PROTOCOL_IMAGE_LIMITS
from harness_tui.core.providers.models import ModelChoice
from harness_tui.core.providers.offline.scripted import ScriptedProvider, Text, Wait, reply
from tests.fakes import script as api
from tests.fakes.wiring import anthropic_fake, fast, write_models_settings
from tests.helpers import wait_for
from tests.web.test_web_browser import browser_page
from tests.web_support import web_server


def drawing(width: int, height: int, colour: str, kind: str = "PNG") -> bytes:
    """A small picture with something to see in it."""
    image = Image.new("RGB", (width, height), "#20242c")
    draw = ImageDraw.Draw(image)
    draw.rectangle((width // 8, height // 6, width * 5 // 8, height * 5 // 6), fill=colour)
    draw.ellipse((width // 2, height // 4, width * 7 // 8, height * 3 // 4), fill="#e0b341")
    out = io.BytesIO()
    image.save(out, kind)
    return out.getvalue()


# Builds a DataTransfer holding one file, and dispatches `kind` (drop or paste) with it.
SYNTHETIC = """
([kind, selector, name, type, data]) => {
  const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
  const transfer = new DataTransfer();
  transfer.items.add(new File([bytes], name, { type }));
  const target = document.querySelector(selector);
  const options = { bubbles: true, cancelable: true };
  if (kind === "paste") {
    target.dispatchEvent(new ClipboardEvent("paste", { clipboardData: transfer, ...options }));
    return;
  }
  for (const type of ["dragenter", "dragover", "drop"]) {
    target.dispatchEvent(new DragEvent(type, { dataTransfer: transfer, ...options }));
  }
}
"""


async def synthetic(page: Page, kind: str, selector: str, name: str, mime: str, data: bytes):
    await page.evaluate(SYNTHETIC, [kind, selector, name, mime, base64.b64encode(data).decode()])


async def test_the_page_attaches_drops_and_pastes_images_and_shows_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    picked = tmp_path / "picked.png"
    picked.write_bytes(drawing(2400, 1200, "#6cb6ff"))
    dropped, pasted = drawing(320, 200, "#57c27a", "JPEG"), drawing(200, 200, "#ef6b73")
    with anthropic_fake(monkeypatch) as server:
        write_models_settings({"anthropic": fast()})
        server.script(api.reply(api.Say("Three pictures.")), api.reply(api.Say("One more.")))
        options = lambda: {"model": "anthropic/claude-sonnet-4-6"}  # noqa: E731
        async with web_server(options) as srv, browser_page(tmp_path) as page:
            _, token = await srv.new_session()
            await page.goto(f"{srv.address.base_url}/?token={token}")
            await expect(page.locator("#conn")).to_have_attribute("data-state", "live")
            chips = page.locator("#attachments .attachment")

            # The attach button's file input, a drop on the page, a paste in the prompt.
            await page.set_input_files("#attach-input", str(picked))
            await expect(chips.first).to_contain_text("picked.png 2400×1200")
            await synthetic(page, "drop", "#log", "dropped.jpg", "image/jpeg", dropped)
            await synthetic(page, "paste", "#prompt", "image.png", "image/png", pasted)
            await expect(chips).to_have_count(3)
            await expect(chips.nth(1)).to_contain_text("dropped.jpg 320×200")
            await expect(chips.nth(2)).to_contain_text("pasted-1.png 200×200")

            # What cannot be sent is refused on the page, and × removes a chip.
            await synthetic(page, "drop", "#log", "notes.txt", "text/plain", b"hello")
            await expect(page.locator(".line.error").last).to_contain_text("notes.txt")
            await synthetic(page, "paste", "#prompt", "image.png", "image/png", pasted)
            await expect(chips).to_have_count(4)
            await chips.nth(3).locator(".remove").click()
            await expect(chips).to_have_count(3)

            await page.fill("#prompt", "What do these show?")
            await page.press("#prompt", "Enter")
            await expect(chips).to_have_count(0)
            await expect(page.locator(".assistant .md").first).to_have_text("Three pictures.")

            # The model got the three images, fitted to Anthropic's limits, then the text.
            assert server.rejections == []
            *images, text = server.requests[0]["messages"][-1]["content"]
            assert text["text"] == "What do these show?"
            sizes = [
                Image.open(io.BytesIO(base64.b64decode(i["source"]["data"]))).size for i in images
            ]
            limits = PROTOCOL_IMAGE_LIMITS["anthropic"]
            assert sizes == [target_size(2400, 1200, limits), (320, 200), (200, 200)]
            assert [i["source"]["media_type"] for i in images] == [
                "image/png",
                "image/jpeg",
                "image/png",
            ]

            # The conversation shows them, loaded from the server.
            shown = page.locator(".user .image img")
            await expect(shown).to_have_count(3)
            await page.wait_for_function(
                "() => [...document.querySelectorAll('.user .image img')]"
                ".every((img) => img.complete && img.naturalWidth > 0)"
            )
            assert await shown.first.evaluate("img => img.naturalWidth") == 2400
            await expect(page.locator(".user .image figcaption")).to_have_text(
                ["picked.png", "dropped.jpg", "pasted-1.png"]
            )

            # An image alone is a message too; a chip waits for the next one.
            await synthetic(page, "drop", "#prompt", "dropped.jpg", "image/jpeg", dropped)
            await page.click("#send")
            await expect(page.locator(".assistant .md").nth(1)).to_have_text("One more.")
            assert server.requests[1]["messages"][-1]["content"][0]["type"] == "image"
            await page.set_input_files("#attach-input", str(picked))
            await expect(chips).to_have_count(1)
            await page.wait_for_function(
                "() => [...document.querySelectorAll('.user .image img')]"
                ".every((img) => img.complete && img.naturalWidth > 0)"
            )
            await page.screenshot(path=str(tmp_path / "images.png"))

            # A reload shows the conversation's images again, from the replayed events.
            await page.reload()
            await expect(page.locator("#conn")).to_have_attribute("data-state", "live")
            await expect(shown).to_have_count(4)
            await page.wait_for_function(
                "() => [...document.querySelectorAll('.user .image img')]"
                ".every((img) => img.complete && img.naturalWidth > 0)"
            )


async def test_a_steer_from_the_page_carries_its_image(tmp_path: Path) -> None:
    gate, reached = anyio.Event(), anyio.Event()
    provider = ScriptedProvider([reply(Text("working"), Wait(gate, reached)), reply(Text("ok"))])
    options = lambda: {  # noqa: E731
        "model": ModelChoice("scripted", "scripted", lambda: provider, 200_000),
        "tools": [],
    }
    shot = drawing(64, 48, "#6cb6ff")
    async with web_server(options) as srv, browser_page(tmp_path) as page:
        session, token = await srv.new_session()
        await page.goto(f"{srv.address.base_url}/?token={token}")
        await expect(page.locator("#conn")).to_have_attribute("data-state", "live")
        await page.fill("#prompt", "start")
        await page.press("#prompt", "Enter")
        await reached.wait()
        await expect(page.locator("#send")).to_have_text("Steer")
        await synthetic(page, "paste", "#prompt", "image.png", "image/png", shot)
        await page.fill("#prompt", "look at this")
        await page.press("#prompt", "Enter")
        await expect(page.locator("#queue li[data-id] .text")).to_have_text(
            "steer: look at this (+1 image)"
        )
        gate.set()
        await expect(page.locator(".user", has_text="steered").locator("img")).to_have_count(1)
        await wait_for(session.store, lambda e: e.type == "RUN_COMPLETED")
    message = provider.requests[1].messages[-1]
    assert message.text == "look at this"
    assert [(i.name, i.width, i.height) for i in message.images] == [("pasted-1.png", 64, 48)]
