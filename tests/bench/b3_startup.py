"""B3 start-up: ``harness-tui --version`` wall time, and process start to the first
painted frame of the TUI (headless) against ``python -c "import textual.app"`` in the
same run.

The first-frame probe runs the real start path (``harness_tui.cli.main``: arguments,
settings, trust, model, session, app) in a fresh process; the app is the real one, run
headless, and reports when its first frame has been painted.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.bench import Figure

ID = "B3"
TITLE = "start-up"

_PROBE = r"""
import sys, time
started = float(sys.argv[1])
import harness_tui.tui.app as app_module

class FirstFrame(app_module.HarnessApp):
    def on_mount(self):
        super().on_mount()
        self.call_after_refresh(self._painted)

    def _painted(self):
        print(f"FIRST_FRAME {time.time() - started:.4f}", flush=True)
        self.exit()

def run_tui(session, serve=None, **options):
    FirstFrame(session).run(headless=True)

app_module.run_tui = run_tui
from harness_tui.cli import main
main([])
"""


def _time_until(args: list[str], marker: str | None, cwd: Path) -> float:
    """Seconds from spawn until ``marker`` is printed (or the process exits)."""
    env = {**os.environ, "HARNESS_DEMO_PACE": "0"}
    started = time.time()
    process = subprocess.Popen(
        [*args, *([str(started)] if marker else [])],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    if marker is None:
        process.communicate(timeout=60)
        return time.time() - started
    for line in process.stdout:
        if line.startswith(marker):
            elapsed = time.time() - started
            process.communicate(timeout=60)
            return elapsed
    raise RuntimeError(f"no {marker} line: {process.communicate()[1][-500:]}")


def _compile_package() -> None:
    """Byte-compile our modules as ``pip install`` does for a wheel. An editable install
    under PYTHONDONTWRITEBYTECODE (set on these machines) would otherwise compile every
    module from source at each start, which no installed copy does."""
    import compileall
    import importlib.util

    for package in ("harness_tui", "harness_tui.widgets"):
        spec = importlib.util.find_spec(package)
        assert spec is not None and spec.submodule_search_locations
        for folder in spec.submodule_search_locations:
            compileall.compile_dir(folder, quiet=1)


def run(quick: bool) -> dict[str, Figure]:
    _compile_package()
    rounds = 5 if quick else 15
    executable = shutil.which("harness-tui", path=str(Path(sys.executable).parent))
    assert executable, "harness-tui is not installed in this environment"
    with tempfile.TemporaryDirectory() as folder:
        cwd = Path(folder)
        (cwd / "README.md").write_text("# scratch\n")
        version, textual_import, first_frame = [], [], []
        for _ in range(rounds):  # interleaved, so machine load hits all three alike
            version.append(_time_until([executable, "--version"], None, cwd))
            textual_import.append(
                _time_until([sys.executable, "-c", "import textual.app"], None, cwd)
            )
            first_frame.append(_time_until([sys.executable, "-c", _PROBE], "FIRST_FRAME", cwd))
    base, ours = statistics.median(textual_import), statistics.median(first_frame)
    return {
        "version_ms": Figure(
            statistics.median(version) * 1e3, "ms", 150, "<=", f"median of {rounds}"
        ),
        "first_frame_ms": Figure(ours * 1e3, "ms", note="spawn to first painted frame"),
        "import_textual_app_ms": Figure(base * 1e3, "ms", note="python -c 'import textual.app'"),
        "first_frame_ratio": Figure(ours / base, "x", 1.5, "<="),
    }
