"""What one cell's statements read, bind, change in place, write to disk and log, as far as a static look can tell.

Per top-level statement (a cell binds a name before it reads it: ``x = 1; y = x`` reads no ``x`` from before):

* names read now, and names bound: *must* (a top-level assignment, ``import``, ``def``, ``class``, ``with``,
  ``del``) or *may* (inside ``if``/``for``/``while``/``try``/``match``, whose body may not have run);
* names changed in place (:class:`~jupyter_mlops.capture.names.MutationRules`: ``x.append(...)``, ``x[0] = ...``,
  ``x.a = ...``, ``inplace=True``, ``x += ...``), convert's policy of pure and output methods plus the tracking
  API's ``log_*`` methods; whether the receiver is an imported module is only known in order, so the slicer
  filters those (:mod:`.slicer`);
* functions and classes defined, with what a *call* reads and changes: the globals the body looks up when it runs,
  the names declared ``global`` it binds, the free names it changes in place (:class:`FunctionFacts`);
* pseudo names for what is not a name: ``file:PATH`` (a literal path read or written by a recognised reader or
  writer, :mod:`.file_writes`; a path held by a variable is resolved by the slicer when it holds a string literal),
  ``<run>`` (the active run: ``start_run``/``end_run`` bind it, ``log_*`` read it) and ``<random>`` (the global
  random state: ``seed`` binds it, drawing reads and changes it);
* *unsure* reasons: ``exec``/``eval`` of code built at run time, ``globals()``/``vars()``/``locals()`` not
  subscripted with a literal, star imports, ``get_ipython()``; the slicer treats such a statement as possibly
  changing any name. ``exec``/``eval`` of a string literal are analysed as the code they run.

Standard library only, and cached by source text: slicing a run re-analyses each distinct cell source once.
"""

from __future__ import annotations

import ast
from collections import OrderedDict
from dataclasses import dataclass, field

from jupyter_mlops.capture.cells import _file_read_by
from jupyter_mlops.capture.names import MutationRules, Scope, class_free_names, function_free_names, root_name
from jupyter_mlops.notebooks.convert.analysis import MUTATIONS, display_only
from jupyter_mlops.notebooks.slicing.file_writes import ANY_FILE, file_name, literal_text, write_mode, write_path

__all__ = ["RANDOM", "RUN", "FunctionFacts", "StatementFacts", "analyze_code", "shows_only"]

RUN = "<run>"
RANDOM = "<random>"

#: tracking API methods: they record values elsewhere and leave their receiver (a run, the module) unchanged.
TRACKING_METHODS = frozenset({
    "start_run", "end_run", "log_metric", "log_metrics", "log_param", "log_params", "log_data", "log_artifact",
    "log_model", "set_tags", "note", "flush", "log_sliced_metrics",
})
_LOGGING_METHODS = frozenset({"debug", "info", "warning", "warn", "error", "exception", "critical", "print"})
RULES = MutationRules(
    pure_methods=MUTATIONS.pure_methods,
    output_methods=MUTATIONS.output_methods | TRACKING_METHODS | _LOGGING_METHODS,
    output_accessors=MUTATIONS.output_accessors,
)
_LOGS = frozenset({"log_metric", "log_metrics", "log_param", "log_params", "log_data", "log_artifact", "log_model",
                   "set_tags", "note", "log_sliced_metrics"})
_READ_HINTS = ("read_", "scan_")
_SEEDS = frozenset({"seed", "manual_seed", "set_seed", "manual_seed_all"})
_RNG_CONSTRUCTORS = frozenset({"default_rng", "RandomState", "Generator", "SeedSequence", "PCG64", "Random"})
_NAMESPACE_CALLS = frozenset({"globals", "vars", "locals"})
_MUST_STATEMENTS = (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.Import, ast.ImportFrom, ast.FunctionDef,
                    ast.AsyncFunctionDef, ast.ClassDef, ast.Expr, ast.With, ast.Delete)
_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_CACHE_SIZE = 4096


