"""Hooks in Claude Code's shape.

- ``config``: hook definitions from the settings files and plugins.
- ``pipeline``: running the hooks that match an event, in parallel, and combining what they say.
"""
