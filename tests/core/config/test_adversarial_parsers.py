# Over 500 lines as one unit: hostile variants for each format we parse, one list.
"""Hostile content in every file the program parses: nothing in a folder (trusted or not)
or in the user's own files may stop, crash or swamp start-up.

The rule (``core/parse_limits``): files of at most 1 MiB, at most 64 levels of nesting,
at most 20,000 keys and values with YAML aliases counted at each use, no alias inside its
own anchor; a refused file is one notice naming it (and the line) and the rest goes on.
Each variant below is tried in each kind of file the loaders read."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness_tui.core.config import paths
from harness_tui.core.config.settings import load_settings, restrictions_of_project
from harness_tui.core.config.trust import TrustStore
from harness_tui.core.errors import ConfigError
from harness_tui.core.extensions.agents import discover_agents
from harness_tui.core.extensions.commands import discover_commands
from harness_tui.core.extensions.plugins.manifest import PluginError, read_manifest
from harness_tui.core.extensions.skills import discover_skills
from harness_tui.core.mcp.config import read_mcp_json
from harness_tui.core.mcp.features.tool_search import ToolSearch
from harness_tui.core.providers.catalogue import load_catalogue
from harness_tui.core.providers.offline.scripted import ScriptedProvider
from tests.hostile_files import finishes_within

MIB = 1 << 20

# --- the content variants -------------------------------------------------------------------
# Each gives the bytes of a whole file for a format ("json", "yaml", "frontmatter"), given
# that format's minimal valid text, and the words the notice must contain.


def _frontmatter(valid: str, yaml_lines: str) -> str:
    head, _, body = valid.partition("---\n")[2].partition("---\n")
    return f"---\n{head}{yaml_lines}\n---\n{body}"


def _yaml_value(fmt: str, valid: str, value: str) -> bytes:
    """``extra: <value>`` added to a YAML or front matter file."""
    line = f"extra: {value}"
    text = _frontmatter(valid, line) if fmt == "frontmatter" else f"{valid}{line}\n"
    return text.encode()


def _yaml_block(fmt: str, valid: str, block: str) -> bytes:
    """Top-level YAML lines added to a YAML or front matter file."""
    text = _frontmatter(valid, block) if fmt == "frontmatter" else f"{valid}{block}\n"
    return text.encode()


def _bomb(kind: str) -> str:
    """A "billion laughs": 9 levels of 10 aliases each (10^9 values once expanded)."""
    if kind == "lists":
        lines = ["l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
        lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, 9)]
    elif kind == "mappings":
        lines = ["m0: &m0 {" + ", ".join(f"k{j}: x" for j in range(10)) + "}"]
        lines += [
            f"m{i}: &m{i} {{" + ", ".join(f"k{j}: *m{i - 1}" for j in range(10)) + "}"
            for i in range(1, 9)
        ]
    else:  # merge keys: each level merges the one below ten times, under new keys
        lines = ["g0: &g0 {" + ", ".join(f"k{j}: x" for j in range(10)) + "}"]
        lines += [
            f"g{i}: &g{i} {{<<: [{', '.join([f'*g{i - 1}'] * 10)}], "
            + ", ".join(f"n{i}_{j}: *g{i - 1}" for j in range(10))
            + "}"
            for i in range(1, 9)
        ]
    return "\n".join(lines)


def _json_in(valid: str, value: str) -> bytes:
    """``"extra": <value>`` added to a JSON object file."""
    data = valid.rstrip()
    assert data.endswith("}")
    inner = data[:-1].rstrip()
    comma = "" if inner.endswith("{") else ","
    return f'{inner}{comma} "extra": {value}}}'.encode()


@dataclass(frozen=True)
class Variant:
    name: str
    formats: tuple[str, ...]
    #: The file's bytes from its format, minimal valid text and kind (for its bounds).
    content: Content
    #: Words the notice must contain (``{nodes}`` and ``{size}`` are the kind's bounds);
    #: None: the file must load without a notice; (): any outcome but a crash or a flood.
    expect: tuple[str, ...] | None


DEEP = 100_000
Content = Callable[[str, str, "Kind"], bytes]


def json_value(make: Callable[[Kind], str]) -> Content:
    return lambda fmt, valid, kind: _json_in(valid, make(kind))


def yaml_value(make: Callable[[Kind], str]) -> Content:
    return lambda fmt, valid, kind: _yaml_value(fmt, valid, make(kind))


def yaml_block(make: Callable[[Kind], str]) -> Content:
    return lambda fmt, valid, kind: _yaml_block(fmt, valid, make(kind))


def _huge_scalar(fmt: str, valid: str, kind: Kind) -> bytes:
    if fmt == "json":
        return _json_in(valid, '"' + "a" * kind.max_bytes + '"')
    return _yaml_value(fmt, valid, "a" * kind.max_bytes)


def _oversized(fmt: str, valid: str, kind: Kind) -> bytes:
    return valid.encode() + (b" " if fmt == "json" else b"#") * kind.max_bytes


def _invalid_utf8(fmt: str, valid: str, kind: Kind) -> bytes:
    text = _json_in(valid, '"caf!"') if fmt == "json" else _yaml_value(fmt, valid, "caf!")
    return text.replace(b"caf!", b"caf\xe9")  # Latin-1, as an old editor saves it


JSON = ("json",)
YAML = ("yaml", "frontmatter")
ALL = ("json", "yaml", "frontmatter")
TOO_DEEP = ("64 levels",)
TOO_MANY = ("{nodes} keys and values",)
TOO_LARGE = ("larger than {size}",)
VARIANTS = [
    # nesting
    Variant("json nested lists", JSON, json_value(lambda k: "[" * DEEP + "]" * DEEP), TOO_DEEP),
    Variant(
        "json nested objects",
        JSON,
        json_value(lambda k: '{"a":' * DEEP + "1" + "}" * DEEP),
        TOO_DEEP,
    ),
    Variant("json unclosed nesting", JSON, json_value(lambda k: "[" * DEEP), TOO_DEEP),
    Variant("json 65 levels", JSON, json_value(lambda k: "[" * 65 + "]" * 65), TOO_DEEP),
    Variant("yaml flow lists", YAML, yaml_value(lambda k: "[" * 500 + "]" * 500), TOO_DEEP),
    Variant("yaml unclosed flow", YAML, yaml_value(lambda k: "[" * DEEP), TOO_DEEP),
    Variant(
        "yaml flow mappings", YAML, yaml_value(lambda k: "{a: " * 500 + "1" + "}" * 500), TOO_DEEP
    ),
    Variant(
        "yaml block mappings",
        YAML,
        yaml_block(lambda k: "".join(" " * i + "a:\n" for i in range(200)) + " " * 200 + "a: 1"),
        TOO_DEEP,
    ),
    Variant("yaml block lists", YAML, yaml_value(lambda k: "\n" + "- " * 2000 + "x"), TOO_DEEP),
    # expansion
    Variant("alias bomb of lists", YAML, yaml_block(lambda k: _bomb("lists")), TOO_MANY),
    Variant("alias bomb of mappings", YAML, yaml_block(lambda k: _bomb("mappings")), TOO_MANY),
    Variant("alias bomb of merge keys", YAML, yaml_block(lambda k: _bomb("merge")), TOO_MANY),
    Variant(
        "alias inside its anchor",
        YAML,
        yaml_value(lambda k: "&a [1, *a]"),
        ("inside its own anchor",),
    ),
    Variant(
        "deep alias chain",
        YAML,
        yaml_block(
            lambda k: "c0: &c0 [x]\n" + "\n".join(f"c{i}: &c{i} [*c{i - 1}]" for i in range(1, 100))
        ),
        TOO_DEEP,
    ),
    Variant(
        "json many keys",
        JSON,
        json_value(lambda k: json.dumps({f"k{i}": i for i in range(k.max_nodes + 1)})),
        TOO_MANY,
    ),
    Variant(
        "yaml many keys",
        YAML,
        yaml_block(
            lambda k: "many:\n" + "".join(f"  k{i}: {i}\n" for i in range(k.max_nodes // 2 + 1))
        ),
        TOO_MANY,
    ),
    # values Python refuses to build
    Variant("json 5000-digit number", JSON, json_value(lambda k: "9" * 5000), ("4,300 digits",)),
    Variant("yaml 5000-digit number", YAML, yaml_value(lambda k: "9" * 5000), ("4,300 digits",)),
    Variant("yaml month 13", YAML, yaml_value(lambda k: "2024-13-45"), ("month must be in 1..12",)),
    # size and encoding
    Variant("huge scalar", ALL, _huge_scalar, TOO_LARGE),
    Variant("oversized file", ALL, _oversized, TOO_LARGE),
    Variant("invalid UTF-8", ALL, _invalid_utf8, ("not UTF-8",)),
    Variant("a BOM", ALL, lambda fmt, valid, kind: b"\xef\xbb\xbf" + valid.encode(), None),
    # keys that are not strings (sorting them with the rest raised TypeError)
    Variant("keys of several types", YAML, yaml_block(lambda k: "1: one\n2.5: two\ntrue: 3"), ()),
]


# --- the kinds of file, and how the program reads each ----------------------------------------


@dataclass(frozen=True)
class Kind:
    name: str
    fmt: str
    #: Where the file goes, from the project folder.
    place: Callable[[Path], Path]
    #: Minimal valid text.
    valid: str
    #: Read the way the program does: the notices given (never raises).
    read: Callable[[Path, Path], list[str]]
    max_bytes: int = MIB
    max_nodes: int = 20_000


def _settings(cwd: Path, path: Path) -> list[str]:
    return load_settings(cwd).problems


def _untrusted(cwd: Path, path: Path) -> list[str]:
    return restrictions_of_project(cwd).problems


def _catalogue_in_settings(cwd: Path, path: Path) -> list[str]:
    settings = load_settings(cwd)
    catalogue = load_catalogue().with_settings(settings)
    return settings.problems + catalogue.problems


def _hooks_in_settings(cwd: Path, path: Path) -> list[str]:
    from harness_tui.core.hooks.config import hooks_from_settings

    settings = load_settings(cwd)
    return settings.problems + hooks_from_settings(settings, cwd)[1]


def _mcp(cwd: Path, path: Path) -> list[str]:
    return read_mcp_json(path).problems


def _skills(cwd: Path, path: Path) -> list[str]:
    return discover_skills([(cwd / ".claude" / "skills", "project")]).problems


def _commands(cwd: Path, path: Path) -> list[str]:
    return discover_commands(cwd).problems


def _agents(cwd: Path, path: Path) -> list[str]:
    return discover_agents(cwd).problems


def _raises(error: type[Exception], call: Callable[[], object]) -> list[str]:
    try:
        call()
    except error as exc:
        return [str(exc)]
    return []


def _manifest(cwd: Path, path: Path) -> list[str]:
    return _raises(PluginError, lambda: read_manifest(path))


def _script(cwd: Path, path: Path) -> list[str]:
    return _raises(ConfigError, lambda: ScriptedProvider.from_file(path))


def _catalogue_file(cwd: Path, path: Path) -> list[str]:
    return _raises(ConfigError, lambda: load_catalogue(path))


def _save_rule(cwd: Path, path: Path) -> list[str]:
    """ "Always allow" in the permission dialog reads the local settings file to add to it."""
    from harness_tui.core.permissions.engine import save_allow_rules

    problem = save_allow_rules(path, ["Read(./docs/**)"])
    return [problem] if problem else []


def _logged(call: Callable[[], object]) -> list[str]:
    """What a reader that only logs said (the trust and usage files are the user's own:
    a problem there is a warning in the log, and nothing is trusted or counted)."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    root = logging.getLogger("harness_tui")
    root.addHandler(handler)
    try:
        result = call()
    finally:
        root.removeHandler(handler)
    assert not result  # nothing trusted, no usage counted
    return [r.getMessage() for r in records]


