"""A read-only view of a stored run, with lazy access to its histories and snapshots."""

from __future__ import annotations

from typing import Any

from jupyter_mlops.entities import Artifact, DataInput, Metric, Run, SliceMetric
from jupyter_mlops.store.blobs import read_snapshot

__all__ = ["RunView"]


class RunView:
    """What :func:`jupyter_mlops.get_run` returns: the run's fields plus its metric histories and snapshots.

    Args:
        run: the stored run.
        store: the store it came from (for histories).
        blobs: the blob store (for the code and environment snapshots).

    Example:
        >>> import jupyter_mlops as mlops, tempfile
        >>> store = f"sqlite:///{tempfile.mkdtemp()}/mlops.db"
        >>> with mlops.start_run("demo", store=store) as run:
        ...     for step in range(3):
        ...         run.log_metric("loss", 1.0 / (step + 1))
        >>> view = mlops.get_run(run.id, store=store)
        >>> view.metrics["loss"], [m.step for m in view.metric_history("loss")]
        (0.3333333333333333, [0, 1, 2])
    """

    def __init__(self, run: Run, store: Any, blobs: Any) -> None:
        self.run = run
        self._store = store
        self._blobs = blobs

    @property
    def id(self) -> str:
        """Run id."""
        return self.run.id

    @property
    def name(self) -> str:
        """Run name."""
        return self.run.name

    @property
    def experiment(self) -> str:
        """Experiment name."""
        return self.run.experiment

    @property
    def status(self) -> str:
        """``running``, ``finished``, ``failed`` or ``crashed``."""
        return self.run.status.value

    @property
    def logging_errors(self) -> int:
        """Metric points and params that could not be stored; above 0 the run's record is incomplete."""
        return self.run.logging_errors

    @property
    def params(self) -> dict[str, Any]:
        """Latest value of each param, native types."""
        return dict(self.run.params)

    @property
    def metrics(self) -> dict[str, float]:
        """Latest value of each metric."""
        return dict(self.run.metrics)

    @property
    def slices(self) -> dict[str, dict[str, float]]:
        """Latest value of each sliced metric: ``{"auc": {"region=EU": 0.91}}`` (ADR-070)."""
        return {key: dict(values) for key, values in self.run.slices.items()}

    @property
    def tags(self) -> tuple[str, ...]:
        """Tags."""
        return self.run.tags

    @property
    def note(self) -> str:
        """Free-text note."""
        return self.run.note

    @property
    def flags(self) -> dict[str, bool]:
        """Notebook-state flags (``out_of_order``, ``edited_after_run``, ``kernel_restarted``, ``cells_rerun``)."""
        return dict(self.run.flags)

    @property
    def flag_cells(self) -> dict[str, list[int]]:
        """For each raised flag that could be traced, the saved notebook's cells (1-based) that raised it."""
        return {key: list(cells) for key, cells in self.run.flag_cells.items()}

    @property
    def data_inputs(self) -> tuple[DataInput, ...]:
        """Datasets read or written."""
        return self.run.data_inputs

    @property
    def artifacts(self) -> tuple[Artifact, ...]:
        """Stored files."""
        return self.run.artifacts

    @property
    def start_time(self) -> float:
        """Start, epoch seconds."""
        return self.run.start_time

    @property
    def end_time(self) -> float | None:
        """End, epoch seconds (None while running)."""
        return self.run.end_time

    @property
    def notebook_path(self) -> str | None:
        """The notebook the run came from, when known."""
        return self.run.notebook_path

    @property
    def code(self) -> dict[str, Any] | None:
        """The executed-code snapshot (``{"cells": [...]}``), or None when none was captured."""
        return self._blob_json(self.run.code_hash)

    @property
    def error(self) -> dict[str, str] | None:
        """``{"ename", "evalue"}`` of the exception that failed a notebook run (from its code snapshot), or None."""
        error = (self.code or {}).get("error")
        return dict(error) if isinstance(error, dict) else None

    @property
    def env(self) -> dict[str, Any] | None:
        """The environment snapshot (python, platform, packages, cpu, ram, gpu, git), or None."""
        return self._blob_json(self.run.env_hash)

    def metric_history(self, key: str) -> list[Metric]:
        """Every point of one metric, by step."""
        return list(self._store.metric_history(self.run.id, key))

    def slice_history(self, key: str) -> list[SliceMetric]:
        """Every point of every slice of one metric, by slice, then step."""
        return list(self._store.slice_history(self.run.id, key))

    def param_history(self, key: str) -> list[Any]:
        """Every value a param had in this run, oldest first."""
        return [p.value for p in self._store.param_history(self.run.id, key)]

    def to_dict(self) -> dict[str, Any]:
        """The run's wire shape (``Run.to_dict``)."""
        return self.run.to_dict()

    def _blob_json(self, digest: str | None) -> dict[str, Any] | None:
        return read_snapshot(self._blobs, digest)

    def __repr__(self) -> str:
        return f"<RunView {self.name!r} id={self.id[:8]} status={self.status} experiment={self.experiment!r}>"
