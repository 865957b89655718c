"""Registering model versions from a run and loading them back, content verified (ADR-053, ADR-054).

Assumptions:
    * A model object is serialized with joblib when it is installed (sklearn's own advice for estimators), else
      with pickle; a file is stored as it is; a folder as its files plus a JSON manifest (relative path -> hash
      and size) whose hash addresses the version. All of it is content-addressed in the run's blob store.
    * Loading re-hashes every byte it reads and refuses, in one line, content whose hash is not the recorded
      one, before anything is unpickled. Unpickling runs code: load only models from stores you trust.
    * The lineage is read from the run at registration (after flushing what the run queued). What a run learns
      only when it ends (the notebook's code snapshot, its notebook-state flags) is read from the run when the
      lineage is shown or checked: :func:`effective_lineage` fills only what registration could not see.
"""

from __future__ import annotations

import getpass
import io
import os
import pickle
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import xxhash

from jupyter_mlops.entities import ModelLineage, ModelVersion
from jupyter_mlops.errors import Conflict, InvalidInput, NotFound
from jupyter_mlops.store.base import Store
from jupyter_mlops.store.blobs import ALGORITHM, digest_bytes
from jupyter_mlops.store.model_rules import check_model_name, data_fingerprint, schema_fingerprint

__all__ = ["current_user", "effective_lineage", "lineage_gaps", "lineage_of", "load_version", "parents_of", "put_model",
           "register"]

_BLOCK = 8 * 1024 * 1024
_FORMATS = ("joblib", "pickle", "file", "dir")


def current_user() -> str:
    """The user name recorded with registrations and promotions: ``$JUPYTER_MLOPS_USER``, else the login name."""
    explicit = os.environ.get("JUPYTER_MLOPS_USER", "").strip()
    if explicit:
        return explicit[:200]
    try:
        return getpass.getuser()[:200] or "unknown"
    except (OSError, KeyError, ImportError):  # no login name in a bare container
        return "unknown"


# -- registering ------------------------------------------------------------------------------------------------


def register(store: Store, blobs: Any, run_id: str, obj_or_path: Any, name: str, flavor: str | None = None,
             version: str | None = None, parents: Iterable[str] = ()) -> ModelVersion:
    """Store a model for a run and register it as a new immutable version (see ``ActiveRun.log_model``).

    The caller flushes the run's queued params and metrics first, so the lineage sees them.

    Raises:
        InvalidInput: a malformed name, version or parent reference; an object that cannot be pickled.
        NotFound: the path, or a parent model, does not exist.
        Conflict: the explicit ``version`` is already registered.
    """
    check_model_name(name)
    parent_refs = [store.resolve_model(str(p)).ref for p in parents]  # aliases and 'latest' pinned now
    fmt, digest, size, detected, signature = put_model(blobs, obj_or_path)
    lineage = lineage_of(store.get_run(run_id), signature)
    return store.create_model_version(
        name, artifact_hash=digest, format=fmt, flavor=flavor or detected, size=size, lineage=lineage,
        parents=parent_refs, version=version, created_by=current_user(),
    )


def put_model(blobs: Any, obj_or_path: Any) -> tuple[str, str, int, str, dict[str, Any] | None]:
    """Store the model's bytes; return ``(format, hash, size, detected flavor, input signature)``."""
    if isinstance(obj_or_path, (str, os.PathLike)):
        source = Path(obj_or_path)
        if source.is_file():
            digest, size = blobs.put_file(source)
            return "file", digest, int(size), "file", None
        if source.is_dir():
            files = {p.relative_to(source).as_posix(): blobs.put_file(p)
                     for p in sorted(source.rglob("*")) if p.is_file()}
            manifest = {"files": {rel: {"hash": h, "size": int(n)} for rel, (h, n) in files.items()}}
            return "dir", blobs.put_json(manifest), sum(int(n) for _, n in files.values()), "dir", None
        raise NotFound(f"model path not found: {source}")
    fmt, data = _serialize(obj_or_path)
    flavor = "sklearn" if type(obj_or_path).__module__.split(".")[0] == "sklearn" else "python"
    return fmt, blobs.put_bytes(data), len(data), flavor, _signature(obj_or_path)


def _serialize(obj: Any) -> tuple[str, bytes]:
    buffer = io.BytesIO()
    try:
        try:
            import joblib
        except ImportError:
            pickle.dump(obj, buffer, protocol=pickle.HIGHEST_PROTOCOL)
            return "pickle", buffer.getvalue()
        joblib.dump(obj, buffer)
        return "joblib", buffer.getvalue()
    except (pickle.PicklingError, TypeError, AttributeError) as error:
        first = (str(error).splitlines() or [""])[0]
        raise InvalidInput(f"cannot store the model: {type(obj).__name__} cannot be pickled ({first}); "
                           "save it to a file or folder and log that path") from None


def _signature(obj: Any) -> dict[str, Any] | None:
    # The input signature sklearn-style estimators record when fitted; other objects have none we can read.
    signature: dict[str, Any] = {}
    width = getattr(obj, "n_features_in_", None)
    if isinstance(width, int):
        signature["n_features"] = width
    names = getattr(obj, "feature_names_in_", None)
    if names is not None:
        signature["features"] = [str(n) for n in names]
    return signature or None