def _trust(cwd: Path, path: Path) -> list[str]:
    return _logged(lambda: TrustStore(path).folders())


def _usage(cwd: Path, path: Path) -> list[str]:
    return _logged(lambda: ToolSearch(path).usage)


def _in_project(*parts: str) -> Callable[[Path], Path]:
    return lambda cwd: cwd.joinpath(*parts)


def _in_user(folder: Callable[[], Path], name: str) -> Callable[[Path], Path]:
    return lambda cwd: folder() / name


SETTINGS_JSON = '{"permissions": {}}'
KINDS = [
    Kind(
        "user settings.json",
        "json",
        _in_user(paths.claude_user_dir, "settings.json"),
        SETTINGS_JSON,
        _settings,
    ),
    Kind(
        "user settings.yaml",
        "yaml",
        _in_user(paths.config_dir, "settings.yaml"),
        "ui: {}\n",
        _settings,
    ),
    Kind(
        "project .claude/settings.json",
        "json",
        _in_project(".claude", "settings.json"),
        SETTINGS_JSON,
        _settings,
    ),
    Kind(
        "local .claude/settings.local.json",
        "json",
        _in_project(".claude", "settings.local.json"),
        '{"hooks": {}}',
        _settings,
    ),
    Kind(
        "project .harness/settings.yaml",
        "yaml",
        _in_project(".harness", "settings.yaml"),
        "ui: {}\n",
        _settings,
    ),
    Kind(
        "untrusted .claude/settings.json",
        "json",
        _in_project(".claude", "settings.json"),
        '{"permissions": {"deny": ["Read(x)"]}}',
        _untrusted,
    ),
    Kind(
        "untrusted .harness/settings.local.yaml",
        "yaml",
        _in_project(".harness", "settings.local.yaml"),
        "permissions: {deny: [Read(x)]}\n",
        _untrusted,
    ),
    Kind(
        "hooks in settings",
        "yaml",
        _in_project(".harness", "settings.yaml"),
        "hooks: {}\n",
        _hooks_in_settings,
    ),
    Kind(
        "models in settings",
        "yaml",
        _in_user(paths.config_dir, "settings.yaml"),
        "models: {}\n",
        _catalogue_in_settings,
    ),
    Kind(
        "saving an allow rule",
        "yaml",
        _in_project(".harness", "settings.local.yaml"),
        "permissions: {allow: [Read]}\n",
        _save_rule,
    ),
    Kind(".mcp.json", "json", _in_project(".mcp.json"), '{"mcpServers": {}}', _mcp),
    Kind(
        "skill",
        "frontmatter",
        _in_project(".claude", "skills", "s", "SKILL.md"),
        "---\nname: s\ndescription: A skill.\n---\nDo it.\n",
        _skills,
    ),
    Kind(
        "command",
        "frontmatter",
        _in_project(".claude", "commands", "c.md"),
        "---\ndescription: A command.\n---\nDo it.\n",
        _commands,
    ),
    Kind(
        "agent",
        "frontmatter",
        _in_project(".claude", "agents", "a.md"),
        "---\nname: a\ndescription: An agent.\n---\nYou help.\n",
        _agents,
    ),
    Kind(
        "plugin.yaml",
        "yaml",
        _in_project(".harness", "plugins", "p", "plugin.yaml"),
        "name: p\n",
        _manifest,
    ),
    Kind(
        "trust file",
        "json",
        _in_user(paths.data_dir, "trusted_folders.json"),
        '{"trusted": []}',
        _trust,
    ),
    Kind("tool usage file", "json", _in_user(paths.data_dir, "tool_usage.json"), "{}", _usage),
    Kind(
        "scripted model script",
        "yaml",
        _in_project("script.yaml"),
        "responses: [{text: hi}]\n",
        _script,
        max_bytes=16 * MIB,
        max_nodes=500_000,
    ),
    Kind(
        "model catalogue file",
        "yaml",
        _in_project("catalogue.yaml"),
        "p: {protocol: openai_compat, base_url: 'http://x'}\n",
        _catalogue_file,
    ),
]

