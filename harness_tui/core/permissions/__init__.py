"""May this tool call run? Claude Code's rules and modes, and asking when nobody said.

- ``engine``: the decision: rules, the mode, protected paths, then ask.
- ``rules``: permission rules in Claude Code's syntax, from the settings files.
- ``targets``: what a call touches (files, commands, addresses), for the rules.
- ``protected_paths``: files that grant permissions or run code: writing them always asks.
- ``broker``: an *ask* becomes ``PERMISSION_REQUESTED`` and waits for its answer.
- ``gate``: what every call passes: ``PreToolUse`` hooks, then the engine.
"""
