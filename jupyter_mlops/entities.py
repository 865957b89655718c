"""Frozen dataclasses that cross layers: the store returns them, compare/charts/server/CLI consume them.

Rows never leave the store; these do. ``to_dict``/``from_dict`` give the JSON wire shape used by the REST API
(``server/schemas.py``) and mirrored by ``labextension/src/tokens.ts``. Times are epoch seconds (float, UTC).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Generic, TypeVar
from urllib.parse import unquote

T = TypeVar("T")

#: Params keep their native JSON types: int, float, bool, str, None, list or dict.
ParamValue = Any

#: Notebook-state flags recorded on every notebook run (like git's dirty flag).
NOTEBOOK_FLAGS = ("out_of_order", "edited_after_run", "kernel_restarted", "cells_rerun")


class RunStatus(str, enum.Enum):
    """Lifecycle of a run.

    ``CRASHED`` is stored for a run cut short by a kernel restart or interrupt, and derived by the store from a
    stale heartbeat of a running run (a killed process). ``FAILED`` is an explicit failure, an exception leaving
    the context manager or the script, or a notebook whose last executed cell raised.
    """

    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"
    CRASHED = "crashed"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class Experiment:
    """A named group of runs."""

    id: int
    name: str
    created: float


@dataclass(frozen=True, slots=True)
class Metric:
    """One point of a metric's history."""

    key: str
    value: float
    step: int = 0
    timestamp: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """Wire shape."""
        return asdict(self)


