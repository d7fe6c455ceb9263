"""B10 first prompt: how long after Enter the request reaches the API, for the first
prompt of a session against a later one, in one run.

The TUI runs in a fresh process (so that nothing is imported yet: ``import anthropic``
alone takes over a second) through the real start path (``harness_tui.cli.main``, the
app painting first and making the session after), against a loopback Anthropic-style
server in this process. After the app has painted and sat idle for 2 s (a user reading
the screen and typing), the probe types a prompt and presses Enter, noting the time; the
server notes when the first byte of each request arrives. Three prompts: the first, and
the later ones (their median). The same with ``HARNESS_WARM=0`` gives the figure from
before the warm-up existed. ``first_request_connection`` is the number of the TCP
connection the first request came on (1: the one the preconnect opened, nothing else).

Headless (``-p``): spawn to the request's arrival, warm against cold, with no MCP server
and with three stdio servers (``mcp-server-time``) configured: the provider's creation
overlaps the session's set-up and the servers' start.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.bench import Figure
from tests.fakes.anthropic_server import FakeAnthropic
from tests.fakes.script import Say, reply

ID = "B10"
TITLE = "first prompt"
KEY = "bench-key"
MODEL = "anthropic/claude-sonnet-4-6"
PROMPTS = 3
IDLE = 2.0

_TUI_PROBE = r"""
import asyncio, sys, time
import harness_tui.tui.app as app_module

PROMPTS, IDLE = int(sys.argv[1]), float(sys.argv[2])

async def drive(app):
    async with app.run_test(size=(120, 40)) as pilot:
        while app.session is None or not app.session.is_open:
            await pilot.pause()
        # Typing while the SDK is imported in the background: how long each key takes.
        for key in "the user starts typing at once":
            started = time.perf_counter()
            await pilot.press("space" if key == " " else key)
            print(f"KEY {time.perf_counter() - started:.6f}", flush=True)
        await pilot.press("ctrl+u")
        await asyncio.sleep(IDLE)  # painted, idle: the user reads and starts typing
        for n in range(PROMPTS):
            for key in "hello":
                await pilot.press(key)
            print(f"ENTER {n} {time.time():.6f}", flush=True)
            await pilot.press("enter")
            while sum(e.type == "RUN_COMPLETED" for e in app.session.store.replay(0)) <= n:
                await pilot.pause()
            await asyncio.sleep(0.3)

def run_tui(target, serve=None, **options):
    asyncio.run(drive(app_module.HarnessApp(target, **options)))
    return 0

app_module.run_tui = run_tui
from harness_tui.cli import main
sys.exit(main([]))
"""

_HEADLESS_PROBE = r"""
import sys, time
import anyio
from pathlib import Path
from harness_tui.core.session.session import Session
from harness_tui.headless import run_headless

session = Session(model=sys.argv[1], cwd=Path.cwd(), trusted=True, ask_policy="deny",
                  warm=sys.argv[2] == "1")
