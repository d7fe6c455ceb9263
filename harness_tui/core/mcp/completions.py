"""What the input box may complete from MCP servers: ``@server:uri`` mentions of
resources and resource templates, and the arguments of prompt commands.

This module only reads what is typed (no SDK, no I/O): it says which resources and
templates fit a word, and which argument of which prompt or template is being filled
(a ``CompletionQuery``). The manager asks the server (``completion/complete``).

Templates are filled in place: ``@notes:notes://{day}/{topic}`` is offered as
``@notes:notes://``; what follows is read as the value of ``day`` until the next
literal (``/``) is typed, then as the value of ``topic``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

#: ``{name}``, ``{+path}``, ``{?q,lang}`` (RFC 6570 operators are read past).
_VARIABLE = re.compile(r"\{([+#./;?&]?)([^}]*)\}")


@dataclass(frozen=True)
class CompletionQuery:
    """One argument being filled: ask ``server`` for values of ``argument`` starting
    with ``value``. A chosen value ``v`` is inserted as ``prefix + v + suffix``."""

    server: str
    kind: Literal["prompt", "template"]
    #: The prompt's name or the template's URI template.
    ref: str
    argument: str
    value: str
    #: Arguments already filled (``completion/complete``'s ``context.arguments``).
    context: tuple[tuple[str, str], ...] = ()
    prefix: str = ""
    suffix: str = ""

    def insertion(self, value: str) -> str:
        return f"{self.prefix}{value}{self.suffix}"


def template_parts(template: str) -> list[str | tuple[str]]:
    """A URI template as literals (``str``) and variables (a 1-tuple with the name)."""
    parts: list[str | tuple[str]] = []
    position = 0
    for match in _VARIABLE.finditer(template):
        parts.append(template[position : match.start()])
        name = match.group(2).split(",")[0].split(":")[0].rstrip("*")
        parts.append((name,))
        position = match.end()
    parts.append(template[position:])
    return parts


def literal_prefix(template: str) -> str:
    """What every URI of the template starts with (up to its first variable)."""
    first = template_parts(template)[0]
    return first if isinstance(first, str) else ""


def template_variables(template: str) -> list[str]:
    return [p[0] for p in template_parts(template) if isinstance(p, tuple)]


@dataclass(frozen=True)
class TemplateFill:
    """How far ``typed`` fills a template: the variables given, the one being typed
    (None when the typing is inside a literal, or all are given), its value so far,
    what precedes it and the literal that follows it."""

    filled: tuple[tuple[str, str], ...]
    current: str | None
    value: str
    before: str
    after: str


def fill_template(template: str, typed: str) -> TemplateFill | None:
    """Read ``typed`` (the start of a URI) against ``template``; None when it cannot
    be a URI of the template."""
    parts = template_parts(template)
    filled: list[tuple[str, str]] = []
    position = 0
    for index, part in enumerate(parts):
        rest = typed[position:]
        if isinstance(part, str):
            if rest.startswith(part):
                position += len(part)
                continue
            if part.startswith(rest):  # typing ends inside this literal
                return TemplateFill(tuple(filled), None, "", typed, "")
            return None
        following = parts[index + 1] if index + 1 < len(parts) else ""
        assert isinstance(following, str)
        end = rest.find(following) if following else -1
        if end < 0:  # the value is still being typed
            return TemplateFill(tuple(filled), part[0], rest, typed[:position], following)
        filled.append((part[0], rest[:end]))
        position += end
    return TemplateFill(tuple(filled), None, "", typed, "")


def mention_options(
    servers: Iterable[tuple[str, Any]], word: str, limit: int
) -> tuple[list[tuple[str, str]], CompletionQuery | None]:
    """For ``word`` (starting with ``@``): the mentions of resources and templates it
    may be the start of, as (text to insert, label), and the template argument being
    filled, if any. ``servers``: (name, listing) of the servers that are up."""
    typed = word[1:]
    server_typed, colon, uri_typed = typed.partition(":")
    options: list[tuple[str, str]] = []
    query: CompletionQuery | None = None
    for name, listing in servers:
        if colon and name != server_typed:
            continue
        if not colon and not name.startswith(server_typed):
            continue
        for resource in listing.resources:
            uri = str(resource.uri)
            if uri.startswith(uri_typed):
                about = resource.description or resource.name or ""
                options.append((f"@{name}:{uri}", f"@{name}:{uri}  {about}".rstrip()))
        for template in listing.templates:
            pattern = str(template.uri_template)
            about = template.description or template.name or ""
            start = literal_prefix(pattern)
            if start.startswith(uri_typed) and (start != uri_typed or not colon):
                label = f"@{name}:{pattern}  {about}".rstrip()
                options.append((f"@{name}:{start}", label))
                continue
            if not colon or query is not None:
                continue
            fill = fill_template(pattern, uri_typed)
            if fill is None or fill.current is None:
                continue
            query = CompletionQuery(
                server=name,
                kind="template",
                ref=pattern,
                argument=fill.current,
                value=fill.value,
                context=fill.filled,
                prefix=f"@{name}:{fill.before}",
                suffix=fill.after,
            )
    return options[:limit], query


def prompt_query(
    line: str, server: str, prompt_name: str, arguments: list[Any]
) -> CompletionQuery | None:
    """The argument being typed in ``line`` (``/mcp__server__prompt a b c``): values
    are separated by spaces, so only single words are completed (the last argument,
    which takes the rest of the line, only while it is one word)."""
    _, _, rest = line.partition(" ")
    words = rest.split(" ")
    index = len(words) - 1
    if index >= len(arguments):
        return None
    context = tuple((arguments[i].name, words[i]) for i in range(index))
    last = index == len(arguments) - 1
    return CompletionQuery(
        server=server,
        kind="prompt",
        ref=prompt_name,
        argument=arguments[index].name,
        value=words[index],
        context=context,
        suffix="" if last else " ",
    )
