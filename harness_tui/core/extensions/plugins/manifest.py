"""The ``plugin.yaml`` manifest, validated with pydantic.

    name: git                       # required: [a-z0-9][a-z0-9_-]*
    version: 1.0.0
    description: Read-only git tools, a force-push guard and a reviewer agent.
    models: {...}                   # catalogue entries (see providers/catalogue.py)
    skills:                         # Python functions exposed as tools
      - module: tools:git_summary   # or plugins.git.tools:git_summary, or just the string
        read_only: true
    commands:                       # shell commands exposed as tools
      - name: git_log
        command: git --no-pager log
        allowed_args: [--oneline, -n, --stat]
        sandbox_path: .
    mcp_servers:                    # handed to the MCP client
      - {name: db, command: npx, args: [db-server]}
    lsp_servers:                    # language servers, as in Claude Code's .lsp.json
      go: {command: gopls, extensionToLanguage: {.go: go}}
    agents:                         # sub-agents, inline or from a Markdown file
      - file: agents/reviewer.md
    hooks:                          # Python callbacks or command hooks
      - {event: PreToolUse, matcher: Bash, module: hooks:block_force_push}

Every problem is reported as ``<file>: line N: <field>: <what is wrong>``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from harness_tui.core.config.files import ConfigFileError, read_config_text
from harness_tui.core.config.yaml_source import YamlDocument, YamlError, parse_yaml
from harness_tui.core.hooks.config import HOOK_EVENTS

MANIFEST_NAMES = ("plugin.yaml", "plugin.yml")
SECTIONS = ("models", "skills", "commands", "mcp_servers", "lsp_servers", "agents", "hooks")


def _matching(pattern: str, explanation: str) -> AfterValidator:
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.match(value):
            raise ValueError(f"{value!r} {explanation}")
        return value

    return AfterValidator(check)


#: Names tools can have in every provider's API.
ToolName = Annotated[
    str,
    _matching(
        r"^[A-Za-z][A-Za-z0-9_-]{0,63}\Z",
        "is not a tool name (a letter, then letters, digits, '_' or '-'; at most 64)",
    ),
]
#: ``module.path:function``.
ModuleRef = Annotated[
    str,
    _matching(
        r"^[A-Za-z_][A-Za-z0-9_.]*:[A-Za-z_][A-Za-z0-9_]*\Z",
        "is not a module path: write module:function (tools:summarize, or "
        "plugins.<plugin>.tools:summarize)",
    ),
]
PluginName = Annotated[
    str,
    _matching(
        r"^[a-z0-9][a-z0-9_-]{0,63}\Z",
        "is not a plugin name (lower-case letters, digits, '-' and '_'; at most 64)",
    ),
]


class PluginError(ValueError):
    """A plugin that cannot load; the message names the file, line and field."""


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


#: ``pre_tool_use`` (the original design's spelling) -> ``PreToolUse``.
EVENT_NAMES = {**{e: e for e in HOOK_EVENTS}, **{_snake(e): e for e in HOOK_EVENTS}}


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SkillEntry(_Entry):
    """A Python function exposed as a tool; its input schema comes from its type hints
    (or the pydantic model it takes)."""

    module: ModuleRef
    #: Tool name; the function's name by default.
    name: ToolName | None = None
    #: The function's docstring by default.
    description: str | None = None
    #: Reads only: runs in plan mode and without a permission question.
    read_only: bool = False


class CommandEntry(_Entry):
    """A shell command exposed as a tool: the model passes arguments only."""

    name: ToolName
    #: The program and fixed leading arguments (``git --no-pager log``).
    command: str = Field(min_length=1)
    description: str | None = None
    #: Options (``-n``, ``--stat``) the model may pass; ``--opt`` also allows
    #: ``--opt=value``. Others are refused.
    allowed_args: list[str] = Field(default_factory=list)
    #: Whether arguments that are not options (paths, patterns, revisions) are allowed.
    positional_args: bool = True
    #: The only working folder (relative: to the session's); path arguments outside it
    #: are refused.
    sandbox_path: str = "."
    read_only: bool = False
    timeout: float = Field(default=60.0, gt=0, le=600)
    env: dict[str, str] = Field(default_factory=dict)
    #: Exit codes that are not failures (grep: ``[0, 1]``).
    ok_exit_codes: list[int] = Field(default_factory=lambda: [0])


class McpServerEntry(_Entry):
    """An MCP server, in ``.mcp.json``'s terms."""

    name: Annotated[
        str, _matching(r"^[A-Za-z0-9_-]{1,64}\Z", "is not a server name (letters, digits, - _)")
    ]
    type: Literal["stdio", "http", "sse"] = "stdio"
    command: str | None = None
    args: list[str] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict)
    url: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _transport(self) -> Self:
        if self.type == "stdio" and not self.command:
            raise ValueError("a stdio server needs 'command'")
        if self.type != "stdio" and not self.url:
            raise ValueError(f"an {self.type} server needs 'url'")
        if self.type != "stdio" and self.command:
            raise ValueError(f"an {self.type} server takes 'url', not 'command'")
        return self

    def config(self) -> dict[str, Any]:
        """The ``mcpServers`` entry for this server."""
        if self.type == "stdio":
            data: dict[str, Any] = {"command": self.command, "args": list(self.args)}
            if self.env:
                data["env"] = dict(self.env)
            return data
        data = {"type": self.type, "url": self.url}
        if self.headers:
            data["headers"] = dict(self.headers)
        return data


