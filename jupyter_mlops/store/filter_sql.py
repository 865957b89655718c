"""Compile a parsed run filter (:mod:`jupyter_mlops.store.filters`) into a SQLAlchemy Core expression.

Semantics that matter (documented for users in ``docs/filter-language.md``):

* params and metrics have one (latest) value per key, so ``params.lr != 0.1`` means "has ``lr`` and it is not
  0.1"; tags and data inputs are sets, so ``tag != x`` means "has no tag x".
* an unquoted number compares numerically (params through ``num_value``); a quoted or bare word compares as text.
* ``~`` is a case-insensitive glob (``*`` any run of characters, ``?`` one character).
* ``status`` is the derived status: a running run whose heartbeat is older than ``stale_after`` is ``crashed``.
* ``x is null`` on a param, metric, tag or data field means the run has none.

Conditions on child tables compile to uncorrelated semi-joins, ``runs.id IN (SELECT run_id FROM latest_metrics
WHERE key = :k AND value >= :v)``, rather than correlated ``EXISTS``: the database answers the subquery once from
the ``(key, value)`` / ``(key, num_value)`` / ``tag`` indexes instead of probing it for every run (at 10,000 runs
SQLite went from evaluating ~30,000 probes to three index range scans). ``run_id`` is never NULL, so ``NOT IN``
is exactly ``NOT EXISTS``.

Several such conditions joined by ``and`` nest into one semi-join driven by the broadest of them::

    runs.id IN (SELECT run_id FROM latest_metrics WHERE key = 'auc' AND value >= 0.8
                AND run_id IN (SELECT run_id FROM params WHERE ...) AND run_id IN (SELECT run_id FROM tags ...))

SQLite materialises every ``IN (subquery)`` as a temporary index, and filling it (~1 µs a row) costs far more than
walking an index range (~0.1 µs a row). The flat form fills one per condition and then probes them for each id of
the first; the nested form walks the driving condition's own index and fills only the others, so the broadest
condition (a metric range rather than a tag) should drive. Without table statistics (SQLite keeps none unless
``ANALYZE`` ran) breadth is guessed from the operator: ``is not null`` > ranges and ``!=`` > globs > equality.
At 10,000 runs this took the three-condition count from ~10 ms to ~6 ms (docs/benchmarks/store.md).

On PostgreSQL the ``(key, text_value, run_id)`` index of ``params`` holds only values shorter than
:data:`~jupyter_mlops.store.schema.SHORT_TEXT_CHARS` (migration 0016): a planner uses a partial index only for a
query that states its predicate, so ``params.x = "text"`` with a shorter literal also says
``length(text_value) < 400`` there (:class:`ShortText`). A value equal to the literal has its length, so no match is
lost; a longer literal leaves the test out and reads the table as before (ADR-114).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BindParameter,
    Boolean,
    ColumnElement,
    Float,
    Select,
    and_,
    bindparam,
    false,
    func,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.visitors import InternalTraversal

from jupyter_mlops.entities import RunStatus
from jupyter_mlops.store import schema as s
from jupyter_mlops.store.filters import (
    And,
    Comparison,
    Field,
    InList,
    IsNull,
    Node,
    Not,
    Or,
    Value,
    metric_number,
    to_epoch,
)
from jupyter_mlops.store.slices import sliced_key

_runs = s.runs

#: Heartbeats older than this make a running run read as crashed. Statements compiled with it take its value at
#: execution (:func:`bound`), so one statement serves queries made at different times.
STALE_BEFORE: BindParameter[float] = bindparam("stale_before", type_=Float)


def bound(stale_before: float) -> dict[str, float]:
    """Execution parameters for a statement compiled with :data:`STALE_BEFORE` (harmless for any other)."""
    return {STALE_BEFORE.key: stale_before}


def glob_to_like(pattern: str) -> str:
    r"""Translate a glob (``*``, ``?``) into a LIKE pattern with ``\`` as the escape character."""
    escaped = pattern.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%").replace("?", "_")


def _glob(column: Any, value: Value) -> ColumnElement[bool]:
    return column.ilike(glob_to_like(_text(value)), escape="\\")  # type: ignore[no-any-return]


def _text(value: Value) -> str:
    raw = value.value
    if isinstance(raw, float):
        return str(int(raw)) if raw.is_integer() else repr(raw)
    return raw


def _cmp(column: Any, op: str, operand: Any) -> ColumnElement[bool]:
    if op == "=":
        return column == operand  # type: ignore[no-any-return]
    if op == "!=":
        return column != operand  # type: ignore[no-any-return]
    if op == "<":
        return column < operand  # type: ignore[no-any-return]
    if op == "<=":
        return column <= operand  # type: ignore[no-any-return]
    if op == ">":
        return column > operand  # type: ignore[no-any-return]
    return column >= operand  # type: ignore[no-any-return]


def _text_op(column: Any, op: str, value: Value) -> ColumnElement[bool]:
    if op == "~":
        return _glob(column, value)
    if op == "!~":
        return not_(_glob(column, value))
    return _cmp(column, op, _text(value))


class ShortText(ColumnElement[bool]):
    """``length(column) < SHORT_TEXT_CHARS`` on PostgreSQL, the predicate of its partial text index; true elsewhere.

    SQLite indexes every text value (migration 0004) and gets nothing to evaluate. The bound is a constant in the SQL
    text, not a parameter: a plan prepared for any value of a parameter could not use the partial index.
    """

    type = Boolean()
    inherit_cache = True
    _traverse_internals = [("column", InternalTraversal.dp_clauseelement)]

    def __init__(self, column: ColumnElement[Any]) -> None:
        self.column = column


@compiles(ShortText)
def _short_text_anywhere(element: ShortText, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(true(), **kw)


@compiles(ShortText, "postgresql")
def _short_text_postgresql(element: ShortText, compiler: SQLCompiler, **kw: Any) -> str:
    return f"length({compiler.process(element.column, **kw)}) < {s.SHORT_TEXT_CHARS:d}"


@dataclass(frozen=True)
class _SemiJoin:
    """A condition "the run has a child row matching ``conditions``", kept apart so ``and`` can nest several."""

    run_id: Any  # the child table's run_id column
    conditions: tuple[ColumnElement[bool], ...]
    breadth: int  # a guess at how many runs match, for choosing the driver: higher is broader

    def expression(self) -> ColumnElement[bool]:
        return _runs.c.id.in_(select(self.run_id).where(*self.conditions))

    def probe(self) -> ColumnElement[bool]:
        """The same test correlated with each run: one index lookup per run (see :func:`compile_probe`)."""
        # A scalar subquery, not EXISTS: PostgreSQL turns a top-level EXISTS into a join and, misjudging how many
        # runs match (no statistics across keys), drove the walk by the other condition and sorted every match;
        # a scalar subquery stays a per-row test. Correlated on runs only: the outer query may read the same child
        # table (a walk of latest_metrics).
        found = select(true()).where(self.run_id == _runs.c.id, *self.conditions) \
            .correlate_except(self.run_id.table).limit(1).scalar_subquery()
        return found.is_not(None)


_EQUAL, _GLOB, _RANGE, _PRESENT = 1, 2, 3, 4
_BREADTH = {"=": _EQUAL, "~": _GLOB, "!~": _RANGE, "!=": _RANGE, "<": _RANGE, "<=": _RANGE, ">": _RANGE, ">=": _RANGE}


def _conjunction(terms: list[ColumnElement[bool] | _SemiJoin]) -> ColumnElement[bool]:
    joins = [term for term in terms if isinstance(term, _SemiJoin)]
    rest = [term for term in terms if not isinstance(term, _SemiJoin)]
    if len(joins) < 2:
        return and_(*(term.expression() for term in joins), *rest)
    return and_(_nest(joins).expression(), *rest)


def _nest(joins: list[_SemiJoin]) -> _SemiJoin:
    """Several semi-joins as one, driven by the broadest (see the module docstring)."""
    if len(joins) == 1:
        return joins[0]
    driver = max(joins, key=lambda join: join.breadth)  # the first of the broadest: ties keep the user's order
    # correlate(None): an inner subquery over the driver's own table must stay a subquery of its own.
    probes = [driver.run_id.in_(select(join.run_id).where(*join.conditions).correlate(None))
              for join in joins if join is not driver]
    return _SemiJoin(driver.run_id, (*driver.conditions, *probes), driver.breadth)


#: Child tables with at most one row per run for the key a condition names (their primary key is run and key).
_ONE_ROW_PER_KEY = (s.params, s.latest_metrics, s.latest_slice_metrics)


class _Compiler:
    def __init__(self, stale_before: float | BindParameter[float], probes: bool = False) -> None:
        self.stale_before = stale_before
        self.probes = probes

    def node(self, node: Node) -> ColumnElement[bool]:
        term = self.term(node)
        if isinstance(term, _SemiJoin):
            return term.probe() if self.probes else term.expression()
        return term

    def term(self, node: Node) -> ColumnElement[bool] | _SemiJoin:
        """Like :meth:`node`, but a child-table condition comes back as a :class:`_SemiJoin`."""
        if isinstance(node, And):
            if self.probes:
                return and_(*(self.node(item) for item in node.items))
            return _conjunction([self.term(item) for item in node.items])
        if isinstance(node, Comparison):
            return self.comparison(node)
        if isinstance(node, IsNull):
            return self.is_null(node.field, node.negated)
        return self.compound(node)

    def compound(self, node: Or | Not | InList) -> ColumnElement[bool]:
        if isinstance(node, Or):
            return or_(*(self.node(item) for item in node.items))
        if isinstance(node, Not):
            return not_(self.node(node.item))
        match = or_(*(self.node(Comparison(node.field, "=", v)) for v in node.values))
        return not_(match) if node.negated else match

    # -- comparisons ---------------------------------------------------------------------------------
    def comparison(self, node: Comparison) -> ColumnElement[bool] | _SemiJoin:
        kind = node.field.kind
        if kind == "param":
            return self.param(node)
        if kind == "metric":
            return self.metric(node)
        if kind in ("tag", "data"):
            return self.member(node)
        if node.field.key == "status":
            return self.status(node)
        return self.run_column(node)

    def param(self, node: Comparison) -> _SemiJoin:
        p = s.params.c
        value = node.value
        if isinstance(value.value, float) and node.op not in ("~", "!~"):
            test = _cmp(p.num_value, node.op, value.value)
            if node.op == "!=":
                test = or_(test, p.num_value.is_(None))
        else:
            test = _text_op(p.text_value, node.op, value)
            if node.op == "=" and len(_text(value)) < s.SHORT_TEXT_CHARS:
                test = and_(test, ShortText(p.text_value))  # the partial index on PostgreSQL applies (ADR-114)
        return _SemiJoin(p.run_id, (p.key == node.field.key, test), _BREADTH[node.op])

    def metric(self, node: Comparison) -> _SemiJoin:
        m, which = _metric_rows(node.field.key)
        number = metric_number(node.value)
        test: ColumnElement[bool]
        if number != number:  # NaN is stored as NULL; only = and != make sense for it
            test = {"=": m.value.is_(None), "!=": m.value.is_not(None)}.get(node.op, false())
        else:
            test = _cmp(m.value, node.op, number)
        return _SemiJoin(m.run_id, (*which, test), _BREADTH[node.op])

    def member(self, node: Comparison) -> ColumnElement[bool] | _SemiJoin:
        table = s.tags if node.field.kind == "tag" else s.data_inputs
        column = table.c[node.field.key]
        positive = {"=": "=", "!=": "=", "~": "~", "!~": "~"}[node.op]
        found = _SemiJoin(table.c.run_id, (_text_op(column, positive, node.value),), _BREADTH[positive])
        return not_(self.node_of(found)) if node.op in ("!=", "!~") else found

    def node_of(self, join: _SemiJoin) -> ColumnElement[bool]:
        return join.probe() if self.probes else join.expression()

    def status(self, node: Comparison) -> ColumnElement[bool]:
        if node.op in ("~", "!~"):
            return _text_op(_runs.c.status, node.op, node.value)
        wanted = RunStatus(str(node.value.value).lower())
        test = self.derived_status_is(wanted)
        if node.op == "=":
            return test
        if node.op == "!=":
            return not_(test)
        return _cmp(_runs.c.status, node.op, wanted.value)

    def derived_status_is(self, status: RunStatus) -> ColumnElement[bool]:
        running = _runs.c.status == RunStatus.RUNNING.value
        stale = and_(_runs.c.heartbeat.is_not(None), _runs.c.heartbeat < self.stale_before)
        if status is RunStatus.RUNNING:
            return and_(running, not_(stale))
        if status is RunStatus.CRASHED:
            return or_(_runs.c.status == RunStatus.CRASHED.value, and_(running, stale))
        return _runs.c.status == status.value  # type: ignore[no-any-return]

    def run_column(self, node: Comparison) -> ColumnElement[bool]:
        column = run_field_column(node.field.key)
        if node.field.key in ("start_time", "end_time", "duration"):
            raw = node.value.value
            number = raw if isinstance(raw, float) else to_epoch(raw)
            return _cmp(column, node.op, number)
        return _text_op(column, node.op, node.value)

    # -- null tests ----------------------------------------------------------------------------------
    def is_null(self, field: Field, negated: bool) -> ColumnElement[bool] | _SemiJoin:
        if field.kind == "run":
            column = run_field_column(field.key)
            test: ColumnElement[bool] = column.is_(None)
            if field.key == "note":
                test = or_(test, column == "")
            return not_(test) if negated else test
        if field.kind == "param":
            found = _SemiJoin(s.params.c.run_id, (s.params.c.key == field.key,), _PRESENT)
        elif field.kind == "metric":
            m, which = _metric_rows(field.key)
            found = _SemiJoin(m.run_id, which, _PRESENT)
        else:
            table = s.tags if field.kind == "tag" else s.data_inputs
            condition = true() if field.kind == "tag" else table.c[field.key].is_not(None)
            found = _SemiJoin(table.c.run_id, (condition,), _PRESENT)
        return found if negated else not_(self.node_of(found))


def _metric_rows(key: str) -> tuple[Any, tuple[ColumnElement[bool], ...]]:
    """The latest-value columns and the row test for ``metrics.<key>``: ``auc[region=EU]`` is a slice (ADR-070)."""
    sliced = sliced_key(key)
    if sliced is None:
        return s.latest_metrics.c, (s.latest_metrics.c.key == key,)
    c = s.latest_slice_metrics.c
    return c, (c.key == sliced[0], c.slice == sliced[1])


def run_field_column(key: str) -> Any:
    """The SQL expression behind a run field name used in filters and sorting."""
    if key == "experiment":
        return (
            select(s.experiments.c.name)
            .where(s.experiments.c.id == _runs.c.experiment_id)
            .correlate_except(s.experiments)
            .scalar_subquery()
        )
    if key == "duration":
        return func.coalesce(_runs.c.end_time, _runs.c.heartbeat) - _runs.c.start_time
    return _runs.c[key]


def compile_node(node: Node, *, stale_before: float | BindParameter[float]) -> ColumnElement[bool]:
    """Compile a tree from :func:`~jupyter_mlops.store.filters.parse` into a boolean expression over ``schema.runs``.

    Args:
        node: a parsed filter.
        stale_before: running runs whose heartbeat is older read as ``crashed``; a bound parameter lets a
            statement built once serve queries made at different times.
    """
    return _Compiler(stale_before).node(node)


def compile_count(node: Node, *, stale_before: float | BindParameter[float]) -> Select[Any]:
    """``SELECT count(*)`` of the runs matching a parsed filter, as cheaply as the filter allows.

    When the whole filter is child-table conditions joined by ``and`` (``metrics.auc > 0.5 and params.lr = 0.1``),
    the runs are counted in the driving condition's own index, without looking each match up in ``runs``
    (at 100,000 runs: 17,563 lookups, a third of the count; ADR-113). Child rows never outlive their run
    (``delete_run`` removes them in the same transaction), so the number is the same.
    """
    compiler = _Compiler(stale_before)
    items = node.items if isinstance(node, And) else (node,)
    terms = [compiler.term(item) for item in items]
    if not all(isinstance(term, _SemiJoin) for term in terms):
        return select(func.count()).select_from(_runs).where(compiler.node(node))
    join = _nest([term for term in terms if isinstance(term, _SemiJoin)])
    one_per_run = join.run_id.table in _ONE_ROW_PER_KEY
    counted = func.count() if one_per_run else func.count(func.distinct(join.run_id))
    return select(counted).select_from(join.run_id.table).where(*join.conditions)


def metric_ranges(node: Node, key: str, column: Any) -> list[ColumnElement[bool]]:
    """The filter's own tests of ``metrics.<key>`` that every match passes, as tests of ``column``.

    Top-level comparisons of that (unsliced) metric with a number, ``and``-ed with the rest: a walk of the metric's
    index can start and stop where they do instead of probing runs that cannot match (ADR-113). The probes still
    test them, so adding these changes no result.
    """
    items = node.items if isinstance(node, And) else (node,)
    found: list[ColumnElement[bool]] = []
    for item in items:
        if (isinstance(item, Comparison) and item.field.kind == "metric" and item.field.key == key
                and sliced_key(key) is None and item.op in ("=", "<", "<=", ">", ">=")):
            number = metric_number(item.value)
            if number == number:  # NaN (stored as NULL) has no range
                found.append(_cmp(column, item.op, number))
    return found


def compile_probe(node: Node, *, stale_before: float | BindParameter[float]) -> ColumnElement[bool]:
    """Like :func:`compile_node`, but every child-table condition is a correlated ``EXISTS`` on ``runs.id``.

    The same runs match (``run_id`` is never NULL, so ``IN`` and ``EXISTS`` agree). It suits a plan that walks
    runs in some index's order and stops after a page of matches (:mod:`.search`): each candidate costs one
    primary-key or index lookup per condition, where the semi-join form first collects every match of each
    condition (tens of thousands of rows at 100,000 runs) before the first run can be tested.
    """
    return _Compiler(stale_before, probes=True).node(node)
