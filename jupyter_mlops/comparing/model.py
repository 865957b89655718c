"""The data a comparison returns: frozen dataclasses whose ``to_dict`` is the documented JSON.

The wire shape is specified in ``docs/architecture.md`` ("compare.py / charts.py") and documented for users in
``docs/compare-json.md``. Every list holds entries in ``runs`` order, baseline first. Non-finite floats (NaN,
infinity) become ``null`` in ``to_dict`` because browsers' ``JSON.parse`` rejects them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from jupyter_mlops.entities import Run, slice_dims

#: Keys of ``Run.to_dict()`` left out of ``Comparison.to_dict()["runs"]``; the data section covers them.
_RUN_KEYS_LEFT_OUT = ("data_inputs", "artifacts", "slices")  # slices: the comparison's own section


def json_safe(value: Any) -> Any:
    """``value`` with non-finite floats replaced by None (top level and inside lists/dicts)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    return value


@dataclass(frozen=True, slots=True)
class RunSnapshot:
    """What a comparison needs of one run.

    Attributes:
        run: the run as the store returns it.
        code: the executed-code snapshot ``{"cells": [{"index", "execution_count", "source", "cell_id"}]}``, with
            ``modules`` when the run loaded local modules (ADR-102).
        env: the environment snapshot ``{"python", "platform", "packages": {name: version}, ...}``.
    """

    run: Run
    code: Mapping[str, Any] | None = None
    env: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class ParamDiff:
    """One param across the runs; a param missing from a run is None there and counts as differing."""

    key: str
    values: tuple[Any, ...]
    differs: bool

    def to_dict(self) -> dict[str, Any]:
        """Wire shape."""
        return {"key": self.key, "values": json_safe(list(self.values)), "differs": self.differs}


