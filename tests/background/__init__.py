"""Background sessions: the holder, attaching, and the agent view answering them."""
