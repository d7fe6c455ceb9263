"""The wheel installs and runs outside the checkout, with its widgets, styles and plugins."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_wheel_installs_into_a_fresh_venv_and_runs(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(ROOT)],
        check=True,
        timeout=300,
    )
    (wheel,) = wheels.glob("harness_tui-*.whl")
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", str(wheel)], check=True, timeout=900)
    elsewhere = tmp_path / "project"
    elsewhere.mkdir()
    (elsewhere / "notes.txt").write_text("hello\n")
    clean_env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    clean_env["HARNESS_DEMO_PACE"] = "0"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            args,
            cwd=elsewhere,
            env=clean_env,
            capture_output=True,
            text=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
        )

    version = run(str(env_dir / "bin" / "harness-tui"), "--version")
    assert version.returncode == 0 and version.stdout.startswith("harness-tui ")
    demo = run(str(env_dir / "bin" / "harness-tui"), "-p", "hi", "--output-format", "json")
    assert demo.returncode == 0, demo.stderr
    assert "notes.txt" in demo.stdout or "1 files" in demo.stdout or "**1 file" in demo.stdout
    probe = run(
        str(python),
        "-c",
        "import harness_tui, harness_tui.widgets, importlib.resources as r;"
        "print(harness_tui.__file__);"
        "print(sorted(p.name for p in r.files('harness_tui.styles').iterdir()))",
    )
    assert probe.returncode == 0, probe.stderr
    installed_at, styles = probe.stdout.splitlines()
    assert str(env_dir) in installed_at and str(ROOT) not in installed_at
    assert "app.tcss" in styles
    clean_env.pop("HARNESS_PLUGINS", None)
    plugins = run(
        str(python),
        "-c",
        "from pathlib import Path; from harness_tui.core.extensions.plugins import "
        "discover_plugins, plugin_roots; "
        "found = discover_plugins(plugin_roots(Path('.'), include_project=False));"
        "print(sorted(p.name for p in found.plugins), [f.message for f in found.failures]);"
        "print(sorted(t.name for t in found.tools()))",
    )
    assert plugins.returncode == 0, plugins.stderr
    loaded, tools = plugins.stdout.splitlines()
    assert loaded == "['git', 'local-models'] []"
    assert "git_summary" in tools and "git_log" in tools
    # The known language servers' table is package data, read from the wheel.
    table = run(
        str(python),
        "-c",
        "from harness_tui.core.lsp.servers import known_server_table as t;"
        "print([e['name'] for e in t()])",
    )
    assert table.returncode == 0, table.stderr
    assert "'basedpyright'" in table.stdout and "'clangd'" in table.stdout
