"""B13 checkpoint around Bash: what the checkpoint before and after a Bash call costs in
a workspace of 10,000 files; targets at most 50 ms per call and at most 10% of the bare
Bash call's time on small commands.

The workspace: 100 folders of 100 text files (about 1.5 KB each), a ``.gitignore``.
Each round runs one small command through the Bash tool that changes one file
(``printf … >> dNN/fMM.txt``), so the checkpoint after it finds, reads, hashes and keeps
a changed file, as a real one does. The baseline, measured in the same run, is the bare
call (``bash_ms``: the same tool and command on a file ``.gitignore`` excludes, so that
no checkpoint sees it). ``checkpoint_ms`` is the time of the checkpoint's own steps
around the call (``Checkpointer.before`` and ``after``, timed directly rather than as a
difference of two noisy medians), and ``checkpoint_vs_bash`` their ratio. With inotify
(the default on Linux), and with the walk that replaces it elsewhere
(``walk_checkpoint_ms``, for information: a walk of 10,000 files cannot meet either
target, which is why inotify is used). ``build_s``: the index's first walk, which keeps
every file (in the background, from the first prompt on).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio

from tests.bench import Figure

ID = "B13"
TITLE = "checkpoint around Bash (10k files)"
TARGET_MS = 50.0
TARGET_RATIO = 0.10


def make_workspace(root: Path, folders: int = 100, files: int = 100) -> None:
    line = "some source text that a project would have in it, line {}\n"
    body = "".join(line.format(n) for n in range(25))
    (root / ".gitignore").write_text("*.log\n")
    for d in range(folders):
        folder = root / f"d{d:02d}"
        folder.mkdir()
        for f in range(files):
            (folder / f"f{f:02d}.txt").write_text(f"{d}/{f}\n{body}")


async def _rounds(root: Path, count: int, watch: bool) -> tuple[list[float], list[float], float]:
    from harness_tui.core.checkpoints import Checkpointer
    from harness_tui.core.tools.base import ToolContext
    from harness_tui.core.tools.shell import BashTool

    async def emit(event_type: Any, /, **fields: Any) -> Any:
        return event_type(session_id="bench", **fields)

    async def set_plan(*_: Any) -> None:
        return None

    tool = BashTool()
    keeper = Checkpointer(root, Path(tempfile.mkdtemp()) / "cp", emit, use_inotify=watch)
    started = time.perf_counter()
    await keeper.ready()
    build_s = time.perf_counter() - started
    bare, checkpoint = [], []
    try:
        for n in range(count):
            command = {"command": f"printf 'round {n}\\n' >> d{n % 100:02d}/f{n % 97:02d}.txt"}
            ctx = ToolContext("s", "r", f"c{n}", root, "default", emit, set_plan)
            plain = {"command": f"printf 'round {n}\\n' >> bare.log"}  # ignored by git
            started = time.perf_counter()
            await tool.run(plain, ctx)
            bare.append((time.perf_counter() - started) * 1e3)

            started = time.perf_counter()
            step = await keeper.before(tool, command, ctx)
            middle = time.perf_counter()
            await tool.run(command, ctx)
            resumed = time.perf_counter()
            assert step is not None
            created = await keeper.after(step)
            ended = time.perf_counter()
            assert created is not None and len(created.files) == 1, "the change was missed"
            checkpoint.append(((middle - started) + (ended - resumed)) * 1e3)
    finally:
        keeper.close()
        await tool.aclose()
    return bare, checkpoint, build_s


def run(quick: bool) -> dict[str, Figure]:
    count = 20 if quick else 60
    with tempfile.TemporaryDirectory(prefix="b13-") as scratch:
        root = Path(scratch)
        make_workspace(root)
        bare, watched, build_s = anyio.run(_rounds, root, count, True)
        _, walked, _ = anyio.run(_rounds, root, max(5, count // 6), False)
    bash_ms = statistics.median(bare)
    checkpoint_ms = statistics.median(watched)
    return {
        "bash_ms": Figure(round(bash_ms, 2), "ms", note=f"bare Bash call, median of {count}"),
        "checkpoint_ms": Figure(
            round(checkpoint_ms, 2), "ms", TARGET_MS, "<=", note="before + after, inotify"
        ),
        "checkpoint_vs_bash": Figure(
            round(checkpoint_ms / bash_ms, 3),
            "x",
            TARGET_RATIO,
            "<=",
            note="checkpoint_ms / bash_ms, same run",
        ),
        "checkpoint_p90_ms": Figure(
            round(statistics.quantiles(watched, n=10)[-1], 2), "ms", note="90th percentile"
        ),
        "walk_checkpoint_ms": Figure(
            round(statistics.median(walked), 1), "ms", note="without inotify: a walk per look"
        ),
        "build_s": Figure(round(build_s, 2), "s", note="first walk of 10,000 files, kept"),
    }
