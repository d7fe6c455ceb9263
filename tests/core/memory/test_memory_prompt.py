"""Memory in the prompt: a fact kept in one session is in the next session's first
request for that project (the system prompt) and absent from another project's; the
user's memory is in both; Claude Code's auto memory of the project is read too."""

from __future__ import annotations

import re
from pathlib import Path

from harness_tui.core.config import paths
from harness_tui.core.memory.places import claude_memory_index
from harness_tui.core.memory.prompt import PREAMBLE, load_memory
from harness_tui.core.memory.tool import stores


def test_each_project_sees_its_own_and_the_users(tmp_path: Path) -> None:
    here, there = tmp_path / "here", tmp_path / "there"
    here.mkdir(), there.mkdir()
    stores(here)["project"].add("Tests run with `make check`")
    stores(here)["user"].add("Prefers short answers")
    mine, other = load_memory(here).text, load_memory(there).text
    assert mine.startswith(PREAMBLE)
    assert "make check" in mine and "Prefers short answers" in mine
    assert "make check" not in other and "Prefers short answers" in other
    assert [title for title, _ in load_memory(there).parts] == ["User memory"]


def test_nothing_kept_is_no_section(tmp_path: Path) -> None:
    assert load_memory(tmp_path).text == ""


def test_claude_codes_auto_memory_is_read(tmp_path: Path) -> None:
    index = claude_memory_index(tmp_path)
    assert str(index).startswith(str(paths.claude_user_dir() / "projects"))
    # Claude Code's name for the project's folder: its path, non-alphanumerics as "-".
    assert index.parent.parent.name == re.sub(r"[^A-Za-z0-9]", "-", str(tmp_path.resolve()))
    index.parent.mkdir(parents=True)
    index.write_text("# Memory\n\n- builds need `uv sync` first\n")
    memory = load_memory(tmp_path)
    assert memory.parts[-1][0] == "Claude Code's memory of this project (read-only)"
    assert "uv sync" in memory.text


async def test_context_counts_memory_as_its_own_part(tmp_path: Path) -> None:
    from harness_tui.core.session.session import Session
    from harness_tui.tui.sessions import context_text

    stores(tmp_path)["project"].add("Tests run with `make check` " + "and more " * 40)
    async with Session(model="demo", cwd=tmp_path) as session:
        parts = session.context_breakdown()
        assert parts.memory > 50 and parts.system > 0
        assert parts.used == (
            parts.system + parts.memory + parts.tools + parts.mcp_tools + parts.messages
            + parts.adjustment
        )  # fmt: skip
        assert "memory (/memory)" in context_text(session)
    async with Session(model="demo", cwd=tmp_path / "..") as elsewhere:
        assert elsewhere.context_breakdown().memory == 0
        assert "memory (/memory)" not in context_text(elsewhere)
