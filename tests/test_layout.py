"""House style's size rules, checked: no module over 300 lines, no function over 60 (from its
`def` to its last line, decorators not counted). A file or function that grows past them is
a sign it holds more than one responsibility; split it by what it does, not by line count."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "chargen"
MAX_MODULE_LINES = 300
MAX_FUNCTION_LINES = 60

MODULES = sorted(SRC.rglob("*.py"))


def _name(path: Path) -> str:
    return path.relative_to(SRC).as_posix()


def long_functions(source: str, limit: int = MAX_FUNCTION_LINES) -> list[tuple[str, int]]:
    """(qualified name, lines) of every function or method longer than `limit` lines."""
    found: list[tuple[str, int]] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            name = prefix
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                name = f"{prefix}{child.name}."
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                assert child.end_lineno is not None
                lines = child.end_lineno - child.lineno + 1
                if lines > limit:
                    found.append((name[:-1], lines))
            visit(child, name)

    visit(ast.parse(source), "")
    return found


@pytest.mark.parametrize("path", MODULES, ids=_name)
def test_module_is_at_most_300_lines(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_MODULE_LINES, f"{_name(path)} has {lines} lines (at most 300)"


@pytest.mark.parametrize("path", MODULES, ids=_name)
def test_functions_are_at_most_60_lines(path: Path) -> None:
    found = long_functions(path.read_text(encoding="utf-8"))
    assert found == [], ", ".join(
        f"{_name(path)}: {f} has {n} lines (at most 60)" for f, n in found
    )


def test_long_functions_are_found() -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(60))
    source = f"class A:\n    @staticmethod\n    def f():\n{body.replace('    ', '        ')}\n"
    source += f"def g():\n{body}\n    def h():\n        pass\n"
    assert long_functions(source) == [("A.f", 61), ("g", 63)]
