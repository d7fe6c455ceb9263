"""The bridge inside the sandbox: its arguments, exit status and signals, forwarding a
loopback port to a unix socket; and END TO END with the real bubblewrap: an allowed host
answers through the proxy (HTTP, CONNECT, SOCKS5), a refused one gets the proxy's
refusal, a direct connection has no route, and unix sockets cannot be created.

The upstream server listens on the HOST's 127.0.0.1: the proxy (on the host) reaches it,
the sandbox (its own network namespace) cannot. ``curl --noproxy ''`` clears the
``NO_PROXY`` the environment sets (it lists localhost, the allowed test host).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from harness_tui.core.sandbox.netenv import BRIDGE, bridge_argv, proxy_env
from harness_tui.core.sandbox.proxy import SandboxProxy, allowed
from harness_tui.core.sandbox.seccomp import unix_socket_filter
from tests.core.sandbox.net_support import http_upstream

PY = sys.executable
IN_SANDBOX_HTTP, IN_SANDBOX_SOCKS = 3128, 1080


def bridge(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PY, "-I", "-S", str(BRIDGE), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "missing -- before the command"),
        (["--"], "no command after --"),
        (["--listen", "80", "--", "true"], "--listen '80': want PORT=UNIX_SOCKET_PATH"),
        (["--listen", "0=/x", "--", "true"], "want PORT=UNIX_SOCKET_PATH"),
        (["--bogus", "--", "true"], "unexpected argument '--bogus'"),
        (["--seccomp", "/nonexistent/f", "--", "true"], "No such file or directory"),
    ],
)
def test_bad_arguments_exit_125_with_a_message(args: list[str], message: str) -> None:
    done = bridge(*args)
    assert done.returncode == 125
    assert done.stderr.startswith("harness-tui sandbox bridge: ") and message in done.stderr


def test_a_seccomp_program_the_kernel_refuses_runs_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.bpf"
    bad.write_bytes(b"\x00" * 7)
    done = bridge("--seccomp", str(bad), "--", "sh", "-c", "echo ran")
    assert done.returncode == 125 and done.stdout == ""
    assert "cannot block unix sockets, command not run" in done.stderr


def test_exit_codes_and_missing_commands_pass_through(tmp_path: Path) -> None:
    assert bridge("--", "sh", "-c", "exit 7").returncode == 7
    missing = bridge("--", "no-such-command-here")
    assert missing.returncode == 127 and "command not found" in missing.stderr
    (tmp_path / "not-executable").write_text("echo ran\n")
    denied = bridge("--", str(tmp_path / "not-executable"))
    assert (denied.returncode, denied.stdout) == (126, "")
    assert "Permission denied" in denied.stderr
    assert bridge("--", "sh", "-c", "kill -TERM $$").returncode == -signal.SIGTERM
    # Python ignores SIGPIPE; the command gets the default back.
    assert bridge("--", "sh", "-c", "kill -PIPE $$").returncode == -signal.SIGPIPE


def _gone(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat[stat.rindex(")") + 2] in "ZX"


def _default_signals() -> None:
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_signals_reach_the_command_and_the_bridge_ends_like_it(sig: int) -> None:
    with subprocess.Popen(
        [PY, "-I", "-S", str(BRIDGE), "--", "sh", "-c", "echo $$; exec sleep 30"],
        stdout=subprocess.PIPE,
        text=True,
        # As a terminal would start it: a runner started in the background (``cmd &``
        # in a script) ignores SIGINT, and the command would inherit that.
        preexec_fn=_default_signals,
    ) as proc:
        assert proc.stdout is not None
        child = int(proc.stdout.readline())  # the command runs: the handlers are set
        proc.send_signal(sig)
        assert proc.wait(timeout=10) == -sig
    deadline = time.monotonic() + 5
    while not _gone(child) and time.monotonic() < deadline:
        time.sleep(0.01)  # another process's end cannot be awaited
    assert _gone(child)


@pytest.fixture
def unix_echo(tmp_path: Path) -> Iterator[str]:
    """A unix socket server answering ``echo:`` + what it got until the half-close."""
    path = str(tmp_path / "echo.sock")
    server = socket.socket(socket.AF_UNIX)
    server.bind(path)
    server.listen()

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                data = b""
                while chunk := conn.recv(4096):
                    data += chunk
                conn.sendall(b"echo:" + data)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield path
    server.shutdown(socket.SHUT_RDWR)
    server.close()
    thread.join(5)


CLIENT = """
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"ping"); s.shutdown(socket.SHUT_WR)
out = b""
while chunk := s.recv(4096):
    out += chunk
