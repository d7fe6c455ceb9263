"""The agent view (``harness-tui agents``, ``/agents``): every session of the user,
what it needs, and keys to answer, stop, close, diff and open it.

- ``rows``: the rows, from the live registry and the saved sessions (no Textual).
- ``actions``: what the keys do to a session (control socket, git), for a thread.
- ``view``: the screen: the table, refreshed live, and its keys.
- ``screens``: the diff screen and the question before closing a session.
- ``app``: the screen as an app of its own.
"""
