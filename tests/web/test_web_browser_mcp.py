"""The page answers what MCP servers ask, in a real headless Chromium: an elicitation
form and a sampling approval from the demo MCP server (``tests/mcp_servers.py``), and a
form with required and enumerated fields, a refused answer and URL mode."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import anyio
from mcp.types import ElicitRequestFormParams, ElicitRequestURLParams
from playwright.async_api import Locator, expect

from harness_tui.core.providers.offline.scripted import Text, ToolCall, reply
from tests.core.mcp.test_mcp_stdio import server_status
from tests.helpers import wait_for
from tests.mcp_servers import demo_server, serve_http
from tests.web.test_web_browser import browser_page
from tests.web.test_web_mcp import with_demo_server
from tests.web_support import scripted, web_server

FORM = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "title": "Name", "default": "Ada", "description": "Your name"},
        "age": {"type": "integer", "title": "Age", "default": 36, "minimum": 0},
        "plan": {
            "type": "string",
            "title": "Plan",
            "enum": ["free", "pro", "team"],
            "enumNames": ["Free", "Pro", "Team"],
            "default": "pro",
        },
        "subscribe": {"type": "boolean", "title": "Subscribe", "default": True},
        "topics": {
            "type": "array",
            "title": "Topics",
            "items": {"type": "string", "enum": ["news", "tips", "offers"]},
            "default": ["tips"],
        },
        "score": {"type": "number", "title": "Score"},
    },
    "required": ["name", "plan"],
}


async def test_the_page_answers_an_mcp_servers_elicitation_and_sampling(tmp_path: Path) -> None:
    replies = (
        reply(ToolCall("mcp__demo__who", {}, id="call_who")),
        reply(ToolCall("mcp__demo__haiku", {"topic": "rain"}, id="call_haiku")),
        reply(Text("Done.")),
    )
    sampling = [reply(Text("Soft rain on the roof"))]
    async with (
        serve_http(demo_server()) as url,
        web_server(with_demo_server(tmp_path, url, *replies, sampling=sampling)) as srv,
        browser_page(tmp_path) as page,
    ):
        session, token = await srv.new_session()
        await server_status(session, "demo", "ready")
        await page.goto(f"{srv.address.base_url}/?token={token}")
        await expect(page.locator("#conn")).to_have_attribute("data-state", "live")
        await page.fill("#prompt", "who am I, and a haiku")
        await page.press("#prompt", "Enter")

        # The server's form, built from its schema, with its defaults filled in.
        form = page.locator(".question.elicitation")
        await expect(form.locator(".head")).to_have_text("MCP server demo asks:")
        await expect(form.locator(".asks")).to_have_text("Who are you?")
        await expect(form.locator('[name="name"]')).to_have_value("Ada")
        await expect(form.locator('[name="age"]')).to_have_value("36")
        await expect(form.locator('[name="admin"]')).not_to_be_checked()
        await expect(form.locator('.field[data-field="name"] .about')).to_have_text("Your name")
        await page.screenshot(path=str(tmp_path / "elicitation.png"), full_page=True)

        await form.locator('[name="name"]').fill("Grace")
        await form.locator('[name="age"]').fill("4.5")
        await form.locator('button[data-answer="accept"]').click()
        await expect(form.locator(".error")).to_have_text("Age: '4.5' is not a whole number")
        await form.locator('[name="age"]').fill("85")
        await form.locator('[name="age"]').press("Enter")  # Enter accepts, as the button does
        await expect(form).to_have_attribute("data-resolved", "accept")
        await expect(form.locator(".answer")).to_have_text("→ answered")
        await expect(form.locator("button")).to_have_count(3)
        await expect(form.locator('[name="name"]')).to_be_disabled()
        who = page.locator('.tool[data-id="call_who"]')
        await expect(who).to_have_attribute("data-status", "completed")
        await expect(who.locator(".result")).to_have_text("hello Grace, 85")

        # The sampling request: who asks, which model, and what it would be sent.
        ask = page.locator(".question.sampling")
        await expect(ask.locator(".head")).to_have_text(
            "MCP server demo asks scripted for a completion"
        )
        await expect(ask.locator(".about")).to_have_text("up to 64 tokens, billed to your key")
        said = ask.locator(".message .text")
        await expect(ask.locator(".message .role")).to_have_text(["system", "user"])
        await expect(said).to_have_text(["You are a poet.", "haiku: rain"])
        await page.screenshot(path=str(tmp_path / "sampling.png"), full_page=True)
        await ask.locator('button[data-answer="approve"]').click()
        await expect(ask).to_have_attribute("data-resolved", "approved")
        await expect(ask.locator(".answer .response")).to_have_text("Soft rain on the roof")
        haiku = page.locator('.tool[data-id="call_haiku"]')
        await expect(haiku.locator(".result")).to_have_text("scripted wrote: Soft rain on the roof")
        await expect(page.locator(".assistant .md").last).to_have_text("Done.")
        await expect(page.locator("#run-state")).to_have_text("idle")

        # A reload shows the questions as answered, not as open.
        await page.reload()
        await expect(page.locator(".question[data-resolved]")).to_have_count(2)
        await expect(page.locator(".question .buttons:visible")).to_have_count(0)
    resolved = [e for e in session.store.replay(0) if e.type == "ELICITATION_RESOLVED"]
    assert [(e.action, e.content) for e in resolved] == [
        ("accept", {"name": "Grace", "age": 85, "admin": False})
    ]
    print(f"screenshots: {tmp_path / 'elicitation.png'} {tmp_path / 'sampling.png'}")


async def test_the_page_marks_required_fields_shows_refusals_and_opens_url_questions(
    tmp_path: Path,
) -> None:
    async with web_server(scripted()) as srv, browser_page(tmp_path) as page:
        session, token = await srv.new_session()
        questions = session.mcp.questions
        answers: dict[str, Any] = {}

        async def ask(key: str, params: Any) -> None:
            # The SDK client's elicitation callback, as a server's request reaches it.
            answers[key] = await session.mcp.requests.elicit("signup", params)

        async def card_of(message: str) -> Locator:
            asked = await wait_for(
                session.store,
                lambda e: e.type == "ELICITATION_REQUESTED" and e.message == message,
            )
            return page.locator(f'.question[data-request="{asked.request_id}"]')

        def form_params(message: str, schema: dict[str, Any]) -> Any:
            return ElicitRequestFormParams(message=message, requested_schema=schema)

        await page.goto(f"{srv.address.base_url}/?token={token}")
        await expect(page.locator("#conn")).to_have_attribute("data-state", "live")
        async with anyio.create_task_group() as group:
            group.start_soon(lambda: ask("eli_form", form_params("A few details:", FORM)))
            form = await card_of("A few details:")
            name = form.locator('.field[data-field="name"]')
            await expect(name.locator(".caption")).to_have_text("Name *")
            await expect(form.locator('.field[data-field="age"] .caption')).to_have_text("Age")
            plan = form.locator('select[name="plan"]')
            await expect(plan).to_have_value("Pro")  # the option's text: its value is kept aside
            options = await plan.locator("option").all_inner_texts()
            assert options == ["choose one", "Free", "Pro", "Team"]
            await expect(form.locator('[name="subscribe"]')).to_be_checked()

            # Problems the page sees, and one only the server's schema sees.
            await name.locator("input").fill("")
            await form.locator('button[data-answer="accept"]').click()
            await expect(form.locator(".error")).to_have_text("Name is required")
            await name.locator("input").fill("Grace")
            await form.locator('[name="age"]').fill("-1")
            await form.locator('button[data-answer="accept"]').click()
            await expect(form.locator(".error")).to_have_text(
                re.compile(r"^the answer does not fit the form: age: -1 is less than the minimum")
            )
            assert len(questions.pending_ids) == 1  # still open: it can be corrected
            await form.locator('[name="age"]').fill("")
            await plan.select_option("Team")
            topics = form.locator('select[name="topics"]')
            await expect(topics).to_have_attribute("multiple", "")
            await topics.select_option(["news", "tips"])
            await form.locator('[name="score"]').fill("2.5")
            await form.locator('[name="subscribe"]').uncheck()
            await form.locator('button[data-answer="accept"]').click()
            await expect(form).to_have_attribute("data-resolved", "accept")

            # URL mode: the page to open, as a link; accepting opens it.
            target = f"{srv.address.base_url}/nothing-here"
            group.start_soon(
                lambda: ask(
                    "eli_url",
                    ElicitRequestURLParams(
                        message="Sign in to continue.", url=target, elicitation_id="e1"
                    ),
                )
            )
            card = await card_of("Sign in to continue.")
            link = card.locator(".url a")
            await expect(link).to_have_attribute("href", target)
            await expect(link).to_have_attribute("rel", "noopener noreferrer")
            async with page.context.expect_page() as opened:
                await card.locator('button[data-answer="accept"]').click()
            assert (await opened.value).url == target
            await expect(card).to_have_attribute("data-resolved", "accept")

            # Esc in a form cancels that question, not the run.
            group.start_soon(lambda: ask("eli_esc", form_params("Anything?", FORM)))
            card = await card_of("Anything?")
            await card.locator('[name="name"]').press("Escape")
            await expect(card).to_have_attribute("data-resolved", "cancel")
            await expect(card.locator(".answer")).to_have_text("→ cancelled")
    assert answers["eli_form"].content == {
        "name": "Grace",
        "plan": "team",
        "subscribe": False,
        "topics": ["news", "tips"],
        "score": 2.5,
    }
    assert (answers["eli_url"].action, answers["eli_url"].content) == ("accept", None)
    assert answers["eli_esc"].action == "cancel"
