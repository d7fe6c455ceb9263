"""The harness core: events, the event store, sessions, the agent loop, providers and
tools. It imports no UI or web framework and no provider SDK until one is used."""

from __future__ import annotations

from harness_tui.core.errors import ConfigError, HarnessError, SessionBusyError, UnknownModelError
from harness_tui.core.event_store import EventStore, Subscriber
from harness_tui.core.events import AgentEvent, Event, StreamGap, parse_event
from harness_tui.core.session import Session, SessionManager

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
