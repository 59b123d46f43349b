"""The layers of ``ziggy_migrate`` import only downwards, and no module imports in a circle.

Read from the source with :mod:`ast` (imports under ``TYPE_CHECKING`` count too: a circle
of type hints is still a circle a newcomer has to untangle)::

    ziggy_migrate (__init__)   the public face
    _engine                    export, plan, apply, report, diff, rollback, journal, promote
    _client  |  _bundle        side by side: neither imports the other
    _vocabulary, _version      the ground

``ziggy_migrate.testing`` stands apart (it imports nothing of the library), and the CLI
uses only the public face, plus the emulator in ``demo.py``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import ziggy_migrate
import ziggy_migrate_cli

LIBRARY = "ziggy_migrate"
ALLOWED: dict[str, frozenset[str]] = {
    "_version": frozenset(),
    "_vocabulary": frozenset({"_vocabulary", "_version"}),
    "_client": frozenset({"_client", "_vocabulary", "_version"}),
    "_bundle": frozenset({"_bundle", "_vocabulary", "_version"}),
    "_engine": frozenset({"_engine", "_client", "_bundle", "_vocabulary", "_version"}),
    "": frozenset({"_engine", "_client", "_bundle", "_vocabulary", "_version"}),
    "testing": frozenset({"testing"}),
}


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(root: Path, path: Path) -> Iterator[str]:
    """Every module ``path`` imports, absolute, including ``from package import module``."""
    name = module_name(root, path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            yield target
            yield from (f"{target}.{alias.name}" for alias in node.names)


def graph_of(root: Path) -> dict[str, set[str]]:
    """Module -> the modules of the same package tree it imports."""
    modules = {module_name(root, path): path for path in root.rglob("*.py")}
    return {
        name: {target for target in imports_of(root, path) if target in modules and target != name}
        for name, path in modules.items()
    }


def layer_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    """Imports that go up or sideways; the package root (the public face) is the top."""
    return sorted(
        f"{module} imports {target}"
        for module, targets in graph.items()
        for target in targets
        if target == LIBRARY or layer_of(target) not in ALLOWED[layer_of(module)]
    )


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for target in sorted(graph[module]):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return found


LIBRARY_ROOT = Path(ziggy_migrate.__file__).parent
CLI_ROOT = Path(ziggy_migrate_cli.__file__).parent


def test_every_module_belongs_to_a_known_layer() -> None:
    graph = graph_of(LIBRARY_ROOT)
    assert {layer_of(module) for module in graph} <= set(ALLOWED)
    assert {"_vocabulary", "_client", "_bundle", "_engine", "testing"} <= {
        layer_of(module) for module in graph
    }


def test_the_library_imports_only_downwards() -> None:
    assert upward_imports(graph_of(LIBRARY_ROOT)) == []


def test_no_module_imports_in_a_circle() -> None:
    assert circles(graph_of(LIBRARY_ROOT)) == []
    assert circles(graph_of(CLI_ROOT)) == []


def test_the_cli_uses_only_the_public_face() -> None:
    private = []
    for path in CLI_ROOT.rglob("*.py"):
        for target in imports_of(CLI_ROOT, path):
            if not target.startswith(f"{LIBRARY}.") or target.count(".") > 1:
                continue
            if target in {f"{LIBRARY}.testing", f"{LIBRARY}.testing.ZiggyEmulator"}:
                assert path.name == "demo.py", f"{path.name} imports the emulator"
            elif target.split(".")[1] not in ziggy_migrate.__all__:
                private.append(f"{path.name} imports {target}")
    assert private == []


def test_nothing_in_the_library_imports_the_cli() -> None:
    for path in LIBRARY_ROOT.rglob("*.py"):
        assert not any(
            target.startswith("ziggy_migrate_cli") for target in imports_of(LIBRARY_ROOT, path)
        ), path


def test_the_checks_see_an_upward_import_and_a_circle(tmp_path: Path) -> None:
    """The checker itself: a ground module importing the engine, and two that circle."""
    root = tmp_path / LIBRARY
    for folder in ("_vocabulary", "_engine"):
        (root / folder).mkdir(parents=True)
        (root / folder / "__init__.py").write_text("")
    (root / "__init__.py").write_text("")
    (root / "_vocabulary" / "models.py").write_text("from .._engine import plan\n")
    (root / "_engine" / "plan.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import report\n"
    )
    (root / "_engine" / "report.py").write_text("from .plan import Plan\n")
    graph = graph_of(root)
    assert upward_imports(graph) == [
        "ziggy_migrate._vocabulary.models imports ziggy_migrate._engine",
        "ziggy_migrate._vocabulary.models imports ziggy_migrate._engine.plan",
    ]
    assert circles(graph) == [["ziggy_migrate._engine.plan", "ziggy_migrate._engine.report"]]
