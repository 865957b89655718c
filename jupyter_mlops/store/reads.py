"""Read side of the SQL store: run queries, ordering, and loading a page of runs with their children.

Params and latest metrics come from each run's ``summary`` JSON (see :mod:`.schema`); the other children (tags,
data inputs, artifacts) of a page are loaded with one query per child table over the page's ids
(``run_id IN (...)``, or the filter itself as a subquery for large sets), never one query per run. Rows become
entities in :mod:`.rows`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import BindParameter, Connection, Select, bindparam, func, select

from jupyter_mlops.entities import Run
from jupyter_mlops.errors import InvalidInput
from jupyter_mlops.store import schema as s
from jupyter_mlops.store.filter_sql import bound, run_field_column
from jupyter_mlops.store.rows import (
    ARTIFACT_FIELDS,
    DATA_INPUT_FIELDS,
    RUN_FIELDS,
    decode_summaries,
    derive_status,
    group_by_run,
    runs_from_rows,
)

_CHUNK = 900  # ids per IN list: far below SQLite's and PostgreSQL's bound-parameter limits
SORT_FIELDS = ("start_time", "end_time", "name", "status", "experiment", "duration", "id", "heartbeat")

RUN_COLUMNS = tuple(s.experiments.c.name.label("experiment") if field == "experiment" else s.runs.c[field]
                    for field in RUN_FIELDS)


def runs_select(*, with_total: bool = False) -> Select[Any]:
    """``SELECT <run columns>, experiment name FROM runs JOIN experiments``.

    Args:
        with_total: add ``COUNT(*) OVER ()`` as ``total``: the number of matching rows before LIMIT/OFFSET.
    """
    columns: list[Any] = list(RUN_COLUMNS)
    if with_total:
        columns.append(func.count().over().label("total"))
    return select(*columns).join(s.experiments, s.experiments.c.id == s.runs.c.experiment_id)


def apply_order(query: Select[Any], order_by: Sequence[str]) -> Select[Any]:
    """Add ORDER BY clauses for items like ``"metrics.auc DESC"``; newest first when empty; id breaks ties.

    Raises:
        InvalidInput: an unknown sort key or direction.
    """
    items = [item for item in order_by if item and item.strip()] or ["start_time DESC"]
    for number, item in enumerate(items):
        key, descending = split_order(item)
        if key.startswith(("metrics.", "metric.")):
            alias = s.latest_metrics.alias(f"sort_m{number}")
            query = query.outerjoin(
                alias, (alias.c.run_id == s.runs.c.id) & (alias.c.key == key.partition(".")[2])
            )
            columns = [alias.c.value]
        elif key.startswith(("params.", "param.")):
            alias = s.params.alias(f"sort_p{number}")
            query = query.outerjoin(alias, (alias.c.run_id == s.runs.c.id) & (alias.c.key == key.partition(".")[2]))
            columns = [alias.c.num_value, alias.c.text_value]
        elif key in SORT_FIELDS:
            columns = [s.experiments.c.name if key == "experiment" else run_field_column(key)]
        else:
            valid = ", ".join(("metrics.<key>", "params.<key>", *SORT_FIELDS))
            raise InvalidInput(f"cannot sort by {key!r}; sort by one of {valid}, optionally followed by ASC or DESC")
        for column in columns:
            query = query.order_by((column.desc() if descending else column.asc()).nulls_last())
    return query.order_by(s.runs.c.id)


def split_order(item: str) -> tuple[str, bool]:
    """A sort item's key and whether it is descending.

    Raises:
        InvalidInput: more than a key and a direction.
    """
    words = item.strip().split()
    direction = "asc"
    if len(words) > 1 and words[-1].lower() in ("asc", "desc"):
        direction = words.pop().lower()
    if len(words) != 1:
        raise InvalidInput(f"cannot sort by {item!r}; write a key optionally followed by ASC or DESC")
    return words[0], direction == "desc"


def _chunks(ids: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start:start + _CHUNK]


# Child queries are built once: SQLAlchemy memoises a statement object's cache key, so re-executing the same
# object with an expanding ``:ids`` parameter skips rebuilding and re-keying the expression on every read.
_IDS: BindParameter[Any] = bindparam("ids", expanding=True)
_TAGS = select(s.tags.c.run_id, s.tags.c.tag).order_by(s.tags.c.tag)
_INPUTS = select(s.data_inputs.c.run_id, *(s.data_inputs.c[f] for f in DATA_INPUT_FIELDS)).order_by(s.data_inputs.c.id)
_ARTIFACTS = select(s.artifacts.c.run_id, *(s.artifacts.c[f] for f in ARTIFACT_FIELDS)).order_by(s.artifacts.c.path)
_BY_IDS = {name: q.where(q.selected_columns[0].in_(_IDS))
           for name, q in (("tags", _TAGS), ("data_inputs", _INPUTS), ("artifacts", _ARTIFACTS))}
#: The run rows of given ids (``ids`` is an expanding parameter).
RUNS_BY_IDS = runs_select().where(s.runs.c.id.in_(_IDS))


def runs_in_order(conn: Connection, ids: Sequence[str]) -> list[Any]:
    """The run rows (:func:`runs_select`) of ``ids``, in that order; ids of runs deleted meanwhile are skipped."""
    by_id: dict[str, Any] = {}
    for chunk in _chunks(ids):
        by_id.update((row.id, row) for row in conn.execute(RUNS_BY_IDS, {"ids": list(chunk)}))
    return [by_id[run_id] for run_id in ids if run_id in by_id]


def _children(conn: Connection, table: str, query: Select[Any], ids: Sequence[str],
              id_query: Select[Any] | None, stale_before: float) -> list[Any]:
    if id_query is not None and len(ids) > _CHUNK:
        # Many runs: one statement over the same filter beats dozens of long IN lists.
        by_filter = query.where(query.selected_columns[0].in_(id_query))
        return list(conn.execute(by_filter, bound(stale_before)).all())
    by_ids = _BY_IDS[table]
    rows: list[Any] = []
    for chunk in _chunks(ids):
        rows.extend(conn.execute(by_ids, {"ids": list(chunk)}).all())
    return rows


def load_runs(conn: Connection, rows: Sequence[Any], *, stale_before: float,
              id_query: Select[Any] | None = None) -> list[Run]:
    """Turn run rows (from :func:`runs_select`) into full :class:`Run` entities, children included.

    Args:
        conn: an open connection (one read transaction, so the page is a consistent snapshot).
        rows: run rows from :func:`runs_select`.
        stale_before: heartbeats older than this make a running run read as crashed.
        id_query: ``SELECT runs.id`` selecting exactly these rows' ids, used instead of IN lists for large sets.
    """
    ids = [row.id for row in rows]
    return runs_from_rows(rows, stale_before=stale_before,
                          tag_rows=_children(conn, "tags", _TAGS, ids, id_query, stale_before),
                          input_rows=_children(conn, "data_inputs", _INPUTS, ids, id_query, stale_before),
                          artifact_rows=_children(conn, "artifacts", _ARTIFACTS, ids, id_query, stale_before))


#: The run columns a DataFrame needs (:func:`run_columns`), in :func:`runs_select`'s join.
FRAME_COLUMNS = (s.runs.c.id, s.runs.c.name, s.experiments.c.name.label("experiment"), s.runs.c.status,
                 s.runs.c.start_time, s.runs.c.end_time, s.runs.c.heartbeat, s.runs.c.summary)


def frame_select(query: Select[Any]) -> Select[Any]:
    """``query`` (from :func:`runs_select`, filtered and ordered) narrowed to :data:`FRAME_COLUMNS`."""
    return query.with_only_columns(*FRAME_COLUMNS, maintain_column_froms=True)


def run_columns(conn: Connection, rows: Sequence[Any], *, stale_before: float,
                id_query: Select[Any] | None = None) -> dict[str, list[Any]]:
    """Rows from :func:`frame_select` as the columns of :meth:`Store.run_columns`: no entities, one pass."""
    tag_rows = _children(conn, "tags", _TAGS, [row[0] for row in rows], id_query, stale_before)
    tags = group_by_run(tag_rows, lambda row: row[1])
    ids, names, experiments, stored, starts, ends, beats, texts = (
        (list(column) for column in zip(*rows, strict=True)) if rows else ([] for _ in range(8)))
    summaries = decode_summaries(texts)
    return {
        "run_id": ids, "name": names, "experiment": experiments,
        "status": [derive_status(status, beat, stale_before).value
                   for status, beat in zip(stored, beats, strict=True)],
        "start_time": starts, "end_time": ends,
        "params": [summary.get("params", {}) for summary in summaries],
        "metrics": [summary.get("metrics", {}) for summary in summaries],
        "tags": [tags.get(run_id, []) for run_id in ids],
    }
