"""Sliced metric points (ADR-070): rows of ``slice_metrics``, the latest value per (key, slice), their history.

The unsliced ``metrics``/``latest_metrics`` tables are never touched here. The latest value of each (key, slice)
is kept in ``latest_slice_metrics`` by the same rule as an unsliced metric's (highest step, then latest time) and
copied into the run's ``summary["slices"]`` in the same transaction, so every reader of a run (the cold
``sqlite3`` reader of a gate included) gets them with the run and no extra query.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, and_, or_, select

from jupyter_mlops.entities import SLICE_MAX_BYTES, SliceMetric, slice_dims, slice_label
from jupyter_mlops.errors import InvalidInput
from jupyter_mlops.store import schema as s
from jupyter_mlops.store.checks import check_name

_h = s.slice_metrics.c
_l = s.latest_slice_metrics.c


def checked_label(label: Any) -> str:
    """A stored slice label: canonical (:func:`~jupyter_mlops.entities.slice_label`), non-empty, bounded.

    Raises:
        InvalidInput: anything else (one line).
    """
    if not isinstance(label, str) or not label:
        raise InvalidInput("a sliced metric needs a non-empty slice label such as 'region=EU'")
    if len(label.encode("utf-8", "surrogatepass")) > SLICE_MAX_BYTES:
        raise InvalidInput(f"a slice label is longer than {SLICE_MAX_BYTES} bytes; use shorter slice values")
    check_name(label, "slice")
    dims = slice_dims(label)
    if "" in dims or slice_label(dims) != label:
        shown = label if len(label) <= 60 else label[:59] + "…"
        raise InvalidInput(f"slice {shown!r} is not a canonical slice label (name=value pairs sorted by name)")
    return label


def sliced_key(key: str) -> tuple[str, str] | None:
    """A filter's metric key naming a slice, ``auc[region=EU]``, as ``(key, canonical label)``; else None.

    The label is read as ``name=value`` pairs in any order (and made canonical); brackets are escaped inside labels,
    so the last ``[`` starts it. A key whose bracketed part is not such pairs (``acc[0]``) is an unsliced key.
    """
    if not key.endswith("]") or "[" not in key:
        return None
    name, _, inner = key[:-1].rpartition("[")
    dims = slice_dims(inner)
    if not name or not dims or any(not k or "=" not in pair for k, pair in zip(dims, inner.split(","), strict=False)):
        return None
    return name, slice_label(dims)


def slice_rows(run_id: str, points: Sequence[SliceMetric]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """History rows plus one latest row per (key, slice); NaN becomes NULL.

    Raises:
        InvalidInput: an empty or control-character key, a bad label, a value, step or time that is no number.
    """
    rows: list[dict[str, Any]] = []
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    labels: set[str] = set()
    for p in points:
        if not isinstance(p.key, str) or not p.key:
            raise InvalidInput("a metric needs a non-empty string key")
        check_name(p.key, "metric name")
        if p.slice not in labels:
            labels.add(checked_label(p.slice))
        try:
            value, step, stamp = float(p.value), int(p.step), float(p.timestamp)
        except (TypeError, ValueError, OverflowError):
            raise InvalidInput(f"metric {p.key!r} needs a numeric value, step and timestamp") from None
        row = {"run_id": run_id, "key": p.key, "slice": p.slice, "step": step,
               "value": None if math.isnan(value) else value, "timestamp": stamp}
        rows.append(row)
        best = latest.get((p.key, p.slice))
        if best is None or step > best["step"] or (step == best["step"] and stamp >= best["timestamp"]):
            latest[(p.key, p.slice)] = row
    return rows, list(latest.values())


Upsert = Callable[..., None]


def write(conn: Connection, upsert: Upsert, run_id: str, rows: list[dict[str, Any]],
          latest: list[dict[str, Any]], summary: dict[str, Any]) -> None:
    """Append the history rows, keep the latest per (key, slice) and copy those into ``summary["slices"]``."""
    if not rows:
        return
    conn.execute(s.slice_metrics.insert(), rows)
    upsert(conn, s.latest_slice_metrics, latest, ("run_id", "key", "slice"), ("value", "step", "timestamp"),
           where=lambda new: (new.step > _l.step) | ((new.step == _l.step) & (new.timestamp >= _l.timestamp)))
    pairs = sorted({(row["key"], row["slice"]) for row in latest})
    stored = summary.setdefault("slices", {})
    for start in range(0, len(pairs), 400):  # two bound parameters a pair: far below either database's limit
        chunk = pairs[start:start + 400]
        wanted = or_(*(and_(_l.key == key, _l.slice == label) for key, label in chunk))
        query = select(_l.key, _l.slice, _l.value).where(_l.run_id == run_id, wanted)
        for key, label, value in conn.execute(query):
            stored.setdefault(key, {})[label] = math.nan if value is None else value


def history(conn: Connection, run_id: str, key: str) -> list[SliceMetric]:
    """Every point of every slice of one metric, by slice, then step, then time."""
    query = (select(_h.key, _h.slice, _h.value, _h.step, _h.timestamp)
             .where(_h.run_id == run_id, _h.key == key).order_by(_h.slice, _h.step, _h.timestamp))
    return [SliceMetric(k, label, math.nan if v is None else v, step, stamp)
            for k, label, v, step, stamp in conn.execute(query)]


__all__ = ["checked_label", "history", "slice_rows", "sliced_key", "write"]
