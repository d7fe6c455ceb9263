"""The sandbox's side of the network: TCP ports on the sandbox's loopback, forwarded to the
host proxy's unix sockets; then the command, with unix sockets refused.

A STANDALONE script (standard library only, no harness_tui import): bubblewrap runs it
inside the sandbox as ``python3 -I -S bridge.py --listen PORT=UNIX_PATH ... [--seccomp
FILE] -- COMMAND...``. Inside ``--unshare-net`` there is only ``lo``; the command's
``HTTP_PROXY``/``ALL_PROXY`` point at the ports this bridge listens on, and each accepted
connection is spliced (both ways, half-close aware) to the proxy's unix socket, which the
sandbox sees through the bind mount of the folder holding it.

Order: the ports are bound first (the command can connect at once); then the command is
forked; the child installs the seccomp program (``--seccomp``: ``socket(AF_UNIX)`` fails
with EPERM; the install failing ends the child with 125, never an unfiltered command) and
execs the command (the listening sockets are close-on-exec). The parent is NOT filtered:
it must create a unix socket per connection. The command cannot create unix sockets, so
it can reach the proxy only over TCP, through the parent.

The parent is not dumpable (``PR_SET_DUMPABLE`` 0), so that a command without
``CAP_SYS_PTRACE`` cannot ptrace it or write its memory (``/proc/PID/mem``,
``process_vm_writev``, ``pidfd_getfd``) to use its unix sockets; a command that keeps
``CAP_SYS_PTRACE`` (bubblewrap run as root without ``--cap-drop ALL``) can.

The parent forwards SIGTERM, SIGINT and SIGHUP to the command and ends like it: the same
exit code, or the same signal re-raised on itself (as the sandbox's PID 1 a signal cannot
end it: then 128 + the signal, as a shell reports it). Errors of the bridge itself: 125.
Start-up matters (one per Bash call): only C modules are imported (``_socket``,
``_signal``, ``_thread``, ``_ctypes`` in the child), not their Python wrappers (``socket``
alone pulls ``enum`` and ``selectors``).
"""

from __future__ import annotations

import _socket
import _thread
import os
import sys

TYPE_CHECKING = False  # typing is not imported at run time (start-up)
if TYPE_CHECKING:
    import signal as _signal
    from typing import NoReturn
else:
    import _signal  # the C module under `signal`, without its enum wrappers

#: Exit code for the bridge's own failures (bad arguments, a port in use, no filter).
BRIDGE_ERROR = 125
FORWARDED_SIGNALS = (_signal.SIGTERM, _signal.SIGINT, _signal.SIGHUP)
CHUNK = 65536

_PR_SET_DUMPABLE = 4
_PR_SET_NO_NEW_PRIVS = 38
_PR_SET_SECCOMP = 22
_SECCOMP_MODE_FILTER = 2


def _prctl(option: int, arg2: int, arg3: int = 0, *, name: str) -> None:
    """``prctl(option, arg2, arg3, 0, 0)`` through ``_ctypes`` directly (``ctypes`` would
    cost 4 ms more on every command's start). Raises ``OSError`` naming ``name``."""
    import _ctypes

    class ULong(_ctypes._SimpleCData):
        _type_ = "L"

    class Int(_ctypes._SimpleCData):
        _type_ = "i"

    class Libc:
        _handle = _ctypes.dlopen(None, os.RTLD_NOW)  # type: ignore[arg-type]

    class Function(_ctypes.CFuncPtr):
        _flags_ = _ctypes.FUNCFLAG_CDECL | _ctypes.FUNCFLAG_USE_ERRNO
        _restype_ = Int

    prctl = Function(("prctl", Libc()))  # type: ignore[arg-type]
    prctl.argtypes = (ULong,) * 5
    if prctl(option, arg2, arg3, 0, 0) != 0:
        err = _ctypes.get_errno()
        raise OSError(err, f"prctl({name}): {os.strerror(err)}")


