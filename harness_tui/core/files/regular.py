"""Reading a path that may name anything: only regular files, and only so much of them.

A path the model gives, the user types or a project folder holds can name a FIFO
(opening it waits for a writer, reading it waits for data: forever, in a worker thread
that Ctrl+C cannot reach), a character device (``/dev/zero`` never ends), a socket, a
block device, or a ``/proc`` file whose size says 0. A cloned repository can hold such
paths as symlinks (``CLAUDE.md -> /dev/zero``). Every read of a path goes through here:

- ``stat`` first, so a device is never even opened (opening some has effects: a tape
  rewinds, a watchdog arms);
- ``open`` with ``O_NONBLOCK`` (a FIFO swapped in after the ``stat`` opens at once
  instead of waiting for a writer) and ``O_NOCTTY``;
- ``fstat`` of the open descriptor decides, so what is read is what was checked:
  anything but a regular file is ``NotRegularFile``; a folder is ``IsADirectoryError``,
  as ``open`` has it, so callers keep their behaviour for folders;
- at most ``limit + 1`` bytes are read, whatever the size claims; more is
  ``FileTooLarge``.

Both errors are ``OSError`` subclasses whose ``strerror`` reads well after "cannot read
it", so callers that catch ``OSError`` report them without change.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

#: Flags for every open here (``getattr``: some do not exist on Windows).
_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_NOCTTY", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)
_CHUNK = 1 << 20


class NotRegularFile(OSError):
    """The path is a FIFO, device or socket (or reads like one): never read."""

    def __init__(self, path: Path | str, what: str) -> None:
        reason = f"{what}, not a regular file; harness-tui reads only regular files"
        super().__init__(errno.EINVAL, reason, str(path))
        self.path = str(path)
        self.what = what

    def __str__(self) -> str:
        return f"{self.path} is {self.strerror}"


class FileTooLarge(OSError):
    """The file holds more than the caller's limit."""

    def __init__(self, path: Path | str, limit: int, size: int | None) -> None:
        self.path, self.limit, self.size = str(path), limit, size
        reason = f"larger than {describe_size(limit)}, the most harness-tui reads of such a file"
        super().__init__(errno.EFBIG, reason, str(path))

    def __str__(self) -> str:
        return f"{self.path} is {self.strerror}"


class NotUtf8(ValueError):
    """A file that is not UTF-8 text; the message names the line of the first bad byte."""


def describe_size(size: int) -> str:
    """``1 MiB``, ``256 KiB``, ``700 bytes``."""
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale and size % scale == 0:
            return f"{size // scale} {unit}"
    return f"{size:,} bytes"


def kind_of(mode: int) -> str | None:
    """What a file of ``mode`` is, in words; None for a regular file or a folder."""
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"


def special_kind(path: Path | str) -> str | None:
    """What ``path`` is when it is neither a regular file nor a folder (``kind_of``);
    None for those, and for a path that cannot be looked at."""
    try:
        return kind_of(os.stat(path).st_mode)
    except (OSError, ValueError):
        return None


def _refuse(path: Path | str, mode: int) -> None:
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
    what = kind_of(mode)
    if what is not None:
        raise NotRegularFile(path, what)


def open_regular(path: Path | str) -> BinaryIO:
    """Open a regular file for reading (binary, buffered); raises ``NotRegularFile``,
    ``IsADirectoryError`` or another ``OSError``. Never blocks on a special file."""
    # stat before open: a device or socket is refused without being opened at all.
    _refuse(path, os.stat(path).st_mode)
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # a socket, or a FIFO with no reader, swapped in
            raise NotRegularFile(path, "a socket or a special file") from None
        raise
    try:
        _refuse(path, os.fstat(fd).st_mode)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_open(handle: BinaryIO, path: Path | str, limit: int | None) -> bytes:
    """The rest of an open file, at most ``limit`` bytes (None: all of a regular file);
    ``FileTooLarge`` when there is more."""
    wanted = None if limit is None else limit + 1
    chunks: list[bytes] = []
    got = 0
    try:
        while wanted is None or got < wanted:
            chunk = handle.read(_CHUNK if wanted is None else min(_CHUNK, wanted - got))
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
    except BlockingIOError:
        # A regular file by its type that reads like a stream (``/proc/kmsg``).
        raise NotRegularFile(path, "a file that would wait for data") from None
    data = b"".join(chunks)
    if limit is not None and len(data) > limit:
        size = os.fstat(handle.fileno()).st_size
        raise FileTooLarge(path, limit, size if size > limit else None)
    return data


def read_regular(path: Path | str, limit: int | None) -> bytes:
    """The bytes of a regular file, at most ``limit`` (None: all of it); raises
    ``NotRegularFile``, ``FileTooLarge``, ``IsADirectoryError`` or another ``OSError``."""
    with open_regular(path) as handle:
        if limit is not None:
            size = os.fstat(handle.fileno()).st_size
            if size > limit:  # said before reading (a /proc file says 0 and is read)
                raise FileTooLarge(path, limit, size)
        return read_open(handle, path, limit)


def read_regular_text(path: Path | str, limit: int | None) -> str:
    """A regular file's text: UTF-8, a leading BOM dropped; raises what ``read_regular``
    raises, or ``NotUtf8``."""
    data = read_regular(path, limit)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise NotUtf8(
            f"line {line}: not UTF-8 text (a bad byte at offset {exc.start:,}); save it as UTF-8"
        ) from None


def describe_read_error(exc: OSError | NotUtf8) -> str:
    """Why a file was not read, to follow ``<path>: `` in a message."""
    if isinstance(exc, NotRegularFile):
        return f"it is {exc.strerror}"
    if isinstance(exc, FileTooLarge):
        return f"it is {exc.strerror}; make it smaller"
    if isinstance(exc, NotUtf8):
        return str(exc)
    if isinstance(exc, IsADirectoryError):
        return "it is a folder, not a file"
    return f"cannot read it ({exc.strerror or exc})"


def files_named(words: Iterable[str], folders: Iterable[Path]) -> list[Path]:
    """The existing files among ``words`` (relative ones from any of ``folders``), real
    paths: what a hook command or an MCP server's command line runs or reads."""
    folders = list(folders)
    found = []
    for word in words:
        if not word:
            continue
        path = Path(word).expanduser()
        for folder in [Path("/")] if path.is_absolute() else folders:
            if (folder / path).is_file():
                found.append(Path(os.path.realpath(folder / path)))
    return found
