"""What ``/sandbox`` shows: the sandbox's state, what it lets commands write and
reach, and, when it cannot start, why and how to fix that."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

State = Literal["off", "on", "unavailable"]


@dataclass(frozen=True, slots=True)
class SandboxStatus:
    """The sandbox of one session, as the views show it."""

    state: State = "off"
    #: Why it cannot start and how to fix it (``unavailable``), or why it is off.
    reason: str = ""
    #: Sandboxed commands run without asking (``autoAllowBashIfSandboxed``).
    auto_allow: bool = True
    writable: tuple[str, ...] = ()
    denied_write: tuple[str, ...] = ()
    denied_read: tuple[str, ...] = ()
    allowed_domains: tuple[str, ...] = ()
    denied_domains: tuple[str, ...] = ()
    excluded_commands: tuple[str, ...] = ()
    unix_sockets: bool = False
    #: Which settings files said what (``path: key``), lowest precedence first.
    sources: tuple[str, ...] = field(default_factory=tuple)

    def lines(self) -> list[str]:
        """The status as plain lines of text (the TUI and ``-p`` print them)."""
        if self.state == "off":
            out = ["Sandbox: off (Bash runs unconfined, under the permission rules)."]
            if self.reason:
                out.append(self.reason)
            out.append('Turn it on with "sandbox": {"enabled": true} in a settings file.')
            return out
        if self.state == "unavailable":
            return [
                "Sandbox: on, but it cannot start: Bash refuses to run commands.",
                self.reason,
            ]
        approve = (
            "run without asking (autoAllowBashIfSandboxed)"
            if self.auto_allow
            else "ask as usual (autoAllowBashIfSandboxed is off)"
        )
        out = [f"Sandbox: on (bubblewrap). Sandboxed commands {approve}."]

        def section(title: str, items: tuple[str, ...], empty: str) -> None:
            out.append(f"{title}:")
            out.extend(f"  {item}" for item in items) if items else out.append(f"  {empty}")

        section("Writable", self.writable, "(nothing)")
        section("Never writable", self.denied_write, "(nothing)")
        section("Hidden (Read deny rules, denyRead)", self.denied_read, "(nothing)")
        section("Network: allowed domains", self.allowed_domains, "(none: no network)")
        if self.denied_domains:
            section("Network: denied domains", self.denied_domains, "")
        section("Run outside the sandbox (excludedCommands)", self.excluded_commands, "(none)")
        out.append(
            "Unix sockets: " + ("allowed (allowAllUnixSockets)" if self.unix_sockets else "blocked")
        )
        return out
