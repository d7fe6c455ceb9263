"""The sessions a web server serves: many (``harness-tui serve``) or the TUI's one.

The app reaches sessions only through a ``SessionDirectory``; it never owns them. A
``ManagedSessions`` creates sessions in a ``SessionManager`` (whose task group owns them
and their runs); a ``SingleSession`` mirrors one session owned by someone else.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from harness_tui.core.errors import HarnessError
from harness_tui.core.session import Session, SessionManager


class CannotCreate(HarnessError):
    """This server mirrors one session and cannot start others."""


class SessionDirectory(Protocol):
    """What the web app needs to find, list and (maybe) create sessions."""

    @property
    def can_create(self) -> bool: ...

    def find(self, session_id: str) -> Session | None: ...

    def list(self) -> list[Session]: ...

    async def create(self, model: str | None, mode: str | None) -> Session: ...

    async def close(self, session_id: str) -> None: ...


#: Keyword arguments for each new ``Session`` (model, mode, tools, cwd, ...).
SessionOptions = Callable[[], dict[str, Any]]


class ManagedSessions:
    """Sessions created on request in a ``SessionManager`` that the caller keeps open."""

    can_create = True

    def __init__(self, manager: SessionManager, options: SessionOptions | None = None) -> None:
        self.manager = manager
        self._options = options or dict

    def find(self, session_id: str) -> Session | None:
        try:
            return self.manager.get(session_id)
        except HarnessError:
            return None

    def list(self) -> list[Session]:
        return self.manager.list()

    async def create(self, model: str | None, mode: str | None) -> Session:
        """A new session; ``model`` and ``mode`` override the server's defaults.
        Raises ``HarnessError`` for an unknown model or mode."""
        options = self._options()
        if model:
            options["model"] = model
        if mode:
            options["mode"] = mode
        options.setdefault("ask_policy", "ask")  # the page answers permission requests
        return await self.manager.create(**options)

    async def close(self, session_id: str) -> None:
        await self.manager.close(session_id)


class SingleSession:
    """One live session owned elsewhere (the TUI's), mirrored as is."""

    can_create = False

    def __init__(self, session: Session) -> None:
        self.session = session

    def find(self, session_id: str) -> Session | None:
        return self.session if session_id == self.session.id else None

    def list(self) -> list[Session]:
        return [self.session]

    async def create(self, model: str | None, mode: str | None) -> Session:
        raise CannotCreate(
            "this server mirrors one TUI session and cannot start others",
            hint="start new sessions in the TUI, or run `harness-tui serve`",
        )

    async def close(self, session_id: str) -> None:
        raise CannotCreate(
            "this server mirrors the TUI's session; close it in the TUI",
        )
