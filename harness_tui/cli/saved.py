"""``harness-tui sessions [search TEXT]`` and ``harness-tui export ID``: the saved
sessions, listed, searched, or written as Markdown or JSON."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from harness_tui.cli.common import PROG, fail, positive_int


def build_sessions_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"{PROG} sessions",
        description="List saved sessions, newest first: those of this folder, or all. "
        "`sessions search TEXT` finds them by their prompts, answers, tool calls and names.",
    )
    parser.add_argument("--all", action="store_true", help="sessions of every folder")
    actions = parser.add_subparsers(
        dest="action", metavar="search TEXT", help="find sessions by their words (search -h)"
    )
    find = actions.add_parser(
        "search",
        prog=f"{PROG} sessions search",
        description="Find saved sessions by their prompts, answers, tool calls (commands, "
        "file names) and names: every word must occur; best match first, with the line "
        "that matched.",
    )
    find.add_argument("text", nargs="+", metavar="TEXT", help="the words to look for")
    find.add_argument(
        "--all", dest="search_all", action="store_true", help="sessions of every folder"
    )
    find.add_argument("--json", action="store_true", help="one JSON array of the matches")
    find.add_argument(
        "-n", "--limit", type=positive_int, default=20, help="at most this many (default 20)"
    )
    return parser


def run_sessions(args: argparse.Namespace) -> int:
    return search_saved(args) if args.action == "search" else list_saved(args)


def search_saved(args: argparse.Namespace) -> int:
    from harness_tui.core.storage.search import search_sessions

    every = args.all or args.search_all
    hits = search_sessions(" ".join(args.text), None if every else Path.cwd(), args.limit)
    if args.json:
        print(json.dumps([_hit_json(hit) for hit in hits], ensure_ascii=False, indent=1))
        return 0
    if not hits:
        where = "" if every else f" in the sessions of {Path.cwd()} (--all: every folder)"
        print(f"nothing matches {' '.join(args.text)!r}{where}", file=sys.stderr)
        return 1
    bold = sys.stdout.isatty()
    for hit in hits:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(hit.modified))
        folder = f"  {hit.cwd}" if every else ""
        print(f"{hit.session_id}  {when}  {_cut(hit.label, 60)}{folder}")
        line = hit.marked("\x1b[1m", "\x1b[0m") if bold else hit.line
        print(f"    {hit.kind}: {line}")
    return 0


def _hit_json(hit: Any) -> dict[str, Any]:
    return {
        "session_id": hit.session_id,
        "name": hit.name,
        "title": hit.title,
        "cwd": hit.cwd,
        "modified": hit.modified,
        "path": str(hit.path),
        "kind": hit.kind,
        "line": hit.line,
        "score": hit.score,
    }


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def list_saved(args: argparse.Namespace) -> int:
    from harness_tui.core.errors import HarnessError
    from harness_tui.core.storage.saved import list_sessions

    try:
        sessions = list_sessions(None if args.all else Path.cwd())
    except HarnessError as exc:
        return fail(exc.message, exc.hint)
    if not sessions:
        where = "" if args.all else f" for {Path.cwd()} (--all lists every folder)"
        print(f"no saved sessions{where}", file=sys.stderr)
        return 0
    for info in sessions:
        folder = f"  {info.cwd or '(folder unknown)'}" if args.all else ""
        print(f"{info.session_id}  {info.label(50)}{folder}")
    for info in sessions:  # what was recovered, where the output is not parsed
        if info.damaged:
            print(f"{PROG}: {info.path}: {info.damaged}", file=sys.stderr)
    return 0


def build_export_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"{PROG} export",
        description="Write a saved session as Markdown (its current branch, to read) or "
        "JSON (every entry and event, to process).",
    )
    parser.add_argument("session_id", metavar="ID", help="session id, or its start")
    parser.add_argument(
        "-f",
        "--format",
        choices=("markdown", "json"),
        help="default: from the output file's suffix (.json), else markdown",
    )
    parser.add_argument(
        "-o", "--output", default="-", help="file to write (default: standard output)"
    )
    return parser


def export(args: argparse.Namespace) -> int:
    from harness_tui.core.errors import HarnessError
    from harness_tui.core.storage.export import export_session
    from harness_tui.core.storage.saved import load_session

    fmt = args.format or ("json" if args.output.endswith(".json") else "markdown")
    try:
        saved = load_session(args.session_id, every_record=fmt == "json")
        text = export_session(saved, fmt)
    except HarnessError as exc:
        return fail(exc.message, exc.hint)
    if saved.problems:
        print(f"{PROG}: {saved.problems}", file=sys.stderr)
    if args.output == "-":
        sys.stdout.write(text)
        return 0
    try:
        Path(args.output).write_text(text, encoding="utf-8")
    except OSError as exc:
        return fail(f"cannot write {args.output}: {exc.strerror or exc}")
    print(f"wrote {args.output}", file=sys.stderr)
    return 0
