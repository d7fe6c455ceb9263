"""The ``harness-tui`` command line. ``main`` reads the first word: a subcommand runs
its own module, anything else is the TUI or ``-p`` (``start``).

- ``start``: no subcommand: the TUI, or one prompt with ``-p``.
- ``serve``: the web server alone.
- ``saved``: ``sessions`` (list the saved sessions), ``sessions search TEXT`` and
  ``export ID``.
- ``mcp``: ``mcp list|login|logout``.
- ``check``: ``check [MODEL]``, whether a model works.
- ``rewind``: ``rewind --list|N|--redo``, a saved session's checkpoints.
- ``sandbox``: the Bash sandbox of this folder (``/sandbox`` outside a session).
- ``worktree``: ``worktree list|merge|remove``, the worktrees sessions left (and what
  ``--worktree`` does around a session).
- ``acp``: an Agent Client Protocol agent on stdio, for editors (``harness_tui.acp``).
- ``agents``: every open session of the user, from the live registry.
- ``background``: ``--background`` (a session in a detached holder) and ``attach``.
- ``memory``: ``memory list|add|edit|forget``, the project's and the user's memory.
- ``runs``: the durable service's runs and their state.
- ``common``: what they share (errors, the exit guard, settings, model and mode).

Imports stay lazy: ``--version`` and ``--help`` load nothing but argparse, and the core
is imported only when a session is about to start.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from harness_tui.cli import (
    acp,
    agents,
    background,
    check,
    mcp,
    memory,
    rewind,
    runs,
    sandbox,
    saved,
    serve,
    start,
    worktree,
)

#: First word -> (its parser, what runs with the parsed arguments).
SUBCOMMANDS: dict[
    str, tuple[Callable[[], argparse.ArgumentParser], Callable[[argparse.Namespace], int]]
] = {
    "mcp": (mcp.build_parser, mcp.run),
    "serve": (serve.build_parser, serve.run),
    "sessions": (saved.build_sessions_parser, saved.run_sessions),
    "export": (saved.build_export_parser, saved.export),
    "check": (check.build_parser, check.run),
    "rewind": (rewind.build_parser, rewind.run),
    "sandbox": (sandbox.build_parser, sandbox.run),
    "acp": (acp.build_parser, acp.run),
    "worktree": (worktree.build_parser, worktree.run),
    "agents": (agents.build_parser, agents.run),
    "attach": (background.build_attach_parser, background.run_attach),
    "memory": (memory.build_parser, memory.run),
    "runs": (runs.build_parser, runs.run),
}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in SUBCOMMANDS:
        build_parser, run = SUBCOMMANDS[argv[0]]
        return run(build_parser().parse_args(argv[1:]))
    return start.run(argv)


__all__ = ["main"]
