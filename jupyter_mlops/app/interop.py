"""Copy runs and model versions to and from MLflow, keeping ids and times (ADR-062, ADR-063, ADR-064).

Two use cases, one per direction, each returning an :class:`InteropSummary`:

- :func:`import_from_mlflow`: every run of the store (or of one experiment) becomes a run of ours with MLflow's run
  id (or, for a run we exported, our original id), its times, status, params, full metric histories, tags, note,
  artifacts and notebook snapshot, written by ``Store.import_run`` in one transaction with its link. Registered
  versions of those runs become model versions with their aliases. Linked runs whose MLflow record did not change
  are skipped, so importing again adds nothing; a run of ours that is not linked to this store is never replaced.
- :func:`export_to_mlflow`: the reverse, for runs matching a filter; each MLflow run carries our id in the
  ``jupyter_mlops.run_id`` tag and a ``jupyter_mlops/run.json`` artifact with what MLflow has no field for
  (exact times, typed params, flags, data inputs, snapshots), which an import reads back.

Values from MLflow pass through the same secret redaction as logged ones (unless the settings turn it off).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jupyter_mlops.entities import Artifact, DataInput, ExternalLink, ModelVersion, Run, RunStatus
from jupyter_mlops.errors import InvalidInput, NotFound

if TYPE_CHECKING:
    from jupyter_mlops.app.workspace import Workspace
    from jupyter_mlops.interop.mlflow import MlflowTracking, RemoteModelVersion, RemoteRun

__all__ = ["InteropSummary", "export_to_mlflow", "import_from_mlflow"]

SYSTEM = "mlflow"
#: Link kinds: runs and versions copied from MLflow, and those copied to it (one MLflow store can be both).
RUN_IN, RUN_OUT, MODEL_IN, MODEL_OUT = "run", "run_export", "model_version", "model_version_export"
#: Our files inside an MLflow run's artifacts (never imported as artifacts of the run).
OWN_DIR = "jupyter_mlops"
RUN_FILE, NOTEBOOK_FILE, CODE_FILE, ENV_FILE = "run.json", "notebook.ipynb", "code.json", "env.json"
MODEL_META = "jupyter_mlops_model.json"
_BATCH = 200  # runs whose metric points are read together
_MAX_PARAM = 6000  # MLflow's longest param value; the whole value stays in run.json
_MAX_TAG = 8000
_MAX_OUR_TAG = 250  # the store's tag column


@dataclass(frozen=True)
class InteropSummary:
    """What one import or export did.

    ``copied`` runs were new, ``updated`` ones changed at the source since the last copy, ``unchanged`` ones were
    copied before and left alone, ``kept`` ones already existed on the other side without being a copy from this
    store and were not touched. ``skipped`` lists, one line each, what could not be carried over (a name MLflow
    refuses, a tag too long for ours). ``ids`` pairs the copied runs' ``(MLflow id, our id)``.
    """

    direction: str
    location: str
    copied: int = 0
    updated: int = 0
    unchanged: int = 0
    kept: int = 0
    points: int = 0
    artifacts: int = 0
    model_versions: int = 0
    aliases: int = 0
    skipped: tuple[str, ...] = ()
    ids: tuple[tuple[str, str], ...] = ()

    @property
    def nothing_new(self) -> bool:
        """Whether this call changed nothing on the receiving side."""
        return not (self.copied or self.updated or self.model_versions or self.aliases)

    def to_dict(self) -> dict[str, Any]:
        """Wire shape (``--format json``)."""
        data = asdict(self)
        data["ids"] = [{"mlflow": remote, "local": local} for remote, local in self.ids]
        data["skipped"] = list(self.skipped)
        data["nothing_new"] = self.nothing_new
        return data


@dataclass
class _Tally:
    counts: dict[str, int] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    ids: list[tuple[str, str]] = field(default_factory=list)

    def add(self, what: str, n: int = 1) -> None:
        self.counts[what] = self.counts.get(what, 0) + n

    def summary(self, direction: str, location: str) -> InteropSummary:
        return InteropSummary(direction=direction, location=location, skipped=tuple(self.skipped),
                              ids=tuple(self.ids), **self.counts)


def _tracking(uri: str, *, must_exist: bool) -> MlflowTracking:
    from jupyter_mlops.interop.mlflow import MlflowTracking

    return MlflowTracking(uri, must_exist=must_exist)


# -- import -----------------------------------------------------------------------------------------------------


def import_from_mlflow(workspace: Workspace, tracking_uri: str, experiment: str | None = None) -> InteropSummary:
    """Copy an MLflow store's runs (of one experiment, when given) and their model versions into ours.

    Raises:
        InvalidInput: the mlflow extra is missing, the URI is bad or names no store, no such experiment.
    """
    remote = _tracking(tracking_uri, must_exist=True)
    experiments = remote.experiments(experiment)
    store = workspace.store
    links = store.external_links(SYSTEM, remote.location, RUN_IN)
    tally = _Tally()
    in_scope: dict[str, str] = {}  # MLflow run id -> our run id, for the model versions
    batch: list[RemoteRun] = []
    for run in remote.runs(list(experiments)):
        link = links.get(run.id)
        if link is not None and link.revision == run.revision and _exists(workspace, link.local_id):
            tally.add("unchanged")
            in_scope[run.id] = link.local_id
            continue
        batch.append(run)
        if len(batch) >= _BATCH:
            _import_batch(workspace, remote, batch, links, tally, in_scope)
            batch = []
    _import_batch(workspace, remote, batch, links, tally, in_scope)
    _import_models(workspace, remote, in_scope, tally)
    return tally.summary("import", remote.location)


def _exists(workspace: Workspace, run_id: str) -> bool:
    try:
        workspace.store.get_run(run_id)
    except NotFound:
        return False
    return True


def _import_batch(workspace: Workspace, remote: MlflowTracking, batch: Sequence[RemoteRun],
                  links: dict[str, ExternalLink], tally: _Tally, in_scope: dict[str, str]) -> None:
    if not batch:
        return
    from jupyter_mlops.interop.mlflow import RUN_ID_TAG

    points = remote.metric_points(batch)
    for run in batch:
        local_id = _local_id(run.tags.get(RUN_ID_TAG), run.id)
        linked = links.get(run.id)
        if linked is None and _exists(workspace, local_id):
            tally.add("kept")  # ours already (exported from here, or copied from elsewhere): never overwritten
            in_scope[run.id] = local_id
            continue
        record, artifacts, extras = _read_artifacts(workspace, remote, run)
        built, sources, run_points = _local_run(workspace, run, local_id, record, extras, points.get(run.id, []),
                                                tally)
        built = replace(built, artifacts=tuple(artifacts))
        link = ExternalLink(SYSTEM, remote.location, RUN_IN, run.id, local_id, run.revision)
        try:
            workspace.store.import_run(built, run_points, param_sources=sources, link=link)
        except InvalidInput as error:  # a name our store refuses (a control character): that run only
            tally.skipped.append(f"run {run.id}: {error.message}")
            continue
        tally.add("updated" if linked is not None else "copied")
        tally.add("points", len(run_points))
        tally.add("artifacts", len(artifacts))
        tally.ids.append((run.id, local_id))
        in_scope[run.id] = local_id


def _local_id(tagged: str | None, remote_id: str) -> str:
    if tagged and 0 < len(tagged) <= 32 and tagged.isalnum():
        return tagged
    return remote_id


def _read_artifacts(workspace: Workspace, remote: MlflowTracking,
                    run: RemoteRun) -> tuple[dict[str, Any] | None, list[Artifact], dict[str, str]]:
    """``(run.json or None, the run's artifacts put in our blob store, our snapshot hashes)``."""
    if not remote.has_artifacts(run):
        return None, [], {}
    with tempfile.TemporaryDirectory(prefix="mlops-import-") as tmp:
        return _store_artifacts(workspace, remote.download_artifacts(run.id, Path(tmp)))


def _store_artifacts(workspace: Workspace,
                     root: Path) -> tuple[dict[str, Any] | None, list[Artifact], dict[str, str]]:
    blobs = workspace.blobs
    record: dict[str, Any] | None = None
    extras: dict[str, str] = {}
    own = root / OWN_DIR
    if (own / RUN_FILE).is_file():
        try:
            loaded = json.loads((own / RUN_FILE).read_text(encoding="utf-8"))
            record = loaded if isinstance(loaded, dict) else None
        except (ValueError, UnicodeDecodeError):
            record = None
    redact = workspace.settings.redact
    for name, key in ((NOTEBOOK_FILE, "notebook_hash"), (CODE_FILE, "code_hash"), (ENV_FILE, "env_hash")):
        path = own / name
        if path.is_file():
            data = path.read_bytes()
            if redact and name == NOTEBOOK_FILE:
                from jupyter_mlops.capture.redact import redact_notebook

                data = redact_notebook(data)
            extras[key] = blobs.put_bytes(data)
    artifacts = []
    for file in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = file.relative_to(root).as_posix()
        if rel.split("/", 1)[0] == OWN_DIR:
            continue
        digest, size = blobs.put_file(file)
        artifacts.append(Artifact(rel, digest, int(size)))
    return record, artifacts, extras


def _local_run(workspace: Workspace, run: RemoteRun, local_id: str, record: dict[str, Any] | None,
               extras: dict[str, str], points: list[tuple[str, float, int, float]], tally: _Tally,
               ) -> tuple[Run, dict[str, str], list[tuple[str, float, int, float]]]:
    """Our run for an MLflow run: MLflow's fields, completed (and made exact) by our run.json when it has one."""
    from jupyter_mlops.interop.mlflow import COMMIT_TAG, NOTE_TAG, SOURCE_TAG, SOURCE_TYPE_TAG

    ours = record if record is not None and record.get("id") == local_id else None
    params: dict[str, Any] = dict(run.params)
    sources: dict[str, str] = {key: "mlflow" for key in params}
    if ours is not None:
        for key, value in dict(ours.get("params") or {}).items():
            if key not in params or params[key] == _param_text(value)[:_MAX_PARAM]:
                params[key] = value
                sources[key] = str((ours.get("param_sources") or {}).get(key) or "mlflow")
    labels, dropped = _labels(run.tags)
    if dropped:
        tally.skipped.append(f"run {run.id}: {dropped} tag(s) longer than {_MAX_OUR_TAG} characters or multi-line")
    tags = list(ours["tags"]) if ours is not None and isinstance(ours.get("tags"), list) else labels
    note = run.tags.get(NOTE_TAG, "")
    git_commit = run.tags.get(COMMIT_TAG)
    notebook_path = run.tags.get(SOURCE_TAG) if run.tags.get(SOURCE_TYPE_TAG) == "NOTEBOOK" else None
    if workspace.settings.redact:
        from jupyter_mlops.capture import redact

        params = redact.redact_mapping(params)
        tags = redact.redact_tags(tags)
        note = redact.redact_text(note)
        names = {key: redact.redact_text(key) for key in {p[0] for p in points}}
        if any(names[key] != key for key in names):
            points = [(names[k], v, s, t) for k, v, s, t in points]
    tags = [t for t in tags if len(t) <= _MAX_OUR_TAG]
    fields: dict[str, Any] = dict(
        id=local_id, name=(run.name or local_id[:8])[:250], experiment=run.experiment or "default",
        status=RunStatus(run.status), start_time=run.start_time, end_time=run.end_time, note=note,
        git_commit=git_commit, notebook_path=notebook_path, tags=tuple(tags), params=params, **extras)
    if ours is not None:
        for key in ("start_time", "end_time", "heartbeat", "notebook_path", "git_commit", "git_dirty",
                    "reproduction_of", "logging_errors"):
            if key in ours:
                fields[key] = ours[key]
        fields["flags"] = {str(k): bool(v) for k, v in dict(ours.get("flags") or {}).items()}
        fields["flag_cells"] = {str(k): [int(n) for n in v] for k, v in dict(ours.get("flag_cells") or {}).items()}
        fields["data_inputs"] = tuple(DataInput.from_dict(d) for d in ours.get("data_inputs") or ())
        fields["name"] = str(ours.get("name") or fields["name"])
        fields["experiment"] = str(ours.get("experiment") or fields["experiment"])
        for key in ("code_hash", "notebook_hash", "env_hash"):
            if ours.get(key) and key not in extras:
                fields[key] = None  # the snapshot was not exported with it: say so rather than point nowhere
    return Run(**fields), sources, points


def _labels(tags: dict[str, str]) -> tuple[list[str], int]:
    """MLflow's key/value tags as our labels (``key=value``, or ``key`` for an empty value); system tags left out."""
    labels, dropped = [], 0
    for key, value in sorted(tags.items()):
        if key.startswith(("mlflow.", f"{OWN_DIR}.")):
            continue
        label = f"{key}={value}" if value else key
        if len(label) > _MAX_OUR_TAG or any(ch in label for ch in "\r\n\t"):
            dropped += 1
            continue
        labels.append(label)
    return labels, dropped


def _import_models(workspace: Workspace, remote: MlflowTracking, in_scope: dict[str, str], tally: _Tally) -> None:
    from jupyter_mlops.interop.mlflow import VERSION_TAG
    from jupyter_mlops.store.model_rules import check_model_name

    if not in_scope:
        return
    store = workspace.store
    links = store.external_links(SYSTEM, remote.location, MODEL_IN)
    for mv in remote.model_versions():
        if mv.run_id not in in_scope:
            continue
        remote_id = f"{mv.name}/{mv.version}"
        link = links.get(remote_id)
        if link is not None:
            version = link.local_id.rsplit(":", 1)[1]
        else:
            version = mv.tags.get(VERSION_TAG) or f"{mv.version}.0.0"
            try:
                check_model_name(mv.name)
                try:
                    store.get_model_version(mv.name, version)
                except NotFound:
                    _import_version(workspace, remote, mv, version, in_scope[str(mv.run_id)])
                    tally.add("model_versions")
            except InvalidInput as error:
                tally.skipped.append(f"model version {mv.name} {mv.version}: {error.message}")
                continue
            store.link_external(ExternalLink(SYSTEM, remote.location, MODEL_IN, remote_id, f"{mv.name}:{version}"))
        for alias in mv.aliases:
            try:
                current = store.model_alias(mv.name, alias)
            except NotFound:
                current = None
            if current != version:
                from jupyter_mlops.tracking.models import current_user

                store.set_model_alias(mv.name, alias, version, who=current_user(),
                                      note=f"imported from MLflow {remote.location}")
                tally.add("aliases")


def _import_version(workspace: Workspace, remote: MlflowTracking, mv: RemoteModelVersion, version: str,
                    run_id: str) -> ModelVersion:
    from jupyter_mlops.entities import ModelLineage
    from jupyter_mlops.tracking.models import current_user, lineage_of, put_model

    store, blobs = workspace.store, workspace.blobs
    with tempfile.TemporaryDirectory(prefix="mlops-model-") as tmp:
        path = remote.download_model(mv, Path(tmp))
        meta_file = path / MODEL_META if path.is_dir() else None
        meta: dict[str, Any] = {}
        if meta_file is not None and meta_file.is_file():
            meta = json.loads(meta_file.read_text(encoding="utf-8"))
            content = path / "model"
            fmt = str(meta.get("format") or "dir")
            if fmt in ("joblib", "pickle", "file"):
                files = [p for p in content.iterdir() if p.is_file()]
                if len(files) != 1:
                    raise InvalidInput(f"model version {mv.name} {mv.version}: expected one file in its model folder")
                digest, size = blobs.put_file(files[0])
            else:
                _, digest, size, _, _ = put_model(blobs, content)
        else:
            fmt, digest, size, _, _ = put_model(blobs, path)
    run = store.get_run(run_id)
    lineage = lineage_of(run)
    if meta.get("lineage"):
        lineage = replace(ModelLineage.from_dict(dict(meta["lineage"])), run_id=run_id)
    parents = [p for p in meta.get("parents") or () if _registered(workspace, str(p))]
    created = store.create_model_version(
        mv.name, artifact_hash=digest, format=fmt, flavor=str(meta.get("flavor") or "mlflow"), size=int(size),
        lineage=lineage, parents=parents, version=version,
        created_by=str(meta.get("created_by") or current_user()))
    stage = str(meta.get("stage") or "none")
    if stage != "none":
        store.set_model_stage(mv.name, version, stage, who=current_user(), note="imported from MLflow")
    return created


def _registered(workspace: Workspace, ref: str) -> bool:
    try:
        workspace.store.resolve_model(ref)
    except (NotFound, InvalidInput):
        return False
    return True


# -- export -----------------------------------------------------------------------------------------------------


def export_to_mlflow(workspace: Workspace, tracking_uri: str, filter_text: str | None = None, *,
                     artifact_root: str | None = None) -> InteropSummary:
    """Copy our runs matching a filter (all when None), and their model versions, into an MLflow store.

    Args:
        workspace: where our runs are.
        tracking_uri: the MLflow store (a SQLite file is created when missing).
        filter_text: a filter-language expression.
        artifact_root: where experiments this call creates keep their artifacts (default: MLflow's).

    Raises:
        InvalidInput: the mlflow extra is missing, a bad URI, a bad filter.
    """
    store = workspace.store
    runs = list(_all_runs(workspace, filter_text))  # the filter is checked before MLflow is touched
    remote = _tracking(tracking_uri, must_exist=False)
    links = {link.local_id: link for link in store.external_links(SYSTEM, remote.location, RUN_OUT).values()}
    tally = _Tally()
    exported: dict[str, tuple[str, str]] = {}  # our run id -> (MLflow run id, artifact URI)
    experiments: dict[str, str] = {}
    for run in runs:
        exp_id = experiments.get(run.experiment)
        if exp_id is None:
            exp_id = experiments[run.experiment] = remote.experiment_id(run.experiment, artifact_root)
        digest = _run_digest(run)
        link = links.get(run.id)
        if link is not None and link.revision == digest:
            tally.add("unchanged")
            exported[run.id] = (link.remote_id, remote.get_run(link.remote_id).artifact_uri)
            continue
        found = remote.exported_run(exp_id, run.id)
        if found is not None:
            remote.delete_run(found[0])  # cut short, or changed here since: written again whole
        mlflow_id, artifact_uri = _export_run(workspace, remote, exp_id, run, tally)
        store.link_external(ExternalLink(SYSTEM, remote.location, RUN_OUT, mlflow_id, run.id, digest))
        tally.add("updated" if found is not None or link is not None else "copied")
        tally.ids.append((mlflow_id, run.id))
        exported[run.id] = (mlflow_id, artifact_uri)
    _export_models(workspace, remote, exported, tally)
    return tally.summary("export", remote.location)


def _all_runs(workspace: Workspace, filter_text: str | None) -> Iterator[Run]:
    offset, page = 0, 500
    while True:
        found = workspace.store.search_runs(filter_text, order_by=["start_time ASC"], limit=page, offset=offset)
        yield from found.items
        offset += page
        if offset >= found.total:
            return


def _run_digest(run: Run) -> str:
    data = run.to_dict()
    data.pop("heartbeat", None)
    data.pop("duration", None)
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:40]


