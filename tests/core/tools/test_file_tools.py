"""Read, Write and Edit on a temporary workspace, with their error paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness_tui.core.tools import EditTool, ReadTool, WriteTool
from harness_tui.core.tools.files import MAX_READ_BYTES
from tests.helpers import tool_context


async def test_read_numbers_lines_and_pages_with_offset_and_limit(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("".join(f"line {i}\n" for i in range(1, 11)))
    ctx = tool_context(tmp_path)
    whole = await ReadTool().run({"file_path": "a.txt"}, ctx)
    assert whole.content.splitlines()[0] == "     1\tline 1"
    assert whole.content.splitlines()[-1] == "    10\tline 10"
    assert whole.display == "lines 1-10 of 10"
    part = await ReadTool().run(
        {"file_path": str(tmp_path / "a.txt"), "offset": 4, "limit": 2}, ctx
    )
    assert part.content.splitlines()[:2] == ["     4\tline 4", "     5\tline 5"]
    assert "use offset=6 to go on" in part.content
    past = await ReadTool().run({"file_path": "a.txt", "offset": 50}, ctx)
    assert past.is_error and "only 10 lines" in past.content


async def test_read_keeps_crlf_files_readable_and_cuts_long_lines(tmp_path: Path) -> None:
    (tmp_path / "w.txt").write_bytes(b"one\r\ntwo\r\n" + b"x" * 3000 + b"\n")
    result = await ReadTool().run({"file_path": "w.txt"}, tool_context(tmp_path))
    lines = result.content.splitlines()
    assert lines[:2] == ["     1\tone", "     2\ttwo"]
    assert lines[2].endswith("[...]") and "1 long lines were cut" in result.content


@pytest.mark.parametrize(
    ("setup", "needle"),
    [
        (lambda p: None, "does not exist"),
        (lambda p: p.mkdir(), "is a folder"),
        (lambda p: p.write_bytes(b"\x7fELF\2\1\1\0\0\0"), "binary file"),
        (lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0"), "cut short or damaged"),
        (lambda p: p.write_bytes(b"x" * (MAX_READ_BYTES + 1)), "read it in parts"),
    ],
    ids=["missing", "folder", "binary", "damaged-image", "too-big"],
)
async def test_read_refuses_what_it_cannot_show(tmp_path: Path, setup, needle: str) -> None:
    setup(tmp_path / "target")
    result = await ReadTool().run({"file_path": "target"}, tool_context(tmp_path))
    assert result.is_error and needle in result.content


async def test_read_of_an_empty_file_and_a_nul_path(tmp_path: Path) -> None:
    (tmp_path / "empty").write_text("")
    empty = await ReadTool().run({"file_path": "empty"}, tool_context(tmp_path))
    assert not empty.is_error and "is empty" in empty.content
    nul = await ReadTool().run({"file_path": "a\0b"}, tool_context(tmp_path))
    assert nul.is_error and "NUL byte" in nul.content


async def test_write_creates_folders_and_shows_a_diff(tmp_path: Path) -> None:
    ctx = tool_context(tmp_path)
    created = await WriteTool().run({"file_path": "deep/er/new.py", "content": "a\nb\n"}, ctx)
    assert (tmp_path / "deep/er/new.py").read_text() == "a\nb\n"
    assert created.content == "Created 2 lines in deep/er/new.py."
    assert created.display_format == "diff" and "+a\n+b\n" in created.display
    assert created.details["created"] is True
    again = await WriteTool().run({"file_path": "deep/er/new.py", "content": "a\nc\n"}, ctx)
    assert "-b\n+c\n" in again.display and again.details["created"] is False
    folder = await WriteTool().run({"file_path": "deep", "content": "x"}, ctx)
    assert folder.is_error and "is a folder" in folder.content


async def test_edit_replaces_a_unique_match_and_shows_a_unified_diff(tmp_path: Path) -> None:
    target = tmp_path / "m.py"
    target.write_text("def f():\n    return 1\n\ndef g():\n    return 1\n")
    ctx = tool_context(tmp_path)
    edit = EditTool()
    done = await edit.run(
        {
            "file_path": "m.py",
            "old_string": "def g():\n    return 1",
            "new_string": "def g():\n    return 2",
        },
        ctx,
    )
    assert not done.is_error and done.content == "Replaced 1 occurrence in m.py."
    assert target.read_text().endswith("def g():\n    return 2\n")
    assert done.display.startswith("--- a/m.py\n+++ b/m.py\n")
    assert "-    return 1\n+    return 2\n" in done.display


async def test_edit_error_paths_and_replace_all(tmp_path: Path) -> None:
    target = tmp_path / "m.txt"
    target.write_text("x = 1\nx = 1\n")
    ctx = tool_context(tmp_path)
    edit = EditTool()

    async def run(**input):
        return await edit.run({"file_path": "m.txt", **input}, ctx)

    twice = await run(old_string="x = 1", new_string="x = 2")
    assert twice.is_error and "appears 2 times" in twice.content and "replace_all" in twice.content
    assert target.read_text() == "x = 1\nx = 1\n"  # untouched
    missing = await run(old_string="y = 1", new_string="y = 2")
    assert missing.is_error and "was not found" in missing.content
    spaced = await run(old_string="x = 1 ", new_string="z")
    assert spaced.is_error
    same = await run(old_string="x = 1", new_string="x = 1")
    assert same.is_error and "the same" in same.content
    everything = await run(old_string="x = 1", new_string="x = 3", replace_all=True)
    assert not everything.is_error and "2 occurrences" in everything.content
    assert target.read_text() == "x = 3\nx = 3\n"
    gone = await edit.run({"file_path": "nope.txt", "old_string": "a", "new_string": "b"}, ctx)
    assert gone.is_error and "does not exist" in gone.content
    made = await edit.run({"file_path": "new.txt", "old_string": "", "new_string": "hi\n"}, ctx)
    assert not made.is_error and (tmp_path / "new.txt").read_text() == "hi\n"


async def test_edit_keeps_crlf_line_endings(tmp_path: Path) -> None:
    target = tmp_path / "win.txt"
    target.write_bytes(b"a\r\nb\r\n")
    await EditTool().run(
        {"file_path": "win.txt", "old_string": "b", "new_string": "c"}, tool_context(tmp_path)
    )
    assert target.read_bytes() == b"a\r\nc\r\n"


async def test_edit_and_write_preview_is_the_diff_they_would_make(tmp_path: Path) -> None:
    (tmp_path / "p.txt").write_text("old\n")
    ctx = tool_context(tmp_path)
    preview = await EditTool().preview(
        {"file_path": "p.txt", "old_string": "old", "new_string": "new"}, ctx
    )
    assert preview is not None and "-old\n+new\n" in preview
    assert (tmp_path / "p.txt").read_text() == "old\n"  # a preview changes nothing
    assert (
        await EditTool().preview(
            {"file_path": "p.txt", "old_string": "zzz", "new_string": "y"}, ctx
        )
        is None
    )
    write_preview = await WriteTool().preview({"file_path": "q.txt", "content": "q\n"}, ctx)
    assert write_preview is not None and "+q\n" in write_preview


async def test_a_ranged_read_of_a_huge_line_holds_only_a_piece_of_it(tmp_path: Path) -> None:
    """64 MiB with no newline, then two short lines: reading line 2 must not hold the
    first line whole (it used to, so a gigabyte-long line took a gigabyte)."""
    import tracemalloc

    with (tmp_path / "min.js").open("wb") as handle:
        for _ in range(64):
            handle.write(b"a" * (1 << 20))
        handle.write(b"\nsecond\nthird")
    ctx = tool_context(tmp_path)
    tracemalloc.start()
    try:
        part = await ReadTool().run({"file_path": "min.js", "offset": 2, "limit": 1}, ctx)
        first = await ReadTool().run({"file_path": "min.js", "offset": 1, "limit": 1}, ctx)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert part.content.splitlines()[0] == "     2\tsecond" and "of 3" in part.display
    assert first.content.startswith("     1\t" + "a" * 2000 + " [...]")
    assert peak < 4 << 20, f"peak {peak:,} bytes"
