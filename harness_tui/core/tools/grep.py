"""``Grep``: search file contents with a regular expression.

``rg`` does the search when it is on the PATH; otherwise Python's ``re`` does it over
the same files (see ``file_walk``). The output has ``rg``'s shape either way:
``path:line:text`` for matches, ``path-line-text`` for context lines.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import anyio

from harness_tui.core.files.patterns import compile_pattern
from harness_tui.core.files.regular import NotRegularFile, read_regular, special_kind
from harness_tui.core.files.walk import (
    SearchTool,
    rg_common_args,
    ripgrep,
    run_ripgrep,
    walk_files,
)
from harness_tui.core.tools.base import ToolContext, ToolResult, object_schema

OutputMode = Literal["content", "files_with_matches", "count"]
#: Output lines (content) or files (other modes) returned when no head_limit is given.
DEFAULT_HEAD_LIMIT = 500
SEARCH_TIMEOUT_S = 60.0
#: The Python search skips files larger than this, as binary-like.
MAX_FILE_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class GrepQuery:
    pattern: str
    mode: OutputMode = "files_with_matches"
    ignore_case: bool = False
    line_numbers: bool = True
    before: int = 0
    after: int = 0
    glob: str | None = None


class GrepProblem(Exception):
    """The search could not run (a bad pattern); the message is for the model."""


#: ``hide(rel)``: leave this file out of the results (a ``Read`` deny rule covers it).
Hide = Callable[[str], bool]


async def search_rg(
    rg: str, root: Path, query: GrepQuery, only: str | None = None, hide: Hide | None = None
) -> list[str] | None:
    """Search ``root`` (or just its file ``only``) with ``rg``; None when rg died
    before finishing (see ``run_ripgrep``)."""
    # --null ends each printed path with a NUL, so paths can be told from the text.
    # The glob is applied here, not with rg's --glob, which would override .gitignore.
    args = [*rg_common_args(), "--no-messages", "--null"]
    if query.ignore_case:
        args.append("-i")
    if query.mode == "files_with_matches":
        args.append("-l")
    elif query.mode == "count":
        args.append("-c")
    else:
        args += ["--no-heading", "--with-filename"]
        args.append("-n" if query.line_numbers else "-N")
        if query.before:
            args += ["-B", str(query.before)]
        if query.after:
            args += ["-A", str(query.after)]
    args += ["-e", query.pattern, "--", only or "."]
    result = await run_ripgrep(rg, args, cwd=root, timeout_s=SEARCH_TIMEOUT_S)
    if result is None:
        return None
    if result.exit_code == 2 and not result.stdout:
        raise GrepProblem(result.stderr.strip() or "rg failed")
    wanted = compile_pattern(query.glob, braces=True) if query.glob else None
    if query.mode == "files_with_matches":  # NUL-separated paths, no newlines
        paths = [p.removeprefix("./") for p in result.stdout.split("\0") if p.strip()]
        return [
            p
            for p in paths
            if (wanted is None or only or wanted.matches(p)) and not (hide and hide(p))
        ]
    lines = []
    for line in result.stdout.splitlines():
        path, nul, rest = line.partition("\0")
        if not nul:
            lines.append(line)  # the "--" between context groups
            continue
        path = path.removeprefix("./")
        if hide is not None and hide(path):
            continue
        if wanted is None or only or wanted.matches(path):
            # The NUL took the place of the separator: ":" for a match, "-" for context.
            numbered = re.match(r"\d+([:-])", rest) if query.line_numbers else None
            lines.append(path + (numbered.group(1) if numbered else ":") + rest)
    return lines


def search_python(
    root: Path, query: GrepQuery, only: str | None = None, hide: Hide | None = None
) -> list[str]:
    """Search ``root`` (or just its file ``only``) with Python's ``re``."""
    try:
        regex = re.compile(query.pattern, re.IGNORECASE if query.ignore_case else 0)
    except re.error as exc:
        raise GrepProblem(f"regex parse error: {exc}") from None
    wanted = compile_pattern(query.glob, braces=True) if query.glob else None
    files = [only] if only else walk_files(root)[0]
    out: list[str] = []
    for rel in files:
        if wanted is not None and not wanted.matches(rel):
            continue
        if hide is not None and hide(rel):
            continue
        lines = _text_lines(root / rel)
        if lines is None:
            continue
        hits = [i for i, line in enumerate(lines) if regex.search(line)]
        if not hits:
            continue
        if query.mode == "files_with_matches":
            out.append(rel)
        elif query.mode == "count":
            out.append(f"{rel}:{len(hits)}")
        else:
            out += _content_lines(rel, lines, hits, query)
    return out


def _text_lines(path: Path) -> list[str] | None:
    try:
        # A FIFO or device met in the walk is skipped, as rg skips it (never read).
        data = read_regular(path, MAX_FILE_BYTES)
    except OSError:
        return None
    if b"\0" in data:
        return None
    return data.decode("utf-8", errors="replace").splitlines()


