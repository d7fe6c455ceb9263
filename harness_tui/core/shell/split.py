"""Split a shell command line into the simple commands it would run.

The permission engine checks each simple command of ``git status && rm -rf x`` on its
own, so an allow rule for ``git status`` cannot smuggle ``rm`` through. Found:
commands joined by ``&&``, ``||``, ``;``, ``|``, ``|&``, ``&`` and newlines; commands
inside ``$(...)``, backticks, ``<(...)``/``>(...)`` and ``( ... )`` subshells; output
redirections (``> file``), which are writes the engine checks as such. Quoting is
followed as bash follows it, ``$'...'`` (where ``\'`` does not end the quote) included.

Here-documents are followed: their bodies are skipped (their command substitutions,
when the delimiter is not quoted, are split like the rest).

What this cannot follow with certainty raises ``UnparsableCommand`` (the engine then
asks): unbalanced quotes or brackets, a here-document without its delimiter line,
``${...}`` or ``$((...))`` containing a command substitution.
"""

from __future__ import annotations

from dataclasses import dataclass, field

_CONTROL = ("&&", "||", ";;", "|&", ";", "|", "&")
_REDIRECT = (">>", ">|", ">&", "<<<", "<&", "<>", ">", "<")
_FILE_WRITES = frozenset({">", ">>", ">|", "&>", "&>>", "<>"})
_WORD_END = set(" \t\n;&|<>()")
_MAX_NESTING = 64
#: A word ending in one of these and followed by "(" is an extglob pattern.
_EXTGLOB = frozenset("@!+*?")
#: Words that start a part without being the command (``if x; then y; fi``).
_KEYWORDS = frozenset(
    {"if", "then", "else", "elif", "fi", "do", "done", "while", "until", "{", "}", "!"}
)


class UnparsableCommand(ValueError):
    """The command line cannot be split with certainty."""


@dataclass
class SimpleCommand:
    """One command of a command line: its words (as written, quotes included, joined by
    single spaces, redirections left out) and the files its output is redirected to
    (as written: ``shell_words`` decodes them)."""

    text: str
    writes: list[str] = field(default_factory=list)
    words: list[str] = field(default_factory=list)
    #: Indexes in ``writes`` of ``>&file`` targets: bash expands those words twice
    #: (``>& '~/x'`` writes to the home folder).
    expanded_twice: list[int] = field(default_factory=list)


def split_command(command: str, depth: int = 0) -> list[SimpleCommand]:
    """The simple commands of ``command``, outer ones first, then those nested in
    substitutions (``depth`` levels down already). Raises ``UnparsableCommand``."""
    if depth > _MAX_NESTING:
        raise UnparsableCommand(f"substitutions nested more than {_MAX_NESTING} deep")
    parts: list[SimpleCommand] = []
    nested: list[SimpleCommand] = []
    _Scanner(command, parts, nested, depth).run()
    return [p for p in parts if p.text] + nested


