"""Regenerate ``docs/screenshot.svg``: the TUI after one prompt on the offline demo model,
in a small sample project (run from the repository root: ``python docs/make_screenshot.py``)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile
from pathlib import Path

from harness_tui.core.session.session import Session
from harness_tui.tui.app import HarnessApp

OUT = Path(__file__).with_name("screenshot.svg")


def sample_project(project: Path) -> None:
    (project / "src").mkdir()
    (project / "src" / "app.py").write_text('def main():\n    print("hi")\n')
    (project / "src" / "test_app.py").write_text("import app\n")
    (project / "README.md").write_text("# Proj\n")
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)


async def main(project: Path) -> None:
    app = HarnessApp(Session(model="demo", cwd=project), frozen_clock=True)
    async with app.run_test(size=(120, 36)) as pilot:
        while app.session is None or not app.session.is_open:
            await pilot.pause(0.05)
        await app.session.submit("What is in this project?")
        while app.session.running:
            await pilot.pause(0.1)
        await pilot.pause(0.5)
        app.save_screenshot(str(OUT))
    print(f"wrote {OUT}", file=sys.stderr)


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as folder:
        sample_project(Path(folder))
        asyncio.run(main(Path(folder)))
