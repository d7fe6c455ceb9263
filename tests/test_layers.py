"""The core imports no UI, no web framework and no provider SDK (SPEC 2, rule 4)."""

from __future__ import annotations

import ast
import json
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import harness_tui.core

CORE = Path(harness_tui.core.__file__).parent
UI_AND_WEB = (
    "textual",
    "fastapi",
    "starlette",
    "uvicorn",
    "rich",
    "widgets",
    "harness_tui.widgets",
    "harness_tui.web",
    "harness_tui.tui.app",
)
#: pygls and lsprotocol: the language-server client's, imported when a server starts.
SDKS = ("anthropic", "openai", "mcp", "google.genai", "acp", "pygls", "lsprotocol")
#: Engines imported only when their work comes: Pillow when an image is attached, the
#: terminal-graphics renderer when one is drawn.
ENGINES = ("PIL", "textual_image")


def loaded_after(code: str) -> set[str]:
    probe = f"import sys, json\n{code}\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    return set(json.loads(out.stdout))


def top_names(modules: set[str]) -> set[str]:
    return {name.split(".")[0] for name in modules} | modules


def test_importing_the_whole_core_loads_no_ui_web_or_sdk() -> None:
    every_module = [m.name for m in pkgutil.walk_packages([str(CORE)], "harness_tui.core.")]
    assert "harness_tui.core.session.session" in every_module
    code = "\n".join(f"import {name}" for name in ["harness_tui.core", *every_module])
    loaded = top_names(loaded_after(code))
    assert not loaded & set(UI_AND_WEB), loaded & set(UI_AND_WEB)
    assert not loaded & set(SDKS), loaded & set(SDKS)
    assert not loaded & set(ENGINES), loaded & set(ENGINES)


def test_the_app_loads_no_image_engine_until_an_image_comes() -> None:
    loaded = top_names(loaded_after("import harness_tui.tui.app, harness_tui.headless"))
    assert not loaded & set(ENGINES), loaded & set(ENGINES)


def test_no_core_module_mentions_ui_or_web_imports_even_lazily() -> None:
    offenders = []
    for path in CORE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [
                f"{path.name}: {n}"
                for n in names
                if n.split(".")[0] in UI_AND_WEB or n.startswith(UI_AND_WEB)
            ]
    assert offenders == []


def test_version_and_help_do_not_load_the_core() -> None:
    loaded = loaded_after("import harness_tui.cli")
    assert "harness_tui.core" not in loaded
    assert "pydantic" not in top_names(loaded)
    assert not {"acp", "harness_tui.acp.agent"} & loaded  # only `harness-tui acp` loads it


# --- the module graph: no cycles, and each layer imports only the layers below it --------

ROOT = CORE.parent.parent
#: Where each shipped package's files are (pyproject's ``package-dir``: ``widgets/`` and
#: ``plugins/`` ship inside ``harness_tui``).
SOURCES = {
    "harness_tui": ROOT / "harness_tui",
    "harness_tui.widgets": ROOT / "widgets",
    "harness_tui.plugins": ROOT / "plugins",
}


def _module_files() -> dict[str, Path]:
    """Every module of the package by its dotted name (a package by its ``__init__``)."""
    modules: dict[str, Path] = {}
    for package, folder in SOURCES.items():
        for path in sorted(folder.rglob("*.py")):
            parts = list(path.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join([package, *parts])] = path
    return modules