@dataclass(frozen=True)
class FunctionFacts:
    """What calling a notebook function (or a class's methods) reads and changes, beyond its arguments."""

    reads: frozenset[str]
    writes: frozenset[str]
    mutates: frozenset[str]
    unsure: tuple[str, ...] = ()
    #: the body changes one of its parameters in place: a call may change the names passed to it
    changes_arguments: bool = False


@dataclass
class StatementFacts:
    """What one top-level statement does (see the module docstring)."""

    reads: set[str] = field(default_factory=set)
    must: set[str] = field(default_factory=set)
    may: set[str] = field(default_factory=set)
    mutates: set[str] = field(default_factory=set)
    #: names whose attributes the statement sets (``x.a = 1``, ``setattr(x, ...)``): unsure when x is a module
    attribute_stores: set[str] = field(default_factory=set)
    imports: set[str] = field(default_factory=set)
    defs: dict[str, FunctionFacts] = field(default_factory=dict)
    #: ``name = "a string"``: a path held by a variable is resolved through these
    literals: dict[str, str] = field(default_factory=dict)
    #: ``b = a``: ``b`` now names the object ``a`` names (a change through one changes the other)
    aliases: dict[str, str] = field(default_factory=dict)
    #: variables used as the path of a read, and of a write (True: the write replaces the file)
    path_reads: set[str] = field(default_factory=set)
    path_writes: dict[str, bool] = field(default_factory=dict)
    unsure: list[str] = field(default_factory=list)
    #: files the statement writes at paths no static look can know (it may replace any file)
    file_notes: list[str] = field(default_factory=list)
    #: metric keys logged by a literal key; ``*`` when a key is computed
    metrics: set[str] = field(default_factory=set)
    #: for each function called by its name, the names passed to it (a call may change them in place)
    call_arguments: dict[str, set[str]] = field(default_factory=dict)
    #: the statement only shows a value (``df``, ``df.head()``, ``display(x)``): the emitted slice drops it
    shows_only: bool = False
    #: its first and last line in the code
    lines: tuple[int, int] = (0, 0)


class _Names(Scope):
    """Python's scoping (:class:`Scope`), with each ``def``/``class``/``f = lambda`` kept as :class:`FunctionFacts`."""

    __slots__ = ("defs",)

    def __init__(self) -> None:
        super().__init__(module=True, rules=RULES)
        self.defs: dict[str, FunctionFacts] = {}

    def visit(self, node: ast.AST) -> None:
        kind = node.__class__
        if kind is ast.FunctionDef or kind is ast.AsyncFunctionDef:
            assert isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            for decorator in node.decorator_list:
                self.visit(decorator)
            self._signature(node.args)
            if node.returns is not None:
                self.visit(node.returns)
            self.stores.add(node.name)  # its body's globals are read when it is called, not now
            self.defs[node.name] = function_facts(node)
        elif kind is ast.ClassDef:
            assert isinstance(node, ast.ClassDef)
            super().visit(node)
            self.defs[node.name] = class_facts(node)
        elif isinstance(node, ast.Assign) and _lambda_target(node) is not None:
            assert isinstance(node.value, ast.Lambda)
            name = _lambda_target(node)
            assert name is not None
            self._signature(node.value.args)
            self.stores.add(name)
            self.defs[name] = function_facts(node.value)
        else:
            super().visit(node)


def _lambda_target(node: ast.Assign) -> str | None:
    if len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) and isinstance(node.value, ast.Lambda):
        return node.targets[0].id
    return None


