"""B14 sandbox start-up: what confining a Bash call in the sandbox (bubblewrap, the
seccomp filter, and, when hosts may be reached, the bridge to the proxy) adds to the
call; target at most 30 ms over the bare call, median.

Each round runs the same small command (``echo``) through the Bash tool three ways,
interleaved so that the machine's drift hits all three alike: bare (no sandbox: the
baseline, measured in the same run), sandboxed without network (bwrap and the seccomp
filter), and sandboxed with the network bridge (bwrap, the bridge inside, which
installs the filter for the command, and the proxy on the host). The figures are the
medians, their differences from the bare call (``*_overhead_ms``, the target) and their
ratios to it.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio

from tests.bench import Figure

ID = "B14"
TITLE = "sandbox start-up per Bash call"
TARGET_MS = 30.0


class _Broker:
    """Someone could answer a question (so the bridge to the proxy is set up); the
    benchmark's commands never connect, so nobody is asked."""

    policy = "ask"


async def _rounds(root: Path, count: int) -> dict[str, list[float]]:
    from harness_tui.core.config.settings import Settings, SettingsFile
    from harness_tui.core.permissions.rules import RuleSet
    from harness_tui.core.sandbox.manager import Sandbox
    from harness_tui.core.tools.base import ToolContext
    from harness_tui.core.tools.shell import BashTool

    async def emit(event_type: Any, /, **fields: Any) -> Any:
        return event_type(session_id="bench", **fields)

    async def set_plan(*_: Any) -> None:
        return None

    data = {"sandbox": {"enabled": True}}
    settings = Settings(files=[SettingsFile(root / "s.yaml", "project", False, data)])
    quiet = Sandbox(root, emit)
    networked = Sandbox(root, emit, broker=_Broker())
    times: dict[str, list[float]] = {"bare": [], "sandboxed": [], "network": []}
    tools = {"bare": BashTool(), "sandboxed": BashTool(quiet.confine)}
    tools["network"] = BashTool(networked.confine)
    async with anyio.create_task_group() as group:
        for sandbox in (quiet, networked):
            sandbox.configure(settings, RuleSet())
            sandbox.group = group
        try:
            for n in range(count + 2):
                for name, tool in tools.items():
                    ctx = ToolContext("s", "r", f"c{n}", root, "default", emit, set_plan)
                    started = time.perf_counter()
                    result = await tool.run({"command": f"echo round {n}"}, ctx)
                    elapsed = (time.perf_counter() - started) * 1e3
                    assert result.content == f"round {n}", result.content
                    if n >= 2:  # the first rounds start the shells and the proxy
                        times[name].append(elapsed)
        finally:
            for tool in tools.values():
                await tool.aclose()
            await quiet.aclose()
            await networked.aclose()
            group.cancel_scope.cancel()
    return times


def run(quick: bool) -> dict[str, Figure]:
    from harness_tui.core.sandbox import bwrap

    found = bwrap.probe()
    if not found.ok:
        raise RuntimeError(f"B14 needs bubblewrap that can start: {found.reason}")
    count = 20 if quick else 60
    with tempfile.TemporaryDirectory(prefix="b14-", dir="/var/tmp") as scratch:
        times = anyio.run(_rounds, Path(scratch), count)
    bare = statistics.median(times["bare"])
    boxed = statistics.median(times["sandboxed"])
    networked = statistics.median(times["network"])
    note = f"median of {count}"
    return {
        "bash_ms": Figure(round(bare, 2), "ms", note=f"bare Bash call, {note}"),
        "sandboxed_ms": Figure(round(boxed, 2), "ms", note=f"bwrap + seccomp, {note}"),
        "sandbox_overhead_ms": Figure(
            round(boxed - bare, 2), "ms", TARGET_MS, "<=", note="sandboxed_ms - bash_ms"
        ),
        "sandboxed_vs_bash": Figure(round(boxed / bare, 2), "x", note="sandboxed_ms / bash_ms"),
        "network_ms": Figure(round(networked, 2), "ms", note=f"with the proxy bridge, {note}"),
        "network_overhead_ms": Figure(
            round(networked - bare, 2), "ms", TARGET_MS, "<=", note="network_ms - bash_ms"
        ),
        "network_vs_bash": Figure(round(networked / bare, 2), "x", note="network_ms / bash_ms"),
    }
