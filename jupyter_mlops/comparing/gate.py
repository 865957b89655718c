"""The CI gate's judgement as pure data: rules, per-metric verdicts and the lineage difference of two runs.

A gate compares a *candidate* run with a *baseline* run (a model's champion, a given version, or a run) metric by
metric. Each metric has a direction (``auc:max``: higher is better, ``latency_ms:min``: lower is better) and at
most one tolerance:

- ``min_delta`` (``--min-delta auc=0.002``): the candidate must beat the baseline by at least that much;
- ``max_regression`` (``--max-regression latency_ms=5%``): the candidate may be worse by at most that much;
- neither: the candidate must be no worse than the baseline.

A tolerance ending in ``%`` is relative to the baseline's absolute value, otherwise absolute, in the metric's own
unit. A metric missing (or not finite) on either side is an *error*, never a pass: a gate that cannot judge must
not let a change through. Overall: error if any metric is an error, else regression if any regressed, else pass.

Assumptions: the lineage difference is read from a :class:`~jupyter_mlops.comparing.Comparison` of the two runs
(baseline first), so a gate and ``runs compare`` never disagree about what changed. Nothing here touches a store
(:mod:`jupyter_mlops.app.gate` loads the runs) or renders (:mod:`jupyter_mlops.render.gate`).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from jupyter_mlops.comparing.code import snapshot_cells
from jupyter_mlops.comparing.model import Comparison, json_safe
from jupyter_mlops.entities import Run, slice_dims
from jupyter_mlops.errors import InvalidInput

__all__ = [
    "DIRECTIONS",
    "EXIT_CODES",
    "GateResult",
    "Lineage",
    "MetricRule",
    "MetricVerdict",
    "Tolerance",
    "build_rules",
    "judge",
    "judge_metric",
    "judge_slices",
    "lineage_of",
    "parse_metric",
    "parse_per_slice",
    "parse_tolerance",
]

#: Metric directions: what "better" means.
DIRECTIONS = ("max", "min")
#: The gate's exit codes, one per overall verdict.
EXIT_CODES = {"pass": 0, "regression": 1, "error": 2}
#: Longest text quoted whole in an error message (a hostile argument must not flood the one error line).
_MAX_SHOWN = 60
_KEY = re.compile(r"^[^\s=]+$")
_NUMBER_START = "0123456789."
# 0.912 - 0.910 is 0.0020000000000000018 but 0.3 - 0.1 is 0.19999999999999998: a candidate exactly on the
# tolerance must pass whichever way the float subtraction rounds, so comparisons allow this relative slack.
_SLACK = 1e-9


def _shown(text: str) -> str:
    return repr(text if len(text) <= _MAX_SHOWN else text[:_MAX_SHOWN] + "…")


@dataclass(frozen=True, slots=True)
class Tolerance:
    """How much a metric may (or must) move: ``value`` in the metric's unit, or percent of the baseline."""

    value: float
    relative: bool = False

    def amount(self, baseline: float) -> float:
        """The tolerance in the metric's unit for this baseline value."""
        return abs(baseline) * self.value / 100 if self.relative else self.value

    def __str__(self) -> str:
        return f"{self.value:g}%" if self.relative else f"{self.value:g}"


@dataclass(frozen=True, slots=True)
class MetricRule:
    """One ``--metric KEY:DIRECTION`` with its tolerance (at most one of the two)."""

    key: str
    direction: str
    min_delta: Tolerance | None = None
    max_regression: Tolerance | None = None
    #: ``--per-slice``: each a set of slice dimension names; every slice of the key over exactly those names is
    #: judged by the same rule as the whole (ADR-071).
    per_slice: tuple[frozenset[str], ...] = ()

    def describe(self) -> str:
        """The rule in words, as reports print it: ``min-delta 0.002``, ``max-regression 5%``, ``no worse``."""
        if self.min_delta is not None:
            return f"min-delta {self.min_delta}"
        if self.max_regression is not None:
            return f"max-regression {self.max_regression}"
        return "no worse"


