"""Sessions: ``session.Session`` is the facade (commands in, events out); each of its
jobs is a collaborator of its own here.

- ``session``: the facade, and ``SessionManager`` for many at once.
- ``workspace``: the folder, its trust, settings and extensions, and what they decide:
  permission rules and questions, hooks, tools, MCP servers; slash commands' grants.
- ``model_slot``: the current model, its provider, a warmed spare, switches.
- ``journal``: the conversation tree, its current branch, its file; resuming, forking.
- ``usage``: tokens and dollars, in all and per run.
- ``compaction``: when and how the conversation is summarised.
- ``manager``: hosting sessions in tasks of their own.
"""
