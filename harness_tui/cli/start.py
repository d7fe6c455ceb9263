"""``harness-tui`` itself: the TUI on the current folder, or with ``-p`` one prompt run
without it (headless), its answer printed.

Imports stay lazy: ``--version`` and ``--help`` load nothing but argparse, and the core
is imported only when a session is about to start.
"""

from __future__ import annotations

import argparse
import os
import select
import sys
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from harness_tui import __version__
from harness_tui.cli.background import add_option, child_of_holder, launch, refusal
from harness_tui.cli.common import (
    MODES,
    PROG,
    configured,
    fail,
    guarded,
    latest_saved,
    port_number,
    positive_int,
    session_name,
    trusted_settings,
    usd_amount,
)
from harness_tui.cli.worktree import reported, session_options, start_worktree

if TYPE_CHECKING:
    from harness_tui.core.session.session import Session
    from harness_tui.core.worktrees.lifecycle import WorktreeUse

#: How long to wait for piped stdin when a prompt was also given on the command line.
STDIN_GRACE_S = 0.25


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="A terminal coding agent for many models. Without -p it opens the TUI "
        "on the current folder. `harness-tui serve` starts the web server instead "
        "(see `harness-tui serve --help`); `harness-tui sessions` lists saved sessions and "
        "`harness-tui export ID` writes one as Markdown or JSON; `harness-tui check [MODEL]` "
        "tells whether a provider works; `harness-tui agents` shows every open session (answer, "
        "stop, attach).",
        epilog="Exit codes with -p: 0 ok, 1 the run failed, 2 bad input, 3 denied, "
        "4 a budget stopped the run (--max-budget-usd, --max-turns, budget.sessionUsd), "
        "130 cancelled, 141 stdout closed.",
    )
    parser.add_argument("prompt", nargs="?", help="the prompt (with -p)")
    parser.add_argument(
        "-p",
        "--print",
        dest="print_prompt",
        nargs="?",
        const="",
        metavar="PROMPT",
        help="run one prompt without the TUI and print the result; the "
        "prompt may also come on stdin",
    )
    parser.add_argument(
        "--model",
        help="model to use: provider/model (anthropic/claude-sonnet-5-5, openai/gpt-5, "
        "deepseek/deepseek-flash, ollama/qwen2.5-coder, ...), an alias such as sonnet, demo, "
        "or scripted:replies.yaml (default: a model of the provider whose API key is set, "
        "else demo)",
    )
    parser.add_argument(
        "--mode", choices=MODES, help="permission mode (default: from the settings, else default)"
    )
    parser.add_argument(
        "--output-format",
        choices=("text", "json", "stream-json"),
        default="text",
        help="with -p: the final text, one JSON result, or every event as "
        "one JSON line (default: %(default)s)",
    )
    parser.add_argument(
        "-i",
        "--image",
        dest="images",
        action="append",
        default=[],
        metavar="PATH",
        help="with -p: attach an image file (PNG, JPEG, GIF, WebP) to the prompt; repeat for more",
    )
    parser.add_argument(
        "--input-format",
        choices=("text", "stream-json"),
        default="text",
        help="with -p: the prompt as text, or commands as JSON lines on stdin: user "
        "messages (Claude Code's stream-json input, images included), steers, follow-ups, "
        "control requests, permission answers; the session stays open until stdin closes "
        "(needs --output-format stream-json) (default: %(default)s)",
    )
    parser.add_argument(
        "--trust",
        action="store_true",
        help="trust this folder: apply its project settings and hooks (.harness/, "
        ".claude/settings.json); remembered for later runs",
    )
    parser.add_argument(
        "-c",
        "--continue",
        dest="continue_session",
        action="store_true",
        help="go on with the latest session of this folder",
    )
    parser.add_argument(
        "-r",
        "--resume",
        nargs="?",
        const="",
        metavar="ID",
        help="go on with a saved session (id or its start); without an id the TUI "
        "shows a picker. Its model and mode apply unless --model or --mode is given",
    )
    parser.add_argument(
        "-w",
        "--worktree",
        nargs="?",
        const="",
        metavar="NAME",
        help="start in a new git worktree (.worktrees/NAME on branch worktree-NAME; "
        "without a name, one is made up); at the end it is removed when nothing changed, "
        "else kept: see `harness-tui worktree list|merge|remove`",
    )
    add_option(parser)
    parser.add_argument(
        "--name",
        type=session_name,
        help="name the session (shown by `sessions`, the resume picker and search; "
        "/rename changes it)",
    )
    parser.add_argument(
        "--max-turns",
        type=positive_int,
        default=None,
        help="stop after this many model calls per run",
    )
    parser.add_argument(
        "--max-budget-usd",
        type=usd_amount,
        default=None,
        metavar="USD",
        help="stop a run before the model request that would make it cost more than this "
        "many US dollars (its sub-agents included; estimated from the last request's cost). "
        "A session budget goes in the settings: budget: {sessionUsd: 20}",
    )
    parser.add_argument(
        "--inline",
        action="store_true",
        help="draw under the shell prompt instead of full-screen: finished answers go "
        "into the terminal's scrollback (setting: tui: inline; /tui switches)",
    )
    parser.add_argument(
        "--serve",
        action="store_true",
        help="also mirror the TUI's session to a browser (needs the [web] extra); the "
        "URL with its token is shown in the TUI",
    )
    parser.add_argument(
        "--port", type=port_number, default=0, help="with --serve: port (default: a free one)"
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="with --serve: address (default: %(default)s)"
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    return parser


def run(argv: list[str]) -> int:
    """The command line without a subcommand: the TUI, or ``-p`` (headless)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.continue_session and args.resume is not None:
        parser.error("--continue and --resume cannot be used together")
    if args.worktree is not None and (args.continue_session or args.resume is not None):
        parser.error("--worktree starts a new session: it cannot go with --continue or --resume")
    if args.background:
        held = child_of_holder()
        if held is not None:  # the holder's child: the TUI, in the holder's terminal
            return _run_tui(args, held)
        problem = refusal(args)
        if problem:
            return fail(problem)
        prompt = ""
        if args.print_prompt is not None or args.prompt is not None:
            try:
                prompt = _read_prompt(args.print_prompt or "", args.prompt)
            except ValueError as exc:
                return fail(str(exc))
        return launch(args, argv, prompt)
    headless = args.print_prompt is not None
    if not headless:
        if args.prompt is not None:
            parser.error("a prompt on the command line needs -p (or type it in the TUI)")
        if args.images or args.input_format != "text":
            parser.error(
                "-i and --input-format go with -p (in the TUI, paste an image with Ctrl+V "
                "or mention it as @file.png)"
            )
        return _run_tui(args)
    if args.resume == "":
        return fail(
            "--resume needs a session id with -p",
            "list saved sessions with `harness-tui sessions`, or use --continue",
        )
    if args.input_format == "stream-json":
        if args.output_format != "stream-json" or args.print_prompt or args.prompt:
            return fail(
                "--input-format stream-json reads the prompts from stdin and needs "
                "--output-format stream-json",
                "pass -p --input-format stream-json --output-format stream-json, no prompt",
            )
        if args.images:
            return fail(
                "-i goes with a prompt; with --input-format stream-json, images come in "
                "the messages",
                'send {"type": "image", "source": {"type": "base64", ...}} blocks in a '
                "message's content",
            )
        return _run_headless(args, "")
    try:
        prompt = _read_prompt(args.print_prompt, args.prompt, bool(args.images))
    except ValueError as exc:
        return fail(str(exc))
    return _run_headless(args, prompt)


def _read_prompt(flag_value: str, positional: str | None, images: bool = False) -> str:
    """The prompt from -p's value or the positional argument, plus piped stdin (which
    may be empty when images are attached)."""
    if flag_value and positional:
        raise ValueError("two prompts given; pass one after -p")
    given = flag_value or positional or ""
    piped = _read_stdin(wait=not (given or images))
    prompt = f"{given}\n\n{piped}" if given and piped else given or piped
    if not prompt.strip() and not images:
        raise ValueError("the prompt is empty; pass text after -p or pipe it on stdin")
    return prompt


def _read_stdin(wait: bool) -> str:
    """Piped stdin, if any. With a prompt already given, only what arrives within a
    moment: an inherited pipe that never closes must not hang the program."""
    stream = sys.stdin
    if stream is None or stream.closed:
        return ""
    try:
        if stream.isatty():
            return ""
        if not wait:
            ready, _, _ = select.select([stream], [], [], STDIN_GRACE_S)
            if not ready:
                return ""
        return stream.read()
    except (OSError, ValueError, UnicodeDecodeError):
        return ""


def _run_headless(args: argparse.Namespace, prompt: str) -> int:
    from harness_tui.core.errors import HarnessError

    try:
        use = start_worktree(args)
    except HarnessError as exc:
        return fail(exc.message, exc.hint)
    return guarded(lambda: reported(use, lambda: _headless(args, prompt, use)))


def _headless(args: argparse.Namespace, prompt: str, use: WorktreeUse | None = None) -> int:
    import anyio

    from harness_tui.core.errors import HarnessError
    from harness_tui.core.session.session import DEFAULT_MAX_TURNS
    from harness_tui.headless import run_headless

    try:
        trusted, settings = trusted_settings(args)
        model, mode, notices = configured(args, settings)
        in_worktree, worktree_notices = session_options(use)
        notices = [*notices, *worktree_notices]
        session = _new_or_resumed(
            args,
            model=model,
            mode=mode,
            # (with --input-format stream-json, permission questions go to the program
            # writing stdin once the session is open: see stream_driver)
            ask_policy="deny",
            notices=notices,
            max_turns=args.max_turns or DEFAULT_MAX_TURNS,
            max_budget_usd=args.max_budget_usd,
            name=args.name or "",
            trusted=trusted,
            settings=settings,
            warm=_warm_wanted(),
            **in_worktree,
        )
        stream_input = sys.stdin if args.input_format == "stream-json" else None
        return anyio.run(
            partial(
                run_headless,
                session,
                prompt,
                args.output_format,
                images=args.images,
                stream_input=stream_input,
            )
        )
    except HarnessError as exc:
        return fail(exc.message, exc.hint)
    except KeyboardInterrupt:  # before the run's own Ctrl+C handling was in place
        return 130
    except Exception as exc:  # a bug: one line, the traceback only on request
        if os.environ.get("HARNESS_DEBUG"):
            raise
        while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
            exc = exc.exceptions[0]  # the error itself, not the task group around it
        return fail(
            f"internal error: {type(exc).__name__}: {exc}",
            "set HARNESS_DEBUG=1 to see the traceback, and please report it",
        )


def _run_tui(args: argparse.Namespace, held: tuple[str, str] | None = None) -> int:
    from harness_tui.core.errors import HarnessError

    try:
        use = start_worktree(args)
    except HarnessError as exc:
        return fail(exc.message, exc.hint)
    return reported(use, lambda: _tui(args, use, held))


def _tui(
    args: argparse.Namespace, use: WorktreeUse | None, held: tuple[str, str] | None = None
) -> int:
    """``held``: in a background holder, its socket and the prompt to send first."""
    from harness_tui.core.errors import HarnessError

    def make_session():  # type: ignore[no-untyped-def]
        from harness_tui.core.session.session import DEFAULT_MAX_TURNS

        trusted, settings = trusted_settings(args)
        model, mode, notices = configured(args, settings)
        in_worktree, worktree_notices = session_options(use)
        notices = [*notices, *worktree_notices]
        return _new_or_resumed(
            args,
            model=model,
            mode=mode,
            notices=notices,
            max_turns=args.max_turns or DEFAULT_MAX_TURNS,
            max_budget_usd=args.max_budget_usd,
            name=args.name or "",
            trusted=trusted,
            settings=settings,
            warm=_warm_wanted(),
            **in_worktree,
        )

    if args.model or args.continue_session or args.resume is not None:
        # A model named on the command line, or a session to go on with, is checked
        # before the screen opens, so a typo or an unknown id is one line on the terminal
        # (this pays the core's import up front).
        try:
            session = make_session()
            if args.resume == "":  # the picker reads the session folder: can it?
                from harness_tui.core.storage.saved import list_sessions

                list_sessions(Path.cwd())
        except HarnessError as exc:
            return fail(exc.message, exc.hint)
        factory = None
    else:
        # Otherwise the app paints first and makes the session right after.
        session, factory = None, make_session
    from harness_tui.tui.app import run_tui  # Textual only now: -p and --version never pay

    picker = {"pick_session": True} if args.resume == "" else {}  # only when asked for
    serve = (args.host, args.port) if args.serve else None
    from harness_tui.core.config.settings import tui_mode

    inline_mode = args.inline or tui_mode(Path.cwd()) == "inline"
    return guarded(
        lambda: run_tui(
            session or factory,
            serve=serve,
            inline_mode=inline_mode and held is None,
            background=held,
            **picker,
        )
    )


def _warm_wanted() -> bool:
    """Whether the session gets the model's provider ready before the first prompt (SDK
    imported, a connection open to the API): ``HARNESS_WARM=0`` turns it off, for whoever
    wants nothing sent to the API before they send a prompt."""
    return os.environ.get("HARNESS_WARM", "1").strip() not in ("0", "false", "no", "off")


def _new_or_resumed(args: argparse.Namespace, **options: object) -> Session:
    """A new session, or the one ``--continue`` / ``--resume ID`` names; a resumed one
    keeps its own model and mode unless the command line names others."""
    from harness_tui.core.session.session import Session

    if not args.continue_session and not args.resume:
        return Session(**options)  # type: ignore[arg-type]
    if args.continue_session:
        chosen = latest_saved(" to continue", "start one without --continue")
    else:
        chosen = args.resume
    if not args.model:
        options.pop("model")
    if not args.mode:
        options.pop("mode")
    return Session.resume(chosen, **options)  # type: ignore[arg-type]