CASES = [
    pytest.param(kind, variant, id=f"{kind.name} | {variant.name}")
    for kind in KINDS
    for variant in VARIANTS
    if kind.fmt in variant.formats
]


@pytest.mark.parametrize(("kind", "variant"), CASES)
def test_hostile_content_is_refused_promptly_with_a_notice(
    tmp_path: Path, kind: Kind, variant: Variant
) -> None:
    cwd = tmp_path / "project"
    cwd.mkdir()
    path = kind.place(cwd)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(variant.content(kind.fmt, kind.valid, kind))
    notices = finishes_within(lambda: kind.read(cwd, path))
    about = [n for n in notices if str(path) in n]
    assert len(notices) <= 5, notices[:10]  # one notice, not a flood
    if variant.expect == ():
        return
    if variant.expect is None:
        assert about == [], about
        return
    assert len(about) >= 1, notices
    text = "\n".join(about)
    size = f"{kind.max_bytes // MIB} MiB"
    for words in variant.expect:
        assert words.format(nodes=f"{kind.max_nodes:,}", size=size) in text, text[:500]


@pytest.mark.parametrize("kind", KINDS, ids=[k.name for k in KINDS])
def test_a_folder_in_place_of_the_file_is_a_notice(tmp_path: Path, kind: Kind) -> None:
    cwd = tmp_path / "project"
    cwd.mkdir()
    path = kind.place(cwd)
    path.mkdir(parents=True)
    notices = finishes_within(lambda: kind.read(cwd, path))
    if kind.read in (_skills, _commands, _agents) and not notices:
        return  # a folder named like a definition file is not one: nothing to say
    assert any(str(path) in n and ("directory" in n.lower() or "folder" in n) for n in notices), (
        notices
    )


