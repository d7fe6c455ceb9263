"""The processes tools start, and ending them.

- ``group``: child processes that can always be stopped, each in its own process group.
- ``tree``: which processes a call started (``/proc``), and how to end them.
- ``exit_guard``: every way harness-tui ends, ends its processes within a bound.
"""
