"""This terminal, joined to a background session's holder (``harness-tui attach``, Enter
in the agent view).

The terminal goes raw; what is typed goes to the session, what it draws comes here, and
a change of size follows. Ctrl+] detaches (the session goes on); the session ending
(quitting its TUI, ``close``) or another terminal attaching ends it too. The terminal's
settings and modes are put back in every case.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import socket
import sys
import termios
import tty
from typing import Literal

from harness_tui.background.wire import DETACH_KEYS, INPUT, RESET, frame, size_frame

Outcome = Literal["detached", "ended"]


class AttachError(Exception):
    """Cannot attach: no terminal here, or the session's holder is gone."""


def _size(fd: int) -> tuple[int, int]:
    size = os.get_terminal_size(fd)
    return size.lines, size.columns


def attach(socket_path: str, stdin_fd: int | None = None, stdout_fd: int | None = None) -> Outcome:
    """Until Ctrl+] (``detached``) or the session's end (``ended``)."""
    stdin_fd = sys.stdin.fileno() if stdin_fd is None else stdin_fd
    stdout_fd = sys.stdout.fileno() if stdout_fd is None else stdout_fd
    if not os.isatty(stdin_fd):
        raise AttachError("attaching needs a terminal (stdin is not one)")
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.connect(socket_path)
    except OSError:
        conn.close()
        raise AttachError("the background session has ended (its holder is gone)") from None
    saved = termios.tcgetattr(stdin_fd)
    wake_r, wake_w = os.pipe()
    previous = signal.signal(signal.SIGWINCH, lambda *_: os.write(wake_w, b"w"))
    try:
        tty.setraw(stdin_fd)
        conn.sendall(size_frame(*_size(stdin_fd)))
        return _relay(conn, stdin_fd, stdout_fd, wake_r)
    finally:
        signal.signal(signal.SIGWINCH, previous)
        termios.tcsetattr(stdin_fd, termios.TCSADRAIN, saved)
        with contextlib.suppress(OSError):
            os.write(stdout_fd, RESET)
        for fd in (wake_r, wake_w):
            os.close(fd)
        conn.close()


def _relay(conn: socket.socket, stdin_fd: int, stdout_fd: int, wake_fd: int) -> Outcome:
    selector = selectors.DefaultSelector()
    selector.register(stdin_fd, selectors.EVENT_READ, "keys")
    selector.register(conn, selectors.EVENT_READ, "screen")
    selector.register(wake_fd, selectors.EVENT_READ, "size")
    with selector:
        while True:
            for key, _ in selector.select():
                if key.data == "keys":
                    keys = os.read(stdin_fd, 4096)
                    if not keys:
                        return "detached"
                    if any(detach in keys for detach in DETACH_KEYS):
                        return "detached"
                    conn.sendall(frame(INPUT, keys))
                elif key.data == "screen":
                    try:
                        data = conn.recv(65536)
                    except OSError:
                        data = b""
                    if not data:
                        return "ended"
                    _write_all(stdout_fd, data)
                else:
                    os.read(wake_fd, 64)
                    conn.sendall(size_frame(*_size(stdin_fd)))


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