@pytest.mark.parametrize("limits", ["libyaml", "pure Python"])
@pytest.mark.parametrize(
    "text",
    ["[" * DEEP, "- " * 5000 + "x", "".join("  " * i + "a:\n" for i in range(3000))],
    ids=["flow", "block list", "block mapping"],
)
def test_yaml_nesting_is_refused_with_either_parser(
    text: str, limits: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PyYAML without libyaml composes recursively: the bound holds there too."""
    import yaml

    from harness_tui.core.config.yaml_source import YamlError, parse_yaml

    if limits == "pure Python":
        monkeypatch.delattr(yaml, "CSafeLoader")
    with pytest.raises(YamlError, match="64 levels"):
        finishes_within(lambda: parse_yaml(text))


def test_models_with_keys_of_several_types_are_a_notice(tmp_path: Path) -> None:
    settings_file = paths.config_dir() / "settings.yaml"
    settings_file.parent.mkdir(parents=True)
    settings_file.write_text("models: {1: {protocol: openai_compat}, true: x, 2.5: null}\n")
    problems = _catalogue_in_settings(tmp_path, settings_file)
    assert any(f"{settings_file}: models.1:" in p for p in problems), problems


def test_legitimate_anchors_and_merge_keys_still_load() -> None:
    from harness_tui.core.config.yaml_source import parse_yaml

    text = "base: &b {a: 1, b: [x, y]}\nuse: {<<: *b, c: 2}\nagain: *b\n"
    assert parse_yaml(text).data == {
        "base": {"a": 1, "b": ["x", "y"]},
        "use": {"a": 1, "b": ["x", "y"], "c": 2},
        "again": {"a": 1, "b": ["x", "y"]},
    }


@pytest.mark.parametrize(
    ("printed", "words"),
    [
        ('"{" + \'"a":{\' * 100000', "64 levels"),
        ('"{\\"x\\": " + "[" * 100000 + "]" * 100000 + "}"', "64 levels"),
        ('"{\\"x\\": " + "9" * 5000 + "}"', "4,300 digits"),
    ],
    ids=["nested objects", "nested lists", "5000-digit number"],
)
async def test_a_hook_printing_hostile_json_is_a_hook_error(
    tmp_path: Path, printed: str, words: str
) -> None:
    """A command hook's answer is parsed the same bounded way: the tool call goes on."""
    from harness_tui.core.providers.offline.scripted import Text, ToolCall, reply
    from tests.core.hooks.test_hooks import command_hook, hooks_file, script, session_in
    from tests.helpers import EchoTool, run_to_end

    command = script(tmp_path, "loud.py", f"import sys\nsys.stdout.write({printed})\n")
    hooks_file(tmp_path, {"PreToolUse": [command_hook(command)]})
    session, _ = session_in(
        tmp_path,
        reply(ToolCall("Echo", {"text": "still here"})),
        reply(Text("ok")),
        tools=[EchoTool()],
    )
    async with session:
        events = await run_to_end(session, "go", timeout=30)
    executed = next(e for e in events if e.type == "HOOK_EXECUTED")
    assert executed.error and words in executed.error
    done = next(e for e in events if e.type == "TOOL_CALL_COMPLETED")
    assert done.content == "still here"


# --- start-up, end to end ------------------------------------------------------------------------


def _hostile_folder(root: Path) -> Path:
    cwd = root / "cloned"
    for rel, content in {
        ".claude/settings.json": '{"permissions": ' + "[" * DEEP + "]" * DEEP + "}",
        ".claude/settings.local.json": '{"permissions": ' + "9" * 5000 + "}",
        ".harness/settings.yaml": _bomb("lists") + "\npermissions: {deny: *l8}\n",
        ".mcp.json": '{"mcpServers": ' + '{"a":' * DEEP + "}",
        ".claude/skills/s/SKILL.md": (
            "---\nname: s\ndescription: d\n" + _bomb("mappings") + "\nmetadata: *m8\n---\nx\n"
        ),
        ".claude/commands/c.md": "---\ndescription: " + "[" * DEEP + "\n---\nx\n",
        ".claude/agents/a.md": "---\nname: a\ndescription: d\n" + _bomb("merge") + "\n---\nx\n",
        ".harness/plugins/p/plugin.yaml": "name: p\n" + _bomb("lists"),
    }.items():
        path = cwd / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    return cwd


def test_a_session_starts_promptly_in_a_hostile_folder(tmp_path: Path) -> None:
    from tests.helpers import scripted_in

    cwd = _hostile_folder(tmp_path)
    for trusted in (False, True):
        session, _ = finishes_within(lambda t=trusted: scripted_in(cwd, [], trusted=t))
        notices = "\n".join(session._notices)
        assert "64 levels" in notices and ".claude/settings.json" in notices
        assert "SKILL.md" in notices and "20,000 keys and values" in notices
        assert "4,300 digits" in notices


@pytest.mark.parametrize("trust", [False, True], ids=["untrusted", "trusted"])
def test_headless_run_in_a_hostile_folder_finishes_with_notices(
    tmp_path: Path, trust: bool
) -> None:
    cwd = _hostile_folder(tmp_path)
    script = tmp_path / "script.yaml"
    script.write_text("- text: all done\n")
    args = ["-p", "hi", "--model", f"scripted:{script}", *(["--trust"] if trust else [])]
    env = {**os.environ, "HARNESS_PLUGINS": "on" if trust else "off"}
    result = subprocess.run(
        [sys.executable, "-m", "harness_tui", *args],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "all done" in result.stdout
    assert "Traceback" not in result.stderr
    assert "64 levels" in result.stderr and ".claude/settings.json" in result.stderr
    assert "SKILL.md" in result.stderr
    if trust:
        assert ".mcp.json" in result.stderr
        assert "plugin.yaml" in result.stderr


# --- JSON that arrives at run time: a model's tool-call input, a browser's message -----


@pytest.mark.parametrize(
    ("raw", "wanted"),
    [
        ('{"a": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested too deeply"),
        ("[" * 100_000, "nested too deeply"),
        ('{"n": ' + "9" * 5_000 + "}", "cannot be read"),
        ('{"a": 1', "not valid JSON"),
    ],
    ids=["deep-brackets", "deep-unclosed", "5000-digit-number", "torn"],
)
def test_a_hostile_tool_input_is_an_error_for_the_model_not_a_crash(raw: str, wanted: str) -> None:
    from harness_tui.core.run.message_builder import MessageBuilder

    builder = MessageBuilder("m1", "p", "model")
    builder.tool_call("call-1", "Read")
    builder.tool_args("call-1", raw)
    message = builder.build()
    assert message is not None
    assert wanted in builder.input_errors["call-1"]


@pytest.mark.parametrize(
    "text", ["[" * 100_000, '{"type": ' + "9" * 5_000 + "}"], ids=["deep", "huge-number"]
)
def test_a_hostile_browser_message_gets_an_answer_not_a_crash(text: str) -> None:
    pytest.importorskip("fastapi", reason="the [web] extra is not installed")
    from harness_tui.web.stream import _check_client_message

    problem = _check_client_message(text, None)
    assert problem is not None and "not JSON" in problem
