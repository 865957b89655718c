"""Rollups of metric histories: first/min/max/last of each block of consecutive points, kept with the points.

A chart of a million-point history needs each pixel column's extremes, not every point (ADR-106). Reading the
points costs seconds however they are bucketed (ADR-107), so the store keeps, per (run, key), one
``metric_rollups`` row per block of :data:`BLOCK` consecutive points in step order, and a ``metric_rollup_state``
row: the blocks cover every point up to ``covered_step``, ``pending`` points lie after it (ADR-116).

Assumptions:
    * Blocks are complete: :data:`BLOCK` points, more only when the cut would fall inside a run of points with the
      same step (the block then takes them all, so every later point has a larger step).
    * A history is appended in step order almost always. A point at or below ``covered_step`` (a back-fill) marks
      the rollup invalid instead of rewriting blocks; readers then read raw points, exactly as without rollups,
      until :func:`rebuild` runs (bulk writers call it; ``SqlStore.build_rollups`` does it on demand).
    * Everything happens on the caller's connection, inside its write transaction: a killed write leaves the
      points and their rollup both written or both absent.
    * NaN values are NULL (as in ``metrics``); ``min``/``max`` are over finite values only, as the M4 downsampler
      drops non-finite points; a block without finite values has NULL extremes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select, update

from jupyter_mlops.store import schema as s

#: Points per block: 1,000 points of a million-point history become ~4,000 representative points.
BLOCK = 1024

_m, _r, _st = s.metrics.c, s.metric_rollups.c, s.metric_rollup_state.c
_PAIR = (_m.run_id == bindparam("run_id")) & (_m.key == bindparam("key"))
_ALL_POINTS = select(_m.step, _m.value).where(_PAIR).order_by(_m.step, _m.timestamp)
_POINTS_AFTER = (select(_m.step, _m.value).where(_PAIR, _m.step > bindparam("after"))
                 .order_by(_m.step, _m.timestamp))
_INSERT_BLOCKS = insert(s.metric_rollups)
_INSERT_STATE = insert(s.metric_rollup_state)
_UPDATE_STATE = (update(s.metric_rollup_state)
                 .where(_st.run_id == bindparam("b_run_id"), _st.key == bindparam("b_key"))
                 .values(covered_step=bindparam("covered_step"), blocks=bindparam("blocks"),
                         pending=bindparam("pending"), valid=bindparam("valid")))
_STATES = select(_st.key, _st.covered_step, _st.blocks, _st.pending, _st.valid).where(
    _st.run_id == bindparam("run_id"), _st.key.in_(bindparam("keys", expanding=True)))
_BLOCKS = (select(_r.n, _r.step_lo, _r.step_hi, _r.first_value, _r.last_value, _r.min_value, _r.min_step,
                  _r.max_value, _r.max_step)
           .where(_r.run_id == bindparam("run_id"), _r.key == bindparam("key")).order_by(_r.block))

State = tuple[int | None, int, int, bool]  # covered step, blocks, pending points, valid


def block_rows(steps: Sequence[int], values: Sequence[float | None], *, first_block: int = 0
               ) -> tuple[list[dict[str, Any]], int]:
    """The complete blocks of points in step order, as ``metric_rollups`` rows (no run id or key), and how many
    points they cover; the points after the last complete block are left for later.

    Args:
        steps: steps, non-decreasing.
        values: one value per step (``None`` or NaN for NaN).
        first_block: the number of the first block made.
    """
    import numpy as np

    n = len(steps)
    if n < BLOCK:
        return [], 0
    x = np.asarray(steps, dtype=np.int64)
    y = np.asarray(values, dtype=float)  # None becomes NaN
    finite = np.isfinite(y)
    low, high = np.where(finite, y, np.inf), np.where(finite, y, -np.inf)
    rows: list[dict[str, Any]] = []
    start = 0
    while n - start >= BLOCK:
        end = start + BLOCK
        if end < n and x[end] == x[end - 1]:  # never split equal steps: every later point has a larger step
            end = int(np.searchsorted(x, x[end - 1], side="right"))
        rows.append(_block(first_block + len(rows), x, y, low, high, finite, start, end))
        start = end
    return rows, start


def _block(number: int, x: Any, y: Any, low: Any, high: Any, finite: Any, start: int, end: int) -> dict[str, Any]:
    row: dict[str, Any] = {"block": number, "n": end - start, "step_lo": int(x[start]), "step_hi": int(x[end - 1]),
                           "first_value": _stored(y[start]), "last_value": _stored(y[end - 1]),
                           "min_value": None, "min_step": None, "max_value": None, "max_step": None}
    if finite[start:end].any():
        lo = start + int(low[start:end].argmin())  # the first point with the lowest value
        hi = start + int(high[start:end].argmax())
        row.update(min_value=float(y[lo]), min_step=int(x[lo]), max_value=float(y[hi]), max_step=int(x[hi]))
    return row


def _stored(value: float) -> float | None:
    return None if value != value else float(value)


def states(conn: Connection, run_id: str, keys: Sequence[str]) -> dict[str, State]:
    """The rollup state of each of a run's keys that has one."""
    return {row[0]: (row[1], int(row[2]), int(row[3]), bool(row[4]))
            for row in conn.execute(_STATES, {"run_id": run_id, "keys": list(keys)})}


