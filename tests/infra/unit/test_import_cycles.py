"""No module in services/ or libs/ imports one that imports it back, at the top of a
file or inside a function (a lazy import hides a circle; it does not remove it).

`from package import submodule` counts as importing the submodule: a package's
`__init__` that gathers its submodules is not a circle."""

import ast
from pathlib import Path

from tests.conftest import ROOT


def modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for base in [*ROOT.glob("services/*"), ROOT / "libs" / "svyaz"]:
        for path in base.glob("*/**/*.py"):
            if "migrations" in path.parts or ".egg-info" in str(path):
                continue
            parts = list(path.relative_to(base).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def imports(name: str, path: Path, known: set[str]) -> set[str]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            subs = {f"{module}.{a.name}" for a in node.names} & known
            targets.update(subs if len(subs) == len(node.names) else {module, *subs})
    return (targets & known) - {name}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
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
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_module_imports_one_that_imports_it_back() -> None:
    found = modules()
    graph = {name: imports(name, path, set(found)) for name, path in found.items()}
    assert len(graph) > 100  # every service and the platform library were read
    assert cycles(graph) == []


def test_a_circle_through_a_lazy_import_is_found(tmp_path: Path) -> None:
    (tmp_path / "x.py").write_text("from a import y\n")
    (tmp_path / "y.py").write_text("def late():\n    from a.x import thing\n")
    (tmp_path / "z.py").write_text("from a import x, y\n")
    known = {"a.x", "a.y", "a.z"}
    graph = {f"a.{n}": imports(f"a.{n}", tmp_path / f"{n}.py", known) for n in "xyz"}
    assert graph == {"a.x": {"a.y"}, "a.y": {"a.x"}, "a.z": {"a.x", "a.y"}}
    assert cycles(graph) == [["a.x", "a.y"]]
