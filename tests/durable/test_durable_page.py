"""The web page, in a real headless Chromium, on the survivor of a two-process durable
service: opened on one process while the run executes on the other, it shows the run
through the first process's death to its end, with every event, and takes a prompt of
its own (queued for whichever process has room)."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest
from playwright.async_api import expect

from tests.durable.postgres import PostgresServer
from tests.durable.serving import SCRIPT_HEAD, Serve, end_process, project_with, wait_for
from tests.web.test_web_browser import browser_page

pytestmark = pytest.mark.slow

SCRIPT = (
    SCRIPT_HEAD
    + """\
  - text: "Working on the first process."
    tool_calls:
      - {name: Bash, input: {command: "echo one >> calls.txt; echo $$ > one.pid; sleep 60"}}
  - text: "Finished on the **survivor**."
  - text: "And a second answer, from the page."
"""
)


async def test_the_page_on_the_survivor_follows_the_run_to_its_end(
    tmp_path: Path, database: str, postgres: PostgresServer
) -> None:
    project = project_with(tmp_path, SCRIPT)
    first = Serve(tmp_path / "a", project, model="scripted:script.yaml", database=database)
    second = Serve(tmp_path / "b", project, model="scripted:script.yaml", database=database)
    try:
        first.start()
        session_id = first.call("POST", "/api/session", {})["session"]["id"]
        first.call("POST", f"/api/query/{session_id}", {"text": "work"})
        await anyio.to_thread.run_sync(lambda: wait_for(lambda: (project / "one.pid").exists()))
        second.start()
        async with browser_page(tmp_path) as page:
            await page.goto(f"{second.base}/?token={second.token}&session={session_id}")
            await expect(page.locator("#conn")).to_have_attribute("data-state", "live")
            card = page.locator(".tool").first
            await expect(card).to_have_attribute("data-status", "running")
            first.kill()
            end_process(project / "one.pid")
            await expect(card).to_have_attribute("data-status", "failed", timeout=30_000)
            await expect(page.locator(".assistant .md strong")).to_have_text("survivor")
            await expect(page.locator("#run-state")).to_have_text("idle", timeout=30_000)
            events = second.events(session_id)
            await expect(page.locator("body")).to_have_attribute(
                "data-last-seq", str(events[-1]["seq"])
            )
            # A prompt typed in the page: a new run, taken by the survivor.
            await page.fill("#prompt", "and now?")
            await page.press("#prompt", "Enter")
            await expect(page.locator(".assistant .md").last).to_have_text(
                "And a second answer, from the page.", timeout=30_000
            )
    finally:
        first.kill()
        second.stop()
        end_process(project / "one.pid")