def _pinned(data: bytes) -> tuple[object, int]:
    """A C copy of ``data`` (keep the first item alive) and its address."""
    import _ctypes

    class Byte(_ctypes._SimpleCData):
        _type_ = "B"

    kind = type("Buffer", (_ctypes.Array,), {"_type_": Byte, "_length_": len(data)})
    copy = kind.from_buffer_copy(data)  # type: ignore[attr-defined]
    return copy, _ctypes.addressof(copy)


def install_seccomp(program: bytes) -> None:
    """``prctl(PR_SET_NO_NEW_PRIVS, 1)`` then ``prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER,
    &sock_fprog)`` (prctl(2), Documentation/userspace-api/seccomp_filter.rst); ``struct
    sock_fprog`` laid out by hand for 64-bit Linux (unsigned short, padding, pointer).
    Raises ``ValueError`` for a program that is not whole 8-byte instructions, ``OSError``
    when the kernel refuses."""
    if not program or len(program) % 8 or len(program) // 8 > 4096:
        raise ValueError(f"seccomp program of {len(program)} bytes: not 1..4096 instructions")
    instructions, address = _pinned(program)
    order = sys.byteorder
    fprog, fprog_address = _pinned(
        (len(program) // 8).to_bytes(2, order) + bytes(6) + address.to_bytes(8, order)
    )
    _prctl(_PR_SET_NO_NEW_PRIVS, 1, name="PR_SET_NO_NEW_PRIVS")
    _prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, fprog_address, name="PR_SET_SECCOMP")
    del instructions, fprog  # the kernel has its own copy now


def parse(args: list[str]) -> tuple[list[tuple[int, str]], str | None, list[str]]:
    """``--listen PORT=PATH`` (repeatable), ``--seccomp FILE``, ``--``, the command.
    Raises ``ValueError`` naming the bad argument."""
    listens: list[tuple[int, str]] = []
    seccomp: str | None = None
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            command = args[i + 1 :]
            if not command:
                raise ValueError("no command after --")
            return listens, seccomp, command
        if arg not in ("--listen", "--seccomp") or i + 1 >= len(args):
            raise ValueError(
                f"unexpected argument {arg!r} (want --listen PORT=PATH, --seccomp FILE, --)"
            )
        value = args[i + 1]
        if arg == "--seccomp":
            seccomp = value
        else:
            port, sep, path = value.partition("=")
            if not sep or not port.isdigit() or not 0 < int(port) < 65536 or not path:
                raise ValueError(f"--listen {value!r}: want PORT=UNIX_SOCKET_PATH")
            listens.append((int(port), path))
        i += 2
    raise ValueError("missing -- before the command")


def _pump(src: _socket.socket, dst: _socket.socket, done: _thread.LockType | None = None) -> None:
    """Copy until EOF, then half-close ``dst``; on an error, shut both down (which ends
    the other direction too). ``done`` (a lock) is released at the end."""
    try:
        while data := src.recv(CHUNK):
            dst.sendall(data)
        dst.shutdown(_socket.SHUT_WR)
    except OSError:
        for s in (src, dst):
            try:
                s.shutdown(_socket.SHUT_RDWR)
            except OSError:
                pass
    finally:
        if done is not None:
            done.release()


def _forward(conn: _socket.socket, path: str) -> None:
    upstream = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        upstream.connect(path)
    except OSError:
        conn.close()
        upstream.close()
        return
    back = _thread.allocate_lock()
    back.acquire()
    _thread.start_new_thread(_pump, (upstream, conn, back))
    _pump(conn, upstream)
    back.acquire()  # the other direction is done too
    conn.close()
    upstream.close()


def _serve(listener: _socket.socket, path: str) -> None:
    import time

    while True:
        try:
            fd, _ = listener._accept()  # type: ignore[attr-defined]
        except OSError:  # out of file descriptors, say: try again soon
            time.sleep(0.05)
            continue
        conn = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM, 0, fd)
        _thread.start_new_thread(_forward, (conn, path))