def lineage_of(run: Any, signature: dict[str, Any] | None = None) -> ModelLineage:
    """The lineage a version registered now from ``run`` records (an MLflow import registers with it too)."""
    inputs = tuple(d for d in run.data_inputs if d.role == "input")
    return ModelLineage(
        run_id=run.id, data=inputs, code_hash=run.code_hash, notebook_hash=run.notebook_hash,
        git_commit=run.git_commit, git_dirty=run.git_dirty, env_hash=run.env_hash, params=dict(run.params),
        metrics=dict(run.metrics), flags=dict(run.flags), signature=signature,
        data_fingerprint=data_fingerprint((d.name, d.hash) for d in inputs),
        schema_fingerprint=schema_fingerprint({d.name: d.schema for d in inputs}, signature),
    )


# -- lineage checks ---------------------------------------------------------------------------------------------


def effective_lineage(store: Store, version: ModelVersion) -> ModelLineage:
    """The version's lineage, with what its run recorded only after registration filled in (never overwritten).

    Snapshots and git state left empty at registration come from the run; notebook-state flags raised since
    (edited after run) are added. A deleted run leaves the recorded lineage as it is.
    """
    lineage = version.lineage
    if not version.run_id:
        return lineage
    try:
        run = store.get_run(version.run_id)
    except NotFound:
        return lineage
    fill = {key: getattr(run, key) for key in ("code_hash", "notebook_hash", "git_commit", "git_dirty", "env_hash")
            if getattr(lineage, key) is None and getattr(run, key) is not None}
    flags = {**lineage.flags, **{k: v for k, v in run.flags.items() if v}}
    return replace(lineage, flags=flags, **fill)


def lineage_gaps(lineage: ModelLineage) -> list[str]:
    """Why a lineage is incomplete (empty when it is complete): the reasons promotion refuses it."""
    gaps = []
    if not lineage.run_id:
        gaps.append("no run recorded")
    if not lineage.data or any(not d.hash for d in lineage.data):
        gaps.append("no data input hashes")
    has_snapshot = bool(lineage.code_hash or lineage.notebook_hash)
    if not has_snapshot and lineage.git_commit is None:
        gaps.append("code not recorded (no code snapshot, no git commit)")
    elif not has_snapshot and lineage.git_dirty:
        gaps.append("dirty git tree and no code snapshot (untracked code)")
    raised = sorted(k for k, v in lineage.flags.items() if v)
    if raised:
        gaps.append(f"notebook-state flags raised: {', '.join(raised)}")
    return gaps


# -- loading ----------------------------------------------------------------------------------------------------


def load_version(blobs: Any, version: ModelVersion, dest: str | os.PathLike[str] | None = None) -> Any:
    """Load a version's content, verifying every hash first: the object, or the path of a verified copy.

    Files and folders are copied into ``dest`` (default: a new temporary folder) as ``dest/<original name>``
    for a folder's files, ``dest/<NAME>-<VERSION>`` for a file.

    Raises:
        Conflict: stored content does not match its recorded hash (tampered or corrupt); nothing is unpickled.
        NotFound: the content is missing from the blob store.
    """
    if version.format not in _FORMATS:
        raise InvalidInput(f"model {version.ref} has format {version.format!r}, which this version cannot load")
    if version.format in ("joblib", "pickle"):
        data = _verified_bytes(blobs, version.artifact_hash, version.ref)
        if version.format == "pickle":
            return pickle.loads(data)  # noqa: S301 - verified content from the user's own store
        import joblib

        return joblib.load(io.BytesIO(data))
    target = Path(dest) if dest is not None else Path(tempfile.mkdtemp(prefix="mlops-model-"))
    if version.format == "file":
        path = target / f"{version.name}-{version.version}"
        _copy_verified(blobs, version.artifact_hash, path, version.ref)
        return path
    import json

    manifest = json.loads(_verified_bytes(blobs, version.artifact_hash, version.ref))
    root = target / f"{version.name}-{version.version}"
    for rel, entry in sorted(manifest["files"].items()):
        if rel.startswith("/") or ".." in Path(rel).parts:
            raise Conflict(f"model {version.ref} is corrupt: manifest path {rel[:80]!r} leaves its folder")
        _copy_verified(blobs, entry["hash"], root / rel, version.ref)
    return root


def _verified_bytes(blobs: Any, digest: str, ref: str) -> bytes:
    data: bytes = blobs.get_bytes(digest)
    actual = digest_bytes(data)
    if actual != digest:
        raise Conflict(f"model {ref} is corrupt: its stored content hashes to {actual}, not {digest}; "
                       "refusing to load it")
    return data


def _copy_verified(blobs: Any, digest: str, target: Path, ref: str) -> None:
    try:
        source = blobs.local_path(digest)
    except NotFound:
        raise NotFound(f"model {ref}: blob {digest} is missing from {blobs.location}") from None
    if not digest.startswith(f"{ALGORITHM}:"):
        raise Conflict(f"model {ref}: cannot verify blob {digest} (unknown hash algorithm)")
    target.parent.mkdir(parents=True, exist_ok=True)
    hasher = xxhash.xxh3_128()
    partial = target.with_name(target.name + ".partial")
    with source.open("rb") as fh, partial.open("wb") as out:
        while block := fh.read(_BLOCK):
            hasher.update(block)
            out.write(block)
    if f"{ALGORITHM}:{hasher.hexdigest()}" != digest:
        partial.unlink()
        raise Conflict(f"model {ref} is corrupt: blob {digest} no longer matches its hash; refusing to load it")
    partial.replace(target)


def parents_of(store: Store, version: ModelVersion) -> Sequence[ModelVersion]:
    """The registered parent versions (a parent is never deleted, so each resolves)."""
    return [store.resolve_model(ref) for ref in version.parents]
