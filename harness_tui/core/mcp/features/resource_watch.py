"""Resources attached to the conversation, kept up to date.

When an ``@server:uri`` mention is attached and the server offers
``resources.subscribe``, the resource is subscribed to. On
``notifications/resources/updated`` it is read again; a notice says so, and the new
contents wait in ``take_updates`` for the next prompt, which carries them as one more
attachment ("changed since it was attached"). They join the next prompt rather than
the middle of a run so that the history never changes under a running turn, and a
resource that changes ten times before the user writes again costs one copy.
Subscriptions end when the session closes (and are made again when a server restarts).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Coroutine
from collections.abc import Set as AbstractSet
from typing import TYPE_CHECKING, Any

import anyio
import anyio.abc

from harness_tui.core.events import Notice

if TYPE_CHECKING:
    from harness_tui.core.mcp.connection import ServerConnection

log = logging.getLogger(__name__)

Emit = Callable[..., Awaitable[Any]]
#: How long closing the session waits for the servers to take the unsubscriptions.
UNSUBSCRIBE_WAIT_S = 2.0


class ResourceWatch:
    """The subscribed resources of one session's servers, and their fresh contents."""

    def __init__(self, emit_session: Emit, read: Callable[[str, str], Awaitable[str]]) -> None:
        self.emit_session = emit_session
        #: Reads a resource as text: ``read(server, uri)`` (raises ``HarnessError``).
        self.read = read
        #: server -> the URIs subscribed there.
        self.subscribed: dict[str, set[str]] = {}
        #: (server, uri) -> contents read after a change, for the next prompt.
        self.updates: dict[tuple[str, str], str] = {}
        self.group: anyio.abc.TaskGroup | None = None

    def attached(self, connection: ServerConnection, uri: str) -> None:
        """A resource of ``connection`` was attached: subscribe to it (in the
        background; once per resource)."""
        uris = self.subscribed.setdefault(connection.name, set())
        if uri in uris or not connection.supports("resources.subscribe"):
            return
        uris.add(uri)
        self.spawn(self._subscribe, connection, uri)

    def reconnected(self, connection: ServerConnection) -> None:
        """The server is up again (a new connection): subscribe anew."""
        uris = self.subscribed.get(connection.name)
        if not uris or not connection.supports("resources.subscribe"):
            return
        for uri in sorted(uris):
            self.spawn(self._subscribe, connection, uri)

    def spawn(self, function: Callable[..., Coroutine[Any, Any, None]], *args: Any) -> None:
        """In the session's task group; nothing once it has closed."""
        if self.group is None:
            return
        try:
            self.group.start_soon(function, *args)
        except RuntimeError:  # the group is closing with the session
            log.debug("not started (the session is closing): %s%r", function.__name__, args)

    async def _subscribe(self, connection: ServerConnection, uri: str) -> None:
        try:
            await connection.subscribe_resource(uri)
        except Exception as exc:
            log.info("subscribing to %s on %s failed: %s", uri, connection.name, exc)

    def changed(self, server: str, uri: str) -> None:
        """``notifications/resources/updated``: read it again (in a task)."""
        self.spawn(self._refresh, server, uri)

    async def _refresh(self, server: str, uri: str) -> None:
        try:
            contents = await self.read(server, uri)
        except Exception as exc:
            log.info("reading %s from %s after a change failed: %s", uri, server, exc)
            return
        self.updates[(server, uri)] = contents
        await self.emit_session(
            Notice,
            message=f"resource {uri} on server {server} changed; the next message carries "
            "its new contents",
        )

    def take_updates(self, mentioned: AbstractSet[str] = frozenset()) -> list[tuple[str, str]]:
        """The contents that changed since the last prompt, as attachments; those of
        ``mentioned`` (``@server:uri``, read afresh anyway) are dropped."""
        updates, self.updates = self.updates, {}
        return [
            (f"@{server}:{uri} (changed since it was attached)", contents)
            for (server, uri), contents in updates.items()
            if f"@{server}:{uri}" not in mentioned
        ]

    async def aclose(self, connections: dict[str, ServerConnection]) -> None:
        """Unsubscribe from everything (bounded: a server that does not answer is
        closed anyway)."""
        with anyio.move_on_after(UNSUBSCRIBE_WAIT_S):
            for server, uris in self.subscribed.items():
                connection = connections.get(server)
                if connection is None or not connection.supports("resources.subscribe"):
                    continue
                for uri in sorted(uris):
                    try:
                        await connection.subscribe_resource(uri, subscribe=False)
                    except Exception as exc:
                        log.info("unsubscribing from %s on %s failed: %s", uri, server, exc)
        self.subscribed.clear()
