"""What the user may let through the sandbox, and what the model is told when it
refuses: a write outside the writable paths (asked after the command: once, for the
session, always as an ``Edit(...)`` rule) and a host not on the allow-list (asked while
the connection waits: once, for the session, always as a ``WebFetch(domain:...)``
rule). Only the user's answer grants anything; nobody to ask (headless) means no."""

from __future__ import annotations

import os
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio

from harness_tui.core.events import SandboxBlocked
from harness_tui.core.permissions.rules import save_allow_rules
from harness_tui.core.sandbox.config import SandboxConfig
from harness_tui.core.tools.base import Tool, ToolContext

#: Names in a writable folder that are never writable from inside (what grants
#: permissions or runs code; see ``permissions.protected_paths``).
PROTECTED_NAMES = (".harness", ".claude", ".mcp.json", ".git/hooks", ".git/config")
_ALWAYS_FILE = Path(".harness") / "settings.local.yaml"
_QUOTED = re.compile(r"'([^'\n]+)'|\"([^\"\n]+)\"|\u2018([^\u2019\n]+)\u2019|`([^'\n]+)'")
_ROFS = "Read-only file system"


class _NetworkAccess(Tool):
    """What a question about a host or a path is asked for (the dialog shows it)."""

    name = "Bash"
    description = "a sandboxed command's network connection"
    input_schema = {"type": "object"}


class Grants:
    """The user's grants and the questions behind them (mixed into ``Sandbox``)."""

    cwd: Path
    emit: Callable[..., Awaitable[Any]]
    broker: Any
    project_root: Path
    config: SandboxConfig
    _placeholders: set[Path]
    _active: dict[int, Any]

    def __init__(self) -> None:
        #: Granted by the user: for the session, and until the commands running end.
        self.session_writable: list[Path] = []
        self.once_writable: list[Path] = []
        self.session_domains: set[str] = set()
        self.once_domains: set[str] = set()
        self.refused_domains: set[str] = set()
        self._asking: dict[str, anyio.Event] = {}

    def _can_ask(self, ctx: ToolContext | None) -> bool:
        """Is there someone to ask, for this call? A call (questions belong to one),
        not headless (the broker denies at once), and not in ``bypassPermissions``
        (which asks nothing: the sandbox's limits then simply hold)."""
        if ctx is None or self.broker is None:
            return False
        if getattr(self.broker, "policy", "deny") == "deny":
            return False
        return ctx.permission_mode != "bypassPermissions"

    def _writable(self) -> list[Path]:
        raise NotImplementedError

    def _read_only(self, writable: list[Path]) -> list[Path]:
        raise NotImplementedError

    async def _refused(self, paths: list[Path], ctx: ToolContext | None) -> str:
        shown = ", ".join(str(p) for p in paths[:5])
        guarded = [*self._read_only(self._writable()), *self._placeholders]
        guarded += [self.cwd / name for name in PROTECTED_NAMES]
        protected = [p for p in guarded if paths[0].is_relative_to(p)]
        for path in paths[:5]:
            await self.emit(
                SandboxBlocked,
                kind="write",
                target=str(path),
                tool_call_id=ctx.tool_call_id if ctx else None,
                reason="protected: never writable from inside the sandbox"
                if any(path.is_relative_to(p) for p in guarded)
                else "outside the sandbox's writable paths",
            )
        if protected:
            return (
                f"The sandbox refused a write to {shown}: {protected[0]} is protected (it "
                "grants permissions, starts servers or runs code), and is never writable "
                "from inside the sandbox. Ask the user to make that change."
            )
        text = (
            f"The sandbox refused a write to {shown}: outside the writable paths "
            f"({', '.join(str(p) for p in self._writable())} and /tmp). Write inside the "
            "workspace instead, or ask the user to allow the path."
        )
        grant = _grantable(paths[0])
        if grant is None or ctx is None or not self._can_ask(ctx):
            return text + (
                ' The user can allow it with "sandbox": {"filesystem": {"allowWrite": '
                f'["{paths[0]}"]}}}} in a settings file.'
            )
        answer = await self.broker.ask(
            _NetworkAccess(),
            {"write": str(grant)},
            ctx,
            f"the sandbox refused a write to {paths[0]}; allow sandboxed commands to "
            f"write {grant}?",
            rule=f"Edit(/{grant}/**)" if grant.is_dir() else f"Edit(/{grant})",
        )
        if not answer.allowed:
            said = f" They said: {answer.reason}" if answer.reason else ""
            return f"{text} The user did not allow it.{said}"
        await self.emit(
            SandboxBlocked,
            kind="write",
            target=str(paths[0]),
            tool_call_id=ctx.tool_call_id,
            reason=f"the user allowed writing {grant}",
            allowed=True,
        )
        if answer.decision == "allow_once":
            self.once_writable.append(grant)
            scope = "for the next command"
        else:
            self.session_writable.append(grant)
            scope = "for this session"
            if answer.decision == "allow_always":
                rule = f"Edit(/{grant}/**)" if grant.is_dir() else f"Edit(/{grant})"
                await self._save(rule)
                scope = "from now on"
        return (
            f"The sandbox refused a write to {shown}. The user has now allowed writing "
            f"{grant} {scope}: run the command again if it still needs to."
        )

    async def _save(self, rule: str) -> None:
        problem = await anyio.to_thread.run_sync(
            save_allow_rules, self.project_root / _ALWAYS_FILE, [rule]
        )
        if problem and self.broker is not None:
            await self.broker.notice(problem)

    # --- the network --------------------------------------------------------------------

    async def _decide_host(self, host: str, port: int) -> bool:
        from harness_tui.core.sandbox.proxy import allowed as host_allowed
        from harness_tui.core.sandbox.proxy import domain_matches

        host = host.lower().rstrip(".")
        config = self.config
        if domain_matches(host, config.denied_domains):
            return False
        listed = [*config.allowed_domains, *self.session_domains, *self.once_domains]
        if host_allowed(host, listed, config.denied_domains):
            return True
        if host in self.refused_domains:
            return False
        waiting = self._asking.get(host)
        if waiting is not None:
            await waiting.wait()
            return host_allowed(host, [*self.session_domains, *self.once_domains], [])
        self._asking[host] = anyio.Event()
        try:
            return await self._ask_host(host, port)
        finally:
            self._asking.pop(host).set()

    async def _ask_host(self, host: str, port: int) -> bool:
        ctx = self._asking_context()
        if ctx is None or not self._can_ask(ctx):
            self.refused_domains.add(host)
            return False
        answer = await self.broker.ask(
            _NetworkAccess(),
            {"host": host, "port": port},
            ctx,
            f"a sandboxed command wants to reach {host}:{port}, which is not on the "
            "sandbox's network allow-list",
            rule=f"WebFetch(domain:{host})",
        )
        if not answer.allowed:
            self.refused_domains.add(host)
            return False
        if answer.decision == "allow_once":
            self.once_domains.add(host)
        else:
            self.session_domains.add(host)
            if answer.decision == "allow_always":
                await self._save(f"WebFetch(domain:{host})")
        return True

    def _asking_context(self) -> ToolContext | None:
        contexts = [a.ctx for a in self._active.values() if a.ctx is not None]
        foreground = [a.ctx for a in self._active.values() if a.ctx and not a.background]
        chosen = foreground or contexts
        return chosen[-1] if chosen else None

    async def _blocked_host(self, host: str, port: int) -> None:
        ctx = self._asking_context()
        target = f"{host}:{port}"
        for active in self._active.values():  # each command that may have made it
            if target not in active.blocked:
                active.blocked.append(target)
        await self.emit(
            SandboxBlocked,
            kind="network",
            target=target,
            tool_call_id=ctx.tool_call_id if ctx else None,
            reason="not on the sandbox's network allow-list",
        )

    def _blocked_note(self, targets: list[str]) -> str:
        hosts = sorted({t.rsplit(":", 1)[0] for t in targets})
        shown = ", ".join(targets[:5]) + (
            f" and {len(targets) - 5} more" if len(targets) > 5 else ""
        )
        allowed = ", ".join(self.config.allowed_domains) or "none"
        return (
            f"The sandbox blocked network connections to {shown}: not on its network "
            f"allow-list (allowed: {allowed}). Do not work around it; if the command needs "
            f"{' or '.join(hosts)}, ask the user to allow it (sandbox.network.allowedDomains "
            "in a settings file, or the question they are asked)."
        )


