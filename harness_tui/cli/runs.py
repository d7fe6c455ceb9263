"""``harness-tui runs``: the durable service's runs (``serve --durable``) and their state.

``--database URL`` for a Postgres service (default: the SQLite database in the data
folder), ``--json`` for scripts, ``-n N`` the latest N (default 50). Exit codes: 0
listed, 2 no database or it cannot be read (the message says which and what to do).
"""

from __future__ import annotations

import argparse
import json

from harness_tui.cli.common import PROG, fail, positive_int


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"{PROG} runs",
        description="The runs of the durable service (harness-tui serve --durable), newest "
        "first: queued, running, recovering (its process died; another takes it over), "
        "done, failed or cancelled.",
        epilog="Exit codes: 0 listed, 2 no database or it cannot be read.",
    )
    parser.add_argument(
        "--database",
        metavar="URL",
        help="the service's postgresql:// URL (default: the SQLite database in the data folder)",
    )
    parser.add_argument("--json", action="store_true", help="one JSON array, for scripts")
    parser.add_argument(
        "-n", type=positive_int, default=50, metavar="N", help="the latest N (default: 50)"
    )
    return parser


def run(args: argparse.Namespace) -> int:
    try:
        from harness_tui.durable.runs import as_json, list_runs, runs_table
    except ImportError as exc:
        return fail(
            f"`runs` needs the [durable] extra ({exc.name} is not installed)",
            "pip install 'harness-tui[durable]'",
        )
    from harness_tui.core.errors import HarnessError

    try:
        found = list_runs(args.database, limit=args.n)
    except HarnessError as exc:
        return fail(exc.message, exc.hint)
    print(json.dumps(as_json(found), indent=2) if args.json else runs_table(found))
    return 0
