"""``.mcp.json`` and ``mcpServers`` settings: every documented field, variable
expansion, precedence, and one clear message per malformed entry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness_tui.core.config.settings import load_settings
from harness_tui.core.mcp.config import (
    McpConfigError,
    expand,
    load_servers,
    normalize_name,
    parse_servers,
    read_mcp_json,
    server_config,
)

ENV = {"TOKEN": "t0k", "API_KEY": "k3y", "EMPTY": "", "HOME_DIR": "/home/u"}


def parse(entries: dict, environ: dict | None = None):
    return parse_servers(
        entries, source="/w/.mcp.json", scope="project", environ=ENV if environ is None else environ
    )


def test_the_documented_example_parses_with_every_field() -> None:
    loaded = parse(
        {
            "fs": {
                "command": "npx",
                "args": ["-y", "@modelcontextprotocol/server-filesystem", "${PROJECT_DIR:-.}"],
                "env": {"TOKEN": "${TOKEN}"},
            },
            "api": {
                "type": "http",
                "url": "${API_BASE:-https://api.example.com}/mcp",
                "headers": {"Authorization": "Bearer ${API_KEY}"},
            },
            "old": {"type": "sse", "url": "https://example.com/sse"},
        }
    )
    assert loaded.problems == []
    fs, api, old = loaded.servers["fs"], loaded.servers["api"], loaded.servers["old"]
    assert fs.transport == "stdio" and fs.command == "npx"
    assert fs.args == ("-y", "@modelcontextprotocol/server-filesystem", ".")
    assert fs.env == {"TOKEN": "t0k"}
    assert fs.source == "/w/.mcp.json" and fs.scope == "project"
    assert api.transport == "http" and api.url == "https://api.example.com/mcp"
    assert api.headers == {"Authorization": "Bearer k3y"}
    assert old.transport == "sse" and old.url == "https://example.com/sse"


def test_stdio_cwd_and_explicit_type() -> None:
    config = parse({"x": {"type": "stdio", "command": "srv", "cwd": "${HOME_DIR}/srv"}}).servers[
        "x"
    ]
    assert config.transport == "stdio" and config.cwd == "/home/u/srv"


@pytest.mark.parametrize("alias", ["streamable-http", "streamableHttp", "streamable_http"])
def test_other_spellings_of_streamable_http(alias: str) -> None:
    config = parse({"x": {"type": alias, "url": "http://h/mcp"}}).servers["x"]
    assert config.transport == "http"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${TOKEN}", "t0k"),
        ("a-${TOKEN}-b", "a-t0k-b"),
        ("${MISSING:-fallback}", "fallback"),
        ("${MISSING:-}", ""),
        ("${EMPTY:-used when empty}", "used when empty"),
        ("${EMPTY}", ""),
        ("${TOKEN:-unused}", "t0k"),
        ("$TOKEN stays", "$TOKEN stays"),
        ("${MISSING:-http://x:8080/y}", "http://x:8080/y"),
        ("${TOKEN}${API_KEY}", "t0kk3y"),
    ],
)
def test_variable_expansion(text: str, expected: str) -> None:
    assert expand(text, ENV, "here") == expected


def test_an_unset_variable_names_server_and_field() -> None:
    loaded = parse({"api": {"type": "http", "url": "https://h/mcp", "headers": {"X": "${NOPE}"}}})
    assert loaded.servers == {}
    [problem] = loaded.problems
    assert "/w/.mcp.json" in problem and "server 'api'" in problem
    assert "headers.X" in problem and "${NOPE} is not set" in problem
    assert "${NOPE:-default}" in problem and "skipped" in problem


@pytest.mark.parametrize(
    ("entry", "field_text", "what"),
    [
        ("not a mapping", "server 'bad'", "must be a mapping"),
        ({}, "field 'command'", "is missing"),
        ({"command": ""}, "field 'command'", "is missing"),
        ({"command": 5}, "field 'command'", "must be a string"),
        ({"command": "x", "args": "--flag"}, "field 'args'", "list of strings"),
        ({"command": "x", "args": [["nested"]]}, "field 'args'", "list of strings"),
        ({"command": "x", "env": ["A=1"]}, "field 'env'", "mapping of names to strings"),
        ({"command": "x", "env": {"A": {"b": 1}}}, "field 'env.A'", "must be a string"),
        ({"command": "x", "args": ["${UNSET}"]}, "field 'args[0]'", "is not set"),
        ({"command": "${UNSET}"}, "field 'command'", "is not set"),
        ({"type": "websocket", "url": "ws://h"}, "field 'type'", "unknown transport"),
        ({"type": 3}, "field 'type'", "must be"),
        ({"type": "http"}, "field 'url'", "is missing"),
        ({"type": "http", "url": "ftp://h/mcp"}, "field 'url'", "not an http"),
        ({"type": "sse", "url": "${UNSET}/sse"}, "field 'url'", "is not set"),
        ({"type": "http", "url": "http://h", "headers": "Bearer"}, "field 'headers'", "mapping"),
        ({"url": "https://h/mcp"}, "server 'bad'", "no 'type'"),
    ],
)
def test_malformed_entries_name_the_server_and_field(entry, field_text: str, what: str) -> None:
    loaded = parse({"bad": entry, "good": {"command": "ok"}})
    assert list(loaded.servers) == ["good"]  # the others still load
    [problem] = loaded.problems
    assert problem.startswith("/w/.mcp.json: server 'bad'")
    assert field_text in problem and what in problem


def test_numbers_in_args_and_env_are_taken_as_text() -> None:
    config = parse({"x": {"command": "srv", "args": ["--port", 8080], "env": {"N": 3}}}).servers[
        "x"
    ]
    assert config.args == ("--port", "8080") and config.env == {"N": "3"}


def test_unknown_keys_warn_but_the_server_loads() -> None:
    loaded = parse({"x": {"command": "srv", "url": "http://h", "colour": "red"}})
    assert "x" in loaded.servers
    [warning] = loaded.problems
    assert "server 'x'" in warning and "'colour'" in warning and "'url'" in warning


def test_keys_other_clients_write_are_accepted_quietly() -> None:
    loaded = parse(
        {
            "x": {"command": "srv", "disabled": False, "description": "d"},
            "off": {"command": "srv", "disabled": True},
        }
    )
    assert loaded.problems == [] and list(loaded.servers) == ["x"]


def test_names_become_valid_tool_name_parts() -> None:
    assert normalize_name("my.server") == "my_server"
    assert normalize_name("a__b") == "a_b"
    assert normalize_name("ok-name_1") == "ok-name_1"
    loaded = parse({"My Server!": {"command": "x"}})
    assert list(loaded.servers) == ["My_Server"]
    assert "renamed 'My_Server'" in loaded.problems[0]


def test_mcp_servers_must_be_a_mapping() -> None:
    loaded = parse(["x"])  # type: ignore[arg-type]
    assert loaded.servers == {} and "mcpServers must be a mapping" in loaded.problems[0]


def test_plugin_entry_point_raises_with_its_source() -> None:
    config = server_config("t", {"command": "x"}, source="plugin clock")
    assert config.scope == "plugin" and config.source == "plugin clock"
    with pytest.raises(McpConfigError, match=r"plugin clock: server 't', field 'command'"):
        server_config("t", {"command": None}, source="plugin clock")


def test_describe_never_shows_secrets() -> None:
    loaded = parse(
        {
            "api": {"type": "http", "url": "https://u:p@h:8443/mcp?key=${API_KEY}"},
            "s": {"command": "/usr/bin/srv", "args": ["--token", "${TOKEN}"]},
        }
    )
    assert loaded.servers["api"].describe() == "https://h:8443/mcp (http)"
    assert loaded.servers["s"].describe() == "srv (stdio)"


# --- files ------------------------------------------------------------------------------


def write(path: Path, data) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"mcpServers": {"a": ', "line 1, column"),
        ('{"servers": {}}', 'expected {"mcpServers"'),
        ("[1]", 'expected {"mcpServers"'),
    ],
)
def test_broken_mcp_json_is_one_problem(tmp_path: Path, text: str, expected: str) -> None:
    loaded = read_mcp_json(write(tmp_path / ".mcp.json", text))
    assert loaded.servers == {}
    assert str(tmp_path / ".mcp.json") in loaded.problems[0] and expected in loaded.problems[0]


def test_missing_or_empty_mcp_json_is_no_servers(tmp_path: Path) -> None:
    assert read_mcp_json(tmp_path / ".mcp.json").servers == {}
    assert read_mcp_json(write(tmp_path / ".mcp.json", "  \n")).problems == []


def test_sources_and_precedence(tmp_path: Path) -> None:
    from harness_tui.core.config import paths

    write(
        paths.config_dir() / "settings.yaml",
        "mcpServers:\n  shared: {command: user-cmd}\n  mine: {command: u}\n",
    )
    write(
        tmp_path / ".mcp.json",
        {"mcpServers": {"shared": {"command": "json-cmd"}, "j": {"command": "j"}}},
    )
    write(tmp_path / ".harness" / "settings.yaml", "mcpServers:\n  j: {command: project-cmd}\n")
    write(tmp_path / ".harness" / "settings.local.yaml", "mcpServers:\n  j: {command: local-cmd}\n")
    settings = load_settings(tmp_path, include_project=True)
    loaded = load_servers(tmp_path, settings, trusted=True)
    assert loaded.problems == []
    assert loaded.servers["mine"].command == "u" and loaded.servers["mine"].scope == "user"
    assert loaded.servers["shared"].command == "json-cmd"
    assert loaded.servers["j"].command == "local-cmd" and loaded.servers["j"].scope == "local"


def test_an_untrusted_folder_contributes_no_servers(tmp_path: Path) -> None:
    write(tmp_path / ".mcp.json", {"mcpServers": {"evil": {"command": "rm"}}})
    write(tmp_path / ".harness" / "settings.yaml", "mcpServers:\n  evil2: {command: rm}\n")
    settings = load_settings(tmp_path, include_project=False)
    assert load_servers(tmp_path, settings, trusted=False).servers == {}
