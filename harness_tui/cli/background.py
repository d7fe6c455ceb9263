"""``harness-tui --background [PROMPT]`` (or ``-p PROMPT --background``): the session runs
in a detached holder (``harness_tui.background``), this command prints its id and how
to reach it, and returns at once. ``harness-tui attach [ID|NAME]`` opens one here.

The holder runs ``harness-tui`` with the same arguments; the child sees its holder's
socket in its environment (``launch.SOCKET_ENV``) and so runs the TUI, with the prompt
(read here, stdin included, and handed over in ``launch.PROMPT_ENV``) sent as it opens.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from harness_tui.background import PROMPT_ENV, SOCKET_ENV
from harness_tui.cli.common import PROG, fail


def add_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--background",
        "--bg",
        action="store_true",
        help="run the session in the background, without this terminal (with a prompt "
        "as with -p, or none): it goes on when the terminal closes, its questions wait; "
        "`harness-tui agents` shows it, `harness-tui attach ID` opens it here",
    )


def child_of_holder() -> tuple[str, str] | None:
    """In the holder's child: (its socket, the prompt to send), taken out of the
    environment so that nothing the session runs inherits them; else None."""
    socket = os.environ.pop(SOCKET_ENV, "")
    prompt = os.environ.pop(PROMPT_ENV, "")
    return (socket, prompt) if socket else None


def refusal(args: argparse.Namespace) -> str | None:
    """What cannot go with --background, or None."""
    if args.input_format != "text":
        return "--background takes one prompt: --input-format stream-json needs a reader"
    if args.images:
        return "--background takes no -i: mention the image as @file.png in the prompt"
    if args.output_format != "text":
        return "--background prints no result: see it with `harness-tui agents` or attach"
    if args.resume == "":
        return "--background needs the session's id with --resume (there is no picker)"
    if args.serve:
        return "--background does not go with --serve: `harness-tui serve` is a server"
    return None


def launch(args: argparse.Namespace, argv: list[str], prompt: str) -> int:
    """Start it and say how to reach it."""
    from harness_tui.background.launch import start
    from harness_tui.core.errors import HarnessError

    problem = refusal(args)
    if problem:
        return fail(problem)
    try:
        record = start(argv, Path.cwd(), prompt)
    except HarnessError as exc:
        return fail(exc.message, exc.hint)
    short = record.session_id
    name = f' "{record.name}"' if record.name else ""
    where = f"({record.model}, {record.mode}) in {record.cwd}"
    print(f"Started in the background: {short}{name} {where}")
    print(f"  {PROG} agents             every session: answer its questions, stop it")
    print(f"  {PROG} attach {short}  open it in this terminal (Ctrl+] leaves it running)")
    return 0


def build_attach_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"{PROG} attach",
        description="Open a background session in this terminal (its full TUI). Ctrl+] "
        "detaches and leaves it running; quitting its TUI ends it.",
    )
    parser.add_argument(
        "session",
        nargs="?",
        default="",
        help="its id (or the start of it) or name; without one, the only background session",
    )
    return parser


def run_attach(args: argparse.Namespace) -> int:
    from harness_tui.background.attach import AttachError, attach
    from harness_tui.background.launch import find_background
    from harness_tui.core.errors import HarnessError

    try:
        record = find_background(args.session)
        outcome = attach(record.attach)
    except HarnessError as exc:
        return fail(exc.message, exc.hint)
    except AttachError as exc:
        return fail(str(exc), f"`{PROG} agents` lists the open sessions")
    if outcome == "detached":
        back = f"`{PROG} attach {record.session_id}`"
        print(f"Detached; {record.session_id} goes on ({back} to come back).")
    else:
        print(f"{record.session_id} has ended (or was attached from another terminal).")
    return 0
