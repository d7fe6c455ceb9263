"""B9 MCP start-up: time from spawning ``harness-tui``'s app to its first frame painted on
a real terminal (a pseudo-terminal), with three stdio MCP servers (PyPI's
``mcp-server-time``) configured versus none; and the time until all three are ready.

Servers connect in the background, so the first frame should not wait for them (target:
within 10 %). Each trial is a fresh process (imports are part of start-up), the two
configurations alternate, and the figure is the median of the per-pair ratios.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from pathlib import Path

from tests.bench import Figure

ID = "B9"
TITLE = "MCP start-up"
SERVERS = 3
TARGET_RATIO = 1.10
CHILD_TIMEOUT_S = 60


def _child(folder: str, result_path: str, spawned_at: float, servers: int) -> None:
    """Runs in the spawned process: the real app on the pty; writes its timings."""
    import anyio

    from harness_tui.core.session.session import Session
    from harness_tui.tui.app import HarnessApp, tune_gc

    times: dict[str, float] = {"spawned": spawned_at}

    class TimedApp(HarnessApp):
        def _display(self, screen, renderable):  # type: ignore[no-untyped-def]
            super()._display(screen, renderable)
            if renderable is not None and "first_frame" not in times:
                times["first_frame"] = time.time()
                self.call_later(self._after_first_frame)

        def _after_first_frame(self) -> None:
            self.run_worker(self._finish(), exit_on_error=False)

        async def _finish(self) -> None:
            store = self.session.store
            sub = store.subscribe("bench", queue_size=10_000, since=0)
            settled: set[str] = set()
            with anyio.move_on_after(CHILD_TIMEOUT_S - 10):
                async for event in store.stream(sub):
                    if len(settled) >= servers:
                        break
                    if event.type == "MCP_SERVER_STATUS" and event.status in ("ready", "failed"):
                        settled.add(event.server)
                        if event.status == "failed":
                            times["failed"] = time.time()
                        if len(settled) >= servers:
                            break
            times["all_ready"] = time.time()
            await anyio.Path(result_path).write_text(json.dumps(times))
            await self.action_quit()

    tune_gc()
    session = Session(model="demo", cwd=folder, trusted=True)
    TimedApp(session).run()


def _trial(folder: Path, servers: int, env: dict[str, str]) -> dict[str, float]:
    result = folder / f"result-{servers}.json"
    result.unlink(missing_ok=True)
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    code = (
        "import sys; from tests.bench.b9_mcp_startup import _child; "
        "_child(sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4]))"
    )
    spawned = time.time()
    process = subprocess.Popen(
        [sys.executable, "-c", code, str(folder), str(result), repr(spawned), str(servers)],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        cwd=Path(__file__).resolve().parents[2],
        start_new_session=True,
    )
    os.close(slave)
    screen = bytearray()

    def drain() -> None:  # the terminal must be read, or the app blocks writing to it
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:
                return
            if not data:
                return
            screen.extend(data[-4096:])

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        process.wait(CHILD_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        last = screen[-500:].decode(errors="replace")
        raise RuntimeError(f"the app did not finish; last output: {last}") from None
    finally:
        os.close(master)
        reader.join(2)
    if not result.exists():
        raise RuntimeError(f"no timings (exit {process.returncode}): {screen[-800:]!r}")
    times = json.loads(result.read_text())
    if "failed" in times:
        raise RuntimeError("an MCP server failed to start; is mcp-server-time installed?")
    return {
        "first_frame_s": times["first_frame"] - times["spawned"],
        "ready_s": times["all_ready"] - times["spawned"],
    }


def _folders(root: Path) -> dict[int, Path]:
    entry = {
        "command": sys.executable,
        "args": ["-m", "mcp_server_time", "--local-timezone", "UTC"],
    }
    folders = {}
    for servers in (0, SERVERS):
        folder = root / f"servers-{servers}"
        folder.mkdir()
        mcp = {f"time{i}": entry for i in range(servers)}
        (folder / ".mcp.json").write_text(json.dumps({"mcpServers": mcp}))
        folders[servers] = folder
    return folders


def run(quick: bool) -> dict[str, Figure]:
    rounds = 3 if quick else 9
    with tempfile.TemporaryDirectory() as temporary:
        root = Path(temporary)
        env = {
            **os.environ,
            "TERM": "xterm-256color",
            "HARNESS_CONFIG_DIR": str(root / "config"),
            "HARNESS_DATA_DIR": str(root / "data"),
            "CLAUDE_CONFIG_DIR": str(root / "claude"),
            "HARNESS_DEMO_PACE": "0",
        }
        env.pop("ANTHROPIC_API_KEY", None)
        folders = _folders(root)
        _trial(folders[0], 0, env)  # warm-up: the OS file cache, compiled bytecode
        _trial(folders[SERVERS], SERVERS, env)
        none, some = [], []
        for i in range(rounds):  # alternate, so drift in machine load hits both alike
            order = (0, SERVERS) if i % 2 == 0 else (SERVERS, 0)
            for servers in order:
                figures = _trial(folders[servers], servers, env)
                (some if servers else none).append(figures)
    ratios = [s["first_frame_s"] / n["first_frame_s"] for n, s in zip(none, some, strict=True)]
    ready = [s["ready_s"] for s in some]
    return {
        "first_frame_none_ms": Figure(
            statistics.median(f["first_frame_s"] for f in none) * 1e3,
            "ms",
            note="spawn to first frame on a pty, no MCP servers",
        ),
        "first_frame_3_servers_ms": Figure(
            statistics.median(f["first_frame_s"] for f in some) * 1e3,
            "ms",
            note=f"{SERVERS} stdio servers (mcp-server-time) configured",
        ),
        "first_frame_ratio": Figure(
            statistics.median(ratios), "x", TARGET_RATIO, "<=", f"median of {rounds} paired runs"
        ),
        "all_3_ready_ms": Figure(
            statistics.median(ready) * 1e3, "ms", note="spawn to the third server ready"
        ),
    }