def parse_metric(text: str) -> tuple[str, str]:
    """``"auc:max"`` → ``("auc", "max")``.

    Raises:
        InvalidInput: not ``KEY:max`` or ``KEY:min``.
    """
    key, sep, direction = text.strip().rpartition(":")
    if not sep or not key or not _KEY.match(key):
        raise InvalidInput(f"--metric must be KEY:max or KEY:min (e.g. auc:max); got {_shown(text)}")
    if direction not in DIRECTIONS:
        raise InvalidInput(f"--metric {_shown(text)}: direction must be max or min, got {_shown(direction)}")
    return key, direction


def parse_tolerance(text: str, option: str) -> tuple[str, Tolerance]:
    """``"auc=0.002"`` → ``("auc", Tolerance(0.002))``; ``"latency_ms=5%"`` → relative 5 percent.

    A bare ``"2%"`` (no key) gives the key ``""``: the tolerance of every metric not given its own.

    Args:
        text: ``KEY=NUMBER``, ``KEY=NUMBER%``, ``NUMBER`` or ``NUMBER%``.
        option: the option's flag, for the error message.

    Raises:
        InvalidInput: not ``[KEY=]NUMBER[%]``, or the number is negative or not finite.
    """
    key, sep, amount = text.strip().partition("=")
    if not sep and key[:1] in _NUMBER_START:
        key, sep, amount = "", "=", key
    key, amount = key.strip(), amount.strip()
    relative = amount.endswith("%")
    number = amount[:-1].strip() if relative else amount
    try:
        value = float(number)
    except ValueError:
        value = math.nan
    if not sep or (key and not _KEY.match(key)) or (not key and text.strip()[:1] not in _NUMBER_START) \
            or not math.isfinite(value):
        raise InvalidInput(f"{option} must be KEY=NUMBER or KEY=NUMBER% (e.g. auc=0.002); got {_shown(text)}")
    if value < 0:
        raise InvalidInput(f"{option} {_shown(text)}: the tolerance must not be negative")
    return key, Tolerance(value, relative)


def parse_per_slice(texts: Sequence[str]) -> tuple[frozenset[str], ...]:
    """``--per-slice region`` / ``--per-slice region,device`` as sets of dimension names, in order.

    Raises:
        InvalidInput: an empty name, or a set given twice.
    """
    out: list[frozenset[str]] = []
    for text in texts:
        names = [name.strip() for name in text.split(",")]
        if not all(names):
            raise InvalidInput(f"--per-slice must name slice dimensions such as region or region,device; "
                               f"got {_shown(text)}")
        dims = frozenset(names)
        if dims in out:
            raise InvalidInput(f"--per-slice {_shown(text)} is given more than once")
        out.append(dims)
    return tuple(out)


def build_rules(
    metrics: Sequence[str], min_deltas: Sequence[str] = (), max_regressions: Sequence[str] = (),
    per_slice: Sequence[str] = (),
) -> list[MetricRule]:
    """The gate's rules from its options, in ``--metric`` order.

    A tolerance without a key (``--max-regression 2%``) applies to every metric not given its own.
    ``per_slice`` (``--per-slice region``) judges every metric on each of those slices too (ADR-071).

    Raises:
        InvalidInput: no metric; bad syntax; a metric named twice; a tolerance for a metric not given with
            ``--metric``, given twice, or both a min-delta and a max-regression for one metric.
    """
    slicing = parse_per_slice(per_slice)
    if not metrics:
        raise InvalidInput("name at least one metric to gate on: --metric KEY:max or --metric KEY:min")
    directions: dict[str, str] = {}
    for text in metrics:
        key, direction = parse_metric(text)
        if key in directions:
            raise InvalidInput(f"--metric {_shown(key)} is given more than once")
        directions[key] = direction
    tolerances: dict[str, tuple[str, Tolerance]] = {}
    for option, texts in (("--min-delta", min_deltas), ("--max-regression", max_regressions)):
        for text in texts:
            key, tolerance = parse_tolerance(text, option)
            if key and key not in directions:
                raise InvalidInput(f"{option} {_shown(key)}: no such --metric (add --metric {key}:max or :min)")
            if key in tolerances:
                # "beat by at least X" and "worse by at most Y" at once would be a contradiction; twice, a typo.
                what = _shown(key) if key else "without a key (every metric)"
                raise InvalidInput(f"{option} {what}: {key or 'every metric'} already has {tolerances[key][0]}; "
                                   "give one")
            tolerances[key] = (option, tolerance)
    rules = []
    for key, direction in directions.items():
        option, tolerance = tolerances.get(key) or tolerances.get("", ("", Tolerance(0.0)))
        rules.append(MetricRule(key, direction, min_delta=tolerance if option == "--min-delta" else None,
                                max_regression=tolerance if option == "--max-regression" else None,
                                per_slice=slicing))
    return rules


