"""The slash commands: one table, ``COMMANDS``, that ``/help``, completion and dispatch
all read. A row is a name, what it does (as /help and the completion menu say it) and
the function that runs it with the app and what followed the name.

Beyond the table, ``/mcp__server__prompt`` runs an MCP server's prompt and any other
name is the session's custom command or skill, if it has one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from harness_tui.core.errors import HarnessError
from harness_tui.tui.host import AppHost
from harness_tui.widgets.conversation import Conversation, NoticeEntry
from harness_tui.widgets.lazy import lazy_module

if TYPE_CHECKING:
    from harness_tui.core.session.session import Session
    from harness_tui.core.tasks import TaskInfo

# The core loads after the first frame; the session commands with it (``sessions``).
ev = lazy_module("harness_tui.core.events")


@dataclass(frozen=True)
class Command:
    """A built-in slash command."""

    name: str
    about: str
    run: Callable[[AppHost, str], None]
    #: False: a command that ends or replaces something; with an argument it does
    #: nothing and says so ("/clear this bug" was more likely meant as a prompt).
    takes_argument: bool = True
    #: False: an alias, run but not offered (/exit).
    listed: bool = True


# --- the commands' functions ---------------------------------------------------------


def _help(app: AppHost, argument: str) -> None:
    app.action_help()


def _model(app: AppHost, argument: str) -> None:
    if argument:
        app.call(app.session.set_model(argument))
    else:
        app.action_pick_model()


def _mode(app: AppHost, argument: str) -> None:
    if argument:
        app.call(app.session.set_mode(argument))
    else:
        app.say(
            f"Mode: {app.session.mode}. Use /mode "
            + "|".join(ev.PERMISSION_MODES)
            + ", or Shift+Tab."
        )


#: Shift+Tab cycles these; bypassPermissions only when the session started in it.
MODE_CYCLE = ("default", "acceptEdits", "plan")


def cycle_mode(app: AppHost) -> None:
    """Shift+Tab: the next permission mode of ``MODE_CYCLE``."""
    bypass = app.session.started_mode == "bypassPermissions"
    cycle = MODE_CYCLE + (("bypassPermissions",) if bypass else ())
    current = app.session.mode
    following = cycle[(cycle.index(current) + 1) % len(cycle)] if current in cycle else cycle[0]
    app.call(app.session.set_mode(following))


def _plan(app: AppHost, argument: str) -> None:
    app.call(app.session.set_mode("default" if app.session.mode == "plan" else "plan"))


def _clear(app: AppHost, argument: str) -> None:
    app.action_clear()


def _cost(app: AppHost, argument: str) -> None:
    from harness_tui.tui import sessions  # the core: loaded on demand

    app.say(sessions.cost_text(app.session))


def _compact(app: AppHost, argument: str) -> None:
    app.call(app.session.compact(argument or None))


def _resume(app: AppHost, argument: str) -> None:
    if argument:
        app.replace_session(argument)
    else:
        app.action_pick_session()


def _fork(app: AppHost, argument: str) -> None:
    if argument:
        from harness_tui.tui import sessions

        app.call(sessions.fork(app, argument))
    else:
        app.action_pick_fork()


def _tree(app: AppHost, argument: str) -> None:
    from harness_tui.tui import sessions

    app.say(sessions.tree_text(app.session))


def _rewind(app: AppHost, argument: str) -> None:
    from harness_tui.tui import rewind

    rewind.open_picker(app)


def _redo(app: AppHost, argument: str) -> None:
    from harness_tui.tui import rewind

    app.run_worker(rewind.redo(app), group="rewind", exit_on_error=False)


def _rename(app: AppHost, argument: str) -> None:
    if argument:
        app.call(app.session.rename(argument))
    elif app.session.name:
        app.say(f"This session is named {app.session.name!r}. /rename NAME changes it.")
    else:
        app.say("This session has no name. /rename NAME gives it one.")


def _background(app: AppHost, argument: str) -> None:
    from harness_tui.tui import sessions

    app.call(sessions.to_background(app))


def _memory(app: AppHost, argument: str) -> None:
    from harness_tui.tui.memory import MemoryScreen

    app.push_screen(MemoryScreen(app.session))


def _export(app: AppHost, argument: str) -> None:
    from harness_tui.tui import sessions

    app.call(sessions.export(app, argument))


def _hooks(app: AppHost, argument: str) -> None:
    app.action_toggle_pane("hooks", show=True)


def _mcp(app: AppHost, argument: str) -> None:
    """``/mcp`` shows the servers; ``/mcp restart|login|logout NAME`` acts on one."""
    verb, _, server = argument.partition(" ")
    server = server.strip()
    if not verb:
        app.action_mcp()
        return
    mcp = app.session.mcp
    if verb == "paste" and server:  # here: the address a far browser ended on
        try:
            name = mcp.paste_login(server)
        except HarnessError as exc:
            app.say(str(exc), "error")
        else:
            app.say(f"Address taken: finishing the login to MCP server {name}…")
    elif verb in ("restart", "login", "logout") and server:
        if server not in mcp.connections:
            known = ", ".join(mcp.connections) or "none"
            app.say(f"No MCP server named {server} (servers: {known}).", "error")
            return
        if verb == "restart":
            app.say(f"Restarting MCP server {server}…")
        # A login's page address arrives as a notice (for a browser on another machine).
        app.call(getattr(mcp, verb)(server))
    else:
        app.say(
            "Use /mcp to see the MCP servers, /mcp restart NAME to restart one, "
            "/mcp login NAME or /mcp logout NAME for a remote server's OAuth login "
            "(/mcp paste ADDRESS finishes one whose browser is on another machine).",
            "error",
        )


def _listing(what: str) -> Callable[[AppHost, str], None]:
    """``/skills``, ``/plugins``, ``/context``, ``/worktree``...: a listing in the
    conversation."""

    def show(app: AppHost, argument: str) -> None:
        session = app.session
        extensions = session.extensions
        if what == "skills":
            text = extensions.describe_skills()
        elif what == "plugins":
            text = extensions.describe_plugins()
        elif what == "sandbox":
            text = "\n".join(session.sandbox_status().lines())
        elif what == "tasks":
            text = tasks_text(session.tasks.all())
        elif what == "lsp":
            text = "\n".join(session.lsp.status_lines())
        elif what == "worktree":
            from harness_tui.core.worktrees.lifecycle import worktree_lines

            text = "\n".join(worktree_lines(session.worktree))
        else:
            from harness_tui.tui import sessions

            listing = extensions.describe_context(session.system_prompt, session.tool_specs())
            text = f"{sessions.context_text(session)}\n{listing}"
        app.query_one(Conversation).add_note(NoticeEntry(text, "info"))

    return show


def tasks_text(tasks: list[TaskInfo]) -> str:
    """``/tasks``: every background task of the session, running ones first."""
    if not tasks:
        return "No background tasks. (Bash starts one with run_in_background.)"
    lines = ["Background tasks (x in the tasks pane stops the highlighted one):"]
    for task in sorted(tasks, key=lambda t: t.status is not None):
        state = "running" if task.status is None else task.status
        if task.status == "failed":
            state += f" (exit {task.exit_code})"
        lines.append(f"  {task.task_id}  {state}  {task.command}")
        lines.append(f"      output: {task.output_path}")
    return "\n".join(lines)


def _tui(app: AppHost, argument: str) -> None:
    app.run_worker(app.action_tui(argument))


def _copy(app: AppHost, argument: str) -> None:
    """``/copy`` the last answer, ``/copy code`` a code block, ``/copy tool`` an output."""
    from harness_tui.tui import clipboard

    what = {"": "answer", "answer": "answer", "code": "code", "tool": "tool"}.get(argument)
    if what is None:
        app.say(
            f"/copy {argument}: nothing of that name to copy. Use /copy (the last answer), "
            "/copy code (the last code block) or /copy tool (a tool's full output).",
            "error",
        )
    else:
        clipboard.copy_named(app, what)


def _agents(app: AppHost, argument: str) -> None:
    from harness_tui.tui.agents.view import AgentsScreen

    app.push_screen(AgentsScreen(finished=argument == "all"))


def _quit(app: AppHost, argument: str) -> None:
    app.run_worker(app.action_quit())


# --- the table -------------------------------------------------------------------------

COMMANDS: tuple[Command, ...] = (
    Command("help", "keys and commands", _help),
    Command("model", "switch model: /model [name]", _model),
    Command("mode", "permission mode: /mode [default|acceptEdits|plan|bypassPermissions]", _mode),
    Command("plan", "toggle plan mode (read-only)", _plan),
    Command("clear", "start a new conversation", _clear, takes_argument=False),
    Command("cost", "tokens and cost so far", _cost),
    Command("compact", "summarise older messages: /compact [what to keep]", _compact),
    Command("resume", "go on with a saved session: /resume [id]", _resume),
    Command("fork", "branch from an earlier message: /fork [entry id]", _fork),
    Command("tree", "the conversation's branches", _tree),
    Command(
        "rewind",
        "go back to before a prompt: the code, the conversation or both (Esc Esc)",
        _rewind,
        takes_argument=False,
    ),
    Command("redo", "undo the last rewind", _redo, takes_argument=False),
    Command("rename", "name this session (resume and search show it): /rename NAME", _rename),
    Command(
        "background",
        "go on without this terminal: the session moves to the background (harness-tui attach)",
        _background,
        takes_argument=False,
    ),
    Command(
        "memory",
        "what is kept across sessions (this project's and yours): forget, edit; #text adds",
        _memory,
        takes_argument=False,
    ),
    Command("export", "write this session as Markdown and JSON: /export [path]", _export),
    Command(
        "copy", "copy the last answer; /copy code|tool: the last code block, tool output", _copy
    ),
    Command("hooks", "show the hooks pane", _hooks),
    Command(
        "tasks",
        "background tasks: running and ended, their output files (x stops one in the pane)",
        _listing("tasks"),
        takes_argument=False,
    ),
    Command(
        "sandbox",
        "the Bash sandbox: on or off, writable and hidden paths, allowed domains",
        _listing("sandbox"),
        takes_argument=False,
    ),
    Command(
        "lsp",
        "language servers: state, languages, memory, last error",
        _listing("lsp"),
        takes_argument=False,
    ),
    Command(
        "worktree",
        "the session's git worktree: its path, branch and changes (--worktree starts one)",
        _listing("worktree"),
        takes_argument=False,
    ),
    Command(
        "mcp",
        "MCP servers: status, tools, resources, prompts; /mcp login|logout|restart NAME",
        _mcp,
    ),
    Command("skills", "list the skills (/skill-name args runs one)", _listing("skills")),
    Command("plugins", "list the plugins, and those that failed to load", _listing("plugins")),
    Command(
        "context",
        "what fills the context: tokens, instructions, skills, tools",
        _listing("context"),
    ),
    Command(
        "agents",
        "every session: waiting, working, idle; answer, stop, diff, open (/agents all)",
        _agents,
    ),
    Command(
        "tui", "inline (the terminal's scrollback) or full-screen: /tui [inline|fullscreen]", _tui
    ),
    Command("quit", "leave harness-tui", _quit, takes_argument=False),
    Command("exit", "leave harness-tui", _quit, takes_argument=False, listed=False),
)
BY_NAME = {command.name: command for command in COMMANDS}
#: What /help and completion offer of the built-ins: (name, description), in order.
LISTED = [(command.name, command.about) for command in COMMANDS if command.listed]


def listing(session: Session | None) -> list[tuple[str, str]]:
    """Built-in commands, then the session's custom commands, skills and MCP prompts
    (only the built-ins until the session is up)."""
    if session is None:
        return LISTED
    builtin = {name for name, _ in LISTED}
    custom = [e for e in session.extensions.slash_entries() if e[0] not in builtin]
    return LISTED + custom + session.mcp.prompt_commands()


def run(app: AppHost, text: str) -> None:
    """Run ``/name argument`` as typed."""
    name, _, argument = text[1:].partition(" ")
    argument = argument.strip()
    command = BY_NAME.get(name)
    if command is not None and argument and not command.takes_argument:
        app.say(
            f"/{name} takes no argument, so nothing was done. To send this to the "
            f"model, write it so that it does not start with /{name}.",
            "error",
        )
    elif command is not None:
        command.run(app, argument)
    elif name.startswith("mcp__"):
        app.call(_mcp_prompt(app, name, argument))
    elif app.session.extensions.has_command(name):
        app.call(app.session.invoke_command(name, argument))
    else:
        app.say(unknown_command(name, [n for n, _ in app.slash_commands()]), "error")


async def _mcp_prompt(app: AppHost, command: str, argument: str) -> None:
    """``/mcp__server__prompt args``: the server's prompt, sent as a message."""
    text = await app.session.mcp.render_prompt(command, argument)
    session = app.session
    await (session.steer(text) if session.running else session.submit(text))


def unknown_command(name: str, known: list[str]) -> str:
    """The answer to ``/name`` that is no command: the commands it could be the start
    of (Enter sends an ambiguous prefix as typed), else all of them."""
    candidates = [n for n in known if n.startswith(name)] if name else []
    if candidates:
        listed = ", ".join(f"/{n}" for n in candidates)
        return f"Unknown command /{name}. Did you mean {listed}? (Tab completes.)"
    return f"Unknown command /{name}. Commands: " + ", ".join(f"/{n}" for n in known)
