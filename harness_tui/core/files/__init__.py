"""Reading the workspace safely: only regular files, only so much, and the right ones.

- ``regular``: a path that may name anything, read only if it is a regular file, bounded;
  which words of a command line name existing files.
- ``parse_limits``: bounds on size, nesting and count, so no file can stop start-up.
- ``walk``: the files of a folder as ``git`` and ``rg`` see them (``rg`` if present).
- ``patterns``: globs, ``.gitignore`` files and the permission rules' path patterns.
- ``mentions``: ``@path`` in a prompt (the file's text goes with the message).
- ``images``: which images tools may hand to models, and how large.
"""
