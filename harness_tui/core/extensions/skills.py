"""Agent Skills: ``SKILL.md`` folders, loaded by progressive disclosure.

Only each skill's name and description go into the system prompt; the ``Skill`` tool
returns the body when the model decides to use one (with the list of the folder's other
files, which the model reads on demand); the user invokes one as ``/skill-name args``.

    .harness/skills/pdf-tools/SKILL.md      (also .claude/skills, .agents/skills)
    ---
    name: pdf-tools                         1-64 of [a-z0-9-], equal to the folder name
    description: What it does and when to use it.
    allowed-tools: Bash(python:*) Read      optional; also license, compatibility,
    ---                                     metadata, disable-model-invocation, ...
    Instructions...

Skills are searched in the project (``.harness/skills``, ``.claude/skills``,
``.agents/skills``), then the user's folders, then plugins; the first of a name wins and
the others are reported as shadowed. A file that breaks a rule of the specification is
skipped with a message naming the file and the field; unknown fields only warn.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness_tui.core.config import paths
from harness_tui.core.extensions.commands import Expansion, substitute_arguments
from harness_tui.core.extensions.frontmatter import FrontmatterError, read_markdown, unknown_fields
from harness_tui.core.extensions.frontmatter_fields import Fields
from harness_tui.core.tools.base import Tool, ToolContext, ToolResult

SKILL_FILE = "SKILL.md"
MAX_NAME = 64
MAX_DESCRIPTION = 1024
MAX_COMPATIBILITY = 500
#: Files listed by the Skill tool (a skill folder with more is unusual).
MAX_LISTED_FILES = 100
KNOWN_FIELDS = frozenset(
    {
        "name",
        "description",
        "license",
        "compatibility",
        "metadata",
        "allowed-tools",
        "disable-model-invocation",
        "user-invocable",
        "argument-hint",
        "model",
    }
)
_NAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


@dataclass(frozen=True)
class Skill:
    name: str
    description: str
    path: Path
    #: Where it was found: ``project``, ``user``, ``plugin git``.
    source: str
    #: ``allowed-tools`` may grant permissions (a user folder, a trusted project or an
    #: installed plugin) — an untrusted repository's skill may not.
    trusted: bool = True
    allowed_tools: tuple[str, ...] = ()
    license: str | None = None
    compatibility: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    model_invocable: bool = True
    user_invocable: bool = True
    argument_hint: str | None = None
    model: str | None = None

    @property
    def folder(self) -> Path:
        return self.path.parent

    def body(self) -> str:
        """The instructions, read now (the file may have changed since discovery)."""
        return read_markdown(self.path).body.strip()

    def files(self) -> list[str]:
        """The folder's other files, relative to it (read on demand)."""
        found = []
        for item in sorted(self.folder.rglob("*")):
            if item.is_file() and item != self.path and "__pycache__" not in item.parts:
                found.append(item.relative_to(self.folder).as_posix())
                if len(found) >= MAX_LISTED_FILES:
                    break
        return found


@dataclass
class SkillCatalog:
    skills: dict[str, Skill] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def get(self, name: str) -> Skill | None:
        return self.skills.get(name)

    def add(self, skill: Skill) -> None:
        first = self.skills.get(skill.name)
        if first is not None:
            self.problems.append(
                f"{skill.path}: the skill {skill.name!r} is shadowed by {first.path}"
            )
        else:
            self.skills[skill.name] = skill

    @property
    def model_invocable(self) -> list[Skill]:
        return [s for s in self.skills.values() if s.model_invocable]

    def prompt_section(self) -> str | None:
        """Names and descriptions only: the bodies come through the Skill tool."""
        listed = self.model_invocable
        if not listed:
            return None
        lines = [
            "# Skills",
            "Skills are instructions for particular tasks. When a task matches a skill's "
            "description, call the Skill tool with its name before you start, and follow "
            "what it says.",
        ]
        lines += [f"- {s.name}: {' '.join(s.description.split())}" for s in listed]
        return "\n".join(lines)


def skill_folders(cwd: Path, *, project: bool = True) -> list[tuple[Path, str]]:
    """The folders holding skill folders, highest precedence first."""
    found = []
    if project:
        found += [
            (cwd / ".harness" / "skills", "project"),
            (cwd / ".claude" / "skills", "project"),
            (cwd / ".agents" / "skills", "project"),
        ]
    found += [
        (paths.config_dir() / "skills", "user"),
        (paths.claude_user_dir() / "skills", "user"),
    ]
    return found


def discover_skills(
    folders: Iterable[tuple[Path, str]], *, trusted_project: bool = True
) -> SkillCatalog:
    """Every ``<folder>/<name>/SKILL.md``; ``trusted_project``: may project skills'
    ``allowed-tools`` grant permissions."""
    catalog = SkillCatalog()
    for folder, source in folders:
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob(f"*/{SKILL_FILE}")):
            trusted = trusted_project or source != "project"
            skill = load_skill(path, source, catalog.problems, trusted=trusted)
            if skill is not None:
                catalog.add(skill)
    return catalog


