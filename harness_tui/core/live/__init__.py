"""Live sessions of this user, whatever runs them (the TUI, ``-p``, ``serve``, ACP): each
open session keeps a small record in ``<data dir>/live/`` (``registry``), so that an
agent view can list them all, with their state, from any process."""
