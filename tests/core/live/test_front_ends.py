"""Sessions started by the TUI, ``-p``, ``serve`` and ACP (real processes) are all in
the live registry with their states, and ``harness-tui agents --json`` (another process)
lists the four."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import anyio

from tests.live_support import STATES, four_front_ends


async def test_every_front_end_is_listed_with_its_state(tmp_path: Path) -> None:
    async with four_front_ends(tmp_path) as ends:
        assert {name: r.state for name, r in ends.records.items()} == STATES
        assert ends.records["tui"].question["summary"] == "Bash(echo from the tui)"
        assert ends.records["serve"].reply == "served from the page"
        command = [sys.executable, "-m", "harness_tui", "agents", "--json"]
        listed = await anyio.to_thread.run_sync(
            lambda: subprocess.run(command, capture_output=True, text=True, check=True, timeout=60)
        )
        rows = {row["front_end"]: row for row in json.loads(listed.stdout)}
        assert {name: row["state"] for name, row in rows.items()} == STATES
        assert all(row["cwd"] == str(ends.project) for row in rows.values())
