"""``harness-tui check [MODEL]``: one streamed round trip, to tell whether a model works."""

from __future__ import annotations

import argparse
import sys

from harness_tui.cli.common import PROG, guarded


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"{PROG} check",
        description="Check that a model works before a long session: one streamed "
        "request with one tool round trip (thinking on where the model thinks), against "
        "the configured base URL and key. Prints what worked and, for what failed, the "
        "provider's own message and what to change.",
        epilog="Exit codes: 0 the round trip worked, 1 it did not, 2 bad input "
        "(unknown model, no key).",
    )
    parser.add_argument("model", nargs="?", help="provider/model or alias (default: as the TUI)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    return parser


def run(args: argparse.Namespace) -> int:
    import anyio

    from harness_tui.check import run_check

    return guarded(
        lambda: anyio.run(lambda: run_check(args.model, sys.stdout, sys.stderr, as_json=args.json))
    )
