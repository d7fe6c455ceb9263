"""``harness-tui agents [--list|--json] [--all]``: every open session of this user,
whatever runs it (the TUI, ``-p``, ``serve``, an editor over ACP, ``--background``), from
the live registry: on a terminal the agent view (``harness_tui.tui.agents``), else a
list: the ones that need an answer first, then the ones working, then the idle ones."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys

from harness_tui.cli.common import PROG


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"{PROG} agents",
        description="Every open harness-tui session of this user: which one waits for an "
        "answer, which works, which is idle; where, with which model, at what cost. On a "
        "terminal a live view whose keys answer, stop, close, diff and open a session; "
        "elsewhere (or with --list) a list.",
    )
    shown = parser.add_mutually_exclusive_group()
    shown.add_argument("--json", action="store_true", help="one JSON array of the records")
    shown.add_argument("--list", action="store_true", help="print the list, do not open the view")
    parser.add_argument(
        "--all", action="store_true", help="also the newest finished (saved) sessions"
    )
    return parser


def run(args: argparse.Namespace) -> int:
    if args.json:
        return _json(args.all)
    if not args.list and sys.stdin.isatty() and sys.stdout.isatty():
        from harness_tui.tui.agents.app import AgentsApp

        AgentsApp(finished=args.all).run()
        return 0
    from harness_tui.tui.agents.rows import Collector, text_lines

    print("\n".join(text_lines(Collector()(args.all))))
    return 0


def _json(finished: bool) -> int:
    from harness_tui.core.live.registry import live_sessions

    records = [dataclasses.asdict(r) for r in live_sessions()]
    if finished:
        from harness_tui.tui.agents.rows import finished_sessions

        for info in finished_sessions({r["session_id"] for r in records}):
            records.append(
                {
                    "session_id": info.session_id,
                    "state": "finished",
                    "name": info.name,
                    "title": info.title,
                    "cwd": info.cwd,
                    "model": info.model,
                    "last_activity": info.modified,
                }
            )
    print(json.dumps(records, indent=2))
    return 0
