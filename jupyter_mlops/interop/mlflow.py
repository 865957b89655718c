"""The MLflow adapter: reads and writes runs, artifacts and registered model versions of an MLflow tracking store.

Only this module imports ``mlflow`` (the ``jupyter_mlops[mlflow]`` extra: ``mlflow-skinny``, ``sqlalchemy``,
``alembic``), on first use; without it every call raises one line naming the extra. Records cross to the use
cases as the plain dataclasses below, with MLflow's milliseconds already turned into epoch seconds.

Assumptions (ADR-062, ADR-063):
    * Metric points of a run in a database-backed store (``sqlite:``, ``postgresql:``, ``mysql:``) are read with
      one SELECT per chunk of runs on MLflow's ``metrics`` table (its columns have been the same since MLflow 1.x);
      other stores (a tracking server over HTTP) are read through the client, one ``get_metric_history`` per key.
    * MLflow allows metric, param and tag names of letters, digits, ``_ - . / :`` and space only, at most 250
      characters: other names are left out of the MLflow side (the use case reports them, and keeps them in the
      run's ``run.json``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from jupyter_mlops.errors import InvalidInput

EXTRA_HINT = "MLflow interop needs the mlflow extra: pip install 'jupyter_mlops[mlflow]'"
#: Tags that carry run fields, not labels.
NAME_TAG, NOTE_TAG, COMMIT_TAG = "mlflow.runName", "mlflow.note.content", "mlflow.source.git.commit"
SOURCE_TAG, SOURCE_TYPE_TAG = "mlflow.source.name", "mlflow.source.type"
#: Our own tags on MLflow runs: which of our runs it is, and that everything was written (the last write).
RUN_ID_TAG, COMPLETE_TAG = "jupyter_mlops.run_id", "jupyter_mlops.complete"
VERSION_TAG = "jupyter_mlops.version"
_VALID_NAME = re.compile(r"^[/\w.\- :]{1,250}$")
_DB_SCHEMES = ("sqlite", "postgresql", "mysql", "mssql")
_STATUS_FROM = {"RUNNING": "running", "SCHEDULED": "running", "FINISHED": "finished", "FAILED": "failed",
                "KILLED": "crashed"}
_STATUS_TO = {"running": "RUNNING", "finished": "FINISHED", "failed": "FAILED", "crashed": "KILLED"}
_RUN_CHUNK = 200  # runs per metric SELECT: 200 ids stay far below every database's bound-parameter limit

__all__ = ["EXTRA_HINT", "MlflowTracking", "RemoteModelVersion", "RemoteRun", "valid_name"]


def valid_name(name: str) -> bool:
    """Whether MLflow accepts this metric, param or tag key."""
    return bool(_VALID_NAME.match(name))


def status_to_mlflow(status: str) -> str:
    """Our run status as MLflow's (``crashed`` is MLflow's ``KILLED``)."""
    return _STATUS_TO.get(status, "FINISHED")


def to_ms(seconds: float) -> int:
    """Epoch seconds as MLflow's integer milliseconds."""
    return int(round(seconds * 1000))


@dataclass(frozen=True)
class RemoteRun:
    """One MLflow run as found by a search: everything but metric histories and artifacts.

    ``status`` is already ours (``running``/``finished``/``failed``/``crashed``); times are epoch seconds;
    ``latest`` holds each metric's latest ``(value, step, timestamp)``; ``revision`` digests all of it, so a changed
    run (more points, a new tag, ended since) has another revision.
    """

    id: str
    experiment: str
    name: str
    status: str
    start_time: float
    end_time: float | None
    params: dict[str, str]
    tags: dict[str, str]
    latest: dict[str, tuple[float, int, float]]
    artifact_uri: str
    revision: str


@dataclass(frozen=True)
class RemoteModelVersion:
    """One MLflow registered model version: ``version`` is MLflow's integer, as text."""

    name: str
    version: str
    run_id: str | None
    source: str
    tags: dict[str, str] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()
    description: str = ""
    created: float = 0.0


def _import_client() -> Any:
    # Downloads draw a progress bar on stderr unless told not to; a CLI summary line is the only output wanted.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    try:
        from mlflow.tracking import MlflowClient
    except ImportError:
        raise InvalidInput(EXTRA_HINT) from None
    # MLflow and alembic log every schema step of a new store at INFO: noise in a CLI that prints one summary.
    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)
    return MlflowClient


def _first_line(error: BaseException) -> str:
    text = getattr(error, "message", None) or str(error)
    return (str(text).strip().splitlines() or [type(error).__name__])[0][:300]


