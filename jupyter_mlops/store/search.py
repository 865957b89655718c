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

from sqlalchemy import Select, func, select

from jupyter_mlops.store import reads
from jupyter_mlops.store import schema as s
from jupyter_mlops.store.filter_sql import STALE_BEFORE, compile_node
from jupyter_mlops.store.filters import parse


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
    """

    rows: Select[Any]
    windowed: bool
    count: Select[Any]
    ids: Select[Any] | None
    page_ids: Select[Any] | None = None


def _condition(text: str | None) -> Any:
    if text and text.strip():
        return compile_node(parse(text), stale_before=STALE_BEFORE)
    return None


def build_search(text: str | None, order_by: Sequence[str], limit: int | None, offset: int) -> Search:
    """The statements for :meth:`Store.search_runs` (arguments as there, already checked)."""
    condition = _condition(text)
    paged = limit is not None or offset > 0
    # An unfiltered page keeps its index-ordered early stop and counts the runs table separately (cheap).
    windowed = paged and condition is not None
    rows = reads.apply_order(reads.runs_select(with_total=windowed), order_by)
    count = select(func.count()).select_from(s.runs)
    ids = None if paged else select(s.runs.c.id)
    if condition is not None:
        rows, count = rows.where(condition), count.where(condition)
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
    return Search(rows=rows, windowed=windowed, count=count, ids=ids, page_ids=page_ids)


def build_frame(text: str | None, order_by: Sequence[str], limit: int | None) -> Search:
    """The statements for :meth:`Store.run_columns`: ``rows`` selects :data:`reads.FRAME_COLUMNS` only."""
    search = build_search(text, order_by, limit, 0)
    return Search(rows=reads.frame_select(search.rows), windowed=False, count=search.count, ids=search.ids)


class StatementCache:
    """The statements of the last ``size`` distinct searches, by their arguments; safe to share between threads."""

    def __init__(self, size: int = 128) -> None:
        self.size = size
        self._built: dict[Hashable, Search] = {}
        self._lock = threading.Lock()

    def search(self, text: str | None, order_by: Sequence[str], limit: int | None, offset: int) -> Search:
        """The statements of :func:`build_search` for these arguments, built on first use."""
        key = ("search", text, tuple(order_by), limit, offset)
        return self._get(key, lambda: build_search(text, order_by, limit, offset))

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
