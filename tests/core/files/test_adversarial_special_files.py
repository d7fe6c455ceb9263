"""Special files wherever the program reads a path: nothing blocks, nothing reads forever.

The rule (``core/regular_files``): a path is opened with ``O_NONBLOCK`` after a ``stat``,
``fstat``-ed once open, and read only when it is a regular file, at most a bounded number
of bytes; anything else is refused with "X is a FIFO (named pipe), not a regular file;
harness-tui reads only regular files" (or a character device, a socket, ...). Each kind
of special file below is put where each reader looks: real FIFOs (with and without a
writer, behind a symlink), real ``/dev/zero`` and ``/dev/urandom``, a real Unix socket,
a block device. Every call runs under a deadline in a thread it cannot block forever."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest

from harness_tui.core.config import paths
from harness_tui.core.config.settings import load_settings
from harness_tui.core.config.trust import TrustStore
from harness_tui.core.errors import ConfigError, HarnessError
from harness_tui.core.extensions.agents import discover_agents
from harness_tui.core.extensions.commands import discover_commands
from harness_tui.core.extensions.instructions import load_instructions
from harness_tui.core.extensions.plugins.manifest import PluginError, read_manifest
from harness_tui.core.extensions.skills import discover_skills
from harness_tui.core.files.mentions import attach_files
from harness_tui.core.mcp.config import read_mcp_json
from harness_tui.core.mcp.features.tool_search import ToolSearch
from harness_tui.core.providers.offline.scripted import ScriptedProvider
from harness_tui.core.storage.saved import list_sessions, load_session
from harness_tui.core.tools.base import Tool
from harness_tui.core.tools.file_search import GlobTool
from harness_tui.core.tools.files import EditTool, ReadTool, WriteTool
from harness_tui.core.tools.grep import GrepTool
from tests.cli.test_cli import harness
from tests.helpers import tool_context
from tests.hostile_files import SpecialFiles, finishes_within

REFUSED = "not a regular file; harness-tui reads only regular files"


@pytest.fixture
def special() -> Iterator[SpecialFiles]:
    files = SpecialFiles()
    yield files
    files.close()


def _tool(tool: Tool, cwd: Path, **input: Any) -> str:
    result = anyio.run(tool.run, input, tool_context(cwd))
    return str(result.content)


def _raised(error: type[Exception], call: Callable[[], object]) -> str:
    try:
        call()
    except error as exc:
        return str(exc)
    return ""


# --- readers: where the special file goes, and how the program reads it ----------------------


@dataclass(frozen=True)
class Reader:
    name: str
    #: Where the special file goes, from the project folder.
    place: Callable[[Path], Path]
    #: What the program says after reading it (a tool's answer, notices, an error).
    read: Callable[[Path, Path], str]
    #: Words the answer must hold: the refusal, or (for a file met while walking a
    #: folder) the regular file beside it, found all the same; or an alternative.
    expect: str = REFUSED
    #: Kinds of special file this reader is not tried with, and why.
    without: tuple[str, ...] = ()
    #: Also right: a symlink to a device leads outside the workspace, and an @ mention
    #: attaches only what is inside.
    or_else: str | None = None


def _at(*parts: str) -> Callable[[Path], Path]:
    return lambda cwd: cwd.joinpath(*parts)


def _user(folder: Callable[[], Path], *parts: str) -> Callable[[Path], Path]:
    return lambda cwd: folder().joinpath(*parts)


def _without_ripgrep(call: Callable[[Path, Path], str]) -> Callable[[Path, Path], str]:
    def read(cwd: Path, path: Path) -> str:
        os.environ["HARNESS_NO_RIPGREP"] = "1"
        try:
            return call(cwd, path)
        finally:
            del os.environ["HARNESS_NO_RIPGREP"]

    return read


def _grep_path(cwd: Path, path: Path) -> str:
    return _tool(GrepTool(), cwd, pattern="secret", path=str(path))


def _grep_folder(cwd: Path, path: Path) -> str:
    return _tool(GrepTool(), cwd, pattern="needle", path="folder")


def _glob_folder(cwd: Path, path: Path) -> str:
    return _tool(GlobTool(), cwd, pattern="**/*", path="folder")


def _session_file(cwd: Path, path: Path) -> str:
    listed = list_sessions(None, include_empty=True)
    assert listed == []  # skipped, not read
    return _raised(HarnessError, lambda: load_session("ses_special"))


def _logged(call: Callable[[], object]) -> Callable[[Path, Path], str]:
    """The user's own trust and usage files only log a problem: nothing is trusted or
    counted, and the log names the file."""
    import logging

    def read(cwd: Path, path: Path) -> str:
        records: list[str] = []
        handler = logging.Handler()
        handler.emit = lambda record: records.append(record.getMessage())  # type: ignore[method-assign]
        logger = logging.getLogger("harness_tui")
        logger.addHandler(handler)
        try:
            assert not call()
        finally:
            logger.removeHandler(handler)
        return "\n".join(records)

    return read


# A FIFO as a .gitignore makes ``rg`` itself wait (until its 60 s timeout): it reads
# ignore files on its own. A git clone cannot hold a FIFO; see the module docstring of
# file_walk for the bound that holds for the devices a symlink can point at.
FIFOS = ("fifo", "fifo with a writer", "symlink to a fifo")

READERS = [
    Reader("Read", _at("notes.txt"), lambda c, p: _tool(ReadTool(), c, file_path=str(p))),
    Reader(
        "Read of an image", _at("pic.png"), lambda c, p: _tool(ReadTool(), c, file_path="pic.png")
    ),
    Reader(
        "Read of a line range",
        _at("log.txt"),
        lambda c, p: _tool(ReadTool(), c, file_path=str(p), offset=1, limit=5),
    ),
    Reader(
        "Edit",
        _at("edit.txt"),
        lambda c, p: _tool(EditTool(), c, file_path=str(p), old_string="a", new_string="b"),
    ),
    Reader(
        "Write", _at("write.txt"), lambda c, p: _tool(WriteTool(), c, file_path=str(p), content="x")
    ),
    Reader("Grep of the path (rg)", _at("data.txt"), _grep_path),
    Reader("Grep of the path (Python)", _at("data.txt"), _without_ripgrep(_grep_path)),
    Reader("Grep of a folder holding it (rg)", _at("folder", "data.txt"), _grep_folder, "a.txt"),
    Reader(
        "Grep of a folder holding it (Python)",
        _at("folder", "data.txt"),
        _without_ripgrep(_grep_folder),
        "a.txt",
    ),
    Reader(
        "Glob of a folder holding it (Python)",
        _at("folder", "x.txt"),
        _without_ripgrep(_glob_folder),
        "a.txt",
    ),
    Reader(
        "a .gitignore, Glob (Python)",
        _at("folder", ".gitignore"),
        _without_ripgrep(_glob_folder),
        "a.txt",
    ),
    Reader(
        "a .gitignore, Grep (Python)",
        _at("folder", ".gitignore"),
        _without_ripgrep(_grep_folder),
        "a.txt",
    ),
    Reader("a .gitignore, Glob (rg)", _at("folder", ".gitignore"), _glob_folder, "a.txt", FIFOS),
    Reader("a .gitignore, Grep (rg)", _at("folder", ".gitignore"), _grep_folder, "a.txt", FIFOS),
    Reader(
        "an @ mention",
        _at("mentioned.txt"),
        lambda c, p: "\n".join(attach_files("look at @mentioned.txt", c, [c], None).notices),
        or_else="not attached: it is outside the workspace",
    ),
    Reader("CLAUDE.md", _at("CLAUDE.md"), lambda c, p: "\n".join(load_instructions(c).problems)),
    Reader("AGENTS.md", _at("AGENTS.md"), lambda c, p: "\n".join(load_instructions(c).problems)),
    Reader(
        "user CLAUDE.md",
        _user(paths.claude_user_dir, "CLAUDE.md"),
        lambda c, p: "\n".join(load_instructions(c).problems),
    ),
    Reader(
        ".claude/settings.json",
        _at(".claude", "settings.json"),
        lambda c, p: "\n".join(load_settings(c).problems),
    ),
    Reader(
        ".harness/settings.yaml",
        _at(".harness", "settings.yaml"),
        lambda c, p: "\n".join(load_settings(c).problems),
    ),
    Reader(
        "user settings.json",
        _user(paths.claude_user_dir, "settings.json"),
        lambda c, p: "\n".join(load_settings(c).problems),
    ),
    Reader(".mcp.json", _at(".mcp.json"), lambda c, p: "\n".join(read_mcp_json(p).problems)),
    Reader(
        "SKILL.md",
        _at(".claude", "skills", "s", "SKILL.md"),
        lambda c, p: "\n".join(discover_skills([(c / ".claude" / "skills", "project")]).problems),
    ),
    Reader(
        "a command file",
        _at(".claude", "commands", "c.md"),
        lambda c, p: "\n".join(discover_commands(c).problems),
    ),
    Reader(
        "an agent file",
        _at(".claude", "agents", "a.md"),
        lambda c, p: "\n".join(discover_agents(c).problems),
    ),
    Reader(
        "plugin.yaml",
        _at(".harness", "plugins", "p", "plugin.yaml"),
        lambda c, p: _raised(PluginError, lambda: read_manifest(p)),
    ),
    Reader(
        "the scripted model's script",
        _at("script.yaml"),
        lambda c, p: _raised(ConfigError, lambda: ScriptedProvider.from_file(p)),
    ),
    Reader(
        "the trust file",
        _user(paths.data_dir, "trusted_folders.json"),
        lambda c, p: _logged(lambda: TrustStore(p).folders())(c, p),
    ),
    Reader(
        "the tool usage file",
        _user(paths.data_dir, "tool_usage.json"),
        lambda c, p: _logged(lambda: ToolSearch(p).usage)(c, p),
    ),
    Reader("a session file", _user(paths.data_dir, "sessions", "ses_special.jsonl"), _session_file),
]

CASES = [
    pytest.param(reader, kind, id=f"{reader.name} | {kind}")
    for reader in READERS
    for kind in SpecialFiles.KINDS
    if kind not in reader.without
]


@pytest.mark.parametrize(("reader", "kind"), CASES)
def test_a_special_file_is_refused_promptly(
    tmp_path: Path, special: SpecialFiles, reader: Reader, kind: str
) -> None:
    cwd = tmp_path / "project"
    (cwd / "folder").mkdir(parents=True)
    (cwd / "folder" / "a.txt").write_text("the needle is here\n")
    path = special.make(kind, reader.place(cwd))
    answer = finishes_within(lambda: reader.read(cwd, path))
    if reader.or_else is not None and kind.startswith(("/dev/", "block")):
        assert reader.or_else in answer, answer[:1000]
        return
    assert reader.expect in answer, answer[:1000]
    if reader.expect == REFUSED:
        assert os.path.basename(path) in answer  # the message names the file


async def test_a_proc_file_is_read_within_the_limit(tmp_path: Path) -> None:
    """``/proc`` files say their size is 0; they are regular and read, boundedly."""
    result = await ReadTool().run({"file_path": "/proc/self/status"}, tool_context(tmp_path))
    assert not result.is_error and "Name:" in result.content


def test_a_regular_file_swapped_for_a_fifo_is_still_refused(
    tmp_path: Path, special: SpecialFiles
) -> None:
    """What is read is what ``fstat`` says of the open descriptor: a symlink re-pointed
    at a FIFO between the check and the open cannot make the read block."""
    from harness_tui.core.files.regular import NotRegularFile, open_regular

    fifo = special.make("fifo", tmp_path / "pipe")
    link = tmp_path / "link"
    link.symlink_to(fifo)
    with pytest.raises(NotRegularFile, match="FIFO"):
        finishes_within(lambda: open_regular(link))


# --- end to end --------------------------------------------------------------------------------


# A symlink to /dev/zero leads outside the workspace: the Read asks first (see
# test_permissions); a FIFO in the workspace is read without asking.
@pytest.mark.parametrize("kind", ["fifo", "fifo with a writer", "symlink to a fifo"])
def test_headless_read_of_a_special_file_ends_with_the_refusal(
    tmp_path: Path, special: SpecialFiles, kind: str
) -> None:
    """The hang that Ctrl+C could not end: the Read runs in a worker thread."""
    special.make(kind, tmp_path / "pipe")
    script = tmp_path / "script.yaml"
    script.write_text("- tool_calls: [{name: Read, input: {file_path: pipe}}]\n- text: finished\n")
    result = harness(
        "-p",
        "read it",
        "--model",
        f"scripted:{script}",
        "--output-format",
        "stream-json",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    events = [json.loads(line) for line in result.stdout.splitlines()]
    failed = [e for e in events if e["type"] == "TOOL_CALL_FAILED"]
    assert failed and REFUSED in failed[0]["error"], failed
    assert events[-1]["type"] == "RUN_COMPLETED"


@pytest.mark.parametrize("kind", ["fifo", "/dev/zero", "socket"])
def test_cli_with_a_special_session_file_finishes(
    tmp_path: Path, special: SpecialFiles, kind: str
) -> None:
    special.make(kind, paths.data_dir() / "sessions" / "ses_special.jsonl")
    listed = harness("sessions", "--all", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    script = tmp_path / "script.yaml"
    script.write_text("- text: new session\n")
    continued = harness("-p", "hi", "--continue", "--model", f"scripted:{script}", cwd=tmp_path)
    assert continued.returncode == 2, continued.stderr
    assert "no saved session in this folder" in continued.stderr
    resumed = harness(
        "-p", "hi", "--resume", "ses_spec", "--model", f"scripted:{script}", cwd=tmp_path
    )
    assert resumed.returncode != 0 and REFUSED in resumed.stderr, resumed.stderr


def _special_folder(root: Path, special: SpecialFiles) -> Path:
    """A folder whose every configuration file is a special file."""
    cwd = root / "cloned"
    for rel, kind in {
        "CLAUDE.md": "fifo",
        "AGENTS.md": "/dev/zero",
        ".claude/CLAUDE.md": "socket",
        ".claude/settings.json": "fifo with a writer",
        ".harness/settings.yaml": "/dev/urandom",
        ".mcp.json": "symlink to a fifo",
        ".claude/skills/s/SKILL.md": "fifo",
        ".claude/commands/c.md": "/dev/zero",
        ".claude/agents/a.md": "fifo",
        ".harness/plugins/p/plugin.yaml": "fifo",
        ".gitignore": "fifo",
    }.items():
        special.make(kind, cwd / rel)
    return cwd


def test_a_session_starts_promptly_among_special_files(
    tmp_path: Path, special: SpecialFiles
) -> None:
    from tests.helpers import scripted_in

    cwd = _special_folder(tmp_path, special)
    for trusted in (False, True):
        session, _ = finishes_within(lambda t=trusted: scripted_in(cwd, [], trusted=t))
        notices = "\n".join(session._notices)
        assert f"{cwd / 'CLAUDE.md'} is a FIFO" not in notices  # said as a problem:
        assert "CLAUDE.md: it is a FIFO (named pipe), not a regular file" in notices
        assert "settings.json: it is a FIFO (named pipe)" in notices
        assert "SKILL.md: it is a FIFO (named pipe)" in notices


@pytest.mark.parametrize("trust", [False, True], ids=["untrusted", "trusted"])
def test_headless_run_among_special_files_finishes(
    tmp_path: Path, special: SpecialFiles, trust: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    cwd = _special_folder(tmp_path, special)
    script = tmp_path / "script.yaml"
    script.write_text("- text: all done\n")
    monkeypatch.setenv("HARNESS_PLUGINS", "on" if trust else "off")
    args = ["-p", "hi", "--model", f"scripted:{script}", *(["--trust"] if trust else [])]
    result = harness(*args, cwd=cwd)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "all done" in result.stdout and "Traceback" not in result.stderr
    assert "CLAUDE.md: it is a FIFO (named pipe), not a regular file" in result.stderr
    if trust:
        assert ".mcp.json: it is a FIFO (named pipe)" in result.stderr
        assert "plugin.yaml: it is a FIFO (named pipe)" in result.stderr