def _content_lines(rel: str, lines: list[str], hits: list[int], query: GrepQuery) -> list[str]:
    shown: dict[int, bool] = {}
    for i in hits:
        for j in range(max(0, i - query.before), min(len(lines), i + query.after + 1)):
            shown.setdefault(j, False)
        shown[i] = True
    out: list[str] = []
    previous = None
    for j in sorted(shown):
        if previous is not None and j > previous + 1:
            out.append("--")
        sep = ":" if shown[j] else "-"
        number = f"{j + 1}{sep}" if query.line_numbers else ""
        out.append(f"{rel}{sep}{number}{lines[j]}")
        previous = j
    return out


class GrepTool(SearchTool):
    name = "Grep"
    description = (
        "Search file contents with a regular expression (ripgrep syntax). output_mode: "
        "'files_with_matches' (default) lists files, 'content' shows matching lines "
        "(path:line:text, with -A/-B/-C context), 'count' gives matches per file. Filter "
        "files with glob (e.g. '*.py', '*.{ts,tsx}'). Files ignored by .gitignore are skipped."
    )
    input_schema = object_schema(
        properties={
            "pattern": {"type": "string", "minLength": 1, "description": "The regex."},
            "path": {"type": "string", "description": "File or folder (default: cwd)."},
            "glob": {"type": "string", "description": "Only files matching this glob."},
            "output_mode": {
                "enum": ["content", "files_with_matches", "count"],
                "default": "files_with_matches",
            },
            "-i": {"type": "boolean", "description": "Ignore case."},
            "-n": {"type": "boolean", "description": "Line numbers (content mode; default on)."},
            "-A": {"type": "integer", "minimum": 0, "description": "Lines after each match."},
            "-B": {"type": "integer", "minimum": 0, "description": "Lines before each match."},
            "-C": {"type": "integer", "minimum": 0, "description": "Lines around each match."},
            "head_limit": {
                "type": "integer",
                "minimum": 1,
                "description": f"At most this many lines/files (default {DEFAULT_HEAD_LIMIT}).",
            },
        },
        required=["pattern"],
    )

    async def run(self, input: dict[str, Any], ctx: ToolContext) -> ToolResult:
        try:
            target = self.search_path(input, ctx)
        except ValueError as exc:
            return ToolResult.error(str(exc))
        # Given by name, a FIFO or device is refused (rg would wait on it for ever).
        what = special_kind(target)
        if what is not None:
            return ToolResult.error(str(NotRegularFile(target, what)))
        context = input.get("-C", 0)
        query = GrepQuery(
            pattern=input["pattern"],
            mode=input.get("output_mode", "files_with_matches"),
            ignore_case=input.get("-i", False),
            line_numbers=input.get("-n", True),
            before=input.get("-B", context),
            after=input.get("-A", context),
            glob=input.get("glob"),
        )
        root, only = (target.parent, target.name) if target.is_file() else (target, None)
        denied = ctx.read_denied
        hide = (lambda rel: denied(root / rel)) if denied is not None else None
        rg = ripgrep()
        try:
            lines = await search_rg(rg, root, query, only, hide) if rg is not None else None
            if lines is None:  # no rg, or it died: the Python search
                rg = None
                lines = await anyio.to_thread.run_sync(
                    search_python, root, query, only, hide, abandon_on_cancel=True
                )
        except GrepProblem as exc:
            return ToolResult.error(f"Grep could not search: {exc}")
        return _result(lines, query, input.get("head_limit", DEFAULT_HEAD_LIMIT), rg is not None)


def _result(lines: list[str], query: GrepQuery, head_limit: int, used_rg: bool) -> ToolResult:
    details: dict[str, Any] = {"backend": "rg" if used_rg else "python"}
    if not lines:
        details["matches"] = 0
        return ToolResult(
            content=f"No matches for {query.pattern!r}.", display="no matches", details=details
        )
    if query.mode == "content":
        matches = sum(1 for line in lines if _is_match_line(line, query))
        files = len({line.split(":", 1)[0] for line in lines if _is_match_line(line, query)})
        display = f"{matches} matching line{'s' if matches != 1 else ''} in {files} files"
    elif query.mode == "count":
        files = len(lines)
        matches = sum(int(line.rsplit(":", 1)[1]) for line in lines)
        display = f"{matches} matches in {files} file{'s' if files != 1 else ''}"
    else:
        files = matches = len(lines)
        display = f"{files} file{'s' if files != 1 else ''}"
    details.update(matches=matches, files=files)
    shown = lines[:head_limit]
    content = "\n".join(shown)
    if len(lines) > head_limit:
        content += f"\n({len(lines) - head_limit} more lines not shown; narrow the search)"
    return ToolResult(content=content, display=display, details=details)


def _is_match_line(line: str, query: GrepQuery) -> bool:
    if line == "--":
        return False
    if not query.line_numbers:
        return ":" in line
    return re.match(r"^.*?:\d+:", line) is not None
