"""Shell words as bash reads them: the literal text of a word, or "unknown".

The permission engine takes paths (redirection targets, ``cp``'s destination) and
command names from the words of a command line. It must read them as bash does, or
``ls > '/tmp/'x`` is judged as a file named ``'/tmp/'x`` in the workspace. So:

- quotes and escapes are removed as bash removes them: ``'...'``, ``"..."`` (where a
  backslash escapes only ``$ ` " \\`` and a newline), backslashes, ANSI-C ``$'...'``
  (with its escapes) and ``$"..."`` (read as ``"..."``; bash would translate it only
  through a message catalogue);
- a leading unquoted ``~``, ``~/...`` or ``~user`` becomes that home folder, also after
  the ``=`` of an assignment-like word (``of=~/x``) and its ``:`` separators, as bash
  does for arguments;
- a word in which bash would expand anything has no known text (None): parameters,
  ``$(...)``, backticks, arithmetic, unquoted globs ``* ? [``, brace expansion
  ``{a,b}``/``{1..3}``, extglob patterns, ``~+``/``~-``, a ``$'...'`` that yields a NUL
  or a non-ASCII character (its bytes depend on the locale).
"""

from __future__ import annotations

import pwd
import re

#: Characters a backslash escapes inside double quotes.
_DQ_ESCAPES = frozenset('$`"\\\n')
_NAME_START = re.compile(r"[A-Za-z_]")
_SPECIAL_PARAMETERS = frozenset("@*#?-$!0123456789")
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\[[^\]]*\])?\+?=")
_ANSI_SIMPLE = {
    "a": "\a",
    "b": "\b",
    "e": "\x1b",
    "E": "\x1b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "\\": "\\",
    "'": "'",
    '"': '"',
    "?": "?",
}
_HEX = "0123456789abcdefABCDEF"

#: One decoded character and whether it was quoted (quoted ones are never special).
_Chars = list[tuple[str, bool]]


class _Unknown(Exception):
    """The word holds an expansion: its text is only known when it runs."""


def is_assignment(word: str) -> bool:
    """``NAME=value`` as written (a quoted name makes it a command word instead)."""
    return _ASSIGNMENT.match(word) is not None


def decode_word(word: str, home: str | None) -> str | None:
    """The text bash makes of ``word``, or None when bash would expand something in it.
    ``home`` is ``$HOME`` for ``~`` (None: unknown, so a word that needs it is too)."""
    try:
        chars = _unquote(word)
        _refuse_patterns(chars)
        text = _tilde(chars, home, 0)
        if is_assignment(word):
            text = _assignment_tildes(chars, text, home)
    except _Unknown:
        return None
    return text


def _unquote(word: str) -> _Chars:
    out: _Chars = []
    i, n = 0, len(word)
    while i < n:
        c = word[i]
        if c == "\\":
            if word.startswith("\\\n", i):
                i += 2
                continue
            out.append((word[i + 1] if i + 1 < n else "\\", True))
            i += 2
        elif c == "'":
            end = word.find("'", i + 1)
            if end == -1:
                raise _Unknown
            out += [(ch, True) for ch in word[i + 1 : end]]
            i = end + 1
        elif word.startswith("$'", i):
            text, i = _ansi_c(word, i + 2)
            out += [(ch, True) for ch in text]
        elif c == '"' or word.startswith('$"', i):
            i = _double_quoted(word, i + (2 if c == "$" else 1), out)
        elif c == "$":
            _dollar(word, i)
            out.append(("$", False))
            i += 1
        elif c == "`" or word.startswith(("<(", ">("), i):
            raise _Unknown
        else:
            out.append((c, False))
            i += 1
    return out


def _dollar(word: str, i: int) -> None:
    """Raise when the ``$`` at ``i`` starts an expansion (else it is a plain ``$``)."""
    following = word[i + 1 : i + 2]
    if following and (
        _NAME_START.match(following) or following in _SPECIAL_PARAMETERS or following in "{(["
    ):
        raise _Unknown


