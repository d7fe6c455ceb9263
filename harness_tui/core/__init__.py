"""The harness core: events, the event store, sessions, the agent loop, providers and
tools. It imports no UI or web framework and no provider SDK until one is used.

The names below load on first use, so importing one submodule (``core.events`` for a
widget) does not import all of them: start-up of the TUI depends on it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "ConfigError": "errors",
    "HarnessError": "errors",
    "SessionBusyError": "errors",
    "UnknownModelError": "errors",
    "EventStore": "event_store",
    "Subscriber": "event_store",
    "AgentEvent": "events",
    "Event": "events",
    "StreamGap": "events",
    "parse_event": "events",
    "Session": "session.session",
    "SessionManager": "session.session",
}

__all__ = [
    "AgentEvent",
    "ConfigError",
    "Event",
    "EventStore",
    "HarnessError",
    "Session",
    "SessionBusyError",
    "SessionManager",
    "StreamGap",
    "Subscriber",
    "UnknownModelError",
    "parse_event",
]

if TYPE_CHECKING:
    from harness_tui.core.errors import (
        ConfigError,
        HarnessError,
        SessionBusyError,
        UnknownModelError,
    )
    from harness_tui.core.event_store import EventStore, Subscriber
    from harness_tui.core.events import AgentEvent, Event, StreamGap, parse_event
    from harness_tui.core.session.session import Session, SessionManager


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'harness_tui.core' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"harness_tui.core.{module}"), name)
    globals()[name] = value
    return value
