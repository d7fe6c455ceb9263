"""``Read``, ``Write`` and ``Edit``: text files of the workspace.

Paths may be absolute or relative to the working folder. Files are read and written as
UTF-8 with their line endings kept. ``Write`` and ``Edit`` show a unified diff (also
offered as the permission dialog's preview).
"""

from __future__ import annotations

import base64
import difflib
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import anyio

from harness_tui.core.files import images
from harness_tui.core.files.regular import (
    FileTooLarge,
    NotRegularFile,
    open_regular,
    read_open,
    read_regular,
)
from harness_tui.core.messages import ImageData
from harness_tui.core.tools.base import Tool, ToolContext, ToolResult, input_path, object_schema

DEFAULT_LINE_LIMIT = 2000
MAX_LINE_CHARS = 2000
#: The most of one line Read holds (a character is at most 4 bytes in UTF-8).
_LINE_READ_BYTES = 4 * MAX_LINE_CHARS
#: Reading a larger file whole is refused; a line range of it is fine.
MAX_READ_BYTES = 256 * 1024
#: Bytes looked at to tell a binary file.
SNIFF_BYTES = 8192
#: Largest file Edit changes and Write replaces (its old text is read whole, for the diff).
MAX_EDIT_BYTES = 16 * 1024 * 1024
MAX_DIFF_CHARS = 20_000


#: The ``file_path`` input of the file tools.
FILE_PATH = {"type": "string", "description": "Absolute, or relative to cwd."}


class FileProblem(Exception):
    """A file cannot be used as asked; the message is for the model."""


def _path(ctx: ToolContext, raw: str) -> Path:
    try:
        return input_path(ctx.cwd, raw)
    except ValueError as exc:
        raise FileProblem(f"{raw!r}: {exc}") from None


def _shown(path: Path, ctx: ToolContext) -> str:
    """The path as the user thinks of it: relative inside the working folder."""
    try:
        return str(path.relative_to(ctx.cwd))
    except ValueError:
        return str(path)


def is_binary(head: bytes) -> bool:
    """A NUL byte in the first ``SNIFF_BYTES``: not text to show."""
    return b"\0" in head[:SNIFF_BYTES]


def read_text(path: Path) -> str:
    """A whole text file (a regular file of at most ``MAX_EDIT_BYTES``), or
    ``FileProblem`` saying why not."""
    try:
        data = read_regular(path, MAX_EDIT_BYTES)
    except OSError as exc:
        raise _read_problem(path, exc) from None
    if is_binary(data):
        raise FileProblem(f"{path} is a binary file ({len(data):,} bytes); it cannot be shown")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FileProblem(
            f"{path} is not UTF-8 text (bad byte at offset {exc.start}); it cannot be shown"
        ) from None


def _read_problem(path: Path, exc: OSError) -> FileProblem:
    """What the model is told when ``path`` cannot be read."""
    if isinstance(exc, FileNotFoundError):
        return FileProblem(f"{path} does not exist")
    if isinstance(exc, IsADirectoryError):
        return FileProblem(f"{path} is a folder, not a file; list it with Glob or Bash")
    if isinstance(exc, NotRegularFile | FileTooLarge):
        return FileProblem(str(exc))
    return FileProblem(f"cannot read {path}: {exc.strerror or exc}")


def write_text(path: Path, text: str) -> bool:
    """Write ``text``, creating folders; True when the file is new."""
    created = not path.exists()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
    except IsADirectoryError:
        raise FileProblem(f"{path} is a folder, not a file") from None
    except OSError as exc:
        raise FileProblem(f"cannot write {path}: {exc.strerror}") from None
    return created


def unified_diff(old: str, new: str, name: str) -> str:
    diff = "".join(
        difflib.unified_diff(
            old.splitlines(keepends=True),
            new.splitlines(keepends=True),
            fromfile=f"a/{name}",
            tofile=f"b/{name}",
        )
    )
    if len(diff) > MAX_DIFF_CHARS:
        diff = diff[:MAX_DIFF_CHARS] + f"\n[... diff cut at {MAX_DIFF_CHARS:,} characters ...]\n"
    return diff


def _count_lines(text: str) -> int:
    return len(text.splitlines())