print(out.decode())
"""


def test_a_loopback_port_is_forwarded_to_the_unix_socket(unix_echo: str) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    done = bridge("--listen", f"{port}={unix_echo}", "--", PY, "-c", CLIENT, str(port))
    assert (done.returncode, done.stdout, done.stderr) == (0, "echo:ping\n", "")


# --- end to end with bubblewrap -----------------------------------------------------------------

BWRAP = ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
BWRAP += ["--unshare-net", "--unshare-pid", "--die-with-parent"]


@pytest.fixture
def bwrap(tmp_path: Path) -> list[str]:
    """bubblewrap's command line with ``tmp_path`` writable; skips LOUDLY when bubblewrap
    is missing or cannot make its namespaces here."""
    found = shutil.which("bwrap")
    if found is None:
        pytest.skip("SANDBOX NOT TESTED: bubblewrap (bwrap) is not installed")
    argv = [found, *BWRAP, "--bind", str(tmp_path), str(tmp_path)]
    probe = subprocess.run([*argv, "true"], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        pytest.skip(f"SANDBOX NOT TESTED: bubblewrap cannot start here: {probe.stderr.strip()}")
    return argv


async def run_sandboxed(
    bwrap: list[str], tmp_path: Path, command: list[str], *, proxied: bool = True
) -> tuple[int, str, str, list[tuple[str, int]]]:
    """``command`` in the sandbox behind the bridge and the proxy (allowing ``localhost``):
    (exit code, stdout, stderr, the refused host:ports)."""
    blocked: list[tuple[str, int]] = []

    async def policy(host: str, port: int) -> bool:
        return allowed(host, ["localhost"])

    filter_file = tmp_path / "unix.bpf"
    filter_file.write_bytes(unix_socket_filter())
    proxy = SandboxProxy(policy, on_blocked=lambda h, p: blocked.append((h, p)))
    async with proxy.serving(tmp_path) as (http, socks):
        listens = [(IN_SANDBOX_HTTP, http), (IN_SANDBOX_SOCKS, socks)]
        argv = bwrap + bridge_argv(PY, listens, str(filter_file), command)
        env = {"PATH": os.environ["PATH"]}
        if proxied:
            env.update(proxy_env(IN_SANDBOX_HTTP, IN_SANDBOX_SOCKS))
        with anyio.fail_after(60):
            done = await anyio.run_process(argv, env=env, check=False)
    return done.returncode, done.stdout.decode(), done.stderr.decode(), blocked


CURL = ["curl", "-sS", "--max-time", "10", "--noproxy", ""]


async def test_e2e_an_allowed_host_answers_through_the_http_proxy(
    bwrap: list[str], tmp_path: Path
) -> None:
    async with http_upstream() as up:
        url = f"http://localhost:{up.port}/plain"
        code, out, err, blocked = await run_sandboxed(bwrap, tmp_path, [*CURL, url])
        assert (code, err, blocked) == (0, "", [])
        assert out == "hello from upstream: GET /plain HTTP/1.1\n"
        tunnel = f"http://localhost:{up.port}/tunnel"
        code, out, err, _ = await run_sandboxed(bwrap, tmp_path, [*CURL, "-p", tunnel])
        assert (code, out, err) == (0, "hello from upstream: GET /tunnel HTTP/1.1\n", "")


async def test_e2e_an_allowed_host_answers_through_socks5(bwrap: list[str], tmp_path: Path) -> None:
    socks = f"127.0.0.1:{IN_SANDBOX_SOCKS}"
    async with http_upstream() as up:
        url = f"http://localhost:{up.port}/socks"
        argv = [*CURL, "--socks5-hostname", socks, url]
        code, out, err, _ = await run_sandboxed(bwrap, tmp_path, argv)
    assert (code, out, err) == (0, "hello from upstream: GET /socks HTTP/1.1\n", "")


async def test_e2e_a_host_not_on_the_list_is_refused(bwrap: list[str], tmp_path: Path) -> None:
    async with http_upstream() as up:
        url = f"http://127.0.0.1:{up.port}/"
        code, out, _err, blocked = await run_sandboxed(bwrap, tmp_path, [*CURL, "-i", url])
        assert code == 0 and out.startswith("HTTP/1.1 403 Forbidden")
        assert "X-Proxy-Error: blocked-by-allowlist" in out
        assert "127.0.0.1 is not on the sandbox's network allow-list" in out
        assert blocked == [("127.0.0.1", up.port)]
        code, _out, err, _ = await run_sandboxed(bwrap, tmp_path, [*CURL, "-p", url])
        assert code == 56 and "403" in err
        socks = ["--socks5-hostname", f"127.0.0.1:{IN_SANDBOX_SOCKS}"]
        code, _out, err, _ = await run_sandboxed(bwrap, tmp_path, [*CURL, *socks, url])
        # curl names the reply code: 2, connection not allowed by ruleset.
        assert code == 97 and "socks5 connection to 127.0.0.1. (2)" in err.lower()
        assert up.heads == []


DIRECT = """
import socket, sys
for host, port in (("127.0.0.1", int(sys.argv[1])), ("192.0.2.1", 80)):
    try:
        socket.create_connection((host, port), timeout=5)
        print(host, "connected")
    except OSError as err:
        print(host, err.strerror)
