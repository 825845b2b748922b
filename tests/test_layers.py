"""The package's layering holds: nothing imports the package root, and no two parts of a package import each other.

The layers themselves (which package may import which) are import-linter's contract in pyproject.toml,
run by `make test` as `lint-imports`; these tests add what a layers contract cannot say.
"""
from __future__ import annotations

import grimp
import pytest


@pytest.fixture(scope="module")
def graph():
    return grimp.build_graph("tinyrt")


def test_no_module_imports_the_package_root(graph):
    offenders = sorted(m for m in graph.modules
                       if m != "tinyrt" and "tinyrt" in graph.find_modules_directly_imported_by(m))
    assert offenders == [], f"these modules import the package root: {offenders}"


def _child(package: str, module: str) -> str | None:
    """Return the direct child of package that module is (or lies in), or None when it is outside."""
    if not module.startswith(package + "."):
        return None
    return package + "." + module[len(package) + 1:].split(".")[0]


def _cycle(edges: dict) -> list:
    """Return one cycle of the directed graph as a list of nodes, or [] when it has none."""
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[node] = "done"
        stack.pop()
        return []

    for node in sorted(edges):
        if node not in state and (found := visit(node)):
            return found
    return []


def test_no_import_loop_between_the_parts_of_any_package(graph):
    packages = {m for m in graph.modules if graph.find_children(m)}
    assert {"tinyrt", "tinyrt.backends", "tinyrt.backends.c", "tinyrt.frontends.sklearn", "tinyrt.cli"} <= packages
    loops = {}
    for package in sorted(packages):
        edges = {}
        for module in graph.find_descendants(package):
            a = _child(package, module)
            for imported in graph.find_modules_directly_imported_by(module):
                b = _child(package, imported)
                if b is not None and b != a:
                    edges.setdefault(a, set()).add(b)
        if (cycle := _cycle(edges)):
            loops[package] = " -> ".join(cycle)
    assert loops == {}, f"import loops: {loops}"


def test_the_cycle_finder_finds_a_cycle_and_only_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) == []
