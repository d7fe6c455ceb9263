"""Rewind on the page, in a real headless Chromium: the Rewind button opens the dialog
listing the prompts with their files; choosing one shows the diff; "Code" restores the
file on disk and the transcript says so; the line's "undo" redoes; a file changed by
hand is asked about (overwrite); a conversation rewind gives the prompt back to the
prompt box; Esc Esc in the empty prompt box opens the dialog. During a run the dialog
shows the plan but cannot rewind, and Esc closes it without cancelling the run."""

from __future__ import annotations

from pathlib import Path

import anyio
from playwright.async_api import expect

from harness_tui.core.providers.offline.scripted import Text, ToolCall, Wait, reply
from tests.web.test_web_browser import browser_page
from tests.web.test_web_rewind import write, writing
from tests.web_support import web_server


async def test_the_page_rewinds_code_and_conversation(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    notes = work / "notes.txt"
    notes.write_text("# Notes\n\n- buy milk\n- call Ada\n")
    replies = (
        write("notes.txt", "# Notes\n\n- buy oat milk\n- call Ada\n- fix the bike\n"),
        reply(
            Text("Updated the list."),
            ToolCall("Write", {"file_path": "todo/bike.md", "content": "Fix the bike.\n"}),
        ),
        reply(Text("Notes updated, and a file for the bike.")),
    )
    async with web_server(writing(work, *replies)) as srv, browser_page(tmp_path) as page:
        session, token = await srv.new_session(mode="acceptEdits")
        await page.goto(f"{srv.address.base_url}/?token={token}")
        await expect(page.locator("#conn")).to_have_attribute("data-state", "live")
        await page.fill("#prompt", "Update my notes: oat milk, and add the bike")
        await page.press("#prompt", "Enter")
        await expect(page.locator(".line.done")).to_have_count(1)
        assert (work / "todo" / "bike.md").exists()
        await expect(page.locator(".tool .checkpoint").first).to_contain_text("1 file saved")

        # The dialog lists the prompt and its files; choosing it shows the diff.
        await page.click("#rewind-open")
        dialog = page.locator("#rewind")
        await expect(dialog).to_be_visible()
        point = dialog.locator(".point")
        await expect(point).to_have_count(1)
        await expect(point).to_contain_text("Update my notes")
        await expect(point.locator(".changed")).to_contain_text("notes.txt")
        await point.click()
        card = dialog.locator('.file[data-path="notes.txt"]')
        await expect(card.locator(".action")).to_have_text("restore")
        await expect(card.locator(".diff .add").first).to_have_text("+- buy milk\n")
        await expect(dialog.locator('.file[data-path="todo/bike.md"] .action')).to_have_text(
            "remove"
        )

        # "Code" restores the files; the transcript says what it did.
        await dialog.locator('.modes button[data-mode="code"]').click()
        await expect(dialog).to_be_hidden()
        rewound = page.locator(".line.rewound")
        await expect(rewound).to_have_count(1)
        await expect(rewound).to_contain_text("Rewound code to “Update my notes")
        await expect(rewound).to_contain_text("1 file restored, 1 removed")
        assert notes.read_text() == "# Notes\n\n- buy milk\n- call Ada\n"
        assert not (work / "todo" / "bike.md").exists()
        assert await page.input_value("#prompt") == ""  # a code rewind leaves the box alone

        # Its "undo" puts the agent's files back.
        await rewound.locator(".undo").click()
        await expect(rewound).to_have_count(2)
        await expect(rewound.nth(1)).to_contain_text("Undid the rewind")
        await expect(rewound.locator(".undo")).to_have_count(0)
        assert "oat milk" in notes.read_text()  # the event comes after the files are back
        assert (work / "todo" / "bike.md").exists()

        # A file changed by hand since: the dialog asks before overwriting it.
        notes.write_text("# Notes\n\n- buy oat milk\n- call Ada\n- fix the bike\n- by hand\n")
        await page.focus("#prompt")
        await page.keyboard.press("Escape")
        await page.keyboard.press("Escape")  # Esc Esc in the empty box, as in the TUI
        await expect(dialog).to_be_visible()
        await point.click()
        await expect(card.locator(".by-hand")).to_have_text("changed by hand since then")
        await dialog.locator('.modes button[data-mode="code"]').click()
        conflict = dialog.locator(".conflict")
        await expect(conflict).to_contain_text("1 file changed by hand since then: notes.txt")
        await page.mouse.move(0, 0)  # no hover in the picture
        await page.screenshot(path=str(tmp_path / "rewind.png"))
        await conflict.locator('button[data-answer="overwrite"]').click()
        await expect(dialog).to_be_hidden()
        await expect(rewound).to_have_count(3)
        await expect(rewound.nth(2)).to_contain_text(
            "Rewound code to “Update my notes: oat milk, and add the bike”: 1 file restored, "
            "1 removed (overwriting 1 hand edit)"
        )
        assert notes.read_text() == "# Notes\n\n- buy milk\n- call Ada\n"

        # A conversation rewind gives the prompt back to the prompt box to edit.
        await page.click("#rewind-open")
        await point.click()
        await expect(dialog.locator(".summary")).to_contain_text("no file to restore")
        await dialog.locator('.modes button[data-mode="conversation"]').click()
        await expect(dialog).to_be_hidden()
        await expect(rewound.nth(3)).to_contain_text("Rewound the conversation to “Update")
        await expect(rewound.nth(3)).to_contain_text("(files untouched)")
        await expect(page.locator("#prompt")).to_have_value(
            "Update my notes: oat milk, and add the bike"
        )
        await page.reload()  # the lines come back from the replayed events
        await expect(page.locator(".line.rewound")).to_have_count(4)
    assert session.id
    print(f"screenshot: {tmp_path / 'rewind.png'}")


async def test_during_a_run_the_dialog_cannot_rewind_and_esc_closes_it_alone(
    tmp_path: Path,
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    gate, reached = anyio.Event(), anyio.Event()
    replies = (write("notes.txt", "agent\n"), reply(Text("Holding."), Wait(gate, reached)))
    async with web_server(writing(work, *replies)) as srv, browser_page(tmp_path) as page:
        _, token = await srv.new_session(mode="acceptEdits")
        await page.goto(f"{srv.address.base_url}/?token={token}")
        await expect(page.locator("#conn")).to_have_attribute("data-state", "live")
        await page.fill("#prompt", "write, then wait")
        await page.press("#prompt", "Enter")
        await reached.wait()
        await expect(page.locator("#run-state")).to_have_text("running")

        await page.click("#rewind-open")
        dialog = page.locator("#rewind")
        await dialog.locator(".point").click()
        await expect(dialog.locator('.file[data-path="notes.txt"] .action')).to_have_text("remove")
        for mode in ("both", "conversation", "code"):
            await expect(dialog.locator(f'.modes button[data-mode="{mode}"]')).to_be_disabled()
        await page.keyboard.press("Escape")  # closes the dialog; the run goes on
        await expect(dialog).to_be_hidden()
        await expect(page.locator("#run-state")).to_have_text("running")
        gate.set()
        await expect(page.locator(".line.done")).to_have_count(1)
    assert (work / "notes.txt").read_text() == "agent\n"