class ReadTool(Tool):
    name = "Read"
    description = (
        "Read a text file. Returns numbered lines (like `cat -n`), by default the first "
        f"{DEFAULT_LINE_LIMIT}; use offset (first line, from 1) and limit for more. "
        "Lines longer than 2000 characters are cut. Images (PNG, JPEG, GIF, WebP) are "
        "attached for you to see. Other binary files are refused."
    )
    input_schema = object_schema(
        properties={
            "file_path": FILE_PATH,
            "offset": {"type": "integer", "minimum": 1, "description": "First line (from 1)."},
            "limit": {"type": "integer", "minimum": 1, "description": "How many lines."},
        },
        required=["file_path"],
    )
    read_only = True
    concurrency_safe = True
    path_fields = ("file_path",)

    async def run(self, input: dict[str, Any], ctx: ToolContext) -> ToolResult:
        try:
            path = _path(ctx, input["file_path"])
            return await anyio.to_thread.run_sync(self._read, path, input, ctx)
        except FileProblem as exc:
            return ToolResult.error(str(exc))

    def _read(self, path: Path, input: dict[str, Any], ctx: ToolContext) -> ToolResult:
        offset = input.get("offset", 1)
        ranged = "offset" in input or "limit" in input
        limit = input.get("limit", DEFAULT_LINE_LIMIT)
        # One open for everything below: what is checked is what is read.
        try:
            handle = open_regular(path)
        except OSError as exc:
            raise _read_problem(path, exc) from None
        with handle:
            size = os.fstat(handle.fileno()).st_size
            head = handle.read(SNIFF_BYTES)
            image = images.sniff(head[:12])
            if image is not None:
                return _read_image(handle, path, image, _shown(path, ctx))
            if size > MAX_READ_BYTES and not ranged:
                raise FileProblem(
                    f"{path} is {size:,} bytes, more than {MAX_READ_BYTES // 1024} KiB; read it "
                    "in parts with offset and limit, or search it with Grep"
                )
            if is_binary(head):
                raise FileProblem(f"{path} is a binary file; it cannot be shown")
            handle.seek(0)
            source: BinaryIO = handle
            if not ranged:  # a /proc file says 0 bytes: read it within the limit all the same
                try:
                    source = io.BytesIO(read_open(handle, path, MAX_READ_BYTES))
                except FileTooLarge:
                    raise FileProblem(
                        f"{path} is more than {MAX_READ_BYTES // 1024} KiB; read it in parts "
                        "with offset and limit, or search it with Grep"
                    ) from None
            lines, total, cut = self._lines(source, offset, limit)
        shown = _shown(path, ctx)
        if total == 0:
            return ToolResult(content=f"({shown} is empty)", display="empty file")
        if not lines:
            raise FileProblem(f"{path} has only {total} lines; offset {offset} is past its end")
        last = offset + len(lines) - 1
        body = "\n".join(f"{offset + i:>6}\t{line}" for i, line in enumerate(lines))
        notes = []
        if last < total:
            notes.append(f"lines {offset}-{last} of {total}; use offset={last + 1} to go on")
        if cut:
            notes.append(f"{cut} long lines were cut at {MAX_LINE_CHARS} characters")
        content = body + "".join(f"\n({n})" for n in notes)
        return ToolResult(
            content=content,
            display=f"lines {offset}-{last} of {total}",
            details={"path": str(path), "lines": len(lines), "total_lines": total},
        )

    @staticmethod
    def _lines(handle: BinaryIO, offset: int, limit: int) -> tuple[list[str], int, int]:
        """Lines ``offset``..``offset+limit-1``, the file's line count, lines cut. A line
        is held only up to ``_LINE_READ_BYTES``: the rest of a longer one (a minified
        file, a gigabyte with no newline) is read past in pieces, never kept whole."""
        wanted: list[str] = []
        total = cut = 0
        while raw := handle.readline(_LINE_READ_BYTES):
            long = len(raw) == _LINE_READ_BYTES and not raw.endswith(b"\n")
            while long and (more := handle.readline(_LINE_READ_BYTES)):
                if len(more) < _LINE_READ_BYTES or more.endswith(b"\n"):
                    break
            total += 1
            if offset <= total < offset + limit:
                line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
                if long or len(line) > MAX_LINE_CHARS:
                    line = line[:MAX_LINE_CHARS] + " [...]"
                    cut += 1
                wanted.append(line)
        return wanted, total, cut


def _read_image(handle: BinaryIO, path: Path, media_type: str, shown: str) -> ToolResult:
    """An image file: attached for models that can see, described for the others."""
    handle.seek(0)
    try:
        data = read_open(handle, path, images.MAX_IMAGE_BYTES)
    except FileTooLarge as exc:
        told = f"{exc.size:,} bytes" if exc.size else "more"
        raise FileProblem(
            f"{path} is an image of {told}, more than the "
            f"{images.MAX_IMAGE_BYTES // 2**20} MB a model takes; make it smaller first"
        ) from None
    except OSError as exc:
        raise _read_problem(path, exc) from None
    size = len(data)
    problem = images.problem(data, media_type)
    if problem is not None:
        raise FileProblem(f"{path} cannot be shown: {problem}")
    image = ImageData(media_type=media_type, data=base64.b64encode(data).decode("ascii"))
    kib = f"{size / 1024:.1f} KB" if size >= 1024 else f"{size} bytes"
    return ToolResult(
        content=f"[image: {shown}, {media_type}, {kib}] (attached for models that can see "
        "images; a model without vision gets only this line)",
        display=f"image · {media_type} · {kib}",
        details={"path": str(path), "media_type": media_type, "bytes": size},
        images=(image,),
    )


