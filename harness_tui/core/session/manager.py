"""Many sessions at once (the web server, tests).

Each session lives in a task of the manager's own, so it is entered and left in the same
task; closing the manager closes every session it holds. A session asks to be closed
(``Hostable.request_close``) and tells when it is. ``session.SessionManager`` is this
for ``Session``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, Protocol, Self, TypeVar

import anyio

from harness_tui.core.errors import HarnessError


class Hosted(Protocol):
    """What the manager needs of a session."""

    id: str

    async def __aenter__(self) -> Any: ...
    async def __aexit__(self, *exc_info: Any) -> bool | None: ...
    def request_close(self) -> None: ...
    async def wait_close_requested(self) -> None: ...
    async def wait_closed(self) -> None: ...


class Hostable:
    """The close handshake between a session and the task hosting it."""

    def __init__(self) -> None:
        self._close_requested, self._closed_event = anyio.Event(), anyio.Event()

    def request_close(self) -> None:
        """Ask the task hosting this session (see ``SessionManager``) to close it."""
        self._close_requested.set()

    async def wait_close_requested(self) -> None:
        await self._close_requested.wait()

    async def wait_closed(self) -> None:
        """Until the session is closed (``mark_closed``)."""
        await self._closed_event.wait()

    def mark_closed(self) -> None:
        self._closed_event.set()


S = TypeVar("S", bound=Hosted)


class Sessions(Generic[S]):
    """Open sessions made by ``factory`` (called with ``create``'s options)."""

    def __init__(self, factory: Callable[..., S]) -> None:
        self._factory = factory
        self._sessions: dict[str, S] = {}
        self._group: anyio.abc.TaskGroup | None = None

    async def __aenter__(self) -> Self:
        self._group = anyio.create_task_group()
        await self._group.__aenter__()
        return self

    async def __aexit__(self, *exc_info: object) -> bool | None:
        for session in list(self._sessions.values()):
            session.request_close()
        group, self._group = self._group, None
        assert group is not None
        return await group.__aexit__(*exc_info)  # type: ignore[arg-type]

    async def create(self, **options: Any) -> S:
        """A new, open session; ``options`` are the session's keyword arguments."""
        if self._group is None:
            raise HarnessError(
                "the session manager is not open",
                hint="use `async with SessionManager() as manager:`",
            )
        front_end = options.pop("front_end", None)
        session = self._factory(**options)
        if front_end is not None:
            session.front_end = front_end  # type: ignore[attr-defined]
        return await self.open(session)

    async def open(self, session: S) -> S:
        """Open and hold a session made elsewhere (``Session.resume``)."""
        if self._group is None:
            raise HarnessError(
                "the session manager is not open",
                hint="use `async with SessionManager() as manager:`",
            )
        await self._group.start(self._host, session)
        return session

    async def _host(self, session: S, *, task_status: Any) -> None:
        async with session:
            self._sessions[session.id] = session
            task_status.started()
            await session.wait_close_requested()
        self._sessions.pop(session.id, None)

    def get(self, session_id: str) -> S:
        try:
            return self._sessions[session_id]
        except KeyError:
            raise HarnessError(f"no open session {session_id!r}") from None

    def list(self) -> list[S]:
        return list(self._sessions.values())

    async def close(self, session_id: str) -> None:
        session = self.get(session_id)
        session.request_close()
        await session.wait_closed()
