"""Data validation rules: new data's profile against a baseline profile, as anomaly rows (pure, no I/O).

:func:`check_profiles` compares two ``capture.profile`` profiles column by column:

* **schema** — ``missing_column``, ``extra_column``, ``dtype_change`` (the dtype *family* changed: integer,
  float, boolean, datetime, timedelta, string, categorical; ``int64`` → ``Int64`` or ``object`` → ``str`` is not a
  change);
* **constraints** — ``out_of_range`` (min or max outside the baseline's ``[min, max]``, widened on each side by
  ``range_slack`` × its span, 10 % by default: a fresh sample of the same distribution has slightly different
  extremes), ``nulls`` (nulls where the baseline had none, or a null share that rose by more
  than ``null_increase``), ``new_category`` (values outside a baseline whose category list is complete), and
  ``no_rows``;
* **drift** — ``drift`` when the population stability index (PSI) of a column reaches ``psi``.

PSI (ADR-068) = Σ (cᵢ − bᵢ) · ln(cᵢ / bᵢ) over bins, shares floored at 10⁻⁴. Numeric and datetime columns use
the baseline's deciles as bin edges and read both sides' shares from their quantile sketches (a piecewise-linear
CDF, right-continuous at repeated values, so point masses count exactly); categorical, string and boolean
columns (and numbers with few values on both sides) use their value shares plus an "other" bin. The usual
reading, and the documented thresholds: below 0.1 no real shift, 0.1 to 0.25 a moderate shift, above 0.25 a
significant one; the default anomaly threshold is 0.2.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["KINDS", "Anomaly", "DataCheckResult", "DatasetCheck", "Limits", "check_profiles", "column_psi",
           "profile_drift"]

KINDS = ("missing_column", "extra_column", "dtype_change", "out_of_range", "nulls", "new_category", "drift",
         "no_rows", "check_failed")
_FLOOR = 1e-4
_NUMERIC = ("integer", "float", "datetime", "timedelta")
_CATEGORICAL = ("string", "object", "categorical", "boolean")
_SAME_FAMILY = {"object": "string"}


@dataclass(frozen=True, slots=True)
class Limits:
    """Thresholds of the rules; the defaults are documented in docs/cli.md (``data check``)."""

    psi: float = 0.2
    null_increase: float = 0.01
    range_slack: float = 0.1

    def to_dict(self) -> dict[str, float]:
        """Wire shape."""
        return {"psi": self.psi, "null_increase": self.null_increase, "range_slack": self.range_slack}


@dataclass(frozen=True, slots=True)
class Anomaly:
    """One finding: ``kind`` is one of :data:`KINDS`; ``column`` is empty for a finding about the whole data."""

    column: str
    kind: str
    message: str
    expected: Any = None
    observed: Any = None

    def to_dict(self) -> dict[str, Any]:
        """Wire shape."""
        return {"column": self.column, "kind": self.kind, "message": self.message, "expected": self.expected,
                "observed": self.observed}


@dataclass(frozen=True, slots=True)
class DatasetCheck:
    """The check of one data file: its anomalies and, per column, the drift measured (PSI, None if unmeasured)."""

    name: str
    rows: int
    anomalies: tuple[Anomaly, ...]
    drift: Mapping[str, float | None] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Wire shape."""
        return {"name": self.name, "rows": self.rows, "anomalies": [a.to_dict() for a in self.anomalies],
                "drift": {k: (None if v is None else round(v, 6)) for k, v in self.drift.items()}}


@dataclass(frozen=True, slots=True)
class DataCheckResult:
    """A ``data check``: the baseline it used, one :class:`DatasetCheck` per file, and the verdict."""

    baseline: str
    baseline_kind: str
    datasets: tuple[DatasetCheck, ...]
    limits: Limits

    @property
    def anomalies(self) -> list[tuple[str, Anomaly]]:
        """Every anomaly with the name of its data."""
        return [(d.name, a) for d in self.datasets for a in d.anomalies]

    @property
    def exit_code(self) -> int:
        """0 clean, 1 anomalies."""
        return 1 if self.anomalies else 0

    def to_dict(self) -> dict[str, Any]:
        """Wire shape (``data check --format json``)."""
        return {"baseline": self.baseline, "baseline_kind": self.baseline_kind,
                "verdict": "anomalies" if self.anomalies else "clean", "limits": self.limits.to_dict(),
                "anomalies": len(self.anomalies), "datasets": [d.to_dict() for d in self.datasets]}