@dataclass(frozen=True, slots=True)
class _Change:
    path: Path
    old: str | None  # None: the file does not exist yet
    new: str
    summary: str


class _FileChangeTool(Tool):
    """A tool that computes a new file content, shows it as a diff and writes it."""

    access = "edit"
    path_fields = ("file_path",)

    def plan(self, input: dict[str, Any], ctx: ToolContext) -> _Change:
        raise NotImplementedError

    async def preview(self, input: dict[str, Any], ctx: ToolContext) -> str | None:
        try:
            change = await anyio.to_thread.run_sync(self.plan, input, ctx)
        except FileProblem:
            return None
        return unified_diff(change.old or "", change.new, _shown(change.path, ctx))

    async def run(self, input: dict[str, Any], ctx: ToolContext) -> ToolResult:
        try:
            return await anyio.to_thread.run_sync(self._apply, input, ctx)
        except FileProblem as exc:
            return ToolResult.error(str(exc))

    def _apply(self, input: dict[str, Any], ctx: ToolContext) -> ToolResult:
        change = self.plan(input, ctx)
        write_text(change.path, change.new)
        shown = _shown(change.path, ctx)
        diff = unified_diff(change.old or "", change.new, shown)
        return ToolResult(
            content=f"{change.summary} {shown}.",
            display=diff or f"{shown}: no change",
            display_format="diff",
            details={"path": str(change.path), "created": change.old is None},
        )


class WriteTool(_FileChangeTool):
    name = "Write"
    description = (
        "Write a file with the given content, replacing it if it exists and creating "
        "missing folders. Prefer Edit to change part of an existing file."
    )
    input_schema = object_schema(
        properties={
            "file_path": FILE_PATH,
            "content": {"type": "string", "description": "The whole new content."},
        },
        required=["file_path", "content"],
    )

    def plan(self, input: dict[str, Any], ctx: ToolContext) -> _Change:
        path = _path(ctx, input["file_path"])
        if path.is_dir():
            raise FileProblem(f"{path} is a folder, not a file")
        old = read_text(path) if path.exists() else None
        new = input["content"]
        lines = _count_lines(new)
        verb = "Created" if old is None else "Wrote"
        return _Change(path, old, new, f"{verb} {lines} line{'s' if lines != 1 else ''} in")


class EditTool(_FileChangeTool):
    name = "Edit"
    description = (
        "Replace exact text in a file: old_string must appear exactly once (with its "
        "whitespace and indentation), or set replace_all to change every occurrence. Give "
        "enough surrounding lines to make old_string unique. An empty old_string creates a "
        "new file with new_string as its content."
    )
    input_schema = object_schema(
        properties={
            "file_path": FILE_PATH,
            "old_string": {"type": "string", "description": "The exact text to replace."},
            "new_string": {"type": "string", "description": "The text to put instead."},
            "replace_all": {"type": "boolean", "default": False},
        },
        required=["file_path", "old_string", "new_string"],
    )

    def plan(self, input: dict[str, Any], ctx: ToolContext) -> _Change:
        path = _path(ctx, input["file_path"])
        old_string, new_string = input["old_string"], input["new_string"]
        if old_string == new_string:
            raise FileProblem("old_string and new_string are the same; nothing to change")
        if not path.exists():
            if old_string == "":
                return _Change(path, None, new_string, "Created")
            raise FileProblem(
                f"{path} does not exist; to create it, use Write (or Edit with an empty old_string)"
            )
        text = read_text(path)
        if old_string == "":
            if text:
                raise FileProblem(f"{path} is not empty; old_string must name text to replace")
            return _Change(path, text, new_string, "Filled")
        count = text.count(old_string)
        if count == 0:
            hint = ""
            if old_string.strip() and old_string.strip() in text:
                hint = " (it appears with different surrounding whitespace)"
            raise FileProblem(
                f"old_string was not found in {path}{hint}; Read the file and copy the text exactly"
            )
        if count > 1 and not input.get("replace_all", False):
            raise FileProblem(
                f"old_string appears {count} times in {path}; give more surrounding lines to "
                "make it unique, or set replace_all to change all of them"
            )
        new = text.replace(old_string, new_string)
        return _Change(path, text, new, f"Replaced {count} occurrence{'s' if count > 1 else ''} in")