def _double_quoted(word: str, i: int, out: _Chars) -> int:
    n = len(word)
    while i < n:
        c = word[i]
        if c == '"':
            return i + 1
        if c == "\\" and i + 1 < n and word[i + 1] in _DQ_ESCAPES:
            if word[i + 1] != "\n":
                out.append((word[i + 1], True))
            i += 2
            continue
        if c == "`":
            raise _Unknown
        if c == "$":
            _dollar(word, i)
        out.append((c, True))
        i += 1
    raise _Unknown  # an unclosed quote: not a word bash would run


def _ansi_c(word: str, i: int) -> tuple[str, int]:
    """The text of ``$'...'`` starting after its opening quote, and the index after it."""
    out: list[str] = []
    n = len(word)
    while i < n:
        c = word[i]
        if c == "'":
            return "".join(out), i + 1
        if c != "\\" or i + 1 >= n:
            out.append(c)
            i += 1
            continue
        e = word[i + 1]
        i += 2
        if e in _ANSI_SIMPLE:
            out.append(_ANSI_SIMPLE[e])
        elif e in "01234567":
            digits = e + "".join(_take(word, i, "01234567", 2))
            i += len(digits) - 1
            out.append(_code(int(digits, 8) & 0xFF))
        elif e in "xuU":
            digits = "".join(_take(word, i, _HEX, {"x": 2, "u": 4, "U": 8}[e]))
            i += len(digits)
            out.append(_code(int(digits, 16)) if digits else "\\" + e)
        elif e == "c" and i < n:
            out.append(_code(ord(word[i]) & 0x1F))
            i += 1
        else:
            out.append("\\" + e)
    raise _Unknown


def _take(word: str, i: int, allowed: str, most: int) -> list[str]:
    taken: list[str] = []
    while i < len(word) and word[i] in allowed and len(taken) < most:
        taken.append(word[i])
        i += 1
    return taken


def _code(value: int) -> str:
    # NUL ends a C string, and bytes above ASCII depend on the locale: unknown either way.
    if value == 0 or value > 0x7F:
        raise _Unknown
    return chr(value)


def _refuse_patterns(chars: _Chars) -> None:
    """Raise for unquoted glob, extglob and brace-expansion characters."""
    plain = "".join(c if not quoted else "\0" for c, quoted in chars)
    if any(c in plain for c in "*?[()"):
        raise _Unknown
    # Brace expansion: a {...} holding a comma or "..", matched in one pass.
    open_braces: list[bool] = []
    for i, c in enumerate(plain):
        if c == "{":
            open_braces.append(False)
        elif c == "}" and open_braces:
            if open_braces.pop():
                raise _Unknown
        elif open_braces and (c == "," or plain.startswith("..", i)):
            open_braces[-1] = True


def _tilde(chars: _Chars, home: str | None, start: int) -> str:
    """The text with a tilde prefix at ``start`` expanded (when it is one)."""
    text = "".join(c for c, _ in chars)
    if start >= len(chars) or chars[start] != ("~", False):
        return text
    end = start + 1
    while end < len(chars) and chars[end][0] not in "/:":
        end += 1
    prefix = chars[start + 1 : end]
    if any(quoted for _, quoted in prefix):
        return text  # ~"user": no expansion
    name = "".join(c for c, _ in prefix)
    if name == "":
        if home is None:
            raise _Unknown
        folder = home
    elif name[0] in "+-" or name.isdigit():
        raise _Unknown  # $PWD, $OLDPWD or the folder stack
    else:
        try:
            folder = pwd.getpwnam(name).pw_dir
        except KeyError:
            return text  # no such user: bash leaves it as written
    return text[:start] + folder + text[end:]


def _assignment_tildes(chars: _Chars, text: str, home: str | None) -> str:
    """``name=~/x:~/y``: bash expands a tilde after the ``=`` and after each ``:``."""
    equals = next(i for i, (c, quoted) in enumerate(chars) if c == "=" and not quoted)
    segments: list[str] = []
    segment: _Chars = []
    for char in [*chars[equals + 1 :], (":", False)]:
        if char == (":", False):
            segments.append(_tilde(segment, home, 0))
            segment = []
        else:
            segment.append(char)
    return text[: equals + 1] + ":".join(segments)
