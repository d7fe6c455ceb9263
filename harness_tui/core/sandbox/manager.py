"""The sandbox of one session: which commands it confines, how each is wrapped, the
proxy that lets them reach allowed hosts, and what it tells the user and the model.

- ``confine`` (``ShellSession.confine``) wraps a command in bubblewrap
  (``bwrap.confined_argv``), unless the sandbox is off or the command is one of
  ``excludedCommands``; when the sandbox is on and cannot start it refuses (the
  command does not run: *fail closed*).
- Network: with hosts to allow, or a user to ask, commands get a bridge inside the
  sandbox (``bridge.py``) to the session's proxy (``proxy.py``) and the proxy variables
  (``HTTP_PROXY``, ``ALL_PROXY``...). A host on neither list is asked about (allow once:
  while this command runs; for the session; always: a ``WebFetch(domain:...)`` rule in
  ``.harness/settings.local.yaml``); headless, it is refused. Every refusal is a
  ``SANDBOX_BLOCKED`` event.
- Unix sockets: a seccomp filter makes ``socket(AF_UNIX)`` fail (``seccomp.py``), unless
  ``allowAllUnixSockets``.
- After a command, a write the sandbox refused (``Read-only file system``) is said
  plainly to the model, and the user is asked whether to make that path writable (once:
  the next command; for the session; always: an ``Edit(...)`` rule, which Claude Code
  also reads as writable). The model cannot grant it: only the user's answer does.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import anyio.abc

from harness_tui.core.config.settings import Settings
from harness_tui.core.permissions.rules import RuleSet, bash_rule_matches
from harness_tui.core.sandbox import bwrap
from harness_tui.core.sandbox.config import SandboxConfig, sandbox_config
from harness_tui.core.sandbox.grants import PROTECTED_NAMES, Grants, refused_writes
from harness_tui.core.sandbox.status import SandboxStatus
from harness_tui.core.tools.base import ToolContext
from harness_tui.core.tools.shell import CURRENT_CALL, Launch

log = logging.getLogger(__name__)

#: Where the bridge listens inside the sandbox (its own network namespace: no clash).
HTTP_PORT, SOCKS_PORT = 39127, 39128
#: Missing protected folders are made (empty) and bound read-only while commands run.
_PLACEHOLDER_DIRS = (".harness", ".claude")


@dataclass
class _Active:
    """A command running in the sandbox."""

    ctx: ToolContext | None
    background: bool
    cwd: Path
    missing_before: set[Path] = field(default_factory=set)
    #: Hosts the proxy refused while it ran.
    blocked: list[str] = field(default_factory=list)


class Sandbox(Grants):
    """The sandbox of one session (see the module's docstring)."""

    def __init__(
        self,
        cwd: Path,
        emit: Callable[..., Awaitable[Any]],
        *,
        broker: Any = None,
        project_root: Path | None = None,
    ) -> None:
        super().__init__()
        self.cwd = Path(os.path.realpath(cwd))
        self.emit = emit
        self.broker = broker
        self.project_root = project_root or self.cwd
        self.config = SandboxConfig()
        self.extra_roots: list[Path] = []
        self.protected_files: set[Path] = set()
        self._active: dict[int, _Active] = {}
        self._next = 0
        self._root: Path | None = None
        self._placeholders: set[Path] = set()
        self._proxy: Any = None
        self._proxy_scope: anyio.CancelScope | None = None
        self.group: anyio.abc.TaskGroup | None = None
        self._availability: bwrap.Availability | None = None

    # --- configuration ----------------------------------------------------------------

    def configure(
        self,
        settings: Settings,
        ruleset: RuleSet,
        *,
        extra_roots: Iterable[Path] = (),
        protected_files: Iterable[Path] = (),
    ) -> list[str]:
        """Read the settings; the problems found (each names the file and key)."""
        self.config = sandbox_config(settings, ruleset, self.cwd)
        self.extra_roots = [Path(os.path.realpath(p)) for p in extra_roots]
        self.protected_files = {Path(os.path.realpath(p)) for p in protected_files}
        return self.config.problems

    @property
    def enabled(self) -> bool:
        return self.config.enabled

    def availability(self) -> bwrap.Availability:
        if self._availability is None:
            self._availability = bwrap.probe()
        return self._availability

    def excluded(self, command: str) -> bool:
        """Is ``command`` (any of its simple commands) one of ``excludedCommands``?
        An entry ``docker`` matches ``docker`` and ``docker ...``; entries take the
        ``Bash(...)`` rule forms (``npm run:*``, ``git * --force``)."""
        if not self.config.excluded_commands:
            return False
        from harness_tui.core.shell.commands import command_texts, inner_commands
        from harness_tui.core.shell.split import split_command

        home = str(Path.home())
        try:
            simple = inner_commands(split_command(command), home, {})
            parts = [text for part in simple for text in command_texts(part, home)]
        except Exception:  # an unparsable command is matched whole
            parts = [command]
        for entry in self.config.excluded_commands:
            content = entry if entry.endswith(":*") or "*" in entry else f"{entry}:*"
            if any(bash_rule_matches(content, part) for part in parts or [command]):
                return True
        return False

    def confines(self, input: dict[str, Any]) -> bool:
        """Would this ``Bash`` input run in the sandbox (on, able to start, not
        excluded, not asked to run outside)?"""
        if not self.enabled or not self.availability().ok:
            return False
        if input.get("dangerouslyDisableSandbox") and self.config.allow_unsandboxed:
            return False
        return not self.excluded(str(input.get("command", "")))

    def auto_allows(self, input: dict[str, Any]) -> bool:
        """May the permission engine let this ``Bash`` call run without asking?"""
        return self.config.auto_allow and self.confines(input)

    def status(self) -> SandboxStatus:
        config = self.config
        if not config.enabled:
            return SandboxStatus(state="off")
        available = self.availability()
        common: dict[str, Any] = {
            "auto_allow": config.auto_allow,
            "excluded_commands": tuple(config.excluded_commands),
            "allowed_domains": tuple(config.allowed_domains + sorted(self.session_domains)),
            "denied_domains": tuple(config.denied_domains),
            "unix_sockets": config.all_unix_sockets,
        }
        if not available.ok:
            return SandboxStatus(state="unavailable", reason=available.reason, **common)
        return SandboxStatus(
            state="on",
            writable=(*(str(p) for p in self._writable()), "/tmp (private)"),
            denied_write=tuple(str(p) for p in self._read_only(self._writable())),
            denied_read=tuple(str(p) for p in config.deny_read),
            **common,
        )

    # --- paths ------------------------------------------------------------------------

    def _writable(self) -> list[Path]:
        roots = [self.cwd, *self.extra_roots, *self.config.allow_write]
        roots += self.session_writable + self.once_writable
        real = [Path(os.path.realpath(p)) for p in roots]
        return [p for p in dict.fromkeys(real) if p.exists()]

    def _read_only(self, writable: list[Path]) -> list[Path]:
        """Existing paths inside the writable ones that must stay read-only."""
        found: list[Path] = []
        for root in writable:
            for name in PROTECTED_NAMES:
                path = root / name
                if os.path.lexists(path):
                    found.append(Path(os.path.realpath(path)))
        for path in [*self.protected_files, *self.config.deny_write]:
            real = Path(os.path.realpath(path))
            if real.exists() and any(real.is_relative_to(root) for root in writable):
                found.append(real)
        return list(dict.fromkeys(found))

    def _hidden(self) -> list[Path]:
        return [p for p in dict.fromkeys(self.config.deny_read) if os.path.lexists(p)]

    # --- wrapping a command -----------------------------------------------------------

    async def confine(
        self,
        argv: list[str],
        *,
        cwd: Path,
        env: dict[str, str],
        writable: tuple[Path, ...] = (),
        command: str = "",
        background: bool = False,
        unsandboxed: bool = False,
    ) -> Launch:
        """``argv`` wrapped in the sandbox, or as it is (off, excluded, or the model
        asked to run outside and ``allowUnsandboxedCommands`` lets it: the permission
        engine then asks as usual), or refused."""
        outside = unsandboxed and self.config.allow_unsandboxed
        if not self.enabled or outside or self.excluded(command):
            return Launch(argv, env)
        available = self.availability()
        if not available.ok or available.binary is None:
            return Launch(argv, env, refused=_refusal(available.reason))
        root = self._ensure_root()
        roots = self._writable()
        missing = self._make_placeholders(roots)
        program = self._seccomp_file(root)
        network = self._network_wanted()
        inner, seccomp_fd = list(argv), None
        env = {**env, "HARNESS_SANDBOX": "1"}
        if network:
            await self._start_proxy(root)
            from harness_tui.core.sandbox.netenv import bridge_argv, proxy_env

            ro = root / "ro"
            inner = bridge_argv(
                _python(),
                [(HTTP_PORT, str(ro / "http.sock")), (SOCKS_PORT, str(ro / "socks.sock"))],
                str(program) if program else None,
                inner,
                script=str(ro / "bridge.py"),
            )
            env.update(proxy_env(HTTP_PORT, SOCKS_PORT))
        elif program is not None:
            seccomp_fd = 3
        wrapped = bwrap.confined_argv(
            available.binary,
            inner,
            cwd=cwd,
            private_tmp=root / "tmp",
            writable=[*roots, *(Path(p) for p in writable)],
            read_only=[*self._read_only(roots), root / "ro"],
            hidden=self._hidden(),
            seccomp_fd=seccomp_fd,
        )
        if seccomp_fd is not None and program is not None:
            # bwrap reads the filter from a descriptor; the shell opens it for bwrap.
            wrapped = ["/bin/sh", "-c", 'exec "$@" 3<"$0"', str(program), *wrapped]
        self._next += 1
        key = self._next
        self._active[key] = _Active(CURRENT_CALL.get(), background, cwd, missing)

        async def report(output: str) -> str | None:
            return await self._after(key, output)

        return Launch(wrapped, env, sandboxed=True, report=report)

    def _network_wanted(self) -> bool:
        return bool(
            self.config.allowed_domains or self.session_domains or self._can_ask(CURRENT_CALL.get())
        )

    def _ensure_root(self) -> Path:
        if self._root is None:
            root = Path(tempfile.mkdtemp(prefix="harness-sbx-"))
            (root / "tmp").mkdir()
            (root / "ro").mkdir()
            self._root = root
        return self._root

    def _seccomp_file(self, root: Path) -> Path | None:
        """The unix-socket filter, written once into the read-only folder."""
        if self.config.all_unix_sockets:
            return None
        path = root / "ro" / "unix-sockets.bpf"
        if not path.exists():
            from harness_tui.core.sandbox.seccomp import unix_socket_filter

            path.write_bytes(unix_socket_filter())
        return path

    def _make_placeholders(self, roots: list[Path]) -> set[Path]:
        """Missing protected folders become empty ones (bound read-only while the
        command runs, removed when no command needs them); missing protected files
        are remembered, to be removed if a command creates them."""
        missing: set[Path] = set()
        for name in PROTECTED_NAMES:
            path = self.cwd / name
            if os.path.lexists(path):
                continue
            if name in _PLACEHOLDER_DIRS:
                path.mkdir()
                self._placeholders.add(path)
            elif "/" not in name:
                missing.add(path)
        return missing

    async def _start_proxy(self, root: Path) -> None:
        if self._proxy is not None:
            return
        from harness_tui.core.sandbox.proxy import SandboxProxy

        bridge = Path(__file__).with_name("bridge.py")
        shutil.copyfile(bridge, root / "ro" / "bridge.py")
        self._proxy = SandboxProxy(self._decide_host, on_blocked=self._blocked_host)
        if self.group is None:
            raise RuntimeError("the sandbox's proxy needs the session's task group")
        await self.group.start(self._serve, root / "ro")

    async def _serve(self, folder: Path, *, task_status: Any = anyio.TASK_STATUS_IGNORED) -> None:
        with anyio.CancelScope() as scope:
            self._proxy_scope = scope
            async with self._proxy.serving(folder):
                task_status.started()
                await anyio.sleep_forever()

    # --- after a command --------------------------------------------------------------

    async def _after(self, key: int, output: str) -> str | None:
        active = self._active.pop(key, None)
        notes: list[str] = []
        if active is not None:
            notes += _remove_created(active.missing_before)
            refused = refused_writes(output, active.cwd)
            if refused:
                notes.append(await self._refused(refused, active.ctx))
            if active.blocked:
                notes.append(self._blocked_note(active.blocked))
        if not self._active:
            self._idle()
        return "\n".join(notes) or None

    def _idle(self) -> None:
        self.once_writable.clear()
        self.once_domains.clear()
        self.refused_domains.clear()
        for path in list(self._placeholders):
            try:
                path.rmdir()  # only when still empty
            except OSError:
                continue
            self._placeholders.discard(path)

    async def aclose(self) -> None:
        if self._proxy_scope is not None:
            self._proxy_scope.cancel()
            self._proxy_scope = None
        self._proxy = None
        self._active.clear()
        self._idle()
        if self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)
            self._root = None


def _python() -> str:
    """The interpreter for the bridge (stdlib only): the one a virtual environment was
    made from, which starts a few milliseconds sooner than the environment's own."""
    base = getattr(sys, "_base_executable", "") or sys.executable
    return base if os.access(base, os.X_OK) else sys.executable


def _remove_created(paths: Iterable[Path]) -> list[str]:
    """Protected files that did not exist when the command started and do now: only
    the command can have made them (the workspace is bound into the sandbox whole, and
    a file that does not exist cannot be bound read-only), so they go."""
    notes = []
    for path in sorted(paths):
        if not os.path.lexists(path) or os.path.isdir(path):
            continue
        try:
            path.unlink()
        except OSError as exc:
            log.warning("could not remove %s: %s", path, exc)
            continue
        notes.append(
            f"The sandbox removed {path}, which the command created: files that start "
            "servers or grant permissions are never written from inside the sandbox."
        )
    return notes


def _refusal(reason: str) -> str:
    return (
        "The sandbox is on but cannot start, so the command was not run (harness-tui "
        f"does not run commands unconfined when the sandbox is on): {reason}. Tell the "
        "user; /sandbox shows the state."
    )
