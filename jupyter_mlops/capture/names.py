"""Which module-level names a piece of notebook code reads, binds, deletes and changes in place (Python's scoping).

The one name analysis of the package (ADR-046): the kernel observer uses it for a run's context cells
(:attr:`jupyter_mlops.capture.cells.CellAnalysis.names_read`), and ``notebooks.convert`` for the arguments and
return values of a converted section. Scoping follows Python's rules: function parameters and locals, class
bodies, comprehension targets, walrus targets escaping comprehensions, ``except ... as``, ``match`` captures,
``global``/``nonlocal``. A nested function, lambda, class or comprehension contributes only its *free* names, the
ones that resolve outside it; a name it only uses locally is not read from the notebook.

Whether a method call changes its receiver is a policy, not a fact of the language, so the caller passes it
(:class:`MutationRules`); without rules no mutation is tracked, which costs nothing extra.

Standard library only: this module runs on the kernel's writer thread and inside convert, never with IPython.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "MutationRules",
    "Scope",
    "class_free_names",
    "function_free_names",
    "module_names",
    "root_name",
]


@dataclass(frozen=True)
class MutationRules:
    """Which method calls leave their receiver unchanged; any other method call on a name counts as a change.

    Conservative by design: an unknown method may mutate, and ``inplace=True`` always does.

    Attributes:
        pure_methods: methods that never change their receiver (``copy``, ``head``, ``mean``...).
        output_methods: methods that draw, show or write a value elsewhere without changing it (``plot``, ``to_csv``).
        output_accessors: attributes whose methods draw or style a copy (``df.plot.bar()``, ``df.style.format()``).
    """

    pure_methods: frozenset[str] = frozenset()
    output_methods: frozenset[str] = frozenset()
    output_accessors: frozenset[str] = frozenset()

    def mutates(self, func: ast.Attribute, keywords: list[ast.keyword]) -> bool:
        """Whether calling the method ``func`` with ``keywords`` may change its receiver."""
        if any(k.arg == "inplace" and _is_true(k.value) for k in keywords):
            return True
        if func.attr in self.pure_methods or func.attr in self.output_methods:
            return False
        return not (isinstance(func.value, ast.Attribute) and func.value.attr in self.output_accessors)


def root_name(node: ast.expr) -> str | None:
    """``x`` for ``x``, ``x.a``, ``x[0].b``; None when the chain passes through a call or a literal."""
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Starred)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _is_true(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is True


class Scope:
    """Collects the loads, stores, deletions and in-place changes of one scope.

    Nested scopes (functions, lambdas, classes, comprehensions) contribute their free names as loads. Feed it
    statements with :meth:`visit`; read the sets afterwards.

    Args:
        module: the scope is the notebook's (module) level: ``global`` and ``await`` there are reported.
        immediate: the scope's code runs now (module level, or a comprehension in it), so its changes count;
            defaults to ``module``.
        rules: what counts as an in-place change; None tracks none.
    """

    __slots__ = ("module", "immediate", "rules", "mutates", "loads", "stores", "deletes", "declared", "problems")

    def __init__(self, *, module: bool, immediate: bool | None = None, rules: MutationRules | None = None) -> None:
        self.module = module
        self.immediate = module if immediate is None else immediate
        self.rules = rules
        self.mutates: set[str] = set()
        self.loads: set[str] = set()
        self.stores: set[str] = set()
        self.deletes: set[str] = set()
        #: names declared ``global``/``nonlocal`` inside a function
        self.declared: set[str] = set()
        #: problems that make code unconvertible (``global`` inside a function, top-level ``await``)
        self.problems: list[str] = []

    def visit(self, node: ast.AST) -> None:
        """Account for ``node`` and everything under it."""
        # One dispatch table per node class instead of ast.NodeVisitor's getattr per node: this runs over every
        # cell of a tracked kernel on the writer thread.
        handler = _HANDLERS.get(node.__class__)
        if handler is None:
            self.generic_visit(node)
        else:
            handler(self, node)

    def generic_visit(self, node: ast.AST) -> None:
        """Visit every child of ``node``."""
        visit = self.visit
        for name in node._fields:
            child = getattr(node, name, None)
            if child.__class__ is list:
                for item in child:
                    if isinstance(item, ast.AST):
                        visit(item)
            elif isinstance(child, ast.AST):
                visit(child)

    # --- names -------------------------------------------------------------------------------------------
    def _name(self, node: ast.Name) -> None:
        ctx = node.ctx.__class__
        if ctx is ast.Load:
            self.loads.add(node.id)
        elif ctx is ast.Store:
            self.stores.add(node.id)
        else:  # del x reads x (it must exist) and unbinds it
            self.loads.add(node.id)
            self.deletes.add(node.id)

    def _call(self, node: ast.Call) -> None:
        func = node.func
        if self.rules is not None and self.immediate and isinstance(func, ast.Attribute):
            if self.rules.mutates(func, node.keywords):
                name = root_name(func.value)
                if name:
                    self.mutates.add(name)
        self.generic_visit(node)

    def _store_through(self, targets: Iterable[ast.expr]) -> None:
        if self.rules is None or not self.immediate:
            return
        for target in targets:
            for element in ast.walk(target):
                stored = isinstance(getattr(element, "ctx", None), (ast.Store, ast.Del))
                if stored and isinstance(element, (ast.Attribute, ast.Subscript)):
                    name = root_name(element)
                    if name:
                        self.mutates.add(name)

    def _assign(self, node: ast.Assign) -> None:
        self._store_through(node.targets)
        self.generic_visit(node)

    def _aug_assign(self, node: ast.AugAssign) -> None:
        # `x += 1` needs the x bound before it, wherever it stands (also inside a loop or an if).
        if isinstance(node.target, ast.Name):
            self.loads.add(node.target.id)
        self._store_through([node.target])
        self.generic_visit(node)

    def _ann_assign(self, node: ast.AnnAssign) -> None:
        self._store_through([node.target])
        self.generic_visit(node)

    def _delete(self, node: ast.Delete) -> None:
        self._store_through(node.targets)
        self.generic_visit(node)

    def _named_expr(self, node: ast.NamedExpr) -> None:
        self.visit(node.value)
        self.stores.add(node.target.id)

    def _alias(self, node: ast.alias) -> None:
        if node.name != "*":
            self.stores.add(node.asname or node.name.split(".")[0])

    def _except_handler(self, node: ast.ExceptHandler) -> None:
        if node.name:
            self.stores.add(node.name)
        self.generic_visit(node)

    def _match_as(self, node: ast.MatchAs) -> None:
        if node.name:
            self.stores.add(node.name)
        self.generic_visit(node)

    def _match_star(self, node: ast.MatchStar) -> None:
        if node.name:
            self.stores.add(node.name)

    def _match_mapping(self, node: ast.MatchMapping) -> None:
        if node.rest:
            self.stores.add(node.rest)
        self.generic_visit(node)

    def _global(self, node: ast.Global) -> None:
        if self.module:
            self.problems.append("a top-level `global` statement")
        else:
            self.problems.append(f"`global {', '.join(node.names)}` inside a function (pass the value instead)")
        self.declared.update(node.names)

    def _nonlocal(self, node: ast.Nonlocal) -> None:
        self.declared.update(node.names)

    def _await(self, node: ast.Await) -> None:
        if self.module:
            self.problems.append("a top-level `await`")
        self.generic_visit(node)

    # --- nested scopes -----------------------------------------------------------------------------------
    def _signature(self, args: ast.arguments) -> None:
        for default in [*args.defaults, *args.kw_defaults]:
            if default is not None:
                self.visit(default)
        for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]:
            if arg is not None and arg.annotation is not None:
                self.visit(arg.annotation)

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for decorator in node.decorator_list:
            self.visit(decorator)
        self._signature(node.args)
        if node.returns is not None:
            self.visit(node.returns)
        self.stores.add(node.name)
        self.loads |= self._absorb(function_free_names(node))

    def _lambda(self, node: ast.Lambda) -> None:
        self._signature(node.args)
        self.loads |= self._absorb(function_free_names(node))

    def _class(self, node: ast.ClassDef) -> None:
        for expr in [*node.decorator_list, *node.bases, *(k.value for k in node.keywords)]:
            self.visit(expr)
        self.stores.add(node.name)
        self.loads |= self._absorb(class_free_names(node))

    def _comprehension(self, node: ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp) -> None:
        self.visit(node.generators[0].iter)  # evaluated in the enclosing scope
        inner = Scope(module=False, immediate=self.immediate, rules=self.rules)
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

    def _absorb(self, result: tuple[set[str], list[str]]) -> set[str]:
        free, problems = result
        self.problems += problems
        return free


_HANDLERS: dict[type[ast.AST], Callable[[Scope, Any], None]] = {
    ast.Name: Scope._name,
    ast.Call: Scope._call,
    ast.Assign: Scope._assign,
    ast.AugAssign: Scope._aug_assign,
    ast.AnnAssign: Scope._ann_assign,
    ast.Delete: Scope._delete,
    ast.NamedExpr: Scope._named_expr,
    ast.alias: Scope._alias,
    ast.ExceptHandler: Scope._except_handler,
    ast.MatchAs: Scope._match_as,
    ast.MatchStar: Scope._match_star,
    ast.MatchMapping: Scope._match_mapping,
    ast.Global: Scope._global,
    ast.Nonlocal: Scope._nonlocal,
    ast.Await: Scope._await,
    ast.FunctionDef: Scope._function,
    ast.AsyncFunctionDef: Scope._function,
    ast.Lambda: Scope._lambda,
    ast.ClassDef: Scope._class,
    ast.ListComp: Scope._comprehension,
    ast.SetComp: Scope._comprehension,
    ast.DictComp: Scope._comprehension,
    ast.GeneratorExp: Scope._comprehension,
}


def _walrus_targets(node: ast.AST) -> set[str]:
    return {n.target.id for n in ast.walk(node) if isinstance(n, ast.NamedExpr)}


def function_free_names(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> tuple[set[str], list[str]]:
    """The names a function body looks up outside itself, and the problems found in it."""
    scope = Scope(module=False)
    args = node.args
    params = {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg] if a}
    if isinstance(node, ast.Lambda):
        scope.visit(node.body)
    else:
        for stmt in node.body:
            scope.visit(stmt)
    local = (params | scope.stores) - scope.declared
    return (scope.loads - local) | (scope.declared & scope.loads), scope.problems


def class_free_names(node: ast.ClassDef) -> tuple[set[str], list[str]]:
    """Free names of a class body: every class-level load (conservative) plus its methods' free names."""
    scope = Scope(module=False)
    for stmt in node.body:
        scope.visit(stmt)
    # class-level names do not reach the methods, so a method's free name is global even if the class binds it
    return scope.loads - (scope.stores - scope.loads), scope.problems


def module_names(tree: ast.Module) -> tuple[set[str], set[str]]:
    r"""``(names read, names bound)`` of a whole cell run at module level, by Python's scoping.

    Read: every name the cell looks up in the notebook's namespace, including the free names of the functions,
    classes, lambdas and comprehensions it defines (a function's parameters and locals are not reads).
    Bound: every name the cell (re)binds at its own level: assignments, loop and ``with`` targets, imports,
    ``def``/``class``, ``except ... as``, walrus targets (also from comprehensions), ``match`` captures.

    Example:
        >>> reads, binds = module_names(ast.parse("def f(a):\n    b = a + g\n    return b\ny = f(x)"))
        >>> sorted(reads), sorted(binds)
        (['f', 'g', 'x'], ['f', 'y'])
    """
    scope = Scope(module=True)
    for stmt in tree.body:
        scope.visit(stmt)
    return scope.loads, scope.stores
