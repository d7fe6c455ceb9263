"""``harness-tui agents [--json]``: every open session of this user, whatever runs it
(the TUI, ``-p``, ``serve``, an editor over ACP), from the live registry: the ones that
need an answer first, then the ones working, then the idle ones."""

from __future__ import annotations

import argparse
import dataclasses
import json
import time

from harness_tui.cli.common import PROG

GROUPS = (("waiting", "Needs you"), ("running", "Working"), ("starting", "Idle"), ("idle", "Idle"))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"{PROG} agents",
        description="List every open harness-tui session of this user: which one waits for "
        "an answer, which works, which is idle; where, with which model, at what cost.",
    )
    parser.add_argument("--json", action="store_true", help="one JSON array of the records")
    return parser


def run(args: argparse.Namespace) -> int:
    from harness_tui.core.live.registry import live_sessions

    records = live_sessions()
    if args.json:
        print(json.dumps([dataclasses.asdict(r) for r in records], indent=2))
        return 0
    if not records:
        print("No open sessions.")
        return 0
    now = time.time()
    shown: set[str] = set()
    for state, title in GROUPS:
        rows = [r for r in records if r.state == state and r.session_id not in shown]
        if not rows:
            continue
        if title not in shown:
            print(f"{title}:")
            shown.add(title)
        for r in rows:
            shown.add(r.session_id)
            ago = int(now - r.last_activity)
            what = r.question["summary"] if r.question else r.detail or "-"
            cost = f" · ${r.cost_usd:.2f}" if r.cost_usd else ""
            print(
                f"  {r.session_id[:12]}  {r.name or '-'}  {r.front_end}  {r.model}{cost}  "
                f"{r.cwd}  {what}  ({ago}s ago)"
            )
    return 0
