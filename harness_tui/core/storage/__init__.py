"""Session files: one JSON line per entry, a tree of branches, read back whatever happened.

- ``records``: the file's format, and a reader that survives damaged files.
- ``writer``: writes a session's file as the session goes.
- ``saved``: the saved sessions: where they are, which belong to a folder, what one holds.
- ``tree``: the conversation as a tree of entries, and what a branch gives the model.
- ``recovery``: what a damaged file still tells.
- ``transcript``: the events that show a restored conversation in a view.
- ``export``: a saved session as Markdown or JSON.
- ``search``: the saved sessions' search index (SQLite FTS5), kept up to date by each search.
"""
