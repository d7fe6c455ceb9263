"""A form an MCP server asks the user to fill in (elicitation), built from the requested
JSON schema with its defaults filled in; or, in URL mode, a page to visit.

It returns ``(action, content)``: ``accept`` with the typed values, ``decline`` or
``cancel`` (Esc) with None.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from harness_tui.core.events import ElicitationRequested

from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, Checkbox, Input, Label, Select, Static

Answer = tuple[str, dict[str, Any] | None]


def _choices(prop: dict[str, Any]) -> list[tuple[str, Any]] | None:
    """``(label, value)`` pairs of an enumerated field (``enum`` or titled ``oneOf``)."""
    if isinstance(prop.get("enum"), list):
        names = prop.get("enumNames") or prop["enum"]
        return [(str(n), v) for n, v in zip(names, prop["enum"], strict=False)]
    options = prop.get("oneOf") or prop.get("anyOf")
    if isinstance(options, list) and all(isinstance(o, dict) and "const" in o for o in options):
        return [(str(o.get("title", o["const"])), o["const"]) for o in options]
    return None


class ElicitationDialog(ModalScreen[Answer]):
    DEFAULT_CSS = """
    ElicitationDialog { align: center middle; }
    ElicitationDialog > Vertical {
        width: 90%; max-width: 100; height: auto; max-height: 90%;
        border: thick $accent; background: $surface; padding: 1 2;
    }
    ElicitationDialog .title { text-style: bold; }
    ElicitationDialog .about { color: $text-muted; }
    ElicitationDialog .error { color: $error; }
    ElicitationDialog VerticalScroll { height: auto; max-height: 24; margin: 1 0; }
    ElicitationDialog .field-label { margin: 1 0 0 0; }
    ElicitationDialog Horizontal { height: auto; }
    ElicitationDialog Button { margin: 0 1 0 0; min-width: 10; }
    """

    BINDINGS = [
        Binding("ctrl+s", "accept", "Accept"),
        Binding("escape", "answer('cancel')", "Cancel"),
    ]

    def __init__(
        self,
        request: ElicitationRequested,
        check: Callable[[dict[str, Any]], str | None] = lambda content: None,
    ) -> None:
        """``check`` judges the typed answer against the schema (an error, or None)."""
        super().__init__()
        self.request = request
        self.check = check
        schema = request.requested_schema or {}
        self.properties: dict[str, dict[str, Any]] = dict(schema.get("properties") or {})
        self.required = set(schema.get("required") or ())

    def compose(self) -> ComposeResult:
        request = self.request
        with Vertical():
            yield Label(f"MCP server {request.server} asks:", classes="title", markup=False)
            yield Static(Text(request.message))
            if request.mode == "url":
                yield Static(Text(f"Open this page to continue:\n{request.url}"), classes="about")
            else:
                with VerticalScroll():
                    for name, prop in self.properties.items():
                        yield from self._field(name, prop)
            yield Static("", classes="error", id="error", markup=False)
            with Horizontal():
                accept = "Done, I opened it" if request.mode == "url" else "Accept (Ctrl+S)"
                yield Button(accept, id="accept", variant="primary")
                yield Button("Decline", id="decline")
                yield Button("Cancel (Esc)", id="cancel", variant="error")

    def _field(self, name: str, prop: dict[str, Any]) -> ComposeResult:
        title = str(prop.get("title") or name)
        star = " *" if name in self.required else ""
        default = prop.get("default")
        kind = prop.get("type")
        if kind == "boolean":
            yield Checkbox(Text(title + star), value=bool(default), id=f"f-{name}")
        else:
            yield Label(title + star, classes="field-label", markup=False)
            choices = _choices(prop)
            if choices is not None:
                yield Select(
                    [(Text(label), value) for label, value in choices],  # labels: plain text
                    value=default if default in [v for _, v in choices] else Select.NULL,
                    allow_blank=name not in self.required,
                    id=f"f-{name}",
                )
            else:
                input_type = {"integer": "integer", "number": "number"}.get(str(kind), "text")
                value = "" if default is None else str(default)
                if kind == "array" and isinstance(default, list):
                    value = ", ".join(map(str, default))
                yield Input(
                    value=value,
                    type=input_type,  # type: ignore[arg-type]
                    placeholder=str(prop.get("description") or ""),
                    id=f"f-{name}",
                )
        if prop.get("description") and kind == "boolean":
            yield Static(Text(str(prop["description"])), classes="about")

    def on_mount(self) -> None:
        fields = self.query("Input, Select, Checkbox")
        if fields:
            fields.first().focus()

    # --- answers ------------------------------------------------------------------

    def values(self) -> tuple[dict[str, Any], str | None]:
        """The typed values of the form, and the first problem with them."""
        content: dict[str, Any] = {}
        for name, prop in self.properties.items():
            widget: Widget = self.query_one(f"#f-{name}")
            kind = prop.get("type")
            if isinstance(widget, Checkbox):
                content[name] = widget.value
                continue
            if isinstance(widget, Select):
                if widget.value is not Select.NULL:
                    content[name] = widget.value
                elif name in self.required:
                    return content, f"{prop.get('title') or name}: choose one"
                continue
            raw = widget.value.strip()  # type: ignore[attr-defined]
            if not raw:
                if name in self.required:
                    return content, f"{prop.get('title') or name} is required"
                continue
            try:
                if kind == "integer":
                    content[name] = int(raw)
                elif kind == "number":
                    content[name] = float(raw)
                elif kind == "array":
                    content[name] = [part.strip() for part in raw.split(",") if part.strip()]
                else:
                    content[name] = raw
            except ValueError:
                what = "a whole number" if kind == "integer" else "a number"
                return content, f"{prop.get('title') or name}: {raw!r} is not {what}"
        return content, None

    def action_accept(self) -> None:
        if self.request.mode == "url":
            self.dismiss(("accept", None))
            return
        content, problem = self.values()
        problem = problem or self.check(content)
        if problem:
            self.query_one("#error", Static).update(Text(problem))
            return
        self.dismiss(("accept", content))

    def action_answer(self, action: str) -> None:
        self.dismiss((action, None))

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "accept":
            self.action_accept()
        elif event.button.id:
            self.action_answer(event.button.id)

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_accept()
