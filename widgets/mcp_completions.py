"""What the input box completes from MCP servers: ``@server:uri`` mentions of resources
and templates, and the arguments of prompt commands (``/mcp__server__prompt``).

Resources and templates are known already (listed at connect); argument values are
the server's (``completion/complete``). Those are asked in the background, a moment
after typing pauses, one question at a time: typing never waits for a server. The
answers are kept per question, and the menu is brought up to date when one arrives.
A server that fails answers nothing (``core.mcp.completions`` logs it).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING

from textual.timer import Timer
from textual.widget import Widget

if TYPE_CHECKING:
    from harness_tui.core.mcp.features.completions import CompletionQuery, Completions

log = logging.getLogger(__name__)

#: Answers kept (the newest); a question asked again after that goes to the server.
KEPT = 64


class McpCompletions:
    """The MCP part of the input box's completions; ``source`` gives the session's
    ``McpManager.completions`` (None before the session is up); ``owner`` runs the timer
    and the worker; ``arrived`` is called when an answer comes (to refresh the menu)."""

    #: Seconds of quiet typing before the server is asked.
    delay_s = 0.15

    def __init__(
        self,
        owner: Widget,
        source: Callable[[], Completions | None],
        arrived: Callable[[], None],
    ) -> None:
        self.owner = owner
        self.source = source
        self.arrived = arrived
        self.answers: OrderedDict[CompletionQuery, list[str]] = OrderedDict()
        self._timer: Timer | None = None
        self._wanted: CompletionQuery | None = None

    def mentions(self, word: str, limit: int) -> list[tuple[str, str]]:
        """For an ``@`` word: values of the template argument being typed, then the
        resources and templates it may start."""
        servers = self.source()
        if servers is None:
            return []
        options, query = servers.mention_options(word, limit)
        return self._values(query) + options

    def prompt_arguments(self, line: str) -> list[tuple[str, str]] | None:
        """For ``/mcp__server__prompt ...``: values of the argument being typed."""
        servers = self.source()
        query = servers.prompt_query(line) if servers is not None else None
        return self._values(query) if query is not None else None

    def server_names(self) -> list[str]:
        servers = self.source()
        return list(servers.connections) if servers is not None else []

    def _values(self, query: CompletionQuery | None) -> list[tuple[str, str]]:
        servers = self.source()
        if query is None or servers is None or not servers.offered_by(query.server):
            return []
        values = self.answers.get(query)
        if values is None:
            self._ask_soon(query)
            return []
        about = f"{query.argument} · {query.server}"
        return [(query.insertion(v), f"{query.insertion(v).strip()}  {about}") for v in values]

    def _ask_soon(self, query: CompletionQuery) -> None:
        if query == self._wanted:
            return
        self._wanted = query
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.owner.set_timer(self.delay_s, self._ask)

    def _ask(self) -> None:
        query = self._wanted
        if query is not None:
            self.owner.run_worker(
                self._fetch(query), group="mcp-completion", exclusive=True, exit_on_error=False
            )

    async def _fetch(self, query: CompletionQuery) -> None:
        servers = self.source()
        if servers is None:
            return
        try:
            values = await servers.complete(query)
        except Exception:  # a server's failure is answered with []; this is a bug
            log.exception("asking %s for completions failed", query.server)
            values = []
        self.answers[query] = values
        while len(self.answers) > KEPT:
            self.answers.popitem(last=False)
        if self._wanted == query:  # still what is typed: show it
            self._wanted = None
            self.arrived()
