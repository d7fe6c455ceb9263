"""Configuration as users already write it, read the one bounded way.

- ``paths``: where harness-tui keeps its files (each folder movable by an environment variable).
- ``settings``: ``.claude/settings*.json`` and ``.harness/settings*.json``, merged by scope.
- ``trust``: which folders may configure the harness.
- ``files``: JSON and YAML files read within ``files.parse_limits``.
- ``yaml_source``: YAML with its line numbers, for errors that name the line.
"""
