"""Each open session's control socket: another process of the same user (the agent view,
the web mirror's agents page) answers the session's permission question, stops its run,
sends it a message or asks it to close, whatever front end holds it.

The socket is ``<runtime dir>/<session id>.sock`` (``runtime_dir``: a folder only this
user may enter), mode 0600, and a connection from another user is refused (its peer
credentials are read). The live record names it (``LiveRecord.control``).

The protocol is one JSON object per line each way. A request is ``{"op": ..., ...}``; the
answer is ``{"ok": true, ...}`` or ``{"ok": false, "error": "what went wrong"}``:

- ``status``: the session's live record (``record``).
- ``answer``: ``request_id`` (the permission question's), ``decision`` (``allow_once``,
  ``allow_session``, ``allow_always`` or ``deny``), ``reason`` (optional, for a deny).
  The request id ``trust`` answers the folder's trust question (``allow_always``
  remembers the yes). MCP servers' questions are answered where the session runs.
- ``cancel``: stop the active run (``was_running`` says whether there was one).
- ``send``: ``text``, run after the active run (or now, when idle); ``steer``: ``text``,
  delivered at the next turn boundary of the active run.
- ``close``: ask the front end to close the session (the TUI quits, ``serve`` and ACP
  close it, ``-p`` ends as after Ctrl+C):
  the session's ``remote_close`` when the front end set one, else ``request_close``.

``request`` is the client: blocking, for a CLI, a worker thread or a web handler.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import struct
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

import anyio
from anyio.abc import SocketAttribute, SocketStream, TaskStatus
from anyio.streams.buffered import BufferedByteReceiveStream

from harness_tui.core.errors import HarnessError

#: Overrides where the sockets go (tests; a system without /tmp).
RUNTIME_ENV = "HARNESS_RUNTIME_DIR"
#: A Unix socket's path must fit in 108 bytes; a longer folder falls back to /tmp.
MAX_DIR_LENGTH = 80
#: Largest request line.
MAX_REQUEST_BYTES = 256 * 1024
#: The ops a request may name.
OPS = ("status", "answer", "cancel", "send", "steer", "close")


class ControlError(Exception):
    """A request that could not be carried out; the message says why."""


def runtime_dir() -> Path:
    """The folder of the control sockets: ``$HARNESS_RUNTIME_DIR``, else
    ``$XDG_RUNTIME_DIR/harness-tui``, else ``/tmp/harness-tui-<uid>``; made with mode
    0700, and refused when another user owns it or may enter it."""
    fallback = Path(tempfile.gettempdir()) / f"harness-tui-{os.getuid()}"
    base = os.environ.get(RUNTIME_ENV) or ""
    if not base and os.environ.get("XDG_RUNTIME_DIR"):
        base = str(Path(os.environ["XDG_RUNTIME_DIR"]) / "harness-tui")
    folder = Path(base) if base and len(base) <= MAX_DIR_LENGTH else fallback
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = folder.stat()
    if info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise OSError(f"{folder} is not this user's own folder (mode 0700); remove it")
    return folder


def socket_path(session_id: str) -> Path:
    return runtime_dir() / f"{session_id}.sock"


def _peer_uid(stream: SocketStream) -> int | None:
    raw = stream.extra(SocketAttribute.raw_socket, None)
    if raw is None or not hasattr(socket, "SO_PEERCRED"):
        return None
    data = raw.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return int(struct.unpack("3i", data)[1])


class ControlServer:
    """Serves one session's control socket while the session is open."""

    def __init__(self, session: Any, record: Any) -> None:
        self.session = session
        self.record = record
        self.path: Path | None = None

    async def serve(self, *, task_status: TaskStatus[str] = anyio.TASK_STATUS_IGNORED) -> None:
        """Listen until cancelled; reports the socket's path ("" when it cannot be made:
        the session goes on without remote control)."""
        try:
            path = socket_path(self.session.id)
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            listener = await anyio.create_unix_listener(path, mode=0o600)
        except OSError:
            task_status.started("")
            return
        self.path = path
        try:
            async with listener:
                task_status.started(str(path))
                await listener.serve(self._connection)
        finally:
            with contextlib.suppress(OSError):
                path.unlink()

    async def _connection(self, stream: SocketStream) -> None:
        async with stream:
            if _peer_uid(stream) not in (None, os.getuid()):
                return
            reader = BufferedByteReceiveStream(stream)
            while True:
                try:
                    line = await reader.receive_until(b"\n", MAX_REQUEST_BYTES)
                except (anyio.EndOfStream, anyio.IncompleteRead, anyio.BrokenResourceError):
                    return
                except anyio.DelimiterNotFound:
                    await self._reply(stream, {"ok": False, "error": "request line too long"})
                    return
                await self._reply(stream, await self._answer(line))

    @staticmethod
    async def _reply(stream: SocketStream, body: dict[str, Any]) -> None:
        with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError):
            await stream.send(json.dumps(body).encode() + b"\n")

    async def _answer(self, line: bytes) -> dict[str, Any]:
        try:
            request = json.loads(line)
            if not isinstance(request, dict):
                raise ValueError("not an object")
        except ValueError:
            return {"ok": False, "error": "a request is one JSON object per line"}
        op = request.get("op")
        if op not in OPS:
            return {"ok": False, "error": f"unknown op {op!r}; use one of {', '.join(OPS)}"}
        try:
            return {"ok": True, **await self._carry_out(op, request)}
        except (HarnessError, ControlError) as exc:
            return {"ok": False, "error": getattr(exc, "message", None) or str(exc)}

    async def _carry_out(self, op: str, request: dict[str, Any]) -> dict[str, Any]:
        session = self.session
        if op == "status":
            return {"record": asdict(self.record)}
        if op == "answer":
            request_id, decision = request.get("request_id"), request.get("decision")
            if not isinstance(request_id, str) or not isinstance(decision, str):
                raise ControlError("answer needs request_id and decision (strings)")
            if request_id == "trust":  # the folder's question: yes, and remember it?
                allowed = decision != "deny"
                await session.resolve_trust(allowed, remember=decision == "allow_always")
                return {}
            reason = request.get("reason")
            await session.resolve_permission(
                request_id, decision, reason if isinstance(reason, str) else None
            )
            return {}
        if op == "cancel":
            was_running = session.running
            if was_running:
                await session.cancel()
            return {"was_running": was_running}
        if op in ("send", "steer"):
            text = request.get("text")
            if not isinstance(text, str) or not text.strip():
                raise ControlError(f"{op} needs a non-empty text")
            queued = await (session.follow_up if op == "send" else session.steer)(text)
            return {"queued": queued is not None}
        (getattr(session, "remote_close", None) or session.request_close)()
        return {}


def request(path: str, op: str, timeout: float = 10.0, **fields: Any) -> dict[str, Any]:
    """Send one request to the control socket at ``path`` and return the answer's
    fields. Raises ``ControlError`` naming what went wrong (the session is gone, the
    question was answered already, ...)."""
    if not path:
        raise ControlError("this session cannot be controlled from here (it has no socket)")
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(path)
            sock.sendall(json.dumps({"op": op, **fields}).encode() + b"\n")
            data = b""
            while not data.endswith(b"\n"):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
    except (FileNotFoundError, ConnectionRefusedError):
        raise ControlError("the session has closed") from None
    except TimeoutError:
        raise ControlError(f"the session did not answer within {timeout:g} s") from None
    except OSError as exc:
        raise ControlError(f"cannot reach the session: {exc.strerror or exc}") from None
    try:
        answer = json.loads(data)
    except ValueError:
        raise ControlError("the session closed the connection without an answer") from None
    if not answer.get("ok"):
        raise ControlError(str(answer.get("error") or "refused"))
    answer.pop("ok", None)
    return dict(answer)
