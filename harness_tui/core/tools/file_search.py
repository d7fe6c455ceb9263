"""``Glob``: find files by name pattern in the workspace."""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import anyio

from harness_tui.core.tools.base import Tool, ToolContext, ToolResult

#: Folders that are never worth walking into.
SKIPPED_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "node_modules",
        "__pycache__",
        ".venv",
        "venv",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".tox",
    }
)
MAX_RESULTS = 200
#: Stop walking after this many files, so a search from a huge folder stays quick.
MAX_SCANNED = 100_000


@lru_cache(maxsize=256)
def glob_regex(pattern: str) -> re.Pattern[str]:
    """Translate a glob (``*``, ``?``, ``[..]``, ``**``, ``{a,b}``) to a regex over
    ``/``-separated relative paths."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1 : end].replace("\\", "\\\\")
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append(f"[{body}]")
                i = end
        elif c == "{":
            end = pattern.find("}", i + 1)
            if end == -1:
                out.append(re.escape(c))
            else:
                options = pattern[i + 1 : end].split(",")
                out.append("(?:" + "|".join(glob_regex(o).pattern[:-2] for o in options) + ")")
                i = end
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out) + r"\Z")


def find_files(
    root: Path, pattern: str, limit: int = MAX_RESULTS, max_scanned: int = MAX_SCANNED
) -> tuple[list[str], int, bool]:
    """Relative paths under ``root`` matching ``pattern``, newest first; how many
    matched in all; and whether the walk stopped early at ``max_scanned`` files."""
    regex = glob_regex(pattern.removeprefix("./"))
    found: list[tuple[float, str]] = []
    scanned = 0
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS)
        rel_folder = os.path.relpath(folder, root)
        prefix = "" if rel_folder == "." else rel_folder.replace(os.sep, "/") + "/"
        for name in files:
            scanned += 1
            if scanned > max_scanned:
                found.sort()
                return [rel for _, rel in found[:limit]], len(found), True
            rel = prefix + name
            if regex.match(rel):
                try:
                    mtime = os.stat(os.path.join(folder, name)).st_mtime
                except OSError:
                    continue
                found.append((-mtime, rel))
    found.sort()
    return [rel for _, rel in found[:limit]], len(found), False


class GlobTool(Tool):
    name = "Glob"
    description = (
        "Find files by name with a glob pattern such as '**/*.py' or 'src/**/*.{ts,tsx}'. "
        "Returns matching paths relative to the search folder, most recently modified first."
    )
    input_schema = {
        "type": "object",
        "properties": {
            "pattern": {"type": "string", "description": "The glob pattern to match."},
            "path": {
                "type": "string",
                "description": "Folder to search in (default: the working folder).",
            },
        },
        "required": ["pattern"],
        "additionalProperties": False,
    }
    read_only = True
    concurrency_safe = True

    async def run(self, input: dict[str, Any], ctx: ToolContext) -> ToolResult:
        root = (ctx.cwd / input.get("path", ".")).resolve()
        if not root.is_dir():
            return ToolResult.error(f"{root} is not a folder")
        pattern = input["pattern"]
        # The walk runs in a thread; a cancel does not wait for it to finish.
        paths, total, stopped = await anyio.to_thread.run_sync(
            find_files, root, pattern, abandon_on_cancel=True
        )
        notes = []
        if total > len(paths):
            notes.append(f"{total - len(paths)} more matches not shown; narrow the pattern")
        if stopped:
            notes.append(f"stopped after scanning {MAX_SCANNED:,} files; search a subfolder")
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
