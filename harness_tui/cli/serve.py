"""``harness-tui serve``: the web server alone (the [web] extra), sessions made by browsers."""

from __future__ import annotations

import argparse

from harness_tui.cli.common import (
    MODES,
    PROG,
    configured,
    fail,
    guarded,
    port_number,
    positive_int,
    trusted_settings,
)


def build_parser() -> argparse.ArgumentParser:
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
        "--port",
        type=port_number,
        default=8765,
        help="port (default: %(default)s; 0 picks a free one)",
    )
    parser.add_argument("--model", help="model for new sessions (default: as for the TUI)")
    parser.add_argument("--mode", choices=MODES, help="permission mode for new sessions")
    parser.add_argument(
        "--max-sessions",
        type=positive_int,
        default=None,
        metavar="N",
        help="live sessions at most; creating another is refused until one is closed (default: 8)",
    )
    durable = parser.add_argument_group(
        "durable service (the [durable] extra)",
        "runs survive a crash of this process and spread over several processes",
    )
    durable.add_argument(
        "--durable",
        action="store_true",
        help="run sessions on DBOS: each run a workflow, each model and tool call a step "
        "(SQLite in the data folder unless --database)",
    )
    durable.add_argument(
        "--database",
        metavar="URL",
        help="postgresql://USER@HOST:PORT/DB: processes given the same database form one "
        "service (implies --durable)",
    )
    durable.add_argument(
        "--max-runs",
        type=positive_int,
        default=None,
        metavar="N",
        help="runs this process executes at once; more wait in the queue (default: 4)",
    )
    return parser


def run(args: argparse.Namespace) -> int:
    durable = args.durable or bool(args.database)
    if args.max_runs and not durable:
        return fail("--max-runs goes with --durable", "add --durable (or --database URL)")
    if durable:
        try:
            import dbos  # noqa: F401
            import sqlalchemy  # noqa: F401
        except ImportError as exc:
            return fail(
                f"the durable service needs the [durable] extra ({exc.name} is not installed)",
                "pip install 'harness-tui[durable]'",
            )
    try:
        from harness_tui.web.command import run_serve

        if durable:
            from harness_tui.durable.command import run_durable_serve as run_serve
    except ImportError as exc:
        if (exc.name or "").split(".")[0] not in ("fastapi", "starlette", "uvicorn", "websockets"):
            raise
        return fail(
            f"the web server needs the [web] extra ({exc.name} is not installed)",
            "pip install 'harness-tui[web]'",
        )
    from harness_tui.core.errors import HarnessError

    try:
        _, settings = trusted_settings(args)
        model, mode, notices = configured(args, settings)
        return guarded(
            lambda: run_serve(
                host=args.host,
                port=args.port,
                model=getattr(model, "name", model),  # by name: each session its own
                mode=mode,
                notices=notices,
                **({"max_sessions": args.max_sessions} if args.max_sessions else {}),
                **({"database": args.database, "max_runs": args.max_runs} if durable else {}),
            )
        )
    except BaseException as exc:  # unwrapped below; re-raised unless it is ours
        error = exc
        while isinstance(error, BaseExceptionGroup) and len(error.exceptions) == 1:
            error = error.exceptions[0]
        if isinstance(error, HarnessError):
            return fail(error.message, error.hint)
        if isinstance(error, KeyboardInterrupt):
            return 130
        raise
