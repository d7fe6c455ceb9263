"""``harness-tui memory list|add|edit|forget``: the memory of this folder's project and
the user's (``core.memory``), from the command line.

- ``list [--json]``: both scopes' entries (id, text, topic, origin), and where they live.
- ``add TEXT [--user] [--topic NAME]``: keep a fact (refused when secret-looking).
- ``edit [--user]``: open the scope's ``MEMORY.md`` in ``$VISUAL``/``$EDITOR``.
- ``forget ID``: remove an entry (from whichever scope has it).

Exit codes: 0 done, 2 refused (the message says why).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
from pathlib import Path

from harness_tui.cli.common import PROG, fail


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"{PROG} memory",
        description="What the agent keeps across sessions: this project's memory (shared "
        "by its worktrees) and yours (every project), plain Markdown in the user data "
        "folder. List, add, edit or forget entries.",
        epilog="Exit codes: 0 done, 2 refused.",
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="list|add|edit|forget")
    listing = actions.add_parser("list", help="both scopes' entries and where they live")
    listing.add_argument("--json", action="store_true", help="as JSON")
    add = actions.add_parser("add", help="keep a fact")
    add.add_argument("text", help="one line")
    add.add_argument("--user", action="store_true", help="about you, for every project")
    add.add_argument("--topic", default="", help="a topic file the entry points at")
    edit = actions.add_parser("edit", help="open MEMORY.md in $VISUAL or $EDITOR")
    edit.add_argument("--user", action="store_true", help="your memory, not the project's")
    forget = actions.add_parser("forget", help="remove an entry by its id")
    forget.add_argument("id", help="the entry's id, as `list` shows it")
    return parser


def run(args: argparse.Namespace) -> int:
    from harness_tui.core.memory.store import MemoryRefused
    from harness_tui.core.memory.tool import stores

    every = stores(Path.cwd())
    try:
        if args.action == "list":
            return _list(every, args.json)
        if args.action == "add":
            store = every["user" if args.user else "project"]
            entry = store.add(args.text, topic=args.topic, session="cli")
            print(f"Kept in {store.scope} memory as {entry.id}: {entry.text}")
            return 0
        if args.action == "forget":
            for store in every.values():
                if any(e.id == args.id for e in store.entries()):
                    entry = store.remove(args.id)
                    print(f"Forgot {entry.id} ({store.scope}): {entry.text}")
                    return 0
            return fail(f"no memory entry {args.id!r}", f"`{PROG} memory list` shows them")
        return _edit(every["user" if args.user else "project"].index)
    except MemoryRefused as exc:
        return fail(exc.message, exc.hint)


def _list(every: dict, as_json: bool) -> int:
    if as_json:
        data = {
            scope: {
                "folder": str(store.folder),
                "entries": [e.__dict__ for e in store.entries()],
                "topics": store.topics(),
            }
            for scope, store in every.items()
        }
        print(json.dumps(data, indent=2))
        return 0
    for scope, store in every.items():
        entries = store.entries()
        print(f"{scope.capitalize()} memory ({len(entries)}): {store.folder}")
        for entry in entries:
            origin = " · ".join(x for x in (entry.date, entry.session, entry.topic) if x)
            print(f"  {entry.id}  {entry.text}" + (f"  ({origin})" if origin else ""))
    return 0


def _edit(index: Path) -> int:
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    index.parent.mkdir(parents=True, exist_ok=True)
    if not index.exists():
        index.write_text("# Memory\n\n")
    try:
        return subprocess.call([*shlex.split(editor), str(index)])
    except OSError as exc:
        return fail(f"cannot start the editor {editor!r}: {exc.strerror}", "set $EDITOR")
