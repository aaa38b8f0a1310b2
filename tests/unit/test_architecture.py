"""The package's architecture, checked: no import cycles, layers kept, one home per name.

The import graph is grimp's (the library import-linter is built on), which sees every import
statement: type-only (``if TYPE_CHECKING``) and function-level imports count. The layer rules
themselves are import-linter contracts in ``pyproject.toml`` (``make lint`` runs them; the last
test here runs them too, so a plain ``pytest`` keeps them).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "bridgex_chain"


def import_cycles(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Strongly connected components of two or more modules (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    cycles: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, ()))))]
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
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    cycles.append(sorted(component))
    return cycles


def package_graph() -> dict[str, set[str]]:
    graph = grimp.build_graph("bridgex_chain")
    return {m: set(graph.find_modules_directly_imported_by(m)) for m in graph.modules}


def test_cycle_finder_finds_cycles_and_nothing_else() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e2"}, "e2": set()}
    assert import_cycles(graph) == [["a", "b", "c"]]
    assert import_cycles({"x": {"y"}, "y": {"x"}, "z": set()}) == [["x", "y"]]
    assert import_cycles({"x": {"y"}, "y": set()}) == []


def test_the_package_has_no_import_cycle() -> None:
    cycles = import_cycles(package_graph())
    assert cycles == [], "import cycles (type-only and function-level imports count): " + "; ".join(
        " <-> ".join(c) for c in cycles
    )


def test_the_library_never_imports_eval_or_the_cli() -> None:
    graph = package_graph()
    offenders = sorted(
        f"{module} -> {target}"
        for module, targets in graph.items()
        if not module.startswith(("bridgex_chain.eval", "bridgex_chain.cli"))
        for target in targets
        if target.startswith("bridgex_chain.eval")
    )
    assert offenders == []
    for path in PACKAGE.rglob("*.py"):  # cli/ installs as bridgex_chain.cli, outside grimp's view
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "bridgex_chain.cli"
            ):
                pytest.fail(f"{path.relative_to(ROOT)} imports {node.module}")


def defined_names(tree: ast.Module) -> set[str]:
    """Names a module defines itself (functions, classes, assignments), not ones it imports."""
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign | ast.AugAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.Try | ast.If):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Assign):
                    names.update(t.id for t in inner.targets if isinstance(t, ast.Name))
    return names


def exported_names(tree: ast.Module) -> list[str]:
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            return [str(ast.literal_eval(e)) for e in node.value.elts]  # type: ignore[attr-defined]
    return []


def test_one_home_per_name_modules_export_only_what_they_define() -> None:
    shims = []
    for path in sorted([*PACKAGE.rglob("*.py"), *(ROOT / "cli").glob("*.py")]):
        if path.name == "__init__.py":  # packages re-export their public names here only
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        foreign = set(exported_names(tree)) - defined_names(tree)
        shims.extend(f"{path.relative_to(ROOT)}: {name}" for name in sorted(foreign))
    assert shims == [], "names re-exported from another module (import them from their home)"


def test_the_top_level_package_is_flat_only_at_the_ground() -> None:
    loose = sorted(p.name for p in PACKAGE.glob("*.py") if p.name != "__init__.py")
    assert loose == ["_version.py", "errors.py", "paths.py"]


def test_import_linter_contracts_hold() -> None:
    result = subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports")), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout
