"""Connecting the fake APIs to the harness the way a user would: environment variables
(``ANTHROPIC_BASE_URL``, ``OPENAI_API_KEY``, …) and the ``models`` section of the user's
settings file (the test conftest points the config folder at a temporary one)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, TypeVar

import pytest
import yaml

from harness_tui.core.config import paths
from harness_tui.core.messages import Message
from tests.fakes.anthropic_server import FakeAnthropic
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.responses_server import FakeResponses
from tests.fakes.script import ScriptedAPI

API = TypeVar("API", bound=ScriptedAPI)

#: Retries in tests: quick, still bounded.
FAST_RETRY = {"max_attempts": 3, "base_delay": 0.01, "max_delay": 0.05}


def write_models_settings(models: dict[str, Any]) -> None:
    """Write the ``models`` section of the user settings file (replacing it)."""
    path = paths.config_dir() / "settings.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({"models": models}))


def fast(read_timeout: float = 5.0, **fields: Any) -> dict[str, Any]:
    return {"retry": FAST_RETRY, "read_timeout": read_timeout, **fields}


@contextmanager
def _serving(api: API, monkeypatch: pytest.MonkeyPatch, prefix: str, path: str) -> Iterator[API]:
    """Start ``api`` and point the SDK's standard variables (``<PREFIX>_BASE_URL``,
    ``<PREFIX>_API_KEY``) at it."""
    with api:
        monkeypatch.setenv(f"{prefix}_BASE_URL", api.url + path)
        monkeypatch.setenv(f"{prefix}_API_KEY", api.api_key)
        yield api


def anthropic_fake(
    monkeypatch: pytest.MonkeyPatch, **options: Any
) -> AbstractContextManager[FakeAnthropic]:
    return _serving(FakeAnthropic(**options), monkeypatch, "ANTHROPIC", "")


def openai_fake(
    monkeypatch: pytest.MonkeyPatch, **options: Any
) -> AbstractContextManager[FakeOpenAI]:
    return _serving(FakeOpenAI(**options), monkeypatch, "OPENAI", "/v1")


def responses_fake(
    monkeypatch: pytest.MonkeyPatch, **options: Any
) -> AbstractContextManager[FakeResponses]:
    """OpenAI's Responses API, at the same variables as chat completions."""
    return _serving(FakeResponses(**options), monkeypatch, "OPENAI", "/v1")


def neutral_history(messages: list[Message]) -> list[tuple[Any, ...]]:
    """The history with what legitimately differs between providers taken out (ids,
    signatures, model names): tool calls are numbered in order of appearance, and each
    result must point at a call made before it."""
    numbers: dict[str, int] = {}
    out: list[tuple[Any, ...]] = []
    for message in messages:
        if message.role == "user":
            out.append(("user", message.text, message.source))
        elif message.role == "tool":
            assert message.tool_call_id in numbers, "a result for a call never made"
            out.append(("tool", numbers[message.tool_call_id], message.tool_name, message.content))
        else:
            blocks: list[tuple[Any, ...]] = []
            for block in message.content:
                if block.type == "tool_call":
                    numbers[block.id] = len(numbers)
                    blocks.append(("tool_call", numbers[block.id], block.name, block.input))
                else:
                    blocks.append((block.type, block.text))
            out.append(("assistant", tuple(blocks), message.stop_reason, message.usage))
    return out
