"""Whether a model version can be served: the sandbox's answer judged into checks and one verdict (pure, no I/O).

The sandbox child (:mod:`jupyter_mlops.app.model_sandbox`) reports facts (hash, load, output shape and type,
per-call latencies); :func:`judge` turns them, with the environment comparison, into named checks:

* ``content_hash`` — the stored bytes hash to the recorded hash (checked before anything is unpickled);
* ``environment`` — each key package (the flavor's and the pickle's top-level packages) is installed at the
  version recorded when the model's run ran; a package the run did not record is not judged;
* ``load`` — the model unpickles in a fresh interpreter (a class the pickle needs and this environment lacks is
  named);
* ``predict`` — the entry point exists and answers one batch of the sample;
* ``output`` — one prediction per sample row, and the same output type for one row as for the batch;
* ``latency`` — the 95th percentile of per-row calls (a serving request is one row) is within the bound.

Verdict: ``servable`` (exit 0), ``not servable`` (exit 1: a check failed), ``error`` (exit 2: the check could not
run, e.g. an unreadable sample). p95 is the nearest-rank percentile, so with 100 calls it is the 95th fastest.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from jupyter_mlops.errors import InvalidInput

__all__ = ["Check", "Servability", "env_check", "judge", "p95_rank", "parse_latency", "percentile"]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(ms|s|us|µs)?\s*$")
_UNIT_MS = {"ms": 1.0, "s": 1000.0, "us": 0.001, "µs": 0.001, None: 1000.0}


def parse_latency(value: float | str | None) -> float | None:
    """A latency bound, returned in milliseconds: ``50ms``, ``0.2s``, ``250us``, or a bare number of seconds (``0.05``).

    A bare number is seconds, as every other duration in Python and in ``[tool.jupyter-mlops.ci]`` is.

    Raises:
        InvalidInput: anything else, or a bound that is not positive.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise InvalidInput(f"latency bound must be a duration such as 50ms or 0.2s; got {value!r}")
    if isinstance(value, (int, float)):
        ms = float(value) * 1000.0
    else:
        found = _DURATION.match(str(value))
        if not found:
            raise InvalidInput(f"latency bound must be a duration such as 50ms or 0.2s; got {str(value)[:40]!r}")
        ms = float(found.group(1)) * _UNIT_MS[found.group(2)]
    if not math.isfinite(ms) or ms <= 0:
        raise InvalidInput(f"latency bound must be positive; got {value!r}")
    return ms


def p95_rank(calls: int) -> int:
    """The 1-based nearest rank of the 95th percentile among ``calls`` values."""
    return max(1, math.ceil(0.95 * calls))


def percentile(values: Sequence[float], share: float) -> float | None:
    """Nearest-rank percentile (``share`` in (0, 1]); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(share * len(ordered))) - 1]


@dataclass(frozen=True, slots=True)
class Check:
    """One named check: ``status`` is ``pass``, ``fail`` or ``skip`` (not judged, ``detail`` says why)."""

    name: str
    status: str
    detail: str = ""

    def to_dict(self) -> dict[str, str]:
        """Wire shape."""
        return {"name": self.name, "status": self.status, "detail": self.detail}


@dataclass(frozen=True, slots=True)
class Servability:
    """The servability report of one model version.

    ``error`` is set when the check could not run (exit 2); otherwise the checks decide (exit 1 on any fail).
    Latencies are in milliseconds, over ``latency_calls`` per-row calls of the entry point.
    """

    ref: str
    entry_point: str
    sample: str
    rows: int = 0
    checks: tuple[Check, ...] = ()
    error: str = ""
    load_ms: float | None = None
    batch_ms: float | None = None
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None
    latency_calls: int = 0
    latency_bound_ms: float | None = None
    key_packages: dict[str, str] = field(default_factory=dict)
    sandbox_ms: float | None = None

    @property
    def verdict(self) -> str:
        """``servable``, ``not servable`` or ``error``."""
        if self.error:
            return "error"
        return "not servable" if any(c.status == "fail" for c in self.checks) else "servable"

    @property
    def exit_code(self) -> int:
        """0 servable, 1 not servable, 2 could not check."""
        return {"servable": 0, "not servable": 1, "error": 2}[self.verdict]

    @property
    def failures(self) -> list[Check]:
        """The failed checks, in check order."""
        return [c for c in self.checks if c.status == "fail"]

    def to_dict(self) -> dict[str, Any]:
        """Wire shape (stable keys)."""
        return {
            "ref": self.ref, "verdict": self.verdict, "exit_code": self.exit_code, "error": self.error,
            "entry_point": self.entry_point, "sample": self.sample, "rows": self.rows,
            "checks": [c.to_dict() for c in self.checks], "load_ms": self.load_ms, "batch_ms": self.batch_ms,
            "latency": {"p50_ms": self.latency_p50_ms, "p95_ms": self.latency_p95_ms, "calls": self.latency_calls,
                        "bound_ms": self.latency_bound_ms, "per": "row"},
            "key_packages": dict(self.key_packages), "sandbox_ms": self.sandbox_ms,
        }


def env_check(recorded: Mapping[str, str] | None, current: Mapping[str, str], key: Sequence[str]) -> Check:
    """Compare the key packages' recorded versions with the current ones (canonical distribution names)."""
    if recorded is None:
        return Check("environment", "skip", "the model's run recorded no environment")
    judged = [name for name in key if name in recorded]
    if not judged:
        return Check("environment", "skip", f"none of the key packages ({', '.join(key) or '-'}) was recorded")
    wrong = [f"{name} {recorded[name]} when registered, "
             + (f"{current[name]} here" if name in current else "not installed here")
             for name in judged if current.get(name) != recorded[name]]
    if wrong:
        return Check("environment", "fail", "; ".join(wrong))
    return Check("environment", "pass", ", ".join(f"{name} {recorded[name]}" for name in judged))


