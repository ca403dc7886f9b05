"""No import cycle between packages: app/<feature>, app/core, app/auth, tenants, jobs (grimp's graph).

The import-linter contracts in pyproject.toml forbid imports against the layers; this checks the
whole package graph at once. jobs/cron_config.py, the one file that lists feature jobs, counts as a
node of its own (like app/__init__.py, it composes the features).
"""

from __future__ import annotations

import grimp


def _package(module: str) -> str:
    if module == "jobs.cron_config":
        return module
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "app" and len(parts) > 1 else parts[0]


def _package_graph() -> dict[str, set[str]]:
    graph = grimp.build_graph("app", "tenants", "jobs")
    edges: dict[str, set[str]] = {}
    for importer in graph.modules:
        for imported in graph.find_modules_directly_imported_by(importer):
            a, b = _package(importer), _package(imported)
            if a != b:
                edges.setdefault(a, set()).add(b)
                edges.setdefault(b, set())
    return edges


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one package (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in edges[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return groups


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_package_imports_itself_back():
    edges = _package_graph()
    assert {"app.core", "app.auth", "app.documents", "tenants", "jobs"} <= set(edges)
    assert _cycles(edges) == []
