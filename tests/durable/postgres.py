"""A real PostgreSQL server for the durable service's tests (Debian's ``postgresql``).

``PostgresServer`` makes a cluster with ``initdb`` in a temporary folder and starts
``postgres`` on a free loopback port (trust authentication, fsync off: a test's data
need not survive a power cut), as the ``postgres`` user when the tests run as root
(``initdb`` refuses root). ``why_not()`` says why it cannot start here, for a loud skip.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

SEARCH = ("/usr/lib/postgresql",)


def binary(name: str) -> str | None:
    """``initdb``, ``postgres`` or ``psql``: on PATH, else Debian's versioned folder."""
    found = shutil.which(name)
    if found:
        return found
    for root in SEARCH:
        base = Path(root)
        if base.is_dir():
            for version in sorted(base.iterdir(), reverse=True):
                candidate = version / "bin" / name
                if candidate.exists():
                    return str(candidate)
    return None


def why_not() -> str | None:
    """None when a server can start here; else the reason."""
    if binary("initdb") is None or binary("postgres") is None:
        return (
            "PostgreSQL is not installed (initdb/postgres not found): "
            "apt-get install postgresql (.ci/run does)"
        )
    if os.geteuid() == 0:
        try:
            import pwd

            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no `postgres` user to run the server as"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresServer:
    """One throwaway cluster; ``url`` once started."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.data = folder / "data"
        self.port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.log = folder / "postgres.log"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _as_owner(self, command: list[str]) -> list[str]:
        if os.geteuid() != 0:
            return command
        return ["runuser", "-u", "postgres", "--", *command]

    def start(self, timeout: float = 30) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            import pwd

            owner = pwd.getpwnam("postgres")
            os.chown(self.folder, owner.pw_uid, owner.pw_gid)
            self.folder.chmod(0o700)
            # runuser keeps the caller's folder: one the postgres user may enter.
            parent = self.folder.parent
            parent.chmod(parent.stat().st_mode | 0o711)
        initdb, postgres = binary("initdb"), binary("postgres")
        assert initdb and postgres
        done = subprocess.run(
            self._as_owner(
                [initdb, "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8"]
            ),
            capture_output=True,
            cwd="/",
        )
        if done.returncode:
            raise RuntimeError(f"initdb failed: {done.stderr.decode(errors='replace')[-2000:]}")
        log = open(self.log, "wb")
        self.process = subprocess.Popen(
            self._as_owner(
                [
                    postgres,
                    "-D",
                    str(self.data),
                    "-p",
                    str(self.port),
                    "-k",
                    str(self.folder),
                    "-c",
                    "listen_addresses=127.0.0.1",
                    "-c",
                    "fsync=off",
                    "-c",
                    "synchronous_commit=off",
                    "-c",
                    "full_page_writes=off",
                    "-c",
                    "max_connections=200",
                ]
            ),
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd="/",
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"postgres exited: {self.log.read_text()[-2000:]}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2),
            ):
                if self._ready():
                    return
            time.sleep(0.1)
        raise RuntimeError(f"postgres did not start in {timeout} s: {self.log.read_text()[-2000:]}")

    def _ready(self) -> bool:
        try:
            import psycopg
        except ImportError:
            return True
        try:
            with psycopg.connect(self.url, connect_timeout=2) as c:
                c.execute("SELECT 1")
            return True
        except Exception:
            return False

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