@dataclass(frozen=True, slots=True)
class CodeDiff:
    """The cell changes of one run's executed code against the baseline's.

    ``cells`` are the notebook diff engine's cell records, the ``changes`` of ``jupyter-mlops diff A B --format
    json`` for the same two runs (see :mod:`jupyter_mlops.comparing.code`); ``modules`` the changes of the local
    modules the runs loaded (:mod:`jupyter_mlops.comparing.modules`).
    """

    run: str
    cells: tuple[Mapping[str, Any], ...]
    modules: tuple[Mapping[str, Any], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Wire shape; ``modules`` lists the local-module changes (ADR-102), empty when none changed."""
        return {"run": self.run, "cells": [dict(c) for c in self.cells], "modules": [dict(m) for m in self.modules]}


@dataclass(frozen=True, slots=True)
class DataChange:
    """How one run's version of a data input differs from the baseline's.

    ``status`` is ``changed`` (both have it), ``added`` (the baseline lacks it) or ``removed`` (the run lacks it).
    Pairs such as ``size`` and ``rows`` are ``(baseline, run)``.
    """

    run: str
    status: str
    hash_changed: bool
    size: tuple[int | None, int | None]
    rows: tuple[int | None, int | None]
    columns_added: tuple[str, ...] = ()
    columns_removed: tuple[str, ...] = ()
    dtype_changes: tuple[tuple[str, str, str], ...] = ()
    #: Columns whose distribution shifted (PSI ≥ 0.1, ADR-068), largest first; empty without both profiles.
    drift: tuple[tuple[str, float], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Wire shape."""
        return {
            "run": self.run,
            "status": self.status,
            "hash_changed": self.hash_changed,
            "size": list(self.size),
            "rows": list(self.rows),
            "columns_added": list(self.columns_added),
            "columns_removed": list(self.columns_removed),
            "dtype_changes": [{"column": c, "from": a, "to": b} for c, a, b in self.dtype_changes],
            "drift": [{"column": c, "psi": round(v, 4)} for c, v in self.drift],
        }


@dataclass(frozen=True, slots=True)
class DataDiff:
    """One data input (by name) across the runs; ``values`` hold ``{"hash", "size", "schema"}`` or None."""

    name: str
    values: tuple[dict[str, Any] | None, ...]
    differs: bool
    changes: tuple[DataChange, ...]

    def to_dict(self) -> dict[str, Any]:
        """Wire shape."""
        return {
            "name": self.name,
            "values": [None if v is None else dict(v) for v in self.values],
            "differs": self.differs,
            "changes": [c.to_dict() for c in self.changes],
        }


@dataclass(frozen=True, slots=True)
class PackageChange:
    """One installed package across the runs; ``change`` is bumped, added, removed or unchanged."""

    name: str
    values: tuple[str | None, ...]
    change: str

    def to_dict(self) -> dict[str, Any]:
        """Wire shape."""
        return {"name": self.name, "values": list(self.values), "change": self.change}


@dataclass(frozen=True, slots=True)
class EnvDiff:
    """Python version, platform and package changes; None where a run has no environment snapshot."""

    python: tuple[str | None, ...] = ()
    platform: tuple[str | None, ...] = ()
    packages: tuple[PackageChange, ...] = ()

    @property
    def python_differs(self) -> bool:
        """Whether the runs' Python versions are not all the same."""
        return len(set(self.python)) > 1

    @property
    def platform_differs(self) -> bool:
        """Whether the runs' platforms are not all the same."""
        return len(set(self.platform)) > 1

    def to_dict(self) -> dict[str, Any]:
        """Wire shape."""
        return {
            "python": list(self.python),
            "platform": list(self.platform),
            "packages": [p.to_dict() for p in self.packages],
        }


@dataclass(frozen=True, slots=True)
class MetricDiff:
    """The latest value of one metric across the runs, its delta to the baseline and the best run.

    ``slice`` is the slice's label for a metric measured on a slice of the data (ADR-070), else None.
    """

    key: str
    values: tuple[float | None, ...]
    deltas: tuple[float | None, ...]
    best: int | None
    goal: str
    slice: str | None = None

    @property
    def differs(self) -> bool:
        """Whether the values are not all equal (a missing value differs from a present one)."""
        return len(set(self.values)) > 1

    def to_dict(self) -> dict[str, Any]:
        """Wire shape (a sliced row adds ``slice``, its label, and ``dims``, the slice's dimensions)."""
        out = {
            "key": self.key,
            "values": json_safe(list(self.values)),
            "deltas": json_safe(list(self.deltas)),
            "best": self.best,
            "goal": self.goal,
        }
        if self.slice is not None:
            out.update(slice=self.slice, dims=slice_dims(self.slice))
        return out


@dataclass(frozen=True, slots=True)
class FlagRow:
    """The notebook-state flags of one run."""

    run: str
    flags: Mapping[str, bool] = field(default_factory=dict)
    cells: Mapping[str, Sequence[int]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Wire shape."""
        return {"run": self.run, "flags": dict(self.flags), "cells": {k: list(v) for k, v in self.cells.items()}}


@dataclass(frozen=True, slots=True)
class Comparison:
    """Why runs differ, section by section, in the order that answers the question.

    Attributes:
        baseline: id of the run the others are compared against (the first one).
        runs: the compared runs, baseline first.
        all_values: whether unchanged entries were kept (otherwise only differences are listed).
    """

    baseline: str
    runs: tuple[Run, ...]
    params: tuple[ParamDiff, ...] = ()
    code: tuple[CodeDiff, ...] = ()
    data: tuple[DataDiff, ...] = ()
    env: EnvDiff = field(default_factory=EnvDiff)
    metrics: tuple[MetricDiff, ...] = ()
    flags: tuple[FlagRow, ...] = ()
    slices: tuple[MetricDiff, ...] = ()
    all_values: bool = False

    @property
    def run_ids(self) -> list[str]:
        """The compared run ids, baseline first."""
        return [r.id for r in self.runs]

    def to_dict(self) -> dict[str, Any]:
        """The documented JSON shape (``docs/compare-json.md``)."""
        runs = []
        for run in self.runs:
            data = run.to_dict()
            for key in _RUN_KEYS_LEFT_OUT:
                data.pop(key, None)
            runs.append(json_safe(data))
        return {
            "baseline": self.baseline,
            "runs": runs,
            "params": [p.to_dict() for p in self.params],
            "code": [c.to_dict() for c in self.code],
            "data": [d.to_dict() for d in self.data],
            "env": self.env.to_dict(),
            "metrics": [m.to_dict() for m in self.metrics],
            "flags": [f.to_dict() for f in self.flags],
            "slices": [m.to_dict() for m in self.slices],
        }
