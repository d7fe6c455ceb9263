"""Runs: the agent loop and what drives it.

- ``loop``: one run, turn by turn (stream, tools, steering, stop).
- ``turn_host``: what a run needs from its owner each turn; shared by the session's
  conversation and sub-agents'.
- ``controller``: starting, chaining and cancelling a session's runs.
- ``subagents``: the ``Task`` tool, which runs a sub-agent on a turn host of its own.
- ``message_builder``: a streamed response assembled into a message.
- ``steering``: the queue of messages typed while a run is active.
- ``budget``: the caps a run stops at (turns, a run's and a session's dollars).
- ``context``: the context window's count, and where compaction cuts.
- ``system_prompt``: the prompt a conversation starts with.
"""
