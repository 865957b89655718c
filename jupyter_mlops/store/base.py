"""The store contract: abstract primitives, optional fast paths, concrete conveniences.

A back-end implements the abstract methods; ``log_metric``/``log_param``/``log_metrics``/``log_params`` are
written once here on top of ``log_batch``, so a second back-end has one write path. The :class:`FastPaths` are
methods :class:`Store` answers from the primitives and a back-end may answer faster (``SqlStore`` does, each
measured in docs/benchmarks.md); callers just call them. Every method takes and returns entities (never rows).
Errors are :mod:`jupyter_mlops.errors` subclasses: unknown ids raise ``NotFound``, malformed filters
``FilterSyntaxError``, an unusable database ``StoreUnavailable``.
"""

from __future__ import annotations

import abc
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from jupyter_mlops.entities import (
    Artifact,
    DataInput,
    Experiment,
    ExternalLink,
    Metric,
    ModelEvent,
    ModelLineage,
    ModelVersion,
    Page,
    Param,
    Run,
    RunStatus,
    SliceMetric,
)
from jupyter_mlops.errors import NotFound
from jupyter_mlops.store.model_rules import ModelRef, parse_model_ref

#: A history as two parallel columns: steps, and values (``None`` for NaN).
SeriesColumns = tuple[list[int], list[float | None]]
#: A chart's view of a history: ``(steps, values, points in the stored history)``; fewer steps than points when the
#: history was read as its rollup's representative points (ADR-116).
ChartColumns = tuple[list[int], list[float | None], int]


class StatCache(Protocol):
    """Remembers content hashes by file identity, so an unchanged file is never re-read.

    The key is ``(path, device, inode, size, mtime_ns)``; ``capture.hashing`` uses it, the SQL store implements it.
    """

    def get_hash(self, key: tuple[str, int, int, int, int], algorithm: str) -> str | None:
        """The cached hash for this file identity, or None."""
        ...

    def put_hash(self, key: tuple[str, int, int, int, int], algorithm: str, digest: str) -> None:
        """Remember a hash for this file identity."""
        ...


@runtime_checkable
class FastPaths(Protocol):
    """The optional fast paths: :class:`Store` implements each from the primitives, a back-end may override them.

    Named here so a new back-end sees in one place what it can speed up, and so tests can check that ``SqlStore``
    still overrides every one of them (a lost override is a silent slowdown, not a failure).
    """

    def log_metric_rows(self, run_id: str, rows: Sequence[tuple[str, float, int, float]]) -> None:
        """Append ``(key, value, step, timestamp)`` tuples without building a :class:`Metric` per point."""
        ...

    def metric_histories(self, run_ids: Sequence[str], keys: Sequence[str]) -> dict[tuple[str, str], list[Metric]]:
        """Histories of several runs and keys at once (default: one :meth:`Store.metric_history` per pair)."""
        ...

    def patch_run(self, run_id: str, **fields: Any) -> None:
        """Set run columns without reading the run back (default: :meth:`Store.update_run`)."""
        ...

    def metric_series(self, run_ids: Sequence[str], keys: Sequence[str]) -> dict[tuple[str, str], SeriesColumns]:
        """Histories as ``(steps, values)`` lists, no :class:`Metric` per point (default: from ``metric_histories``)."""
        ...

    def metric_marks(self, run_ids: Sequence[str], keys: Sequence[str]) -> dict[tuple[str, str], tuple[int, float]]:
        """Latest ``(step, timestamp)`` of each (run, key): a cache key for derived views of a history."""
        ...

    def metric_chart_columns(self, run_ids: Sequence[str], keys: Sequence[str], reduce_from: int
                             ) -> dict[tuple[str, str], ChartColumns]:
        """Histories for a chart, long ones possibly as real points standing for blocks (default: every point)."""
        ...

    def run_columns(self, filter: str | None = None, order_by: Sequence[str] = (),  # noqa: A002
                    limit: int | None = None) -> dict[str, list[Any]]:
        """What :meth:`Store.search_runs` finds as DataFrame columns (default: built from whole runs)."""
        ...


