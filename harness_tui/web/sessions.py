"""The sessions a web server serves: many (``harness-tui serve``) or the TUI's one.

The app reaches sessions only through a ``SessionDirectory``; it never owns them. A
``ManagedSessions`` creates sessions in a ``SessionManager`` (whose task group owns them
and their runs); a ``SingleSession`` mirrors one session owned by someone else.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from harness_tui.core.errors import HarnessError
from harness_tui.core.session.session import Session, SessionManager

#: Live sessions ``harness-tui serve`` holds at most unless ``--max-sessions`` says
#: otherwise: each may run an agent, its tools and their processes at once.
DEFAULT_MAX_SESSIONS = 8


class CannotCreate(HarnessError):
    """This server mirrors one session and cannot start others."""


class TooManySessions(HarnessError):
    """The server holds as many live sessions as it may."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"this server already holds {limit} sessions, its limit",
            hint="close one (DELETE /api/session/ID) to free its slot, or restart the "
            "server with a higher --max-sessions N",
        )
        self.limit = limit


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

    def __init__(
        self,
        manager: SessionManager,
        options: SessionOptions | None = None,
        *,
        max_sessions: int = DEFAULT_MAX_SESSIONS,
    ) -> None:
        self.manager = manager
        self._options = options or dict
        self.max_sessions = max_sessions
        #: Sessions being created: counted against the limit before they are open.
        self._starting = 0

    def find(self, session_id: str) -> Session | None:
        try:
            return self.manager.get(session_id)
        except HarnessError:
            return None

    def list(self) -> list[Session]:
        return self.manager.list()

    async def create(self, model: str | None, mode: str | None) -> Session:
        """A new session; ``model`` and ``mode`` override the server's defaults.
        Raises ``TooManySessions`` at the limit (a closed session frees its slot), and
        ``HarnessError`` for an unknown model or mode."""
        if len(self.manager.list()) + self._starting >= self.max_sessions:
            raise TooManySessions(self.max_sessions)
        self._starting += 1
        try:
            options = self._options()
            if model:
                options["model"] = model
            if mode:
                options["mode"] = mode
            options.setdefault("ask_policy", "ask")  # the page answers permission requests
            return await self.manager.create(**options, front_end="serve")
        finally:
            self._starting -= 1

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