def function_facts(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> FunctionFacts:
    """What a call of ``node`` reads and changes among the notebook's names (and files, the run, random state)."""
    free, _ = function_free_names(node)
    body: list[ast.AST] = [node.body] if isinstance(node, ast.Lambda) else list(node.body)
    declared: set[str] = set()
    for stmt in body:
        for inner in ast.walk(stmt):
            if isinstance(inner, ast.Global):
                declared.update(inner.names)
    writes = {inner.id for stmt in body for inner in ast.walk(stmt)
              if isinstance(inner, ast.Name) and not isinstance(inner.ctx, ast.Load) and inner.id in declared}
    scope = Scope(module=False, immediate=True, rules=RULES)
    for stmt in body:
        scope.visit(stmt)
    effects = StatementFacts()
    for stmt in body:
        _special_calls(_nodes(stmt), effects, must=False)
    # a path handed in as an argument is known only at the call: the call may write any file
    if effects.path_writes or effects.file_notes:
        effects.may.add(ANY_FILE)
    if effects.path_reads:
        effects.reads.add(ANY_FILE)
    params = set() if isinstance(node, ast.Lambda) else {
        a.arg for a in [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs, node.args.vararg,
                        node.args.kwarg] if a is not None}
    return FunctionFacts(
        reads=frozenset(free | effects.reads),
        writes=frozenset(writes | effects.must | effects.may),
        mutates=frozenset((scope.mutates & free) | (scope.mutates & declared)),
        unsure=tuple(effects.unsure),
        changes_arguments=bool(scope.mutates & params),
    )


def class_facts(node: ast.ClassDef) -> FunctionFacts:
    """A class as one function: what any of its methods reads and changes when called (conservative union)."""
    reads: set[str] = set()
    writes: set[str] = set()
    mutates: set[str] = set()
    unsure: list[str] = []
    for item in node.body:
        if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
            facts = function_facts(item)
            reads |= facts.reads
            writes |= facts.writes
            mutates |= facts.mutates
            unsure += facts.unsure
    return FunctionFacts(frozenset(reads | class_free_names(node)[0]), frozenset(writes), frozenset(mutates),
                         tuple(unsure), changes_arguments=True)


def _nodes(root: ast.AST) -> list[ast.AST]:
    """Every node of ``root`` that runs now: function and class bodies are skipped (they run when called).

    Hand-rolled over ``_fields`` (``ast.iter_child_nodes`` costs twice as much), without the ``Load``/``Store``
    context nodes; one list per statement, shared by every question asked of it.
    """
    found: list[ast.AST] = []
    stack: list[ast.AST] = [root]
    context = ast.expr_context
    while stack:
        node = stack.pop()
        found.append(node)
        if node is not root and isinstance(node, _DEFS):
            continue
        for name in node._fields:
            child = getattr(node, name, None)
            if child.__class__ is list:
                stack.extend(item for item in child if isinstance(item, ast.AST))
            elif isinstance(child, ast.AST) and not isinstance(child, context):
                stack.append(child)
    return found


def _metric_keys(call: ast.Call, method: str) -> set[str]:
    if method == "log_metric":
        key = literal_text(call.args[0]) if call.args else next(
            (literal_text(k.value) for k in call.keywords if k.arg == "key"), None)
        return {key} if key is not None else {"*"}
    if method != "log_metrics" or not call.args:
        return set()
    mapping = call.args[0]
    if isinstance(mapping, ast.Call) and mapping.args:  # %%track metrics: tracked_metrics({...})
        mapping = mapping.args[0]
    if isinstance(mapping, ast.Dict) and all(literal_text(key) is not None for key in mapping.keys):
        return {str(literal_text(key)) for key in mapping.keys}
    return {"*"}


def _attribute_chain(func: ast.expr) -> list[str]:
    parts = []
    while isinstance(func, ast.Attribute):
        parts.append(func.attr)
        func = func.value
    if isinstance(func, ast.Name):
        parts.append(func.id)
    return parts


def _special_calls(nodes: list[ast.AST], facts: StatementFacts, *, must: bool) -> None:
    """Files, the run, random state, metric keys and the unsure constructs among the calls ``nodes`` make now."""
    literal_namespace: set[int] = set()
    for node in nodes:
        if isinstance(node, ast.Subscript) and _namespace_call(node.value) and literal_text(node.slice) is not None:
            literal_namespace.add(id(node.value))
            name = str(literal_text(node.slice))
            if isinstance(node.ctx, ast.Load):
                facts.reads.add(name)
            else:
                facts.may.add(name)
        elif isinstance(node, ast.ImportFrom) and any(alias.name == "*" for alias in node.names):
            facts.unsure.append(f"`from {node.module} import *` binds names no analysis can see")
        elif isinstance(node, ast.Call):
            _call(node, facts, must, literal_namespace)


def _namespace_call(node: ast.expr) -> bool:
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _NAMESPACE_CALLS
            and not node.args)


