"""``harness-tui check``: one streamed tool round trip against the configured provider,
reported step by step; exit 0 only when the round trip was valid. Driven against the
strict loopback APIs through the real SDKs."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest

from harness_tui.check import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, run_check
from tests.fakes.google_server import gemini_fake
from tests.fakes.script import Call, HTTPError, Say, Think, Usage, reply
from tests.fakes.wiring import (
    anthropic_fake,
    fast,
    openai_fake,
    responses_fake,
    write_models_settings,
)

ROUND_TRIP = (
    reply(Think("The user wants the tool called."), Call("check_echo", {"word": "zz"})),
    reply(Say("echo-zz"), usage=Usage(input=300, output=4, cache_read=100)),
)


async def check(model: str, *, as_json: bool = False) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = await run_check(model, out, err, as_json=as_json, word="zz")
    return code, out.getvalue(), err.getvalue()


#: gpt-5 over chat completions (it speaks the Responses API by default).
GPT5_CHAT = {"openai/gpt-5": {"protocol": "openai_compat"}}


@pytest.mark.parametrize(
    ("fake", "model", "settings"),
    [
        (anthropic_fake, "anthropic/claude-sonnet-4-6", {}),
        (openai_fake, "openai/gpt-5", GPT5_CHAT),
        (responses_fake, "openai/gpt-5", {}),
        (gemini_fake, "gemini/gemini-3.8-flash", {}),
    ],
    ids=["anthropic", "openai_compat", "openai_responses", "google"],
)
async def test_a_working_provider_passes_every_step(
    monkeypatch: pytest.MonkeyPatch, fake, model: str, settings: dict
) -> None:
    with fake(monkeypatch) as api:
        write_models_settings({model.split("/")[0]: fast(), **settings})
        api.script(*ROUND_TRIP)
        code, out, _ = await check(model, as_json=True)
    assert api.rejections == []
    report = json.loads(out)
    assert code == EXIT_OK and report["passed"], out
    steps = {s["name"]: s for s in report["steps"]}
    for name in ("reached", "streaming", "tool call", "tool round trip", "final answer", "usage"):
        assert steps[name]["ok"] is True, steps[name]
    assert steps["thinking"]["ok"] is True
    assert steps["cost"]["ok"] is True and steps["cost"]["detail"].startswith("$")
    # The second request carried the tool result back.
    assert len(api.requests) == 2


async def test_a_refused_key_fails_with_the_providers_words_and_what_to_do(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with openai_fake(monkeypatch) as api:
        write_models_settings({"openai": fast(), **GPT5_CHAT})
        api.script(HTTPError(401, "invalid_request_error", "Incorrect API key provided: sk-t***y."))
        code, out, _ = await check("openai/gpt-5")
    assert code == EXIT_FAILED
    assert "FAIL reached" in out and "provider said:" in out and "OPENAI_API_KEY" in out
    assert "does NOT work" in out


async def test_a_model_that_calls_no_tool_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    with anthropic_fake(monkeypatch) as api:
        write_models_settings({"anthropic": fast()})
        api.script(reply(Say("I would rather not.")))
        code, out, _ = await check("anthropic/claude-sonnet-4-6")
    assert code == EXIT_FAILED
    assert "FAIL tool call" in out and "called no tool" in out


async def test_a_round_trip_the_provider_refuses_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    with openai_fake(monkeypatch) as api:
        write_models_settings({"openai": fast(), **GPT5_CHAT})
        api.script(ROUND_TRIP[0], HTTPError(400, "invalid_request_error", "Missing field"))
        code, out, _ = await check("openai/gpt-5")
    assert code == EXIT_FAILED
    assert "ok   tool call" in out and "FAIL tool round trip" in out and "Missing field" in out


def test_the_command_line_refuses_an_unknown_model_with_exit_2() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "harness_tui", "check", "nope/x"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == EXIT_BAD_INPUT
    assert "unknown provider 'nope'" in done.stderr and "Traceback" not in done.stderr
