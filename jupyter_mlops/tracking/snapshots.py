"""What a run stores besides its values: data descriptions and its code, notebook and environment snapshots.

Assumptions:
    * Snapshots are content-addressed blobs (``store.blobs``): storing the same snapshot twice stores it once, so a
      heartbeat that refreshes an unchanged code snapshot costs a hash, not a file.
    * Every text a snapshot holds is redacted (``capture.redact``) unless the run opted out, the same pass as the
      run's params and tags; cell sources are memoised by the redactor, so a refresh pays only for new cells.
    * A code snapshot is JSON of text the kernel received; a lone surrogate in it (a frontend can send one) cannot
      be encoded as UTF-8, so the snapshot is made storable (``checks.storable_text``) rather than lost.
    * Describing a dataset hashes it (with the store's stat cache) on the caller's thread: the kernel's cell
      session calls it from the background capture thread, explicit ``log_data`` calls from the user's.
    * A dataset's profile (``capture.profile``) is a JSON blob named by ``schema["profile"]``, not a column of
      the data input: run lists load data inputs, and a profile is kilobytes (ADR-067). Its category labels are
      data values, so they pass through the same redaction as params unless the run opted out. A profile that
      cannot be computed or stored leaves the data input without one, never fails the call.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jupyter_mlops.entities import DataInput
from jupyter_mlops.errors import InvalidInput, NotFound
from jupyter_mlops.store.base import Store
from jupyter_mlops.tracking import checks, context

__all__ = [
    "capture_background",
    "code_blob",
    "describe_object",
    "describe_path",
    "module_blob",
    "notebook_blob",
    "with_profile",
]

logger = logging.getLogger(__name__)

_ENV_HASHES: dict[tuple[str, int, str], str] = {}


def code_blob(blobs: Any, snapshot: Mapping[str, Any], *, redact: bool) -> str:
    """Store a code snapshot (``capture.code`` JSON) as a blob, redacted when ``redact``; return its hash."""
    if redact:
        from jupyter_mlops.capture import redact as redaction

        snapshot = redaction.redact_code_snapshot(snapshot)
    try:
        return str(blobs.put_json(snapshot))
    except UnicodeEncodeError:  # a lone surrogate: rare, so the common case pays no extra walk
        return str(blobs.put_json(_storable(snapshot)))


def notebook_blob(blobs: Any, data: bytes, *, redact: bool) -> str:
    """Store a saved notebook's bytes as a blob, redacted when ``redact``; return its hash."""
    if redact:
        from jupyter_mlops.capture import redact as redaction

        data = redaction.redact_notebook(data)
    return str(blobs.put_bytes(data))


def module_blob(blobs: Any, data: bytes, *, redact: bool) -> str:
    """Store a local module's source bytes as a blob, redacted as code cells are when ``redact``; return its hash."""
    if redact:
        from jupyter_mlops.capture import redact as redaction

        data = redaction.redact_source(data)
    return str(blobs.put_bytes(data))


def _storable(value: Any) -> Any:
    if isinstance(value, str):
        return checks.storable_text(value)
    if isinstance(value, Mapping):
        return {_storable(k): _storable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_storable(v) for v in value]
    return value


def describe_path(store: Store, path: str | os.PathLike[str], name: str | None, role: str) -> DataInput:
    """Hash a file or folder (with the store's stat cache) into a :class:`DataInput`; NotFound when missing."""
    from jupyter_mlops.capture import frames, hashing

    target = Path(path)
    if not target.exists():
        raise NotFound(f"data path not found: {os.fspath(path)}")
    result = hashing.hash_path(target, cache=store.stat_cache())
    schema = frames.describe_tabular_file(target) if result.kind == "file" else None
    return DataInput(
        name=name or os.fspath(path),
        hash=result.hash,
        kind=result.kind,
        path=str(target.resolve()),
        size=result.size,
        schema=schema,
        role=role,
    )


def describe_object(obj: Any, name: str | None, role: str,
                    min_max: dict[int, tuple[Any, Any]] | None = None) -> DataInput:
    """Describe a DataFrame/array in memory (content hash and schema) as a :class:`DataInput`.

    ``min_max``: filled by the hashing pass for :func:`with_profile` (``capture.frames.describe_object``).

    Raises:
        InvalidInput: ``capture.frames`` cannot describe the object.
    """
    from jupyter_mlops.capture import frames

    described = frames.describe_object(obj, min_max)
    if described is None:
        raise InvalidInput(
            f"cannot record a {type(obj).__name__} as data; pass a path, a DataFrame or an array"
        )
    digest, schema = described
    kind = {"DataFrame": "dataframe", "Series": "dataframe", "ndarray": "array"}.get(type(obj).__name__, "object")
    return DataInput(name=name or type(obj).__name__, hash=digest, kind=kind, schema=schema, role=role)


def with_profile(blobs: Any, record: DataInput, source: Any, *, redact: bool,
                 min_max: dict[int, tuple[Any, Any]] | None = None) -> DataInput:
    """``record`` with the profile of ``source`` (a tabular file or a DataFrame) stored and named in its schema.

    ``min_max``: what :func:`describe_object` computed while hashing ``source``, so the profile does not read
    its numeric columns again (ADR-081). Unchanged for folders, arrays and files that are not tabular or cannot
    be read. Never raises.
    """
    from jupyter_mlops.capture import profile as profiling

    if record.kind == "file" and record.path:
        profile = profiling.profile_file(record.path)
    elif record.kind == "dataframe":
        profile = profiling.profile_object(source, min_max)
    else:
        return record
    if profile is None:
        return record
    try:
        if redact:
            profile = _redact_profile(profile)
        digest = str(blobs.put_json(profile))
    except Exception as exc:  # capture never breaks the call: the input is recorded without its profile
        logger.warning("could not store the profile of %s: %s", record.name, exc)
        return record
    return dataclasses.replace(record, schema={**(record.schema or {}), "profile": digest})


def _redact_profile(profile: dict[str, Any]) -> dict[str, Any]:
    from jupyter_mlops.capture import redact as redaction

    columns = []
    for column in profile.get("columns", ()):
        if column.get("top") or column.get("categories"):
            column = dict(column)
            for key in ("top", "categories"):
                if key in column:
                    column[key] = [_redact_label(redaction, item) for item in column[key]]
        columns.append(column)
    return {**profile, "columns": columns}


def _redact_label(redaction: Any, item: Any) -> Any:
    if isinstance(item, list) and item and isinstance(item[0], str):
        return [redaction.redact_text(item[0]), *item[1:]]
    return redaction.redact_text(item) if isinstance(item, str) else item


def capture_background(store: Store, blobs: Any, request: context.CaptureRequest, run_id: str) -> None:
    """Write the slow context of a new run (git state, environment snapshot, script snapshot) when it is ready."""
    facts = context.resolve(request, background=True)
    fields: dict[str, Any] = {k: facts[k] for k in ("git_commit", "git_dirty", "code_hash") if k in facts}
    if "_env" in facts or "_git" in facts:
        git = facts.get("_git")
        # The env snapshot is cached per process and git state for a moment: write the blob once per change.
        key = (str(getattr(blobs, "root", id(blobs))), id(facts.get("_env")), repr(sorted(git.items())) if git else "")
        env_hash = _ENV_HASHES.get(key)
        if env_hash is None:
            snapshot = dict(facts.get("_env") or {})
            if git:
                snapshot["git"] = git
            env_hash = _ENV_HASHES[key] = blobs.put_json(snapshot)
        fields["env_hash"] = env_hash
    if fields:
        store.patch_run(run_id, **fields)
