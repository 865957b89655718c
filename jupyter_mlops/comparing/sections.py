"""Pure builders of the comparison sections: params, data, environment, metrics, flags.

Each builder takes runs (or snapshots) baseline first and returns rows in a stable order (sorted by key/name).
Nothing here touches a store; :func:`jupyter_mlops.app.compare.compare_runs` loads the inputs.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from jupyter_mlops.comparing.data_check import profile_drift
from jupyter_mlops.comparing.model import (
    DataChange,
    DataDiff,
    EnvDiff,
    FlagRow,
    MetricDiff,
    PackageChange,
    ParamDiff,
    RunSnapshot,
)
from jupyter_mlops.entities import DataInput, Run

_MISSING: Any = object()

#: Substrings of a metric name that mean "lower is better"; every other metric is maximised.
MINIMIZE_HINTS = ("loss", "error", "err", "mse", "mae", "rmse", "time", "latency")


# -- params ------------------------------------------------------------------------------------------------------
def same_value(a: Any, b: Any) -> bool:
    """Whether two param values are the same.

    Numbers compare by value (``1 == 1.0``, NaN equals NaN); bools and other types by their canonical JSON (so
    ``True != 1`` and ``"1" != 1``); the missing marker only equals itself.
    """
    if a is _MISSING or b is _MISSING:
        return a is b
    if _is_number(a) and _is_number(b):
        if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
            return True
        return bool(a == b)
    return _canonical(a) == _canonical(b)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def param_rows(runs: Sequence[Run], all_values: bool = False) -> tuple[ParamDiff, ...]:
    """One row per param key across the runs; only keys whose values differ unless ``all_values``."""
    keys = sorted({key for run in runs for key in run.params})
    rows = []
    for key in keys:
        values = [run.params.get(key, _MISSING) for run in runs]
        differs = any(not same_value(values[0], v) for v in values[1:])
        if differs or all_values:
            rows.append(ParamDiff(key, tuple(None if v is _MISSING else v for v in values), differs))
    return tuple(rows)


# -- data --------------------------------------------------------------------------------------------------------
def schema_columns(schema: Mapping[str, Any] | None) -> dict[str, str]:
    """``{column: dtype}`` of a recorded data schema (empty without one)."""
    # Capture writes [{"name", "dtype"}]; accept {name: dtype} and [name, ...] too, since older runs may differ.
    if not schema:
        return {}
    cols = schema.get("columns")
    if isinstance(cols, Mapping):
        return {str(k): str(v) for k, v in cols.items()}
    out: dict[str, str] = {}
    for col in cols or ():
        if isinstance(col, Mapping) and "name" in col:
            out[str(col["name"])] = str(col.get("dtype", ""))
        elif isinstance(col, str):
            out[col] = ""
    return out


def schema_rows(schema: Mapping[str, Any] | None) -> int | None:
    """The row count of a recorded data schema (its ``rows``, else the first of its ``shape``), or None."""
    if not schema:
        return None
    rows = schema.get("rows")
    if isinstance(rows, int) and not isinstance(rows, bool):
        return rows
    shape = schema.get("shape")
    if isinstance(shape, list | tuple) and shape and isinstance(shape[0], int):
        return shape[0]
    return None


def _data_value(item: DataInput | None) -> dict[str, Any] | None:
    if item is None:
        return None
    return {"hash": item.hash, "size": item.size, "schema": item.schema, "kind": item.kind, "path": item.path}


#: PSI from which a compare lists a column as drifted (the "moderate shift" band, ADR-068).
DRIFT_SHOWN = 0.1


def _profile_of(item: DataInput | None, profiles: Mapping[str, Any]) -> Mapping[str, Any] | None:
    digest = (item.schema or {}).get("profile") if item is not None else None
    found = profiles.get(digest) if isinstance(digest, str) else None
    return found if isinstance(found, Mapping) else None


def _drift(base: DataInput | None, other: DataInput | None,
           profiles: Mapping[str, Any]) -> tuple[tuple[str, float], ...]:
    before, after = _profile_of(base, profiles), _profile_of(other, profiles)
    if before is None or after is None:
        return ()
    shifted = [(c, v) for c, v in profile_drift(before, after).items() if v is not None and v >= DRIFT_SHOWN]
    return tuple(sorted(shifted, key=lambda cv: -cv[1]))


def data_change(run_id: str, base: DataInput | None, other: DataInput | None,
                profiles: Mapping[str, Any] | None = None) -> DataChange:
    """What changed in a data input between the baseline's record and another run's (either may be None).

    ``profiles`` maps profile blob hashes to loaded profiles; with both sides' profiles, drifted columns are named.
    """
    status = "added" if base is None else "removed" if other is None else "changed"
    base_schema = base.schema if base else None
    other_schema = other.schema if other else None
    old_cols, new_cols = schema_columns(base_schema), schema_columns(other_schema)
    # Column lists are only meaningful when both sides have a schema; otherwise every column would look added.
    comparable = base_schema is not None and other_schema is not None
    return DataChange(
        run=run_id,
        status=status,
        hash_changed=(base.hash if base else None) != (other.hash if other else None),
        size=(base.size if base else None, other.size if other else None),
        rows=(schema_rows(base_schema), schema_rows(other_schema)),
        columns_added=tuple(c for c in new_cols if c not in old_cols) if comparable else (),
        columns_removed=tuple(c for c in old_cols if c not in new_cols) if comparable else (),
        dtype_changes=tuple(
            (c, old_cols[c], new_cols[c]) for c in old_cols if c in new_cols and old_cols[c] != new_cols[c]
        )
        if comparable
        else (),
        drift=_drift(base, other, profiles or {}),
    )


def data_rows(runs: Sequence[Run], all_values: bool = False,
              profiles: Mapping[str, Any] | None = None) -> tuple[DataDiff, ...]:
    """One row per data input name (role ``input``); only inputs that differ from the baseline unless ``all_values``.

    An input differs when its content hash changed or a run lacks it.
    """
    per_run = [{d.name: d for d in run.data_inputs if d.role == "input"} for run in runs]
    names = sorted({name for inputs in per_run for name in inputs})
    rows = []
    for name in names:
        items = [inputs.get(name) for inputs in per_run]
        base = items[0]
        changes = tuple(
            data_change(run.id, base, item, profiles)
            for run, item in zip(runs[1:], items[1:], strict=True)
            if (base is None) != (item is None) or (base is not None and item is not None and base.hash != item.hash)
        )
        if changes or all_values:
            rows.append(DataDiff(name, tuple(_data_value(i) for i in items), bool(changes), changes))
    return tuple(rows)


# -- environment ---------------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=8192)
def _normalise_package(name: str) -> str:
    # PEP 503: `Scikit_Learn` and `scikit-learn` are one package.
    return re.sub(r"[-_.]+", "-", name).lower()


def _python_version(env: Mapping[str, Any] | None) -> str | None:
    if not env:
        return None
    python = env.get("python")
    if isinstance(python, Mapping):
        python = python.get("version")
    return None if python is None else str(python).split()[0]


def _platform(env: Mapping[str, Any] | None) -> str | None:
    if not env:
        return None
    value = env.get("platform")
    if isinstance(value, Mapping):
        value = value.get("platform") or value.get("system")
    return None if value is None else str(value)


def package_change(values: Sequence[str | None]) -> str:
    """Classify one package's versions (baseline first): added, removed, bumped or unchanged.

    ``added``: the baseline lacks it and another run has it; ``removed``: the baseline has it and another run
    lacks it; ``bumped``: every run has it, in more than one version.
    """
    base, others = values[0], values[1:]
    if base is None:
        return "added" if any(v is not None for v in others) else "unchanged"
    if any(v is None for v in others):
        return "removed"
    return "bumped" if any(v != base for v in others) else "unchanged"


def env_diff(snapshots: Sequence[RunSnapshot], all_values: bool = False) -> EnvDiff:
    """Python, platform and package changes across the runs' environment snapshots."""
    envs = [s.env for s in snapshots]
    packages: list[dict[str, str]] = []
    display: dict[str, str] = {}
    for env in envs:
        raw = (env or {}).get("packages") or {}
        mapping = raw if isinstance(raw, Mapping) else {}
        normalised = {}
        for name, version in mapping.items():
            key = _normalise_package(str(name))
            display.setdefault(key, str(name))
            normalised[key] = str(version)
        packages.append(normalised)
    rows = []
    # Runs without an environment snapshot say nothing about packages, so they never make a package look removed.
    known = [i for i, env in enumerate(envs) if env]
    baseline_known = bool(known) and known[0] == 0
    for key in sorted(display):
        values = tuple(p.get(key) for p in packages)  # runs without a snapshot have no packages: None
        change = package_change([values[i] for i in known]) if baseline_known else "unchanged"
        if change != "unchanged" or all_values:
            rows.append(PackageChange(display[key], values, change))
    return EnvDiff(
        python=tuple(_python_version(e) for e in envs),
        platform=tuple(_platform(e) for e in envs),
        packages=tuple(rows),
    )


