"""Search statements: a filter, an ordering and a page window built once into SQLAlchemy statements.

Parsing a filter, compiling it and joining the sort keys costs ~2 ms of Python per call, about what SQLite needs
to answer a filtered page over 10,000 runs, so a store keeps the statements of its recent searches (the sidebar,
the CLI and notebooks repeat the same few). Between two identical searches only the time changes: the derived
``crashed`` status compares heartbeats with :data:`STALE_BEFORE`, a bound parameter given at execution
(:func:`~jupyter_mlops.store.filter_sql.bound`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Float, Integer, Select, String, bindparam, func, or_, select

from jupyter_mlops.store import reads
from jupyter_mlops.store import schema as s
from jupyter_mlops.store.filter_sql import STALE_BEFORE, compile_count, compile_node, compile_probe, metric_ranges
from jupyter_mlops.store.filters import parse

#: Execution parameters of :attr:`SortWalk.tail`: where the runs without a value start, and how many are wanted.
TAIL_OFFSET = bindparam("tail_offset", type_=Integer)
TAIL_LIMIT = bindparam("tail_limit", type_=Integer)


#: The deepest page end (offset + limit) a :class:`SortWalk` tests by probes; deeper ones use the semi-joins.
PROBE_DEPTH = 1_000
#: How many runs a probing walk may pass (at least four times the page end) before giving up on the walk.
WALK_BUDGET = 2_000
WALK_VALUE = bindparam("walk_value", type_=Float)
WALK_ID = bindparam("walk_id", type_=String)


@dataclass(frozen=True)
class SortWalk:
    """A page sorted by one metric, read in the order of its ``(key, value, run_id)`` index (ADR-113).

    The order a page has (:func:`reads.apply_order`) is: runs with a value for the metric by value, ties by run id,
    then every run without one (missing, or NaN stored as NULL) by run id. ``head`` walks the index in that
    order, tests each run against the filter with one lookup per condition (:func:`compile_probe`) and stops after
    the page (``LIMIT``/``OFFSET`` of the search); ``tail`` pages the runs without a value, asked for only when the
    head runs out within the page; ``head_count`` says where the tail starts when the head has nothing at the
    page's offset.

    Attributes:
        head: run ids (``id``) of matches with a value, in order, the search's window.
        head_count: the number of matches with a value.
        tail: run ids (``id``) of matches without a value, by id, windowed by :data:`TAIL_OFFSET` and
            :data:`TAIL_LIMIT`.
        boundary: for a walk that probes, the value and run id of the last run it may walk past
            (:data:`WALK_BUDGET`); no row when fewer runs have a value.
        bounded: ``head`` stopping at that run (:data:`WALK_VALUE`, :data:`WALK_ID`).
    """

    head: Select[Any]
    head_count: Select[Any]
    tail: Select[Any]
    boundary: Select[Any] | None = None
    bounded: Select[Any] | None = None


@dataclass(frozen=True)
class Search:
    """The statements of one search.

    Attributes:
        rows: the run rows (:func:`reads.runs_select`) in order, with a ``total`` column when ``windowed``.
        windowed: a filtered page carries the total as ``COUNT(*) OVER ()``, so the filter runs once, not twice.
        count: the number of matching runs, for a full page that is not windowed.
        ids: the ids of every match when the search is not paged: children of many runs load through it.
        page_ids: for a page, its run ids in order (with ``total`` when ``windowed``): the filter, the sort and
            the count run over narrow rows, and only the page's runs are read whole (ADR-107).
        walk: for a page sorted by one metric, the plan that reads it in index order and stops early (used instead
            of ``page_ids``; the total then comes from ``count``, ADR-113).
    """

    rows: Select[Any]
    windowed: bool
    count: Select[Any]
    ids: Select[Any] | None
    page_ids: Select[Any] | None = None
    walk: SortWalk | None = None


def _condition(text: str | None) -> Any:
    if text and text.strip():
        return compile_node(parse(text), stale_before=STALE_BEFORE)
    return None


def build_search(text: str | None, order_by: Sequence[str], limit: int | None, offset: int, *,
                 walk: bool = True, deep_walk: bool = True) -> Search:
    """The statements for :meth:`Store.search_runs` (arguments as there, already checked).

    Args:
        text: the filter, or None.
        order_by: sort items as :func:`reads.apply_order` takes them.
        limit: the page size, or None for every match.
        offset: how many matches to skip.
        walk: build the :class:`SortWalk` where it applies; false keeps the plan before it (ADR-107), which the
            benchmark and the differential tests run beside it.
        deep_walk: walk pages ending past :data:`PROBE_DEPTH` too (testing the filter by semi-joins). SQLite
            gains (a last page sorted by a metric at 100,000 runs: 420 -> 80 ms); PostgreSQL's planner handles
            those pages better with the sorted ids of ADR-107 (170 ms, 370 ms walked), so its stores say false.
    """
    condition = _condition(text)
    paged = limit is not None or offset > 0
    # An unfiltered page keeps its index-ordered early stop and counts the runs table separately (cheap).
    windowed = paged and condition is not None
    rows = reads.apply_order(reads.runs_select(with_total=windowed), order_by)
    count = select(func.count()).select_from(s.runs)
    ids = None if paged else select(s.runs.c.id)
    if condition is not None:
        rows = rows.where(condition)
        count = compile_count(parse(str(text)), stale_before=STALE_BEFORE)
        ids = None if ids is None else ids.where(condition)
    page_ids = None
    if paged:
        # At 100,000 runs a filtered page sorted by a metric matched ~17,000 runs: sorting them with every run
        # column (the summary JSON included) and counting them in a window took seconds; ids and sort keys only
        # take milliseconds, and the page's 50 runs are then read by primary key.
        # Without the experiments join (unless sorting by it) the run ids come from the primary-key index alone.
        narrow = select(s.runs.c.id, *([func.count().over().label("total")] if windowed else []))
        if any(item.split()[0] == "experiment" for item in order_by if item.strip()):
            narrow = narrow.join(s.experiments, s.experiments.c.id == s.runs.c.experiment_id)
        narrow = reads.apply_order(narrow, order_by)
        page_ids = narrow if condition is None else narrow.where(condition)
    if limit is not None:
        rows = rows.limit(limit)
        page_ids = None if page_ids is None else page_ids.limit(limit)
    if offset:
        rows = rows.offset(offset)
        page_ids = None if page_ids is None else page_ids.offset(offset)
    deep = limit is not None and offset + limit > PROBE_DEPTH
    sort_walk = None
    if limit is not None and walk and (deep_walk or not deep):
        sort_walk = _sort_walk(text, order_by, limit, offset)
    return Search(rows=rows, windowed=windowed, count=count, ids=ids, page_ids=page_ids, walk=sort_walk)


def _sort_walk(text: str | None, order_by: Sequence[str], limit: int, offset: int) -> SortWalk | None:
    """The :class:`SortWalk` of a page whose only sort key is a metric; None for any other order."""
    items = [item for item in order_by if item and item.strip()]
    if len(items) != 1:
        return None
    key, descending = reads.split_order(items[0])
    if not key.startswith(("metrics.", "metric.")):
        return None
    metric = key.partition(".")[2]
    m, runs = s.latest_metrics.c, s.runs.c
    condition = None
    ranges: list[Any] = []
    if text and text.strip():
        # Probing costs per run walked past, the semi-joins once per search: deep pages take the semi-joins.
        compile_condition = compile_probe if offset + limit <= PROBE_DEPTH else compile_node
        node = parse(text)
        condition = compile_condition(node, stale_before=STALE_BEFORE)
        ranges = metric_ranges(node, metric, m.value)  # `metrics.auc < 0.31` sorted by auc: walk from 0.31 on
    order = (m.value.desc() if descending else m.value.asc(), m.run_id)
    # Ties go by run id ascending whatever the direction: SQLite sorts only each run of equal values ("temp
    # B-tree for right part of ORDER BY"), PostgreSQL does an incremental sort; both still stop early.
    head = (select(m.run_id.label("id"))
            .select_from(s.latest_metrics.join(s.runs, runs.id == m.run_id))
            .where(m.key == metric, m.value.is_not(None), *ranges)
            .order_by(*order))
    with_value = select(m.run_id).where(m.key == metric, m.value.is_not(None), m.run_id == runs.id).exists()
    tail = select(runs.id).where(~with_value).order_by(runs.id)
    if condition is not None:
        head, tail = head.where(condition), tail.where(condition)
    head_count = select(func.count()).select_from(head.order_by(None).subquery())
    boundary = bounded = None
    if condition is not None and offset + limit <= PROBE_DEPTH:
        # Probes cost ~10 us a run walked past: a filter matching few runs, or only runs far down the order, would
        # walk the whole index (0.5 s at 100,000 runs). The walk stops at the budget-th run; short of a page by
        # then, the search takes ADR-107's plan instead.
        budget = max(WALK_BUDGET, 4 * (offset + limit))
        boundary = (select(m.value, m.run_id).where(m.key == metric, m.value.is_not(None), *ranges).order_by(*order)
                    .limit(1).offset(budget - 1))
        past = m.value < WALK_VALUE if descending else m.value > WALK_VALUE
        bounded = head.where(~past, or_(m.value != WALK_VALUE, m.run_id <= WALK_ID))
        bounded = bounded.limit(limit).offset(offset)
    return SortWalk(head=head.limit(limit).offset(offset), head_count=head_count,
                    tail=tail.limit(TAIL_LIMIT).offset(TAIL_OFFSET), boundary=boundary, bounded=bounded)


def walk_page(conn: Connection, walk: SortWalk, limit: int, offset: int,
              params: dict[str, Any]) -> list[str] | None:
    """The run ids of a page by :class:`SortWalk`: the head's window, then as much of the tail as the page lacks.

    Returns:
        The ids, or None when a probing walk used its budget before the page was full (run the sorted ids then).
    """
    edge = None if walk.boundary is None else conn.execute(walk.boundary).first()
    if edge is not None and walk.bounded is not None:
        ids = [row.id for row in conn.execute(walk.bounded, {**params, WALK_VALUE.key: edge[0],
                                                              WALK_ID.key: edge[1]})]
        return ids if len(ids) >= limit else None
    ids = [row.id for row in conn.execute(walk.head, params)]
    if len(ids) >= limit:
        return ids
    # The head ran out inside this page: it had offset + len(ids) matches, unless it had none from the offset on.
    before = offset + len(ids) if ids or not offset else int(conn.scalar(walk.head_count, params) or 0)
    wanted = {TAIL_OFFSET.key: max(0, offset - before), TAIL_LIMIT.key: limit - len(ids)}
    ids.extend(row.id for row in conn.execute(walk.tail, {**params, **wanted}))
    return ids


def build_frame(text: str | None, order_by: Sequence[str], limit: int | None) -> Search:
    """The statements for :meth:`Store.run_columns`: ``rows`` selects :data:`reads.FRAME_COLUMNS` only."""
    search = build_search(text, order_by, limit, 0)
    return Search(rows=reads.frame_select(search.rows), windowed=False, count=search.count, ids=search.ids)


class StatementCache:
    """The statements of the last ``size`` distinct searches, by their arguments; safe to share between threads."""

    def __init__(self, size: int = 128, *, walk: bool = True, deep_walk: bool = True) -> None:
        self.size = size
        #: Whether searches may use a :class:`SortWalk` (:func:`build_search`'s ``walk``).
        self.walk = walk
        self.deep_walk = deep_walk
        self._built: dict[Hashable, Search] = {}
        self._lock = threading.Lock()

    def search(self, text: str | None, order_by: Sequence[str], limit: int | None, offset: int) -> Search:
        """The statements of :func:`build_search` for these arguments, built on first use."""
        walk, deep = self.walk, self.deep_walk
        key = ("search", text, tuple(order_by), limit, offset, walk, deep)
        return self._get(key, lambda: build_search(text, order_by, limit, offset, walk=walk, deep_walk=deep))

    def frame(self, text: str | None, order_by: Sequence[str], limit: int | None) -> Search:
        """The statements of :func:`build_frame` for these arguments, built on first use."""
        key = ("frame", text, tuple(order_by), limit)
        return self._get(key, lambda: build_frame(text, order_by, limit))

    def _get(self, key: Hashable, build: Callable[[], Search]) -> Search:
        with self._lock:
            found = self._built.get(key)
        if found is not None:
            return found
        made = build()  # a bad filter or sort key raises here, and nothing is kept
        with self._lock:
            if len(self._built) >= self.size:
                del self._built[next(iter(self._built))]  # oldest first: dicts keep insertion order
            self._built[key] = made
        return made
