"""Metric histories read from the ``metrics`` table, one statement for many (run, key) series.

The statements are built once at import, so SQLAlchemy reuses their compiled form, and rows become
:class:`~jupyter_mlops.entities.Metric` objects straight from the driver's tuples (NaN is stored as NULL).
Series are ordered by step, then time. SQL orders by step only, which the ``(run_id, key, step)`` index serves
without a sort (adding the timestamp made SQLite sort 100,000 points in a temporary B-tree, +50 %); the rare
points that share a step are put in time order here.
"""

from __future__ import annotations

import gc
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, bindparam, select

from jupyter_mlops.entities import Metric
from jupyter_mlops.store import schema as s

_m = s.metrics.c
_ONE = (
    select(_m.key, _m.value, _m.step, _m.timestamp)
    .where(_m.run_id == bindparam("run_id"), _m.key == bindparam("key"))
    .order_by(_m.step)
)
_MANY = (
    select(_m.run_id, _m.key, _m.value, _m.step, _m.timestamp)
    .where(_m.run_id.in_(bindparam("ids", expanding=True)), _m.key.in_(bindparam("keys", expanding=True)))
    .order_by(_m.run_id, _m.key, _m.step)
)
_NAN = math.nan

# ``Metric`` is a frozen, slotted dataclass: its generated ``__init__`` pays an ``object.__setattr__`` per field.
# A compare reads ~100,000 points, so points are built through the slot descriptors directly (~45 % faster);
# the objects are ordinary, equal ``Metric`` instances (the entity has no ``__post_init__`` to skip).
_new = object.__new__
_SLOTS: dict[str, Any] = {name: vars(Metric)[name] for name in ("key", "value", "step", "timestamp")}
_set_key, _set_value = _SLOTS["key"].__set__, _SLOTS["value"].__set__
_set_step, _set_time = _SLOTS["step"].__set__, _SLOTS["timestamp"].__set__


def point(key: str, value: float | None, step: int, timestamp: float) -> Metric:
    """A :class:`Metric` from a stored row (NULL value means NaN), built without the frozen ``__init__``."""
    made = _new(Metric)
    _set_key(made, key)
    _set_value(made, _NAN if value is None else value)
    _set_step(made, step)
    _set_time(made, timestamp)
    return made


def one_history(conn: Connection, run_id: str, key: str) -> list[Metric]:
    """All points of one metric of one run, by step then time."""
    rows = conn.execute(_ONE, {"run_id": run_id, "key": key}).all()
    return _in_time_order([point(k, v, st, ts) for k, v, st, ts in rows])


def _in_time_order(series: list[Metric]) -> list[Metric]:
    """Points already ordered by step, with equal steps put in time order (sorted only when needed)."""
    for before, after in zip(series, series[1:], strict=False):
        if before.step == after.step and after.timestamp < before.timestamp:
            series.sort(key=lambda m: (m.step, m.timestamp))
            break
    return series


@contextmanager
def _no_gc_pauses() -> Iterator[None]:
    """Hold off the cyclic garbage collector while a large result becomes objects.

    Reading 100,000 points allocates ~300,000 tracked objects (driver tuples, rows, points) that form no cycles;
    each 700 allocations trigger a collection and the older generations are re-scanned again and again, which cost
    ~100 ms of a 450 ms compare. Collection resumes afterwards (only if it was on), so nothing is leaked.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def many_histories(conn: Connection, run_ids: Sequence[str], keys: Sequence[str]) -> dict[tuple[str, str],
                                                                                              list[Metric]]:
    """Every point of each requested (run, key) that has any, in one statement: ``{(run_id, key): [Metric]}``."""
    out: dict[tuple[str, str], list[Metric]] = {}
    if not run_ids or not keys:
        return out
    with _no_gc_pauses():
        rows = conn.execute(_MANY, {"ids": list(dict.fromkeys(run_ids)), "keys": list(dict.fromkeys(keys))}).all()
        _group(rows, out)
    for points in out.values():
        _in_time_order(points)
    return out


def _group(rows: Sequence[Any], out: dict[tuple[str, str], list[Metric]]) -> None:
    """Append each row, already ordered by run and key, to its series as a :class:`Metric`."""
    current: tuple[str, str] | None = None
    series: list[Metric] = []
    new, set_key, set_value, set_step, set_time = _new, _set_key, _set_value, _set_step, _set_time
    for run_id, k, v, st, ts in rows:
        if current is None or current[0] != run_id or current[1] != k:
            current = (run_id, k)
            series = out[current] = []
        made = new(Metric)  # point() inlined: this loop runs once per stored point
        set_key(made, k)
        set_value(made, _NAN if v is None else v)
        set_step(made, st)
        set_time(made, ts)
        series.append(made)


# -- charts: plain (step, value) columns, and the mark that tells whether a history grew --------------------------

_SERIES = (
    select(_m.step, _m.value)
    .where(_m.run_id == bindparam("run_id"), _m.key == bindparam("key"))
    .order_by(_m.step, _m.timestamp)  # answered from the (run_id, key, step, timestamp, value) index alone (0015)
)
_l = s.latest_metrics.c
_MARKS = select(_l.run_id, _l.key, _l.step, _l.timestamp).where(
    _l.run_id.in_(bindparam("ids", expanding=True)), _l.key.in_(bindparam("keys", expanding=True)))


def series(conn: Connection, run_ids: Sequence[str], keys: Sequence[str]) -> dict[tuple[str, str],
                                                                                 tuple[list[int], list[float | None]]]:
    """Each requested (run, key) with points as ``(steps, values)`` lists, by step then time; NaN is None.

    One indexed range read per pair, two plain columns, no :class:`Metric` per point: a chart needs no more, and
    a million-point history then costs the driver's row fetch and little else.
    """
    out: dict[tuple[str, str], tuple[list[int], list[float | None]]] = {}
    with _no_gc_pauses():
        for run_id in dict.fromkeys(run_ids):
            for key in dict.fromkeys(keys):
                rows = conn.execute(_SERIES, {"run_id": run_id, "key": key}).all()
                if rows:
                    steps, values = zip(*rows, strict=True)
                    out[(run_id, key)] = (list(steps), list(values))
    return out


def marks(conn: Connection, run_ids: Sequence[str], keys: Sequence[str]) -> dict[tuple[str, str], tuple[int, float]]:
    """``{(run_id, key): (latest step, its timestamp)}`` from ``latest_metrics``: changes whenever a history grows."""
    if not run_ids or not keys:
        return {}
    rows = conn.execute(_MARKS, {"ids": list(dict.fromkeys(run_ids)), "keys": list(dict.fromkeys(keys))}).all()
    return {(run_id, key): (int(step), float(stamp)) for run_id, key, step, stamp in rows}
