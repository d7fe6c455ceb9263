"""A seccomp filter that refuses unix sockets: ``socket(AF_UNIX, ...)`` fails with EPERM.

Inside the sandbox a command must not reach the host's unix sockets (the Docker or
D-Bus socket, an ssh-agent, the proxy's own sockets: that would bypass the network
allow-list), so ``socket(AF_UNIX, ...)`` is refused; everything else is allowed.
``socketpair`` stays allowed for streams (their two ends only talk to each other) but not
for datagrams: ``sendto`` on a unix datagram socket reaches any address, connected or not
(net/unix/af_unix.c, ``unix_dgram_sendmsg``).

The program is classic BPF, an array of ``struct sock_filter`` (8 bytes each), as
bubblewrap's ``--seccomp FD`` and ``prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ...)``
take it. Sources: the kernel's Documentation/userspace-api/seccomp_filter.rst (struct
seccomp_data, return values), include/uapi/linux/filter.h and bpf_common.h (opcodes),
include/uapi/linux/audit.h (AUDIT_ARCH_*), arch/x86/entry/syscalls/syscall_64.tbl and
syscall_32.tbl, include/uapi/asm-generic/unistd.h (aarch64) and
arch/arm/tools/syscall.tbl (32-bit ARM compat).

Bypasses closed: on x86_64 the x32 ABI (syscall numbers with bit 0x40000000) and the
i386 compat ABI (``socketcall``, whose arguments hide behind a pointer, is refused
whole); on aarch64 the 32-bit ARM compat ABI; ``io_uring_setup`` is refused on every ABI
(io_uring can create sockets without the ``socket`` syscall, which seccomp never sees).
A syscall from any other ABI is refused.
"""

from __future__ import annotations

import os
import platform
import struct
import sys
from dataclasses import dataclass

# BPF opcodes (include/uapi/linux/bpf_common.h).
_LD_W_ABS = 0x00 | 0x00 | 0x20  # BPF_LD | BPF_W | BPF_ABS
_JEQ_K = 0x05 | 0x10 | 0x00  # BPF_JMP | BPF_JEQ | BPF_K
_RET_K = 0x06 | 0x00  # BPF_RET | BPF_K
_AND_K = 0x04 | 0x50 | 0x00  # BPF_ALU | BPF_AND | BPF_K

# Return values (include/uapi/linux/seccomp.h).
SECCOMP_RET_ALLOW = 0x7FFF0000
SECCOMP_RET_ERRNO = 0x00050000
EPERM = 1

# struct seccomp_data { int nr; __u32 arch; __u64 instruction_pointer; __u64 args[6]; }
_OFF_NR = 0
_OFF_ARCH = 4
# The low 32 bits of args[0] (``socket``'s domain is an int: the kernel ignores the rest).
_OFF_ARG0 = 16 if sys.byteorder == "little" else 20
_OFF_ARG1 = _OFF_ARG0 + 8

AF_UNIX = 1
SOCK_DGRAM = 2
#: The type bits of ``socket``'s and ``socketpair``'s type (the rest: SOCK_CLOEXEC...).
SOCK_TYPE_MASK = 0xF
X32_SYSCALL_BIT = 0x40000000
#: io_uring_setup has number 425 on every ABI here (the unified numbering of Linux 5.1+).
IO_URING_SETUP = 425


@dataclass(frozen=True)
class _Abi:
    arch: int  # AUDIT_ARCH_*
    socket: int
    socketpair: int
    socketcall: int | None = None


@dataclass(frozen=True)
class _Machine:
    native: _Abi
    x32: bool = False
    compat: _Abi | None = None


#: AUDIT_ARCH_X86_64 = EM_X86_64 | 64BIT | LE; AUDIT_ARCH_I386 = EM_386 | LE;
#: AUDIT_ARCH_AARCH64 = EM_AARCH64 | 64BIT | LE; AUDIT_ARCH_ARM = EM_ARM | LE.
MACHINES = {
    "x86_64": _Machine(
        native=_Abi(arch=0xC000003E, socket=41, socketpair=53),
        x32=True,
        compat=_Abi(arch=0x40000003, socket=359, socketpair=360, socketcall=102),
    ),
    "aarch64": _Machine(
        native=_Abi(arch=0xC00000B7, socket=198, socketpair=199),
        # socketcall (102) exists only in the old ARM OABI; refusing it costs nothing.
        compat=_Abi(arch=0x40000028, socket=281, socketpair=288, socketcall=102),
    ),
}
MACHINES["amd64"] = MACHINES["x86_64"]
MACHINES["arm64"] = MACHINES["aarch64"]


class UnsupportedMachine(RuntimeError):
    """No filter for this processor: the sandbox cannot block unix sockets here."""


#: An instruction (code, k, jump-if-true, jump-if-false); a jump is an offset or a label.
_Insn = tuple[int, int, int | str, int | str]


