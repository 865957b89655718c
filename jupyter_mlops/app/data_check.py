"""``data check`` and ``data schema infer``: validate data files against a baseline, write an expectation file.

The baseline is a run (its recorded profile of the same data), a model version (the profile recorded by the run
that produced it) or a pandera YAML schema file. Against a profile, the new file is read and profiled
(``capture.profile``) and the two profiles are compared by the pure rules of
:mod:`jupyter_mlops.comparing.data_check` (schema, constraints, drift); against a schema file, pandera validates
the data (:mod:`jupyter_mlops.app.data_schema`). Either way the result is one
:class:`~jupyter_mlops.comparing.data_check.DataCheckResult`, which every face renders (``render/data_check.py``).

Which recorded input is "the same data": the input whose name is the path as given, else whose resolved path
is the file's, else the only one with the same file name. Without ``against``, the baseline is the most recent of
the last :data:`SEARCH_RUNS` runs that recorded a profile of it. The store is opened only for run and model
baselines: a schema-file check needs none.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jupyter_mlops.comparing.data_check import DataCheckResult, DatasetCheck, Limits, check_profiles
from jupyter_mlops.entities import DataInput, Run
from jupyter_mlops.errors import InvalidInput, MlopsError, NotFound

if TYPE_CHECKING:
    from jupyter_mlops.app.workspace import Workspace

__all__ = ["SEARCH_RUNS", "Baseline", "check_data", "infer_schema", "profile_data", "read_data", "recorded_profile",
           "resolve_baseline"]

#: Recent runs searched for a profile of the data when no baseline is given.
SEARCH_RUNS = 200
_SCHEMA_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True, slots=True)
class Baseline:
    """What data is checked against: a ``run`` (and maybe the model version it backs) or a ``schema`` file."""

    kind: str
    label: str
    run: Run | None = None
    schema_path: Path | None = None


def _run_label(run: Run) -> str:
    return f"run {run.name} ({run.id[:8]})"


def resolve_baseline(workspace: Workspace, against: str | None, first_path: str) -> Baseline:
    """The baseline ``against`` names: a ``.yaml`` schema file, ``MODEL:VERSION``/``MODEL@ALIAS``, or a run.

    Raises:
        NotFound: no such file, run or model version; no recent run recorded a profile of ``first_path``.
        Conflict: an ambiguous run reference.
    """
    if against is None:
        return _latest_with_profile(workspace, first_path)
    text = against.strip()
    if text.lower().endswith(_SCHEMA_SUFFIXES):
        path = Path(text)
        if not path.is_file():
            raise NotFound(f"schema file not found: {text}")
        return Baseline("schema", f"schema {text}", schema_path=path)
    quick = _run_from_file(workspace, text)
    if quick is not None:
        return Baseline("run", _run_label(quick), run=quick)
    store = workspace.store
    if ":" in text or "@" in text:
        from jupyter_mlops.app.models import resolve_version

        try:
            version = resolve_version(workspace, text)
        except MlopsError:
            version = None
        if version is not None:
            if not version.run_id:
                raise NotFound(f"{text} records no run, so it has no data profile to check against")
            run = store.get_run(version.run_id)
            return Baseline("model", f"model {version.name}:{version.version}, {_run_label(run)}", run=run)
    try:
        run = store.get_run(store.resolve_run(text))
    except NotFound:
        raise NotFound(f"no run, model version or schema file matches {text!r}") from None
    return Baseline("run", _run_label(run), run=run)


def _run_from_file(workspace: Workspace, ref: str) -> Run | None:
    # A SQLite store that is not open yet answers a run reference from the file, without SQLAlchemy (about a
    # quarter of a cold check's 2 s budget, ADR-059); a model reference, or any doubt, goes to the store.
    from jupyter_mlops.app.runs import runs_from_file

    try:
        found = runs_from_file(workspace, [ref])
    except NotFound:
        return None
    return found[0] if found else None


def _blobs(workspace: Workspace) -> Any:
    if workspace.is_open:
        return workspace.blobs
    from jupyter_mlops.store import open_blobs

    return open_blobs(workspace.settings)


def _latest_with_profile(workspace: Workspace, path: str) -> Baseline:
    page = workspace.store.search_runs(order_by=["start_time DESC"], limit=SEARCH_RUNS)
    for run in page.items:
        found = _matching_input(run, path)
        if found is not None and (found.schema or {}).get("profile"):
            return Baseline("run", _run_label(run), run=run)
    raise NotFound(f"no recent run recorded a profile of {path}; give the baseline with --against RUN|MODEL:VERSION|"
                   "SCHEMA.yaml")


def _matching_input(run: Run, path: str) -> DataInput | None:
    inputs = sorted(run.data_inputs, key=lambda d: d.role != "input")  # inputs before outputs of the same name
    for item in inputs:
        if item.name == path:
            return item
    resolved = str(Path(path).resolve())
    for item in inputs:
        if item.path == resolved:
            return item
    named = [d for d in inputs if Path(d.path or d.name).name == Path(path).name]
    return named[0] if len({d.name for d in named}) == 1 else None


def recorded_profile(workspace: Workspace, run: Run, path: str, recorded: str | None = None) -> dict[str, Any]:
    """The profile ``run`` recorded for the data at ``path`` (or for its data input named ``recorded``).

    Without ``recorded``, a run that profiled exactly one dataset is the baseline of any path.

    Raises:
        NotFound: the run recorded no such data, or recorded it without a profile (or its blob is gone).
    """
    from jupyter_mlops.store.blobs import read_snapshot

    item = _matching_input(run, recorded or path)
    profiled = [d for d in run.data_inputs if (d.schema or {}).get("profile")]
    if item is None and recorded is None and len(profiled) == 1:
        item = profiled[0]  # new data checked against the one dataset the baseline profiled
    if item is None:
        names = ", ".join(sorted({d.name for d in run.data_inputs})) or "none"
        raise NotFound(f"{_run_label(run)} recorded no data matching {recorded or path} (its data: {names}; "
                       "name one with --data NAME)")
    digest = (item.schema or {}).get("profile")
    profile = read_snapshot(_blobs(workspace), digest) if isinstance(digest, str) else None
    if profile is None:
        raise NotFound(f"{_run_label(run)} recorded {item.name} without a profile (recorded before profiles, not "
                       "tabular, or larger than the profiling limit); record it again with log_data")
    return profile


def read_data(path: str) -> Any:
    """A data file as a pandas DataFrame.

    Raises:
        NotFound: no such file.
        InvalidInput: not a tabular file, or it cannot be parsed.
    """
    from jupyter_mlops.capture.profile import read_table

    target = Path(path)
    if not target.is_file():
        raise NotFound(f"data file not found: {path}")
    try:
        return read_table(target)
    except Exception as error:  # pandas' ParserError, UnicodeDecodeError, pyarrow errors, a wrong suffix
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise InvalidInput(f"cannot read {path}: {first}") from None


def profile_data(path: str) -> dict[str, Any]:
    """The profile of a data file, as a run records it (``capture.profile``).

    Raises:
        NotFound: no such file.
        InvalidInput: it cannot be read.
    """
    from jupyter_mlops.capture.profile import profile_frame

    return profile_frame(read_data(path))


def check_data(workspace: Workspace, paths: Sequence[str], against: str | None = None,
               limits: Limits | None = None, recorded: str | None = None,
               frames: Mapping[str, Any] | None = None) -> DataCheckResult:
    """Check each data file (and DataFrame) against the baseline: schema, constraints and, against a profile, drift.

    Args:
        workspace: the project's stores (opened only for a run or model baseline).
        paths: data files (csv, tsv, parquet, feather).
        against: a run, ``MODEL:VERSION`` or a pandera ``.yaml`` schema; None for the latest run that profiled it.
        limits: thresholds of the profile rules.
        recorded: the name of the baseline's data input to compare every path with (default: matched by path).
        frames: DataFrames in memory to check too, by name (``%track data check df``).

    Returns:
        The result; ``result.exit_code`` is 0 when clean and 1 with anomalies.

    Raises:
        InvalidInput: nothing to check; an unreadable file or schema.
        NotFound: a missing file, run, model version or profile.
    """
    frames = dict(frames or {})
    if not paths and not frames:
        raise InvalidInput("give at least one data file to check")
    limits = limits or Limits()
    for path in paths:  # every file must exist before anything slow happens
        if not Path(path).is_file():
            raise NotFound(f"data file not found: {path}")
    sources: list[tuple[str, Callable[[], Any]]] = [(p, functools.partial(read_data, p)) for p in paths]
    sources += [(name, functools.partial(lambda f: f, frame)) for name, frame in frames.items()]
    baseline = resolve_baseline(workspace, against, sources[0][0])
    if baseline.kind == "schema":
        from jupyter_mlops.app import data_schema

        assert baseline.schema_path is not None
        schema = data_schema.load_schema(baseline.schema_path)
        datasets = []
        for name, load in sources:
            frame = load()
            datasets.append(DatasetCheck(name, len(frame), tuple(data_schema.validate(schema, frame))))
        return DataCheckResult(baseline.label, baseline.kind, tuple(datasets), limits)
    assert baseline.run is not None
    run = baseline.run
    base_profiles = [recorded_profile(workspace, run, name, recorded) for name, _ in sources]
    return DataCheckResult(baseline.label, baseline.kind,
                           tuple(_check_one(name, load, base, limits)
                                 for (name, load), base in zip(sources, base_profiles, strict=True)), limits)


def _check_one(name: str, load: Callable[[], Any], base: dict[str, Any], limits: Limits) -> DatasetCheck:
    from jupyter_mlops.capture.profile import profile_object

    profile = profile_object(load())
    if profile is None:
        raise InvalidInput(f"cannot profile {name}: not a DataFrame")
    return check_profiles(name, base, profile, limits)


def infer_schema(workspace: Workspace, path: str, from_run: str | None = None, recorded: str | None = None) -> str:
    """An editable pandera YAML schema of the data at ``path``: from the file, or from a run's recorded profile.

    Raises:
        NotFound: no such file (without ``from_run``), run, or recorded profile.
        InvalidInput: the file cannot be read; pandera is not installed.
    """
    from jupyter_mlops.app import data_schema

    if from_run is None:
        return data_schema.infer_from_frame(read_data(path))
    baseline = resolve_baseline(workspace, from_run, path)
    if baseline.run is None:
        raise InvalidInput("--from needs a run or a model version, not a schema file")
    return data_schema.infer_from_profile(recorded_profile(workspace, baseline.run, path, recorded))
