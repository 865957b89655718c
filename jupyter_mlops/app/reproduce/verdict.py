"""The verdict of a reproduction: every metric's original and reproduced value, and how far apart they are.

Tolerances come from ``--tolerance`` values: ``1e-6`` (absolute, every metric), ``auc=0.002`` (absolute, one
metric), ``auc=1%`` or ``1%`` (relative to the original value). A metric is ``exact`` when both values are equal
(two NaNs count as equal: the run logged the same thing), ``within`` when the difference is inside its tolerance,
``diverged`` otherwise, ``missing`` when the reproduction did not log it and ``new`` when only the reproduction did
(reported, never counted against the verdict).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from jupyter_mlops.errors import InvalidInput

__all__ = ["DEFAULT_TOLERANCE", "MetricVerdict", "Tolerance", "Tolerances", "compare_metrics", "parse_tolerances"]

#: The absolute tolerance of every metric unless ``--tolerance`` says otherwise.
DEFAULT_TOLERANCE = 1e-6

EXACT, WITHIN, DIVERGED, MISSING, NEW = "exact", "within", "diverged", "missing", "new"
#: The statuses that make a reproduction fail.
FAILING = frozenset({DIVERGED, MISSING})


@dataclass(frozen=True)
class Tolerance:
    """How far a reproduced value may be from the original: ``value`` absolute, or a fraction when ``relative``."""

    value: float
    relative: bool = False

    def allows(self, original: float, reproduced: float) -> bool:
        """Whether ``reproduced`` is within this tolerance of ``original``."""
        limit = self.value * abs(original) if self.relative else self.value
        return abs(reproduced - original) <= limit

    def __str__(self) -> str:
        return f"{self.value * 100:g}%" if self.relative else f"{self.value:g}"


@dataclass(frozen=True)
class Tolerances:
    """The default tolerance and the per-metric ones."""

    default: Tolerance = Tolerance(DEFAULT_TOLERANCE)
    per_metric: Mapping[str, Tolerance] = field(default_factory=dict)

    def of(self, key: str) -> Tolerance:
        """The tolerance of metric ``key``."""
        return self.per_metric.get(key, self.default)


def _parse_amount(text: str, option: str) -> Tolerance:
    raw = text.strip()
    relative = raw.endswith("%")
    number = raw[:-1].strip() if relative else raw
    try:
        value = float(number)
    except ValueError:
        raise InvalidInput(
            f"--tolerance {option!r}: {number!r} is not a number (e.g. 1e-6, auc=0.002, auc=1%)"
        ) from None
    if not math.isfinite(value) or value < 0:
        raise InvalidInput(f"--tolerance {option!r}: a tolerance is a finite number >= 0")
    return Tolerance(value / 100 if relative else value, relative)


def parse_tolerances(values: Iterable[str]) -> Tolerances:
    """Parse ``--tolerance`` values: ``AMOUNT`` sets the default, ``METRIC=AMOUNT`` one metric's.

    Example:
        >>> t = parse_tolerances(["1e-3", "auc=1%"])
        >>> (str(t.of("loss")), str(t.of("auc")))
        ('0.001', '1%')

    Raises:
        InvalidInput: an amount that is not a number, negative, or a ``=`` with no metric name.
    """
    default = Tolerance(DEFAULT_TOLERANCE)
    per_metric: dict[str, Tolerance] = {}
    for option in values:
        key, sep, amount = option.rpartition("=")
        if not sep:
            default = _parse_amount(option, option)
            continue
        if not key.strip():
            raise InvalidInput(f"--tolerance {option!r}: name the metric before '=' (e.g. auc=0.002)")
        per_metric[key.strip()] = _parse_amount(amount, option)
    return Tolerances(default, per_metric)


@dataclass(frozen=True)
class MetricVerdict:
    """One metric of the verdict."""

    key: str
    original: float | None
    reproduced: float | None
    status: str
    tolerance: str

    @property
    def difference(self) -> float | None:
        """``reproduced - original`` (None when either is missing)."""
        if self.original is None or self.reproduced is None:
            return None
        return self.reproduced - self.original

    def to_dict(self) -> dict[str, Any]:
        """JSON shape."""
        return {"key": self.key, "original": self.original, "reproduced": self.reproduced,
                "difference": self.difference, "status": self.status, "tolerance": self.tolerance}


def _status(original: float, reproduced: float, tolerance: Tolerance) -> str:
    if original == reproduced or (math.isnan(original) and math.isnan(reproduced)):
        return EXACT
    if math.isnan(original) or math.isnan(reproduced):
        return DIVERGED
    return WITHIN if tolerance.allows(original, reproduced) else DIVERGED


def compare_metrics(
    original: Mapping[str, float], reproduced: Mapping[str, float], tolerances: Tolerances
) -> list[MetricVerdict]:
    """Every metric of either run with its status, sorted by name.

    Example:
        >>> [v.status for v in compare_metrics({"a": 1.0, "b": 2.0}, {"a": 1.0, "b": 2.1}, parse_tolerances([]))]
        ['exact', 'diverged']
    """
    rows = []
    for key in sorted(set(original) | set(reproduced)):
        tolerance = tolerances.of(key)
        before, after = original.get(key), reproduced.get(key)
        if before is None:
            status = NEW
        elif after is None:
            status = MISSING
        else:
            status = _status(float(before), float(after), tolerance)
        rows.append(MetricVerdict(key, before, after, status, str(tolerance)))
    return rows
