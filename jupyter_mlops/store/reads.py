"""Read side of the SQL store: rows to entities, ordering, and loading a page of runs with their children.

Params and latest metrics come from each run's ``summary`` JSON (see :mod:`.schema`); the other children (tags,
data inputs, artifacts) of a page are loaded with one query per child table over the page's ids
(``run_id IN (...)``, or the filter itself as a subquery for large sets), never one query per run.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import BindParameter, Connection, Select, bindparam, func, select

from jupyter_mlops.entities import Artifact, DataInput, Run, RunStatus
from jupyter_mlops.errors import InvalidInput
from jupyter_mlops.store import schema as s
from jupyter_mlops.store.filter_sql import bound, run_field_column

_CHUNK = 900  # ids per IN list: far below SQLite's and PostgreSQL's bound-parameter limits
SORT_FIELDS = ("start_time", "end_time", "name", "status", "experiment", "duration", "id", "heartbeat")

RUN_COLUMNS = (
    s.runs.c.id,
    s.runs.c.name,
    s.experiments.c.name.label("experiment"),
    s.runs.c.status,
    s.runs.c.start_time,
    s.runs.c.end_time,
    s.runs.c.heartbeat,
    s.runs.c.notebook_path,
    s.runs.c.git_commit,
    s.runs.c.git_dirty,
    s.runs.c.code_hash,
    s.runs.c.notebook_hash,
    s.runs.c.env_hash,
    s.runs.c.note,
    s.runs.c.reproduction_of,
    s.runs.c.flags,
    s.runs.c.summary,
)


_RUN_WIDTH = len(RUN_COLUMNS)


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
        key, descending = _split_order(item)
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


def _split_order(item: str) -> tuple[str, bool]:
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
_INPUTS = select(s.data_inputs.c.run_id, s.data_inputs.c.name, s.data_inputs.c.hash, s.data_inputs.c.kind,
                 s.data_inputs.c.path, s.data_inputs.c.size, s.data_inputs.c.schema,
                 s.data_inputs.c.role).order_by(s.data_inputs.c.id)
_ARTIFACTS = select(s.artifacts.c.run_id, s.artifacts.c.path, s.artifacts.c.hash,
                    s.artifacts.c.size).order_by(s.artifacts.c.path)
_BY_IDS = {name: q.where(q.selected_columns[0].in_(_IDS))
           for name, q in (("tags", _TAGS), ("data_inputs", _INPUTS), ("artifacts", _ARTIFACTS))}
#: The run rows of given ids (``ids`` is an expanding parameter).
RUNS_BY_IDS = runs_select().where(s.runs.c.id.in_(_IDS))


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
    if not ids:
        return []
    tags: dict[str, list[str]] = {}
    for run_id, tag in _children(conn, "tags", _TAGS, ids, id_query, stale_before):
        tags.setdefault(run_id, []).append(tag)
    inputs = _data_inputs(conn, ids, id_query, stale_before)
    artifacts = _artifacts(conn, ids, id_query, stale_before)
    summaries = _summaries([row.summary for row in rows])
    return [
        run_from_row(row, stale_before=stale_before, summary=summary, tags=tuple(tags.get(row.id, ())),
                     data_inputs=tuple(inputs.get(row.id, ())), artifacts=tuple(artifacts.get(row.id, ())))
        for row, summary in zip(rows, summaries, strict=True)
    ]


#: The run columns a DataFrame needs (:func:`run_columns`), in :func:`runs_select`'s join.
FRAME_COLUMNS = (s.runs.c.id, s.runs.c.name, s.experiments.c.name.label("experiment"), s.runs.c.status,
                 s.runs.c.start_time, s.runs.c.end_time, s.runs.c.heartbeat, s.runs.c.summary)


def frame_select(query: Select[Any]) -> Select[Any]:
    """``query`` (from :func:`runs_select`, filtered and ordered) narrowed to :data:`FRAME_COLUMNS`."""
    return query.with_only_columns(*FRAME_COLUMNS, maintain_column_froms=True)


def run_columns(conn: Connection, rows: Sequence[Any], *, stale_before: float,
                id_query: Select[Any] | None = None) -> dict[str, list[Any]]:
    """Rows from :func:`frame_select` as the columns of :meth:`Store.run_columns`: no entities, one pass."""
    tags: dict[str, list[str]] = {}
    if rows:
        for run_id, tag in _children(conn, "tags", _TAGS, [row[0] for row in rows], id_query, stale_before):
            tags.setdefault(run_id, []).append(tag)
    ids, names, experiments, stored, starts, ends, beats, texts = (
        (list(column) for column in zip(*rows, strict=True)) if rows else ([] for _ in range(8)))
    summaries = _summaries(texts)
    return {
        "run_id": ids, "name": names, "experiment": experiments,
        "status": [derive_status(status, beat, stale_before).value
                   for status, beat in zip(stored, beats, strict=True)],
        "start_time": starts, "end_time": ends,
        "params": [summary.get("params", {}) for summary in summaries],
        "metrics": [summary.get("metrics", {}) for summary in summaries],
        "tags": [tags.get(run_id, []) for run_id in ids],
    }


def _summaries(texts: list[str | None]) -> list[dict[str, Any]]:
    """Decode many summary columns with one ``json.loads`` of a JSON array (per-call overhead paid once)."""
    if len(texts) < 2:
        return [_json_object(text) for text in texts]
    return json.loads("[" + ",".join(text if text else "{}" for text in texts) + "]")  # type: ignore[no-any-return]


def _data_inputs(conn: Connection, ids: Sequence[str], id_query: Select[Any] | None,
                 stale_before: float) -> dict[str, list[DataInput]]:
    found: dict[str, list[DataInput]] = {}
    for row in _children(conn, "data_inputs", _INPUTS, ids, id_query, stale_before):
        schema = json.loads(row.schema) if row.schema else None
        found.setdefault(row.run_id, []).append(
            DataInput(name=row.name, hash=row.hash, kind=row.kind, path=row.path, size=row.size, schema=schema,
                      role=row.role)
        )
    return found


def _artifacts(conn: Connection, ids: Sequence[str], id_query: Select[Any] | None,
               stale_before: float) -> dict[str, list[Artifact]]:
    found: dict[str, list[Artifact]] = {}
    for row in _children(conn, "artifacts", _ARTIFACTS, ids, id_query, stale_before):
        found.setdefault(row.run_id, []).append(Artifact(path=row.path, hash=row.hash, size=row.size))
    return found


_STATUSES = {status.value: status for status in RunStatus}


def derive_status(stored: str, heartbeat: float | None, stale_before: float) -> RunStatus:
    """A running run whose heartbeat is older than ``stale_before`` reads as crashed."""
    status = _STATUSES.get(stored) or RunStatus(stored)  # a dict hit instead of an Enum call per run
    if status is RunStatus.RUNNING and heartbeat is not None and heartbeat < stale_before:
        return RunStatus.CRASHED
    return status


def _json_object(text: str | None) -> dict[str, Any]:
    return json.loads(text) if text and text != "{}" else {}


def run_from_row(row: Any, *, stale_before: float, summary: dict[str, Any] | None = None, **children: Any) -> Run:
    """Build a :class:`Run` from a run row plus children.

    Params and latest metrics come from the row's summary column, or from ``summary`` when the caller already
    decoded it.
    """
    (run_id, name, experiment, status, start_time, end_time, heartbeat, notebook_path, git_commit, git_dirty,
     code_hash, notebook_hash, env_hash, note, reproduction_of, flags, text) = row[:_RUN_WIDTH]
    decoded = _json_object(text) if summary is None else summary
    return Run(
        id=run_id,
        name=name,
        experiment=experiment,
        status=derive_status(status, heartbeat, stale_before),
        start_time=start_time,
        end_time=end_time,
        heartbeat=heartbeat,
        notebook_path=notebook_path,
        git_commit=git_commit,
        git_dirty=None if git_dirty is None else bool(git_dirty),
        code_hash=code_hash,
        notebook_hash=notebook_hash,
        env_hash=env_hash,
        note=note or "",
        reproduction_of=reproduction_of,
        flags=_json_object(flags),
        params=decoded.get("params", {}),
        metrics=decoded.get("metrics", {}),
        **children,
    )