def _imported(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> list[str]:
    """The dotted names an import statement names, relative ones made absolute; for
    ``from X import a`` both ``X`` and ``X.a`` (the caller keeps what is a module)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        # The package the module is in (a package's __init__ is in the package itself).
        anchor = module.split(".") if is_package else module.split(".")[:-1]
        anchor = anchor[: len(anchor) - (node.level - 1)]
        base = ".".join([*anchor, *([base] if base else [])])
    return [base, *(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")]


def _is_lazy_module_call(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call)
        and getattr(node.func, "id", "") == "lazy_module"
        and bool(node.args)
        and isinstance(node.args[0], ast.Constant)
    )


def import_graph() -> dict[str, set[str]]:
    """Which of our modules each of our modules imports, from every import statement in
    it: at the top, inside functions, under ``TYPE_CHECKING`` alike (a lazy import
    still ties the two modules together; it only hides the tie from the import order).

    ``from pkg import name`` imports the module ``pkg.name`` when there is one, else
    (a name defined in ``pkg``) the package ``pkg``. Importing a module also runs its
    packages' ``__init__``; that implicit step is not an edge: a package's ``__init__``
    that re-exports its children is not a cycle with them, since Python always runs the
    parent first. But a module that names its own (ancestor) package in a ``from``
    import (``from pkg import x`` inside ``pkg.child``, whether ``x`` is a name or a
    submodule) imports that package, so when ``pkg/__init__`` leads to the child it is a
    cycle: the child reads a namespace that is only half built, and it works only
    because of the order the ``__init__`` happens to import things in."""
    files = _module_files()
    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        is_package = path.name == "__init__.py"
        edges: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if _is_lazy_module_call(node):
                # ``lazy_module("pkg.mod")``: an import on first use, an edge all the same.
                edges.add(node.args[0].value)  # type: ignore[attr-defined]
                continue
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            names = _imported(node, module, is_package)
            if isinstance(node, ast.ImportFrom):
                base, members = names[0], names[1:]
                found = [m for m in members if m in files]
                own_package = _within(module, base) and base != module
                if base in files and (len(found) < len(members) or own_package):
                    # Some names are defined in the package itself; or the module
                    # reaches into its own package's namespace, which is still being
                    # built when that package's ``__init__`` is what imported it.
                    found.append(base)
                edges.update(found)
            else:
                edges.update(name for name in names if name in files)
        edges.discard(module)
        graph[module] = edges
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle through each strongly connected component of more than one module
    (Tarjan's algorithm, iterative), as a path that ends where it starts."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    components.append(component)
    cycles = []
    for component in components:
        start = min(component)
        # Shortest way back to the start inside the component (breadth first).
        came_from: dict[str, str] = {}
        queue = [start]
        while queue:
            node = queue.pop(0)
            for child in sorted(graph[node] & component):
                if child == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(came_from[path[-1]])
                    cycles.append([*reversed(path), start])
                    queue = []
                    break
                if child not in came_from:
                    came_from[child] = node
                    queue.append(child)
    return sorted(cycles)


def test_the_import_graph_sees_every_kind_of_import() -> None:
    graph = import_graph()
    # A plain top-level import, a relative one, a widget under its shipped name, and
    # ``from pkg import module``.
    assert "harness_tui.core.messages" in graph["harness_tui.core.events"]
    assert "harness_tui.widgets.lazy" in graph["harness_tui.widgets.tool_card"]
    assert "harness_tui.core.providers.base" in graph["harness_tui.core.run.loop"]
    assert any(name.startswith("harness_tui.plugins.") for name in graph)
    # ``lazy_module("...")`` (the TUI's imports after the first frame) counts too.
    assert "harness_tui.core.events" in graph["harness_tui.widgets.plan_pane"]
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]


def test_no_import_cycles() -> None:
    cycles = _cycles(import_graph())
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


#: Each layer, and the packages it must not import (at all: not even lazily).
LAYERS = {
    "harness_tui.core": ("harness_tui",),
    "harness_tui.widgets": (
        "harness_tui.tui",
        "harness_tui.cli",
        "harness_tui.web",
        "harness_tui.headless",
        "harness_tui.check",
        "harness_tui.__main__",
    ),
    "harness_tui.web": ("harness_tui.tui", "harness_tui.widgets", "harness_tui.cli"),
    "harness_tui.acp": (
        "harness_tui.tui",
        "harness_tui.widgets",
        "harness_tui.web",
        "harness_tui.cli",
        "harness_tui.headless",
    ),
}
#: What a layer may import all the same (its own modules).
ALLOWED = {"harness_tui.core": ("harness_tui.core",)}


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def test_each_layer_imports_only_what_is_below_it() -> None:
    offenders = []
    for module, imported in sorted(import_graph().items()):
        for layer, forbidden in LAYERS.items():
            if not _within(module, layer):
                continue
            allowed = ALLOWED.get(layer, ())
            offenders += [
                f"{module} imports {name}"
                for name in sorted(imported)
                if any(_within(name, f) for f in forbidden)
                and not any(_within(name, a) for a in allowed)
            ]
    assert not offenders, "\n".join(offenders)


def test_the_core_and_the_package_agree_on_the_version() -> None:
    import harness_tui
    from harness_tui.core.version import __version__

    assert __version__ == harness_tui.__version__


def test_the_tui_parts_reach_the_app_only_through_its_protocol() -> None:
    """``tui/app.py`` imports its parts (commands, dialogs, sessions...); they see the
    app as ``host.AppHost`` and never import it back."""
    graph = import_graph()
    parts = [n for n in graph if _within(n, "harness_tui.tui") and n != "harness_tui.tui.app"]
    assert [n for n in parts if "harness_tui.tui.app" in graph[n]] == []
    assert "harness_tui.tui.sessions" in graph["harness_tui.tui.app"]


#: Folders that are not the project's own code: never walked into.
NOT_OURS = {"build", "node_modules", "__pycache__"}


def _repository_python_files() -> list[Path]:
    """Every ``.py`` of the checkout, without descending into virtual environments,
    hidden folders or installed packages (a venv alone holds tens of thousands)."""
    found = []
    for folder, subfolders, files in os.walk(ROOT):
        subfolders[:] = [d for d in subfolders if not d.startswith(".") and d not in NOT_OURS]
        found += [Path(folder, name) for name in files if name.endswith(".py")]
    return sorted(found)


#: A module this long must say why at its top, in a comment of this form.
LONG_MODULE_REASON = "# Over 500 lines"


def test_no_module_passes_500_lines_without_saying_why() -> None:
    """A newcomer reads a module in one sitting: past 500 lines, its first line says why
    it is still one unit (issue 18). Tests, benchmarks and docs count too."""
    long = []
    for path in _repository_python_files():
        lines = path.read_text().splitlines()
        if len(lines) > 500 and not lines[0].startswith(LONG_MODULE_REASON):
            long.append(f"{path.relative_to(ROOT)}: {len(lines)} lines")
    assert long == []