def load_skill(path: Path, source: str, problems: list[str], *, trusted: bool) -> Skill | None:
    """One ``SKILL.md``, validated; None (with the reason in ``problems``) when unusable."""
    try:
        doc = read_markdown(path)
    except FrontmatterError as exc:
        problems.append(str(exc))
        return None
    problems.extend(doc.warnings)
    meta = doc.meta
    fields = Fields(doc, problems)
    folder = path.parent.name
    name = meta.get("name")
    problem = _name_problem(name, folder)
    if problem:
        problems.append(f"{fields.where('name')}: {problem}; skipped")
        return None
    description = fields.text("description", skip="skipped (the model chooses skills by it)")
    if description is None:
        if not fields.stops:
            problems.append(
                f"{path}: description: required (what the skill does and when to use it); skipped"
            )
        return None
    if len(description) > MAX_DESCRIPTION:
        problems.append(
            f"{path}: description: {len(description)} characters, more than the "
            f"specification's {MAX_DESCRIPTION}; loaded anyway"
        )
    problems.extend(unknown_fields(path, meta, KNOWN_FIELDS))
    compatibility = fields.text("compatibility")
    if compatibility and len(compatibility) > MAX_COMPATIBILITY:
        problems.append(
            f"{path}: compatibility: more than {MAX_COMPATIBILITY} characters; loaded anyway"
        )
    return Skill(
        name=str(name),
        description=description,
        path=path,
        source=source,
        trusted=trusted,
        allowed_tools=fields.names("allowed-tools") or (),
        license=fields.text("license"),
        compatibility=compatibility,
        metadata=fields.mapping("metadata"),
        model_invocable=not fields.flag("disable-model-invocation", False),
        user_invocable=fields.flag("user-invocable", True),
        argument_hint=fields.text("argument-hint", lists=True),
        model=fields.text("model"),
    )


def _name_problem(name: Any, folder: str) -> str | None:
    if name is None:
        return f"required (use the folder name, {folder!r})"
    if not isinstance(name, str):
        return f"must be a string, not {type(name).__name__}"
    if not 1 <= len(name) <= MAX_NAME:
        return f"must be 1 to {MAX_NAME} characters"
    if not _NAME.match(name):
        return (
            f"{name!r} is not allowed: lower-case letters, digits and single hyphens, "
            "not at the start or end"
        )
    if name != folder:
        return f"{name!r} must equal the folder name {folder!r}"
    return None


def expand_skill(skill: Skill, arguments: str) -> Expansion:
    """``/skill-name args``: the skill's body as the prompt."""
    header = f"Use the skill {skill.name} (folder: {skill.folder}) for this request."
    body = substitute_arguments(skill.body(), arguments)
    return Expansion(
        name=skill.name,
        prompt=f"{header}\n\n{body}",
        model=skill.model if skill.model not in (None, "inherit") else None,
        allowed_tools=skill.allowed_tools if skill.trusted else (),
        source=skill.source,
    )


#: Called when the model loads a skill (the session grants its ``allowed-tools``).
OnSkillLoaded = Callable[[Skill], Awaitable[None]]


class SkillTool(Tool):
    """``Skill``: load a skill's instructions into the conversation."""

    name = "Skill"
    input_schema = {
        "type": "object",
        "properties": {
            "skill": {"type": "string", "description": "The skill's name, as listed."},
            "args": {
                "type": "string",
                "description": "Optional arguments for the skill (what to work on).",
            },
        },
        "required": ["skill"],
        "additionalProperties": False,
    }
    read_only = True
    concurrency_safe = True
    rule_field = "skill"

    def __init__(self, catalog: SkillCatalog, on_loaded: OnSkillLoaded | None = None) -> None:
        self.catalog = catalog
        self.on_loaded = on_loaded

    # Tool declares a class attribute; this one is computed (it lists the skills).
    @property
    def description(self) -> str:  # type: ignore[override]
        names = ", ".join(s.name for s in self.catalog.model_invocable) or "none"
        return (
            "Load a skill: its instructions for a kind of task, listed under Skills in the "
            "system prompt. Call it before you start a task that matches a skill's "
            f"description, then follow the instructions. Available: {names}."
        )

    async def run(self, input: dict[str, Any], ctx: ToolContext) -> ToolResult:
        name = input["skill"].strip().lstrip("/")
        skill = self.catalog.get(name)
        if skill is None:
            known = ", ".join(s.name for s in self.catalog.model_invocable) or "none"
            return ToolResult.error(f"There is no skill {name!r}. Available skills: {known}.")
        if not skill.model_invocable:
            return ToolResult.error(
                f"The skill {name!r} is for the user only (disable-model-invocation); "
                f"they can run it as /{name}."
            )
        try:
            body = skill.body()
        except FrontmatterError as exc:
            return ToolResult.error(f"The skill {name!r} cannot be read now: {exc}")
        arguments = input.get("args") or ""
        if arguments:
            body = substitute_arguments(body, arguments)
        files = skill.files()
        parts = [f'<skill name="{skill.name}" folder="{skill.folder}">', body]
        if files:
            listing = "\n".join(f"- {f}" for f in files)
            parts.append(
                "Files in the skill's folder (paths relative to it); read one only when "
                f"the instructions point to it:\n{listing}"
            )
        parts.append("</skill>")
        if self.on_loaded is not None:
            await self.on_loaded(skill)
        lines = body.count("\n") + 1
        return ToolResult(
            content="\n\n".join(parts),
            display=f"loaded skill {skill.name} ({lines} lines, {len(files)} other files)",
            details={"skill": skill.name, "path": str(skill.path)},
        )