def after_append(conn: Connection, run_id: str, batch: Mapping[str, tuple[int, int]],
                 known: Mapping[str, State]) -> None:
    """Keep a run's rollups in step with points just appended (same transaction as the points).

    Args:
        conn: the write transaction's connection.
        run_id: the run.
        batch: per key, ``(points appended, lowest step among them)``.
        known: the keys' states before the append (:func:`states`); a key without one gets one.
    """
    fresh, changed = [], []
    for key, (count, lowest) in batch.items():
        state = known.get(key)
        if state is None:
            covered, blocks, pending, valid = None, 0, 0, True
        else:
            covered, blocks, pending, valid = state
        if not valid:
            continue
        if covered is not None and lowest <= covered:
            valid = False  # a back-fill: readers fall back to the raw points (ADR-116)
        else:
            pending += count
            if pending >= BLOCK:
                covered, blocks, pending = _extend(conn, run_id, key, covered, blocks)
        row = {"covered_step": covered, "blocks": blocks, "pending": pending, "valid": valid}
        if state is None:
            fresh.append({"run_id": run_id, "key": key, **row})
        else:
            changed.append({"b_run_id": run_id, "b_key": key, **row})
    if fresh:
        conn.execute(_INSERT_STATE, fresh)
    if changed:
        conn.execute(_UPDATE_STATE, changed)


def _extend(conn: Connection, run_id: str, key: str, covered: int | None, blocks: int) -> tuple[int | None, int, int]:
    """Turn the points after ``covered`` into complete blocks; the new (covered, blocks, pending)."""
    if covered is None:
        rows = conn.execute(_ALL_POINTS, {"run_id": run_id, "key": key}).all()
    else:
        rows = conn.execute(_POINTS_AFTER, {"run_id": run_id, "key": key, "after": covered}).all()
    steps = [row[0] for row in rows]
    made, used = block_rows(steps, [row[1] for row in rows], first_block=blocks)
    if made:
        conn.execute(_INSERT_BLOCKS, [{"run_id": run_id, "key": key, **row} for row in made])
        covered = made[-1]["step_hi"]
    return covered, blocks + len(made), len(rows) - used


def rebuild(conn: Connection, run_ids: Iterable[str], counts: Mapping[tuple[str, str], int] | None = None) -> int:
    """Build the rollups of every history of these runs from their stored points, replacing any there were.

    The one function bulk writers (sync, import, loaders) call once a run's points are in. A history known (from
    ``counts``) to hold fewer than :data:`BLOCK` points is not read back: it gets a state with its points pending.
    Returns the blocks written.
    """
    made = 0
    for run_id in dict.fromkeys(run_ids):
        for table in s.ROLLUP_TABLES:
            conn.execute(delete(table).where(table.c.run_id == run_id))
        if counts is None:
            keys = list(conn.scalars(select(s.latest_metrics.c.key).where(s.latest_metrics.c.run_id == run_id)))
            sizes: dict[str, int | None] = dict.fromkeys(keys)
        else:
            sizes = {key: count for (rid, key), count in counts.items() if rid == run_id}
        states_rows = []
        for key, size in sizes.items():
            covered, blocks, pending = None, 0, size or 0
            if size is None or size >= BLOCK:
                covered, blocks, pending = _extend(conn, run_id, key, None, 0)
                made += blocks
            states_rows.append({"run_id": run_id, "key": key, "covered_step": covered, "blocks": blocks,
                                "pending": pending, "valid": True})
        if states_rows:
            conn.execute(_INSERT_STATE, states_rows)
    return made


def delete_for(conn: Connection, run_id: str) -> None:
    """Remove a run's rollups (the run is being deleted in the same transaction)."""
    for table in s.ROLLUP_TABLES:
        conn.execute(delete(table).where(table.c.run_id == run_id))


# -- reading: a history's representative points ------------------------------------------------------------------

def worth_reducing(conn: Connection, run_ids: Sequence[str], keys: Sequence[str], min_points: int
                   ) -> dict[tuple[str, str], int]:
    """``{(run_id, key): covered step}`` of the histories with a valid rollup and at least ``min_points`` points
    (one statement): the ones a chart reads through :func:`reduced`."""
    if not run_ids or not keys:
        return {}
    query = select(_st.run_id, _st.key, _st.covered_step, _st.blocks, _st.pending).where(
        _st.run_id.in_(list(dict.fromkeys(run_ids))), _st.key.in_(list(dict.fromkeys(keys))),
        _st.valid.is_(True), _st.covered_step.is_not(None), _st.blocks * BLOCK + _st.pending >= min_points)
    return {(row[0], row[1]): int(row[2]) for row in conn.execute(query)}


def reduced(conn: Connection, run_id: str, key: str, covered: int) -> tuple[list[int], list[float | None], int]:
    """A history as its blocks' first/min/max/last points plus the raw points after them, and its size.

    The points are real points of the history, in step order (a block's picks sorted by step, repeats dropped);
    the size is the stored history's point count. ``covered`` is the state's covered step
    (:func:`worth_reducing`).
    """
    steps: list[int] = []
    values: list[float | None] = []
    total = 0
    for n, lo, hi, first, last, low, low_at, high, high_at in conn.execute(_BLOCKS, {"run_id": run_id, "key": key}):
        total += n
        picks = [(lo, first), (hi, last)]
        if low_at is not None:
            picks += [(low_at, low), (high_at, high)]
        picks.sort(key=lambda p: p[0])
        seen: set[tuple[int, float | None]] = set()
        for point in picks:
            if point not in seen:
                seen.add(point)
                steps.append(point[0])
                values.append(point[1])
    tail = conn.execute(_POINTS_AFTER, {"run_id": run_id, "key": key, "after": covered}).all()
    for step, value in tail:
        steps.append(step)
        values.append(value)
    return steps, values, total + len(tail)
