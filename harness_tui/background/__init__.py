"""Sessions that run without a terminal of their own: ``harness-tui --background``.

A background session is the ordinary TUI, run by a small detached *holder* process
(``holder``) in a pseudo-terminal the holder owns. Closing the terminal that started it
(or ``tmux kill-session``) does not touch it: the holder is in a session of its own
(``setsid``) and nothing it runs reads the closed terminal. The TUI asks its permission
questions as always and they wait for an answer: from a terminal attached to it
(``attach``: ``harness-tui attach ID``, Enter in the agent view) or from the agent view
through the session's control socket (``core.live.control``).

- ``launch``: start a holder with the TUI's arguments and wait until its session is in
  the live registry (its id and name to print).
- ``holder``: the detached process: the pseudo-terminal, a Unix socket for one attached
  terminal at a time, the terminal modes to replay to one that attaches.
- ``attach``: this terminal, raw, joined to a holder until Ctrl+] detaches it or the
  session ends.
- ``wire``: the few bytes of protocol between ``attach`` and ``holder``.
"""

#: In the holder's child: the holder's socket (and so: run the TUI, in the background).
SOCKET_ENV = "HARNESS_BACKGROUND_SOCKET"
#: In the holder's child: a prompt to send as the session opens.
PROMPT_ENV = "HARNESS_BACKGROUND_PROMPT"