def _stage_checks(answer: Mapping[str, Any]) -> list[Check]:
    """The load, predict and output checks from the child's answer (a failed stage skips those after it)."""
    stage, reason = str(answer.get("stage", "")), str(answer.get("error", ""))
    order = ["load", "predict", "output"]
    if stage in order:
        failed = order.index(stage)
        return ([Check(n, "pass") for n in order[:failed]] + [Check(stage, "fail", reason)]
                + [Check(n, "skip", f"{stage} failed") for n in order[failed + 1:]])
    output = answer.get("output") or {}
    return [Check("load", "pass", f"{answer.get('load_s', 0) * 1000:.1f} ms"),
            Check("predict", "pass", f"{answer.get('entry_point', 'predict')} on {answer.get('rows', 0)} rows"),
            Check("output", "pass", f"{output.get('length')} predictions of {output.get('type')}"
                  + (f" ({output['dtype']})" if output.get("dtype") else ""))]


def _latency_check(latencies_ms: Sequence[float], bound_ms: float | None, stopped_early: bool) -> Check:
    p95 = percentile(latencies_ms, 0.95)
    if p95 is None:
        return Check("latency", "skip", "no per-row calls were made")
    if bound_ms is None:
        return Check("latency", "skip", f"p95 {p95:.2f} ms per row (no bound given)")
    if stopped_early:
        slow = sum(1 for v in latencies_ms if v > bound_ms)
        return Check("latency", "fail", f"{slow} per-row calls over {bound_ms:g} ms already put p95 over the bound "
                                        f"(stopped after {len(latencies_ms)} calls)")
    if p95 > bound_ms:
        return Check("latency", "fail", f"p95 {p95:.2f} ms per row > bound {bound_ms:g} ms")
    return Check("latency", "pass", f"p95 {p95:.2f} ms per row <= bound {bound_ms:g} ms")


def judge(base: Servability, answer: Mapping[str, Any], environment: Check, bound_ms: float | None) -> Servability:
    """The report from the child's ``answer`` (see :mod:`jupyter_mlops.app.model_sandbox`) and the env check."""
    from dataclasses import replace

    stage = str(answer.get("stage", ""))
    if stage in ("sample", "input", "error"):  # the sample, not the model, is at fault: the check could not run
        return replace(base, error=str(answer.get("error", "")), checks=(environment,))
    if stage == "hash":
        return replace(base, checks=(Check("content_hash", "fail", str(answer.get("error", ""))), environment))
    checks = [Check("content_hash", "pass", str(answer.get("hash", ""))), environment, *_stage_checks(answer)]
    latencies = [float(v) * 1000 for v in answer.get("latencies") or ()]
    if stage == "done":
        checks.append(_latency_check(latencies, bound_ms, bool(answer.get("stopped_early"))))
    else:
        checks.append(Check("latency", "skip", f"{stage} failed"))
    load_s, batch_s = answer.get("load_s"), answer.get("batch_s")
    return replace(
        base, checks=tuple(checks), rows=int(answer.get("rows") or 0),
        load_ms=None if load_s is None else float(load_s) * 1000,
        batch_ms=None if batch_s is None else float(batch_s) * 1000,
        latency_p50_ms=percentile(latencies, 0.5), latency_p95_ms=percentile(latencies, 0.95),
        latency_calls=len(latencies), latency_bound_ms=bound_ms,
    )
