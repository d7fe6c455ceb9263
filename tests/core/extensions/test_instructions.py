"""Project instructions: AGENTS.md, CLAUDE.md, HARNESS.md from the repository root down."""

from __future__ import annotations

import os
from pathlib import Path

from harness_tui.core.config import paths
from harness_tui.core.extensions.instructions import load_instructions, project_folders
from harness_tui.core.session.session import Session


def repo(tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "repo"
    work = root / "packages" / "app"
    work.mkdir(parents=True)
    (root / ".git").mkdir()
    return root, work


def test_files_are_collected_from_the_root_down_with_the_user_ones_first(tmp_path: Path) -> None:
    root, work = repo(tmp_path)
    (tmp_path / "AGENTS.md").write_text("above the repository: not read")
    (root / "AGENTS.md").write_text("root agents")
    (root / ".claude").mkdir()
    (root / ".claude" / "CLAUDE.md").write_text("root claude")
    (root / "packages" / "HARNESS.md").write_text("packages harness")
    (work / "CLAUDE.md").write_text("app claude")
    paths.config_dir().mkdir(parents=True, exist_ok=True)
    (paths.config_dir() / "HARNESS.md").write_text("user harness")
    paths.claude_user_dir().mkdir(parents=True, exist_ok=True)
    (paths.claude_user_dir() / "CLAUDE.md").write_text("user claude")
    loaded = load_instructions(work)
    assert [f.text for f in loaded.files] == [
        "user claude",
        "user harness",
        "root agents",
        "root claude",
        "packages harness",
        "app claude",
    ]
    assert [f.scope for f in loaded.files][:2] == ["user", "user"]
    section = loaded.prompt_section()
    assert section is not None
    assert section.index("root agents") < section.index("app claude")
    assert f"## {work / 'CLAUDE.md'}" in section
    assert project_folders(work) == [root, root / "packages", work]


def test_outside_a_repository_only_the_working_folder_counts(tmp_path: Path) -> None:
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    (tmp_path / "a" / "AGENTS.md").write_text("parent")
    (work / "AGENTS.md").write_text("here")
    assert [f.text for f in load_instructions(work).files] == ["here"]


def test_the_same_file_twice_is_read_once(tmp_path: Path) -> None:
    root, _ = repo(tmp_path)
    (root / "CLAUDE.md").write_text("shared rules")
    os.symlink(root / "CLAUDE.md", root / "AGENTS.md")
    (root / "HARNESS.md").write_text("shared rules\n")
    loaded = load_instructions(root)
    assert [f.path.name for f in loaded.files] == ["AGENTS.md"]


def test_the_size_cap_cuts_the_general_files_first(tmp_path: Path) -> None:
    root, work = repo(tmp_path)
    (root / "AGENTS.md").write_text("root line\n" * 500)  # 5,000 bytes
    (work / "AGENTS.md").write_text("specific line\n" * 100)  # 1,400 bytes
    (root / "packages" / "AGENTS.md").write_text("middle line\n" * 50)  # 600 bytes
    loaded = load_instructions(work, max_bytes=3000)
    sizes = {f.path.parent.name: (f.size, f.included) for f in loaded.files}
    assert sizes["app"] == (1400, 1400) and sizes["packages"] == (600, 600)
    kept_root = sizes["repo"][1]
    assert 0 < kept_root <= 1000 and loaded.total_bytes <= 3000
    section = loaded.prompt_section()
    assert section is not None
    assert "cut: 1,000 of 5,000 bytes kept" in section
    assert "cut to 1,000" in loaded.describe()[0]
    tiny = load_instructions(work, max_bytes=1500)
    assert [f.included for f in tiny.files] == [0, 0, 1400]  # no 100-byte slivers
    assert "left out" in tiny.describe()[0] and "[left out" in (tiny.prompt_section() or "")


async def test_instructions_go_into_the_system_prompt(tmp_path: Path) -> None:
    (tmp_path / "AGENTS.md").write_text("Always run the linter.")
    session = Session(model="demo", cwd=tmp_path, tools=[])
    assert "Always run the linter." in session.system_prompt
    context = session.extensions.describe_context(session.system_prompt, session.executor.specs())
    assert f"{tmp_path / 'AGENTS.md'} (project, 22 bytes)" in context
    assert Session(model="demo", cwd=tmp_path, system_prompt="custom").system_prompt == "custom"