def _family(column: Mapping[str, Any]) -> str:
    family = str(column.get("family") or "")
    return _SAME_FAMILY.get(family, family)


def _cdf(sketch: Sequence[float | None], x: float) -> float:
    """P(X ≤ x) from a quantile sketch at evenly spaced probabilities, linear between distinct quantiles."""
    points = [(i / (len(sketch) - 1), q) for i, q in enumerate(sketch) if q is not None]
    if not points or x < points[0][1]:
        return 0.0
    if x >= points[-1][1]:
        return 1.0
    low, below = max((q, p) for p, q in points if q <= x)  # right-continuous: every quantile at x counts
    high, above = min((q, p) for p, q in points if q > x)
    return below + (above - below) * (x - low) / (high - low)


def _psi(base: Sequence[float], current: Sequence[float]) -> float:
    total = 0.0
    for b, c in zip(base, current, strict=True):
        b, c = max(b, _FLOOR), max(c, _FLOOR)
        total += (c - b) * math.log(c / b)
    return total


def _shares_psi(base: Sequence[Sequence[Any]], current: Sequence[Sequence[Any]]) -> float:
    b = {_key(v): float(s) for v, s in base}
    c = {_key(v): float(s) for v, s in current}
    keys = sorted(set(b) | set(c))
    b_other, c_other = max(0.0, 1 - sum(b.values())), max(0.0, 1 - sum(c.values()))
    return _psi([b.get(k, 0.0) for k in keys] + [b_other], [c.get(k, 0.0) for k in keys] + [c_other])


def _key(value: Any) -> str:
    return repr(value)


def _complete(column: Mapping[str, Any]) -> bool:
    top = column.get("top")
    return bool(top) and sum(float(s) for _, s in top) >= 0.999


def column_psi(base: Mapping[str, Any], current: Mapping[str, Any]) -> float | None:
    """PSI of one column between two profiles, or None when it cannot be measured (no values, no sketch)."""
    if not base.get("count") or not current.get("count"):
        return None
    family = _family(base)
    if family in _CATEGORICAL or (_complete(base) and _complete(current)):
        if base.get("top") and current.get("top"):
            return _shares_psi(base["top"], current["top"])
        return None
    b_sketch, c_sketch = base.get("quantiles"), current.get("quantiles")
    if not b_sketch or not c_sketch or family not in _NUMERIC:
        return None
    deciles = [q for i, q in enumerate(b_sketch) if i % 2 == 0 and 0 < i < len(b_sketch) - 1 and q is not None]
    edges = sorted(set(deciles))
    b_cdf = [_cdf(b_sketch, e) for e in edges]
    c_cdf = [_cdf(c_sketch, e) for e in edges]
    b_bins = [b - a for a, b in zip([0.0, *b_cdf], [*b_cdf, 1.0], strict=True)]
    c_bins = [b - a for a, b in zip([0.0, *c_cdf], [*c_cdf, 1.0], strict=True)]
    return _psi(b_bins, c_bins)


def profile_drift(base: Mapping[str, Any], current: Mapping[str, Any]) -> dict[str, float | None]:
    """PSI per column present in both profiles with the same dtype family."""
    base_columns = {str(c.get("name")): c for c in base.get("columns") or ()}
    out: dict[str, float | None] = {}
    for column in current.get("columns") or ():
        name = str(column.get("name"))
        before = base_columns.get(name)
        if before is not None and _family(before) == _family(column):
            out[name] = column_psi(before, column)
    return out


def _fmt(value: Any) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def _share(value: float) -> str:
    return f"{value:.2%}"


def _bounds(column: Mapping[str, Any]) -> tuple[Any, Any, Any, Any]:
    """(min, max) to compare and to show; datetimes compare as epoch seconds (the sketch's ends)."""
    if _family(column) in ("datetime", "timedelta"):
        sketch = column.get("quantiles") or [None]
        return sketch[0], sketch[-1], column.get("min"), column.get("max")
    low, high = column.get("min"), column.get("max")
    return low, high, _fmt(low), _fmt(high)


