"""The imports among the parts around the core (the TUI, the widgets, the web sidecar,
the command line) run one way: no cycle, not even through an import inside a function,
and the lower parts never reach up (SPEC 2, rule 4, and issue 18)."""

from __future__ import annotations

import ast
from pathlib import Path

import harness_tui

PACKAGE = Path(harness_tui.__file__).parent
ROOT = PACKAGE.parent


def module_files() -> dict[str, Path]:
    """Every module of ours outside the core, by dotted name (``widgets/`` ships as
    ``harness_tui.widgets``)."""
    found = {}
    paths = [p for p in PACKAGE.rglob("*.py") if "core" not in p.relative_to(PACKAGE).parts]
    for path in [*paths, *(ROOT / "widgets").rglob("*.py")]:
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[0] == "widgets":
            parts.insert(0, "harness_tui")
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def imported(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The modules of ``known`` that ``name`` imports anywhere in its text: at the top,
    inside functions, under TYPE_CHECKING, or by ``lazy_module("...")``."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            targets += [base, *(f"{base}.{alias.name}" for alias in node.names)]
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "id", "") == "lazy_module"
            and isinstance(node.args[0], ast.Constant)
        ):
            targets.append(node.args[0].value)
    found = set()
    for target in targets:
        while target and target not in known:  # `from pkg import name`: the package
            target = target.rpartition(".")[0]
        if target and target != name:
            found.add(target)
    return found


def import_graph() -> dict[str, set[str]]:
    known = module_files()
    return {name: imported(name, path, known) for name, path in known.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while not group or group[-1] != node:
                group.append(stack.pop())
            if len(group) > 1:
                found.append(sorted(group))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_the_graph_is_read() -> None:
    graph = import_graph()
    assert "harness_tui.tui.sessions" in graph["harness_tui.tui.app"]
    assert "harness_tui.core.events" not in graph  # the core is tested on its own
    assert "harness_tui.widgets.lazy" in graph["harness_tui.tui.commands"]


def test_no_import_cycle_outside_the_core() -> None:
    assert cycles(import_graph()) == []


def test_a_cycle_would_be_seen() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def reaching(lower: str, upper: tuple[str, ...]) -> list[str]:
    """The imports from modules under ``lower`` to modules under ``upper``."""
    return [
        f"{name} -> {target}"
        for name, targets in import_graph().items()
        if name.startswith(lower)
        for target in targets
        if target.startswith(upper)
    ]


def test_widgets_import_no_app_cli_or_web() -> None:
    upper = ("harness_tui.tui", "harness_tui.cli", "harness_tui.web", "harness_tui.headless")
    assert (
        reaching("harness_tui.widgets", (*upper, "harness_tui.check", "harness_tui.__main__")) == []
    )


def test_the_web_sidecar_imports_no_tui_widgets_or_cli() -> None:
    upper = ("harness_tui.tui", "harness_tui.widgets", "harness_tui.cli")
    assert reaching("harness_tui.web", upper) == []


def test_the_tui_parts_reach_the_app_only_through_its_protocol() -> None:
    graph = import_graph()
    parts = [n for n in graph if n.startswith("harness_tui.tui.") and n != "harness_tui.tui.app"]
    assert [n for n in parts if "harness_tui.tui.app" in graph[n]] == []


def test_no_module_outside_the_core_passes_500_lines() -> None:
    long = {
        name: lines
        for name, path in module_files().items()
        if (lines := len(path.read_text().splitlines())) > 500
    }
    assert long == {}
