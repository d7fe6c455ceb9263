"""``harness-tui serve --durable`` as a real process, driven as a client drives it.

``Serve`` starts the command in a subprocess with its own data and config folders (a
"machine"), reads the URL it prints, and calls the HTTP API with the token. ``Watcher``
is a browser-like WebSocket client on a thread, collecting every event it is sent.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

SCRIPT_HEAD = "pick: by_answers\nresponses:\n"


def wait_for(what: Callable[[], Any], timeout: float = 60, every: float = 0.05) -> Any:
    """Poll another process's state until ``what()`` is truthy; its value."""
    deadline = time.monotonic() + timeout
    while True:
        value = what()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not true after {timeout} s: {what}")
        time.sleep(every)


class Serve:
    """One ``serve --durable`` process on ``home`` (its data and config folders)."""

    def __init__(
        self,
        home: Path,
        project: Path,
        *,
        model: str,
        database: str | None = None,
        mode: str = "bypassPermissions",
        max_runs: int | None = None,
        durable: bool = True,
    ) -> None:
        """``durable=False``: the in-memory ``serve`` (the benchmarks' baseline)."""
        self.home, self.project = home, project
        self.arguments = ["serve", "--port", "0", "--model", model, "--mode", mode]
        if durable:
            self.arguments.append("--durable")
        if database:
            self.arguments += ["--database", database]
        if max_runs:
            self.arguments += ["--max-runs", str(max_runs)]
        self.process: subprocess.Popen[str] | None = None
        self.base = self.token = ""
        self.banner: list[str] = []

    @property
    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            HARNESS_DATA_DIR=str(self.home / "data"),
            HARNESS_CONFIG_DIR=str(self.home / "config"),
            HARNESS_RUNTIME_DIR=str(self.home / "run"),
        )
        return env

    def start(self, timeout: float = 60) -> Serve:
        (self.home / "run").mkdir(parents=True, exist_ok=True, mode=0o700)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "harness_tui", *self.arguments],
            cwd=self.project,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=open(self.home / "serve.err", "a"),
            stdin=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )
        lines: list[str] = []

        def read() -> None:
            assert self.process is not None and self.process.stdout is not None
            for _ in range(2 if "--durable" in self.arguments else 1):
                lines.append(self.process.stdout.readline())

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reader.join(timeout)
        if not lines or not lines[0].startswith("harness-tui web: "):
            self.kill()
            raise AssertionError(
                f"serve did not start: {lines!r}\n{(self.home / 'serve.err').read_text()[-3000:]}"
            )
        self.banner = lines
        url = lines[0].removeprefix("harness-tui web: ").strip()
        self.base, _, self.token = url.partition("/?token=")
        return self

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.base + path,
            data=data,
            method=method,
            headers={"authorization": f"Bearer {self.token}", "content-type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return {"status": exc.code, **json.loads(exc.read() or b"{}")}

    def events(self, session_id: str, since: int = 0) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        while True:
            page = self.call("GET", f"/api/session/{session_id}/events?since={since}")
            found += page["events"]
            if not page["more"]:
                return found
            since = page["events"][-1]["seq"]

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()


class Watcher:
    """A browser's WebSocket on one session (from ``since``), on a thread."""

    def __init__(self, serve: Serve, session_id: str, since: int = 0, until: str = "") -> None:
        from websockets.sync.client import connect

        url = serve.base.replace("http://", "ws://") + f"/ws/{session_id}?since={since}"
        self.socket = connect(
            url,
            additional_headers={"authorization": f"Bearer {serve.token}"},
            origin=serve.base,  # type: ignore[arg-type]
        ).__enter__()
        self.events: list[dict[str, Any]] = []
        #: Set when an event of type ``until`` arrives.
        self.seen = threading.Event()
        self.until = until
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        try:
            for frame in self.socket:
                for item in json.loads(frame):
                    self.events.append(item)
                    if item.get("type") == self.until:
                        self.seen.set()
        except Exception:
            return

    def close(self) -> None:
        self.socket.close()
        self.thread.join(10)


def lines(path: Path) -> list[str]:
    """A file's lines (none when it does not exist yet)."""
    return path.read_text().splitlines() if path.exists() else []


def project_with(tmp_path: Path, script: str) -> Path:
    """A project folder whose ``script.yaml`` is ``script``."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "script.yaml").write_text(script)
    return project


def pid_of(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def end_process(path: Path) -> None:
    """A tool's process left behind by a killed server (its sleep), ended."""
    pid = pid_of(path)
    if pid:
        end_process_id(pid)


def end_process_id(pid: int) -> None:
    """Its process group if it leads one, else the process."""
    for kill in (os.killpg, os.kill):
        try:
            kill(pid, signal.SIGKILL)
            return
        except OSError:
            continue
