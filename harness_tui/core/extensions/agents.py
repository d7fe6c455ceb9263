"""Sub-agent definitions: what agents the ``Task`` tool can start (it runs them: see
``core/run/subagents``).

A definition is a Markdown file (``.claude/agents/*.md``, ``.harness/agents/*.md``, the
same at user level) or a plugin's ``agents`` entry::

    ---
    name: code-reviewer
    description: When to use this agent.
    tools: Read, Grep, Glob          # absent: all of the parent's tools
    model: inherit                  # or a model name or alias
    isolation: worktree             # absent: it works in the session's folder
    ---
    The agent's system prompt.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness_tui.core.config import paths
from harness_tui.core.errors import HarnessError
from harness_tui.core.extensions.frontmatter import (
    FrontmatterError,
    as_name_list,
    read_markdown,
    unknown_fields,
)
from harness_tui.core.extensions.frontmatter_fields import Fields

KNOWN_FIELDS = frozenset({"name", "description", "tools", "model", "color", "isolation"})
#: The values of ``isolation``: ``worktree``, a git worktree of its own (core/worktrees).
ISOLATIONS = ("worktree",)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class AgentDefinition:
    name: str
    description: str
    system_prompt: str
    #: Tool names it may use; None: all of the parent's (except Task).
    tools: tuple[str, ...] | None = None
    #: A model name or alias; None or ``inherit``: the parent's current model.
    model: str | None = None
    #: Where it came from: a file, or ``plugin git``.
    source: str = ""
    #: ``worktree``: each run in a new git worktree; None: in the session's folder.
    isolation: str | None = None


GENERAL_PURPOSE = AgentDefinition(
    name="general-purpose",
    description=(
        "A general agent for research and multi-step tasks: searching code, reading "
        "files, running commands. Use it to keep long explorations out of your own context."
    ),
    system_prompt=(
        "You are a sub-agent working on one task for another agent. Do the task with the "
        "tools you have, then answer with a complete, self-contained report: the other "
        "agent sees only your final message."
    ),
    source="built-in",
)


@dataclass
class AgentSet:
    agents: dict[str, AgentDefinition] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def add(self, agent: AgentDefinition) -> None:
        first = self.agents.get(agent.name)
        if first is not None and first is not GENERAL_PURPOSE:
            self.problems.append(
                f"{agent.source}: the agent {agent.name!r} is already defined by {first.source}"
            )
            return
        self.agents[agent.name] = agent

    def get(self, name: str) -> AgentDefinition | None:
        return self.agents.get(name)


def agent_folders(cwd: Path) -> list[Path]:
    """Where agent files are looked for, highest precedence first."""
    return [
        cwd / ".harness" / "agents",
        cwd / ".claude" / "agents",
        paths.config_dir() / "agents",
        paths.claude_user_dir() / "agents",
    ]


def discover_agents(
    cwd: Path, extra: Iterable[AgentDefinition] = (), folders: Iterable[Path] | None = None
) -> AgentSet:
    """The built-in general-purpose agent, the agent files, then ``extra`` (plugins)."""
    result = AgentSet({GENERAL_PURPOSE.name: GENERAL_PURPOSE})
    for folder in folders if folders is not None else agent_folders(cwd):
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.md")):
            try:
                agent, warnings = load_agent_file(path)
            except HarnessError as exc:
                result.problems.append(str(exc))
                continue
            result.problems.extend(warnings)
            result.add(agent)
    for agent in extra:
        result.add(agent)
    return result


def load_agent_file(path: Path, source: str | None = None) -> tuple[AgentDefinition, list[str]]:
    """One agent file; raises ``HarnessError`` naming the file and field."""
    try:
        doc = read_markdown(path)
    except FrontmatterError as exc:
        raise HarnessError(str(exc)) from None
    meta = doc.meta
    warnings = list(doc.warnings)
    warnings.extend(unknown_fields(path, meta, KNOWN_FIELDS))
    fields = Fields(doc, warnings)
    description = fields.text("description", skip="skipped (the model chooses agents by it)")
    # An unreadable tools list must not become "every tool": the agent is not loaded.
    tools = fields.names("tools", skip="skipped (its tools cannot be told)")
    model = fields.text("model", skip=None)  # wrong: ignored, it runs on the parent's
    isolation = fields.text("isolation", skip="skipped (where it may write cannot be told)")
    fields.text("color")
    try:
        if fields.stops:
            raise HarnessError("; ".join(fields.stops))
        agent = make_agent(
            meta.get("name"),
            description if description is not None else meta.get("description"),
            doc.body,
            tools=tools,
            model=model,
            isolation=isolation,
            where=str(path),
            source=source or str(path),
            lines=doc.field_lines,
        )
    except HarnessError as exc:
        # The front matter was not YAML: that is the likelier cause; say both.
        raise HarnessError("; ".join([str(exc), *doc.warnings])) from None
    return agent, warnings


def make_agent(
    name: Any,
    description: Any,
    system_prompt: Any,
    *,
    tools: Any = None,
    model: Any = None,
    isolation: Any = None,
    where: str,
    source: str,
    lines: Mapping[str, int] | None = None,
) -> AgentDefinition:
    """A validated definition; raises ``HarnessError`` saying which field is wrong (on
    which line, when ``lines`` tells the line of each field)."""

    def at(key: str) -> str:
        line = (lines or {}).get(key)
        return f"{where}: line {line}: {key}" if line else f"{where}: {key}"

    if not isinstance(name, str) or not _NAME.match(name):
        raise HarnessError(
            f"{at('name')}: {name!r} is not a usable agent name (letters, digits, '-', "
            "'_', '.'; at most 64); skipped"
        )
    if not isinstance(description, str) or not description.strip():
        raise HarnessError(f"{where}: description: required (when to use this agent)")
    if not isinstance(system_prompt, str) or not system_prompt.strip():
        raise HarnessError(f"{where}: the agent has no system prompt (the body is empty)")
    if model is not None and not isinstance(model, str):
        raise HarnessError(f"{at('model')}: must be a model name, an alias or 'inherit'")
    if isolation is not None and isolation not in ISOLATIONS:
        raise HarnessError(
            f"{at('isolation')}: {isolation!r} is not known (use 'worktree', or leave it "
            "out to work in the session's folder); skipped"
        )
    return AgentDefinition(
        name=name,
        description=" ".join(description.split()),
        system_prompt=system_prompt.strip(),
        tools=as_name_list(tools),
        model=None if model in (None, "", "inherit") else model,
        source=source,
        isolation=isolation,
    )