class Store(abc.ABC):
    """Where runs live. Implementations: ``store.sql.SqlStore`` (SQLite and PostgreSQL)."""

    url: str

    # -- lifecycle -------------------------------------------------------------------------------------
    @abc.abstractmethod
    def migrate(self) -> list[str]:
        """Apply pending forward migrations; return the names applied (empty when up to date)."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release connections."""

    # -- experiments -----------------------------------------------------------------------------------
    @abc.abstractmethod
    def get_or_create_experiment(self, name: str) -> Experiment:
        """The experiment with this name, created if missing."""

    @abc.abstractmethod
    def list_experiments(self) -> list[Experiment]:
        """All experiments, by name."""

    # -- runs ------------------------------------------------------------------------------------------
    @abc.abstractmethod
    def create_run(
        self,
        *,
        name: str | None = None,
        experiment: str = "default",
        tags: Iterable[str] = (),
        note: str = "",
        notebook_path: str | None = None,
        reproduction_of: str | None = None,
        start_time: float | None = None,
        run_id: str | None = None,
    ) -> Run:
        """Create a running run (status ``running``, heartbeat = start). A missing name gets a generated one."""

    @abc.abstractmethod
    def get_run(self, run_id: str) -> Run:
        """The full run. Raises NotFound."""

    @abc.abstractmethod
    def resolve_run(self, ref: str) -> str:
        """Turn a full id, a unique id prefix (>= 4 chars) or a unique run name into a run id.

        Raises NotFound when nothing matches and Conflict when the reference is ambiguous.
        """

    @abc.abstractmethod
    def search_runs(
        self,
        filter: str | None = None,  # noqa: A002 - the public keyword, as in MLflow's search_runs
        order_by: Sequence[str] = (),
        limit: int | None = None,
        offset: int = 0,
    ) -> Page[Run]:
        """Runs matching a filter-language expression, ordered, paged; newest first by default.

        ``order_by`` items look like ``"start_time DESC"``, ``"metrics.auc"``, ``"params.lr ASC"``, ``"name"``.
        """

    @abc.abstractmethod
    def update_run(self, run_id: str, **fields: Any) -> Run:
        """Set run columns and return the updated run.

        Columns: name, status, end_time, note, notebook_path, git_commit, git_dirty, code_hash, notebook_hash,
        env_hash, flags (merged), logging_errors (values the tracker could not store). Unknown field names raise
        InvalidInput.
        """

    @abc.abstractmethod
    def delete_run(self, run_id: str) -> None:
        """Delete a run and everything logged to it. Raises NotFound."""

    @abc.abstractmethod
    def heartbeat(self, run_id: str, at: float | None = None) -> None:
        """Mark a running run alive."""

    @abc.abstractmethod
    def set_tags(self, run_id: str, add: Iterable[str] = (), remove: Iterable[str] = ()) -> tuple[str, ...]:
        """Add and remove tags; return the run's tags afterwards."""

    @abc.abstractmethod
    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        sliced: Sequence[SliceMetric] = (),
    ) -> None:
        """The one write path for values.

        Params are upserted (re-logging keeps history, never errors); metrics are appended to history and the
        latest-value table is updated. ``sliced`` points (a metric on a slice of the data, ADR-070) go to their
        own history and latest values, and the run's ``slices``; the unsliced metric of the same key is untouched.
        """

    @abc.abstractmethod
    def metric_history(self, run_id: str, key: str) -> list[Metric]:
        """All points of one metric, by step then time. Raises NotFound for an unknown run."""

    @abc.abstractmethod
    def slice_history(self, run_id: str, key: str) -> list[SliceMetric]:
        """Every point of every slice of one metric, by slice, then step, then time. Raises NotFound."""

    @abc.abstractmethod
    def param_history(self, run_id: str, key: str) -> list[Param]:
        """Every value a param had in this run, oldest first."""

    @abc.abstractmethod
    def log_data_inputs(self, run_id: str, inputs: Sequence[DataInput]) -> None:
        """Record datasets read or written; the same (name, role) logged again replaces the earlier record."""

    @abc.abstractmethod
    def log_artifacts(self, run_id: str, artifacts: Sequence[Artifact]) -> None:
        """Record artifacts (their bytes already in the blob store)."""

    @abc.abstractmethod
    def stat_cache(self) -> StatCache:
        """The persistent hash cache shared by everything that hashes files for this store."""

    # -- model versions (ADR-053, ADR-054) -------------------------------------------------------------
    @abc.abstractmethod
    def create_model_version(
        self,
        name: str,
        *,
        artifact_hash: str,
        format: str,  # noqa: A002 - the entity's field
        flavor: str,
        size: int,
        lineage: ModelLineage,
        parents: Sequence[str] = (),
        version: str | None = None,
        created_by: str = "",
    ) -> ModelVersion:
        """Register a new, immutable version of a model (the model exists once it has a version).

        ``version`` None numbers it by the rule of ADR-053 against the newest version, in the same transaction.
        ``parents`` are ``NAME:VERSION`` of registered versions.

        Raises:
            Conflict: ``version`` is already registered for this model (versions are never overwritten).
            NotFound: a parent version is not registered.
            InvalidInput: a malformed name, version or parent.
        """

    @abc.abstractmethod
    def get_model_version(self, name: str, version: str) -> ModelVersion:
        """One version. Raises NotFound for an unknown model or version."""

    @abc.abstractmethod
    def model_versions(self, name: str | None = None) -> list[ModelVersion]:
        """Versions of one model (or of all, by name), newest first. An unknown name gives an empty list."""

    @abc.abstractmethod
    def model_alias(self, name: str, alias: str) -> str:
        """The version an alias points at. Raises NotFound for an unknown model or alias."""

    @abc.abstractmethod
    def set_model_alias(self, name: str, alias: str, version: str, *, who: str, note: str = "",
                        forced: bool = False) -> ModelEvent:
        """Point an alias at a version and append the change to the history, in one transaction."""

    @abc.abstractmethod
    def remove_model_alias(self, name: str, alias: str, *, who: str, note: str = "") -> ModelEvent:
        """Remove an alias and append the removal (from its version to none) to the history, in one transaction.

        Raises NotFound for an unknown model or alias.
        """

    @abc.abstractmethod
    def set_model_stage(self, name: str, version: str, stage: str, *, who: str, note: str = "",
                        forced: bool = False) -> ModelEvent:
        """Move a version to a stage and append the change to the history, in one transaction."""

    @abc.abstractmethod
    def model_history(self, name: str) -> list[ModelEvent]:
        """Every alias and stage change of a model, oldest first. Raises NotFound for an unknown model."""

    # -- other tracking systems (ADR-062) ---------------------------------------------------------------
    @abc.abstractmethod
    def import_run(self, run: Run, points: Sequence[tuple[str, float, int, float]], *,
                   param_sources: Mapping[str, str] | None = None, link: ExternalLink | None = None) -> None:
        """Write a complete run as it was elsewhere: its id, times, status, values and every metric point.

        One transaction: the run (replacing a run with the same id), its children and ``link`` are written
        together or not at all. ``points`` are ``(key, value, step, timestamp)``.

        Raises:
            InvalidInput: a name, key or tag the store refuses, an id longer than 32 characters.
        """

    @abc.abstractmethod
    def link_external(self, link: ExternalLink) -> None:
        """Record that a local run or model version is a given record of another system (upsert)."""

    @abc.abstractmethod
    def external_links(self, system: str, location: str, kind: str) -> dict[str, ExternalLink]:
        """The links of one kind to one store of another system, by remote id."""

    def resolve_model(self, ref: str | ModelRef) -> ModelVersion:
        """The version a reference means: ``NAME:VERSION``, ``NAME:latest`` or ``NAME@ALIAS``.

        Raises:
            InvalidInput: a malformed reference.
            NotFound: an unknown model, version or alias (one line naming which).
        """
        parsed = ref if isinstance(ref, ModelRef) else parse_model_ref(ref)
        if parsed.alias:
            return self.get_model_version(parsed.name, self.model_alias(parsed.name, parsed.alias))
        if parsed.version:
            return self.get_model_version(parsed.name, parsed.version)
        versions = self.model_versions(parsed.name)
        if not versions:
            raise NotFound(f"no model named {parsed.name!r}")
        return versions[0]

    # -- conveniences, written once (the FastPaths among them a back-end may override) -----------------
    def log_metric(self, run_id: str, key: str, value: float, step: int = 0, timestamp: float | None = None) -> None:
        """Append one metric point."""
        at = time.time() if timestamp is None else timestamp
        self.log_batch(run_id, metrics=[Metric(key, float(value), step, at)])

    def log_metric_rows(self, run_id: str, rows: Sequence[tuple[str, float, int, float]]) -> None:
        """Append metric points given as plain ``(key, value, step, timestamp)`` tuples.

        The batching writer calls this: building one frozen :class:`Metric` per point costs more than inserting
        it, so a back-end may override this with a tuple-native insert. The default goes through ``log_batch``.
        """
        self.log_batch(run_id, metrics=[Metric(k, float(v), s, t) for k, v, s, t in rows])

    def metric_histories(self, run_ids: Sequence[str], keys: Sequence[str]) -> dict[tuple[str, str], list[Metric]]:
        """Histories of several runs and keys at once: ``{(run_id, key): [Metric, ...]}``, each by step then time.

        Pairs without any point are left out. Raises NotFound for an unknown run. The default asks
        :meth:`metric_history` once per pair; a back-end may answer with one query.
        """
        out: dict[tuple[str, str], list[Metric]] = {}
        for run_id in dict.fromkeys(run_ids):
            for key in dict.fromkeys(keys):
                points = self.metric_history(run_id, key)
                if points:
                    out[(run_id, key)] = points
        return out

    def metric_series(self, run_ids: Sequence[str], keys: Sequence[str]) -> dict[tuple[str, str], SeriesColumns]:
        """Histories of several runs and keys as ``{(run_id, key): (steps, values)}``, by step then time.

        Charts need two plain columns; building a :class:`Metric` per point costs more than reading it, and a
        compare may read millions (issue 13). NaN values are ``None``. Pairs without points are left out. The
        default converts :meth:`metric_histories`; a back-end may read the columns directly.
        """
        out: dict[tuple[str, str], SeriesColumns] = {}
        for pair, points in self.metric_histories(run_ids, keys).items():
            out[pair] = ([m.step for m in points], [None if m.value != m.value else m.value for m in points])
        return out

    def metric_chart_columns(self, run_ids: Sequence[str], keys: Sequence[str], reduce_from: int
                             ) -> dict[tuple[str, str], ChartColumns]:
        """Histories for a chart as ``{(run_id, key): (steps, values, stored points)}``, by step then time.

        A back-end that keeps rollups (ADR-116) may answer a history of at least ``reduce_from`` points with
        fewer, real points of it: each block's first, lowest, highest and last point, then the points after the
        blocks; the third item is then the stored history's size. The default reads every point
        (:meth:`metric_series`). Pairs without points are left out. Raises NotFound for an unknown run.
        """
        return {pair: (steps, values, len(steps))
                for pair, (steps, values) in self.metric_series(run_ids, keys).items()}

    def build_rollups(self, run_ids: Sequence[str] | None = None) -> tuple[int, int]:
        """(Re)build the chart rollups of these runs, or of every run with a history no rollup covers (None).

        Returns ``(runs, blocks written)``. A back-end without rollups (the default) has nothing to build.
        """
        return (0, 0)

    def metric_marks(self, run_ids: Sequence[str], keys: Sequence[str]) -> dict[tuple[str, str], tuple[int, float]]:
        """The latest ``(step, timestamp)`` of each (run, key) that has points.

        It changes whenever a point with a later step (or the same step, later) is logged, so a view derived
        from a history (a downsampled chart series) can be cached under it. The default reads the histories.
        """
        out: dict[tuple[str, str], tuple[int, float]] = {}
        for pair, points in self.metric_histories(run_ids, keys).items():
            last = max(points, key=lambda m: (m.step, m.timestamp))
            out[pair] = (last.step, last.timestamp)
        return out

    def patch_run(self, run_id: str, **fields: Any) -> None:
        """Set run columns like :meth:`update_run` when the caller does not need the run back.

        The default calls :meth:`update_run`; a back-end may skip reading the run back.
        """
        self.update_run(run_id, **fields)

    def log_metrics(self, run_id: str, values: Mapping[str, float], step: int = 0) -> None:
        """Append one point for each metric in ``values``."""
        now = time.time()
        self.log_batch(run_id, metrics=[Metric(k, float(v), step, now) for k, v in values.items()])

    def log_param(self, run_id: str, key: str, value: Any, source: str = "api") -> None:
        """Set one param."""
        self.log_batch(run_id, params=[Param(key, value, source)])

    def log_params(self, run_id: str, values: Mapping[str, Any], source: str = "api") -> None:
        """Set several params."""
        self.log_batch(run_id, params=[Param(k, v, source) for k, v in values.items()])

    def set_tag(self, run_id: str, tag: str) -> None:
        """Add one tag."""
        self.set_tags(run_id, add=[tag])

    def end_run(self, run_id: str, status: RunStatus = RunStatus.FINISHED, end_time: float | None = None) -> Run:
        """Mark a run finished/failed."""
        return self.update_run(run_id, status=status, end_time=time.time() if end_time is None else end_time)

    def run_columns(
        self,
        filter: str | None = None,  # noqa: A002 - same keyword as search_runs
        order_by: Sequence[str] = (),
        limit: int | None = None,
    ) -> dict[str, list[Any]]:
        """What :meth:`search_runs` finds, as columns for a DataFrame (``mlops.runs()``), in the same order.

        Keys: ``run_id``, ``name``, ``experiment``, ``status`` (values, crashed derived), ``start_time``,
        ``end_time``, ``params`` and ``metrics`` (one dict per run: latest values), ``tags`` (one list per run).
        The default builds them from :meth:`search_runs`; a back-end may read just these columns instead of
        whole runs (no data inputs, artifacts or snapshots hashes).
        """
        runs = self.search_runs(filter, order_by=order_by, limit=limit).items
        return {
            "run_id": [r.id for r in runs], "name": [r.name for r in runs],
            "experiment": [r.experiment for r in runs], "status": [r.status.value for r in runs],
            "start_time": [r.start_time for r in runs], "end_time": [r.end_time for r in runs],
            "params": [dict(r.params) for r in runs], "metrics": [dict(r.metrics) for r in runs],
            "tags": [list(r.tags) for r in runs],
        }

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
