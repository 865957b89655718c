"""``SqlStore``: the :class:`~jupyter_mlops.store.base.Store` on SQLite or PostgreSQL through SQLAlchemy Core.

One code path serves both databases; the only dialect switch is which ``INSERT ... ON CONFLICT`` construct builds
upserts (both databases speak the same SQL for it). Every statement is built with Core and bound parameters.

Writes run in short transactions (``BEGIN IMMEDIATE`` on SQLite, see :mod:`.engine`); a transient "database is
locked" is retried, so concurrent writers wait instead of failing. Any other database failure becomes a
one-line :class:`~jupyter_mlops.errors.StoreUnavailable`.
"""

from __future__ import annotations

import json
import math
import random
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, bindparam, delete, exc, insert, select, update

from jupyter_mlops.entities import Artifact, DataInput, Experiment, Metric, Page, Param, Run, RunStatus, SliceMetric
from jupyter_mlops.errors import Conflict, InvalidInput, NotFound, StoreUnavailable
from jupyter_mlops.store import history, migrations, reads, rollup, slices
from jupyter_mlops.store import schema as s
from jupyter_mlops.store.base import ChartColumns, FastPaths, SeriesColumns, StatCache, Store
from jupyter_mlops.store.checks import check_name, check_names, check_paging, checked_run_fields, clean_tags
from jupyter_mlops.store.engine import WRITE_OPTION, is_locked, make_engine, redact_url, unavailable
from jupyter_mlops.store.external import SqlExternal
from jupyter_mlops.store.filter_sql import bound
from jupyter_mlops.store.models import SqlModels
from jupyter_mlops.store.rows import (
    RESOLVE_LIMIT,
    derive_status,
    merge_flags,
    only_match,
    run_reference,
    short_page_total,
)
from jupyter_mlops.store.search import StatementCache, walk_page
from jupyter_mlops.store.statcache import SqlStatCache
from jupyter_mlops.store.transfer import SqlTransfer
from jupyter_mlops.store.values import METRIC_COLUMNS, encode_param, metric_rows, metric_tuple_rows, new_run_name

T = TypeVar("T")

_LOCK_RETRIES = 20
#: PostgreSQL's SQLSTATE for a statement stopped by ``statement_timeout``.
_QUERY_CANCELED = "57014"
_EMPTY_SUMMARY = '{"params": {}, "metrics": {}}'
# Statements on the start/end path are built once: constructing ``.values(...)`` cost ~0.4 ms a call, more
# than executing it. Column values come in as parameters (an UPDATE sets exactly the columns given).
_EXPERIMENT_ID = select(s.experiments.c.id).where(s.experiments.c.name == bindparam("name"))
_INSERT_RUN = insert(s.runs)
_UPDATE_RUN = update(s.runs).where(s.runs.c.id == bindparam("target_run_id")).values(revision=s.runs.c.revision + 1)
# Every write that changes a run bumps its revision in the same transaction (ADR-084: what sync compares).
_BUMP = update(s.runs).where(s.runs.c.id == bindparam("target_run_id")).values(revision=s.runs.c.revision + 1)
_lm, _rs = s.latest_metrics.c, s.metric_rollup_state.c
_LATEST_AND_ROLLUP = (
    select(_lm.key, _lm.value, *rollup.STATE_COLUMNS)
    .select_from(s.latest_metrics.outerjoin(s.metric_rollup_state,
                                            (_rs.run_id == _lm.run_id) & (_rs.key == _lm.key)))
    .where(_lm.run_id == bindparam("run_id"), _lm.key.in_(bindparam("keys", expanding=True))))


