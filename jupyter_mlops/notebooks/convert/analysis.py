"""Static def/use analysis of notebook statements, as if each cell ran at module level.

For every top-level statement :func:`analyze_statement` reports the module-level names it reads (including the
free names of the functions, lambdas, classes and comprehensions it defines, since those resolve to notebook
globals), the names it (re)binds, and the names it mutates in place: method calls on a name (``x.append(...)``,
``df.drop(..., inplace=True)``), augmented assignment, and assignment or deletion through a subscript or an
attribute (``x[0] = ...``, ``obj.attr = ...``). Scoping follows Python's rules: function parameters and locals,
class bodies, comprehension targets, walrus targets escaping comprehensions, ``except ... as``, ``match``
captures. Mutation detection is deliberately conservative — an unknown method call on a name counts as a
mutation — because an extra output costs nothing at run time, while a missed one changes results.

The scoping itself is :mod:`jupyter_mlops.capture.names`, the analysis the kernel observer also uses for a run's
context cells (ADR-046); this module adds convert's policy: which methods leave their receiver unchanged
(:data:`MUTATIONS`), which expressions only display a value, and what makes a statement unconvertible.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from jupyter_mlops.capture.names import MutationRules, Scope, function_free_names

#: method names that never mutate their receiver in the libraries notebooks use most (keeps pipelines readable).
PURE_METHODS = frozenset(
    {
        "copy", "head", "tail", "describe", "info", "get", "keys", "values", "items", "count", "index", "format",
        "join", "split", "strip", "lower", "upper", "startswith", "endswith", "replace", "mean", "sum", "min",
        "max", "std", "var", "median", "tolist", "to_list", "to_dict", "to_numpy", "to_json", "to_string",
        "predict", "predict_proba", "decision_function", "score", "astype", "reshape", "groupby", "merge",
        "isna", "notna", "isnull", "unique", "nunique", "value_counts", "round", "abs", "any", "all", "item",
        "get_params", "agg", "apply", "map", "query", "sort_values", "filter", "select_dtypes", "corr",
    }
)

#: methods that draw, show or write a value somewhere else without changing it: a section whose only use of
#: ``df`` is ``df.plot(...)`` or ``df.to_csv(...)`` does not hand ``df`` on as if it had changed it.
OUTPUT_METHODS = frozenset(
    {
        "plot", "hist", "boxplot", "show", "display", "savefig", "to_csv", "to_parquet", "to_excel", "to_pickle",
        "to_html", "to_latex", "to_markdown", "to_feather", "to_sql", "to_clipboard",
    }
)
#: accessors whose methods draw or style a copy (``df.plot.bar()``, ``df.style.format()``)
_OUTPUT_ACCESSORS = frozenset({"plot", "style"})
#: builtins that only look at a value; a bare expression calling nothing else only displayed it
_LOOKING_BUILTINS = frozenset({"len", "type", "repr", "isinstance", "id", "dir", "vars"})
#: pure methods that may still run user code given to them (``s.apply(print)``): not safe to drop
_CALLS_BACK = frozenset({"apply", "map", "agg", "filter", "query"})

#: convert's mutation policy: a section hands on a name it changed in place, unless only these methods touched it
MUTATIONS = MutationRules(pure_methods=PURE_METHODS, output_methods=OUTPUT_METHODS, output_accessors=_OUTPUT_ACCESSORS)


def display_only(stmt: ast.stmt) -> bool:
    """A bare expression whose only effect in a notebook is showing its value (``x1[0]``, ``df.head()``).

    Nothing in it may call anything but pure methods and looking builtins, assign (walrus), await or yield.
    """
    if not isinstance(stmt, ast.Expr):
        return False
    for node in ast.walk(stmt.value):
        if isinstance(node, (ast.Await, ast.Yield, ast.YieldFrom, ast.NamedExpr, ast.Lambda)):
            return False
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id in _LOOKING_BUILTINS:
                continue
            if not isinstance(func, ast.Attribute) or func.attr not in PURE_METHODS or func.attr in _CALLS_BACK:
                return False
            if any(k.arg == "inplace" for k in node.keywords):
                return False
    return True


@dataclass
class StatementInfo:
    """What one top-level statement does with module-level names."""

    node: ast.stmt
    reads: set[str] = field(default_factory=set)
    writes: set[str] = field(default_factory=set)
    mutates: set[str] = field(default_factory=set)
    deletes: set[str] = field(default_factory=set)
    #: for a top-level ``def``/``class``: the global names its body looks up when it is called, not when defined
    late_reads: set[str] = field(default_factory=set)
    #: an import moved to the top of the section modules (no longer part of the section's body)
    hoisted: bool = False
    #: problems that make the statement unconvertible (``global`` inside a function, top-level ``await``)
    problems: list[str] = field(default_factory=list)

    @property
    def defines(self) -> str | None:
        """The name of a top-level function or class definition (or ``name = lambda ...``), else None."""
        if isinstance(self.node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            return self.node.name
        return _lambda_name(self.node)


def _lambda_name(node: ast.stmt) -> str | None:
    if (
        isinstance(node, ast.Assign)
        and len(node.targets) == 1
        and isinstance(node.targets[0], ast.Name)
        and isinstance(node.value, ast.Lambda)
    ):
        return node.targets[0].id
    return None


def _late_reads(node: ast.stmt) -> set[str]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return function_free_names(node)[0]
    if _lambda_name(node) is not None:
        assert isinstance(node, ast.Assign) and isinstance(node.value, ast.Lambda)
        return function_free_names(node.value)[0]
    if isinstance(node, ast.ClassDef):
        names: set[str] = set()
        for item in node.body:
            if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                names |= function_free_names(item)[0]
        return names
    return set()


def analyze_statement(stmt: ast.stmt) -> StatementInfo:
    """Def/use facts of one top-level statement."""
    scope = Scope(module=True, rules=MUTATIONS)
    scope.visit(stmt)
    info = StatementInfo(
        stmt,
        reads=set(scope.loads),
        writes=set(scope.stores),
        deletes=set(scope.deletes),
        problems=list(scope.problems),
    )
    info.mutates = set(scope.mutates)
    if isinstance(stmt, ast.AugAssign) and isinstance(stmt.target, ast.Name):
        info.mutates.add(stmt.target.id)  # `x += [1]` may change a list in place; Scope already counts the read
    if isinstance(stmt, (ast.AsyncFor, ast.AsyncWith)):
        info.problems.append("a top-level `async for`/`async with`")
    if isinstance(stmt, (ast.Return, ast.Yield)) or (
        isinstance(stmt, ast.Expr) and isinstance(stmt.value, (ast.Yield, ast.YieldFrom))
    ):
        info.problems.append("a top-level `return`/`yield`")
    info.late_reads = _late_reads(stmt)
    return info
