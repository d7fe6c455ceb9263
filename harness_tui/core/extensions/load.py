"""Everything a session takes from files users already have, loaded in one place:
plugins, skills, sub-agents, slash commands and project instructions.

Plugins run code, so the project's own (``.harness/plugins``) load only in a trusted
folder; the Markdown formats (skills, agents, commands, instructions) are text for the
model and load everywhere, but a project file's ``allowed-tools`` grants nothing until
the folder is trusted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from harness_tui.core.extensions.agents import AgentSet, discover_agents
from harness_tui.core.extensions.commands import (
    CommandSet,
    Expansion,
    discover_commands,
    expand_command,
)
from harness_tui.core.extensions.instructions import Instructions, load_instructions
from harness_tui.core.extensions.plugins import PluginSet, discover_plugins, plugin_roots
from harness_tui.core.extensions.skills import (
    SkillCatalog,
    discover_skills,
    expand_skill,
    skill_folders,
)
from harness_tui.core.memory.prompt import MemoryPrompt, load_memory
from harness_tui.core.providers.base import ToolSpec

#: Tool names the session itself adds; no plugin may take them.
RESERVED_TOOLS = {"Task": "the Task tool (sub-agents)", "Skill": "the Skill tool"}


@dataclass
class Extensions:
    cwd: Path
    trusted: bool
    plugins: PluginSet
    skills: SkillCatalog
    agents: AgentSet
    commands: CommandSet
    instructions: Instructions
    #: Memory's part of the system prompt (``core.memory.prompt``).
    memory: MemoryPrompt = field(default_factory=MemoryPrompt)

    @property
    def problems(self) -> list[str]:
        return [
            *self.plugins.problems,
            *self.skills.problems,
            *self.agents.problems,
            *self.commands.problems,
            *self.instructions.problems,
        ]

    def prompt_extra(self) -> str | None:
        """Instructions, the skills list and memory, for the system prompt."""
        parts = [
            self.instructions.prompt_section(),
            self.skills.prompt_section(),
            self.memory.text,
        ]
        return "\n\n".join(p for p in parts if p) or None

    def trust_project(self, taken: Mapping[str, str]) -> tuple[PluginSet, str | None]:
        """The folder was trusted during the session: load the project's plugins (their
        agents and skills join the others) and let project files' ``allowed-tools``
        grant. Returns the plugins loaded and a system prompt section for their skills."""
        self.trusted = True
        for name, skill in list(self.skills.skills.items()):
            if skill.source == "project":
                self.skills.skills[name] = replace(skill, trusted=True)
        roots = [r for r in plugin_roots(self.cwd, include_project=True) if r[1] == "project"]
        added = discover_plugins(
            roots, taken=taken, loaded_names=[p.name for p in self.plugins.plugins]
        )
        self.plugins.extend(added)
        for agent in added.agents():
            self.agents.add(agent)
        more = discover_skills(added.skill_folders())
        new = SkillCatalog()
        for skill in more.skills.values():
            if skill.name not in self.skills.skills:
                new.add(skill)
            self.skills.add(skill)
        self.skills.problems += more.problems
        return added, new.prompt_section()

    def has_command(self, name: str) -> bool:
        """A custom command or a user-invocable skill of that name exists."""
        skill = self.skills.get(name)
        return name in self.commands.commands or (skill is not None and skill.user_invocable)

    # --- slash commands ---------------------------------------------------------------

    def slash_entries(self) -> list[tuple[str, str]]:
        """(name, description) of custom commands and user-invocable skills."""
        entries = []
        for command in self.commands.commands.values():
            hint = f" {command.argument_hint}" if command.argument_hint else ""
            entries.append((command.name, f"{command.description}{hint} ({command.source})"))
        for skill in self.skills.skills.values():
            if skill.user_invocable and skill.name not in self.commands.commands:
                hint = f" {skill.argument_hint}" if skill.argument_hint else ""
                entries.append((skill.name, f"skill: {_short(skill.description)}{hint}"))
        return entries

    def expand(self, name: str, arguments: str) -> Expansion | None:
        """``/name arguments`` as a prompt; None when no command or skill has that name."""
        command = self.commands.get(name)
        if command is not None:
            expansion = expand_command(command, arguments)
            if command.source == "project" and not self.trusted:
                expansion = Expansion(expansion.name, expansion.prompt, expansion.model)
            return expansion
        skill = self.skills.get(name)
        if skill is not None and skill.user_invocable:
            return expand_skill(skill, arguments)
        return None

    # --- listings -----------------------------------------------------------------------

    def describe_plugins(self) -> str:
        return "\n".join(["Plugins:", *(f"  {line}" for line in self.plugins.describe())])

    def describe_skills(self) -> str:
        if not self.skills.skills:
            return (
                "No skills. Put SKILL.md folders in .harness/skills, .claude/skills, "
                ".agents/skills or the user config folder's skills/."
            )
        lines = ["Skills (name: description · where):"]
        for skill in self.skills.skills.values():
            flags = []
            if not skill.model_invocable:
                flags.append("user only")
            if not skill.user_invocable:
                flags.append("model only")
            extra = f" [{', '.join(flags)}]" if flags else ""
            lines.append(f"  /{skill.name}: {_short(skill.description)} · {skill.source}{extra}")
        lines += [f"  ! {p}" for p in self.skills.problems]
        return "\n".join(lines)

    def describe_context(self, system_prompt: str, tools: tuple[ToolSpec, ...]) -> str:
        """What goes into every request besides the conversation (its tokens are in the
        context breakdown, counted once there)."""
        lines = [
            f"System prompt: {len(system_prompt):,} characters",
            f"Tool definitions: {len(tools)} tools",
        ]
        files = self.instructions.describe()
        cap = f"cap {self.instructions.max_bytes:,} bytes"
        lines.append(f"Instruction files ({self.instructions.total_bytes:,} bytes, {cap}):")
        lines += [f"  {line}" for line in files] or ["  none"]
        invocable = self.skills.model_invocable
        lines.append(f"Skills in the prompt (names and descriptions only): {len(invocable)}")
        lines.append("Sub-agents: " + ", ".join(self.agents.agents))
        if self.commands.commands:
            lines.append("Custom commands: " + ", ".join(f"/{n}" for n in self.commands.commands))
        return "\n".join(lines)


def load_extensions(cwd: Path, *, trusted: bool, taken: Mapping[str, str]) -> Extensions:
    """Load everything for a session in ``cwd``; never raises for a bad file (problems
    are collected in ``Extensions.problems``). ``taken``: tool names already in use."""
    plugins = discover_plugins(
        plugin_roots(cwd, include_project=trusted), taken={**taken, **RESERVED_TOOLS}
    )
    skills = discover_skills(
        [*skill_folders(cwd), *plugins.skill_folders()], trusted_project=trusted
    )
    return Extensions(
        cwd=cwd,
        trusted=trusted,
        plugins=plugins,
        skills=skills,
        agents=discover_agents(cwd, plugins.agents()),
        commands=discover_commands(cwd),
        instructions=load_instructions(cwd),
        memory=load_memory(cwd),
    )


def _short(text: str, width: int = 70) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"
