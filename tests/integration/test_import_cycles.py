"""No two modules of the package import each other, directly or through a chain (issue 10, "Done when").

The graph is grimp's (the library import-linter runs on): imports inside functions and under ``TYPE_CHECKING``
count, because a cycle hidden in a function still ties two modules into one unit that cannot be read, tested or
moved apart. A cycle is reported as the strongly connected group of modules it forms, with one closed path
through it and the line of each import on that path.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import grimp
import pytest

# Empty: every cycle issue 10 found is gone. A cycle that must stay for a while is named here with its reason;
# an entry only excuses a group made of exactly those modules.
ALLOWED_CYCLES: list[frozenset[str]] = []


def import_cycles(graph: grimp.ImportGraph, package: str) -> list[list[str]]:
    """Each group of ``package``'s modules that reach one another, as a sorted list (Tarjan's algorithm)."""
    modules = sorted(m for m in graph.modules if m == package or m.startswith(package + "."))
    edges = {m: sorted(i for i in graph.find_modules_directly_imported_by(m) if i in modules) for m in modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    for root in modules:
        if root in index:
            continue
        # iterative depth-first walk: (module, position in its edge list)
        work = [(root, 0)]
        while work:
            module, position = work.pop()
            if position == 0:
                index[module] = low[module] = len(index)
                stack.append(module)
                on_stack.add(module)
            targets = edges[module]
            if position < len(targets):
                work.append((module, position + 1))
                target = targets[position]
                if target not in index:
                    work.append((target, 0))
                elif target in on_stack:
                    low[module] = min(low[module], index[target])
                continue
            if low[module] == index[module]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == module:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[module])
    return sorted(groups)


def describe(graph: grimp.ImportGraph, group: list[str]) -> str:
    """One closed import path through ``group``, each step with the line that imports."""
    members = set(group)
    start = group[0]
    # shortest path from start back to itself inside the group (breadth-first)
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier and start not in previous:
        following = []
        for module in frontier:
            for target in sorted(graph.find_modules_directly_imported_by(module)):
                if target in members and target not in previous:
                    previous[target] = module
                    following.append(target)
        frontier = following
    path = [start]
    while True:
        path.append(previous[path[-1]])
        if path[-1] == start:
            break
    path.reverse()
    steps = []
    for importer, imported in zip(path, path[1:], strict=False):
        details = graph.get_import_details(importer=importer, imported=imported)
        where = ", ".join(f"line {d['line_number']}: {d['line_contents'].strip()}" for d in details)
        steps.append(f"  {importer} -> {imported} ({where})")
    return f"{' <-> '.join(group)}\n" + "\n".join(steps)


def test_no_module_of_jupyter_mlops_imports_itself_through_others():
    graph = grimp.build_graph("jupyter_mlops", cache_dir=None)
    found = import_cycles(graph, "jupyter_mlops")
    unexpected = [group for group in found if frozenset(group) not in ALLOWED_CYCLES]
    assert not unexpected, "import cycles:\n" + "\n".join(describe(graph, group) for group in unexpected)


@pytest.fixture
def cyclic_package(tmp_path, monkeypatch):
    """A package whose cycles hide where they are easy to miss: in a function, under TYPE_CHECKING, in a chain."""
    root = tmp_path / "cyclic_pkg"
    root.mkdir()
    files = {
        "__init__.py": "",
        "parse.py": "def compile_it():\n    from cyclic_pkg import sql\n    return sql\n",
        "sql.py": "from cyclic_pkg.parse import compile_it\n",
        "store.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from cyclic_pkg.cache import Cache\n",
        "cache.py": "import cyclic_pkg.store\n",
        "a.py": "import cyclic_pkg.b\n",
        "b.py": "import cyclic_pkg.c\n",
        "c.py": "import cyclic_pkg.a\n",
        "leaf.py": "import cyclic_pkg.a\n",
    }
    for name, source in files.items():
        Path(root, name).write_text(textwrap.dedent(source))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield grimp.build_graph("cyclic_pkg", cache_dir=None)
    for name in [m for m in sys.modules if m.startswith("cyclic_pkg")]:
        del sys.modules[name]


def test_the_check_finds_cycles_through_functions_type_checking_and_chains(cyclic_package):
    groups = import_cycles(cyclic_package, "cyclic_pkg")
    assert groups == [
        ["cyclic_pkg.a", "cyclic_pkg.b", "cyclic_pkg.c"],
        ["cyclic_pkg.cache", "cyclic_pkg.store"],
        ["cyclic_pkg.parse", "cyclic_pkg.sql"],
    ]
    text = describe(cyclic_package, groups[0])
    assert "cyclic_pkg.a -> cyclic_pkg.b (line 1: import cyclic_pkg.b)" in text
    assert "cyclic_pkg.c -> cyclic_pkg.a (line 1: import cyclic_pkg.a)" in text
