"""Memory the user controls: what the agent learns about a project and about the user,
kept across sessions as plain Markdown in the user data folder.

- ``store``: one scope's folder (``MEMORY.md``, the index of one-line entries, and topic
  files beside it): read, add, update, remove, under a lock, written atomically.
- ``places``: where each scope lives (a project's memory keyed by its repository, shared
  by its worktrees; the user's), and Claude Code's auto memory of the same project.
- ``secrets``: what looks like a key or token, refused before anything is written.
- ``tool``: the ``Memory`` tool (add, update, remove, list, read, write_topic), each
  change a ``MEMORY_UPDATED`` event; ``memory.writes`` ``off`` refuses changes.
"""
