"""The commands of a command line as they will run: names and arguments decoded,
wrappers (``env``, ``timeout 5``, ``sudo``...) and assignments set aside, options told
from operands as GNU getopt tells them, and the commands a command runs in turn split
like the outer line: ``bash -c '...'``, ``sh -c``, ``eval``, ``find -exec``, ``alias``
values, and functions the shell's environment exports (``export -f``).

The permission engine matches deny and ask rules against every name a command may run
as (``\\rm``, ``'rm'``, ``env rm`` and ``timeout 5 rm`` are all ``rm``), and applies
every rule to the inner commands too (``xargs`` is a wrapper whose command gets unknown
arguments); ``shell_writes`` reads the files the commands write.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping
from dataclasses import dataclass

from harness_tui.core.shell.split import SimpleCommand, UnparsableCommand, split_command
from harness_tui.core.shell.words import decode_word, is_assignment

_SHELLS = frozenset({"sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "yash"})
_MAX_DEPTH = 4

Options = list[tuple[str, str | None]]


@dataclass(frozen=True, slots=True)
class Syntax:
    """How a command takes options: short ones with a value (``-t DIR``), short ones
    whose value must be attached (``sed -i.bak``), long ones with a value."""

    values: str = ""
    attached: str = ""
    long_values: frozenset[str] = frozenset()
    #: Options may follow operands (GNU tools), not so for wrappers.
    permute: bool = True


def syntax(values: str = "", longs: str = "", attached: str = "") -> Syntax:
    return Syntax(values, attached, frozenset(longs.split()))


@dataclass(frozen=True, slots=True)
class _Wrapper:
    syntax: Syntax
    #: Operands before the command (``timeout DURATION cmd``).
    operands: int = 0
    #: Options that run the command in another folder.
    chdir: frozenset[str] = frozenset()


def _wrapper(values: str = "", longs: str = "", operands: int = 0, chdir: str = "") -> _Wrapper:
    syntax = Syntax(values, "", frozenset(longs.split()), permute=False)
    return _Wrapper(syntax, operands, frozenset(chdir.split()))


_WRAPPERS = {
    "command": _wrapper(),
    "builtin": _wrapper(),
    "exec": _wrapper("a"),
    "nohup": _wrapper(),
    "time": _wrapper(),
    "nice": _wrapper("n", "adjustment"),
    "timeout": _wrapper("sk", "signal kill-after", operands=1),
    "env": _wrapper("uCS", "unset chdir split-string", chdir="C chdir"),
    "stdbuf": _wrapper("ioe", "input output error"),
    "ionice": _wrapper("cnp", "class classdata pid"),
    "setsid": _wrapper(),
    "coproc": _wrapper(),
    "busybox": _wrapper(),
    "sudo": _wrapper("ughprtCDUT", "user group host prompt role type chdir", chdir="D chdir"),
    "doas": _wrapper("uC"),
    # Runs its command with more arguments read from its input: unknown ones.
    "xargs": _wrapper("EILnPsda", "eof replace max-lines max-args max-procs delimiter arg-file"),
}
#: Stands for a word only known when the command runs (find's ``{}``).
_UNKNOWN_WORD = "${FIND_MATCH}"


@dataclass(frozen=True, slots=True)
class Command:
    """A simple command's argument vector after assignments and wrappers (``env``,
    ``timeout 5``...); words bash would expand are None."""

    argv: list[str | None]
    #: A wrapper runs it in another folder (``env -C``, ``sudo -D``).
    moved: bool = False

    @property
    def name(self) -> str | None:
        first = self.argv[0] if self.argv else None
        return os.path.basename(first) if first else first


def command_of(part: SimpleCommand, home: str | None) -> Command:
    """The command a part runs, its words decoded (see ``shell_words``)."""
    words = list(part.words)
    while words and is_assignment(words[0]):
        words.pop(0)
    argv = [decode_word(word, home) for word in words]
    moved = False
    while argv and argv[0] is not None and os.path.basename(argv[0]) in _WRAPPERS:
        name = os.path.basename(argv[0])
        wrapper = _WRAPPERS[name]
        operands, options = parse_options(argv[1:], wrapper.syntax)
        if name == "env" and any(n in ("S", "split-string") for n, _ in options):
            raise UnparsableCommand("env -S splits a string into a command")
        moved = moved or any(n in wrapper.chdir for n, _ in options)
        if name == "env":
            while operands and operands[0] is not None and "=" in operands[0]:
                operands.pop(0)
        if name == "xargs" and operands:
            operands = _xargs_operands(operands, options)
        argv = operands[wrapper.operands :]
    return Command(argv, moved)


def _xargs_operands(operands: list[str | None], options: Options) -> list[str | None]:
    """xargs adds the words it reads to its command's, or puts them in place of ``-I``'s
    replace string: unknown words either way."""
    replace = next((v or "{}" for n, v in options if n in ("I", "i", "replace")), None)
    if replace is None:
        return [*operands, None]
    return [None if w is not None and replace in w else w for w in operands]


def parse_options(words: list[str | None], syntax: Syntax) -> tuple[list[str | None], Options]:
    """Operands and options, as GNU getopt reads them. An unknown word (None) is taken
    as an operand, so a path it might be is never lost."""
    operands: list[str | None] = []
    options: Options = []
    queue = list(words)

    def value() -> str | None:  # the next word, as an option's value
        return queue.pop(0) if queue else None

    while queue:
        word = queue.pop(0)
        if word is None or word == "-" or not word.startswith("-"):
            operands.append(word)
            if not syntax.permute:
                return operands + queue, options
        elif word == "--":
            return operands + queue, options
        elif word.startswith("--"):
            name, equals, given = word[2:].partition("=")
            if equals:
                options.append((name, given))
            else:
                options.append((name, value() if name in syntax.long_values else ""))
        else:
            for k, char in enumerate(word[1:], start=2):
                if char in syntax.attached or char in syntax.values:
                    rest = word[k:]
                    options.append((char, rest or value() if char in syntax.values else rest))
                    break
                options.append((char, ""))
    return operands, options


def inner_commands(
    parts: list[SimpleCommand], home: str | None, env: Mapping[str, str] | None = None
) -> list[SimpleCommand]:
    """``parts`` and, after them, the commands run by those among them (recursively):
    the string of ``bash -c``, ``sh -c`` and ``eval``, ``find -exec``'s command, an
    ``alias``'s value, and the body of a function exported in ``env`` (the shell's
    environment) when a part calls it. Raises ``UnparsableCommand`` when such a string is
    only known at run time, or when ``env`` makes bash run a file first (``BASH_ENV``)."""
    env = env or {}
    for variable in ("BASH_ENV", "ENV"):
        if env.get(variable):
            raise UnparsableCommand(
                f"the shell runs ${variable} ({env[variable]}) before each command"
            )
    functions = {
        key[len("BASH_FUNC_") : -2]: value
        for key, value in env.items()
        if key.startswith("BASH_FUNC_") and key.endswith("%%")
    }
    found = list(parts)
    queue = [(part, 0) for part in parts]
    while queue:
        part, depth = queue.pop(0)
        command = command_of(part, home)
        inner = _find_commands(command)
        for script in _scripts_of(command):
            inner += split_command(script)
        if command.name in functions:  # "() { body }": each function is followed once
            inner += split_command(functions.pop(command.name).removeprefix("()"))
        if not inner:
            continue
        if depth >= _MAX_DEPTH:
            raise UnparsableCommand("shells nested too deep")
        found += inner
        queue += [(p, depth + 1) for p in inner]
    return found


def _find_commands(command: Command) -> list[SimpleCommand]:
    """The commands of ``find -exec``/``-execdir``/``-ok``/``-okdir``, with ``{}`` (the
    files found) an unknown word."""
    if command.name != "find":
        return []
    found = []
    argv = command.argv
    for i, word in enumerate(argv):
        if word not in ("-exec", "-execdir", "-ok", "-okdir"):
            continue
        end = next((j for j in range(i + 1, len(argv)) if argv[j] in (";", "+")), len(argv))
        words = argv[i + 1 : end]
        raw = [_UNKNOWN_WORD if w is None or "{}" in w else shlex.quote(w) for w in words]
        text = " ".join(w if w is not None else _UNKNOWN_WORD for w in words)
        if words:
            found.append(SimpleCommand(text, [], raw))
    return found


def _scripts_of(command: Command) -> list[str]:
    """The command strings ``eval``, ``bash -c`` and ``alias`` hold."""
    argv, name = command.argv, command.name
    if name == "eval":
        if any(word is None for word in argv[1:]):
            raise UnparsableCommand("eval of a string only known when it runs")
        return [" ".join(word for word in argv[1:] if word is not None)]
    if name == "alias":
        if any(word is None for word in argv[1:]):
            raise UnparsableCommand("an alias only known when it runs")
        return [word.partition("=")[2] for word in argv[1:] if word and "=" in word]
    if name not in _SHELLS:
        return []
    operands, options = parse_options(argv[1:], syntax("oO", "rcfile init-file"))
    if not any(n == "c" for n, _ in options):
        return []
    if not operands or operands[0] is None:
        raise UnparsableCommand(f"{name} -c with a command only known when it runs")
    return [operands[0]]


def command_texts(part: SimpleCommand, home: str | None) -> list[str]:
    """The texts deny and ask rules are matched against: as written, with its words
    decoded, and from the command name on (assignments and wrappers dropped)."""
    texts = [part.text]
    decoded = [decode_word(word, home) for word in part.words]
    texts.append(
        " ".join(d if d is not None else w for d, w in zip(decoded, part.words, strict=True))
    )
    try:
        argv = command_of(part, home).argv
    except UnparsableCommand:
        return texts
    if argv and argv[0] is not None:
        name = os.path.basename(argv[0])
        texts.append(" ".join([name, *(w if w is not None else "$?" for w in argv[1:])]))
    return list(dict.fromkeys(texts))
