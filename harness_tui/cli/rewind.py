"""``harness-tui rewind``: list the prompts of a saved session one can rewind to, and
rewind its files, its conversation or both (or undo the last rewind).

    harness-tui rewind --list [--session ID]
    harness-tui rewind N [--code | --conversation | --both] [--session ID]
    harness-tui rewind --redo [--session ID]

The session is the latest of this folder unless ``--session`` names one. Listing reads
the session file only; a rewind opens the session as a resume does (without its
settings' hooks and MCP servers, and without asking anything), rewinds, and closes it:
the rewind is written to the session file like one made in the TUI.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from harness_tui.cli.common import PROG, fail, latest_saved

#: Files listed under each prompt before "and N more".
SHOWN_FILES = 8


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"{PROG} rewind",
        description="Rewind a saved session to before one of its prompts: its files "
        "(every file the agent changed since, put back), its conversation (a fork: "
        "nothing is deleted), or both.",
    )
    parser.add_argument("number", nargs="?", type=int, metavar="N", help="the prompt, as listed")
    parser.add_argument("--list", action="store_true", help="list the prompts and their files")
    parser.add_argument("--redo", action="store_true", help="undo the last rewind")
    parser.add_argument("--session", metavar="ID", help="default: the latest of this folder")
    what = parser.add_mutually_exclusive_group()
    for flag, mode, text in (
        ("--code", "code", "the files only"),
        ("--conversation", "conversation", "the conversation only"),
        ("--both", "both", "files and conversation (the default)"),
    ):
        what.add_argument(flag, dest="mode", action="store_const", const=mode, help=text)
    hand = parser.add_mutually_exclusive_group()
    hand.add_argument(
        "--overwrite",
        dest="hand_edits",
        action="store_const",
        const="overwrite",
        help="also put back files changed by hand since (by default nothing is done then)",
    )
    hand.add_argument(
        "--keep-hand-edits",
        dest="hand_edits",
        action="store_const",
        const="keep",
        help="rewind the rest, leave files changed by hand as they are",
    )
    parser.set_defaults(mode="both", hand_edits="refuse")
    return parser


def run(args: argparse.Namespace) -> int:
    from harness_tui.core.errors import HarnessError

    chosen = sum([args.list, args.redo, args.number is not None])
    if chosen != 1:
        return fail("say what to do: --list, N (a prompt's number) or --redo", "see --help")
    try:
        saved = _saved(args.session)
        if args.list:
            return _list(saved)
        import anyio

        return anyio.run(_rewind, saved, args)
    except HarnessError as exc:
        return fail(exc.message, exc.hint)


def _saved(session_id: str | None) -> Any:
    from harness_tui.core.storage.saved import load_session

    if session_id is None:
        hint = "name one with --session ID (`harness-tui sessions --all` lists them)"
        session_id = latest_saved("", hint)
    return load_session(session_id)


def _list(saved: Any) -> int:
    from harness_tui.core.checkpoints.timeline import rewind_points

    points = [p for _, p in rewind_points(saved.checkpoints, saved.tree, saved.head)]
    if not points:
        print(f"session {saved.session_id}: no prompt with a checkpoint yet", file=sys.stderr)
        return 0
    print(f"session {saved.session_id} ({saved.cwd})")
    for point in points:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(point.timestamp))
        text = " ".join(point.text.split())
        text = text if len(text) <= 70 else text[:69] + "…"
        print(f"{point.number:>3}  {when}  {text}")
        for path in point.files[:SHOWN_FILES]:
            print(f"       {path}")
        if len(point.files) > SHOWN_FILES:
            print(f"       … and {len(point.files) - SHOWN_FILES} more")
    return 0


async def _rewind(saved: Any, args: argparse.Namespace) -> int:
    from harness_tui.core.checkpoints import RewindConflict
    from harness_tui.core.checkpoints.rewind import REWIND_VERBS, summary
    from harness_tui.core.config.settings import Settings
    from harness_tui.core.errors import HarnessError
    from harness_tui.core.session.session import Session

    session = Session.resume(saved, ask_policy="deny", trusted=False, settings=Settings())
    async with session:
        if session.file is None:  # another process holds it: its rewind would be lost
            return fail(
                f"session {saved.session_id} is open in another harness-tui process",
                "rewind it there (/rewind in the TUI), or close it first",
            )
        try:
            if args.redo:
                event = await session.redo(hand_edits=args.hand_edits)
            else:
                event = await session.rewind(args.number, args.mode, hand_edits=args.hand_edits)
        except RewindConflict as exc:
            print(f"{PROG}: nothing was rewound: {exc.message}", file=sys.stderr)
            for path in exc.files:
                print(f"  changed by hand: {path}", file=sys.stderr)
            print(
                f"{PROG}: add --overwrite to put them back too, or --keep-hand-edits to "
                "leave them as they are",
                file=sys.stderr,
            )
            return 1
        except HarnessError as exc:  # here: leaving the session would wrap it in a group
            return fail(exc.message, exc.hint)
    print(summary(event))
    for change in event.files:
        if not change.by_hand:
            print(f"  {REWIND_VERBS[change.change]:<9} {change.path}")
    if event.mode != "code" and event.prompt and not event.undoes:
        print(f"The conversation goes on from before: {' '.join(event.prompt.split())[:70]}")
    return 0