def masked_uri(uri: str) -> str:
    """The URI with any password replaced by ``***`` (it is shown and stored as the link's location)."""
    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _normalise(uri: str, *, must_exist: bool) -> str:
    uri = uri.strip()
    if not uri:
        raise InvalidInput("--tracking-uri needs a value, e.g. sqlite:///mlflow.db or http://localhost:5000")
    scheme = urlsplit(uri).scheme.split("+")[0].lower()
    if scheme == "sqlite":
        path = uri.split(":///", 1)[1] if ":///" in uri else ""
        if not path:
            raise InvalidInput(f"tracking URI {uri!r} names no SQLite file (use sqlite:///path/mlflow.db)")
        file = Path(path).expanduser().resolve()
        if must_exist and not file.is_file():
            raise InvalidInput(f"no MLflow store at {file} (tracking URI {uri!r})")
        file.parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{file}"
    if scheme not in (*_DB_SCHEMES, "http", "https", "file", "databricks"):
        raise InvalidInput(f"tracking URI {masked_uri(uri)!r} has an unsupported scheme {scheme or '(none)'!r}; "
                           "use sqlite:///..., postgresql://..., mysql://..., http(s)://... or file:///...")
    return uri


class MlflowTracking:
    """One MLflow tracking store (its model registry at the same URI).

    Args:
        uri: the tracking URI (``sqlite:///mlflow.db``, ``postgresql://...``, ``http://host:5000``, ``file:///...``).
        must_exist: refuse a SQLite file that is not there (an import reads; an export may create the store).

    Raises:
        InvalidInput: the mlflow extra is missing; a malformed or unsupported URI; a store that cannot be opened.
    """

    def __init__(self, uri: str, *, must_exist: bool) -> None:
        client_class = _import_client()
        self.uri = _normalise(uri, must_exist=must_exist)
        self.location = masked_uri(self.uri)
        try:
            self.client = client_class(tracking_uri=self.uri, registry_uri=self.uri)
            self._store = self.client._tracking_client.store  # the fast metric read needs its engine
        except Exception as error:  # noqa: BLE001 - MLflow raises many kinds; each becomes one line
            raise InvalidInput(f"cannot open MLflow store {self.location}: {_first_line(error)}") from None
        self._experiments: dict[str, str] = {}

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except InvalidInput:
            raise
        except Exception as error:  # noqa: BLE001 - see __init__
            raise InvalidInput(f"MLflow store {self.location}: {what} failed: {_first_line(error)}") from None

    # -- reading ---------------------------------------------------------------------------------------
    def experiments(self, name: str | None = None) -> dict[str, str]:
        """Active experiments as ``{id: name}``; only ``name`` when given.

        Raises:
            InvalidInput: ``name`` is not an experiment of this store.
        """
        if name is not None:
            found = self._call("reading experiments", self.client.get_experiment_by_name, name)
            if found is None or found.lifecycle_stage != "active":
                raise InvalidInput(f"no experiment named {name!r} in MLflow store {self.location}")
            self._experiments[found.experiment_id] = found.name
            return {found.experiment_id: found.name}
        out: dict[str, str] = {}
        token = None
        while True:
            page = self._call("reading experiments", self.client.search_experiments, max_results=1000,
                              page_token=token)
            out.update({e.experiment_id: e.name for e in page})
            token = page.token
            if not token:
                break
        self._experiments.update(out)
        return out

    def runs(self, experiment_ids: Sequence[str]) -> Iterator[RemoteRun]:
        """Every active run of the experiments, oldest first, a page at a time."""
        if not experiment_ids:
            return
        token = None
        while True:
            page = self._call("searching runs", self.client.search_runs, list(experiment_ids), max_results=1000,
                              order_by=["attributes.start_time ASC"], page_token=token)
            for run in page:
                yield self._remote_run(run)
            token = page.token
            if not token:
                return

    def get_run(self, run_id: str) -> RemoteRun:
        """One run by MLflow id."""
        return self._remote_run(self._call("reading a run", self.client.get_run, run_id))

    def _remote_run(self, run: Any) -> RemoteRun:
        info, data = run.info, run.data
        latest = {m.key: (float(m.value), int(m.step), m.timestamp / 1000.0) for m in getattr(data, "_metric_objs",
                  [])}
        if not latest and data.metrics:  # an older client without the metric objects: values only
            latest = {key: (float(value), 0, 0.0) for key, value in data.metrics.items()}
        tags = dict(data.tags)
        params = dict(data.params)
        revision = hashlib.sha256(json.dumps(
            [info.status, info.end_time, info.start_time, sorted(params.items()), sorted(tags.items()),
             sorted((k, repr(v)) for k, v in latest.items())], default=str).encode()).hexdigest()[:40]
        return RemoteRun(
            id=info.run_id, experiment=self._experiments.get(info.experiment_id, str(info.experiment_id)),
            name=info.run_name or tags.get(NAME_TAG) or info.run_id[:8],
            status=_STATUS_FROM.get(str(info.status), "finished"),
            start_time=(info.start_time or 0) / 1000.0,
            end_time=None if info.end_time is None else info.end_time / 1000.0,
            params=params, tags=tags, latest=latest, artifact_uri=info.artifact_uri or "", revision=revision,
        )

    def metric_points(self, runs: Sequence[RemoteRun]) -> dict[str, list[tuple[str, float, int, float]]]:
        """Every metric point of these runs as ``{run_id: [(key, value, step, seconds), ...]}``."""
        engine = getattr(self._store, "engine", None)
        if engine is not None:
            return self._points_by_sql(engine, [r.id for r in runs])
        out: dict[str, list[tuple[str, float, int, float]]] = {}
        for run in runs:
            rows = out.setdefault(run.id, [])
            for key in run.latest:
                for m in self._call("reading a metric history", self.client.get_metric_history, run.id, key):
                    rows.append((m.key, float(m.value), int(m.step), m.timestamp / 1000.0))
        return out

    @staticmethod
    def _points_by_sql(engine: Any, run_ids: list[str]) -> dict[str, list[tuple[str, float, int, float]]]:
        from sqlalchemy import bindparam, column, select, table

        metrics = table("metrics", column("run_uuid"), column("key"), column("value"), column("timestamp"),
                        column("step"), column("is_nan"))
        m = metrics.c
        query = (select(m.run_uuid, m.key, m.value, m.step, m.timestamp, m.is_nan)
                 .where(m.run_uuid.in_(bindparam("ids", expanding=True))))
        out: dict[str, list[tuple[str, float, int, float]]] = {run_id: [] for run_id in run_ids}
        nan = float("nan")
        with engine.connect() as conn:
            for start in range(0, len(run_ids), _RUN_CHUNK):
                for run_id, key, value, step, stamp, is_nan in conn.execute(
                        query, {"ids": run_ids[start:start + _RUN_CHUNK]}):
                    out[run_id].append((key, nan if is_nan else float(value), int(step), stamp / 1000.0))
        return out

    def has_artifacts(self, run: RemoteRun) -> bool:
        """Whether the run has any artifact: a folder scan for a local artifact root, else a listing."""
        parts = urlsplit(run.artifact_uri)
        if parts.scheme in ("", "file") and not parts.netloc:
            # MLflow's listing costs ~50 ms a run (it builds an artifact repository each time); a scan, microseconds.
            folder = Path(unquote(parts.path))
            return folder.is_dir() and any(folder.iterdir())
        return bool(self._call("listing artifacts", self.client.list_artifacts, run.id))

    def download_artifacts(self, run_id: str, dest: Path) -> Path:
        """Every artifact of a run under ``dest``; returns the folder holding them."""
        return Path(self._call("downloading artifacts", self.client.download_artifacts, run_id, "", str(dest)))

    def model_versions(self) -> list[RemoteModelVersion]:
        """Every registered model version, with the aliases that point at it."""
        out: list[RemoteModelVersion] = []
        token = None
        aliases: dict[str, dict[str, list[str]]] = {}
        while True:
            page = self._call("searching model versions", self.client.search_model_versions, max_results=1000,
                              page_token=token)
            for mv in page:
                if mv.name not in aliases:
                    model = self._call("reading a registered model", self.client.get_registered_model, mv.name)
                    by_version: dict[str, list[str]] = {}
                    for alias, version in (model.aliases or {}).items():
                        by_version.setdefault(str(version), []).append(alias)
                    aliases[mv.name] = by_version
                out.append(RemoteModelVersion(
                    name=mv.name, version=str(mv.version), run_id=mv.run_id or None, source=mv.source or "",
                    tags=dict(mv.tags or {}), aliases=tuple(sorted(aliases[mv.name].get(str(mv.version), []))),
                    description=mv.description or "", created=(mv.creation_timestamp or 0) / 1000.0))
            token = page.token
            if not token:
                return out

    def download_model(self, version: RemoteModelVersion, dest: Path) -> Path:
        """A model version's files under ``dest``; returns the file or folder."""
        from mlflow.artifacts import download_artifacts

        uri = self._call("locating a model version", self.client.get_model_version_download_uri, version.name,
                         version.version)
        return Path(self._call("downloading a model version", download_artifacts, artifact_uri=uri,
                               dst_path=str(dest), tracking_uri=self.uri))

    # -- writing ---------------------------------------------------------------------------------------
    def experiment_id(self, name: str, artifact_root: str | None = None) -> str:
        """The id of the experiment with this name, created (under ``artifact_root`` when given) if missing."""
        found = self._call("reading experiments", self.client.get_experiment_by_name, name)
        if found is not None:
            if found.lifecycle_stage != "active":
                raise InvalidInput(f"experiment {name!r} is deleted in MLflow store {self.location}; restore it")
            return str(found.experiment_id)
        location = None if artifact_root is None else f"{artifact_root.rstrip('/')}/{_slug(name)}"
        return str(self._call("creating an experiment", self.client.create_experiment, name,
                              artifact_location=location))

    def exported_run(self, experiment_id: str, local_id: str) -> tuple[str, bool] | None:
        """``(MLflow run id, complete)`` of the run that carries our id, or None."""
        found = self._call("searching runs", self.client.search_runs, [experiment_id],
                           filter_string=f"tags.`{RUN_ID_TAG}` = '{local_id}'", max_results=10)
        if not found:
            return None
        complete = [r for r in found if r.data.tags.get(COMPLETE_TAG) == "1"]
        run = (complete or found)[0]
        return run.info.run_id, bool(complete)

    def create_run(self, experiment_id: str, name: str, start_time: float, tags: Mapping[str, str]) -> tuple[str, str]:
        """A new MLflow run; returns ``(run id, artifact URI)``."""
        run = self._call("creating a run", self.client.create_run, experiment_id, start_time=to_ms(start_time),
                         tags=dict(tags), run_name=name)
        return run.info.run_id, run.info.artifact_uri

    def log_values(self, run_id: str, points: Sequence[tuple[str, float, int, float]], params: Mapping[str, str],
                   tags: Mapping[str, str]) -> None:
        """Metric points, params and tags, in batches of MLflow's per-request limits."""
        from mlflow.entities import Metric, Param, RunTag

        metric_objs = [Metric(k, v, to_ms(t), s) for k, v, s, t in points]
        param_objs = [Param(k, v) for k, v in params.items()]
        tag_objs = [RunTag(k, v) for k, v in tags.items()]
        for start in range(0, len(param_objs), 100):
            self._call("logging params", self.client.log_batch, run_id, params=param_objs[start:start + 100])
        for start in range(0, len(tag_objs), 100):
            self._call("logging tags", self.client.log_batch, run_id, tags=tag_objs[start:start + 100])
        for start in range(0, len(metric_objs), 1000):
            self._call("logging metrics", self.client.log_batch, run_id, metrics=metric_objs[start:start + 1000])

    def log_artifacts(self, run_id: str, folder: Path, artifact_path: str | None = None) -> None:
        """Upload a folder's files to the run's artifact store."""
        self._call("uploading artifacts", self.client.log_artifacts, run_id, str(folder), artifact_path)

    def finish_run(self, run_id: str, status: str, end_time: float | None) -> None:
        """Mark the run complete (our tag, written last) and set its MLflow status and end time."""
        self._call("tagging a run", self.client.set_tag, run_id, COMPLETE_TAG, "1")
        if status != "running":
            self._call("ending a run", self.client.set_terminated, run_id, status_to_mlflow(status),
                       None if end_time is None else to_ms(end_time))

    def delete_run(self, run_id: str) -> None:
        """Delete a run (an export cut short is deleted and written again)."""
        self._call("deleting a run", self.client.delete_run, run_id)

    def register_version(self, name: str, source: str, run_id: str, tags: Mapping[str, str],
                         description: str) -> str:
        """A new version of a registered model (the model created if missing); returns its MLflow version."""
        from mlflow.exceptions import MlflowException

        try:
            self.client.get_registered_model(name)
        except MlflowException:
            self._call("creating a registered model", self.client.create_registered_model, name)
        version = self._call("registering a model version", self.client.create_model_version, name, source,
                             run_id=run_id, tags=dict(tags), description=description or None)
        return str(version.version)

    def set_alias(self, name: str, alias: str, version: str) -> None:
        """Point a registered model's alias at a version."""
        self._call("setting an alias", self.client.set_registered_model_alias, name, alias, version)


def _slug(name: str) -> str:
    return re.sub(r"[^\w.-]+", "_", name).strip("_") or "experiment"

