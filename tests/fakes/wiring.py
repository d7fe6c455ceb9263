"""Connecting the fake APIs to the harness the way a user would: environment variables
(``ANTHROPIC_BASE_URL``, ``OPENAI_API_KEY``, …) and the ``models`` section of the user's
settings file (the test conftest points the config folder at a temporary one)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import yaml

from harness_tui.core import paths
from harness_tui.core.messages import Message
from tests.fakes.anthropic_server import FakeAnthropic
from tests.fakes.openai_server import FakeOpenAI

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
def anthropic_fake(monkeypatch: pytest.MonkeyPatch, **options: Any) -> Iterator[FakeAnthropic]:
    with FakeAnthropic(**options) as api:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", api.url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", api.api_key)
        yield api  # type: ignore[misc]


@contextmanager
def openai_fake(monkeypatch: pytest.MonkeyPatch, **options: Any) -> Iterator[FakeOpenAI]:
    with FakeOpenAI(**options) as api:
        monkeypatch.setenv("OPENAI_BASE_URL", api.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", api.api_key)
        yield api  # type: ignore[misc]


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
