"""What the subcommands share: the program's name, the permission modes, errors as one
line on stderr, the guard around a run that starts processes, and the folder's trust,
settings, model and mode as the command line and the settings files give them.

Imports stay lazy: the core loads only inside the functions that need it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from harness_tui.core.providers.catalogue import Catalogue

PROG = "harness-tui"
MODES = ("default", "acceptEdits", "plan", "bypassPermissions")


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def session_name(text: str) -> str:
    """``--name``: any text with a character other than spaces."""
    if not text.strip():
        raise argparse.ArgumentTypeError("a session's name needs a character other than spaces")
    return text


def usd_amount(text: str) -> float:
    """``--max-budget-usd``: ``5``, ``0.50`` or ``$2.5`` (more than zero)."""
    from harness_tui.core.run.budget import parse_usd  # light: no pydantic, no SDK

    try:
        return parse_usd(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def port_number(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError("a port is between 0 and 65535")
    return value


def fail(message: str, hint: str | None = None) -> int:
    line = f"{PROG}: error: {message}"
    if hint:
        line += f" ({hint})"
    print(line, file=sys.stderr)
    return 2


def guarded(run: Callable[[], int]) -> int:
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


def latest_saved(what: str, hint: str) -> str:
    """The path of the latest saved session of this folder; ``HarnessError`` saying
    there is none to ``what`` (and ``hint``) otherwise."""
    from harness_tui.core.errors import HarnessError
    from harness_tui.core.storage.saved import latest_session

    latest = latest_session(Path.cwd())
    if latest is None:
        raise HarnessError(f"no saved session in this folder ({Path.cwd()}){what}", hint=hint)
    return str(latest.path)


def trusted_settings(args: argparse.Namespace, cwd: Path | None = None) -> tuple[bool, object]:
    """Whether the folder (``cwd``, else the current one) is trusted (``--trust``
    trusts it for good), and the settings that apply: the project's own only in a
    trusted folder."""
    from harness_tui.core.config.settings import load_settings
    from harness_tui.core.config.trust import TrustStore

    cwd = cwd or Path.cwd()
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


def configured(
    args: argparse.Namespace, settings: object, cwd: Path | None = None
) -> tuple[object, str, list[str]]:
    """Model, permission mode and warnings, from the command line, then the settings
    files, then the defaults. A bad setting is a warning, never a stop; a bad
    command-line value is an error."""
    from harness_tui.core.config.settings import Settings
    from harness_tui.core.errors import HarnessError
    from harness_tui.core.providers.models import model_catalogue, resolve_model

    assert isinstance(settings, Settings)
    cwd = cwd or Path.cwd()
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
