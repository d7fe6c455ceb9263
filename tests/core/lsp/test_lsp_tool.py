"""The ``LSP`` tool against a real server (basedpyright): a definition and references
across two files, hover, outlines and symbol search; Read deny rules hold."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness_tui.core.session.session import Session
from tests.core.lsp.test_diagnostics_e2e import basedpyright
from tests.helpers import tool_context

SHAPES = (
    "class Circle:\n"
    "    def __init__(self, r: float) -> None:\n"
    "        self.r = r\n\n\n"
    "def area(c: Circle) -> float:\n"
    "    return 3.14 * c.r * c.r\n"
)
MAIN = "from shapes import Circle, area\n\nprint(area(Circle(2.0)))\nprint(area(Circle(3.0)))\n"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "shapes.py").write_text(SHAPES)
    (tmp_path / "main.py").write_text(MAIN)
    return tmp_path


async def ask(session: Session, cwd: Path, **input: object) -> str:
    tool = session.executor.tools["LSP"]
    result = await tool.run(dict(input), tool_context(cwd))
    assert not result.is_error, result.content
    return result.content


async def test_definition_and_references_across_files(project: Path, lsp_on: None) -> None:
    basedpyright()
    async with Session(cwd=project, mode="bypassPermissions") as session:
        found = await ask(
            session, project, operation="definition", file_path="main.py", symbol="area"
        )
        assert "shapes.py:6:5" in found and "def area(c: Circle)" in found
        refs = await ask(
            session, project, operation="references", file_path="shapes.py", symbol="area"
        )
        assert "shapes.py:6:5" in refs and "main.py:3:7" in refs and "main.py:4:7" in refs
        hover = await ask(
            session, project, operation="hover", file_path="main.py", line=3, character=7
        )
        assert "def area(c: Circle) -> float" in hover
        outline = await ask(session, project, operation="document_symbols", file_path="shapes.py")
        assert "class Circle (line 1)" in outline and "function area (line 6)" in outline
        named = await ask(session, project, operation="definition", symbol="Circle")
        assert "shapes.py:1:7" in named


async def test_read_rules_hold(project: Path, lsp_on: None) -> None:
    basedpyright()
    async with Session(cwd=project, mode="bypassPermissions") as session:
        context = tool_context(project)
        context.read_denied = lambda path: path.name == "shapes.py"
        tool = session.executor.tools["LSP"]
        denied = await tool.run(
            {"operation": "document_symbols", "file_path": "shapes.py"}, context
        )
        assert denied.is_error and "denied by a Read rule" in denied.content
        refs = await tool.run(
            {"operation": "references", "file_path": "main.py", "symbol": "area"}, context
        )
        assert "shapes.py" not in refs.content.split("(")[0] and "Read rule denies" in refs.content


async def test_a_killed_server_restarts(
    project: Path, lsp_on: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGKILL mid-session: the crash is a notice, and the next question starts it again
    (the backoff is zero here; it is 1 s, 2 s, 4 s... otherwise)."""
    import os
    import signal

    from harness_tui.core.lsp import manager

    basedpyright()
    monkeypatch.setattr(manager, "BACKOFF_S", (0.0, 0.0, 0.0, 0.0, 0.0))
    async with Session(cwd=project, mode="bypassPermissions") as session:
        await ask(session, project, operation="document_symbols", file_path="shapes.py")
        slot = session.lsp._slots["basedpyright"]
        first = slot.server
        assert first is not None and first.pid is not None
        os.killpg(first.pid, signal.SIGKILL)
        await first.exited.wait()
        outline = await ask(session, project, operation="document_symbols", file_path="shapes.py")
        assert "class Circle" in outline
        assert slot.server is not first and slot.restarts == 1
        lines = "\n".join(session.lsp.status_lines())
        assert "basedpyright: ready" in lines and "restarted 1x" in lines
        notices = [e.message for e in session.store.replay() if e.type == "NOTICE"]
        assert any("basedpyright stopped" in n and "restarted" in n for n in notices)


async def test_servers_end_with_the_session_and_report_memory(project: Path, lsp_on: None) -> None:
    from tests.helpers import process_group_members

    basedpyright()
    async with Session(cwd=project, mode="bypassPermissions") as session:
        await ask(session, project, operation="document_symbols", file_path="shapes.py")
        server = session.lsp._slots["basedpyright"].server
        assert server is not None and server.pid is not None
        pgid = server.pid
        assert process_group_members(pgid) >= 1
        memory = server.memory_kb()
        assert memory is not None and memory > 10_000  # the launcher and Node: > 10 MB
        assert " MB, 1 open file" in "\n".join(session.lsp.status_lines())
    assert process_group_members(pgid) == 0  # the whole group is gone


async def test_a_language_without_a_server_is_one_notice(tmp_path: Path, lsp_on: None) -> None:
    """No gopls here: the first .go edit says so once; later ones say nothing."""
    from harness_tui.core.lsp.manager import LspManager

    said: list[str] = []

    async def emit(event_type: object, /, **fields: object) -> None:
        said.append(str(fields["message"]))

    manager = LspManager(tmp_path, emit, [], trusted=lambda: True, known_languages={".go": "go"})
    for name in ("a.go", "b.go", "c.go"):
        assert await manager.after([tmp_path / name]) == {}
    assert len(said) == 1 and said[0].startswith("No language server for go is installed")
