"""``@path`` in a prompt: the file's text (or a folder's listing) goes with the message.

As in Claude Code, typing ``@src/app.py`` (the input completes it) hands the model the
file itself, not just its name. A mention attaches only what the agent could read
without asking: a text file of at most ``MAX_FILE_BYTES`` inside the workspace that no
``Read`` deny rule covers. Anything else is left as the text the user typed, with a
notice saying why. An image file (``@shot.png``) goes with the message as an image
(``image_mentions``; the session reads it). A word that names no existing file
(``@everyone``, an e-mail address) is left alone silently; ``@server:uri`` mentions
are the MCP client's.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from harness_tui.core.files.images import IMAGE_SUFFIXES
from harness_tui.core.files.regular import FileTooLarge, describe_read_error, read_regular
from harness_tui.core.tools.base import input_path
from harness_tui.core.tools.files import MAX_READ_BYTES, is_binary

#: ``@path`` or ``@"path with spaces"``, not inside a word (``a@b.c`` is an address).
MENTION = re.compile(r'(?<![\w@/])@(?:"([^"\n]+)"|([^\s"]+))')
#: Larger files are not attached whole (the agent can read them in parts), as ``Read``
#: does not read them whole.
MAX_FILE_BYTES = MAX_READ_BYTES
#: All attachments of one prompt together.
MAX_TOTAL_CHARS = 200_000
#: Entries of a mentioned folder listed.
MAX_FOLDER_ENTRIES = 200
_TRAILING = ".,;:!?)]}'"


@dataclass
class Mentions:
    """What a prompt's ``@path`` mentions gave: ``(mention, contents)`` pairs to attach,
    and notices about the ones that could not be attached."""

    attached: list[tuple[str, str]] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)

    #: What each attachment is, for the user ("2 lines", "14 entries").
    sizes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line for the user: what went with the prompt."""
        parts = [f"{m} ({size})" for (m, _), size in zip(self.attached, self.sizes, strict=True)]
        return "Attached " + ", ".join(parts) + "."


def attach_files(
    text: str,
    cwd: Path,
    workspace: Iterable[Path],
    read_denied: Callable[[Path], bool] | None,
) -> Mentions:
    """Read the files and folders ``text`` mentions (blocking: run it in a thread)."""
    found = Mentions()
    roots = [Path(os.path.realpath(r)) for r in workspace]
    seen: set[Path] = set()
    total = 0
    for match in MENTION.finditer(text):
        raw = match.group(1) or match.group(2).rstrip(_TRAILING)
        if not raw or _looks_like_mcp(raw) or raw.lower().endswith(IMAGE_SUFFIXES):
            continue  # an image goes with the message as an image (image_mentions)
        try:
            path = input_path(cwd, raw)
        except ValueError:
            continue
        if not path.exists() or path in seen:
            continue
        seen.add(path)
        mention = f"@{raw}"
        real = Path(os.path.realpath(path))
        if not any(real == root or real.is_relative_to(root) for root in roots):
            found.notices.append(
                f"{mention} not attached: it is outside the workspace (ask the agent to read "
                "it; that asks for permission)"
            )
            continue
        if read_denied is not None and (read_denied(path) or read_denied(real)):
            found.notices.append(f"{mention} not attached: a Read deny rule covers it")
            continue
        contents, problem, size = _folder(real) if real.is_dir() else _file(real)
        if problem is not None:
            found.notices.append(f"{mention} not attached: {problem}")
            continue
        if total + len(contents) > MAX_TOTAL_CHARS:
            found.notices.append(
                f"{mention} not attached: the prompt's attachments would pass "
                f"{MAX_TOTAL_CHARS:,} characters (ask the agent to read it)"
            )
            continue
        total += len(contents)
        found.attached.append((mention, contents))
        found.sizes.append(size)
    return found


def image_mentions(text: str) -> list[str]:
    """The paths of image files ``text`` mentions (``@shot.png``), each once."""
    found: list[str] = []
    for match in MENTION.finditer(text):
        raw = match.group(1) or match.group(2).rstrip(_TRAILING)
        if raw.lower().endswith(IMAGE_SUFFIXES) and raw not in found:
            found.append(raw)
    return found


def _looks_like_mcp(raw: str) -> bool:
    """``server:scheme://…`` is an MCP resource, not a path."""
    head, colon, rest = raw.partition(":")
    return bool(colon) and "/" not in head and bool(rest)


def _file(path: Path) -> tuple[str, str | None, str]:
    """The text, or why not; and its size in words for the user."""
    try:
        data = read_regular(path, MAX_FILE_BYTES)
    except FileTooLarge as exc:
        size = f"{exc.size:,} bytes is" if exc.size else "it is"
        return (
            "",
            f"{size} more than {MAX_FILE_BYTES // 1024} KiB "
            "(ask the agent to read the part you mean)",
            "",
        )
    except OSError as exc:  # a FIFO or device is refused, never read
        return "", describe_read_error(exc), ""
    if is_binary(data):
        return "", "it is a binary file (ask the agent to look at it with a tool)", ""
    text = data.decode("utf-8", errors="replace")
    return text, None, _count(len(text.splitlines()), "line")


def _folder(path: Path) -> tuple[str, str | None, str]:
    try:
        entries = sorted(os.scandir(path), key=lambda e: e.name)
    except OSError as exc:
        return "", f"cannot list it ({exc.strerror or exc})", ""
    names = [e.name + ("/" if e.is_dir(follow_symlinks=False) else "") for e in entries]
    if not names:
        return "(an empty folder)", None, "empty"
    listing = "\n".join(names[:MAX_FOLDER_ENTRIES])
    if len(names) > MAX_FOLDER_ENTRIES:
        listing += f"\n… and {len(names) - MAX_FOLDER_ENTRIES} more entries"
    return f"Folder listing:\n{listing}", None, _count(len(names), "entry", "entries")


def _count(number: int, one: str, many: str | None = None) -> str:
    return f"{number:,} {one if number == 1 else many or one + 's'}"
