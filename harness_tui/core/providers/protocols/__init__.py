"""One adapter per wire protocol: ``anthropic`` (Messages), ``openai_compat`` (Chat
Completions and the many servers speaking it), ``openai_responses`` (Responses),
``google`` (Gemini's own API); ``history`` decides what of the neutral history survives
a request to a given provider (a conversation may cross providers mid-session).
"""