def _amount(tolerance: Tolerance, amount: float) -> str:
    return f"{tolerance} (= {amount:g})" if tolerance.relative else str(tolerance)


@dataclass(frozen=True, slots=True)
class MetricVerdict:
    """One metric judged: both values, the delta (candidate − baseline) and ``pass``/``regression``/``error``.

    Attributes:
        improvement: how much better the candidate is, in the metric's direction (negative: worse).
        required: the least improvement that passes (``min_delta``), or minus the allowed regression.
        reason: one line saying why (the error, or the numbers a verdict rests on).
    """

    rule: MetricRule
    baseline: float | None
    candidate: float | None
    verdict: str
    reason: str
    delta: float | None = None
    relative_delta: float | None = None
    improvement: float | None = None
    required: float | None = None
    slice: str | None = None

    @property
    def key(self) -> str:
        """The metric key."""
        return self.rule.key

    @property
    def label(self) -> str:
        """The key, with the slice for a per-slice verdict: ``auc [region=EU]``."""
        return self.key if self.slice is None else f"{self.key} [{self.slice}]"

    def to_dict(self) -> dict[str, Any]:
        """Wire shape (a per-slice verdict adds ``slice``, the slice's label)."""
        out: dict[str, Any] = json_safe({
            "key": self.key, "direction": self.rule.direction, "rule": self.rule.describe(),
            "baseline": self.baseline, "candidate": self.candidate, "delta": self.delta,
            "relative_delta": self.relative_delta, "verdict": self.verdict, "reason": self.reason,
        })
        if self.slice is not None:
            out["slice"] = self.slice
        return out


def judge_metric(rule: MetricRule, baseline: float | None, candidate: float | None) -> MetricVerdict:
    """Judge one metric (values as the runs logged them last; None when a run never logged it)."""
    if baseline is None and candidate is None:
        return MetricVerdict(rule, baseline, candidate, "error", f"{rule.key} is missing on both runs")
    for side, value in (("baseline", baseline), ("candidate", candidate)):
        if value is None:
            return MetricVerdict(rule, baseline, candidate, "error", f"{rule.key} is missing on the {side} run")
        if not math.isfinite(value):
            return MetricVerdict(rule, baseline, candidate, "error", f"{rule.key} is {value} on the {side} run")
    assert baseline is not None and candidate is not None  # narrowed above; mypy cannot see it through the loop
    delta = candidate - baseline
    relative = delta / abs(baseline) if baseline else None
    improvement = delta if rule.direction == "max" else -delta
    if rule.min_delta is not None:
        required = rule.min_delta.amount(baseline)
        wanted = f"must be better by at least {_amount(rule.min_delta, required)}"
    elif rule.max_regression is not None:
        required = -rule.max_regression.amount(baseline)
        wanted = f"may be worse by at most {_amount(rule.max_regression, -required)}"
    else:
        required, wanted = 0.0, "must be no worse"
    slack = _SLACK * max(1.0, abs(baseline), abs(candidate))
    verdict = "pass" if improvement >= required - slack else "regression"
    better = "better" if improvement > 0 else "worse" if improvement < 0 else "equal"
    reason = f"{better} by {abs(delta):g}" if better != "equal" else "equal to the baseline"
    reason += f"; the candidate {wanted}"
    return MetricVerdict(rule, baseline, candidate, verdict, reason, delta, relative, improvement, required)