"""


async def test_e2e_without_the_proxy_there_is_no_network(bwrap: list[str], tmp_path: Path) -> None:
    async with http_upstream() as up:
        argv = [PY, "-I", "-S", "-c", DIRECT, str(up.port)]
        code, out, err, _ = await run_sandboxed(bwrap, tmp_path, argv, proxied=False)
        assert (code, err, up.heads) == (0, "", [])
    assert out == "127.0.0.1 Connection refused\n192.0.2.1 Network is unreachable\n"


UNIX = """
import socket, sys
for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
    try:
        socket.socket(socket.AF_UNIX, kind)
        print("created")
    except PermissionError as err:
        print("refused", err.strerror)
"""


async def test_e2e_unix_sockets_cannot_be_created(bwrap: list[str], tmp_path: Path) -> None:
    argv = [PY, "-I", "-S", "-c", UNIX]
    code, out, err, _ = await run_sandboxed(bwrap, tmp_path, argv)
    assert (code, err) == (0, "")
    assert out == "refused Operation not permitted\n" * 2


MEM = """
import os
try:
    open(f"/proc/{os.getppid()}/mem", "rb")
    print("opened")
except PermissionError as err:
    print("refused", err.strerror)
"""


async def test_e2e_the_unfiltered_bridge_cannot_be_ptraced(
    bwrap: list[str], tmp_path: Path
) -> None:
    """Its memory would let the command open unix sockets through it (once the command
    has no CAP_SYS_PTRACE: bubblewrap run as root keeps capabilities unless dropped)."""
    argv = [PY, "-I", "-S", "-c", MEM]
    dropped = [*bwrap[:1], "--cap-drop", "ALL", *bwrap[1:]]
    code, out, err, _ = await run_sandboxed(dropped, tmp_path, argv)
    assert (code, out, err) == (0, "refused Permission denied\n", "")
