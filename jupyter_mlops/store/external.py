"""Whole runs written as they were elsewhere, and the links to their ids there (ADR-062, ADR-063).

:class:`SqlExternal` is a mixin of :class:`~jupyter_mlops.store.sql.SqlStore` (it uses its transactions and bulk
insert), kept apart so each module has one job. Every statement is Core with bound parameters.

Assumptions:
    * An imported run is written in ONE transaction: the run row, its tags, params, every metric point (one
      ``executemany``), latest values, data inputs, artifacts and its :class:`ExternalLink`. A killed import
      therefore leaves either the whole run or nothing, and the next import (which skips linked runs) completes it.
    * A run that already exists under the id is replaced child by child (its row is updated, never deleted, so
      model versions that name it keep their lineage).
    * Each param's history is one value, stamped at the run's start: the other system keeps no param history.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from jupyter_mlops.entities import ExternalLink, Run, RunStatus
from jupyter_mlops.errors import InvalidInput
from jupyter_mlops.store import rollup
from jupyter_mlops.store import schema as s
from jupyter_mlops.store.checks import check_name, check_names, clean_tags
from jupyter_mlops.store.rows import FLAG_CELLS_KEY, merge_flags
from jupyter_mlops.store.values import METRIC_COLUMNS, encode_param, metric_tuple_rows

_X = s.external_ids.c
_LINK_COLUMNS = ("local_id", "revision", "at")


class SqlExternal:
    """Import primitives of the :class:`~jupyter_mlops.store.base.Store` contract, on SQL."""

    clock: Callable[[], float]
    _read: Callable[..., Any]
    _write: Callable[..., Any]
    _experiment_id: Callable[[Connection, str], int]
    _bulk_insert: Callable[..., None]
    _upsert: Callable[..., None]

    def import_run(self, run: Run, points: Sequence[tuple[str, float, int, float]], *,
                   param_sources: Mapping[str, str] | None = None, link: ExternalLink | None = None) -> None:
        """Write a complete run with its own id and times, replacing any run with that id (see the module doc)."""
        row = _run_row(run)
        tags = sorted(set(clean_tags(run.tags)))
        sources = param_sources or {}
        params = [(key, *encode_param(value), sources.get(key, "import")) for key, value in run.params.items()]
        for key, *_ in params:
            if not key:
                raise InvalidInput("a param needs a non-empty string key")
        check_names((key for key, *_ in params), "param name")
        metric_points, latest = metric_tuple_rows(run.id, points)
        check_names((item["key"] for item in latest), "metric name")
        summary = {"params": {key: json.loads(text) for key, text, *_ in params},
                   "metrics": {item["key"]: math.nan if item["value"] is None else item["value"] for item in latest}}
        row["summary"] = json.dumps(summary)
        now = self.clock()

        def work(conn: Connection) -> None:
            row["experiment_id"] = self._experiment_id(conn, run.experiment or "default")
            if conn.scalar(select(s.runs.c.id).where(s.runs.c.id == run.id)) is None:
                conn.execute(insert(s.runs), row)  # a new run (the usual case) has no children to clear
            else:
                for table in s.RUN_CHILD_TABLES:
                    conn.execute(delete(table).where(table.c.run_id == run.id))
                self._upsert(conn, s.runs, [row], ("id",), [c for c in row if c != "id"])
            if tags:
                conn.execute(insert(s.tags), [{"run_id": run.id, "tag": t} for t in tags])
            if params:
                conn.execute(insert(s.params), [
                    {"run_id": run.id, "key": k, "value": v, "num_value": n, "text_value": t, "source": src}
                    for k, v, n, t, src in params])
                conn.execute(insert(s.param_history), [
                    {"run_id": run.id, "key": k, "value": v, "source": src, "logged_at": run.start_time}
                    for k, v, _, _, src in params])
            if metric_points:
                self._bulk_insert(conn, s.metrics, METRIC_COLUMNS, metric_points)
                conn.execute(insert(s.latest_metrics), latest)
            # Folded from the points in memory; also replaces the rollups of a replaced run (ADR-116).
            rollup.rebuild_from(conn, run.id, rollup.histories_of(metric_points, key=1, step=2, value=3, stamp=4))
            if run.data_inputs:
                conn.execute(insert(s.data_inputs), [
                    {"run_id": run.id, "name": d.name, "role": d.role or "input", "kind": d.kind, "path": d.path,
                     "hash": d.hash, "size": d.size,
                     "schema": None if d.schema is None else json.dumps(d.schema, default=str)}
                    for d in run.data_inputs])
            if run.artifacts:
                unique = {a.path: a for a in run.artifacts}
                conn.execute(insert(s.artifacts), [
                    {"run_id": run.id, "path": a.path, "hash": a.hash, "size": int(a.size)} for a in unique.values()])
            if link is not None:
                self._link(conn, link, now)
            conn.execute(update(s.runs).where(s.runs.c.id == run.id).values(revision=s.runs.c.revision + 1))
        self._write(work)

    def link_external(self, link: ExternalLink) -> None:
        """Record (or move) one link, e.g. a model version copied, or a run exported."""
        now = self.clock()
        self._write(lambda conn: self._link(conn, link, now))

    def external_links(self, system: str, location: str, kind: str) -> dict[str, ExternalLink]:
        """Every link of one kind to one store of another system, by remote id."""
        def work(conn: Connection) -> Sequence[Any]:
            return conn.execute(select(_X.remote_id, _X.local_id, _X.revision).where(
                _X.system == system, _X.location == location, _X.kind == kind)).all()
        return {r.remote_id: ExternalLink(system, location, kind, r.remote_id, r.local_id, r.revision)
                for r in self._read(work)}

    def _link(self, conn: Connection, link: ExternalLink, now: float) -> None:
        self._upsert(conn, s.external_ids, [{
            "system": link.system, "location": link.location[:500], "kind": link.kind, "remote_id": link.remote_id,
            "local_id": link.local_id, "revision": link.revision[:200], "at": now,
        }], ("system", "location", "kind", "remote_id"), _LINK_COLUMNS)


def _run_row(run: Run) -> dict[str, Any]:
    if not run.id or len(run.id) > 32:
        raise InvalidInput(f"an imported run id must be 1 to 32 characters, got {run.id[:40]!r}")
    if not (run.name or "").strip():
        raise InvalidInput(f"imported run {run.id} has no name")
    check_name(run.name, "run name")
    check_name(run.experiment, "experiment name")
    status = RunStatus(run.status).value
    return {
        "id": run.id, "name": run.name, "status": status, "start_time": float(run.start_time),
        "end_time": None if run.end_time is None else float(run.end_time),
        "heartbeat": run.heartbeat if run.heartbeat is not None else (run.end_time or run.start_time),
        "notebook_path": run.notebook_path, "git_commit": run.git_commit, "git_dirty": run.git_dirty,
        "code_hash": run.code_hash, "notebook_hash": run.notebook_hash, "env_hash": run.env_hash,
        "note": run.note or "", "reproduction_of": run.reproduction_of,
        "flags": merge_flags(None, {**run.flags, FLAG_CELLS_KEY: run.flag_cells}),
        "logging_errors": int(run.logging_errors),
    }
