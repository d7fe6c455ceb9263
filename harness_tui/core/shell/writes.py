"""What a command line writes, read from its words: redirection targets and the file
arguments of commands that write them (``cp``, ``rm``, ``tee``, ``sed -i``...; downloads
and archives in ``shell_downloads``).

The permission engine checks each of these paths as it checks an edit (protected files,
the workspace boundary, ``Edit`` rules). A path bash would only compute when the
command runs (``> $f``, ``rm *.tmp``, a relative path after a ``cd``, a path through a
link the same line makes) is unknown (``ShellWrite.path`` None): the engine then asks.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from harness_tui.core.shell.commands import (
    Command,
    Options,
    Syntax,
    command_of,
    parse_options,
    syntax,
)
from harness_tui.core.shell.downloads import DOWNLOADERS, fetched_files
from harness_tui.core.shell.split import SimpleCommand
from harness_tui.core.shell.words import decode_word

#: Writing these reaches only the command's own output or nothing; checked after
#: ``normpath``, so ``/dev/../x``, ``/dev/shm/x`` or ``/dev/fd/3`` are ordinary paths.
DEVICES = frozenset(
    {"/dev/null", "/dev/stdout", "/dev/stderr", "/dev/tty", "/dev/fd/1", "/dev/fd/2"}
)
#: Commands whose effects on the folder (or anything) cannot be followed.
_FOLDER_CHANGERS = frozenset({"cd", "pushd", "popd", "source", "."})
#: Paths that mean something else in each process.
_PER_PROCESS = ("/proc/", "/dev/fd/", "/dev/std")


@dataclass(frozen=True, slots=True)
class _Writer:
    syntax: Syntax = field(default_factory=Syntax)
    #: Which arguments it writes: "all" operands, "dest" (cp-like), "dd" (of=),
    #: "sed" (with -i), "option" (only the values of ``options``).
    writes: Literal["all", "dest", "dd", "sed", "option", "find"] = "all"
    options: frozenset[str] = frozenset()
    #: It acts on whole folders: what a folder holds counts.
    tree: bool = False
    #: Its sources are written too (mv) or can become a way to write (ln, cp -l).
    sources: Literal["", "written", "protected"] = ""
    devices: bool = False


_RSYNC_VALUES = (
    "rsh rsync-path filter exclude include exclude-from include-from files-from temp-dir "
    "partial-dir backup-dir compare-dest copy-dest link-dest log-file chmod chown suffix"
)
_CP = syntax("St", "target-directory suffix sparse no-preserve")
_WRITERS = {
    "cp": _Writer(_CP, "dest", sources="protected", devices=True),
    "mv": _Writer(_CP, "dest", tree=True, sources="written"),
    "ln": _Writer(_CP, "dest", sources="protected"),
    "rsync": _Writer(syntax("eBfTM", _RSYNC_VALUES), "dest", devices=True),
    "scp": _Writer(syntax("cFiJloPS"), "dest"),
    "install": _Writer(syntax("gmoSt", "group mode owner suffix target-directory"), "dest"),
    "tee": _Writer(devices=True),
    "touch": _Writer(syntax("rdt", "reference date time")),
    "mkdir": _Writer(syntax("m", "mode")),
    "rm": _Writer(tree=True),
    "rmdir": _Writer(tree=True),
    "unlink": _Writer(),
    "shred": _Writer(syntax("ns", "iterations size random-source")),
    "truncate": _Writer(syntax("sr", "size reference"), devices=True),
    "chmod": _Writer(syntax("", "reference"), tree=True),
    "chown": _Writer(syntax("", "reference from"), tree=True),
    "chgrp": _Writer(syntax("", "reference"), tree=True),
    "dd": _Writer(writes="dd", devices=True),
    "find": _Writer(writes="find", tree=True, devices=True),
    "sed": _Writer(syntax("efl", "expression file line-length", attached="i"), "sed"),
    "sort": _Writer(
        syntax("okStT", "output key buffer-size field-separator temporary-directory"),
        "option",
        frozenset({"o", "output"}),
        devices=True,
    ),
}


_ANY_COMMAND = _Writer(devices=True)


@dataclass(frozen=True, slots=True)
class ShellWrite:
    """A file a command line writes: the word it came from and its path (absolute,
    ``..`` folded, symlinks left alone), or None when only known at run time."""

    word: str
    path: Path | None
    #: A command on whole folders (rm, mv, chmod): what the folder holds counts.
    tree: bool = False
    #: False for a file that is not written but could become a way to write (a hard
    #: link's source): only its protection counts, not the workspace boundary.
    boundary: bool = True
    #: It may become a symlink or a moved folder, which later paths can go through.
    links: bool = False


def shell_writes(parts: list[SimpleCommand], folder: Path, home: str | None) -> list[ShellWrite]:
    """Every file the command line writes, as bash would name it when run in ``folder``
    with ``$HOME`` = ``home``."""
    commands = [command_of(part, home) for part in parts]
    # A command only known at run time may be a cd, or may set HOME.
    unknown = any(c.argv and (c.name is None or c.name in _FOLDER_CHANGERS) for c in commands)
    if unknown or _mentions_home(parts, home):
        home = None
    found: list[ShellWrite] = []
    for part, command in zip(parts, commands, strict=True):
        resolver = _Resolver(folder, home, unknown or command.moved)
        for index, word in enumerate(part.writes):
            if word.startswith((">(", "<(")) and word.endswith(")"):
                continue  # a pipe to a command, checked on its own
            text = decode_word(word, home)
            if index in part.expanded_twice and text is not None:
                text = decode_word(text, home)
            found += resolver.writes([text], devices=True, label=word)
        writer = _WRITERS.get(command.name or "")
        if command.argv and command.name is None:
            writer = _ANY_COMMAND  # only known when it runs: it may write any argument
        if writer is not None:
            found += _arguments(command, writer, resolver)
        if command.name in DOWNLOADERS:
            named = replace(resolver, unknown=f"names {command.name} takes from what it reads")
            found += named.writes(fetched_files(command.name, command.argv), devices=True)
    return _through_new_links(found)


def _through_new_links(found: list[ShellWrite]) -> list[ShellWrite]:
    """A path that goes through something the same line links or moves into place
    (``ln -s /etc l && ls > l/x``) is only known when it runs."""
    links = [w.path for w in found if w.links and w.path is not None]
    return [
        replace(w, path=None)
        if w.path is not None and any(w.path != p and w.path.is_relative_to(p) for p in links)
        else w
        for w in found
    ]


def _mentions_home(parts: list[SimpleCommand], home: str | None) -> bool:
    """Might the line change ``$HOME`` before a ``~`` is expanded?"""
    for part in parts:
        for word in [*part.words, *part.writes]:
            decoded = decode_word(word, home)
            if "HOME" in word or decoded is None or "HOME" in decoded:
                return True
    return False


@dataclass(frozen=True, slots=True)
class _Resolver:
    """Decoded words to paths, relative ones from ``folder`` (unknown after a ``cd``)."""

    folder: Path
    home: str | None
    relative_unknown: bool
    #: What an unknown path is called in the question.
    unknown: str = "?"

    def path(self, text: str | None) -> Path | None:
        if text is None:
            return None
        if not text.startswith("/"):
            if self.relative_unknown:
                return None
            text = os.path.join(self.folder, text)
        path = os.path.normpath(text)
        if path.startswith(_PER_PROCESS) and path not in DEVICES:
            return None  # /proc/self/cwd is the shell's, not ours: not resolvable here
        return Path(path)

    def writes(
        self,
        texts: list[str | None],
        *,
        devices: bool = False,
        tree: bool = False,
        boundary: bool = True,
        links: bool = False,
        label: str = "",
    ) -> list[ShellWrite]:
        found = []
        for text in texts:
            path = self.path(text)
            if path is None and not boundary:
                continue  # an unknown source is read, not written
            if devices and path is not None and str(path) in DEVICES:
                continue
            found.append(ShellWrite(label or text or self.unknown, path, tree, boundary, links))
        return found


def _arguments(command: Command, writer: _Writer, resolver: _Resolver) -> list[ShellWrite]:
    """The files a writing command's arguments name."""
    resolver = replace(resolver, unknown=f"an argument of {command.name}")
    operands, options = parse_options(command.argv[1:], writer.syntax)
    names = {name for name, _ in options}
    kind = writer.writes
    if kind == "dd":
        targets = [
            w if w is None else w[3:] for w in command.argv[1:] if w is None or w[:3] == "of="
        ]
    elif kind == "option":
        targets = [value for name, value in options if name in writer.options]
    elif kind == "sed":
        return _sed_writes(operands, options, resolver)
    elif kind == "find":
        return _find_writes(command.argv, resolver)
    elif kind == "dest" and not names & {"d", "directory"}:
        return _dest_writes(command, writer, operands, options, resolver)
    else:
        targets = operands
    return resolver.writes(targets, devices=writer.devices, tree=writer.tree)


