"""``GET /api/health``: this process is up; what it serves (a durable service: more)."""

from __future__ import annotations

import os
from typing import Any

from fastapi import FastAPI


def add_health_route(app: FastAPI, sessions: Any) -> None:
    @app.get("/api/health")
    async def health() -> dict[str, Any]:
        """This process: up, how many sessions it sees; a durable service adds its
        executor, its database (without a password) and the runs executing here."""
        report = getattr(sessions, "health", None)
        extra = report() if report is not None else {"sessions": len(sessions.list())}
        return {"ok": True, "pid": os.getpid(), **extra}