class _Scanner:
    def __init__(
        self, text: str, parts: list[SimpleCommand], nested: list[SimpleCommand], depth: int
    ):
        self.depth = depth
        self.s = text
        self.i = 0
        self.parts = parts
        self.nested = nested
        self.words: list[str] = []
        self.writes: list[str] = []
        self.twice: list[int] = []
        #: Here-documents whose bodies start after the next newline: (delimiter, strip
        #: leading tabs, expanded).
        self.heredocs: list[tuple[str, bool, bool]] = []

    def run(self) -> None:
        s = self.s
        while True:
            self._skip_blanks()
            if self.i >= len(s):
                break
            c = s[self.i]
            if c == "\n":
                self._end_part()
                self.i += 1
                self._heredoc_bodies()
            elif c == "#" and self._at_word_start():
                end = s.find("\n", self.i)
                self.i = len(s) if end == -1 else end
            elif s.startswith(("<(", ">("), self.i):
                self.words.append(self._word())
            elif c == "(":
                inner, self.i = _balanced(s, self.i + 1, "(", ")")
                self._end_part()
                self.nested.extend(self._split(inner))
            elif c == ")":
                raise UnparsableCommand("a ')' without its '('")
            elif (op := self._operator(_CONTROL)) is not None:
                self.i += len(op)
                self._end_part()
            elif (op := self._redirect()) is not None:
                self._skip_blanks()
                at_pipe = s.startswith(("<(", ">("), self.i)  # > >(tee log)
                if self.i >= len(s) or (s[self.i] in "\n;&|<>()" and not at_pipe):
                    raise UnparsableCommand(f"{op} without a target")
                target = self._word()
                if op in ("<<", "<<-"):
                    expanded = not any(q in target for q in "'\"\\")
                    self.heredocs.append((_unquoted(target), op == "<<-", expanded))
                elif op == ">&" and not _is_fd(target):
                    self.twice.append(len(self.writes))
                    self.writes.append(target)
                elif op in _FILE_WRITES:
                    self.writes.append(target)
            else:
                self.words.append(self._word())
        if self.heredocs:
            raise UnparsableCommand("a here-document without its body")
        self._end_part()

    def _heredoc_bodies(self) -> None:
        """Skip the bodies of the here-documents of the line that just ended; split the
        command substitutions of those whose delimiter was not quoted."""
        s = self.s
        for delimiter, strip_tabs, expanded in self.heredocs:
            start = self.i
            while True:
                if self.i >= len(s):
                    raise UnparsableCommand(f"a here-document without its {delimiter!r} line")
                end = s.find("\n", self.i)
                end = len(s) if end == -1 else end
                line = s[self.i : end]
                self.i = min(end + 1, len(s))
                if (line.lstrip("\t") if strip_tabs else line) == delimiter:
                    break
            if expanded:
                _Scanner(s[start : self.i], [], self.nested, self.depth).expansions()
        self.heredocs = []

    def expansions(self, end: str = "") -> bool:
        """Split the command substitutions of text that is expanded but not run (a
        here-document's body, a double-quoted string up to ``end``); True when it
        stopped at ``end``."""
        while self.i < len(self.s):
            c = self.s[self.i]
            if c == "\\":
                self.i += 2
            elif c == end:
                self.i += 1
                return True
            elif c == "`":
                self._backticks()
            elif c == "$":
                self._dollar()
            else:
                self.i += 1
        return False

    def _split(self, inner: str) -> list[SimpleCommand]:
        return split_command(inner, self.depth + 1)

    def _at_word_start(self) -> bool:
        return self.i == 0 or self.s[self.i - 1] in " \t\n;&|()"

    def _skip_blanks(self) -> None:
        while self.i < len(self.s) and self.s[self.i] in " \t":
            self.i += 1
        if self.s.startswith("\\\n", self.i):  # a line continuation
            self.i += 2
            self._skip_blanks()

    def _operator(self, ops: tuple[str, ...]) -> str | None:
        for op in ops:
            if self.s.startswith(op, self.i):
                if op == "&" and self.s.startswith("&>", self.i):
                    return None  # &> is a redirection
                return op
        return None

    def _redirect(self) -> str | None:
        s, i = self.s, self.i
        if s.startswith("&>>", i):
            self.i += 3
            return "&>>"
        if s.startswith("&>", i):
            self.i += 2
            return "&>"
        j = i
        while j < len(s) and s[j].isdigit():
            j += 1
        if s.startswith("<<-", j):
            self.i = j + 3
            return "<<-"
        if s.startswith("<<", j) and not s.startswith("<<<", j):
            self.i = j + 2
            return "<<"
        for op in _REDIRECT:
            if s.startswith(op, j):
                self.i = j + len(op)
                return op
        return None

    def _end_part(self) -> None:
        words = self.words
        while words and words[0] in _KEYWORDS:
            words = words[1:]
        if words or self.writes:
            self.parts.append(SimpleCommand(" ".join(words), self.writes, words, self.twice))
        self.words, self.writes, self.twice = [], [], []

    def _word(self) -> str:
        """One word as written; its command substitutions are split into ``nested``."""
        s = self.s
        start = self.i
        if s.startswith(("<(", ">("), self.i):
            inner, self.i = _balanced(s, self.i + 2, "(", ")")
            self.nested.extend(self._split(inner))
            return s[start : self.i]
        while self.i < len(s) and s[self.i] not in _WORD_END:
            c = s[self.i]
            if c == "\\":
                self.i += 2
            elif c == "'":
                end = s.find("'", self.i + 1)
                if end == -1:
                    raise UnparsableCommand("an unclosed ' quote")
                self.i = end + 1
            elif c == '"':
                self._double_quoted()
            elif c == "`":
                self._backticks()
            elif s.startswith("$'", self.i):
                self.i = _end_of_ansi_c(s, self.i + 2)
            elif c == "$":
                self._dollar()
            else:
                self.i += 1
            if s.startswith("(", self.i) and s[self.i - 1] in _EXTGLOB and self.i > start:
                # An extglob pattern, @(a|b): part of the word (split too, to be safe).
                inner, self.i = _balanced(s, self.i + 1, "(", ")")
                self.nested.extend(self._split(inner))
        if self.i > len(s):
            raise UnparsableCommand("a trailing backslash")
        return s[start : self.i]

    def _double_quoted(self) -> None:
        self.i += 1
        if not self.expansions('"'):
            raise UnparsableCommand('an unclosed " quote')

    def _backticks(self) -> None:
        s = self.s
        j = self.i + 1
        while j < len(s) and s[j] != "`":
            j += 2 if s[j] == "\\" else 1
        if j >= len(s):
            raise UnparsableCommand("an unclosed ` substitution")
        self.nested.extend(self._split(s[self.i + 1 : j].replace("\\`", "`")))
        self.i = j + 1

    def _dollar(self) -> None:
        s = self.s
        if s.startswith("$((", self.i):
            inner, self.i = _balanced(s, self.i + 3, "(", ")", depth=2)
            if "$(" in inner or "`" in inner:
                raise UnparsableCommand("a command substitution inside $((...))")
        elif s.startswith("$(", self.i):
            inner, self.i = _balanced(s, self.i + 2, "(", ")")
            self.nested.extend(self._split(inner))
        elif s.startswith("${", self.i):
            inner, self.i = _balanced(s, self.i + 2, "{", "}")
            if "$(" in inner or "`" in inner:
                raise UnparsableCommand("a command substitution inside ${...}")
        else:
            self.i += 1