def _dest_writes(
    command: Command,
    writer: _Writer,
    operands: list[str | None],
    options: Options,
    resolver: _Resolver,
) -> list[ShellWrite]:
    """cp, mv, ln, install: the destination, or each source's name in a destination
    folder; mv's sources too; ln's (and cp -l/-r's) sources for their protection."""
    names = {name for name, _ in options}
    folders = [value for name, value in options if name in ("t", "target-directory")]
    if folders:
        sources, folder = operands, folders[-1]
    elif len(operands) == 1 and command.name == "ln":
        sources, folder = operands, "."
    elif len(operands) >= 2:
        sources, destination = operands[:-1], operands[-1]
        as_folder = not names & {"T", "no-target-directory"} and _is_folder(destination, resolver)
        folder = destination if as_folder else None
        if not as_folder:
            found = resolver.writes(
                [destination], devices=writer.devices, tree=writer.tree, links=True
            )
            return found + _source_writes(command, writer, sources, names, resolver)
    else:
        return []
    targets = [
        None if folder is None or s is None else os.path.join(folder, _basename(s)) for s in sources
    ]
    found = resolver.writes(targets, devices=writer.devices, tree=writer.tree, links=True)
    return found + _source_writes(command, writer, sources, names, resolver)


def _source_writes(
    command: Command,
    writer: _Writer,
    sources: list[str | None],
    names: set[str],
    resolver: _Resolver,
) -> list[ShellWrite]:
    if writer.sources == "written":
        return resolver.writes(sources, tree=True)
    linking = {"l", "link", "s", "symbolic-link", "r", "R", "a", "recursive", "archive"}
    if writer.sources == "protected" and (command.name == "ln" or names & linking):
        return resolver.writes(sources, tree=True, boundary=False)
    return []


