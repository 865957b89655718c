"""Rollups of metric histories: first/min/max/last of each block of consecutive points, kept with the points.

A chart of a million-point history needs each pixel column's extremes, not every point (ADR-106). Reading the
points costs seconds however they are bucketed (ADR-107), so the store keeps, per (run, key), one
``metric_rollups`` row per closed block of :data:`BLOCK` consecutive points in step order, and a
``metric_rollup_state`` row: the closed blocks cover every point up to ``covered_step``; the ``pending`` points after
it form the open block, summarised in the state row itself (ADR-116).

Assumptions:
    * A block closes when it holds at least :data:`BLOCK` points and a point with a larger step arrives, so points
      that share a step are never split between blocks and every later block starts at a larger step.
    * A history is appended in step order almost always. Points are folded in as they arrive, never read back: a
      batch whose lowest step is below the open block's last step (a back-fill) marks the rollup invalid instead,
      and readers then read raw points, exactly as without rollups, until :func:`rebuild` runs
      (``SqlStore.build_rollups``). Points that share the last step are taken in arrival order; a bulk build orders
      them by time, which is the same order unless a timestamp went backwards.
    * Everything happens on the caller's connection, inside its write transaction: a killed write leaves the
      points and their rollup both written or both absent.
    * NaN values are NULL (as in ``metrics``); ``min``/``max`` are over finite values only, as the M4 downsampler
      drops non-finite points (the first such point when several are equal); a block without one has NULL extremes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import BigInteger, Connection, bindparam, cast, delete, insert, select, update

from jupyter_mlops.store import schema as s

#: Points per block: a million-point history becomes ~1,000 blocks, ~4,000 representative points.
BLOCK = 1024

#: A block's summary, in ``metric_rollups`` column order after ``block``:
#: n, step_lo, step_hi, first_value, last_value, min_value, min_step, max_value, max_step.
Summary = tuple[int, Any, Any, Any, Any, Any, Any, Any, Any]
_SUMMARY = ("n", "step_lo", "step_hi", "first_value", "last_value", "min_value", "min_step", "max_value", "max_step")
_OPEN = ("pending", *_SUMMARY[1:])  # the state row names the open block's count ``pending``
EMPTY: Summary = (0, None, None, None, None, None, None, None, None)


class State:
    """One history's rollup state: validity, closed blocks, the covered step and the open block's summary."""

    __slots__ = ("blocks", "covered", "open", "valid")

    def __init__(self, valid: bool = True, blocks: int = 0, covered: int | None = None, open: Summary = EMPTY) -> None:  # noqa: A002
        self.valid, self.blocks, self.covered, self.open = valid, blocks, covered, open

    def row(self) -> dict[str, Any]:
        """The state's columns (no run id or key)."""
        return {"valid": self.valid, "blocks": self.blocks, "covered_step": self.covered,
                **dict(zip(_OPEN, self.open, strict=True))}

    def last_step(self) -> int | None:
        """The largest step folded in so far (None when nothing was)."""
        return self.open[2] if self.open[0] else self.covered


#: The state columns, in :func:`state_from` order (what a query joins in).
STATE_COLUMNS = tuple(s.metric_rollup_state.c[name] for name in ("valid", "blocks", "covered_step", *_OPEN))


def state_from(row: Sequence[Any]) -> State | None:
    """A :class:`State` from :data:`STATE_COLUMNS` values (None when the history has no state row)."""
    if row[0] is None:
        return None
    return State(bool(row[0]), int(row[1]), row[2], (int(row[3]), *row[4:]))


