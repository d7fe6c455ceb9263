"""The ``harness-tui`` command line.

Imports stay lazy: ``--version`` and ``--help`` load nothing but argparse, and the core
is imported only when a session is about to start.
"""

from __future__ import annotations

import argparse
import os
import select
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from harness_tui import __version__

if TYPE_CHECKING:
    from harness_tui.core.providers.catalogue import Catalogue
    from harness_tui.core.session.session import Session

PROG = "harness-tui"
MODES = ("default", "acceptEdits", "plan", "bypassPermissions")
#: How long to wait for piped stdin when a prompt was also given on the command line.
STDIN_GRACE_S = 0.25


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="A terminal coding agent for many models. Without -p it opens the TUI "
        "on the current folder. `harness-tui serve` starts the web server instead "
        "(see `harness-tui serve --help`); `harness-tui sessions` lists saved sessions and "
        "`harness-tui export ID` writes one as Markdown or JSON; `harness-tui check [MODEL]` "
        "tells whether a provider works.",
        epilog="Exit codes with -p: 0 ok, 1 the run failed, 2 bad input, 3 denied, "
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
        "--max-turns",
        type=_positive_int,
        default=None,
        help="stop after this many model calls per run",
    )
    parser.add_argument(
        "--serve",
        action="store_true",
        help="also mirror the TUI's session to a browser (needs the [web] extra); the "
        "URL with its token is shown in the TUI",
    )
    parser.add_argument(
        "--port", type=_port, default=0, help="with --serve: port (default: a free one)"
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="with --serve: address (default: %(default)s)"
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    return parser


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def build_serve_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"{PROG} serve",
        description="Serve the web page and API: browsers start and drive sessions, each "
        "mirrored live. Needs the [web] extra. Prints the URL to open; its token is "
        "required on every request and changes at each start.",
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default: %(default)s, this machine only)",
    )
    parser.add_argument(
        "--port", type=_port, default=8765, help="port (default: %(default)s; 0 picks a free one)"
    )
    parser.add_argument("--model", help="model for new sessions (default: as for the TUI)")
    parser.add_argument("--mode", choices=MODES, help="permission mode for new sessions")
    parser.add_argument(
        "--max-sessions",
        type=_positive_int,
        default=None,
        metavar="N",
        help="live sessions at most; creating another is refused until one is closed (default: 8)",
    )
    return parser


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError("a port is between 0 and 65535")
    return value


def build_sessions_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"{PROG} sessions",
        description="List saved sessions, newest first: those of this folder, or all.",
    )
    parser.add_argument("--all", action="store_true", help="sessions of every folder")
    return parser


def build_check_parser() -> argparse.ArgumentParser:
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


def _check(args: argparse.Namespace) -> int:
    import anyio

    from harness_tui.check import run_check

    return _guarded(
        lambda: anyio.run(lambda: run_check(args.model, sys.stdout, sys.stderr, as_json=args.json))
    )


def build_export_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"{PROG} export",
        description="Write a saved session as Markdown (its current branch, to read) or "
        "JSON (every entry and event, to process).",
    )
    parser.add_argument("session_id", metavar="ID", help="session id, or its start")
    parser.add_argument(
        "-f",
        "--format",
        choices=("markdown", "json"),
        help="default: from the output file's suffix (.json), else markdown",
    )
    parser.add_argument(
        "-o", "--output", default="-", help="file to write (default: standard output)"
    )
    return parser


