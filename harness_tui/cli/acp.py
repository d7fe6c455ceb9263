"""``harness-tui acp``: run as an Agent Client Protocol agent on stdin and stdout, for
editors (Zed, JetBrains IDEs, Neovim, Toad). See ``harness_tui.acp``.

Each session's model and permission mode come from ``--model`` and ``--mode``, else
from the settings of the folder the editor opens (its project settings only when the
folder is trusted: an untrusted folder with project configuration is asked about in
the editor)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from harness_tui.cli.common import MODES, PROG, fail, guarded, positive_int, usd_amount


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"{PROG} acp",
        description="Run as an Agent Client Protocol agent on stdin/stdout, for editors "
        "such as Zed and Toad (see the README's 'Editors (ACP)' section).",
    )
    parser.add_argument("--model", help="model for new sessions (default: from the settings)")
    parser.add_argument("--mode", choices=MODES, help="permission mode for new sessions")
    parser.add_argument(
        "--max-turns", type=positive_int, default=None, help="stop a prompt after this many "
        "model calls (the editor is told max_turn_requests)",
    )  # fmt: skip
    parser.add_argument(
        "--max-budget-usd", type=usd_amount, default=None, metavar="USD",
        help="stop a prompt before the model request that would make it cost more than "
        "this (a session budget goes in the settings: budget: {sessionUsd: 20})",
    )  # fmt: skip
    return parser


def run(args: argparse.Namespace) -> int:
    try:
        import acp  # noqa: F401
    except ImportError:
        return fail(
            "harness-tui acp needs the Agent Client Protocol SDK",
            "pip install 'harness-tui[acp]' (or pip install agent-client-protocol)",
        )
    import anyio

    from harness_tui.acp.server import serve_acp

    return guarded(lambda: anyio.run(serve_acp, lambda cwd: session_options(args, cwd)))


def session_options(args: argparse.Namespace, cwd: Path) -> dict[str, Any]:
    """A new session's keyword arguments for the folder ``cwd``."""
    from harness_tui.cli.common import configured, trusted_settings
    from harness_tui.core.session.session import DEFAULT_MAX_TURNS

    trusted, settings = trusted_settings(args, cwd)
    model, mode, notices = configured(args, settings, cwd)
    return {
        "model": model,
        "mode": mode,
        "cwd": cwd,
        "notices": notices,
        "max_turns": args.max_turns or DEFAULT_MAX_TURNS,
        "max_budget_usd": args.max_budget_usd,
        # None: the session asks (through the editor) when the folder has project
        # configuration it has not been told to trust.
        "trusted": True if trusted else None,
        "settings": settings if trusted else None,
    }