class SqlStore(SqlModels, SqlExternal, SqlTransfer, Store):
    """The run store on a SQL database (registry and import primitives: :class:`.SqlModels`, :class:`.SqlExternal`).

    Args:
        url: SQLAlchemy URL: ``sqlite:///path/to/mlops.db``, ``sqlite://`` (in memory) or
            ``postgresql+psycopg://user@host/db``.
        create: create a missing SQLite file (and its folder); when false a missing file raises StoreUnavailable.
        stale_after: a running run whose heartbeat is older than this many seconds reads as ``crashed``.
        clock: returns the current epoch time; injectable so tests can age heartbeats without sleeping.

    Raises:
        StoreUnavailable: the database cannot be reached or is not usable (one line).

    The constructor only connects; :meth:`migrate` (called by ``open_store``) creates or upgrades the schema.
    """

    def __init__(self, url: str, *, create: bool = True, stale_after: float = 30.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.url = url
        self.where = redact_url(url)
        #: Longest a read may run on PostgreSQL before the server stops it (milliseconds).
        self.read_timeout_ms = 30_000
        self.stale_after = stale_after
        self.clock = clock
        self._engine: Engine = make_engine(url, create=create)
        self._writer: Engine = self._engine.execution_options(**{WRITE_OPTION: True})
        self._insert = _upsert_builder(self._engine.dialect.name)
        self._bulk_sql: dict[str, tuple[str, list[int] | None]] = {}
        self._statements = StatementCache(deep_walk=self._engine.dialect.name == "sqlite")

    # -- plumbing --------------------------------------------------------------------------------------
    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (for tests and maintenance tools)."""
        return self._engine

    @property
    def statements(self) -> StatementCache:
        """The built statements of recent searches; ``statements.walk = False`` turns the sort walk off (ADR-113)."""
        return self._statements

    def _read(self, fn: Callable[[Connection], T]) -> T:
        try:
            with self._engine.connect() as conn:
                if conn.dialect.name != "postgresql":
                    return fn(conn)
                # A shared server must not be tied up by one search: the read's transaction bounds its statements.
                with conn.begin():
                    conn.exec_driver_sql(f"SET LOCAL statement_timeout = {int(self.read_timeout_ms)}")
                    return fn(conn)
        except exc.DBAPIError as error:
            if getattr(error.orig, "sqlstate", None) == _QUERY_CANCELED:
                raise StoreUnavailable(f"the read took longer than {self.read_timeout_ms / 1000:g} s on {self.where} "
                                       "and was stopped; narrow the filter") from None
            raise unavailable(error, self.where) from None

    def _write(self, fn: Callable[[Connection], T]) -> T:
        """Run ``fn`` in one write transaction, retrying while SQLite reports the database as locked."""
        for attempt in range(_LOCK_RETRIES):
            try:
                with self._writer.begin() as conn:
                    return fn(conn)
            except exc.IntegrityError as error:
                raise Conflict(f"the change conflicts with stored data: {_first(error)}") from None
            except exc.OperationalError as error:
                if not is_locked(error) or attempt == _LOCK_RETRIES - 1:
                    raise unavailable(error, self.where) from None
                time.sleep(min(0.05 * (attempt + 1), 1.0) * random.uniform(0.5, 1.5))
            except (exc.DataError, ValueError, OverflowError) as error:  # the driver refused a value, not the store
                raise InvalidInput(f"a value cannot be stored: {_first(error)}") from None
            except exc.DBAPIError as error:
                raise unavailable(error, self.where) from None
        raise StoreUnavailable(f"store {self.where} stayed locked")  # pragma: no cover - loop always returns

    def _upsert(self, conn: Connection, table: Any, rows: list[dict[str, Any]], keys: Sequence[str],
                columns: Sequence[str], where: Callable[[Any], Any] | None = None) -> None:
        if not rows:
            return
        stmt = self._insert(table)
        stmt = stmt.on_conflict_do_update(
            index_elements=list(keys),
            set_={c: stmt.excluded[c] for c in columns},
            where=None if where is None else where(stmt.excluded),
        )
        conn.execute(stmt, rows)

    def _bulk_insert(self, conn: Connection, table: Any, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        """``executemany`` of a Core ``INSERT`` compiled once, fed plain tuples.

        SQLAlchemy's per-row parameter processing costs more than SQLite's insert itself for metric points; the
        statement text still comes from the Core construct and every value is still a bound parameter.
        """
        cached = self._bulk_sql.get(table.name)
        if cached is None:
            compiled = insert(table).compile(dialect=self._engine.dialect, column_keys=list(columns))
            positions = compiled.positiontup or []
            order = [list(columns).index(k) for k in positions] if compiled.positional else None
            cached = self._bulk_sql[table.name] = (str(compiled), order)
        sql, order = cached
        if order is None:
            conn.exec_driver_sql(sql, [dict(zip(columns, row, strict=True)) for row in rows])
        elif order == sorted(order):
            conn.exec_driver_sql(sql, rows)
        else:
            conn.exec_driver_sql(sql, [tuple(row[i] for i in order) for row in rows])

    @staticmethod
    def _require_run(conn: Connection, run_id: str) -> None:
        if conn.scalar(select(s.runs.c.id).where(s.runs.c.id == run_id)) is None:
            raise NotFound(f"no run with id {run_id!r}")

    # -- lifecycle -------------------------------------------------------------------------------------
    def pending_migrations(self) -> list[str]:
        """Names of migrations this database still needs; reads only."""
        return self._read(migrations.pending)

    def migrate(self) -> list[str]:
        """Apply pending forward migrations in one transaction; return the names applied."""
        self._read(lambda conn: migrations.check_not_too_new(conn, self.where))
        if not self._read(migrations.pending):
            return []
        return self._write(lambda conn: migrations.migrate(conn, self.where))

    def close(self) -> None:
        """Release every pooled connection."""
        self._engine.dispose()

    # -- experiments -----------------------------------------------------------------------------------
    def _experiment_id(self, conn: Connection, name: str) -> int:
        if not name or not name.strip():
            raise InvalidInput("an experiment needs a non-empty name")
        check_name(name, "experiment name")
        # Look first: the experiment almost always exists, and a plain SELECT is cheaper than an upsert.
        found = conn.scalar(_EXPERIMENT_ID, {"name": name})
        if found is None:
            conn.execute(self._insert(s.experiments).values(name=name, created=self.clock()).on_conflict_do_nothing())
            found = conn.scalar(_EXPERIMENT_ID, {"name": name})
        return int(found or 0)

    def get_or_create_experiment(self, name: str) -> Experiment:
        """The experiment with this name, created if missing."""
        def work(conn: Connection) -> Experiment:
            exp_id = self._experiment_id(conn, name)
            row = conn.execute(select(s.experiments).where(s.experiments.c.id == exp_id)).one()
            return Experiment(id=row.id, name=row.name, created=row.created)
        return self._write(work)

    def list_experiments(self) -> list[Experiment]:
        """All experiments, by name."""
        rows = self._read(lambda conn: conn.execute(select(s.experiments).order_by(s.experiments.c.name)).all())
        return [Experiment(id=r.id, name=r.name, created=r.created) for r in rows]

    # -- runs ------------------------------------------------------------------------------------------
    def create_run(self, *, name: str | None = None, experiment: str = "default", tags: Iterable[str] = (),
                   note: str = "", notebook_path: str | None = None, reproduction_of: str | None = None,
                   start_time: float | None = None, run_id: str | None = None) -> Run:
        """Create a running run (heartbeat = start); a missing name gets a generated one."""
        run_id = run_id or uuid.uuid4().hex
        start = self.clock() if start_time is None else start_time
        tag_rows = [{"run_id": run_id, "tag": t} for t in sorted(set(clean_tags(tags)))]

        run_name = name or new_run_name()
        experiment = experiment or "default"
        check_name(run_name, "run name")

        def work(conn: Connection) -> None:
            exp_id = self._experiment_id(conn, experiment)
            conn.execute(_INSERT_RUN, dict(
                id=run_id, name=run_name, experiment_id=exp_id, status=RunStatus.RUNNING.value,
                start_time=start, heartbeat=start, note=note or "", notebook_path=notebook_path,
                reproduction_of=reproduction_of, flags="{}", summary=_EMPTY_SUMMARY,
            ))
            if tag_rows:
                conn.execute(insert(s.tags), tag_rows)
        self._write(work)
        # A brand-new run has no children but its tags: build it from what was written instead of reading back.
        return Run(id=run_id, name=run_name, experiment=experiment,
                   status=derive_status(RunStatus.RUNNING.value, start, self.clock() - self.stale_after),
                   start_time=start, heartbeat=start, notebook_path=notebook_path, note=note or "",
                   reproduction_of=reproduction_of, tags=tuple(row["tag"] for row in tag_rows))

    def _load(self, conn: Connection, run_ids: Sequence[str]) -> list[Run]:
        rows = conn.execute(reads.RUNS_BY_IDS, {"ids": list(run_ids)}).all()
        return reads.load_runs(conn, rows, stale_before=self.clock() - self.stale_after)

    def get_run(self, run_id: str) -> Run:
        """The full run. Raises NotFound."""
        found = self._read(lambda conn: self._load(conn, [run_id]))
        if not found:
            raise NotFound(f"no run with id {run_id!r}")
        return found[0]

    def resolve_run(self, ref: str) -> str:
        """A full id, a unique id prefix (>= 4 characters) or a unique run name, as a run id."""
        ref, prefix = run_reference(ref)

        def work(conn: Connection) -> list[str]:
            if conn.scalar(select(s.runs.c.id).where(s.runs.c.id == ref)) is not None:
                return [ref]
            test = s.runs.c.name == ref
            if prefix is not None:
                test = test | s.runs.c.id.startswith(prefix, autoescape=True)
            query = select(s.runs.c.id).where(test).order_by(s.runs.c.start_time).limit(RESOLVE_LIMIT)
            return list(conn.scalars(query))
        return only_match(ref, self._read(work))

    def search_runs(self, filter: str | None = None, order_by: Sequence[str] = (),  # noqa: A002
                    limit: int | None = None, offset: int = 0) -> Page[Run]:
        """Runs matching a filter-language expression, ordered and paged; newest first by default."""
        check_paging(limit, offset)
        search = self._statements.search(filter, order_by, limit, offset)
        stale_before = self.clock() - self.stale_after

        def work(conn: Connection) -> Page[Run]:
            ids = None
            if search.walk is not None and limit is not None:
                ids = walk_page(conn, search.walk, limit, offset, bound(stale_before))
            if ids is not None:
                walked = reads.runs_in_order(conn, ids)
                counted = short_page_total(len(ids), limit, offset)
                if counted is None:  # counted apart: the walk stopped early and cannot know (ADR-113)
                    counted = int(conn.scalar(search.count, bound(stale_before)) or 0)
                found = reads.load_runs(conn, walked, stale_before=stale_before)
                return Page(items=tuple(found), total=counted, offset=offset, limit=limit)
            if search.page_ids is None:
                rows = conn.execute(search.rows, bound(stale_before)).all()
                first = rows[0].total if rows and search.windowed else None
            else:
                picked = conn.execute(search.page_ids, bound(stale_before)).all()
                first = picked[0].total if picked and search.windowed else None
                rows = reads.runs_in_order(conn, [r.id for r in picked])
            total = int(first) if first is not None else short_page_total(len(rows), limit, offset)
            if total is None:
                total = int(conn.scalar(search.count, bound(stale_before)) or 0)
            items = reads.load_runs(conn, rows, stale_before=stale_before, id_query=search.ids)
            return Page(items=tuple(items), total=total, offset=offset, limit=limit)
        return self._read(work)

    def run_columns(self, filter: str | None = None, order_by: Sequence[str] = (),  # noqa: A002
                    limit: int | None = None) -> dict[str, list[Any]]:
        """:meth:`Store.run_columns` reading only the run columns, summaries and tags (no Run entities)."""
        check_paging(limit, 0)
        frame = self._statements.frame(filter, order_by, limit)
        stale_before = self.clock() - self.stale_after
        return self._read(lambda conn: reads.run_columns(conn, conn.execute(frame.rows, bound(stale_before)).all(),
                                                         stale_before=stale_before, id_query=frame.ids))

    def update_run(self, run_id: str, **fields: Any) -> Run:
        """Set run columns (see :meth:`Store.update_run`); ``flags`` are merged into the stored ones."""
        values = checked_run_fields(fields)

        def work(conn: Connection) -> Run:
            self._update_row(conn, run_id, values)
            # Read back in the same transaction: one connection and one commit instead of two.
            return self._load(conn, [run_id])[0]
        return self._write(work)

    def patch_run(self, run_id: str, **fields: Any) -> None:
        """Set run columns like :meth:`update_run` without reading the run back."""
        values = checked_run_fields(fields)
        self._write(lambda conn: self._update_row(conn, run_id, values))

    def _update_row(self, conn: Connection, run_id: str, values: dict[str, Any]) -> None:
        if "note" in values:
            # Every note a run had is kept, stamped: the merge of a sync keeps the note it replaces (ADR-085).
            found = conn.execute(select(s.runs.c.note, s.runs.c.start_time).where(s.runs.c.id == run_id)).first()
            if found is not None and found.note != values["note"]:
                h = s.note_history.c
                rows = [{"run_id": run_id, "note": values["note"] or "", "at": self.clock()}]
                if found.note and conn.scalar(select(h.id).where(h.run_id == run_id).limit(1)) is None:
                    rows.insert(0, {"run_id": run_id, "note": found.note, "at": found.start_time})
                conn.execute(insert(s.note_history), rows)
        if "flags" in values:
            current = conn.scalar(select(s.runs.c.flags).where(s.runs.c.id == run_id))
            if current is None:
                SqlStore._require_run(conn, run_id)
            values = {**values, "flags": merge_flags(current, values["flags"])}
        if not values:
            SqlStore._require_run(conn, run_id)
        elif not conn.execute(_UPDATE_RUN, {"target_run_id": run_id, **values}).rowcount:
            raise NotFound(f"no run with id {run_id!r}")

    def delete_run(self, run_id: str) -> None:
        """Delete a run and everything logged to it. Raises NotFound."""
        def work(conn: Connection) -> None:
            self._require_run(conn, run_id)
            rollup.delete_for(conn, run_id)
            for table in s.RUN_CHILD_TABLES:
                conn.execute(delete(table).where(table.c.run_id == run_id))
            conn.execute(update(s.model_versions).where(s.model_versions.c.run_id == run_id).values(run_id=None))
            conn.execute(delete(s.runs).where(s.runs.c.id == run_id))
        self._write(work)

    def heartbeat(self, run_id: str, at: float | None = None) -> None:
        """Mark a running run alive (a run that is no longer running is left alone)."""
        moment = self.clock() if at is None else at

        def work(conn: Connection) -> None:
            changed = conn.execute(update(s.runs).where(s.runs.c.id == run_id, s.runs.c.status == "running")
                                   .values(heartbeat=moment)).rowcount
            if not changed:
                self._require_run(conn, run_id)
        self._write(work)

    def set_tags(self, run_id: str, add: Iterable[str] = (), remove: Iterable[str] = ()) -> tuple[str, ...]:
        """Add and remove tags; return the run's tags afterwards, sorted."""
        added, removed = sorted(set(clean_tags(add))), sorted(set(clean_tags(remove)))
        now = self.clock()

        def work(conn: Connection) -> tuple[str, ...]:
            if not conn.execute(_BUMP, {"target_run_id": run_id}).rowcount:
                raise NotFound(f"no run with id {run_id!r}")
            # The last add or removal of each tag, a removal kept as a tombstone for sync's merge (ADR-085).
            changes = [{"run_id": run_id, "tag": t, "present": False, "at": now} for t in removed]
            changes += [{"run_id": run_id, "tag": t, "present": True, "at": now} for t in added if t not in removed]
            self._upsert(conn, s.tag_changes, changes, ("run_id", "tag"), ("present", "at"))
            if removed:
                conn.execute(delete(s.tags).where(s.tags.c.run_id == run_id, s.tags.c.tag.in_(removed)))
            if added:
                conn.execute(self._insert(s.tags).on_conflict_do_nothing(),
                             [{"run_id": run_id, "tag": t} for t in added])
            return tuple(conn.scalars(select(s.tags.c.tag).where(s.tags.c.run_id == run_id).order_by(s.tags.c.tag)))
        return self._write(work)

    # -- values ----------------------------------------------------------------------------------------
    def log_batch(self, run_id: str, metrics: Sequence[Metric] = (), params: Sequence[Param] = (),
                  sliced: Sequence[SliceMetric] = ()) -> None:
        """Append metric points (history + latest table), sliced points, and upsert params, in one transaction."""
        if metrics or params or sliced:
            self._log_values(run_id, metric_rows(run_id, metrics), params, slices.slice_rows(run_id, sliced))

    def log_metric_rows(self, run_id: str, rows: Sequence[tuple[str, float, int, float]]) -> None:
        """Append ``(key, value, step, timestamp)`` tuples straight into the compiled INSERT (no entities)."""
        if rows:
            self._log_values(run_id, metric_tuple_rows(run_id, rows), ())

    def _log_values(self, run_id: str, metric_data: tuple[list[tuple[Any, ...]], list[dict[str, Any]]],
                    params: Sequence[Param],
                    slice_data: tuple[list[dict[str, Any]], list[dict[str, Any]]] = ([], [])) -> None:
        points, latest = metric_data
        encoded = [(p.key, *encode_param(p.value), p.source or "api") for p in params]
        for key, *_ in encoded:
            if not isinstance(key, str) or not key:
                raise InvalidInput("a param needs a non-empty string key")
            check_name(key, "param name")
        check_names((row["key"] for row in latest), "metric name")
        now = self.clock()

        def work(conn: Connection) -> None:
            # Lock the run row first (FOR UPDATE on PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises), so
            # concurrent batches for one run never lose each other's summary update.
            found = conn.execute(select(s.runs.c.summary).where(s.runs.c.id == run_id).with_for_update()).first()
            if found is None:
                raise NotFound(f"no run with id {run_id!r}")
            summary = json.loads(found.summary or _EMPTY_SUMMARY)
            if points:
                self._bulk_insert(conn, s.metrics, METRIC_COLUMNS, points)
                self._upsert(conn, s.latest_metrics, latest, ("run_id", "key"), ("value", "step", "timestamp"),
                             where=lambda new: (new.step > s.latest_metrics.c.step)
                             | ((new.step == s.latest_metrics.c.step)
                                & (new.timestamp >= s.latest_metrics.c.timestamp)))
                keys = [row["key"] for row in latest]
                known: dict[str, rollup.State | None] = {}
                # The summary's latest values and the rollup states in one statement (ADR-116: no extra read).
                for key, value, *state in conn.execute(_LATEST_AND_ROLLUP, {"run_id": run_id, "keys": keys}):
                    summary["metrics"][key] = math.nan if value is None else value
                    known[key] = rollup.state_from(state)
                rollup.after_append(conn, run_id, points, known)
            slices.write(conn, self._upsert, run_id, *slice_data, summary)
            if encoded:
                self._log_params(conn, run_id, encoded, now)
                summary["params"].update({key: json.loads(text) for key, text, *_ in encoded})
            conn.execute(update(s.runs).where(s.runs.c.id == run_id)
                         .values(summary=json.dumps(summary), revision=s.runs.c.revision + 1))
        self._write(work)

    def _log_params(self, conn: Connection, run_id: str, encoded: list[tuple[Any, ...]], now: float) -> None:
        keys = sorted({row[0] for row in encoded})
        current = dict(conn.execute(select(s.params.c.key, s.params.c.value)
                                    .where(s.params.c.run_id == run_id, s.params.c.key.in_(keys))).all())
        history, latest = [], {}
        for key, value, num, text, source in encoded:
            if current.get(key) != value:
                history.append({"run_id": run_id, "key": key, "value": value, "source": source, "logged_at": now})
                current[key] = value
            latest[key] = {"run_id": run_id, "key": key, "value": value, "num_value": num, "text_value": text,
                           "source": source}
        if history:
            conn.execute(insert(s.param_history), history)
        self._upsert(conn, s.params, list(latest.values()), ("run_id", "key"),
                     ("value", "num_value", "text_value", "source"))

    def metric_history(self, run_id: str, key: str) -> list[Metric]:
        """All points of one metric, by step then time. Raises NotFound for an unknown run."""
        def work(conn: Connection) -> list[Metric]:
            points = history.one_history(conn, run_id, key)
            if not points:
                self._require_run(conn, run_id)
            return points
        return self._read(work)

    def metric_histories(self, run_ids: Sequence[str], keys: Sequence[str]) -> dict[tuple[str, str], list[Metric]]:
        """Histories of many (run, key) pairs in one statement (see :meth:`Store.metric_histories`)."""
        ids, wanted = list(dict.fromkeys(run_ids)), list(dict.fromkeys(keys))

        def work(conn: Connection) -> dict[tuple[str, str], list[Metric]]:
            found = history.many_histories(conn, ids, wanted)
            missing = set(ids) - {run_id for run_id, _ in found}
            if missing:
                known = set(conn.scalars(select(s.runs.c.id).where(s.runs.c.id.in_(sorted(missing)))))
                unknown = sorted(missing - known)
                if unknown:
                    raise NotFound(f"no run with id {unknown[0]!r}")
            return found
        return self._read(work)

    def metric_series(self, run_ids: Sequence[str], keys: Sequence[str]) -> dict[tuple[str, str], SeriesColumns]:
        """:meth:`Store.metric_series` read as two columns from the covering index (migration 0015)."""
        def work(conn: Connection) -> dict[tuple[str, str], SeriesColumns]:
            found = history.series(conn, run_ids, keys)
            missing = set(run_ids) - {run_id for run_id, _ in found}
            if missing:
                known = set(conn.scalars(select(s.runs.c.id).where(s.runs.c.id.in_(sorted(missing)))))
                if missing - known:
                    raise NotFound(f"no run with id {sorted(missing - known)[0]!r}")
            return found
        return self._read(work)

    def metric_marks(self, run_ids: Sequence[str], keys: Sequence[str]) -> dict[tuple[str, str], tuple[int, float]]:
        """:meth:`Store.metric_marks` from ``latest_metrics`` in one statement."""
        return self._read(lambda conn: history.marks(conn, run_ids, keys))

    def metric_chart_columns(self, run_ids: Sequence[str], keys: Sequence[str], reduce_from: int
                             ) -> dict[tuple[str, str], ChartColumns]:
        """:meth:`Store.metric_chart_columns` through the rollups where they are worth it (ADR-116).

        A history of at least ``reduce_from`` points with a valid rollup is read as its blocks' first/min/max/last
        points, any other one as raw columns from the covering index.
        """
        def work(conn: Connection) -> dict[tuple[str, str], ChartColumns]:
            out: dict[tuple[str, str], ChartColumns] = {}
            raw: dict[str, list[str]] = {}
            reducible = rollup.worth_reducing(conn, run_ids, keys, reduce_from)
            for run_id in dict.fromkeys(run_ids):
                for key in dict.fromkeys(keys):
                    open_block = reducible.get((run_id, key))
                    if open_block is None:
                        raw.setdefault(key, []).append(run_id)
                    else:
                        out[(run_id, key)] = rollup.reduced(conn, run_id, key, open_block)
            for key, ids in raw.items():
                for pair, (steps, values) in history.series(conn, ids, [key]).items():
                    out[pair] = (steps, values, len(steps))
            missing = set(run_ids) - {run_id for run_id, _ in out}
            if missing:
                known = set(conn.scalars(select(s.runs.c.id).where(s.runs.c.id.in_(sorted(missing)))))
                if missing - known:
                    raise NotFound(f"no run with id {sorted(missing - known)[0]!r}")
            return {pair: out[pair] for run_id in run_ids for key in keys if (pair := (run_id, key)) in out}
        return self._read(work)

    def build_rollups(self, run_ids: Sequence[str] | None = None) -> tuple[int, int]:
        """Build (or rebuild) the rollups of every history of these runs from their points: ``(runs, blocks)``.

        For stores filled around the write path (a loader, a store from before migration 0017) and histories whose
        rollup a back-filled point made invalid; None picks the runs with such a history. One transaction per run.
        """
        if run_ids is None:
            state = s.metric_rollup_state.c
            run_ids = self._read(lambda conn: list(conn.scalars(
                select(state.run_id).where(state.valid.is_(False)).distinct().order_by(state.run_id))))
        chosen = list(dict.fromkeys(run_ids))
        made = sum(self._write(partial(rollup.rebuild, run_id=run_id)) for run_id in chosen)
        return len(chosen), made

    def slice_history(self, run_id: str, key: str) -> list[SliceMetric]:
        """Every point of every slice of one metric, by slice, step, time. Raises NotFound for an unknown run."""
        def work(conn: Connection) -> list[SliceMetric]:
            points = slices.history(conn, run_id, key)
            if not points:
                self._require_run(conn, run_id)
            return points
        return self._read(work)

    def param_history(self, run_id: str, key: str) -> list[Param]:
        """Every value a param had in this run, oldest first."""
        h = s.param_history.c

        def work(conn: Connection) -> Sequence[Any]:
            self._require_run(conn, run_id)
            return conn.execute(select(h.key, h.value, h.source).where(h.run_id == run_id, h.key == key)
                                .order_by(h.id)).all()
        return [Param(r.key, json.loads(r.value), r.source) for r in self._read(work)]

    def log_data_inputs(self, run_id: str, inputs: Sequence[DataInput]) -> None:
        """Record datasets; the same (name, role) logged again replaces the earlier record."""
        rows = {(d.name, d.role): {"run_id": run_id, "name": d.name, "role": d.role or "input", "kind": d.kind,
                                   "path": d.path, "hash": d.hash, "size": d.size,
                                   "schema": None if d.schema is None else json.dumps(d.schema, default=str)}
                for d in inputs}

        def work(conn: Connection) -> None:
            if not conn.execute(_BUMP, {"target_run_id": run_id}).rowcount:
                raise NotFound(f"no run with id {run_id!r}")
            d = s.data_inputs.c
            for name, role in rows:
                conn.execute(delete(s.data_inputs).where(d.run_id == run_id, d.name == name, d.role == role))
            if rows:
                conn.execute(insert(s.data_inputs), list(rows.values()))
        self._write(work)

    def log_artifacts(self, run_id: str, artifacts: Sequence[Artifact]) -> None:
        """Record artifacts (their bytes already in the blob store); the same path again replaces the record."""
        rows = [{"run_id": run_id, "path": a.path, "hash": a.hash, "size": a.size} for a in artifacts]

        def work(conn: Connection) -> None:
            if not conn.execute(_BUMP, {"target_run_id": run_id}).rowcount:
                raise NotFound(f"no run with id {run_id!r}")
            self._upsert(conn, s.artifacts, rows, ("run_id", "path"), ("hash", "size"))
        self._write(work)

    def stat_cache(self) -> StatCache:
        """The persistent hash cache, in this database's ``hash_cache`` table."""
        return SqlStatCache(self)


def _upsert_builder(dialect: str) -> Callable[..., Any]:
    # Imported on demand: the PostgreSQL dialect module costs import time that SQLite users never need.
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert


def _first(error: BaseException) -> str:
    return (str(getattr(error, "orig", error)).strip().splitlines() or [""])[0]


#: Checked by mypy: the SQL store answers every optional fast path with the signature the Protocol declares.
_FAST_PATHS: type[FastPaths] = SqlStore
