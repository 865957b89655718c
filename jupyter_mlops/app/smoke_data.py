"""``nb-smoke --data-against``: after the notebooks executed, check the data each one's run read against a baseline.

The faces (``nb-smoke``, ``pytest --nb-smoke``) call :func:`prepare` once, before any kernel starts (a baseline
that names no run, model version or readable schema file is a usage error then, and the kernels are pointed at
the project store), and :func:`check_notebooks` once the smoke run is over (every kernel has ended, so every run
has flushed its data inputs and profiles). The rules are ``jupyter-mlops data check``'s own
(:func:`jupyter_mlops.comparing.data_check.check_profiles`, or pandera for a schema file); the faces render the
:class:`~jupyter_mlops.comparing.data_check.DataCheckResult` and hand it to ``NotebookResult.add_data``.

Assumptions (ADR-079):
    * A notebook's run is found as the gate finds it (:func:`jupyter_mlops.app.smoke_gate.notebook_run`).
    * What is checked: every data input (role ``input``) of that run that recorded a profile — the profile the
      notebook's own kernel computed, so the data is not read again. Against a run or model version, each is
      compared with the baseline's profile of the same data (``data check``'s matching: name, path, file name,
      or the baseline's only profiled dataset); against a schema file, the input's recorded file is read and
      validated (a DataFrame logged without a file cannot be, a ``data-error``).
    * A run that recorded no profiled input cannot be checked: a ``data-error``, never a pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from jupyter_mlops.config import Settings, load_settings
from jupyter_mlops.errors import InvalidInput, MlopsError, NotFound

if TYPE_CHECKING:
    from jupyter_mlops.app.data_check import Baseline
    from jupyter_mlops.app.workspace import Workspace
    from jupyter_mlops.comparing.data_check import DataCheckResult, DatasetCheck, Limits
    from jupyter_mlops.entities import DataInput, Run
    from jupyter_mlops.notebooks.smoke.report import NotebookResult

__all__ = ["NotebookData", "SmokeData", "check_notebooks", "prepare"]


@dataclass(frozen=True)
class SmokeData:
    """A checked data baseline for one smoke call: as the user named it, as resolved, and the store it is in."""

    against: str
    baseline: Baseline
    settings: Settings
    schema: Any = None

    @property
    def kernel_env(self) -> dict[str, str]:
        """What the kernels need to track into the project store (absolute, as they start in other folders)."""
        from jupyter_mlops.app.reproduce.execute import store_env

        return store_env(self.settings)


@dataclass
class NotebookData:
    """One notebook's data check: ``result`` when checked, or ``error`` (one line) when it could not be."""

    notebook: NotebookResult
    result: DataCheckResult | None = None
    error: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        """``clean``, ``anomalies`` or ``error``."""
        if self.result is None:
            return "error"
        return "anomalies" if self.result.anomalies else "clean"


def prepare(against: str, flag: str = "--data-against", store_url: str | None = None) -> SmokeData:
    """Resolve the baseline before anything runs: a run, ``MODEL:VERSION``/``MODEL@ALIAS`` or a pandera YAML file.

    Raises:
        InvalidInput: no such run, model version or schema file; a version without a run; an unreadable schema
            (one line, naming ``flag`` as the face spells it).
    """
    from jupyter_mlops.app import data_schema
    from jupyter_mlops.app.data_check import resolve_baseline
    from jupyter_mlops.app.workspace import Workspace

    settings = load_settings(store_url)
    if not against.strip():
        raise InvalidInput(f"{flag}: give a run, MODEL:VERSION or a SCHEMA.yaml file")
    try:
        with Workspace.from_settings(settings) as workspace:
            baseline = resolve_baseline(workspace, against, "")
        schema = data_schema.load_schema(baseline.schema_path) if baseline.schema_path is not None else None
    except MlopsError as error:
        raise InvalidInput(f"{flag}: {error.message}") from None
    return SmokeData(against, baseline, settings, schema)


def check_notebooks(data: SmokeData, results: Sequence[NotebookResult], since: float,
                    limits: Limits | None = None) -> list[NotebookData]:
    """Check the profiled data inputs of every passed notebook's run against the baseline.

    Args:
        data: from :func:`prepare`.
        results: the smoke results; failed notebooks are not checked (they already failed).
        since: when the smoke call started (``time.time()``): older runs of a notebook are not its run.
        limits: thresholds of the profile rules (``data check``'s defaults).
    """
    from jupyter_mlops.app.smoke_gate import notebook_run
    from jupyter_mlops.app.workspace import Workspace
    from jupyter_mlops.comparing.data_check import DataCheckResult, Limits

    limits = limits or Limits()
    answers = [NotebookData(result) for result in results if result.passed]
    if not answers:
        return []
    baseline = data.baseline
    with Workspace.from_settings(data.settings) as workspace:
        for answer in answers:
            try:
                run = workspace.store.get_run(notebook_run(workspace, answer.notebook, since, "check the data of"))
                datasets = tuple(_check_input(workspace, data, run, item, limits) for item in _profiled(run))
                answer.result = DataCheckResult(baseline.label, baseline.kind, datasets, limits)
                answer.data = {**answer.result.to_dict(), "run": run.id}
            except MlopsError as error:
                answer.error = error.message
                answer.data = {"verdict": "error", "message": error.message}
    return answers


def _profiled(run: Run) -> list[DataInput]:
    found = [d for d in run.data_inputs if d.role == "input" and (d.schema or {}).get("profile")]
    if not found:
        raise NotFound(f"run {run.name} ({run.id[:8]}) recorded no profiled data input (read a CSV or parquet file "
                       "in a tracked cell, or give a DataFrame to log_data), so there is no data to check")
    return found


def _check_input(workspace: Workspace, data: SmokeData, run: Run, item: DataInput, limits: Limits) -> DatasetCheck:
    from jupyter_mlops.comparing.data_check import DatasetCheck, check_profiles

    if data.schema is not None:
        from jupyter_mlops.app import data_schema
        from jupyter_mlops.app.data_check import read_data

        if not item.path or item.kind != "file":
            raise InvalidInput(f"{item.name} was recorded without a file, so the schema {data.against} cannot "
                               "validate it; check against a run or model version instead")
        frame = read_data(item.path)
        return DatasetCheck(item.name, len(frame), tuple(data_schema.validate(data.schema, frame)))
    from jupyter_mlops.app.data_check import recorded_profile
    from jupyter_mlops.store.blobs import read_snapshot

    assert data.baseline.run is not None
    base = recorded_profile(workspace, data.baseline.run, item.path or item.name, item.name
                            if _has_input(data.baseline.run, item.name) else None)
    current = read_snapshot(workspace.blobs, str((item.schema or {})["profile"]))
    if current is None:
        raise NotFound(f"the profile of {item.name} in run {run.name} ({run.id[:8]}) is missing from the blob store")
    return check_profiles(item.name, base, current, limits)


def _has_input(run: Run, name: str) -> bool:
    return any(d.name == name for d in run.data_inputs)
