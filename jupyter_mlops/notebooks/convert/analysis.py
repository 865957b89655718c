"""Static def/use analysis of notebook statements, as if each cell ran at module level.

For every top-level statement :func:`analyze_statement` reports the module-level names it reads (including the
free names of the functions, lambdas, classes and comprehensions it defines, since those resolve to notebook
globals), the names it (re)binds, and the names it mutates in place: method calls on a name (``x.append(...)``,
``df.drop(..., inplace=True)``), augmented assignment, and assignment or deletion through a subscript or an
attribute (``x[0] = ...``, ``obj.attr = ...``). Scoping follows Python's rules: function parameters and locals,
class bodies, comprehension targets, walrus targets escaping comprehensions, ``except ... as``, ``match``
captures. Mutation detection is deliberately conservative — an unknown method call on a name counts as a
mutation — because an extra output costs nothing at run time, while a missed one changes results.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

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

_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def mutating_call(func: ast.Attribute, keywords: list[ast.keyword]) -> bool:
    """Whether a method call may change its receiver (unknown methods may; ``inplace=True`` always does)."""
    if any(k.arg == "inplace" and _is_true(k.value) for k in keywords):
        return True
    if func.attr in PURE_METHODS or func.attr in OUTPUT_METHODS:
        return False
    return not (isinstance(func.value, ast.Attribute) and func.value.attr in _OUTPUT_ACCESSORS)


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


class _Scope(ast.NodeVisitor):
    """Collects the loads and stores of one scope; nested scopes contribute their free names as loads."""

    def __init__(self, *, module: bool, immediate: bool | None = None) -> None:
        self.module = module
        #: code of this scope runs now (module level, or a comprehension in it): its mutations count
        self.immediate = module if immediate is None else immediate
        self.mutates: set[str] = set()
        self.loads: set[str] = set()
        self.stores: set[str] = set()
        self.deletes: set[str] = set()
        self.declared: set[str] = set()  # global/nonlocal inside a function
        self.escaping: set[str] = set()  # walrus targets that bind in the enclosing scope
        self.problems: list[str] = []

    # --- names -------------------------------------------------------------------------------------------
    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            self.loads.add(node.id)
        elif isinstance(node.ctx, ast.Store):
            self.stores.add(node.id)
        else:
            self.loads.add(node.id)
            self.deletes.add(node.id)

    def visit_Call(self, node: ast.Call) -> None:
        if self.immediate and isinstance(node.func, ast.Attribute) and mutating_call(node.func, node.keywords):
            name = root_name(node.func.value)
            if name:
                self.mutates.add(name)
        self.generic_visit(node)

    def _store_through(self, targets: list[ast.expr]) -> None:
        if not self.immediate:
            return
        for target in targets:
            for element in ast.walk(target):
                stored = isinstance(getattr(element, "ctx", None), (ast.Store, ast.Del))
                if stored and isinstance(element, (ast.Attribute, ast.Subscript)):
                    name = root_name(element)
                    if name:
                        self.mutates.add(name)

    def visit_Assign(self, node: ast.Assign) -> None:
        self._store_through(node.targets)
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self._store_through([node.target])
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self._store_through([node.target])
        self.generic_visit(node)

    def visit_Delete(self, node: ast.Delete) -> None:
        self._store_through(node.targets)
        self.generic_visit(node)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self.visit(node.value)
        self.stores.add(node.target.id)

    def visit_alias(self, node: ast.alias) -> None:
        if node.name != "*":
            self.stores.add(node.asname or node.name.split(".")[0])

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.name:
            self.stores.add(node.name)
        self.generic_visit(node)

    def visit_MatchAs(self, node: ast.MatchAs) -> None:
        if node.name:
            self.stores.add(node.name)
        self.generic_visit(node)

    def visit_MatchStar(self, node: ast.MatchStar) -> None:
        if node.name:
            self.stores.add(node.name)

    def visit_MatchMapping(self, node: ast.MatchMapping) -> None:
        if node.rest:
            self.stores.add(node.rest)
        self.generic_visit(node)

    def visit_Global(self, node: ast.Global) -> None:
        if self.module:
            self.problems.append("a top-level `global` statement")
        else:
            self.problems.append(f"`global {', '.join(node.names)}` inside a function (pass the value instead)")
        self.declared.update(node.names)

    def visit_Nonlocal(self, node: ast.Nonlocal) -> None:
        self.declared.update(node.names)

    def visit_Await(self, node: ast.Await) -> None:
        if self.module:
            self.problems.append("a top-level `await`")
        self.generic_visit(node)

    # --- nested scopes -----------------------------------------------------------------------------------
    def _visit_signature(self, args: ast.arguments) -> None:
        for default in [*args.defaults, *args.kw_defaults]:
            if default is not None:
                self.visit(default)
        for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]:
            if arg is not None and arg.annotation is not None:
                self.visit(arg.annotation)

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for decorator in node.decorator_list:
            self.visit(decorator)
        self._visit_signature(node.args)
        if node.returns is not None:
            self.visit(node.returns)
        self.stores.add(node.name)
        self.loads |= self._absorb(function_free_names(node))

    visit_AsyncFunctionDef = visit_FunctionDef  # noqa: N815 - ast visitor naming

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self._visit_signature(node.args)
        self.loads |= self._absorb(function_free_names(node))

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for expr in [*node.decorator_list, *node.bases, *(k.value for k in node.keywords)]:
            self.visit(expr)
        self.stores.add(node.name)
        self.loads |= self._absorb(class_free_names(node))

    def _visit_comprehension(self, node: ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp) -> None:
        self.visit(node.generators[0].iter)  # evaluated in the enclosing scope
        inner = _Scope(module=False, immediate=self.immediate)
        for index, generator in enumerate(node.generators):
            inner.visit(generator.target)
            if index:
                inner.visit(generator.iter)
            for condition in generator.ifs:
                inner.visit(condition)
        for part in (node.key, node.value) if isinstance(node, ast.DictComp) else (node.elt,):
            inner.visit(part)
        escaping = _walrus_targets(node)
        self.stores |= escaping
        self.mutates |= inner.mutates
        self.problems += inner.problems
        self.loads |= inner.loads - (inner.stores - escaping)

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _visit_comprehension  # noqa: N815

    def _absorb(self, result: tuple[set[str], list[str]]) -> set[str]:
        free, problems = result
        self.problems += problems
        return free


def _walrus_targets(node: ast.AST) -> set[str]:
    return {n.target.id for n in ast.walk(node) if isinstance(n, ast.NamedExpr)}


def function_free_names(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> tuple[set[str], list[str]]:
    """The names a function body looks up outside itself, and the problems found in it."""
    scope = _Scope(module=False)
    args = node.args
    params = {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg] if a}
    body = [node.body] if isinstance(node, ast.Lambda) else node.body
    for stmt in body:
        scope.visit(stmt)
    local = (params | scope.stores) - scope.declared
    return (scope.loads - local) | (scope.declared & scope.loads), scope.problems


def class_free_names(node: ast.ClassDef) -> tuple[set[str], list[str]]:
    """Free names of a class body: every class-level load (conservative) plus its methods' free names."""
    scope = _Scope(module=False)
    for stmt in node.body:
        scope.visit(stmt)
    # class-level names do not reach the methods, so a method's free name is global even if the class binds it
    return scope.loads - (scope.stores - scope.loads), scope.problems


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


def root_name(node: ast.expr) -> str | None:
    """``x`` for ``x``, ``x.a``, ``x[0].b``; None when the chain passes through a call or a literal."""
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Starred)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _is_true(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is True


def analyze_statement(stmt: ast.stmt) -> StatementInfo:
    """Def/use facts of one top-level statement."""
    scope = _Scope(module=True)
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
        info.mutates.add(stmt.target.id)
        info.reads.add(stmt.target.id)
    if isinstance(stmt, (ast.AsyncFor, ast.AsyncWith)):
        info.problems.append("a top-level `async for`/`async with`")
    if isinstance(stmt, (ast.Return, ast.Yield)) or (
        isinstance(stmt, ast.Expr) and isinstance(stmt.value, (ast.Yield, ast.YieldFrom))
    ):
        info.problems.append("a top-level `return`/`yield`")
    info.late_reads = _late_reads(stmt)
    return info