#: Most dimensions one slice may have (``{"region": "EU", "device": "mobile"}`` has two).
SLICE_MAX_DIMENSIONS = 8
#: Longest slice label in UTF-8 bytes: with the metric key and run id it must fit one PostgreSQL B-tree entry.
SLICE_MAX_BYTES = 1000
# Escaped in a label: its separators, the filter language's brackets, and control characters (the same set the
# store refuses in names: C0, DEL, C1, bidi overrides), so a label is one unambiguous, printable line.
_SLICE_ESCAPE = re.compile("[%,=\\[\\]\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _escape_slice_text(text: str) -> str:
    return _SLICE_ESCAPE.sub(lambda m: "".join(f"%{b:02X}" for b in m.group().encode("utf-8")), text)


def slice_label(dims: Mapping[str, str]) -> str:
    """The canonical text of a slice (ADR-070): ``name=value`` pairs sorted by name, joined with ``,``.

    ``%``, ``,``, ``=``, ``[``, ``]`` and control characters are percent-escaped, so every label reads back
    (:func:`slice_dims`) to the mapping it came from, and two equal mappings always give the same label.

    Example:
        >>> slice_label({"region": "EU", "device": "a,b"})
        'device=a%2Cb,region=EU'
    """
    return ",".join(f"{_escape_slice_text(k)}={_escape_slice_text(v)}" for k, v in sorted(dims.items()))


def slice_dims(label: str) -> dict[str, str]:
    """The mapping a :func:`slice_label` was made from.

    Example:
        >>> slice_dims("device=a%2Cb,region=EU")
        {'device': 'a,b', 'region': 'EU'}
    """
    out: dict[str, str] = {}
    for pair in label.split(",") if label else ():
        name, _, value = pair.partition("=")
        out[unquote(name)] = unquote(value)
    return out


@dataclass(frozen=True, slots=True)
class SliceMetric:
    """One point of a metric measured on a slice of the data (``auc`` on ``region=EU``).

    ``slice`` is the canonical label (:func:`slice_label`); the unsliced metric of the same key is a separate
    :class:`Metric` series (ADR-070).
    """

    key: str
    slice: str
    value: float
    step: int = 0
    timestamp: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """Wire shape, with the slice's dimensions spelled out."""
        return {**asdict(self), "dims": slice_dims(self.slice)}


@dataclass(frozen=True, slots=True)
class Param:
    """A parameter value; ``source`` says where it came from (papermill cell, %%track params, argparse, config...)."""

    key: str
    value: ParamValue
    source: str = "api"


@dataclass(frozen=True, slots=True)
class DataInput:
    """A dataset a run read (role ``input``) or wrote (role ``output``).

    ``kind`` is ``file``, ``dir``, ``dataframe``, ``array`` or ``object``. ``schema`` is None or a dict such as
    ``{"columns": [{"name": "age", "dtype": "int64"}], "rows": 1000, "shape": [1000, 3]}``.
    """

    name: str
    hash: str
    kind: str = "file"
    path: str | None = None
    size: int | None = None
    schema: dict[str, Any] | None = None
    role: str = "input"

    def to_dict(self) -> dict[str, Any]:
        """Wire shape."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DataInput:
        """Inverse of :meth:`to_dict`."""
        return cls(
            name=str(data["name"]),
            hash=str(data["hash"]),
            kind=str(data.get("kind", "file")),
            path=data.get("path"),
            size=data.get("size"),
            schema=data.get("schema"),
            role=str(data.get("role", "input")),
        )


@dataclass(frozen=True, slots=True)
class Artifact:
    """A file stored with a run; ``hash`` addresses its bytes in the blob store."""

    path: str
    hash: str
    size: int

    def to_dict(self) -> dict[str, Any]:
        """Wire shape."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Run:
    """Everything the store knows about one run.

    ``metrics`` holds the latest value per key; histories come from ``Store.metric_history``. ``slices`` holds
    the latest value of each sliced metric: ``{"auc": {"region=EU": 0.91}}`` (labels from :func:`slice_label`).
    ``code_hash``, ``notebook_hash`` and ``env_hash`` address JSON/bytes snapshots in the blob store. ``flags``
    holds the notebook-state flags (see :data:`NOTEBOOK_FLAGS`) and ``flag_cells`` the saved notebook's cells
    (1-based) that raised them, where they could be told. ``logging_errors`` counts the metric points and params the
    tracker could not store (a value the store refused, points shed while the disk was full): above 0 the run's
    record is incomplete whatever its status says (ADR-017).
    """

    id: str
    name: str
    experiment: str
    status: RunStatus
    start_time: float
    end_time: float | None = None
    heartbeat: float | None = None
    notebook_path: str | None = None
    git_commit: str | None = None
    git_dirty: bool | None = None
    code_hash: str | None = None
    notebook_hash: str | None = None
    env_hash: str | None = None
    note: str = ""
    reproduction_of: str | None = None
    tags: tuple[str, ...] = ()
    params: dict[str, ParamValue] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    flags: dict[str, bool] = field(default_factory=dict)
    flag_cells: dict[str, list[int]] = field(default_factory=dict)
    data_inputs: tuple[DataInput, ...] = ()
    artifacts: tuple[Artifact, ...] = ()
    logging_errors: int = 0
    slices: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def duration(self) -> float | None:
        """Seconds from start to end (or to the last heartbeat while running)."""
        end = self.end_time if self.end_time is not None else self.heartbeat
        return None if end is None else max(0.0, end - self.start_time)

    def to_dict(self) -> dict[str, Any]:
        """Wire shape: plain JSON types, status as its string value."""
        return {
            "id": self.id,
            "name": self.name,
            "experiment": self.experiment,
            "status": self.status.value,
            "start_time": self.start_time,
            "end_time": self.end_time,
            "heartbeat": self.heartbeat,
            "duration": self.duration,
            "notebook_path": self.notebook_path,
            "git_commit": self.git_commit,
            "git_dirty": self.git_dirty,
            "code_hash": self.code_hash,
            "notebook_hash": self.notebook_hash,
            "env_hash": self.env_hash,
            "note": self.note,
            "reproduction_of": self.reproduction_of,
            "tags": list(self.tags),
            "params": dict(self.params),
            "metrics": dict(self.metrics),
            "flags": dict(self.flags),
            "flag_cells": {key: list(cells) for key, cells in self.flag_cells.items()},
            "data_inputs": [d.to_dict() for d in self.data_inputs],
            "artifacts": [a.to_dict() for a in self.artifacts],
            "logging_errors": self.logging_errors,
            "slices": {key: dict(values) for key, values in self.slices.items()},
        }


#: The stages a model version can be in (``none`` until first staged).
MODEL_STAGES = ("none", "staging", "production", "archived")


@dataclass(frozen=True, slots=True)
class ModelLineage:
    """Where a model version came from, recorded when it was registered and never changed afterwards.

    ``data`` holds the run's input datasets with their full content hashes; ``data_fingerprint`` and
    ``schema_fingerprint`` digest them (and the model's input ``signature``) for the version rule (ADR-053).
    ``code_hash``/``notebook_hash``/``env_hash`` address snapshots in the blob store (the environment snapshot
    carries the package lock); ``flags`` are the run's notebook-state flags.
    """

    run_id: str | None = None
    data: tuple[DataInput, ...] = ()
    code_hash: str | None = None
    notebook_hash: str | None = None
    git_commit: str | None = None
    git_dirty: bool | None = None
    env_hash: str | None = None
    params: dict[str, ParamValue] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    flags: dict[str, bool] = field(default_factory=dict)
    signature: dict[str, Any] | None = None
    data_fingerprint: str = ""
    schema_fingerprint: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Wire shape."""
        return {
            "run_id": self.run_id, "data": [d.to_dict() for d in self.data], "code_hash": self.code_hash,
            "notebook_hash": self.notebook_hash, "git_commit": self.git_commit, "git_dirty": self.git_dirty,
            "env_hash": self.env_hash, "params": dict(self.params), "metrics": dict(self.metrics),
            "flags": dict(self.flags), "signature": self.signature, "data_fingerprint": self.data_fingerprint,
            "schema_fingerprint": self.schema_fingerprint,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelLineage:
        """Inverse of :meth:`to_dict` (missing keys take their defaults)."""
        return cls(
            run_id=data.get("run_id"), data=tuple(DataInput.from_dict(d) for d in data.get("data") or ()),
            code_hash=data.get("code_hash"), notebook_hash=data.get("notebook_hash"),
            git_commit=data.get("git_commit"), git_dirty=data.get("git_dirty"), env_hash=data.get("env_hash"),
            params=dict(data.get("params") or {}), metrics=dict(data.get("metrics") or {}),
            flags=dict(data.get("flags") or {}), signature=data.get("signature"),
            data_fingerprint=str(data.get("data_fingerprint") or ""),
            schema_fingerprint=str(data.get("schema_fingerprint") or ""),
        )


@dataclass(frozen=True, slots=True)
class ModelVersion:
    """One immutable version of a named model: its stored content, lineage, stage and aliases.

    ``version`` is ``MAJOR.MINOR.PIPELINE`` (ADR-053). ``artifact_hash`` addresses the stored model in the blob
    store: the serialized object (``format`` ``joblib`` or ``pickle``), the file (``file``) or a JSON manifest of
    a folder's files (``dir``). ``parents`` are the ``NAME:VERSION`` of the models this one was built from.
    Only ``stage`` and ``aliases`` change after registration, each change recorded as a :class:`ModelEvent`.
    """

    name: str
    version: str
    artifact_hash: str
    format: str = "pickle"
    flavor: str = "python"
    size: int = 0
    run_id: str | None = None
    lineage: ModelLineage = field(default_factory=ModelLineage)
    parents: tuple[str, ...] = ()
    stage: str = "none"
    aliases: tuple[str, ...] = ()
    created: float = 0.0
    created_by: str = ""

    @property
    def ref(self) -> str:
        """``NAME:VERSION``, the reference that always means this version."""
        return f"{self.name}:{self.version}"

    def to_dict(self) -> dict[str, Any]:
        """Wire shape."""
        return {
            "name": self.name, "version": self.version, "artifact_hash": self.artifact_hash, "format": self.format,
            "flavor": self.flavor, "size": self.size, "run_id": self.run_id, "lineage": self.lineage.to_dict(),
            "parents": list(self.parents), "stage": self.stage, "aliases": list(self.aliases),
            "created": self.created, "created_by": self.created_by,
        }


@dataclass(frozen=True, slots=True)
class ModelEvent:
    """One row of a model's append-only history: an alias moved or a stage changed.

    For an alias change ``label`` is the alias and ``from_value``/``to_value`` the versions that held it before
    and after (None: none); for a stage change ``label`` is ``"stage"`` and they are the stages of ``version``.
    ``forced`` marks a promotion of a version with incomplete lineage; its reason is in the ``note``.
    """

    name: str
    version: str
    change: str
    label: str
    from_value: str | None
    to_value: str | None
    who: str
    at: float
    note: str = ""
    forced: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Wire shape."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class ExternalLink:
    """That a run or model version of ours is a record of another tracking system (MLflow), and which (ADR-062).

    ``location`` is the other store's address (password masked), ``kind`` is ``run`` or ``model_version``,
    ``local_id`` a run id or ``NAME:VERSION``, ``revision`` a digest of the remote record when it was copied.
    """

    system: str
    location: str
    kind: str
    remote_id: str
    local_id: str
    revision: str = ""


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of results plus the total count matching the query."""

    items: tuple[T, ...]
    total: int
    offset: int = 0
    limit: int | None = None
