"""Errors a user can act on. Each message names the thing that is wrong (file, line,
field, value) and, in ``hint``, what to do about it."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydantic import ValidationError


class HarnessError(Exception):
    """An error with a message fit to show a user as one line."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class ConfigError(HarnessError):
    """A configuration, script or settings file is unreadable or invalid."""


class UnknownModelError(HarnessError):
    """A model name that no provider knows."""


class SessionBusyError(HarnessError):
    """A new run was asked for while one is active; steer or queue a follow-up instead."""


def describe_validation_error(exc: ValidationError, limit: int = 3) -> str:
    """``field.path[0].name: problem; ...`` for the first few problems of a pydantic
    validation error, in the user's field names."""
    parts = []
    for error in exc.errors()[:limit]:
        where = ""
        for item in error["loc"]:
            where += f"[{item}]" if isinstance(item, int) else f".{item}" if where else str(item)
        parts.append(f"{where or 'top level'}: {error['msg']}")
    more = exc.error_count() - limit
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def names_listed(names: list[str], noun: str, shown: int = 5) -> str:
    """``setting 'a'``, ``settings 'a', 'b' and 3 more``: one line for many names."""
    listed = ", ".join(repr(n) for n in names[:shown])
    more = f" and {len(names) - shown:,} more" if len(names) > shown else ""
    return f"{noun}{'s' if len(names) > 1 else ''} {listed}{more}"
