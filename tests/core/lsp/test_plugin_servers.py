"""Language servers that plugins declare: Claude Code's declarations read unchanged
(samples from its plugins reference in ``fixtures/claude-plugins``), ``plugin.yaml``'s
``lsp_servers``, project plugins waiting for trust, and broken files named."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness_tui.core.extensions.plugins import discover_plugins
from tests.lsp_support import by_name, fake_programs, load

pytestmark = pytest.mark.usefixtures("no_own_venv")

CLAUDE_PLUGINS = Path(__file__).parent / "fixtures" / "claude-plugins"


def test_claude_code_plugin_declarations_are_read_unchanged(tmp_path: Path) -> None:
    bin_dir = fake_programs(tmp_path / "bin", "gopls", "pyright-langserver", "my-language-server")
    specs, problems = load(tmp_path, bin_dir, roots=[(CLAUDE_PLUGINS, "user")])
    assert problems == []
    found = by_name(specs)
    # The plugins' servers come before the known ones (the built-in gopls and pyright
    # are left without a language).
    assert list(found) == ["my-language", "go", "python"]
    go = found["go"]
    assert go.command == (str(bin_dir / "gopls"), "serve")
    assert go.extensions == {".go": "go"} and go.languages == ("go",)
    assert go.source == f"plugin go-lsp ({CLAUDE_PLUGINS / 'go-lsp' / '.lsp.json'}: go)"
    python = found["python"]
    assert python.command == (str(bin_dir / "pyright-langserver"), "--stdio")
    assert python.source.startswith("plugin my-plugin (")
    assert python.extensions == {".py": "python", ".pyi": "python"}
    full = found["my-language"]
    root = CLAUDE_PLUGINS / "full-lsp"
    assert full.env == {"MY_LANGUAGE_HOME": f"{root}/lib"}
    assert full.initialization_options == {"checkOnSave": True}
    assert full.settings == {"myLanguage": {"lint": "strict"}}
    assert full.workspace_folder == str(root)
    assert (full.startup_timeout, full.shutdown_timeout) == (5.0, 3.0)
    assert (full.restart_on_crash, full.max_restarts) == (True, 3)
    assert not any(spec.project for spec in specs)


def write_plugin(folder: Path, files: dict[str, Any]) -> Path:
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content if isinstance(content, str) else json.dumps(content))
    return folder


def test_project_plugins_are_marked_and_wait_for_trust(tmp_path: Path) -> None:
    bin_dir = fake_programs(tmp_path / "bin", "zig-lsp")
    project_root = tmp_path / "ws" / ".harness" / "plugins"
    write_plugin(
        project_root / "zig",
        {".lsp.json": {"zig": {"command": "zig-lsp", "extensionToLanguage": {".zig": "zig"}}}},
    )
    roots = [(project_root, "project")]
    specs, _ = load(tmp_path / "ws", bin_dir, roots=roots)
    assert [(s.name, s.project) for s in specs] == [("zig", True)]
    assert load(tmp_path / "ws", bin_dir, roots=roots, trusted=False) == ([], [])


def test_plugin_yaml_lsp_servers_and_a_plugin_json_path(tmp_path: Path) -> None:
    bin_dir = fake_programs(tmp_path / "bin", "gleam")
    root = tmp_path / "plugins"
    write_plugin(
        root / "gleam",
        {
            "plugin.yaml": "name: gleam\nlsp_servers:\n  gleam:\n    command: [gleam, lsp]\n"
            "    extensionToLanguage: {.gleam: gleam}\n",
        },
    )
    write_plugin(
        root / "lua",
        {
            ".claude-plugin/plugin.json": {"name": "lua", "lspServers": "./servers/lsp.json"},
            "servers/lsp.json": {
                "lua": {
                    "command": "${CLAUDE_PLUGIN_ROOT}/bin/lua-ls",
                    "extensionToLanguage": {".lua": "lua"},
                }
            },
        },
    )
    fake_programs(root / "lua" / "bin", "lua-ls")
    # The plugin loader takes the new section (a plugin.yaml with it still loads).
    loaded = discover_plugins([(root, "user")])
    assert [p.name for p in loaded.plugins] == ["gleam"] and loaded.failures == []
    specs, problems = load(tmp_path, bin_dir, roots=[(root, "user")])
    assert problems == []
    found = by_name(specs)
    assert found["gleam"].command == (str(bin_dir / "gleam"), "lsp")
    assert found["lua"].command == (str(root / "lua" / "bin" / "lua-ls"),)


def test_broken_plugin_declarations_name_their_file(tmp_path: Path) -> None:
    root = tmp_path / "plugins"
    write_plugin(root / "a", {".lsp.json": "{not json"})
    write_plugin(root / "b", {".lsp.json": ["gopls"]})
    write_plugin(
        root / "c",
        {".claude-plugin/plugin.json": {"name": "c", "lspServers": "../../outside.json"}},
    )
    write_plugin(
        root / "d",
        {
            ".lsp.json": {
                "d": {"command": "d-ls", "extensionToLanguage": {".d": "d"}, "transport": "socket"}
            }
        },
    )
    not_a_folder = tmp_path / "plugins.txt"
    not_a_folder.write_text("")
    roots = [(root, "user"), (tmp_path / "missing", "user"), (not_a_folder, "user")]
    specs, problems = load(tmp_path, tmp_path, roots=roots)
    assert specs == []
    assert len(problems) == 4, problems
    assert problems[0].startswith(f"{root / 'a' / '.lsp.json'}: ") and "skipped" in problems[0]
    assert problems[1].startswith(f"{root / 'b' / '.lsp.json'}: must map server names")
    assert problems[2] == (
        f"{root / 'c' / '.claude-plugin' / 'plugin.json'}: lspServers: '../../outside.json' is "
        f"outside the plugin folder; skipped"
    )
    assert problems[3].startswith(f"{root / 'd' / '.lsp.json'}: d.transport: only 'stdio'")
