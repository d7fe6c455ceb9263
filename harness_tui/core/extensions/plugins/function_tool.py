"""A plugin's Python function as a tool (a manifest ``skills`` entry).

The input schema comes from the function's type hints (``def f(path: str, limit: int =
20)``), or from the pydantic model it takes as its only parameter. A parameter annotated
``ToolContext`` receives the call's context (working folder, progress reports) and is not
part of the schema. The function may be sync (run in a worker thread) or async. It
returns a string, a ``ToolResult``, ``None``, or anything JSON can show (a pydantic model,
a dict, a list).
"""

from __future__ import annotations

import inspect
import json
import typing
from collections.abc import Callable
from functools import partial
from typing import Any

import anyio
from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from harness_tui.core.errors import describe_validation_error
from harness_tui.core.extensions.plugins.manifest import PluginError
from harness_tui.core.tools.base import Tool, ToolContext, ToolResult

MAX_DESCRIPTION = 2000


class FunctionTool(Tool):
    """A function with a schema; validated by the executor (JSON schema), then by
    pydantic (which also converts: ``Path``, enums, nested models)."""

    def __init__(
        self,
        func: Callable[..., Any],
        *,
        name: str,
        description: str | None,
        read_only: bool,
        plugin: str,
    ) -> None:
        self.func = func
        self.name = name  # type: ignore[misc]
        self.plugin = plugin
        self.read_only = read_only  # type: ignore[misc]
        self.concurrency_safe = read_only  # type: ignore[misc]
        self.access = "read" if read_only else "exec"  # type: ignore[misc]
        self._model, self._model_param, self._context_param = input_model(func, name)
        try:
            self.input_schema = self._model.model_json_schema()  # type: ignore[misc]
        except Exception as exc:  # a type pydantic cannot describe as JSON schema
            raise PluginError(
                f"{name}: its parameters cannot be described as JSON schema "
                f"({type(exc).__name__}: {exc})"
            ) from None
        text = description or inspect.getdoc(func) or f"{name} (from the {plugin} plugin)"
        self.description = text[:MAX_DESCRIPTION]  # type: ignore[misc]

    async def run(self, input: dict[str, Any], ctx: ToolContext) -> ToolResult:
        try:
            parsed = self._model.model_validate(input)
        except ValidationError as exc:
            return ToolResult.error(
                f"Invalid input for {self.name}: {describe_validation_error(exc)}",
                "invalid_input",
            )
        if self._model_param is not None:
            kwargs: dict[str, Any] = {self._model_param: parsed}
        else:
            kwargs = {field: getattr(parsed, field) for field in type(parsed).model_fields}
        if self._context_param is not None:
            kwargs[self._context_param] = ctx
        if inspect.iscoroutinefunction(self.func):
            value = await self.func(**kwargs)
        else:
            value = await anyio.to_thread.run_sync(
                partial(self.func, **kwargs), abandon_on_cancel=True
            )
        return as_result(value)


def input_model(
    func: Callable[..., Any], name: str
) -> tuple[type[BaseModel], str | None, str | None]:
    """The pydantic model of ``func``'s input; the parameter taking a whole model (or
    None); the parameter taking the ``ToolContext`` (or None)."""
    try:
        hints = typing.get_type_hints(func, include_extras=True)
        signature = inspect.signature(func)
    except (NameError, TypeError, ValueError) as exc:
        raise PluginError(f"{name}: its type hints cannot be read ({exc})") from None
    fields: dict[str, Any] = {}
    context_param = None
    for param in signature.parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise PluginError(f"{name}: *{param.name} cannot be a tool input; name each parameter")
        if param.kind is param.POSITIONAL_ONLY:
            raise PluginError(f"{name}: {param.name} is positional-only; tools take keywords")
        hint = hints.get(param.name, inspect.Parameter.empty)
        if hint is ToolContext:
            context_param = param.name
            continue
        if hint is inspect.Parameter.empty:
            raise PluginError(
                f"{name}: the parameter {param.name!r} has no type hint; the tool's input "
                "schema is built from the type hints"
            )
        fields[param.name] = (hint, ... if param.default is param.empty else param.default)
    if len(fields) == 1:
        [(param_name, (hint, _default))] = fields.items()
        if inspect.isclass(hint) and issubclass(hint, BaseModel):
            return hint, param_name, context_param
    try:
        model = create_model(f"{name}_input", __config__=ConfigDict(extra="forbid"), **fields)
    except Exception as exc:
        raise PluginError(f"{name}: its parameters cannot become a schema ({exc})") from None
    return model, None, context_param


def as_result(value: Any) -> ToolResult:
    """What a function returned, as a tool result."""
    if isinstance(value, ToolResult):
        return value
    if value is None:
        return ToolResult(content="(done, no output)")
    if isinstance(value, str):
        return ToolResult(content=value)
    if isinstance(value, BaseModel):
        return ToolResult(content=value.model_dump_json(indent=2))
    return ToolResult(content=json.dumps(value, indent=2, ensure_ascii=False, default=str))
