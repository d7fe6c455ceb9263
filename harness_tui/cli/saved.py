"""``harness-tui sessions`` and ``harness-tui export ID``: the saved sessions, listed or
written as Markdown or JSON."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness_tui.cli.common import PROG, fail


def build_sessions_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"{PROG} sessions",
        description="List saved sessions, newest first: those of this folder, or all.",
    )
    parser.add_argument("--all", action="store_true", help="sessions of every folder")
    return parser


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
