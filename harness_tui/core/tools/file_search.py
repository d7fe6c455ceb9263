"""``Glob``: find files by name pattern in the workspace (``.gitignore`` respected)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import anyio

from harness_tui.core.files.patterns import glob_regex
from harness_tui.core.files.walk import (
    MAX_SCANNED,
    SearchTool,
    rg_common_args,
    ripgrep,
    run_ripgrep,
    walk_files,
)
from harness_tui.core.tools.base import ToolContext, ToolResult, object_schema

MAX_RESULTS = 200
#: Time allowed to list the files of one folder with rg.
LIST_TIMEOUT_S = 60.0

__all__ = ["GlobTool", "find_files", "glob_regex", "list_files"]


async def list_files(root: Path, max_scanned: int = MAX_SCANNED) -> tuple[list[str], bool]:
    """Files under ``root`` (relative, in path order) with ``rg --files`` when it is
    there, else the Python walk; and whether the listing stopped at ``max_scanned``."""
    rg = ripgrep()
    result = None
    if rg is not None:
        result = await run_ripgrep(
            rg,
            ["--files", *rg_common_args(), "."],
            cwd=root,
            timeout_s=LIST_TIMEOUT_S,
            capture_chars=64 * max_scanned + 1024,
        )
    if result is None:  # no rg, or it died: the Python walk
        # The walk runs in a thread; a cancel does not wait for it to finish.
        return await anyio.to_thread.run_sync(walk_files, root, max_scanned, abandon_on_cancel=True)
    files = [line.removeprefix("./") for line in result.stdout.splitlines() if line]
    return files[:max_scanned], len(files) > max_scanned or result.timed_out


def match_files(
    root: Path, files: list[str], pattern: str, limit: int = MAX_RESULTS
) -> tuple[list[str], int]:
    """The files matching ``pattern``, newest first, at most ``limit``; and how many
    matched in all."""
    regex = glob_regex(pattern.removeprefix("./"))
    found: list[tuple[float, str]] = []
    for rel in files:
        if regex.match(rel):
            try:
                mtime = os.stat(root / rel).st_mtime
            except OSError:
                continue
            found.append((-mtime, rel))
    found.sort()
    return [rel for _, rel in found[:limit]], len(found)


def find_files(
    root: Path, pattern: str, limit: int = MAX_RESULTS, max_scanned: int = MAX_SCANNED
) -> tuple[list[str], int, bool]:
    """Python-only ``Glob``: matching paths newest first, how many matched in all, and
    whether the walk stopped early."""
    files, stopped = walk_files(root, max_scanned)
    paths, total = match_files(root, files, pattern, limit)
    return paths, total, stopped


class GlobTool(SearchTool):
    name = "Glob"
    description = (
        "Find files by name with a glob pattern such as '**/*.py' or 'src/**/*.{ts,tsx}'. "
        "Returns matching paths relative to the search folder, most recently modified first. "
        "Files ignored by .gitignore are left out."
    )
    input_schema = object_schema(
        properties={
            "pattern": {"type": "string", "description": "The glob pattern to match."},
            "path": {
                "type": "string",
                "description": "Folder to search in (default: the working folder).",
            },
        },
        required=["pattern"],
    )

    async def run(self, input: dict[str, Any], ctx: ToolContext) -> ToolResult:
        try:
            root = self.search_path(input, ctx)
        except ValueError as exc:
            return ToolResult.error(str(exc))
        if not root.is_dir():
            return ToolResult.error(f"{root} is not a folder")
        pattern = input["pattern"]
        files, stopped = await list_files(root)
        denied = ctx.read_denied
        if denied is not None:  # what a Read deny rule covers is not listed either
            files = [rel for rel in files if not denied(root / rel)]
        paths, total = await anyio.to_thread.run_sync(
            match_files, root, files, pattern, abandon_on_cancel=True
        )
        notes = []
        if total > len(paths):
            notes.append(f"{total - len(paths)} more matches not shown; narrow the pattern")
        if stopped:
            notes.append(f"stopped after listing {MAX_SCANNED:,} files; search a subfolder")
        note = "".join(f"\n({n})" for n in notes)
        if not paths:
            return ToolResult(
                content=f"No files match {pattern!r} in {root}.{note}",
                display="no matches",
                details={"matches": 0},
            )
        return ToolResult(
            content="\n".join(paths) + note,
            display=f"{total} file{'s' if total != 1 else ''}" + (" (partial)" if stopped else ""),
            details={"matches": total, "partial": stopped},
        )
