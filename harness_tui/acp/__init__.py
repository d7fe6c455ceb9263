"""harness-tui as an Agent Client Protocol (ACP) agent for editors: ``harness-tui acp``.

- ``agent``: the agent's methods (sessions, prompts, modes and models, extensions).
- ``link``: one session's events sent to the client, and its questions asked there.
- ``updates``: our events as ACP ``session/update`` notifications.
- ``server``: the process: stdio, signals, every session closed on the way out.

Imported only by ``harness-tui acp``: the SDK (``acp``) is never loaded otherwise.
"""