def build_mcp_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"{PROG} mcp",
        description="MCP servers of this folder (.mcp.json and the settings files): list "
        "them with their logins, log in to a remote server with OAuth (your browser opens; "
        "the tokens are kept in the user data folder, mode 0600), or log out (forget them).",
    )
    parser.add_argument(
        "--trust",
        action="store_true",
        help="trust this folder for good (its .mcp.json is read only in a trusted folder)",
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    actions.add_parser("list", help="the servers, their transport and whether logged in")
    login = actions.add_parser("login", help="log in to a remote server in the browser")
    login.add_argument("server", metavar="NAME")
    login.add_argument(
        "--wait", type=float, default=300.0, help="seconds to wait for the browser (300)"
    )
    logout = actions.add_parser("logout", help="forget a server's tokens and registration")
    logout.add_argument("server", metavar="NAME")
    return parser


def _mcp(args: argparse.Namespace) -> int:
    """``harness-tui mcp list|login|logout``."""
    from harness_tui.core.config.settings import Settings
    from harness_tui.core.errors import HarnessError
    from harness_tui.core.mcp.config import load_servers
    from harness_tui.core.mcp.oauth import token_file

    trusted, settings = _trusted_settings(args)
    assert isinstance(settings, Settings)
    servers = load_servers(Path.cwd(), settings, trusted=trusted)
    for problem in servers.problems:
        print(f"{PROG}: warning: {problem}", file=sys.stderr)
    if args.action == "list":
        if not servers.servers:
            hint = "" if trusted else " (this folder is not trusted: .mcp.json was not read)"
            print(f"no MCP servers configured{hint}")
        for name, config in servers.servers.items():
            login = ""
            if config.transport != "stdio":
                login = "  logged in" if token_file(config).has_tokens() else "  not logged in"
            print(f"{name}  {config.describe()}{login}  [{config.source}]")
        return 0
    config = servers.servers.get(args.server)
    if config is None:
        known = ", ".join(sorted(servers.servers)) or "none"
        return _fail(f"no MCP server named {args.server!r} (servers: {known})")
    if config.transport == "stdio":
        return _fail(f"MCP server {args.server} runs on this machine (stdio): it has no login")
    if args.action == "logout":
        forgotten = token_file(config).forget()
        print(f"Logged out of {args.server}." if forgotten else f"{args.server}: no stored login.")
        return 0
    try:
        return _guarded(lambda: _mcp_login(args, trusted, settings))
    except HarnessError as exc:
        return _fail(exc.message, exc.hint)


def _mcp_login(args: argparse.Namespace, trusted: bool, settings: object) -> int:
    import anyio

    from harness_tui.core.errors import HarnessError
    from harness_tui.core.mcp.manager import open_in_browser
    from harness_tui.core.session.session import Session

    pasting = sys.stdin is not None and sys.stdin.isatty()

    async def show(url: str) -> None:
        print(
            f"Log in to {args.server} in your browser. If it does not open, or it runs on "
            f"another machine, open:\n  {url}",
            file=sys.stderr,
        )
        if pasting:
            print(
                "If the browser runs on another machine, the page it ends on will not load: "
                "paste that page's address here and press Enter.",
                file=sys.stderr,
            )
        await open_in_browser(url)

    async def read_pasted(session: Session) -> None:
        """Addresses typed or pasted while the login waits (a browser elsewhere). Read
        on the event loop when the terminal has a line (no thread: one blocked in a read
        would hold up the exit)."""
        fd, pending = sys.stdin.fileno(), b""
        while True:
            await anyio.wait_readable(fd)
            chunk = os.read(fd, 65536)
            if not chunk:
                return
            pending += chunk
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                if line.strip():
                    try:
                        session.mcp.paste_login(line.decode("utf-8", "replace"))
                    except HarnessError as exc:
                        print(f"{PROG}: {exc.message}", file=sys.stderr)

    async def login() -> int:
        session = Session(model="demo", cwd=Path.cwd(), trusted=trusted, settings=settings)
        failed: list[HarnessError] = []
        async with session:
            await session.mcp.wait_started()
            async with anyio.create_task_group() as group:
                if pasting:
                    group.start_soon(read_pasted, session)
                try:
                    await session.mcp.login(args.server, show, wait_s=args.wait)
                except HarnessError as exc:
                    failed.append(exc)
                group.cancel_scope.cancel()
        if failed:
            _fail(failed[0].message, failed[0].hint)
            return 1
        print(f"Logged in to {args.server}.", file=sys.stderr)
        return 0

    return anyio.run(login)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["mcp"]:
        return _mcp(build_mcp_parser().parse_args(argv[1:]))
    if argv[:1] == ["serve"]:
        return _serve(build_serve_parser().parse_args(argv[1:]))
    if argv[:1] == ["sessions"]:
        return _list_sessions(build_sessions_parser().parse_args(argv[1:]))
    if argv[:1] == ["export"]:
        return _export(build_export_parser().parse_args(argv[1:]))
    if argv[:1] == ["check"]:
        return _check(build_check_parser().parse_args(argv[1:]))
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.continue_session and args.resume is not None:
        parser.error("--continue and --resume cannot be used together")
    headless = args.print_prompt is not None
    if not headless:
        if args.prompt is not None:
            parser.error("a prompt on the command line needs -p (or type it in the TUI)")
        return _run_tui(args)
    if args.resume == "":
        return _fail(
            "--resume needs a session id with -p",
            "list saved sessions with `harness-tui sessions`, or use --continue",
        )
    try:
        prompt = _read_prompt(args.print_prompt, args.prompt)
    except ValueError as exc:
        return _fail(str(exc))
    return _run_headless(args, prompt)


def _read_prompt(flag_value: str, positional: str | None) -> str:
    """The prompt from -p's value or the positional argument, plus piped stdin."""
    if flag_value and positional:
        raise ValueError("two prompts given; pass one after -p")
    given = flag_value or positional or ""
    piped = _read_stdin(wait=not given)
    prompt = f"{given}\n\n{piped}" if given and piped else given or piped
    if not prompt.strip():
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


def _guarded(run: Callable[[], int]) -> int:
    """Run a mode that starts processes (tools, hooks, servers): every way it ends,
    they end, and the program exits within a bound (see ``exit_guard``)."""
    from harness_tui.core.processes import exit_guard

    exit_guard.arm()
    code = 1
    try:
        code = run()
    finally:
        exit_guard.finish(code)
    return code


def _run_headless(args: argparse.Namespace, prompt: str) -> int:
    return _guarded(lambda: _headless(args, prompt))


def _headless(args: argparse.Namespace, prompt: str) -> int:
    import anyio

    from harness_tui.core.errors import HarnessError
    from harness_tui.core.session.session import DEFAULT_MAX_TURNS
    from harness_tui.headless import run_headless

    try:
        trusted, settings = _trusted_settings(args)
        model, mode, notices = _configured(args, settings)
        session = _new_or_resumed(
            args,
            model=model,
            mode=mode,
            ask_policy="deny",
            notices=notices,
            max_turns=args.max_turns or DEFAULT_MAX_TURNS,
            trusted=trusted,
            settings=settings,
            warm=_warm_wanted(),
        )
        return anyio.run(run_headless, session, prompt, args.output_format)
    except HarnessError as exc:
        return _fail(exc.message, exc.hint)
    except KeyboardInterrupt:  # before the run's own Ctrl+C handling was in place
        return 130
    except Exception as exc:  # a bug: one line, the traceback only on request
        if os.environ.get("HARNESS_DEBUG"):
            raise
        while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
            exc = exc.exceptions[0]  # the error itself, not the task group around it
        return _fail(
            f"internal error: {type(exc).__name__}: {exc}",
            "set HARNESS_DEBUG=1 to see the traceback, and please report it",
        )


def _run_tui(args: argparse.Namespace) -> int:
    from harness_tui.core.errors import HarnessError

    def make_session():  # type: ignore[no-untyped-def]
        from harness_tui.core.session.session import DEFAULT_MAX_TURNS

        trusted, settings = _trusted_settings(args)
        model, mode, notices = _configured(args, settings)
        return _new_or_resumed(
            args,
            model=model,
            mode=mode,
            notices=notices,
            max_turns=args.max_turns or DEFAULT_MAX_TURNS,
            trusted=trusted,
            settings=settings,
            warm=_warm_wanted(),
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
            return _fail(exc.message, exc.hint)
        factory = None
    else:
        # Otherwise the app paints first and makes the session right after.
        session, factory = None, make_session
    from harness_tui.tui.app import run_tui  # Textual only now: -p and --version never pay

    picker = {"pick_session": True} if args.resume == "" else {}  # only when asked for
    serve = (args.host, args.port) if args.serve else None
    return _guarded(lambda: run_tui(session or factory, serve=serve, **picker))


def _warm_wanted() -> bool:
    """Whether the session gets the model's provider ready before the first prompt (SDK
    imported, a connection open to the API): ``HARNESS_WARM=0`` turns it off, for whoever
    wants nothing sent to the API before they send a prompt."""
    return os.environ.get("HARNESS_WARM", "1").strip() not in ("0", "false", "no", "off")


def _new_or_resumed(args: argparse.Namespace, **options: object) -> Session:
    """A new session, or the one ``--continue`` / ``--resume ID`` names; a resumed one
    keeps its own model and mode unless the command line names others."""
    from harness_tui.core.errors import HarnessError
    from harness_tui.core.session.session import Session
    from harness_tui.core.storage.saved import latest_session

    if not args.continue_session and not args.resume:
        return Session(**options)  # type: ignore[arg-type]
    if args.continue_session:
        latest = latest_session(Path.cwd())
        if latest is None:
            raise HarnessError(
                f"no saved session in this folder ({Path.cwd()}) to continue",
                hint="start one without --continue",
            )
        chosen = str(latest.path)
    else:
        chosen = args.resume
    if not args.model:
        options.pop("model")
    if not args.mode:
        options.pop("mode")
    return Session.resume(chosen, **options)  # type: ignore[arg-type]


def _list_sessions(args: argparse.Namespace) -> int:
    from harness_tui.core.errors import HarnessError
    from harness_tui.core.storage.saved import list_sessions

    try:
        sessions = list_sessions(None if args.all else Path.cwd())
    except HarnessError as exc:
        return _fail(exc.message, exc.hint)
    if not sessions:
        where = "" if args.all else f" for {Path.cwd()} (--all lists every folder)"
        print(f"no saved sessions{where}", file=sys.stderr)
        return 0
    for info in sessions:
        folder = f"  {info.cwd or '(folder unknown)'}" if args.all else ""
        print(f"{info.session_id}  {info.label(50)}{folder}")
    for info in sessions:  # what was recovered, where the output is not parsed
        if info.damaged:
            print(f"{PROG}: {info.path}: {info.damaged}", file=sys.stderr)
    return 0


def _export(args: argparse.Namespace) -> int:
    from harness_tui.core.errors import HarnessError
    from harness_tui.core.storage.export import export_session
    from harness_tui.core.storage.saved import load_session

    fmt = args.format or ("json" if args.output.endswith(".json") else "markdown")
    try:
        saved = load_session(args.session_id, every_record=fmt == "json")
        text = export_session(saved, fmt)
    except HarnessError as exc:
        return _fail(exc.message, exc.hint)
    if saved.problems:
        print(f"{PROG}: {saved.problems}", file=sys.stderr)
    if args.output == "-":
        sys.stdout.write(text)
        return 0
    try:
        Path(args.output).write_text(text, encoding="utf-8")
    except OSError as exc:
        return _fail(f"cannot write {args.output}: {exc.strerror or exc}")
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


def _trusted_settings(args: argparse.Namespace) -> tuple[bool, object]:
    """Whether the folder is trusted (``--trust`` trusts it for good), and the settings
    that apply: the project's own only in a trusted folder."""
    from pathlib import Path

    from harness_tui.core.config.settings import load_settings
    from harness_tui.core.config.trust import TrustStore

    cwd = Path.cwd()
    store = TrustStore()
    trust = getattr(args, "trust", False)  # `serve` has no --trust
    if trust:
        store.trust(cwd)
    trusted = trust or store.is_trusted(cwd)
    settings = load_settings(cwd, include_project=trusted)
    # Plugins' models, so that --model and the settings' `model` can name them.
    from harness_tui.core.extensions.plugins import (
        plugin_model_sources,
        plugin_roots,
        with_plugin_models,
    )

    roots = plugin_roots(cwd, include_project=trusted)
    return trusted, with_plugin_models(settings, plugin_model_sources(roots))


def _serve(args: argparse.Namespace) -> int:
    try:
        from harness_tui.web.command import run_serve
    except ImportError as exc:
        if (exc.name or "").split(".")[0] not in ("fastapi", "starlette", "uvicorn", "websockets"):
            raise
        return _fail(
            f"the web server needs the [web] extra ({exc.name} is not installed)",
            "pip install 'harness-tui[web]'",
        )
    from harness_tui.core.errors import HarnessError

    try:
        _, settings = _trusted_settings(args)
        model, mode, notices = _configured(args, settings)
        return _guarded(
            lambda: run_serve(
                host=args.host,
                port=args.port,
                model=getattr(model, "name", model),  # by name: each session its own
                mode=mode,
                notices=notices,
                **({"max_sessions": args.max_sessions} if args.max_sessions else {}),
            )
        )
    except BaseException as exc:  # unwrapped below; re-raised unless it is ours
        error = exc
        while isinstance(error, BaseExceptionGroup) and len(error.exceptions) == 1:
            error = error.exceptions[0]
        if isinstance(error, HarnessError):
            return _fail(error.message, error.hint)
        if isinstance(error, KeyboardInterrupt):
            return 130
        raise


def _configured(args: argparse.Namespace, settings: object) -> tuple[object, str, list[str]]:
    """Model, permission mode and warnings, from the command line, then the settings
    files, then the defaults. A bad setting is a warning, never a stop; a bad
    command-line value is an error."""
    from pathlib import Path

    from harness_tui.core.config.settings import Settings
    from harness_tui.core.errors import HarnessError
    from harness_tui.core.providers.models import model_catalogue, resolve_model

    assert isinstance(settings, Settings)
    cwd = Path.cwd()
    catalogue = model_catalogue(cwd, settings)
    notices = [*settings.problems, *catalogue.problems]
    if args.model:
        model: object = resolve_model(args.model, cwd=cwd, settings=settings)
    else:
        model = default_model(catalogue)
        configured = settings.value("model")
        if configured is not None:
            value, source = configured
            try:
                model = resolve_model(str(value), cwd=cwd, settings=settings)
            except HarnessError as exc:
                notices.append(f"{source.label}: model: {exc}; using {model} instead")
    mode = args.mode
    if mode is None:
        mode = "default"
        configured = None
        for section, source in reversed(settings.sections("permissions")):
            if isinstance(section, dict) and "defaultMode" in section:
                configured = section["defaultMode"], source
                break
        if configured is not None:
            value, source = configured
            if value in MODES:
                mode = value
            else:
                notices.append(
                    f"{source.label}: permissions.defaultMode: unknown mode "
                    f"{value!r} (use one of {', '.join(MODES)}); using default"
                )
    return model, mode, notices


def default_model(catalogue: Catalogue | None = None) -> str:
    """The model to use when neither the command line nor the settings name one:
    ``HARNESS_MODEL``, else the default model of the first provider with a key, else
    ``demo`` (which tells the user how to add a key)."""
    from harness_tui.core.providers.models import default_model_name

    return default_model_name(catalogue)


def _fail(message: str, hint: str | None = None) -> int:
    line = f"{PROG}: error: {message}"
    if hint:
        line += f" ({hint})"
    print(line, file=sys.stderr)
    return 2
