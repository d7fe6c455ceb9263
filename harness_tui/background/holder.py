"""The holder of a background session: ``python -m harness_tui.background.holder --socket
PATH [--rows R --columns C --log FILE] -- COMMAND...``.

Started detached by ``launch`` (its own session, stdin from /dev/null, output to a log),
it runs COMMAND (the TUI) in a pseudo-terminal and serves PATH (mode 0600): one attached
terminal at a time gets the output and types into it (``wire``); a second one takes the
place of the first. With nobody attached the output is read and dropped (the TUI never
blocks on a full terminal), and the terminal modes it set are remembered for the next
one to attach. The holder ends when COMMAND does, with its exit status; SIGTERM is passed
on to it, SIGHUP ignored.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import os
import pty
import signal
import struct
import sys
import termios
from pathlib import Path

from harness_tui.background.wire import INPUT, SIZE, Modes, read_frames
from harness_tui.core.processes.tree import DETACHED_ENV

#: A slow attached terminal may fall this far behind before it is let go.
MAX_PENDING_OUTPUT = 8 * 1024 * 1024


def set_size(fd: int, rows: int, columns: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))


class Holder:
    def __init__(self, fd: int, child: int, path: Path, size: tuple[int, int]) -> None:
        self.fd, self.child, self.path = fd, child, path
        self.size = size
        self.modes = Modes()
        self.writer: asyncio.StreamWriter | None = None
        self.ended = asyncio.Event()

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        server = await asyncio.start_unix_server(self._attached, path=str(self.path))
        os.chmod(self.path, 0o600)
        loop.add_reader(self.fd, self._output)
        loop.add_signal_handler(signal.SIGTERM, self._terminate)
        loop.add_signal_handler(signal.SIGHUP, lambda: None)
        try:
            await self.ended.wait()
        finally:
            loop.remove_reader(self.fd)
            server.close()
            with contextlib.suppress(OSError):
                self.path.unlink()
            if self.writer is not None:
                self.writer.close()
        _, status = await asyncio.to_thread(os.waitpid, self.child, 0)
        return os.waitstatus_to_exitcode(status)

    def _terminate(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.child, signal.SIGTERM)

    def _output(self) -> None:
        try:
            data = os.read(self.fd, 65536)
        except OSError:  # EIO: the session's side of the terminal is closed
            data = b""
        if not data:
            self.ended.set()
            return
        self.modes.feed(data)
        writer = self.writer
        if writer is None:
            return
        if writer.transport.get_write_buffer_size() > MAX_PENDING_OUTPUT:
            writer.close()  # it stopped reading: it may attach again
            self.writer = None
            return
        writer.write(data)

    async def _attached(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.writer is not None:
            self.writer.close()  # attached elsewhere: the newer terminal wins
        self.writer = writer
        writer.write(self.modes.replay())
        buffer, repainted = bytearray(), False
        try:
            while data := await reader.read(65536):
                buffer += data
                for kind, payload in read_frames(buffer):
                    if kind == INPUT:
                        os.write(self.fd, payload)
                    elif kind == SIZE and len(payload) == 4:
                        rows, columns = struct.unpack(">HH", payload)
                        await self._resize(rows, columns, repaint=not repainted)
                        repainted = True
        except (ValueError, OSError, ConnectionError):
            pass
        finally:
            if self.writer is writer:
                self.writer = None
            writer.close()

    async def _resize(self, rows: int, columns: int, repaint: bool) -> None:
        """The attached terminal's size; on attaching, a size that differs first, so the
        TUI draws its whole screen again (a terminal that just attached shows nothing)."""
        if repaint:
            set_size(self.fd, rows, max(columns - 1, 1))
            self._tell_size()
            await asyncio.sleep(0.05)  # let the TUI see one size, then the other
        set_size(self.fd, rows, columns)
        self._tell_size()
        self.size = (rows, columns)

    def _tell_size(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(os.getpgid(self.child), signal.SIGWINCH)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="harness_tui.background.holder")
    parser.add_argument("--socket", required=True)
    parser.add_argument("--rows", type=int, default=40)
    parser.add_argument("--columns", type=int, default=120)
    parser.add_argument("--log", help="its own log (removed when the session ends well)")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("a command to run is needed after --")
    os.environ.pop(DETACHED_ENV, None)  # for the holder alone, not what it runs
    child, fd = pty.fork()
    if child == 0:  # the session's process, its terminal the pseudo-terminal
        try:
            os.execvp(command[0], command)
        finally:
            os._exit(127)
    set_size(fd, args.rows, args.columns)
    holder = Holder(fd, child, Path(args.socket), (args.rows, args.columns))
    code = asyncio.run(holder.run())
    if code == 0 and args.log:
        with contextlib.suppress(OSError):
            os.unlink(args.log)
    return code


if __name__ == "__main__":
    sys.exit(main())
