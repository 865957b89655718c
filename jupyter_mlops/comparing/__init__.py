"""Comparison of runs as pure data: why is this run different from the baseline?

:func:`build_comparison` turns already-loaded :class:`RunSnapshot` objects into a :class:`Comparison`, section by
section in the order that answers the question: params → code → data → environment → metrics → flags. It never
touches a store; :func:`jupyter_mlops.app.compare.compare_runs` loads the snapshots and calls it. Rendering lives in
:mod:`jupyter_mlops.render`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from jupyter_mlops.comparing.code import cell_changes, snapshot_cells
from jupyter_mlops.comparing.model import (
    CodeDiff,
    Comparison,
    DataChange,
    DataDiff,
    EnvDiff,
    FlagRow,
    MetricDiff,
    PackageChange,
    ParamDiff,
    RunSnapshot,
)
from jupyter_mlops.comparing.modules import module_changes
from jupyter_mlops.comparing.sections import (
    data_rows,
    env_diff,
    flag_rows,
    metric_goal,
    metric_rows,
    param_rows,
    slice_rows,
)
from jupyter_mlops.errors import InvalidInput

__all__ = [
    "CodeDiff",
    "Comparison",
    "DataChange",
    "DataDiff",
    "EnvDiff",
    "FlagRow",
    "MetricDiff",
    "PackageChange",
    "ParamDiff",
    "RunSnapshot",
    "build_comparison",
    "code_diffs",
    "metric_goal",
]


def code_diffs(snapshots: Sequence[RunSnapshot], all_values: bool = False,
               module_sources: Mapping[str, Any] | None = None) -> tuple[CodeDiff, ...]:
    """Cell and local-module changes of every non-baseline run against the baseline's executed code.

    Runs without a code snapshot (or a baseline without one) are left out: there is nothing to diff. Runs whose
    executed code and modules equal the baseline's are listed (with no changes) only when ``all_values``.
    ``module_sources`` holds module sources by blob hash (``comparing.modules.module_sources_wanted``).
    """
    if not snapshots or snapshots[0].code is None:
        return ()
    base = snapshot_cells(snapshots[0].code)
    out = []
    for snap in snapshots[1:]:
        if snap.code is None:
            continue
        cells = cell_changes(base, snapshot_cells(snap.code))
        modules = module_changes(snapshots[0].code, snap.code, module_sources or {})
        if cells or modules or all_values:
            out.append(CodeDiff(snap.run.id, cells, modules))
    return tuple(out)


def build_comparison(snapshots: Sequence[RunSnapshot], *, all_values: bool = False,
                     profiles: Mapping[str, Any] | None = None,
                     module_sources: Mapping[str, Any] | None = None) -> Comparison:
    """Compare loaded runs; the first is the baseline.

    Args:
        snapshots: one per run, baseline first.
        all_values: keep unchanged params, data inputs, packages, code entries and flags too.
        profiles: data profiles by blob hash (``changed_data_profiles``): changed inputs then name drifted columns.
        module_sources: local-module sources by blob hash, for the module diffs of the code section.

    Returns:
        The comparison (metrics always list every key).

    Raises:
        InvalidInput: no runs were given.
    """
    if not snapshots:
        raise InvalidInput("compare needs at least one run")
    runs = [s.run for s in snapshots]
    return Comparison(
        baseline=runs[0].id,
        runs=tuple(runs),
        params=param_rows(runs, all_values),
        code=code_diffs(snapshots, all_values, module_sources),
        data=data_rows(runs, all_values, profiles),
        env=env_diff(snapshots, all_values),
        metrics=metric_rows(runs),
        flags=flag_rows(runs, all_values),
        slices=slice_rows(runs),
        all_values=all_values,
    )
