"""The package tree reads like the pipeline: imports point down it, never back, never in a
cycle, and only the CLI imports click."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "chargen"

# Lower layers first; a module may import its own layer or any layer before it.
LAYERS = [
    {"chargen", "chargen.errors", "chargen.config", "chargen.files", "chargen.runtime"},
    {"chargen.text"},
    {"chargen.data"},
    {"chargen.runs"},
    {"chargen.model"},
    {"chargen.generation"},
    {"chargen.train"},
    {"chargen.tools", "chargen.autoencoder"},
    {"chargen.cli", "chargen.__main__"},
]


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> int:
    """The layer of a module: its longest prefix named in LAYERS."""
    parts = module.split(".")
    for end in range(len(parts), 0, -1):
        prefix = ".".join(parts[:end])
        for rank, names in enumerate(LAYERS):
            if prefix in names:
                return rank
    raise AssertionError(f"{module} belongs to no layer; add its package to LAYERS")


def imports_of(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            # `from chargen.text import clean` names a module, not a function
            for alias in node.names:
                if (SRC.parent / node.module.replace(".", "/") / f"{alias.name}.py").exists():
                    found.add(f"{node.module}.{alias.name}")
    return found


MODULES = {module_name(p): p for p in sorted(SRC.rglob("*.py"))}
GRAPH = {
    name: {m for m in imports_of(path) if m.split(".")[0] == "chargen" and m != name}
    for name, path in MODULES.items()
}


def test_every_package_has_a_layer() -> None:
    for name in MODULES:
        layer_of(name)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_imports_point_down_the_pipeline(name: str) -> None:
    ups = [m for m in GRAPH[name] if layer_of(m) > layer_of(name)]
    assert ups == [], f"{name} imports {ups}, which sit above it"


def test_no_import_cycles() -> None:
    # package __init__ files are docstrings only, so an edge to a package is not followed
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(GRAPH.get(node, ())):
            if nxt not in MODULES:
                continue
            if state.get(nxt) == 1:
                cycles.append(path[path.index(nxt) :] + [nxt] if nxt in path else [node, nxt])
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = 2

    for name in sorted(MODULES):
        if name not in state:
            visit(name, [name])
    assert cycles == []


def test_click_only_in_the_cli() -> None:
    users = sorted(
        name
        for name, path in MODULES.items()
        if not name.startswith("chargen.cli")
        and any(m.split(".")[0] == "click" for m in imports_of(path))
    )
    assert users == []


def test_layer_check_can_fail() -> None:
    assert layer_of("chargen.text.clean") < layer_of("chargen.data.vocab")
    assert layer_of("chargen.cli.base") == len(LAYERS) - 1


def test_package_inits_are_docstrings_only() -> None:
    """Importing a package costs nothing and hides no cycle."""
    for path in SRC.rglob("__init__.py"):
        if path.parent in (SRC, SRC / "cli"):  # the version; the CLI registers its commands
            continue
        body = ast.parse(path.read_text(encoding="utf-8")).body
        assert all(isinstance(n, ast.Expr) for n in body), path
