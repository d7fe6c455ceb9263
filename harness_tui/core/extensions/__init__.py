"""Everything a session takes from files users already have.

- ``load``: loads all of it for a folder, in one place (what a session starts with).
- ``instructions``: ``AGENTS.md`` / ``CLAUDE.md`` project instructions.
- ``skills``: ``SKILL.md`` folders, disclosed progressively.
- ``agents``: sub-agent definitions (``.claude/agents/*.md``); ``run.subagents`` runs them.
- ``commands``: custom slash commands (``.claude/commands/*.md``).
- ``frontmatter``, ``frontmatter_fields``: Markdown with a YAML block, and its typed fields.
- ``plugins/``: ``plugin.yaml`` folders adding tools, hooks, models, MCP servers, skills.
"""
