"""Reading a command line without running it: what it would run and what it would write.

- ``split``: a command line into the simple commands it would run.
- ``words``: shell words as bash reads them (or "unknown").
- ``commands``: the commands as they will run, names and arguments decoded.
- ``writes``: what a command line writes: redirections and the files commands name.
- ``downloads``: commands that write files named by what they fetch or unpack.
"""