def _child(program: bytes | None, command: list[str]) -> NoReturn:
    """Never returns: the command, or an exit with a message."""
    try:
        # Python ignores these; an exec'd program must get the defaults back.
        for sig in (_signal.SIGPIPE, _signal.SIGXFSZ):
            _signal.signal(sig, _signal.SIG_DFL)
        if program is not None:
            install_seccomp(program)
    except (OSError, ValueError) as err:
        _fail(f"cannot block unix sockets, command not run: {err}")
    try:
        _execvp(command)
    except FileNotFoundError:
        sys.stderr.write(f"{command[0]}: command not found\n")
        os._exit(127)
    except OSError as err:
        sys.stderr.write(f"{command[0]}: {err.strerror}\n")
        os._exit(126)


def _execvp(command: list[str]) -> NoReturn:
    """``os.execvp`` without its ``warnings`` import (1 ms on every command's start)."""
    name = command[0]
    if "/" in name:
        os.execv(name, command)
    denied: OSError | None = None
    for folder in os.environ.get("PATH", os.defpath).split(os.pathsep):
        try:
            os.execv(os.path.join(folder or ".", name), command)
        except (FileNotFoundError, NotADirectoryError):
            continue
        except PermissionError as err:
            denied = err
    raise denied or FileNotFoundError(name)


def _fail(message: str) -> NoReturn:
    sys.stderr.write(f"harness-tui sandbox bridge: {message}\n")
    sys.stderr.flush()
    os._exit(BRIDGE_ERROR)


def _end_like(status: int) -> NoReturn:
    code = os.waitstatus_to_exitcode(status)
    if code < 0:
        try:
            import resource

            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # no core file of ours
        except (ImportError, OSError, ValueError):
            pass
        _signal.signal(-code, _signal.SIG_DFL)
        os.kill(os.getpid(), -code)
        os._exit(128 - code)  # a signal that does not end a process
    os._exit(code)


def main(args: list[str]) -> None:
    """Run the bridge: bind, fork the command, forward, end like the command."""
    try:
        listens, seccomp_file, command = parse(args)
        program = None
        if seccomp_file is not None:
            with open(seccomp_file, "rb") as f:
                program = f.read()
        listeners = []
        for port, path in listens:
            listener = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM)
            listener.setsockopt(_socket.SOL_SOCKET, _socket.SO_REUSEADDR, 1)
            listener.bind(("127.0.0.1", port))
            listener.listen(128)
            listeners.append((listener, path))
        # Not dumpable: the command (same user, once its capabilities are dropped) can
        # neither ptrace this unfiltered process nor write its memory to make it open
        # unix sockets for it. The command itself gets dumpable back at its exec.
        _prctl(_PR_SET_DUMPABLE, 0, name="PR_SET_DUMPABLE")
    except (OSError, ValueError) as err:
        _fail(str(err))
    # The handlers are set before the fork: a signal that comes while the command is
    # being started is kept and sent on as soon as there is a command to send it to.
    for sig in FORWARDED_SIGNALS:
        _signal.signal(sig, _on_signal)
    pid = os.fork()
    if pid == 0:
        for sig in FORWARDED_SIGNALS:
            _signal.signal(sig, _signal.SIG_DFL)
        _child(program, command)
    _command[0] = pid
    while _pending:
        _signal_child(pid, _pending.pop(0))
    if listeners:
        for listener, path in listeners:
            _thread.start_new_thread(_serve, (listener, path))
    # Any child: as PID 1 of the sandbox (bubblewrap's --as-pid-1) orphans come to us.
    while True:
        try:
            ended, status = os.waitpid(-1, 0)
        except ChildProcessError:
            status = BRIDGE_ERROR << 8
            break
        if ended == pid:
            break
    _end_like(status)


#: The command's pid once it is started; signals that came before it.
_command = [0]
_pending: list[int] = []


def _on_signal(signum: int, _frame: object) -> None:
    if _command[0]:
        _signal_child(_command[0], signum)
    else:
        _pending.append(signum)


def _signal_child(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


if __name__ == "__main__":
    main(sys.argv[1:])
