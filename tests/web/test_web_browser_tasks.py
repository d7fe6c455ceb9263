"""Background tasks on the page, in a real headless Chromium: the side panel lists the
task a real session started (from the live events) with its command, its time ticking
and its sandbox mark; Stop ends it (its process group gone) and the panel and the
transcript say it stopped; a task that fails by itself is a transcript line with its
exit code; what the sandbox refused is a line; the Sandbox button shows the status
lines; a reload rebuilds the panel from the replayed events; another session shown
has its own panel. With the sandbox on (real bubblewrap, skipped where it cannot
start): the task is marked sandboxed and a write outside is a real refusal in the
transcript; docs/screenshot-web-tasks.png is its "tasks.png"."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from playwright.async_api import expect

from harness_tui.core.events import SandboxBlocked
from harness_tui.core.providers.offline.scripted import Text, ToolCall, reply
from tests.helpers import process_group_alive, wait_for
from tests.sandbox_support import sandbox_scratch
from tests.web.test_web_browser import browser_page
from tests.web.test_web_tasks import allowed_bash, background, group_gone
from tests.web_support import web_server


def script() -> list:
    return [
        reply(
            ToolCall(
                "Bash",
                {
                    "command": "sleep 300",
                    "run_in_background": True,
                    "description": "wait five minutes",
                },
            )
        ),
        reply(ToolCall("Bash", {"command": "echo building; exit 3", "run_in_background": True})),
        reply(Text("Both started.")),
    ]


async def test_the_panel_lists_ticks_and_stops_a_task(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    async with web_server(allowed_bash(work, script)) as srv, browser_page(tmp_path) as page:
        session, token = await srv.new_session()
        # The page's clock an hour behind the server's (elapsed times come out right
        # anyway), and its timers, to move past the ended tasks' minute.
        await page.clock.install(time=datetime.now() - timedelta(hours=1))
        await page.goto(f"{srv.address.base_url}/?token={token}")
        await expect(page.locator("#conn")).to_have_attribute("data-state", "live")
        panel = page.locator("#tasks")
        await expect(panel.locator(".empty")).to_have_text("no background task")

        await page.fill("#prompt", "start the jobs")
        await page.press("#prompt", "Enter")
        await expect(page.locator(".line.done")).to_have_count(1)
        started = await wait_for(
            session.store, lambda e: e.type == "TASK_STARTED" and e.command == "sleep 300"
        )
        task = panel.locator(f'.task[data-task="{started.task_id}"]')
        await expect(task.locator(".command")).to_have_text("sleep 300")
        await expect(task.locator(".command")).to_have_attribute(
            "title", "wait five minutes\nsleep 300"
        )
        await expect(task.locator(".mark")).to_have_text(
            "sandboxed" if started.sandboxed else "unconfined"
        )
        await expect(task).to_have_attribute("data-status", "running")
        await expect(task.locator(".state")).to_have_text(re.compile(r"^running \d+s$"))
        first = await task.locator(".state").text_content()
        await expect(task.locator(".state")).not_to_have_text(first or "")  # it ticks

        # The task that failed by itself: a line with its exit code, shown ended.
        failed = page.locator('.line.task-ended[data-status="failed"]')
        await expect(failed).to_contain_text("(echo building; exit 3) failed (exit 3)")
        await expect(failed.locator(".hint")).to_have_text("last output: building")
        await expect(panel.locator('.task[data-status="failed"] .state')).to_contain_text(
            "failed (exit 3) after"
        )
        await expect(panel.locator('.task[data-status="failed"] .stop')).to_have_count(0)

        # What the sandbox refused is a line (emitted as the sandbox's bridge would).
        await session.emit(
            SandboxBlocked, kind="network", target="example.com:443", reason="not allowed"
        )
        await session.emit(SandboxBlocked, kind="write", target="/etc/hosts", allowed=True)
        blocked = page.locator(".line.sandbox-blocked")
        await expect(blocked.nth(0)).to_contain_text(
            "sandbox refused a connection to example.com:443"
        )
        await expect(blocked.nth(1)).to_have_text(
            "sandbox refused a write to /etc/hosts — allowed by the user"
        )

        # The Sandbox button shows the status lines.
        await page.click("#sandbox-open")
        dialog = page.locator("#sandbox")
        await expect(dialog).to_be_visible()
        await expect(dialog.locator(".lines")).to_have_text(
            "\n".join(session.sandbox_status().lines())
        )
        await page.keyboard.press("Escape")
        await expect(dialog).to_be_hidden()

        # Stop ends it: its process group is gone; the panel and transcript say so.
        assert process_group_alive(started.pgid)
        await task.locator(".stop").click()
        await expect(task).to_have_attribute("data-status", "stopped")
        await expect(task.locator(".state")).to_have_text(re.compile(r"^stopped after \d+s$"))
        await expect(task.locator(".stop")).to_have_count(0)
        stopped = page.locator('.line.task-ended[data-status="stopped"]')
        await expect(stopped).to_have_text(f"task {started.task_id} (sleep 300) stopped")
        await group_gone(started.pgid)

        # A reload rebuilds the panel and the lines from the replayed events.
        await page.reload()
        await expect(page.locator("#conn")).to_have_attribute("data-state", "live")
        await expect(panel.locator(".task")).to_have_count(2)
        await expect(task).to_have_attribute("data-status", "stopped")
        await expect(page.locator(".line.task-ended")).to_have_count(2)
        await expect(page.locator(".line.sandbox-blocked")).to_have_count(2)

        # A minute after they ended the tasks leave the panel; their lines stay.
        await page.clock.fast_forward(61_000)
        await expect(panel.locator(".task")).to_have_count(0)
        await expect(panel.locator(".empty")).to_have_text("no background task")
        await expect(page.locator(".line.task-ended")).to_have_count(2)


@pytest.fixture
def sandboxed_work() -> Iterator[Path]:
    """A folder for a session with the sandbox on (real bubblewrap); under /var/tmp like
    the core's sandbox tests (the sandbox gives /tmp a fresh one)."""
    with sandbox_scratch("sbx-web-") as top:
        yield top / "ws"


