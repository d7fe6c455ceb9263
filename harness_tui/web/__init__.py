"""The web sidecar (optional extra ``[web]``): a FastAPI app that mirrors sessions'
event streams to a browser page over WebSockets and takes commands back.

It imports only the core. Start it with ``harness-tui serve`` (many sessions) or, from
code sharing the TUI's event loop, ``serve_session``::

    address = await task_group.start(serve_session, session)
    show(address.url)  # http://127.0.0.1:PORT/?token=...
"""

from __future__ import annotations

from harness_tui.web.server import (
    DEFAULT_HOST,
    WebAddress,
    WebServer,
    WebServerError,
    serve_manager,
    serve_session,
)

__all__ = [
    "DEFAULT_HOST",
    "WebAddress",
    "WebServer",
    "WebServerError",
    "serve_manager",
    "serve_session",
]