def _call(node: ast.Call, facts: StatementFacts, must: bool, literal_namespace: set[int]) -> None:
    func = node.func
    name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
    if name is None:
        return
    if isinstance(func, ast.Name):
        passed = {root for arg in [*node.args, *(k.value for k in node.keywords)] if (root := root_name(arg))}
        if passed:
            facts.call_arguments.setdefault(name, set()).update(passed)
    elif name == "shuffle":  # random.shuffle(x), np.random.shuffle(x): the argument changes in place
        facts.mutates.update(root for arg in node.args[:1] if (root := root_name(arg)))
    if isinstance(func, ast.Name) and name in ("exec", "eval"):
        _exec(node, name, facts)
    elif _namespace_call(node) and id(node) not in literal_namespace:
        facts.unsure.append(f"`{name}()` reaches names no analysis can see")
    elif isinstance(func, ast.Name) and name in ("setattr", "delattr") and node.args:
        target = root_name(node.args[0])
        if target:
            facts.attribute_stores.add(target)
            facts.mutates.add(target)
    elif name == "get_ipython" or (isinstance(func, ast.Attribute) and name in ("run_cell", "run_line_magic",
                                                                                  "run_cell_magic", "system")):
        facts.unsure.append(f"`{name}` runs code no analysis can see")
    if name in ("start_run", "end_run"):
        (facts.must if must else facts.may).add(RUN)
    elif name in _LOGS:
        facts.reads.add(RUN)
        facts.metrics |= _metric_keys(node, name)
    if isinstance(func, ast.Attribute):
        _random(func, facts)
    _files(node, facts, must)


def _exec(node: ast.Call, name: str, facts: StatementFacts) -> None:
    code = literal_text(node.args[0]) if node.args else None
    if code is None or len(node.args) > 1:
        facts.unsure.append(f"`{name}` of code built at run time")
        return
    try:
        tree = ast.parse(code, mode="exec" if name == "exec" else "eval")
    except SyntaxError:
        facts.unsure.append(f"`{name}` of code that does not parse")
        return
    body: list[ast.stmt] = list(tree.body) if isinstance(tree, ast.Module) else [
        ast.Expr(tree.body) if isinstance(tree, ast.Expression) else ast.Pass()]
    for inner in _statements(ast.Module(body=body, type_ignores=[])):
        facts.reads |= inner.reads
        facts.may |= inner.must | inner.may
        facts.mutates |= inner.mutates
        facts.defs.update(inner.defs)
        facts.unsure += inner.unsure
        facts.metrics |= inner.metrics


def _random(func: ast.Attribute, facts: StatementFacts) -> None:
    chain = _attribute_chain(func)
    if func.attr in _RNG_CONSTRUCTORS:
        return
    if func.attr in _SEEDS:
        facts.may.add(RANDOM)
    elif "random" in chain[1:]:
        facts.reads.add(RANDOM)
        facts.may.add(RANDOM)


def _files(node: ast.Call, facts: StatementFacts, must: bool) -> None:
    path = _file_read_by(node)
    if path:
        facts.reads.add(file_name(path))
    elif (isinstance(node.func, ast.Attribute) and node.func.attr.startswith(_READ_HINTS)
          or isinstance(node.func, ast.Name) and node.func.id == "open" and write_mode(node, 1) is None):
        if node.args and isinstance(node.args[0], ast.Name):
            facts.path_reads.add(node.args[0].id)
    written = write_path(node)
    if written is None:
        return
    target, replaces = written
    literal = literal_text(target)
    if literal is not None:
        (facts.must if must and replaces else facts.may).add(file_name(literal))
    elif isinstance(target, ast.Name):
        facts.path_writes[target.id] = must and replaces
    else:
        facts.may.add(ANY_FILE)
        facts.file_notes.append("writes a file at a path computed at run time")


