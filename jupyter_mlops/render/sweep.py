"""A sweep's summary as text lines, from :meth:`jupyter_mlops.app.sweep.Sweep.to_dict` (plain data in, lines out)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_MESSAGE = 60


def _value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _params(point: Mapping[str, Any], names: list[str]) -> str:
    return " ".join(f"{name}={_value(point['params'].get(name))}" for name in names)


def _outcome(point: Mapping[str, Any]) -> str:
    if point["passed"]:
        return "passed"
    message = str(point.get("message") or "")
    if len(message) > _MESSAGE:
        message = message[:_MESSAGE - 3] + "..."
    return f"FAILED [{point.get('reason')}] {message}".rstrip()


def sweep_lines(data: Mapping[str, Any]) -> list[str]:
    """Every point's outcome, then the best runs by the sweep's metric, then the totals."""
    names = list(data["params"])
    metric = data.get("metric")
    key = metric["key"] if metric else None
    out = [f"sweep {data['sweep']}: {data['notebook']} on {data['executor']} (runs: {data['filter']})"]
    for point in data["points"]:
        run = f"run {point['run_id'][:8]}" if point.get("run_id") else "no run tracked"
        score = ""
        if key and key in point.get("metrics", {}):
            score = f" {key}={_value(point['metrics'][key])}"
        out.append(f"  #{point['index']} {_params(point, names)}: {_outcome(point)}; {run}{score}")
    if metric:
        best = [p for i in data["best"] for p in data["points"] if p["index"] == i]
        if best:
            out.append(f"best by {key} ({metric['goal']}):")
            for rank, point in enumerate(best, 1):
                out.append(f"  {rank}. #{point['index']} {_params(point, names)}: {key}="
                           f"{_value(point['metrics'][key])} (run {point['run_id']})")
        else:
            out.append(f"best by {key} ({metric['goal']}): no passed point's run has metric {key}")
    summary = data["summary"]
    out.append(f"{summary['total']} points: {summary['passed']} passed, {summary['failed']} failed "
               f"in {data['wall']:.1f}s")
    return out
