"""What MCP offers beyond tools, one feature a module.

- ``client_requests``: what servers ask of us (roots, sampling, elicitation), answered.
- ``questions``: what servers ask the user: a sampling approval, an elicitation form.
- ``completions``: argument completion for prompts and resource templates.
- ``resource_watch``: subscriptions to resources that change.
- ``log_levels``: ``mcp.logLevel``, how much servers should log.
- ``tasks``: long-running tool calls as MCP tasks.
- ``tool_search``: many servers' tools behind one search tool.
"""