def _balanced(s: str, i: int, open_: str, close: str, depth: int = 1) -> tuple[str, int]:
    """The text from ``i`` up to the bracket that closes ``depth`` open ones (quotes
    respected), and the index after it."""
    start = i
    while i < len(s):
        c = s[i]
        if c == "\\":
            i += 2
            continue
        if s.startswith("$'", i):
            i = _end_of_ansi_c(s, i + 2)
            continue
        if c == "'":
            end = s.find("'", i + 1)
            if end == -1:
                raise UnparsableCommand("an unclosed ' quote")
            i = end + 1
            continue
        if c == '"':
            i = _end_of_double(s, i)
            continue
        if c == open_:
            depth += 1
        elif c == close:
            depth -= 1
            if depth == 0:
                return s[start:i], i + 1
        i += 1
    raise UnparsableCommand(f"an unclosed {open_!r}")


def _end_of_double(s: str, i: int) -> int:
    i += 1
    while i < len(s):
        c = s[i]
        if c == "\\":
            i += 2
        elif c == '"':
            return i + 1
        elif c == "$" and s.startswith("$(", i):
            _, i = _balanced(s, i + 2, "(", ")")
        else:
            i += 1
    raise UnparsableCommand('an unclosed " quote')


def _end_of_ansi_c(s: str, i: int) -> int:
    """The index after the quote closing a ``$'...'`` whose text starts at ``i`` (a
    backslash escapes the next character there, a quote included)."""
    while i < len(s):
        if s[i] == "\\":
            i += 2
        elif s[i] == "'":
            return i + 1
        else:
            i += 1
    raise UnparsableCommand("an unclosed $' quote")


def _unquoted(word: str) -> str:
    """A here-document's delimiter: the word with its quotes removed (bash expands
    nothing in it)."""
    out = []
    i = 0
    while i < len(word):
        if word[i] == "\\" and i + 1 < len(word):
            out.append(word[i + 1])
            i += 2
            continue
        if word[i] not in "'\"":
            out.append(word[i])
        i += 1
    return "".join(out)


def _is_fd(target: str) -> bool:
    """``>&2``, ``>&-``, ``>&3-`` (move): a file descriptor, not a file."""
    return target == "-" or target.removesuffix("-").isdigit()
