"""The terminal UI (Textual). Read ``app`` first; the rest are its parts:

- ``app``: the App: layout, events to widgets, keys and input to session calls.
- ``host``: ``AppHost``, what the parts may ask of the app (they never import it).
- ``agents``: the agent view (``harness-tui agents``, ``/agents``): every session of the
  user, live; keys answer, stop, close, diff and open one.
- ``attach``: the prompt sent with its images; images attached from the clipboard, a
  pasted or dropped path, an ``@`` file.
- ``clipboard``: copying (OSC 52 and the local clipboard tools): the last answer, a code
  block, a tool's output, a selection.
- ``commands``: the slash commands, one table for /help, completion and dispatch.
- ``dialogs``: the modal screens: the session's questions, pickers, help.
- ``inline``: inline mode: finished entries written into the terminal's scrollback.
- ``notify``: desktop notifications (OSC 9/777/99, bell) when the agent needs the user.
- ``paste``: reading the clipboard (an image, else text) with the local tools.
- ``palette``: the command palette's entries.
- ``panes``: the side panes: shown, hidden, sized; focus among the parts.
- ``sessions``: switching sessions (new, resumed, forked) and their texts.
- ``status_line``: Claude Code's ``statusLine`` command, run for the status bar.
- ``terminal``: patches to Textual, GC tuning, the stylesheet's path.
"""
