"""``harness-tui sandbox [--json]``: the Bash sandbox of this folder, as ``/sandbox``
shows it in a session: on, off or unable to start (and why, and how to fix it), what
commands may write, what stays read-only or hidden, and which hosts they may reach.

Project settings count only in a trusted folder, as in a session. Exit codes: 0 on or
off, 1 on but unable to start (Bash would refuse every command)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from harness_tui.cli.common import PROG


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"{PROG} sandbox",
        description="Show the Bash sandbox of this folder: its state, writable and "
        "hidden paths, allowed domains, and what to do when it cannot start.",
        epilog="Exit codes: 0 on or off, 1 on but unable to start.",
    )
    parser.add_argument("--json", action="store_true", help="print the status as JSON")
    return parser


def run(args: argparse.Namespace) -> int:
    from harness_tui.core.config.settings import load_settings
    from harness_tui.core.config.trust import TrustStore
    from harness_tui.core.permissions.rules import rules_from_settings
    from harness_tui.core.sandbox.manager import Sandbox

    cwd = Path.cwd()
    trusted = TrustStore().is_trusted(cwd)
    settings = load_settings(cwd, include_project=trusted)
    ruleset = rules_from_settings(settings, cwd)

    async def ignore(*_: object, **__: object) -> None:
        return None

    sandbox = Sandbox(cwd, ignore)
    problems = sandbox.configure(settings, ruleset, extra_roots=ruleset.additional_directories)
    status = sandbox.status()
    if not trusted:
        problems.append(
            f"{cwd} is not trusted: its own settings files are not read (a session in it "
            "asks whether to trust it)"
        )
    if args.json:
        data = dataclasses.asdict(status)
        data["trusted"] = trusted
        data["problems"] = [*settings.problems, *problems]
        print(json.dumps(data, indent=2))
    else:
        for line in [*settings.problems, *problems]:
            print(f"warning: {line}", file=sys.stderr)
        print("\n".join(status.lines()))
    return 1 if status.state == "unavailable" else 0
