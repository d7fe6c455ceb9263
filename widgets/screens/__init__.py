"""The modal screens: ``permission``, ``trust``, ``elicitation`` and ``sampling``
(the session's questions), ``model_picker``, ``session_picker``, ``mcp`` (servers),
``help``.
"""