def _conditional_binds(body: list[ast.stmt]) -> set[str]:
    """Names bound inside the compound statements (``if``, ``for``, ``try``...) of a ``with`` body."""
    names: set[str] = set()
    for stmt in body:
        if isinstance(stmt, (ast.With, ast.AsyncWith)):
            names |= _conditional_binds(stmt.body)
        elif not isinstance(stmt, _MUST_STATEMENTS):
            scope = Scope(module=True)
            scope.visit(stmt)
            names |= scope.stores | scope.deletes
    return names


def shows_only(stmt: ast.stmt) -> bool:
    """A bare expression that only shows a value (convert's rule), or a ``display(...)`` of such values."""
    if display_only(stmt):
        return True
    value = stmt.value if isinstance(stmt, ast.Expr) else None
    return (isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id == "display"
            and all(display_only(ast.Expr(arg)) for arg in value.args))


def _statement(stmt: ast.stmt) -> StatementFacts:
    scope = _Names()
    scope.visit(stmt)
    must = isinstance(stmt, _MUST_STATEMENTS)
    facts = StatementFacts(reads=set(scope.loads), defs=scope.defs, shows_only=shows_only(stmt),
                           lines=(stmt.lineno, stmt.end_lineno or stmt.lineno))
    bound = scope.stores | scope.deletes
    (facts.must if must else facts.may).update(bound)
    if isinstance(stmt, (ast.With, ast.AsyncWith)):  # its body runs, but an `if` in it may not bind
        conditional = _conditional_binds(stmt.body)
        facts.must -= conditional
        facts.may |= conditional
    facts.mutates = scope.mutates & scope.loads
    if isinstance(stmt, ast.AugAssign) and isinstance(stmt.target, ast.Name):
        facts.mutates.add(stmt.target.id)
    if isinstance(stmt, (ast.Import, ast.ImportFrom)):
        facts.imports = set(scope.stores)
    nodes = _nodes(stmt)
    for node in nodes:
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
            for target in targets:
                if isinstance(target, ast.Attribute):
                    name = root_name(target)
                    if name:
                        facts.attribute_stores.add(name)
    if not isinstance(stmt, (ast.Assign, ast.Expr, ast.Import, ast.ImportFrom)):
        facts.reads -= _block_targets(nodes)
    if isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Name):
        for target in stmt.targets:
            if isinstance(target, ast.Name):
                facts.aliases[target.id] = stmt.value.id
    if isinstance(stmt, ast.Assign) and literal_text(stmt.value) is not None:
        for target in stmt.targets:
            if isinstance(target, ast.Name):
                facts.literals[target.id] = str(literal_text(stmt.value))
    _special_calls(nodes, facts, must=must)
    return facts


def _block_targets(nodes: list[ast.AST]) -> set[str]:
    """Names a compound statement binds before its body reads them (loop, ``with ... as``, ``except ... as``)."""
    bound: set[str] = set()
    heads: list[ast.expr] = []
    for node in nodes:
        if isinstance(node, (ast.For, ast.AsyncFor)):
            bound |= {n.id for n in ast.walk(node.target) if isinstance(n, ast.Name)}
            heads.append(node.iter)
        elif isinstance(node, ast.withitem) and node.optional_vars is not None:
            bound |= {n.id for n in ast.walk(node.optional_vars) if isinstance(n, ast.Name)}
            heads.append(node.context_expr)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    read_in_heads = {n.id for head in heads for n in ast.walk(head) if isinstance(n, ast.Name)}
    return bound - read_in_heads


def _statements(tree: ast.Module) -> list[StatementFacts]:
    return [_statement(stmt) for stmt in tree.body]


_CACHE: OrderedDict[str, list[StatementFacts] | None] = OrderedDict()


def analyze_code(code: str) -> list[StatementFacts] | None:
    """The facts of each top-level statement of ``code`` (plain Python); None when it does not parse.

    Results are cached by text and shared: callers must not change them.
    """
    if code in _CACHE:
        _CACHE.move_to_end(code)
        return _CACHE[code]
    try:
        result: list[StatementFacts] | None = _statements(ast.parse(code))
    except (SyntaxError, ValueError, RecursionError):
        result = None
    _CACHE[code] = result
    if len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return result
