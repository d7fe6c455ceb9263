"""B15 diagnostics after edits: how long an edit waits for its language server's
diagnostics before the result goes back to the model (p50/p95, basedpyright from PyPI,
the server already running), and what the language-server seam costs an edit whose
file has no server (target at most 5 ms over the same edit with the seam off, median).

Each round writes a Python file through the tool executor, alternating a version with a
type error and a clean one (so each edit changes the diagnostics), and a Markdown file
with the seam on and off, interleaved so that drift hits both alike.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio

from tests.bench import Figure

ID = "B15"
TITLE = "diagnostics after edits"
TARGET_MS = 5.0
BAD = "def double(x: int) -> int:\n    return x * 2\n\n\nresult: int = double('{n}')\n"
GOOD = "def double(x: int) -> int:\n    return x * 2\n\n\nresult: int = double({n})\n"


async def _rounds(root: Path, count: int) -> dict[str, list[float]]:
    from harness_tui.core.lsp.config import load_servers
    from harness_tui.core.lsp.manager import LspManager
    from harness_tui.core.lsp.watch import EditWatch
    from harness_tui.core.messages import ToolCallBlock
    from harness_tui.core.tools.base import ToolContext
    from harness_tui.core.tools.executor import ToolExecutor
    from harness_tui.core.tools.files import WriteTool

    events: list[Any] = []

    async def emit(event_type: Any, /, **fields: Any) -> Any:
        events.append(event_type(session_id="bench", **fields))

    async def set_plan(*_: Any) -> None:
        return None

    from harness_tui.core.config.settings import Settings

    specs, problems = load_servers(root, Settings(files=[]), (), True)
    specs = [s for s in specs if "python" in s.languages][:1]
    if not specs:
        raise RuntimeError(f"B15 needs a Python language server (basedpyright): {problems}")
    times: dict[str, list[float]] = {"python": [], "plain_on": [], "plain_off": []}
    async with anyio.create_task_group() as group:
        manager = LspManager(root, emit, specs, trusted=lambda: True)
        manager.start(group)
        on, off = ToolExecutor([WriteTool()]), ToolExecutor([WriteTool()])
        on.lsp = EditWatch(manager)
        try:
            for n in range(count + 2):
                ctx = ToolContext("s", "r", f"c{n}", root, "bypassPermissions", emit, set_plan)
                text = (BAD if n % 2 else GOOD).format(n=n)
                call = ToolCallBlock(
                    id=f"p{n}", name="Write", input={"file_path": "m.py", "content": text}
                )
                started = time.perf_counter()
                result = await on.execute(call, ctx)
                elapsed = (time.perf_counter() - started) * 1e3
                assert ("<diagnostics>" in result.content) == bool(n % 2), result.content
                if n >= 2:  # the first edits start the server and open the file
                    times["python"].append(elapsed)
                for name, executor in (("plain_on", on), ("plain_off", off)):
                    call = ToolCallBlock(
                        id=f"{name}{n}", name="Write",
                        input={"file_path": "notes.md", "content": f"round {n}\n"},
                    )  # fmt: skip
                    started = time.perf_counter()
                    await executor.execute(call, ctx)
                    if n >= 2:
                        times[name].append((time.perf_counter() - started) * 1e3)
        finally:
            await manager.aclose()
            group.cancel_scope.cancel()
    return times


def run(quick: bool) -> dict[str, Figure]:
    os.environ.pop("HARNESS_LSP", None)
    count = 20 if quick else 60
    with tempfile.TemporaryDirectory(prefix="b15-") as scratch:
        times = anyio.run(_rounds, Path(scratch), count)
    python = sorted(times["python"])
    p50 = statistics.median(python)
    p95 = python[min(len(python) - 1, round(0.95 * (len(python) - 1)))]
    plain_on, plain_off = (
        statistics.median(times["plain_on"]),
        statistics.median(times["plain_off"]),
    )
    note = f"of {count} edits"
    return {
        "edit_to_diagnostics_p50_ms": Figure(
            round(p50, 1), "ms", note=f"Write + diagnostics, median {note}"
        ),
        "edit_to_diagnostics_p95_ms": Figure(round(p95, 1), "ms", note=f"p95 {note}"),
        "no_server_edit_ms": Figure(
            round(plain_on, 3), "ms", note=f"a .md Write with the seam, median {note}"
        ),
        "no_server_overhead_ms": Figure(
            round(plain_on - plain_off, 3), "ms", TARGET_MS, "<=", note="with the seam - without"
        ),
    }
