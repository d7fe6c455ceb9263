"""The ``harness-tui acp`` process: an ACP agent on stdin and stdout until the client
closes stdin (or a signal comes), then every run is cancelled and every session closed.

stdout carries the protocol and nothing else; warnings go to stderr (which editors
show in their logs).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
from acp import run_agent

from harness_tui.acp.agent import HarnessAgent
from harness_tui.core.processes import exit_guard
from harness_tui.core.session.session import SessionManager


async def serve_acp(options: Callable[[Path], dict[str, Any]], streams: Any = None) -> int:
    """Serve one client; ``options(cwd)`` gives each new session's keyword arguments.
    ``streams``: (writer, reader) for the protocol instead of stdio (tests)."""
    async with SessionManager() as manager, anyio.create_task_group() as group:
        agent = HarnessAgent(manager, options, group)
        group.start_soon(_stop_on_signal, group.cancel_scope)
        writer, reader = streams if streams is not None else (None, None)
        await run_agent(agent, writer, reader, observers=[agent.observe])
        group.cancel_scope.cancel()
    return 0


async def _stop_on_signal(scope: anyio.CancelScope) -> None:
    async with exit_guard.signal_receiver() as signals:
        async for _ in signals:
            scope.cancel()
            return