def _is_folder(text: str | None, resolver: _Resolver) -> bool:
    path = resolver.path(text)
    return text is not None and (text.endswith("/") or (path is not None and path.is_dir()))


def _basename(text: str) -> str:
    return os.path.basename(os.path.normpath(text))


def _sed_writes(
    operands: list[str | None], options: Options, resolver: _Resolver
) -> list[ShellWrite]:
    """``sed -i``: the files (after the script, unless given by -e/-f) and backups."""
    suffixes = [value for name, value in options if name in ("i", "in-place")]
    if not suffixes:
        return []
    scripted = any(name in ("e", "f", "expression", "file") for name, _ in options)
    files = operands if scripted else operands[1:]
    suffix = suffixes[-1]
    backups: list[str | None] = []
    for file in files if suffix != "" else []:
        if suffix is None or file is None:
            backups.append(None)
            continue
        name = suffix.replace("*", _basename(file)) if "*" in suffix else _basename(file) + suffix
        # A backup name with a slash is a path of its own (GNU sed).
        backups.append(name if "/" in name else os.path.join(os.path.dirname(file), name))
    return resolver.writes([*files, *backups])


def _find_writes(argv: list[str | None], resolver: _Resolver) -> list[ShellWrite]:
    """find: its starting points with ``-delete`` (whole folders), and the files of
    ``-fprint``, ``-fprint0``, ``-fprintf`` and ``-fls``."""
    words = argv[1:]
    while words and (words[0] in ("-H", "-L", "-P") or (words[0] or "").startswith("-O")):
        words = words[1:]
    if words[:1] == ["-D"]:
        words = words[2:]
    starts: list[str | None] = []
    for word in words:
        if word is not None and word.startswith(("-", "(", "!")):
            break
        starts.append(word)
    found = []
    if "-delete" in words:
        found += resolver.writes(starts or ["."], tree=True)
    outputs = [
        words[i + 1] if i + 1 < len(words) else None
        for i, word in enumerate(words)
        if word in ("-fprint", "-fprint0", "-fprintf", "-fls")
    ]
    return found + resolver.writes(outputs, devices=True)