def fold(state: State, steps: Sequence[int], values: Sequence[float | None], closed: list[Summary]) -> None:
    """Fold points (in step order, all at or after ``state.last_step()``) into the open block, closing blocks.

    Closed blocks are appended to ``closed``; ``state`` is updated in place (``blocks`` and ``covered`` count them).
    Works a block's share of the points at a time with C-speed ``min``/``max``/``index`` (a write pays ~0.1 us a
    point, not a Python step per point).
    """
    n, lo, hi, first, last, low, low_at, high, high_at = state.open
    blocks, covered = state.blocks, state.covered
    i, count = 0, len(steps)
    while i < count:
        if n >= BLOCK and steps[i] > hi:
            closed.append((n, lo, hi, first, last, low, low_at, high, high_at))
            blocks, covered, n = blocks + 1, hi, 0
        if not n:
            lo, first, low, low_at, high, high_at = steps[i], values[i], None, None, None, None
        j = min(count, i + max(BLOCK - n, 1))
        while j < count and steps[j] == steps[j - 1]:  # equal steps stay in one block
            j += 1
        chunk = values[i:j]
        finite = [v for v in chunk if v is not None and v - v == 0.0]  # NaN and +-inf give NaN here
        if finite:
            least, most = min(finite), max(finite)
            if low is None or least < low:
                low, low_at = least, steps[i + chunk.index(least)]  # the first point with that value
            if high is None or most > high:
                high, high_at = most, steps[i + chunk.index(most)]
        n += j - i
        hi, last = steps[j - 1], values[j - 1]
        i = j
    state.open = (n, lo, hi, first, last, low, low_at, high, high_at)
    state.blocks, state.covered = blocks, covered


_m, _r, _st = s.metrics.c, s.metric_rollups.c, s.metric_rollup_state.c
_ALL_POINTS = (select(_m.step, _m.value).where(_m.run_id == bindparam("run_id"), _m.key == bindparam("key"))
               .order_by(_m.step, _m.timestamp))
_KEYS = select(_m.key).where(_m.run_id == bindparam("run_id")).distinct()
_INSERT_BLOCKS = insert(s.metric_rollups)
_INSERT_STATE = insert(s.metric_rollup_state)
_UPDATE_STATE = (update(s.metric_rollup_state)
                 .where(_st.run_id == bindparam("b_run_id"), _st.key == bindparam("b_key"))
                 .values({name: bindparam(name) for name in ("valid", "blocks", "covered_step", *_OPEN)}))
_BLOCKS = (select(*(_r[name] for name in _SUMMARY))
           .where(_r.run_id == bindparam("run_id"), _r.key == bindparam("key")).order_by(_r.block))


def _block_rows(run_id: str, key: str, first: int, closed: list[Summary]) -> list[dict[str, Any]]:
    return [{"run_id": run_id, "key": key, "block": first + i, **dict(zip(_SUMMARY, summary, strict=True))}
            for i, summary in enumerate(closed)]


def after_append(conn: Connection, run_id: str, points: Sequence[tuple[Any, ...]],
                 known: Mapping[str, State | None]) -> None:
    """Keep a run's rollups in step with points just appended (same transaction as the points).

    Args:
        conn: the write transaction's connection.
        run_id: the run.
        points: the appended rows, ``(run_id, key, step, value, timestamp)``.
        known: the state before the append of every key in ``points`` (None: the key had none; it gets one).
    """
    by_key: dict[str, Sequence[tuple[Any, ...]]]
    if len(known) == 1:  # the usual batch: one metric (``known`` names every key of the batch), no grouping
        by_key = {next(iter(known)): points}
    else:
        grouped: dict[str, list[tuple[Any, ...]]] = {}
        for row in points:
            grouped.setdefault(row[1], []).append(row)
        by_key = dict(grouped)
    fresh, changed, blocks = [], [], []
    for key, rows in by_key.items():
        state = known.get(key)
        new = state is None
        if state is None:
            state = State()
        elif not state.valid:
            continue
        steps = [r[2] for r in rows]
        if len(rows) > 1 and (steps != sorted(steps) or len(set(steps)) < len(steps)):  # C-speed checks first
            rows = sorted(rows, key=lambda r: (r[2], r[4]))
            steps = [r[2] for r in rows]
        values = [r[3] for r in rows]
        last = state.last_step()
        if last is not None and steps[0] < last:
            state.valid = False  # a back-fill: readers fall back to the raw points (ADR-116)
        else:
            closed: list[Summary] = []
            before = state.blocks
            fold(state, steps, values, closed)
            blocks += _block_rows(run_id, key, before, closed)
        if new:
            fresh.append({"run_id": run_id, "key": key, **state.row()})
        else:
            changed.append({"b_run_id": run_id, "b_key": key, **state.row()})
    if blocks:
        conn.execute(_INSERT_BLOCKS, blocks)
    if fresh:
        conn.execute(_INSERT_STATE, fresh)
    if changed:
        conn.execute(_UPDATE_STATE, changed)


