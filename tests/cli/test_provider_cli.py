"""``harness-tui -p`` against the fake APIs, as a user runs it: a real process, the
SDKs' standard base-URL variables, a dummy key; and the offline demo with no key."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from harness_tui.core.providers.catalogue import load_catalogue
from tests.fakes.anthropic_server import FakeAnthropic
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.script import Call, HTTPError, Say, Think, reply


def clean_env(**extra: str) -> dict[str, str]:
    """The environment with no provider key or base URL, plus ``extra``."""
    drop = {"HARNESS_MODEL"}
    for provider in load_catalogue().providers.values():
        drop |= {provider.key_env or "", provider.base_url_env or ""}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    return {**env, "HARNESS_DEMO_PACE": "0", **extra}


def harness(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness_tui", *args],
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def test_anthropic_any_model_end_to_end_through_anthropic_base_url(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello\n")
    with FakeAnthropic(api_key="dummy-key") as api:
        api.script(
            reply(Say("Let me look."), Call("Glob", {"pattern": "*.txt"})),
            reply(Say("There is one text file: notes.txt.")),
        )
        env = clean_env(ANTHROPIC_BASE_URL=api.url, ANTHROPIC_API_KEY="dummy-key")
        result = harness(
            "-p", "what is here?", "--model", "anthropic/claude-any", cwd=tmp_path, env=env
        )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "There is one text file: notes.txt."
    assert [r["model"] for r in api.requests] == ["claude-any", "claude-any"]
    assert api.rejections == []
    assert "dummy-key" not in result.stdout + result.stderr


def test_openai_any_model_end_to_end_through_openai_base_url(tmp_path: Path) -> None:
    with FakeOpenAI(api_key="dummy-key") as api:
        api.script(reply(Think("easy"), Say("Hi from the fake.")))
        env = clean_env(OPENAI_BASE_URL=api.base_url, OPENAI_API_KEY="dummy-key")
        result = harness(
            "-p",
            "hi",
            "--model",
            "openai/any-model",
            "--output-format",
            "stream-json",
            cwd=tmp_path,
            env=env,
        )
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    kinds = [e["type"] for e in events]
    assert "THINKING_DELTA" in kinds and kinds[-1] == "RUN_COMPLETED"
    assert events[-1]["result"] == "Hi from the fake."
    usage = next(e for e in events if e["type"] == "USAGE_UPDATED")
    assert usage["usage"]["output_tokens"] == 5 and usage["cost_usd"] is None  # unlisted model
    assert api.requests[0]["model"] == "any-model"


def test_with_a_key_the_default_is_that_providers_model(tmp_path: Path) -> None:
    with FakeAnthropic(api_key="dummy-key") as api:
        env = clean_env(ANTHROPIC_BASE_URL=api.url, ANTHROPIC_API_KEY="dummy-key")
        result = harness("-p", "hi", "--output-format", "json", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert api.requests[0]["model"] == "claude-sonnet-5-5"
    final = json.loads(result.stdout)
    assert final["result"] == "ok" and final["cost_usd"] > 0


def test_with_no_key_it_runs_the_demo_and_says_how_to_add_one(tmp_path: Path) -> None:
    result = harness("-p", "hi", cwd=tmp_path, env=clean_env())
    assert result.returncode == 0, result.stderr
    assert "What I found" in result.stdout
    assert "ANTHROPIC_API_KEY" in result.stderr and "demo" in result.stderr


def test_a_wrong_key_fails_with_the_variable_named_and_no_key_shown(tmp_path: Path) -> None:
    with FakeAnthropic(api_key="right-key") as api:
        env = clean_env(ANTHROPIC_BASE_URL=api.url, ANTHROPIC_API_KEY="sk-wrong-key-42")
        result = harness("-p", "hi", "--model", "haiku", cwd=tmp_path, env=env)
    assert result.returncode == 1
    assert "ANTHROPIC_API_KEY" in result.stderr and "401" in result.stderr
    assert "sk-wrong-key-42" not in result.stderr + result.stdout


def test_retries_are_shown_and_a_missing_key_is_a_clear_error(tmp_path: Path) -> None:
    settings = tmp_path / "config" / "settings.yaml"
    settings.parent.mkdir()
    settings.write_text("models:\n  anthropic:\n    retry: {base_delay: 0.01}\n")
    with FakeAnthropic(api_key="k") as api:
        api.script(HTTPError(529), reply(Say("Recovered.")))
        env = clean_env(
            ANTHROPIC_BASE_URL=api.url,
            ANTHROPIC_API_KEY="k",
            HARNESS_CONFIG_DIR=str(settings.parent),
        )
        result = harness("-p", "hi", "--model", "haiku", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert "retrying (overloaded, HTTP 529), attempt 2 of 4" in result.stderr
    assert result.stdout.strip() == "Recovered."
    missing = harness(
        "-p", "hi", "--model", "deepseek/deepseek-chat", cwd=tmp_path, env=clean_env()
    )
    assert missing.returncode == 2
    assert "DEEPSEEK_API_KEY" in missing.stderr and "Traceback" not in missing.stderr
