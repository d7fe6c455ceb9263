"""Hostile files for the adversarial tests: special files made for real, and a way to
prove that a call returns promptly even when the code under test would block forever."""

from __future__ import annotations

import os
import socket
import stat
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

#: Time a read of a hostile file may take (each one is instant when refused).
PROMPT_S = 10.0


def finishes_within(call: Callable[[], T], seconds: float = PROMPT_S) -> T:
    """``call()``'s result, or an ``AssertionError`` when it has not returned within
    ``seconds``. It runs in a daemon thread: a call blocked on a FIFO cannot be
    interrupted, and must not hang the test run (``release`` unblocks it afterwards)."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = call()
        except BaseException as exc:  # handed to the test below
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise AssertionError(f"still running after {seconds} s: blocked or swamped")
    if "error" in box:
        raise box["error"]
    return box["value"]


def release(path: Path) -> None:
    """Let a reader blocked on the FIFO at ``path`` go (it sees the end of the data)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
    except OSError:  # no reader waits, or not a FIFO (any more)
        return
    os.close(fd)


def block_device() -> Path | None:
    """A block device of this machine, if /dev shows one."""
    try:
        entries = sorted(os.scandir("/dev"), key=lambda e: e.name)
    except OSError:
        return None
    for entry in entries:
        try:
            if stat.S_ISBLK(entry.stat(follow_symlinks=False).st_mode):
                return Path(entry.path)
        except OSError:
            continue
    return None


class SpecialFiles:
    """Makes special files at given paths and undoes them at the end of a test."""

    KINDS = [
        "fifo",
        "fifo with a writer",
        "symlink to a fifo",
        "/dev/zero",
        "/dev/urandom",
        "/dev/null",
        "socket",
        *(["block device"] if block_device() is not None else []),
    ]

    def __init__(self) -> None:
        self.fifos: list[Path] = []
        self.fds: list[int] = []
        self.sockets: list[socket.socket] = []

    def make(self, kind: str, path: Path) -> Path:
        """A special file of ``kind`` at ``path`` (folders made as needed)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_symlink() or path.exists():
            path.unlink()
        if kind in ("fifo", "fifo with a writer"):
            os.mkfifo(path)
            self.fifos.append(path)
            if kind == "fifo with a writer":
                # O_RDWR opens a FIFO without waiting; the data then sits in the pipe.
                fd = os.open(path, os.O_RDWR | os.O_NONBLOCK)
                os.write(fd, b'{"secret": "in the pipe"}\n')
                self.fds.append(fd)
        elif kind == "symlink to a fifo":
            target = path.with_name(path.name + ".fifo")
            os.mkfifo(target)
            self.fifos.append(target)
            path.symlink_to(target)
        elif kind.startswith("/dev/"):
            path.symlink_to(kind)
        elif kind == "block device":
            device = block_device()
            assert device is not None
            path.symlink_to(device)
        elif kind == "socket":
            # A socket's path must be short (108 bytes): bind in a short folder, move it.
            short = Path(tempfile.mkdtemp(prefix="s", dir="/tmp"))
            server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            server.bind(str(short / "s"))
            server.listen(1)
            self.sockets.append(server)
            os.replace(short / "s", path)
            short.rmdir()
        else:
            raise ValueError(kind)
        return path

    def close(self) -> None:
        for fifo in self.fifos:
            release(fifo)
        for fd in self.fds:
            os.close(fd)
        for server in self.sockets:
            server.close()
