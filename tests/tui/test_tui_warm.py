"""The TUI gets the model ready while the user types (Pilot): the provider exists and a
connection is open before the first prompt is sent, and the model picker warms the model
under its cursor, so that the first request after a switch is not cold either."""

from __future__ import annotations

import pytest

from harness_tui.core.session.session import Session
from harness_tui.tui.app import HarnessApp
from harness_tui.widgets.screens.model_picker import ModelPicker
from tests.core.providers.test_provider_warm import Watched
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.script import Say, reply
from tests.fakes.wiring import fast, write_models_settings
from tests.tui.test_tui import type_text, until


async def test_the_provider_is_ready_before_the_first_prompt_and_the_picker_warms_its_row(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    deepseek = FakeOpenAI(extra_message_keys=frozenset({"reasoning_content"}))
    with Watched() as anthropic_api, deepseek as openai_api:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", anthropic_api.url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", anthropic_api.api_key)
        monkeypatch.setenv("DEEPSEEK_API_KEY", openai_api.api_key)
        write_models_settings({"anthropic": fast(), "deepseek": fast(base_url=openai_api.base_url)})
        anthropic_api.script(reply(Say("First answer.")))
        openai_api.script(reply(Say("Second answer.")))
        made: list[Session] = []

        def factory() -> Session:
            made.append(Session(model="anthropic/claude-sonnet-4-6", warm=True))
            return made[-1]

        app = HarnessApp(factory, frozen_clock=True)
        async with app.run_test(size=(120, 40)) as pilot:
            await until(pilot, lambda: bool(anthropic_api.arrivals))
            session = made[0]
            # Nothing typed yet: the client is built and a connection is open.
            assert session.models.provider is not None
            assert session.models.provider._client is not None  # type: ignore[attr-defined]
            assert [m for m, _, _, _ in anthropic_api.arrivals] == ["HEAD"]
            await type_text(pilot, "hello")
            await pilot.press("enter")
            await until(pilot, lambda: len(anthropic_api.arrivals) == 2 and not session.running)
            assert [(m, c) for m, _, c, _ in anthropic_api.arrivals] == [("HEAD", 1), ("POST", 1)]

            # The picker: the row under the cursor is warmed after a moment.
            await type_text(pilot, "/model")
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, ModelPicker))
            await type_text(pilot, "deepseek-flash")
            await until(pilot, lambda: bool(openai_api.arrivals))
            assert (
                session.models.spare is not None
                and session.models.spare[0] == "deepseek/deepseek-flash"
            )
            spare = session.models.spare[1]
            await pilot.press("enter")
            await until(pilot, lambda: session.model.name == "deepseek/deepseek-flash")
            assert session.models.provider is spare
            await type_text(pilot, "again")
            await pilot.press("enter")
            await until(pilot, lambda: len(openai_api.arrivals) == 2 and not session.running)
            session.request_close()  # as quitting does: the providers' connections close
            await session.wait_closed()
            assert session.models.provider is None and session.models.spare is None
        assert app.display_errors == 0
    assert [(m, c) for m, _, c, _ in openai_api.arrivals] == [("HEAD", 1), ("POST", 1)]
    assert anthropic_api.rejections == [] and openai_api.rejections == []
    results = [e.result for e in session.store.replay(0) if e.type == "RUN_COMPLETED"]
    assert results == ["First answer.", "Second answer."]