def _param_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _export_run(workspace: Workspace, remote: MlflowTracking, exp_id: str, run: Run,
                tally: _Tally) -> tuple[str, str]:
    from jupyter_mlops.interop.mlflow import (
        COMMIT_TAG,
        NOTE_TAG,
        RUN_ID_TAG,
        SOURCE_TAG,
        SOURCE_TYPE_TAG,
        valid_name,
    )

    store, blobs = workspace.store, workspace.blobs
    tags = {RUN_ID_TAG: run.id}
    if run.note:
        tags[NOTE_TAG] = run.note
    if run.git_commit:
        tags[COMMIT_TAG] = run.git_commit
    if run.notebook_path:
        tags[SOURCE_TAG], tags[SOURCE_TYPE_TAG] = run.notebook_path, "NOTEBOOK"
    for label in run.tags:
        key, _, value = label.partition("=")
        if valid_name(key) and len(value) <= _MAX_TAG and not key.startswith("mlflow."):
            tags[key] = value
        else:
            tally.skipped.append(f"run {run.id}: tag {label[:60]!r} is not a valid MLflow tag (kept in run.json)")
    params = {}
    for key, value in run.params.items():
        if valid_name(key):
            params[key] = _param_text(value)[:_MAX_PARAM]
        else:
            tally.skipped.append(f"run {run.id}: param {key[:60]!r} is not a valid MLflow name (kept in run.json)")
    keys = sorted(run.metrics)
    histories = store.metric_histories([run.id], keys) if keys else {}
    points: list[tuple[str, float, int, float]] = []
    for (_, key), series in histories.items():
        if not valid_name(key):
            tally.skipped.append(f"run {run.id}: metric {key[:60]!r} is not a valid MLflow name")
            continue
        points.extend((m.key, m.value, m.step, m.timestamp) for m in series)
    if run.slices:  # MLflow names cannot spell a slice label (ADR-080): said, not silently dropped
        count = sum(len(labels) for labels in run.slices.values())
        tally.skipped.append(f"run {run.id}: {count} sliced metric series not exported: MLflow metric names "
                             "cannot hold a slice (kept in `runs export`)")
    mlflow_id, artifact_uri = remote.create_run(exp_id, run.name, run.start_time, tags)
    remote.log_values(mlflow_id, points, params, {})
    with tempfile.TemporaryDirectory(prefix="mlops-export-") as tmp:
        root = Path(tmp)
        for artifact in run.artifacts:
            target = root / artifact.path
            if artifact.path.startswith("/") or ".." in Path(artifact.path).parts or not blobs.exists(artifact.hash):
                tally.skipped.append(f"run {run.id}: artifact {artifact.path[:80]!r} is missing from the blob store")
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(blobs.local_path(artifact.hash), target)
            tally.add("artifacts")
        own = root / OWN_DIR
        own.mkdir()
        for name, digest in ((NOTEBOOK_FILE, run.notebook_hash), (CODE_FILE, run.code_hash),
                             (ENV_FILE, run.env_hash)):
            if digest and blobs.exists(digest):
                shutil.copyfile(blobs.local_path(digest), own / name)
        record = run.to_dict()
        record["param_sources"] = _param_sources(workspace, run)
        (own / RUN_FILE).write_text(json.dumps(record, ensure_ascii=False, default=str), encoding="utf-8")
        remote.log_artifacts(mlflow_id, root)
    remote.finish_run(mlflow_id, run.status.value, run.end_time)
    tally.add("points", len(points))
    return mlflow_id, artifact_uri