def rebuild_from(conn: Connection, run_id: str, histories: Mapping[str, tuple[Sequence[int], Sequence[float | None]]]
                 ) -> int:
    """Replace a run's rollups with ones folded from its whole histories; the blocks written.

    The one function bulk writers (sync, import, :func:`rebuild`) call once a run's points are in. ``histories`` is
    ``{key: (steps, values)}``, each in step then time order (:func:`histories_of`).
    """
    delete_for(conn, run_id)
    states, blocks = [], []
    for key, (steps, values) in histories.items():
        state, closed = State(), list[Summary]()
        fold(state, steps, values, closed)
        blocks += _block_rows(run_id, key, 0, closed)
        states.append({"run_id": run_id, "key": key, **state.row()})
    if blocks:
        conn.execute(_INSERT_BLOCKS, blocks)
    if states:
        conn.execute(_INSERT_STATE, states)
    return len(blocks)


def histories_of(rows: Iterable[tuple[Any, ...]], *, key: int, step: int, value: int, stamp: int
                 ) -> dict[str, tuple[list[int], list[float | None]]]:
    """Points held in memory (tuples, the given positions) as ``{key: (steps, values)}`` in step then time order."""
    grouped: dict[str, list[tuple[Any, ...]]] = {}
    for row in rows:
        grouped.setdefault(row[key], []).append(row)
    out = {}
    for name, points in grouped.items():
        points.sort(key=lambda r: (r[step], r[stamp]))
        out[name] = ([r[step] for r in points], [r[value] for r in points])
    return out


def rebuild(conn: Connection, run_id: str) -> int:
    """Rebuild a run's rollups from its stored points, reading each history back once; the blocks written."""
    histories = {}
    for key in conn.scalars(_KEYS, {"run_id": run_id}).all():
        rows = conn.execute(_ALL_POINTS, {"run_id": run_id, "key": key}).all()
        histories[key] = ([row[0] for row in rows], [row[1] for row in rows])
    return rebuild_from(conn, run_id, histories)


def delete_for(conn: Connection, run_id: str) -> None:
    """Remove a run's rollups (before its points are replaced, or with the run)."""
    for table in s.ROLLUP_TABLES:
        conn.execute(delete(table).where(table.c.run_id == run_id))


# -- reading: a history's representative points ------------------------------------------------------------------

def worth_reducing(conn: Connection, run_ids: Sequence[str], keys: Sequence[str], min_points: int
                   ) -> dict[tuple[str, str], Summary]:
    """``{(run_id, key): open block}`` of the histories a chart reads through :func:`reduced` (one statement).

    Those with a valid rollup, at least one closed block and at least ``min_points`` points.
    """
    if not run_ids or not keys:
        return {}
    query = select(_st.run_id, _st.key, *(_st[name] for name in _OPEN)).where(
        _st.run_id.in_(list(dict.fromkeys(run_ids))), _st.key.in_(list(dict.fromkeys(keys))),
        _st.valid.is_(True), _st.blocks > 0,
        cast(_st.blocks, BigInteger) * BLOCK + _st.pending >= bindparam("least", min_points, type_=BigInteger))
    return {(row[0], row[1]): tuple(row[2:]) for row in conn.execute(query)}


def reduced(conn: Connection, run_id: str, key: str, open_block: Summary
            ) -> tuple[list[int], list[float | None], int]:
    """A history as each block's first, lowest, highest and last point (the open block's too), and its size.

    The points are real points of the history, in step order (a block's picks sorted by step, repeats dropped);
    the size is the stored history's point count. ``open_block`` comes from :func:`worth_reducing`.
    """
    steps: list[int] = []
    values: list[float | None] = []
    total = 0
    summaries = [tuple(row) for row in conn.execute(_BLOCKS, {"run_id": run_id, "key": key})]
    if open_block[0]:
        summaries.append(open_block)
    for n, lo, hi, first, last, low, low_at, high, high_at in summaries:
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
    return steps, values, total
