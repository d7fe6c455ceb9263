"""Who may read what: one random token per server start, and tokens scoped to one session.

The server token (32 random bytes) opens everything. A session token is the HMAC of the
session id under the server token, so it opens that session and nothing else, needs no
storage, and dies with the server. Every comparison is constant-time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

TOKEN_BYTES = 32


@dataclass(frozen=True, slots=True)
class Grant:
    """What a valid token opens: every session (``session_id`` None) or one."""

    session_id: str | None = None

    @property
    def everything(self) -> bool:
        return self.session_id is None

    def allows(self, session_id: str) -> bool:
        return self.session_id is None or self.session_id == session_id


class AccessKeys:
    """The server token and the session tokens derived from it."""

    def __init__(self, server_token: str | None = None) -> None:
        self.server_token = server_token or _encode(secrets.token_bytes(TOKEN_BYTES))
        self._key = self.server_token.encode()

    def session_token(self, session_id: str) -> str:
        mac = hmac.new(self._key, b"session:" + session_id.encode(), hashlib.sha256)
        return _encode(mac.digest())

    def check(self, token: str | None, session_ids: Iterable[str]) -> Grant | None:
        """The grant of ``token``, or None when it opens nothing. ``session_ids`` are the
        sessions a session token may belong to."""
        if not token:
            return None
        try:
            given = token.encode("ascii")
        except UnicodeEncodeError:
            return None
        if hmac.compare_digest(given, self._key):
            return Grant()
        for session_id in session_ids:
            if hmac.compare_digest(given, self.session_token(session_id).encode()):
                return Grant(session_id)
        return None


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