def sandboxed_script() -> list:
    return [
        reply(ToolCall("Bash", {"command": "sleep 300", "run_in_background": True})),
        reply(ToolCall("Bash", {"command": "echo building; exit 3", "run_in_background": True})),
        reply(ToolCall("Bash", {"command": "echo x > ../outside.txt"})),
        reply(Text("The sandbox kept the file out.")),
    ]


async def test_a_sandboxed_task_and_a_real_refusal(sandboxed_work: Path, tmp_path: Path) -> None:
    def options() -> dict[str, Any]:
        # Nobody answers questions: the refused write is not offered to the user.
        settings = {"sandbox": {"enabled": True}, "permissions": {"allow": ["Bash"]}}
        made = allowed_bash(sandboxed_work, sandboxed_script, yaml.safe_dump(settings))
        return {**made(), "ask_policy": "deny"}

    async with web_server(options) as srv, browser_page(tmp_path) as page:
        session, token = await srv.new_session()
        await page.goto(f"{srv.address.base_url}/?token={token}")
        await expect(page.locator("#conn")).to_have_attribute("data-state", "live")
        await page.fill("#prompt", "start the job, then write outside")
        await page.press("#prompt", "Enter")
        await expect(page.locator(".line.done")).to_have_count(1)
        started = await wait_for(session.store, lambda e: e.type == "TASK_STARTED")
        assert started.sandboxed
        task = page.locator(f'#tasks .task[data-task="{started.task_id}"]')
        await expect(task.locator(".mark")).to_have_text("sandboxed")
        refused = page.locator(".line.sandbox-blocked")
        outside = sandboxed_work.parent / "outside.txt"
        await expect(refused).to_contain_text(f"sandbox refused a write to {outside}")
        assert not outside.exists()
        failed = page.locator('#tasks .task[data-status="failed"] .mark')
        await expect(failed).to_have_text("sandboxed")
        await expect(task.locator(".state")).to_have_text(re.compile(r"^running [1-9]\d*s$"))
        await page.mouse.move(0, 0)  # no hover in the picture
        await page.screenshot(path=str(tmp_path / "tasks.png"))

        await page.click("#sandbox-open")
        lines = page.locator("#sandbox .lines")
        await expect(lines).to_contain_text("Sandbox: on (bubblewrap).")
        await expect(lines).to_have_text("\n".join(session.sandbox_status().lines()))
        await page.screenshot(path=str(tmp_path / "sandbox.png"))
        await page.keyboard.press("Escape")

        await task.locator(".stop").click()
        await expect(task).to_have_attribute("data-status", "stopped")
        await group_gone(started.pgid)
    print(f"screenshots: {tmp_path / 'tasks.png'}, {tmp_path / 'sandbox.png'}")


async def test_the_panel_follows_the_session_shown(tmp_path: Path) -> None:
    options = allowed_bash(tmp_path, lambda: background(tmp_path))
    async with web_server(options) as srv, browser_page(tmp_path) as page:
        busy, _ = await srv.new_session()
        quiet, _ = await srv.new_session()
        await srv.http.post(f"/api/query/{busy.id}", json={"text": "start it"})
        started = await wait_for(busy.store, lambda e: e.type == "TASK_STARTED")
        await page.goto(f"{srv.address.base_url}/?token={srv.token}&session={busy.id}")
        await expect(page.locator("#conn")).to_have_attribute("data-state", "live")
        panel = page.locator("#tasks")
        await expect(panel.locator(".task")).to_have_attribute("data-task", started.task_id)

        await page.select_option("#session-picker", quiet.id)
        await expect(panel.locator(".empty")).to_have_text("no background task")
        await expect(panel.locator(".task")).to_have_count(0)
        await busy.stop_task(started.task_id)  # ended while another session is shown

        await page.select_option("#session-picker", busy.id)
        await expect(panel.locator(".task")).to_have_attribute("data-status", "stopped")
        await expect(page.locator(".line.task-ended")).to_have_count(1)
