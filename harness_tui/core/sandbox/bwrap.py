"""bubblewrap: is it here and can it start, and the command line that confines one
command.

What the command line does (``confined_argv``):

- the whole file system read-only (``--ro-bind / /``), a fresh ``/dev`` and ``/proc``;
- a private ``/tmp`` (a folder of the session's, writable); the workspace and the other
  writable paths bound read-write at their own paths;
- inside those, the paths that must never be written (settings, ``.git/hooks``, hook
  scripts, ``denyWrite``) bound read-only again, and the hidden ones (``Read`` deny
  rules, ``denyRead``) covered: an empty read-only folder, or ``/dev/null`` for a file;
- its own network namespace (only ``lo``: no network but through the proxy's bridge),
  its own PID, IPC and UTS namespaces, and it dies with harness-tui
  (``--die-with-parent``);
- no capabilities, and the command as PID 1. (No terminal to inject into: commands
  start in a session of their own with no controlling terminal, see ``run_in_group``.)

Symlinks and ``..`` need no rule of their own: the kernel resolves them, and whatever
they lead to outside the writable paths is on the read-only root.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

#: Set to a path to use another bwrap (or a missing one: tests of the refusal).
BWRAP_ENV = "HARNESS_BWRAP"

_INSTALL = (
    "install bubblewrap (Debian/Ubuntu: sudo apt-get install bubblewrap; Fedora: sudo dnf "
    "install bubblewrap; Arch: sudo pacman -S bubblewrap)"
)
_OFF = 'or turn the sandbox off ("sandbox": {"enabled": false} in your settings)'


@dataclass(frozen=True, slots=True)
class Availability:
    """Whether the sandbox can start here; ``reason``: why not and how to fix it."""

    binary: str | None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.binary is not None and not self.reason


_probed: dict[str, Availability] = {}


def find_bwrap() -> str | None:
    chosen = os.environ.get(BWRAP_ENV)
    if chosen is not None:
        return chosen if os.access(chosen, os.X_OK) and os.path.isfile(chosen) else None
    return shutil.which("bwrap")


def probe() -> Availability:
    """Can bubblewrap make the namespaces we need? Tried once per binary and process
    (a few milliseconds); the answer says what to do when it cannot."""
    if not sys.platform.startswith("linux"):
        return Availability(
            None,
            "the sandbox needs Linux with bubblewrap; on this system Bash cannot be "
            f"confined: {_OFF}",
        )
    binary = find_bwrap()
    if binary is None:
        where = os.environ.get(BWRAP_ENV)
        missing = (
            f"{where} (from {BWRAP_ENV}) is not an executable file"
            if where
            else ("bubblewrap (bwrap) is not installed")
        )
        return Availability(None, f"{missing}: {_INSTALL}, {_OFF}")
    if binary in _probed:
        return _probed[binary]
    argv = [binary, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    argv += [*NAMESPACES, "--", "/bin/true"]
    try:
        done = subprocess.run(argv, capture_output=True, timeout=10, stdin=subprocess.DEVNULL)
        failed = done.returncode != 0
        said = done.stderr.decode(errors="replace").strip()
    except (OSError, subprocess.TimeoutExpired) as exc:
        failed, said = True, str(exc)
    result = Availability(binary, _why(binary, said) if failed else "")
    _probed[binary] = result
    return result


def _why(binary: str, said: str) -> str:
    text = f"{binary} cannot create the sandbox ({said or 'it failed without a message'})"
    lowered = said.lower()
    if "namespace" in lowered or "uid map" in lowered or "permission" in lowered:
        return (
            f"{text}. Unprivileged user namespaces look disabled: allow them (sudo sysctl "
            "-w kernel.unprivileged_userns_clone=1; on Ubuntu 24.04 and later also sudo "
            "sysctl -w kernel.apparmor_restrict_unprivileged_userns=0, or an AppArmor "
            "profile for bwrap), or inside a container run it with --privileged or "
            f"--security-opt seccomp=unconfined; {_OFF}"
        )
    return f"{text}; {_OFF}"


#: Namespaces of every sandbox: no network, no view of the host's processes.
NAMESPACES = ("--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts")
#: No capabilities (bwrap run by root would keep root's: ``mount`` could undo the
#: read-only binds), and the command itself as PID 1, so that no unfiltered bwrap
#: process stays inside for a command to take over (the seccomp filter binds only
#: the command and what it starts).
HARDENING = ("--cap-drop", "ALL", "--as-pid-1")


def confined_argv(
    binary: str,
    argv: list[str],
    *,
    cwd: Path,
    private_tmp: Path,
    writable: Iterable[Path],
    read_only: Iterable[Path],
    hidden: Iterable[Path],
    seccomp_fd: int | None,
) -> list[str]:
    """``argv`` run by bubblewrap as the module's docstring says. Paths must exist
    (callers leave out those that do not); they are bound at their real paths."""
    out = [binary, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    out += ["--bind", str(private_tmp), "/tmp"]
    for path in writable:
        out += ["--bind", str(path), str(path)]
    for path in read_only:
        out += ["--ro-bind", str(path), str(path)]
    for path in hidden:
        if path.is_dir():
            out += ["--tmpfs", str(path), "--remount-ro", str(path)]
        else:
            out += ["--ro-bind", "/dev/null", str(path)]
    out += [*NAMESPACES, *HARDENING, "--die-with-parent", "--setenv", "TMPDIR", "/tmp"]
    if seccomp_fd is not None:
        out += ["--seccomp", str(seccomp_fd)]
    out += ["--chdir", str(cwd), "--", *argv]
    return out
