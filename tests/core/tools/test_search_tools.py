"""Glob and Grep, with ripgrep and with the pure-Python fallback: same answers,
.gitignore respected."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from harness_tui.core.files.patterns import IgnoreRules, compile_pattern, parse_ignore_line
from harness_tui.core.files.walk import walk_files
from harness_tui.core.tools import GlobTool, GrepTool
from tests.helpers import tool_context

BACKENDS = [
    "python",
    pytest.param(
        "rg", marks=pytest.mark.skipif(shutil.which("rg") is None, reason="rg is not installed")
    ),
]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "python":
        monkeypatch.setenv("HARNESS_NO_RIPGREP", "1")
    else:
        monkeypatch.delenv("HARNESS_NO_RIPGREP", raising=False)
    return request.param


def tree(root: Path, files: dict[str, str]) -> Path:
    for index, (rel, text) in enumerate(files.items()):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        os.utime(path, (1_000_000 + index, 1_000_000 + index))
    return root


WORKSPACE = {
    ".gitignore": "build/\n*.log\n!keep.log\n/secret.txt\n",
    "src/app.py": "import os\ndef main():\n    return 'TODO: ship'\n",
    "src/util.py": "def helper():\n    pass  # todo later\n",
    "src/.gitignore": "generated.py\n",
    "src/generated.py": "TODO generated\n",
    "docs/readme.md": "TODO: docs\n",
    "build/out.py": "TODO built\n",
    "debug.log": "TODO log\n",
    "keep.log": "TODO kept\n",
    "secret.txt": "TODO secret\n",
    "nested/secret.txt": "TODO not the root one\n",
    ".github/ci.yml": "TODO: ci\n",
    "node_modules/dep/x.py": "TODO vendored\n",
}


async def test_glob_respects_gitignore_with_both_backends(tmp_path: Path, backend: str) -> None:
    tree(tmp_path, WORKSPACE)
    result = await GlobTool().run({"pattern": "**/*"}, tool_context(tmp_path))
    found = sorted(result.content.splitlines())
    assert found == sorted(
        [
            ".gitignore",
            ".github/ci.yml",
            "docs/readme.md",
            "keep.log",
            "nested/secret.txt",
            "src/.gitignore",
            "src/app.py",
            "src/util.py",
        ]
    )
    py = await GlobTool().run({"pattern": "src/*.py"}, tool_context(tmp_path))
    assert py.content.splitlines() == ["src/util.py", "src/app.py"]  # newest first


async def test_grep_modes_give_the_same_answer_with_both_backends(
    tmp_path: Path, backend: str
) -> None:
    tree(tmp_path, WORKSPACE)
    ctx = tool_context(tmp_path)
    grep = GrepTool()
    files = await grep.run({"pattern": "TODO"}, ctx)
    assert files.content.splitlines() == [
        ".github/ci.yml",
        "docs/readme.md",
        "keep.log",
        "nested/secret.txt",
        "src/app.py",
    ]
    assert files.details["backend"] == backend and files.display == "5 files"
    content = await grep.run(
        {"pattern": "todo", "-i": True, "output_mode": "content", "glob": "*.py"}, ctx
    )
    assert content.content.splitlines() == [
        "src/app.py:3:    return 'TODO: ship'",
        "src/util.py:2:    pass  # todo later",
    ]
    assert content.display == "2 matching lines in 2 files"
    count = await grep.run({"pattern": "o", "output_mode": "count", "path": "src"}, ctx)
    assert count.content.splitlines() == ["app.py:1", "util.py:1"]
    context = await grep.run(
        {"pattern": "return", "output_mode": "content", "-B": 1, "path": "src/app.py"}, ctx
    )
    assert context.content.splitlines() == [
        "app.py-2-def main():",
        "app.py:3:    return 'TODO: ship'",
    ]
    none = await grep.run({"pattern": "nothing-like-this"}, ctx)
    assert not none.is_error and none.display == "no matches"
    bad = await grep.run({"pattern": "(unclosed"}, ctx)
    assert bad.is_error and "could not search" in bad.content
    missing = await grep.run({"pattern": "x", "path": "nope"}, ctx)
    assert missing.is_error and "does not exist" in missing.content


async def test_grep_head_limit(tmp_path: Path, backend: str) -> None:
    tree(tmp_path, {f"f{i}.txt": "hit\n" for i in range(5)})
    result = await GrepTool().run({"pattern": "hit", "head_limit": 2}, tool_context(tmp_path))
    assert result.content.splitlines()[:2] == ["f0.txt", "f1.txt"]
    assert "3 more lines not shown" in result.content


def test_parent_gitignore_applies_inside_a_repository(tmp_path: Path) -> None:
    tree(
        tmp_path,
        {".gitignore": "*.tmp\nsub/skip/\n", "sub/a.tmp": "", "sub/b.py": "", "sub/skip/c.py": ""},
    )
    (tmp_path / ".git").mkdir()
    files, stopped = walk_files(tmp_path / "sub")
    assert files == ["b.py"] and not stopped


@pytest.mark.parametrize(
    ("line", "path", "is_dir", "ignored"),
    [
        ("*.log", "a/b.log", False, True),
        ("/root.txt", "root.txt", False, True),
        ("/root.txt", "a/root.txt", False, False),
        ("build/", "build", True, True),
        ("build/", "build", False, False),
        ("build/", "a/build/x.py", False, True),
        ("docs/*.md", "docs/a.md", False, True),
        ("docs/*.md", "x/docs/a.md", False, False),
        ("**/cache", "a/b/cache", True, True),
        ("a/**/z", "a/z", False, True),
        ("a/**/z", "a/b/c/z", False, True),
        ("\\#hash", "#hash", False, True),
    ],
)
def test_gitignore_patterns(line: str, path: str, is_dir: bool, ignored: bool) -> None:
    pattern = parse_ignore_line(line)
    assert pattern is not None
    assert pattern.matches(path, is_dir) is ignored


def test_negation_and_comments() -> None:
    rules = IgnoreRules([p for p in map(parse_ignore_line, ["# c", "", "*.log", "!keep.log"]) if p])
    assert rules.decide("x.log", False) is True
    assert rules.decide("keep.log", False) is False
    assert rules.decide("x.py", False) is None
    assert compile_pattern("*.{ts,tsx}", braces=True).matches("a/b.tsx")