def _param_sources(workspace: Workspace, run: Run) -> dict[str, str]:
    out = {}
    for key in run.params:
        history = workspace.store.param_history(run.id, key)
        if history:
            out[key] = history[-1].source
    return out


def _export_models(workspace: Workspace, remote: MlflowTracking, exported: dict[str, tuple[str, str]],
                   tally: _Tally) -> None:
    from jupyter_mlops.interop.mlflow import VERSION_TAG

    store = workspace.store
    links = {link.local_id: link for link in store.external_links(SYSTEM, remote.location, MODEL_OUT).values()}
    for mv in reversed(store.model_versions()):  # oldest first: MLflow numbers versions in registration order
        if mv.run_id not in exported:
            continue
        mlflow_run, artifact_uri = exported[mv.run_id]
        link = links.get(mv.ref)
        if link is None:
            folder = f"{OWN_DIR}/models/{mv.name}/{mv.version}"
            with tempfile.TemporaryDirectory(prefix="mlops-export-model-") as tmp:
                _write_model(workspace, mv, Path(tmp))
                remote.log_artifacts(mlflow_run, Path(tmp), folder)
            number = remote.register_version(
                mv.name, f"{artifact_uri.rstrip('/')}/{folder}", mlflow_run,
                {VERSION_TAG: mv.version, "jupyter_mlops.format": mv.format, "jupyter_mlops.flavor": mv.flavor,
                 "jupyter_mlops.stage": mv.stage}, f"jupyter_mlops {mv.ref}")
            store.link_external(ExternalLink(SYSTEM, remote.location, MODEL_OUT, f"{mv.name}/{number}", mv.ref))
            tally.add("model_versions")
            new = True
        else:
            number, new = link.remote_id.rsplit("/", 1)[1], False
        for alias in mv.aliases:
            remote.set_alias(mv.name, alias, number)
            if new:
                tally.add("aliases")


def _write_model(workspace: Workspace, mv: ModelVersion, root: Path) -> None:
    """The version's content under ``root/model`` and its registration record in ``root/MODEL_META``."""
    blobs = workspace.blobs
    content = root / "model"
    content.mkdir()
    if mv.format == "dir":
        manifest = blobs.get_json(mv.artifact_hash)
        for rel, entry in sorted(manifest["files"].items()):
            if rel.startswith("/") or ".." in Path(rel).parts:
                raise InvalidInput(f"model {mv.ref}: manifest path {rel[:80]!r} leaves its folder")
            target = content / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(blobs.local_path(entry["hash"]), target)
    else:
        suffix = {"joblib": "model.joblib", "pickle": "model.pkl"}.get(mv.format, f"{mv.name}-{mv.version}")
        shutil.copyfile(blobs.local_path(mv.artifact_hash), content / suffix)
    meta = {"name": mv.name, "version": mv.version, "format": mv.format, "flavor": mv.flavor,
            "lineage": mv.lineage.to_dict(), "parents": list(mv.parents), "stage": mv.stage,
            "created": mv.created, "created_by": mv.created_by}
    (root / MODEL_META).write_text(json.dumps(meta, default=str), encoding="utf-8")