@dataclass(frozen=True, slots=True)
class DataHashChange:
    """A data input whose content differs: ``status`` changed / added / removed, with both full hashes."""

    name: str
    status: str
    baseline_hash: str | None
    candidate_hash: str | None

    def to_dict(self) -> dict[str, Any]:
        """Wire shape."""
        return {"name": self.name, "status": self.status, "baseline_hash": self.baseline_hash,
                "candidate_hash": self.candidate_hash}


@dataclass(frozen=True, slots=True)
class Lineage:
    """What differs between the baseline's and the candidate's making: data, params, code, environment.

    Attributes:
        data: data inputs whose hash changed, or that only one run read.
        params: ``(key, baseline value, candidate value)``; a value is None where that run lacks the param.
        code_changed: whether the executed-code snapshots differ (None: a run has no snapshot).
        code_cells: how many executed cells differ (an edited cell counts on both sides, as in a diff).
        packages: ``(name, baseline version, candidate version)`` of packages that changed.
    """

    data: tuple[DataHashChange, ...] = ()
    params: tuple[tuple[str, Any, Any], ...] = ()
    code_changed: bool | None = None
    code_cells: int = 0
    packages: tuple[tuple[str, str | None, str | None], ...] = ()

    @property
    def unchanged(self) -> bool:
        """Whether nothing recorded differs (unknown code counts as unchanged: there is nothing to show)."""
        return not (self.data or self.params or self.code_changed or self.packages)

    def to_dict(self) -> dict[str, Any]:
        """Wire shape."""
        out: dict[str, Any] = json_safe({
            "data": [d.to_dict() for d in self.data],
            "params": [{"key": k, "baseline": a, "candidate": b} for k, a, b in self.params],
            "code_changed": self.code_changed, "code_cells": self.code_cells,
            "packages": [{"name": n, "baseline": a, "candidate": b} for n, a, b in self.packages],
        })
        return out


def lineage_of(comparison: Comparison, codes: tuple[Mapping[str, Any] | None, Mapping[str, Any] | None] = (None, None)
               ) -> Lineage:
    """The lineage difference of a two-run comparison (baseline first), as the gate reports it.

    Args:
        comparison: the two runs' comparison, baseline first.
        codes: their executed-code snapshots, to count the cells that differ when the comparison was built
            without its code section (the gate's, which skips nbdime's import: ADR-056); otherwise the
            comparison's code section is counted.
    """
    base, cand = comparison.runs[0], comparison.runs[-1]
    data = []
    for row in comparison.data:
        before, after = row.values[0], row.values[-1]
        if not row.differs or (before and after and before.get("hash") == after.get("hash")):
            continue  # same content: a size or schema note alone is not a lineage change
        status = "removed" if after is None else "added" if before is None else "changed"
        data.append(DataHashChange(row.name, status, (before or {}).get("hash"), (after or {}).get("hash")))
    params = tuple((p.key, p.values[0], p.values[-1]) for p in comparison.params if p.differs)
    code_changed = None if not (base.code_hash and cand.code_hash) else base.code_hash != cand.code_hash
    if comparison.code:
        cells = sum(len(c.cells) for c in comparison.code)
    else:
        cells = _cells_differing(*codes) if code_changed else 0
    packages = tuple((p.name, p.values[0], p.values[-1]) for p in comparison.env.packages if p.change != "unchanged")
    return Lineage(tuple(data), params, code_changed, cells, packages)


