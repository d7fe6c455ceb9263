"""Every async test runs on asyncio through anyio's pytest plugin."""

from __future__ import annotations

import inspect

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if isinstance(item, pytest.Function) and inspect.iscoroutinefunction(item.obj):
            item.add_marker(pytest.mark.anyio)


@pytest.fixture(autouse=True)
def _no_demo_pace(monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo model streams without pauses in tests."""
    monkeypatch.setenv("HARNESS_DEMO_PACE", "0")