# -- metrics -------------------------------------------------------------------------------------------------------
def metric_goal(key: str) -> str:
    """``min`` for names that look like losses, errors or durations, else ``max``.

    Example:
        >>> metric_goal("val_loss"), metric_goal("auc"), metric_goal("fit_time")
        ('min', 'max', 'min')
    """
    lowered = key.lower()
    return "min" if any(hint in lowered for hint in MINIMIZE_HINTS) else "max"


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def metric_rows(runs: Sequence[Run]) -> tuple[MetricDiff, ...]:
    """Latest value of every metric per run, deltas to the baseline and the index of the best run.

    Metrics are the outcome a comparison explains, so all of them are listed, changed or not. Ties for best go to
    the earliest run, so an unchanged metric marks the baseline as best.
    """
    keys = sorted({key for run in runs for key in run.metrics})
    return tuple(_metric_row(key, tuple(run.metrics.get(key) for run in runs)) for key in keys)


def slice_rows(runs: Sequence[Run]) -> tuple[MetricDiff, ...]:
    """Latest value of every sliced metric per run (ADR-070), by key then slice label, as :func:`metric_rows`.

    A slice only some runs measured is listed with None for the others, so a slice missing in a candidate shows.
    """
    pairs = sorted({(key, label) for run in runs for key, values in run.slices.items() for label in values})
    return tuple(_metric_row(key, tuple(run.slices.get(key, {}).get(label) for run in runs), label)
                 for key, label in pairs)


def _metric_row(key: str, values: tuple[float | None, ...], label: str | None = None) -> MetricDiff:
    base = values[0]
    deltas = tuple(v - base if _finite(v) and _finite(base) else None for v in values)  # type: ignore[operator]
    goal = metric_goal(key)
    candidates = [(v, i) for i, v in enumerate(values) if _finite(v)]
    best = None
    if candidates:
        best = min(candidates)[1] if goal == "min" else max(candidates, key=lambda c: (c[0], -c[1]))[1]
    return MetricDiff(key, values, deltas, best, goal, label)


# -- flags ---------------------------------------------------------------------------------------------------------
def flag_rows(runs: Sequence[Run], all_values: bool = False) -> tuple[FlagRow, ...]:
    """The notebook-state flags of each run; only runs with a raised flag unless ``all_values``."""
    return tuple(FlagRow(run.id, dict(run.flags), dict(run.flag_cells)) for run in runs
                 if all_values or any(run.flags.values()))
