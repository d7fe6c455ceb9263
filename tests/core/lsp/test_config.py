"""Which language servers a session gets: the known table found on a PATH of fake
programs, settings that add, change and remove servers, trust, the one-server-per-language
rule, and problems that name their file and key (plugins: ``test_plugin_servers``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness_tui.core.config.settings import Settings, load_settings
from harness_tui.core.lsp import servers
from harness_tui.core.lsp.config import lsp_options, server_for
from harness_tui.core.lsp.entries import read_entry
from harness_tui.core.lsp.servers import install_hint, known_server_table
from tests.lsp_support import by_name, fake_programs, load, settings_of

pytestmark = pytest.mark.usefixtures("no_own_venv")


# --- the known table -------------------------------------------------------------------


def test_the_known_table_reads_cleanly_and_each_language_has_extensions() -> None:
    table = known_server_table()
    assert [e["name"] for e in table] == [
        "basedpyright",
        "pyright",
        "ruff",
        "typescript-language-server",
        "gopls",
        "rust-analyzer",
        "clangd",
    ]
    for index, entry in enumerate(table):
        fields, problems = read_entry({k: v for k, v in entry.items() if k != "name"}, str(index))
        assert problems == [] and fields is not None, entry["name"]
        assert set(fields["languages"]) == set(fields["extensions"].values()), entry["name"]
    assert install_hint("python") == (
        "basedpyright (pip install basedpyright) or pyright (npm install -g pyright) or "
        "ruff (pip install ruff)"
    )
    assert install_hint("cobol") is None


def test_known_servers_are_found_on_path_with_their_arguments(tmp_path: Path) -> None:
    bin_dir = fake_programs(tmp_path / "bin", "pyright-langserver", "ruff", "gopls", "clangd")
    specs, problems = load(tmp_path / "ws", bin_dir)
    assert problems == []
    found = by_name(specs)
    # Python goes to pyright (basedpyright is not installed); ruff, third, gets nothing.
    assert list(found) == ["pyright", "gopls", "clangd"]
    assert found["pyright"].command == (str(bin_dir / "pyright-langserver"), "--stdio")
    assert found["gopls"].command == (str(bin_dir / "gopls"),)
    assert found["clangd"].languages == ("c", "cpp")
    assert all(spec.source == "built-in" and not spec.project for spec in specs)
    assert found["pyright"].settings == {
        "python": {"analysis": {"diagnosticMode": "openFilesOnly", "typeCheckingMode": "standard"}}
    }


def test_basedpyright_comes_before_pyright_and_ruff(tmp_path: Path) -> None:
    names = ("ruff", "pyright-langserver", "basedpyright-langserver")
    specs, _ = load(tmp_path, fake_programs(tmp_path / "bin", *names))
    assert [s.name for s in specs] == ["basedpyright"]
    specs, _ = load(tmp_path, fake_programs(tmp_path / "bin2", "ruff"))
    assert [(s.name, s.command[1:]) for s in specs] == [("ruff", ("server",))]


def test_no_program_found_means_no_server_and_no_problem(tmp_path: Path) -> None:
    assert load(tmp_path, tmp_path / "nothing") == ([], [])


def test_a_non_executable_file_is_not_a_program(tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "gopls").write_text("not executable")
    assert load(tmp_path, tmp_path / "bin") == ([], [])


def test_the_workspace_venv_and_node_modules_come_first_only_when_trusted(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    fake_programs(ws / ".venv" / "bin", "basedpyright-langserver")
    fake_programs(ws / "node_modules" / ".bin", "typescript-language-server")
    on_path = fake_programs(tmp_path / "bin", "basedpyright-langserver")
    trusted = by_name(load(ws, on_path)[0])
    assert trusted["basedpyright"].command[0] == str(
        ws / ".venv" / "bin" / "basedpyright-langserver"
    )
    assert trusted["typescript-language-server"].command[0] == str(
        ws / "node_modules" / ".bin" / "typescript-language-server"
    )
    untrusted = by_name(load(ws, on_path, trusted=False)[0])
    assert untrusted["basedpyright"].command[0] == str(on_path / "basedpyright-langserver")
    assert "typescript-language-server" not in untrusted


def test_harness_tuis_own_venv_is_searched_after_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    own = fake_programs(tmp_path / "own", "basedpyright-langserver", "gopls")
    monkeypatch.setattr(servers, "own_bin_dir", lambda: own)
    on_path = fake_programs(tmp_path / "bin", "gopls")
    found = by_name(load(tmp_path, on_path)[0])
    assert found["basedpyright"].command[0] == str(own / "basedpyright-langserver")
    assert found["gopls"].command[0] == str(on_path / "gopls")


# --- extensions and languages ----------------------------------------------------------


def test_extensions_map_to_language_ids(tmp_path: Path) -> None:
    bin_dir = fake_programs(tmp_path / "bin", "typescript-language-server", "ruff", "clangd")
    specs, _ = load(tmp_path, bin_dir)
    assert server_for(specs, "src/App.tsx") == (
        by_name(specs)["typescript-language-server"],
        "typescriptreact",
    )
    assert [
        server_for(specs, p)[1] for p in ("a.ts", "a.mjs", "b.jsx", "c.pyi", "d.hpp", "e.c")
    ] == [  # type: ignore[index]
        "typescript",
        "javascript",
        "javascriptreact",
        "python",
        "cpp",
        "c",
    ]
    assert server_for(specs, "MAIN.PY") is not None  # lower case when the case differs
    assert server_for(specs, "Makefile") is None
    assert server_for(specs, "notes.txt") is None


def test_a_server_for_one_language_takes_it_from_a_server_of_several(tmp_path: Path) -> None:
    bin_dir = fake_programs(tmp_path / "bin", "typescript-language-server", "quick-js")
    user = tmp_path / "settings.yaml"
    settings = settings_of(
        (
            user,
            "user",
            {
                "lsp": {
                    "servers": {
                        "quick-js": {"command": "quick-js", "extensions": {".js": "javascript"}}
                    }
                }
            },
        )
    )
    specs, problems = load(tmp_path, bin_dir, settings)
    assert problems == []
    found = by_name(specs)
    assert list(found) == ["quick-js", "typescript-language-server"]
    assert "javascript" not in found["typescript-language-server"].languages
    assert ".js" not in found["typescript-language-server"].extensions
    assert server_for(specs, "x.js")[0].name == "quick-js"  # type: ignore[index]
    assert server_for(specs, "x.ts")[0].name == "typescript-language-server"  # type: ignore[index]


# --- settings ---------------------------------------------------------------------------


def test_settings_add_a_server_before_the_known_ones(tmp_path: Path) -> None:
    bin_dir = fake_programs(tmp_path / "bin", "ty", "basedpyright-langserver")
    user = tmp_path / "settings.yaml"
    entry = {
        "command": ["ty", "server"],
        "extensions": {".py": "python"},
        "env": {"TY_LOG": "info"},
    }
    specs, problems = load(
        tmp_path, bin_dir, settings_of((user, "user", {"lsp": {"servers": {"ty": entry}}}))
    )
    assert problems == []
    assert [s.name for s in specs] == ["ty"]  # basedpyright is left without a language
    (ty,) = specs
    assert ty.command == (str(bin_dir / "ty"), "server")
    assert ty.env == {"TY_LOG": "info"}
    assert ty.source == f"{user}: lsp.servers.ty" and not ty.project


def test_settings_change_a_known_server_in_place(tmp_path: Path) -> None:
    bin_dir = fake_programs(tmp_path / "bin", "basedpyright-langserver", "gopls")
    user, project = tmp_path / "user.yaml", tmp_path / "ws" / ".harness" / "settings.yaml"
    strict = {"basedpyright": {"analysis": {"typeCheckingMode": "strict"}}}
    settings = settings_of(
        (user, "user", {"lsp": {"servers": {"basedpyright": {"settings": strict}}}}),
        (project, "project", {"lsp": {"servers": {"gopls": {"args": ["-remote=auto"]}}}}),
    )
    specs, problems = load(tmp_path / "ws", bin_dir, settings)
    assert problems == []
    found = by_name(specs)
    assert list(found) == ["basedpyright", "gopls"]  # the table's order is kept
    assert found["basedpyright"].settings == strict
    assert found["basedpyright"].command == (str(bin_dir / "basedpyright-langserver"), "--stdio")
    assert found["basedpyright"].source == f"built-in, {user}: lsp.servers.basedpyright"
    assert not found["basedpyright"].project
    assert found["gopls"].command == (str(bin_dir / "gopls"), "-remote=auto")
    assert found["gopls"].project  # the project changed it: it waits for trust


def test_a_command_string_changes_the_program_and_keeps_the_arguments(tmp_path: Path) -> None:
    own = fake_programs(tmp_path / "opt", "basedpyright-langserver", "pyright-langserver")
    user = tmp_path / "settings.yaml"
    program = str(own / "basedpyright-langserver")
    settings = settings_of(
        (user, "user", {"lsp": {"servers": {"basedpyright": {"command": program}}}})
    )
    assert load(tmp_path, tmp_path, settings)[0][0].command == (program, "--stdio")
    argv = [str(own / "pyright-langserver"), "--stdio", "--verbose"]
    settings = settings_of(
        (user, "user", {"lsp": {"servers": {"basedpyright": {"command": argv}}}})
    )
    assert load(tmp_path, tmp_path, settings)[0][0].command == tuple(argv)


def test_a_later_settings_file_wins_and_false_turns_a_server_off(tmp_path: Path) -> None:
    bin_dir = fake_programs(tmp_path / "bin", "clangd", "gopls", "my-go")
    user, local = tmp_path / "user.yaml", tmp_path / "local.yaml"
    mine = {"command": "my-go", "extensions": {".go": "go"}}
    settings = settings_of(
        (user, "user", {"lsp": {"servers": {"clangd": False, "my-go": mine}}}),
        (
            local,
            "local",
            {"lsp": {"servers": {"my-go": {"enabled": False}, "clangd": {"enabled": True}}}},
        ),
    )
    specs, problems = load(tmp_path, bin_dir, settings)
    assert problems == []
    assert [s.name for s in specs] == ["gopls", "clangd"]


def test_an_untrusted_folder_adds_no_project_servers(tmp_path: Path) -> None:
    bin_dir = fake_programs(tmp_path / "bin", "evil-server", "gopls")
    project = tmp_path / "ws" / ".harness" / "settings.yaml"
    entry = {"command": "evil-server", "extensions": {".go": "go"}}
    settings = settings_of((project, "project", {"lsp": {"servers": {"evil": entry}}}))
    trusted = load(tmp_path / "ws", bin_dir, settings)[0]
    assert [(s.name, s.project) for s in trusted] == [("evil", True)]
    untrusted = load(tmp_path / "ws", bin_dir, settings, trusted=False)[0]
    assert [(s.name, s.project) for s in untrusted] == [("gopls", False)]


def test_the_lsp_key_is_a_known_setting_in_a_real_file(tmp_path: Path) -> None:
    harness = tmp_path / ".harness"
    harness.mkdir()
    (harness / "settings.yaml").write_text(
        "lsp:\n  warnings: true\n  servers:\n    gopls: {args: [serve]}\n"
    )
    settings = load_settings(tmp_path)
    assert settings.problems == []
    specs, problems = load(tmp_path, fake_programs(tmp_path / "bin", "gopls"), settings)
    assert problems == [] and specs[0].command[1:] == ("serve",) and specs[0].project


# --- problems ---------------------------------------------------------------------------

BAD_ENTRIES = [
    ({"command": 5, "extensions": {".x": "x"}}, "lsp.servers.bad.command: must be a program name"),
    (
        {"command": "x", "extensions": {"x": "x"}},
        "lsp.servers.bad.extensions: 'x' is not a file extension",
    ),
    ({"command": "x", "extensions": {".x": ""}}, "lsp.servers.bad.extensions..x: the language id"),
    ({"command": "x", "extensionToLanguage": []}, "lsp.servers.bad.extensionToLanguage: must map"),
    (
        {"command": "x", "extensions": {".x": "x"}, "transport": "socket"},
        "lsp.servers.bad.transport: only 'stdio'",
    ),
    (
        {"command": "x", "extensions": {".x": "x"}, "env": {"A": None}},
        "lsp.servers.bad.env: must map",
    ),
    (
        {"command": "x", "extensions": {".x": "x"}, "startupTimeout": -1},
        "lsp.servers.bad.startupTimeout: must be",
    ),
    (
        {"command": "x", "extensions": {".x": "x"}, "languages": ["y"]},
        "lsp.servers.bad.languages: y has no file",
    ),
    ({"command": "x"}, "lsp.servers.bad: needs extensions"),
    ({"extensions": {".x": "x"}}, "lsp.servers.bad: needs command"),
    (
        {"command": "missing-program", "extensions": {".x": "x"}},
        "lsp.servers.bad: the program 'missing-program' was not found",
    ),
    ("gopls", "lsp.servers.bad: must be a mapping"),
]


@pytest.mark.parametrize(("entry", "problem"), BAD_ENTRIES)
def test_a_bad_entry_is_a_problem_naming_file_and_key(
    tmp_path: Path, entry: Any, problem: str
) -> None:
    bin_dir = fake_programs(tmp_path / "bin", "x", "gopls")
    user = tmp_path / "settings.yaml"
    settings = settings_of((user, "user", {"lsp": {"servers": {"bad": entry}}}))
    specs, problems = load(tmp_path, bin_dir, settings)
    assert [s.name for s in specs] == ["gopls"]  # the others still load
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{user}: {problem}"), problems[0]


def test_an_unknown_field_is_named_and_the_server_still_loads(tmp_path: Path) -> None:
    bin_dir = fake_programs(tmp_path / "bin", "gopls")
    user = tmp_path / "settings.yaml"
    settings = settings_of((user, "user", {"lsp": {"servers": {"gopls": {"argz": ["serve"]}}}}))
    specs, problems = load(tmp_path, bin_dir, settings)
    assert [s.name for s in specs] == ["gopls"]
    assert problems == [
        f"{user}: lsp.servers.gopls.argz: unknown field, ignored (known: command, args, "
        "extensions, extensionToLanguage, languages, initializationOptions, settings, env, "
        "rootMarkers, transport, workspaceFolder, startupTimeout, shutdownTimeout, "
        "restartOnCrash, maxRestarts)"
    ]


def test_a_configured_server_left_without_a_language_is_named(tmp_path: Path) -> None:
    bin_dir = fake_programs(tmp_path / "bin", "a-py", "b-py")
    user = tmp_path / "settings.yaml"
    entry = {"extensions": {".py": "python"}}
    settings = settings_of(
        (
            user,
            "user",
            {
                "lsp": {
                    "servers": {
                        "a": {"command": "a-py", **entry},
                        "b": {"command": "b-py", **entry},
                    }
                }
            },
        )
    )
    specs, problems = load(tmp_path, bin_dir, settings)
    assert [s.name for s in specs] == ["a"]
    assert problems == [
        f"{user}: lsp.servers.b: not used: its languages are served first (python by a)"
    ]


# --- options ----------------------------------------------------------------------------


def test_lsp_options_default_and_per_key_precedence(tmp_path: Path) -> None:
    options, problems = lsp_options(Settings())
    assert problems == []
    assert (options.timeout, options.include_warnings, options.enabled) == (2.0, False, True)
    user, project = tmp_path / "user.yaml", tmp_path / "project.yaml"
    settings = settings_of(
        (user, "user", {"lsp": {"warnings": True, "diagnosticsTimeoutMs": 5000}}),
        (project, "project", {"lsp": {"diagnosticsTimeoutMs": 500, "enabled": False}}),
    )
    options, problems = lsp_options(settings)
    assert problems == []
    assert (options.timeout, options.include_warnings, options.enabled) == (0.5, True, False)


def test_lsp_options_report_bad_values_and_keep_the_defaults(tmp_path: Path) -> None:
    keys = "enabled, diagnosticsTimeoutMs, warnings, servers"
    user, other = tmp_path / "user.yaml", tmp_path / "other.yaml"
    settings = settings_of(
        (user, "user", {"lsp": {"diagnosticsTimeoutMs": 0, "warnings": "yes", "colour": 1}}),
        (other, "user", {"lsp": "on"}),
    )
    options, problems = lsp_options(settings)
    assert (options.timeout, options.include_warnings) == (2.0, False)
    assert problems == [
        f"{user}: lsp: unknown colour (ignored; known: {keys})",
        f"{user}: lsp.warnings: must be true or false; ignored",
        f"{user}: lsp.diagnosticsTimeoutMs: must be milliseconds above 0 and at most 60000, "
        "not 0; ignored",
        f"{other}: lsp: must be a mapping of {keys}; ignored",
    ]
    assert load(tmp_path, tmp_path, settings) == ([], [])  # the servers part says nothing more
