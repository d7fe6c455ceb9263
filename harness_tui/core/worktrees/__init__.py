"""Sessions and sub-agents in git worktrees (``harness-tui --worktree [NAME]``, a
``Task`` with ``isolation: worktree``, ``harness-tui worktree list|merge|remove``).

- ``git_worktrees``: make, inspect, merge and remove one worktree with real git.
- ``placement``: where worktrees go and which untracked files they get (settings).
- ``lifecycle``: a worktree beside a session or sub-agent: its hooks, the keep-or-remove
  rule at the end, the ``/worktree`` text.
"""