def _range(name: str, base: Mapping[str, Any], current: Mapping[str, Any], limits: Limits) -> list[Anomaly]:
    b_low, b_high, b_low_text, b_high_text = _bounds(base)
    c_low, c_high, c_low_text, c_high_text = _bounds(current)
    if None in (b_low, b_high, c_low, c_high):
        return []
    slack = (b_high - b_low) * limits.range_slack
    problems = []
    if c_low < b_low - slack:
        problems.append(f"min {c_low_text} < {b_low_text}")
    if c_high > b_high + slack:
        problems.append(f"max {c_high_text} > {b_high_text}")
    if not problems:
        return []
    return [Anomaly(name, "out_of_range", f"values out of the baseline range [{b_low_text}, {b_high_text}]: "
                    + ", ".join(problems), [b_low_text, b_high_text], [c_low_text, c_high_text])]


def _nulls(name: str, base: Mapping[str, Any], current: Mapping[str, Any], limits: Limits) -> list[Anomaly]:
    b_share, c_share = float(base.get("null_share") or 0), float(current.get("null_share") or 0)
    if not current.get("nulls"):
        return []
    if not base.get("nulls"):
        message = f"{current['nulls']} nulls ({_share(c_share)}) where the baseline had none"
    elif c_share - b_share > limits.null_increase:
        message = f"null share rose from {_share(b_share)} to {_share(c_share)} (limit +{_share(limits.null_increase)})"
    else:
        return []
    return [Anomaly(name, "nulls", message, b_share, c_share)]


def _categories(name: str, base: Mapping[str, Any], current: Mapping[str, Any]) -> list[Anomaly]:
    if _family(base) not in _CATEGORICAL or not base.get("top_complete") or not current.get("top"):
        return []
    known = {_key(v) for v, _ in base.get("top") or ()}
    new = [(v, s) for v, s in current["top"] if _key(v) not in known]
    if not new:
        return []
    shown = ", ".join(f"{v!r} ({_share(float(s))})" for v, s in new[:5]) + (" …" if len(new) > 5 else "")
    return [Anomaly(name, "new_category", f"values not in the baseline: {shown}",
                    [v for v, _ in base.get("top") or ()], [v for v, _ in new])]


def _column_anomalies(name: str, base: Mapping[str, Any], current: Mapping[str, Any],
                      limits: Limits) -> tuple[list[Anomaly], float | None]:
    if _family(base) != _family(current):
        return [Anomaly(name, "dtype_change", f"dtype changed: {base.get('dtype')} → {current.get('dtype')}",
                        base.get("dtype"), current.get("dtype"))], None
    found = _nulls(name, base, current, limits)
    if _family(base) in _NUMERIC:
        found += _range(name, base, current, limits)
    found += _categories(name, base, current)
    psi = column_psi(base, current)
    if psi is not None and psi >= limits.psi:
        found.append(Anomaly(name, "drift", f"distribution shifted: PSI {psi:.3f} ≥ {limits.psi:g}",
                             limits.psi, round(psi, 6)))
    return found, psi


def check_profiles(name: str, base: Mapping[str, Any], current: Mapping[str, Any],
                   limits: Limits | None = None) -> DatasetCheck:
    """Compare a data file's profile (``current``) with the baseline's, column by column.

    Args:
        name: the data's name, for the report.
        base: the baseline profile (``capture.profile.profile_frame``).
        current: the new data's profile.
        limits: thresholds (defaults: :class:`Limits`).

    Returns:
        The anomalies, in column order of the baseline then new columns, and the PSI measured per column.
    """
    limits = limits or Limits()
    base_columns = {str(c.get("name")): c for c in base.get("columns") or ()}
    current_columns = {str(c.get("name")): c for c in current.get("columns") or ()}
    anomalies: list[Anomaly] = []
    drift: dict[str, float | None] = {}
    rows = int(current.get("rows") or 0)
    if rows == 0 and base.get("rows"):
        anomalies.append(Anomaly("", "no_rows", f"no rows (the baseline had {base['rows']})", base["rows"], 0))
    for column, before in base_columns.items():
        after = current_columns.get(column)
        if after is None:
            anomalies.append(Anomaly(column, "missing_column", "column missing", before.get("dtype"), None))
            continue
        found, drift[column] = _column_anomalies(column, before, after, limits)
        anomalies += found
    for column, after in current_columns.items():
        if column not in base_columns:
            anomalies.append(Anomaly(column, "extra_column", f"column not in the baseline ({after.get('dtype')})",
                                     None, after.get("dtype")))
    return DatasetCheck(name, rows, tuple(anomalies), drift)
