"""The side panes (plan, tools, hooks, background tasks): shown, hidden, sized, and
focus among the parts.

Full-screen, they share a column right of the conversation (hidden on a narrow
terminal until asked for). Inline (``inline``), there is no column: a pane's key shows
it alone, full width, under the conversation, and hides it again.
"""

from __future__ import annotations

from textual.binding import Binding

from harness_tui.tui.host import AppHost

PANES = ("plan", "tools", "hooks", "tasks")
#: The app's keys for them (besides Ctrl+B, which the footer shows).
BINDINGS = [
    Binding("f2", "focus_next_pane", "Next pane", show=False),
    Binding("f3", "toggle_pane('plan')", "Plan pane", show=False),
    Binding("f4", "toggle_pane('tools')", "Tools pane", show=False),
    Binding("f5", "toggle_pane('hooks')", "Hooks pane", show=False),
    # F6 and F7 belong to the prompt (TextArea: select the line, select all).
    Binding("f8", "toggle_pane('tasks', True)", "Tasks pane", show=False),
    Binding("ctrl+right", "resize_side(-4)", "Wider conversation", show=False),
    Binding("ctrl+left", "resize_side(4)", "Wider panes", show=False),
]
#: Narrower than this, the side panes start hidden.
NARROW = 100


def lay_out(app: AppHost, width: int) -> None:
    side = app.query_one("#side")
    side.set_class(app.size.width < NARROW, "-narrow")
    side.styles.width = "100%" if app.is_inline else width


def toggle_side(app: AppHost) -> None:
    side = app.query_one("#side")
    side.toggle_class("-shown" if side.has_class("-narrow") or app.is_inline else "-hidden")


def _parts(app: AppHost, pane: str) -> tuple[object, ...]:
    return app.query_one(f"#{pane}"), app.query_one(f"#{pane}-title")


def toggle_pane(app: AppHost, name: str, show: bool | None = None) -> None:
    """Show or hide one pane (``show`` forces either). The tasks pane, once shown, has
    the focus: its keys (``x`` stops the highlighted task) work at once."""
    _toggle(app, name, show)
    tasks = app.query_one("#tasks")
    if name == "tasks" and not tasks.has_class("-hidden"):
        tasks.focus()


def _toggle(app: AppHost, name: str, show: bool | None) -> None:
    side = app.query_one("#side")
    if app.is_inline:
        alone = side.has_class("-shown") and all(
            app.query_one(f"#{pane}").has_class("-hidden") == (pane != name) for pane in PANES
        )
        visible = (not alone) if show is None else show
        side.set_class(visible, "-shown")
        for pane in PANES:
            for widget in _parts(app, pane):
                widget.set_class(visible and pane != name, "-hidden")  # type: ignore[attr-defined]
        return
    side.remove_class("-hidden")
    side.add_class("-shown")
    for widget in _parts(app, name):
        if show is None:
            widget.toggle_class("-hidden")  # type: ignore[attr-defined]
        else:
            widget.set_class(not show, "-hidden")  # type: ignore[attr-defined]


def show_all(app: AppHost) -> None:
    """Every pane as full-screen starts (after inline showed one alone)."""
    for pane in PANES:
        for widget in _parts(app, pane):
            widget.remove_class("-hidden")  # type: ignore[attr-defined]
    app.query_one("#side").remove_class("-shown")


def focus_next(app: AppHost) -> None:
    """F2: conversation, side panes, input, in turn."""
    from harness_tui.widgets.conversation import Conversation
    from harness_tui.widgets.prompt_input import PromptInput

    order = [app.query_one(Conversation), app.query_one("#side"), app.query_one(PromptInput)]
    focused = app.focused
    index = next(
        (
            i
            for i, w in enumerate(order)
            if focused is not None and (focused is w or w in focused.ancestors)
        ),
        -1,
    )
    order[(index + 1) % len(order)].focus()
