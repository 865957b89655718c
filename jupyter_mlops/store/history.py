"""Metric histories read from the ``metrics`` table, one statement for many (run, key) series.

The statements are built once at import, so SQLAlchemy reuses their compiled form, and rows become
:class:`~jupyter_mlops.entities.Metric` objects straight from the driver's tuples (NaN is stored as NULL).
Series are ordered by step, then time: the ``(run_id, key, step)`` index serves that order.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from sqlalchemy import Connection, bindparam, select

from jupyter_mlops.entities import Metric
from jupyter_mlops.store import schema as s

_m = s.metrics.c
_ONE = (
    select(_m.key, _m.value, _m.step, _m.timestamp)
    .where(_m.run_id == bindparam("run_id"), _m.key == bindparam("key"))
    .order_by(_m.step, _m.timestamp)
)
_MANY = (
    select(_m.run_id, _m.key, _m.value, _m.step, _m.timestamp)
    .where(_m.run_id.in_(bindparam("ids", expanding=True)), _m.key.in_(bindparam("keys", expanding=True)))
    .order_by(_m.run_id, _m.key, _m.step, _m.timestamp)
)
_NAN = math.nan


def one_history(conn: Connection, run_id: str, key: str) -> list[Metric]:
    """All points of one metric of one run, by step then time."""
    rows = conn.execute(_ONE, {"run_id": run_id, "key": key})
    return [Metric(k, _NAN if v is None else v, st, ts) for k, v, st, ts in rows]


def many_histories(conn: Connection, run_ids: Sequence[str], keys: Sequence[str]) -> dict[tuple[str, str],
                                                                                              list[Metric]]:
    """Every point of each requested (run, key) that has any, in one statement: ``{(run_id, key): [Metric]}``."""
    out: dict[tuple[str, str], list[Metric]] = {}
    if not run_ids or not keys:
        return out
    current: tuple[str, str] | None = None
    series: list[Metric] = []
    rows = conn.execute(_MANY, {"ids": list(dict.fromkeys(run_ids)), "keys": list(dict.fromkeys(keys))})
    for run_id, k, v, st, ts in rows:
        if current is None or current[0] != run_id or current[1] != k:
            current = (run_id, k)
            series = out[current] = []
        series.append(Metric(k, _NAN if v is None else v, st, ts))
    return out