def refused_writes(output: str, cwd: Path) -> list[Path]:
    """Paths that ``Read-only file system`` errors in the output name (relative ones
    against ``cwd``): ``bash: line 1: PATH: Read-only ...``, ``touch: cannot touch
    'PATH': Read-only ...``, Python's ``[Errno 30] Read-only file system: 'PATH'``."""
    if _ROFS not in output:
        return []
    found: list[Path] = []
    for line in output.splitlines():
        if _ROFS not in line:
            continue
        quoted = [next(g for g in m.groups() if g) for m in _QUOTED.finditer(line)]
        if quoted:
            text = quoted[-1]
        else:
            before = line.split(_ROFS, 1)[0].rstrip(": ")
            text = before.rsplit(": ", 1)[-1].split()[-1] if before.strip() else ""
        if text:
            # Through symlinks: where the write really went.
            found.append(Path(os.path.realpath(cwd / text)))
    return list(dict.fromkeys(found))


def _grantable(path: Path) -> Path | None:
    """What a yes would make writable: the path if it exists, else the nearest
    existing folder above it; never the root, the home folder itself or a folder
    directly in the root (``/usr``, ``/etc``)."""
    candidate = path
    while not candidate.exists():
        if candidate.parent == candidate:
            return None
        candidate = candidate.parent
    real = Path(os.path.realpath(candidate))
    if len(real.parts) <= 2 or real == Path.home():
        return None
    return real