sys.exit(anyio.run(run_headless, session, "hello", "text"))
"""


def _env(root: Path, api: FakeAnthropic, warm: bool) -> dict[str, str]:
    return {
        **os.environ,
        "ANTHROPIC_BASE_URL": api.url,
        "ANTHROPIC_API_KEY": KEY,
        "HARNESS_MODEL": MODEL,
        "HARNESS_WARM": "1" if warm else "0",
        "HARNESS_CONFIG_DIR": str(root / "config"),
        "HARNESS_DATA_DIR": str(root / "data"),
        "PYTHONDONTWRITEBYTECODE": os.environ.get("PYTHONDONTWRITEBYTECODE", ""),
    }


def _tui_round(root: Path, api: FakeAnthropic, warm: bool) -> tuple[list[float], int, list[float]]:
    """Enter → arrival of each prompt's request (seconds), the connection number of
    the first request, and the time each key took while the session was warming."""
    api.arrivals.clear()
    api.script(*(reply(Say("ok")) for _ in range(PROMPTS)))
    already = api.connections
    result = subprocess.run(
        [sys.executable, "-c", _TUI_PROBE, str(PROMPTS), str(IDLE)],
        cwd=root / "project",
        env=_env(root, api, warm),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = result.stdout.splitlines()
    enters = [float(line.split()[2]) for line in lines if line.startswith("ENTER")]
    posts = [(c, t) for m, _, c, t in api.arrivals if m == "POST"]
    if len(enters) != PROMPTS or len(posts) != PROMPTS:
        raise RuntimeError(f"the TUI probe did not finish: {result.stderr[-800:]}")
    keys = [float(line.split()[1]) for line in lines if line.startswith("KEY")]
    latencies = [t - e for (_, t), e in zip(posts, enters, strict=True)]
    return latencies, posts[0][0] - already, keys


def _headless_round(root: Path, api: FakeAnthropic, warm: bool, folder: Path) -> float:
    """Spawn → arrival of the request."""
    api.arrivals.clear()
    api.script(reply(Say("ok")))
    started = time.time()
    result = subprocess.run(
        [sys.executable, "-c", _HEADLESS_PROBE, MODEL, "1" if warm else "0"],
        cwd=folder,
        env=_env(root, api, warm),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    posts = [t for m, _, _, t in api.arrivals if m == "POST"]
    if result.returncode != 0 or not posts:
        raise RuntimeError(f"the headless probe failed: {result.stderr[-800:]}")
    return posts[0] - started


def _mcp_folder(root: Path, servers: int) -> Path:
    folder = root / f"mcp-{servers}"
    folder.mkdir()
    entry = {
        "command": sys.executable,
        "args": ["-m", "mcp_server_time", "--local-timezone", "UTC"],
    }
    mcp = {f"time{i}": entry for i in range(servers)}
    (folder / ".mcp.json").write_text(json.dumps({"mcpServers": mcp}))
    return folder


def run(quick: bool) -> dict[str, Figure]:
    from tests.bench.b3_startup import _compile_package

    _compile_package()
    rounds = 2 if quick else 5
    figures: dict[str, Figure] = {}
    with tempfile.TemporaryDirectory() as folder, FakeAnthropic(api_key=KEY) as api:
        root = Path(folder)
        (root / "project").mkdir()
        tui: dict[bool, list[list[float]]] = {True: [], False: []}
        connection: list[int] = []
        keys: dict[bool, list[float]] = {True: [], False: []}
        headless: dict[tuple[bool, int], list[float]] = {}
        folders = {n: _mcp_folder(root, n) for n in (0, 3)}
        for _ in range(rounds):  # interleaved, so machine load hits both alike
            for warm in (True, False):
                latencies, first_connection, key_times = _tui_round(root, api, warm)
                tui[warm].append(latencies)
                keys[warm] += key_times
                if warm:
                    connection.append(first_connection)
                for servers, where in folders.items():
                    headless.setdefault((warm, servers), []).append(
                        _headless_round(root, api, warm, where)
                    )
    for warm in (True, False):
        first = statistics.median(r[0] for r in tui[warm]) * 1e3
        later = statistics.median(statistics.median(r[1:]) for r in tui[warm]) * 1e3
        if warm:
            figures["first_prompt_ms"] = Figure(
                first, "ms", note=f"Enter to the request's first byte, median of {rounds}"
            )
            figures["later_prompt_ms"] = Figure(later, "ms", note="prompts 2..3, same session")
            figures["first_minus_later_ms"] = Figure(first - later, "ms", 100, "<=")
            figures["first_over_later"] = Figure(first / later, "x")
        else:
            figures["first_prompt_cold_ms"] = Figure(
                first, "ms", note="HARNESS_WARM=0: as before the warm-up"
            )
            figures["later_prompt_cold_ms"] = Figure(later, "ms")
    for warm, label in ((True, "warming"), (False, "cold")):
        ordered = sorted(keys[warm])
        figures[f"key_ms_{label}_median"] = Figure(statistics.median(ordered) * 1e3, "ms")
        figures[f"key_ms_{label}_p95"] = Figure(
            ordered[int(len(ordered) * 0.95)] * 1e3,
            "ms",
            note="each key pressed right after the session opened"
            + (", while the SDK imports in a thread" if warm else ", nothing warming"),
        )
    figures["first_request_connection"] = Figure(
        max(connection),
        "n",
        1,
        "<=",
        "TCP connection the first request came on (1: the preconnected one)",
    )
    for (warm, servers), times in sorted(headless.items()):
        label = "warm" if warm else "cold"
        figures[f"headless_{servers}_mcp_{label}_ms"] = Figure(
            statistics.median(times) * 1e3, "ms", note="spawn to the request's first byte"
        )
    for servers in (0, 3):
        gained = statistics.median(headless[(False, servers)]) - statistics.median(
            headless[(True, servers)]
        )
        figures[f"headless_{servers}_mcp_gain_ms"] = Figure(gained * 1e3, "ms")
    return figures