def _cells_differing(base: Mapping[str, Any] | None, cand: Mapping[str, Any] | None) -> int:
    # Sources only one side executed (as multisets): an edited cell counts twice, once each side, as in a diff's
    # -/+ lines. Enough to size the change; `jupyter-mlops diff run:A run:B` shows it cell by cell.
    if base is None or cand is None:
        return 0
    before = Counter(c.get("source", "") for c in snapshot_cells(base))
    after = Counter(c.get("source", "") for c in snapshot_cells(cand))
    return sum(((before - after) + (after - before)).values())


@dataclass(frozen=True, slots=True)
class GateResult:
    """A gate's answer: the two runs, each metric's verdict, the lineage difference and the overall verdict.

    Attributes:
        baseline_label: the model version the baseline run produced, as the user named it
            (``churn@champion (1.2.0)``); empty when the baseline was given as a run.
    """

    baseline: Run
    candidate: Run
    baseline_label: str
    metrics: tuple[MetricVerdict, ...]
    lineage: Lineage = field(default_factory=Lineage)

    @property
    def verdict(self) -> str:
        """``error`` if any metric is an error, else ``regression`` if any regressed, else ``pass``."""
        verdicts = {m.verdict for m in self.metrics}
        return "error" if "error" in verdicts else "regression" if "regression" in verdicts else "pass"

    @property
    def exit_code(self) -> int:
        """0 pass, 1 regression, 2 error."""
        return EXIT_CODES[self.verdict]

    def count(self, verdict: str) -> int:
        """How many metrics got this verdict."""
        return sum(1 for m in self.metrics if m.verdict == verdict)

    def to_dict(self) -> dict[str, Any]:
        """Wire shape."""
        return {
            "verdict": self.verdict,
            "baseline": {"run": self.baseline.id, "name": self.baseline.name, "model": self.baseline_label or None},
            "candidate": {"run": self.candidate.id, "name": self.candidate.name},
            "metrics": [m.to_dict() for m in self.metrics],
            "lineage": self.lineage.to_dict(),
        }


def judge(
    baseline: Run, candidate: Run, rules: Sequence[MetricRule], *, baseline_label: str = "",
    lineage: Lineage | None = None,
) -> GateResult:
    """Judge every rule on the two runs' latest metric values (what ``run.metrics`` holds), then on its slices."""
    verdicts: list[MetricVerdict] = []
    for rule in rules:
        verdicts.append(judge_metric(rule, baseline.metrics.get(rule.key), candidate.metrics.get(rule.key)))
        for dims in rule.per_slice:
            verdicts.extend(judge_slices(rule, dims, baseline.slices.get(rule.key, {}),
                                         candidate.slices.get(rule.key, {})))
    return GateResult(baseline, candidate, baseline_label, tuple(verdicts),
                      lineage if lineage is not None else Lineage())


def judge_slices(rule: MetricRule, dims: frozenset[str], baseline: Mapping[str, float],
                 candidate: Mapping[str, float]) -> list[MetricVerdict]:
    """Judge each of the baseline's slices of ``rule.key`` over exactly the dimensions ``dims`` (ADR-071).

    Every baseline slice must be there in the candidate: one it lacks is an error naming it (a model not measured
    on a slice cannot be said to be no worse there). Slices only the candidate has are new and not judged. With
    no such slice on the baseline the rule cannot be applied at all, which is an error too.
    """
    def over(values: Mapping[str, float]) -> dict[str, float]:
        return {label: v for label, v in values.items() if frozenset(slice_dims(label)) == dims}

    before, after = over(baseline), over(candidate)
    by = ",".join(sorted(dims))
    if not before:
        where = "either run" if not after else "the baseline run"
        return [MetricVerdict(rule, None, None, "error", f"{rule.key} has no slices by {by} on {where}", slice=by)]
    out = []
    for label in sorted(before):
        verdict = judge_metric(rule, before[label], after.get(label))
        reason = verdict.reason.replace(f"{rule.key} is", f"{rule.key} on slice {label} is", 1)
        out.append(replace(verdict, slice=label, reason=reason))
    return out
