"""The one name analysis (ADR-046): Python's scoping, with the mutation policy chosen by the caller."""

from __future__ import annotations

import ast

import pytest

from jupyter_mlops.capture.cells import analyze_source
from jupyter_mlops.capture.names import MutationRules, Scope, module_names
from jupyter_mlops.notebooks.convert.analysis import analyze_statement


def mutated(source: str, rules: MutationRules | None) -> set[str]:
    scope = Scope(module=True, rules=rules)
    for stmt in ast.parse(source).body:
        scope.visit(stmt)
    return scope.mutates


@pytest.mark.parametrize(
    ("source", "rules", "expected"),
    [
        ("items.append(1)", None, set()),  # no rules: nothing is tracked
        ("items.append(1)", MutationRules(), {"items"}),  # an unknown method may change its receiver
        ("items.append(1)", MutationRules(pure_methods=frozenset({"append"})), set()),
        ("df.to_csv('x')", MutationRules(output_methods=frozenset({"to_csv"})), set()),
        ("df.plot.bar()", MutationRules(output_accessors=frozenset({"plot"})), set()),
        ("df.head(inplace=True)", MutationRules(pure_methods=frozenset({"head"})), {"df"}),  # inplace always does
        ("grid[0][1] = 2\nobj.attr = 3", MutationRules(), {"grid", "obj"}),
        ("grid[0][1] = 2", None, set()),
        ("ys = [xs.pop() for _ in range(2)]", MutationRules(), {"xs"}),  # a comprehension runs now
        ("def later():\n    xs.pop()", MutationRules(), set()),  # a function body runs when called
    ],
)
def test_mutations_follow_the_rules_the_caller_passes(source, rules, expected):
    assert mutated(source, rules) == expected


@pytest.mark.parametrize(
    ("source", "reads", "binds"),
    [
        ("def f(a):\n    b = a + g\n    return b\ny = f(x)", {"f", "g", "x"}, {"f", "y"}),
        ("ys = [q for q in xs if (last := q) > thr]", {"xs", "thr"}, {"ys", "last"}),
        ("match point:\n    case {'x': px, **rest}:\n        pass\n    case [first, *others]:\n        pass",
         {"point"}, {"px", "rest", "first", "others"}),
        ("class C(Base):\n    k = 3\n    def g(self):\n        return helper(self.k)", {"Base", "helper"}, {"C"}),
        ("import os.path as osp, numpy\nfrom a import *", set(), {"osp", "numpy"}),
        ("def outer():\n    n = 0\n    def inner():\n        nonlocal n\n        n += step\n    return inner",
         {"step"}, {"outer"}),
    ],
)
def test_module_names_read_and_bind_by_python_scoping(source, reads, binds):
    assert module_names(ast.parse(source)) == (reads, binds)


CELLS = [
    "import numpy as np\ndef evaluate(model, X, y):\n    pred = model.predict(X)\n    return (pred == y).mean()",
    "scores = {name: evaluate(m, X_test, y) for name, m in models.items()}\nbest = max(scores, key=lambda k: s[k])",
    "class Scaler:\n    def fit(self, X):\n        self.mean = X.mean(axis=0)\n        return self",
    "df.dropna(inplace=True)\ntotal = 0\nfor v in values:\n    total += v\ndel cache",
    "try:\n    import yaml\nexcept ImportError as err:\n    yaml = None\nwith open(path) as fh:\n    text = fh.read()",
]


@pytest.mark.parametrize("source", CELLS)
def test_the_observer_and_convert_read_a_cell_the_same_way(source):
    # one analysis: the context cells of a run and the arguments of a converted section see the same names
    cell = analyze_source(source)
    assert cell is not None
    statements = [analyze_statement(stmt) for stmt in ast.parse(source).body]
    assert set(cell.names_read) == set().union(*(info.reads for info in statements))
    assert set(cell.names_defined) == set().union(*(info.writes for info in statements))
