"""``harness-tui serve``: the web server alone, with as many sessions as browsers ask for.

It prints the URL (token included) on stdout and runs until Ctrl+C or SIGTERM, then
cancels every run and closes every session before it exits.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from functools import partial
from typing import Any, TextIO

import anyio

from harness_tui.core.processes import exit_guard
from harness_tui.core.providers.models import resolve_model
from harness_tui.core.session.session import SessionManager
from harness_tui.web.server import GRACEFUL_STOP_S, WebAddress, serve_manager
from harness_tui.web.sessions import DEFAULT_MAX_SESSIONS


def run_serve(
    *,
    host: str,
    port: int,
    model: str,
    mode: str,
    notices: Sequence[str] = (),
    max_sessions: int = DEFAULT_MAX_SESSIONS,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Serve until interrupted, with at most ``max_sessions`` live sessions; returns the
    exit code. Raises ``HarnessError`` (an unknown model, an address in use) before
    anything is served."""
    resolve_model(model)  # a bad name fails now, not in the first browser

    def options() -> dict[str, Any]:
        # Resolved per session: a scripted model's replies are not shared between them.
        return {"model": model, "mode": mode, "notices": list(notices)}

    return anyio.run(
        _serve, host, port, options, out or sys.stdout, err or sys.stderr, max_sessions
    )


async def _serve(
    host: str, port: int, options: Any, out: TextIO, err: TextIO, max_sessions: int
) -> int:
    # Signals are caught from before the URL is shown: whoever reads it may stop us at once.
    # A second one exits at once; uvicorn gets its graceful stop (see exit_guard).
    deadline = GRACEFUL_STOP_S + exit_guard.SIGNAL_DEADLINE_S
    async with exit_guard.signal_receiver(deadline_s=deadline) as signals:
        async with SessionManager() as manager, anyio.create_task_group() as group:
            start = partial(
                serve_manager,
                manager,
                options=options,
                host=host,
                port=port,
                max_sessions=max_sessions,
            )
            address: WebAddress = await group.start(start)
            announce(address, host, out, err)
            await until_stopped(signals, err)
            group.cancel_scope.cancel()
    return 0


def announce(address: WebAddress, host: str, out: TextIO, err: TextIO, *more: str) -> None:
    """The URL (and ``more`` lines) on ``out``; a warning when others may reach it."""
    for line in (f"harness-tui web: {address.url}", *more):
        print(line, file=out, flush=True)
    if address.exposed:
        print(
            f"harness-tui: warning: listening on {host}, which other machines may "
            "reach; anyone with the URL can run the agent here",
            file=err,
            flush=True,
        )


async def until_stopped(signals: Any, err: TextIO) -> None:
    """Until the first signal (Ctrl+C, SIGTERM); says it stops."""
    async for _ in signals:
        break
    print("harness-tui web: stopping", file=err, flush=True)
