"""The seccomp filter that refuses unix sockets: its decisions for every ABI (through a
small classic-BPF interpreter, so x32, i386 and arm compat are checked on any machine),
and the real thing installed in a child process."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import textwrap

import pytest

from harness_tui.core.sandbox.seccomp import (
    SECCOMP_RET_ALLOW,
    SECCOMP_RET_ERRNO,
    UnsupportedMachine,
    program_fd,
    unix_socket_filter,
)

DENY = SECCOMP_RET_ERRNO | 1  # EPERM
ALLOW = SECCOMP_RET_ALLOW
AF_UNIX, AF_INET, AF_INET6, AF_NETLINK = 1, 2, 10, 16
X86_64, I386 = 0xC000003E, 0x40000003
AARCH64, ARM = 0xC00000B7, 0x40000028
X32 = 0x40000000


def run_bpf(program: bytes, nr: int, arch: int, arg0: int = 0, arg1: int = 0) -> int:
    """Classic BPF as seccomp runs it (only the instructions the filter uses: ld abs,
    and k, jeq k, ret k) over ``struct seccomp_data`` (Documentation/userspace-api/
    seccomp_filter.rst)."""
    data = struct.pack("=iIQ6Q", nr, arch, 0, arg0, arg1, 0, 0, 0, 0)
    code = [struct.unpack_from("=HBBI", program, i) for i in range(0, len(program), 8)]
    pc, acc = 0, 0
    for _ in range(len(code)):
        op, jt, jf, k = code[pc]
        if op == 0x20:  # BPF_LD | BPF_W | BPF_ABS
            acc = struct.unpack_from("=I", data, k)[0]
            pc += 1
        elif op == 0x54:  # BPF_ALU | BPF_AND | BPF_K
            acc &= k
            pc += 1
        elif op == 0x15:  # BPF_JMP | BPF_JEQ | BPF_K
            pc += 1 + (jt if acc == k else jf)
        elif op == 0x06:  # BPF_RET | BPF_K
            return k
        else:
            raise AssertionError(f"unexpected opcode {op:#x}")
    raise AssertionError("program ran off its end")


@pytest.mark.parametrize(
    ("nr", "arch", "arg0", "expected"),
    [
        (41, X86_64, AF_UNIX, DENY),  # socket(AF_UNIX)
        (41, X86_64, AF_UNIX | 0xFFFF_FFFF_0000_0000, DENY),  # upper bits ignored (an int)
        (41, X86_64, AF_INET, ALLOW),
        (41, X86_64, AF_INET6, ALLOW),
        (41, X86_64, AF_NETLINK, ALLOW),
        (42, X86_64, AF_UNIX, ALLOW),  # connect: fd, not a family
        (0, X86_64, AF_UNIX, ALLOW),  # read
        (425, X86_64, 0, DENY),  # io_uring_setup: sockets without socket(2)
        (X32 | 41, X86_64, AF_UNIX, DENY),  # the x32 ABI's socket
        (X32 | 41, X86_64, AF_INET, ALLOW),
        (X32 | 425, X86_64, 0, DENY),
        (102, I386, 1, DENY),  # socketcall(SYS_SOCKET, ...): arguments behind a pointer
        (102, I386, 3, DENY),
        (359, I386, AF_UNIX, DENY),  # i386 socket
        (359, I386, AF_INET, ALLOW),
        (425, I386, 0, DENY),
        (3, I386, 0, ALLOW),  # i386 read
        (41, 0x12345678, AF_INET, DENY),  # a foreign ABI: everything refused
    ],
)
def test_x86_64_decisions(nr: int, arch: int, arg0: int, expected: int) -> None:
    assert run_bpf(unix_socket_filter("x86_64"), nr, arch, arg0) == expected


@pytest.mark.parametrize(
    ("nr", "arch", "arg0", "expected"),
    [
        (198, AARCH64, AF_UNIX, DENY),
        (198, AARCH64, AF_INET, ALLOW),
        (41, AARCH64, AF_UNIX, ALLOW),  # 41 is not socket here
        (425, AARCH64, 0, DENY),
        (281, ARM, AF_UNIX, DENY),
        (281, ARM, AF_INET, ALLOW),
        (102, ARM, 1, DENY),
        (41, X86_64, AF_UNIX, DENY),  # x86_64's arch on arm64 is foreign
    ],
)
def test_aarch64_decisions(nr: int, arch: int, arg0: int, expected: int) -> None:
    assert run_bpf(unix_socket_filter("aarch64"), nr, arch, arg0) == expected


SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET = 1, 2, 5
SOCK_FLAGS = 0x80000 | 0x800  # SOCK_CLOEXEC | SOCK_NONBLOCK


@pytest.mark.parametrize(
    ("machine", "nr", "arch"),
    [
        ("x86_64", 53, X86_64),
        ("x86_64", X32 | 53, X86_64),
        ("x86_64", 360, I386),
        ("aarch64", 199, AARCH64),
        ("aarch64", 288, ARM),
    ],
)
def test_socketpair_streams_pass_datagrams_do_not(machine: str, nr: int, arch: int) -> None:
    """A stream pair's ends only meet each other; a datagram socket can sendto() any
    unix address (net/unix/af_unix.c)."""
    program = unix_socket_filter(machine)
    decide = [
        run_bpf(program, nr, arch, AF_UNIX, kind)
        for kind in (SOCK_STREAM, SOCK_STREAM | SOCK_FLAGS, SOCK_SEQPACKET)
    ]
    assert decide == [ALLOW] * 3
    decide = [run_bpf(program, nr, arch, AF_UNIX, k) for k in (SOCK_DGRAM, SOCK_DGRAM | SOCK_FLAGS)]
    assert decide == [DENY] * 2


def test_an_unknown_machine_is_a_clear_error() -> None:
    with pytest.raises(UnsupportedMachine, match=r"'riscv64'.*cannot block unix sockets"):
        unix_socket_filter("riscv64")
    assert unix_socket_filter("amd64") == unix_socket_filter("x86_64")


CHILD = textwrap.dedent(
    """
    import socket, sys
    from harness_tui.core.sandbox.seccomp import install, unix_socket_filter
    install(unix_socket_filter())
    socket.socket(socket.AF_INET).close()
    socket.socket(socket.AF_INET6).close()
    a, b = socket.socketpair()
    try:
        socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    except PermissionError:
        print("datagram pair refused")
    try:
        socket.socket(socket.AF_UNIX)
    except PermissionError as err:
        print("refused:", err.strerror)
    try:
        socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    except PermissionError:
        print("dgram refused")
    """
)


def test_installed_in_a_child_unix_sockets_fail_and_inet_works() -> None:
    if os.uname().machine not in ("x86_64", "aarch64"):
        pytest.skip(f"no seccomp filter for {os.uname().machine}")
    done = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == (
        "datagram pair refused\nrefused: Operation not permitted\ndgram refused\n"
    )


def test_program_fd_holds_the_program_sealed_and_inheritable() -> None:
    program = unix_socket_filter("x86_64")
    fd = program_fd(program)
    try:
        assert os.get_inheritable(fd)
        assert os.pread(fd, 4096, 0) == program
        assert os.lseek(fd, 0, os.SEEK_CUR) == 0
        with pytest.raises(PermissionError):
            os.write(fd, b"x" * 8)
    finally:
        os.close(fd)