class AgentEntry(_Entry):
    """A sub-agent: inline, or a Markdown file in the plugin folder (``file``)."""

    file: str | None = None
    name: str | None = None
    description: str | None = None
    system_prompt: str | None = None
    tools: list[str] | str | None = None
    model: str | None = None
    #: The original design's name for ``model``.
    model_override: str | None = None

    @model_validator(mode="after")
    def _inline_or_file(self) -> Self:
        inline = [k for k in ("name", "description", "system_prompt", "tools") if getattr(self, k)]
        if self.file and inline:
            raise ValueError(f"give either 'file' or the agent inline, not both ({inline[0]})")
        if not self.file:
            missing = [k for k in ("name", "description", "system_prompt") if not getattr(self, k)]
            if missing:
                raise ValueError(f"an inline agent needs {', '.join(missing)} (or use 'file')")
        if self.model and self.model_override:
            raise ValueError("give 'model' or 'model_override', not both")
        return self


class HookEntry(_Entry):
    """A hook: a Python callback (``module``) or a command (``command``)."""

    event: str
    matcher: str | None = None
    module: ModuleRef | None = None
    command: str | None = None
    timeout: float = Field(default=60.0, gt=0)

    @field_validator("event")
    @classmethod
    def _known_event(cls, value: str) -> str:
        if value not in EVENT_NAMES:
            raise ValueError(f"unknown hook event {value!r} (known: {', '.join(HOOK_EVENTS)})")
        return EVENT_NAMES[value]

    @model_validator(mode="after")
    def _one_kind(self) -> Self:
        if bool(self.module) == bool(self.command):
            raise ValueError("a hook needs exactly one of 'module' (Python) or 'command'")
        return self


class PluginManifest(_Entry):
    name: PluginName
    version: str | None = None
    description: str | None = None
    models: dict[str, Any] | list[dict[str, Any]] | None = None
    skills: list[SkillEntry] = Field(default_factory=list)
    commands: list[CommandEntry] = Field(default_factory=list)
    mcp_servers: list[McpServerEntry] = Field(default_factory=list)
    #: Checked by ``harness_tui.core.lsp`` (which also reads a plugin's ``.lsp.json``),
    #: where a wrong entry skips that server, not the plugin.
    lsp_servers: dict[str, Any] = Field(default_factory=dict)
    agents: list[AgentEntry] = Field(default_factory=list)
    hooks: list[HookEntry] = Field(default_factory=list)

    @field_validator("version", mode="before")
    @classmethod
    def _version_text(cls, value: Any) -> Any:
        # ``version: 1.0`` is a number to YAML.
        return (
            str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value
        )

    @field_validator("skills", mode="before")
    @classmethod
    def _skill_shorthand(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [{"module": v} if isinstance(v, str) else v for v in value]
        return value

    @field_validator("mcp_servers", mode="before")
    @classmethod
    def _servers_mapping(cls, value: Any) -> Any:
        # ``.mcp.json`` style: {name: {command: ...}}
        if isinstance(value, dict):
            return [
                {"name": k, **v} if isinstance(v, dict) else {"name": k, "command": v}
                for k, v in value.items()
            ]
        return value

    @model_validator(mode="before")
    @classmethod
    def _null_sections(cls, data: Any) -> Any:
        # `skills:` with nothing after it is an empty section, not an error.
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if not (k in SECTIONS and v is None)}
        return data


def read_manifest(path: Path) -> tuple[PluginManifest, YamlDocument]:
    """Parse and validate a manifest; raises ``PluginError``."""
    try:
        doc = parse_yaml(read_config_text(path))
    except FileNotFoundError as exc:
        raise PluginError(f"{path}: cannot read it ({exc.strerror})") from None
    except ConfigFileError as exc:  # not a regular file, too large, not UTF-8
        raise PluginError(str(exc)) from None
    except YamlError as exc:
        raise PluginError(f"{path}: {exc}") from None
    if not isinstance(doc.data, dict):
        raise PluginError(
            f"{path}: line 1: the manifest must be a mapping with at least 'name' "
            f"(sections: {', '.join(SECTIONS)})"
        )
    try:
        manifest = PluginManifest.model_validate(doc.data)
    except ValidationError as exc:
        raise PluginError(describe_manifest_error(path, doc, exc)) from None
    return manifest, doc


def describe_manifest_error(path: Path, doc: YamlDocument, exc: ValidationError) -> str:
    """The first problem of a validation error as ``<file>: line N: field: problem``
    (and how many more there are)."""
    errors = exc.errors()
    first = errors[0]
    loc = [p for p in first["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
    field = location_text(loc)
    if first["type"] == "extra_forbidden" and len(loc) == 1:
        message = f"unknown section (known: name, version, description, {', '.join(SECTIONS)})"
    elif first["type"] == "extra_forbidden":
        message = "unknown field"
    else:
        message = first["msg"].removeprefix("Value error, ")
    more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
    return f"{at(path, doc, loc)}{field}: {message}{more}"


def location_text(loc: list[Any] | tuple[Any, ...]) -> str:
    """``commands[1].allowed_args``."""
    text = ""
    for item in loc:
        text += f"[{item}]" if isinstance(item, int) else f".{item}" if text else str(item)
    return text or "top level"


def at(path: Path, doc: YamlDocument, loc: list[Any] | tuple[Any, ...]) -> str:
    """``<file>: line N: `` for the value at ``loc``."""
    line = doc.line_of(list(loc))
    return f"{path}: line {line}: " if line is not None else f"{path}: "