def _insn(code: int, k: int, jt: int | str = 0, jf: int | str = 0) -> _Insn:
    return (code, k, jt, jf)


def _assemble(items: list[_Insn | str]) -> bytes:
    """Instructions and labels (strings) to bytes; jump targets name labels."""
    labels: dict[str, int] = {}
    code: list[_Insn] = []
    for item in items:
        if isinstance(item, str):
            labels[item] = len(code)
        else:
            code.append(item)
    out = bytearray()
    for index, (op, k, jt, jf) in enumerate(code):
        offsets = [labels[j] - index - 1 if isinstance(j, str) else j for j in (jt, jf)]
        if not all(isinstance(o, int) and 0 <= o <= 255 for o in offsets):
            raise ValueError(f"bad jump in seccomp program at {index}")
        out += struct.pack("=HBBI", op, offsets[0], offsets[1], k)
    return bytes(out)


def unix_socket_filter(machine: str | None = None) -> bytes:
    """The BPF program for this machine (``platform.machine()`` unless given). Raises
    ``UnsupportedMachine`` for a processor it does not know."""
    name = (machine or platform.machine()).lower()
    spec = MACHINES.get(name)
    if spec is None:
        raise UnsupportedMachine(
            f"no seccomp filter for processor {name!r} (known: x86_64, aarch64): "
            "the sandbox cannot block unix sockets here"
        )
    native, compat = spec.native, spec.compat
    prog: list[_Insn | str] = [
        _insn(_LD_W_ABS, _OFF_ARCH),
        _insn(_JEQ_K, native.arch, "native", 0),
    ]
    prog += [_insn(_JEQ_K, compat.arch, "compat", "deny")] if compat else [_insn(_RET_K, _errno())]
    prog += [
        "native",
        _insn(_LD_W_ABS, _OFF_NR),
        _insn(_JEQ_K, native.socket, "arg", 0),
        _insn(_JEQ_K, native.socketpair, "pair", 0),
        _insn(_JEQ_K, IO_URING_SETUP, "deny", 0),
    ]
    if spec.x32:
        prog += [
            _insn(_JEQ_K, X32_SYSCALL_BIT | native.socket, "arg", 0),
            _insn(_JEQ_K, X32_SYSCALL_BIT | native.socketpair, "pair", 0),
            _insn(_JEQ_K, X32_SYSCALL_BIT | IO_URING_SETUP, "deny", 0),
        ]
    prog += [_insn(_RET_K, SECCOMP_RET_ALLOW)]
    if compat:
        prog += ["compat", _insn(_LD_W_ABS, _OFF_NR)]
        if compat.socketcall is not None:
            prog += [_insn(_JEQ_K, compat.socketcall, "deny", 0)]
        prog += [
            _insn(_JEQ_K, compat.socket, "arg", 0),
            _insn(_JEQ_K, compat.socketpair, "pair", 0),
            _insn(_JEQ_K, IO_URING_SETUP, "deny", 0),
            _insn(_RET_K, SECCOMP_RET_ALLOW),
        ]
    prog += [
        "arg",
        _insn(_LD_W_ABS, _OFF_ARG0),
        _insn(_JEQ_K, AF_UNIX, "deny", 0),
        _insn(_RET_K, SECCOMP_RET_ALLOW),
        # A datagram pair's socket can still sendto() any unix address (/dev/log, ...).
        "pair",
        _insn(_LD_W_ABS, _OFF_ARG1),
        _insn(_AND_K, SOCK_TYPE_MASK),
        _insn(_JEQ_K, SOCK_DGRAM, "deny", 0),
        _insn(_RET_K, SECCOMP_RET_ALLOW),
        "deny",
        _insn(_RET_K, _errno()),
    ]
    return _assemble(prog)


def _errno() -> int:
    return SECCOMP_RET_ERRNO | EPERM


def install(program: bytes) -> None:
    """Apply ``program`` to this process (and what it execs): ``PR_SET_NO_NEW_PRIVS``, then
    ``PR_SET_SECCOMP``. Raises ``OSError`` when the kernel refuses. (The bridge, which runs
    inside the sandbox without harness_tui, has the same code: this is it.)"""
    from harness_tui.core.sandbox.bridge import install_seccomp

    install_seccomp(program)


def program_fd(program: bytes) -> int:
    """A file descriptor bwrap's ``--seccomp FD`` reads ``program`` from (it reads until
    EOF): a sealed memfd at offset 0, inheritable (pass it with ``pass_fds``). The caller
    closes it once the process has started."""
    fd = os.memfd_create("harness-seccomp", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    try:
        view = memoryview(program)
        while view:
            view = view[os.write(fd, view) :]
        os.lseek(fd, 0, os.SEEK_SET)
        import fcntl

        seals = fcntl.F_SEAL_SEAL | fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_WRITE
        fcntl.fcntl(fd, fcntl.F_ADD_SEALS, seals)
        os.set_inheritable(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd
