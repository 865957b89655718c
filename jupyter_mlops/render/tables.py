"""Run lists as plain rows and CSV (shared by the terminal table and ``--format csv``)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from typing import Any

from jupyter_mlops.entities import Run
from jupyter_mlops.render.layout import format_duration, format_time, format_value


def metric_columns(runs: Iterable[Run], limit: int = 6) -> list[str]:
    """The metric keys to show as columns: the most common across the runs, at most ``limit``."""
    counts: dict[str, int] = {}
    for run in runs:
        for key in run.metrics:
            counts[key] = counts.get(key, 0) + 1
    return sorted(counts, key=lambda k: (-counts[k], k))[:limit]


def run_rows(runs: Sequence[Run], metrics: Sequence[str]) -> tuple[list[str], list[list[str]]]:
    """Headers and text rows of a run list (id prefix, name, experiment, status, start, duration, tags, metrics)."""
    headers = ["id", "name", "experiment", "status", "started", "duration", "tags", *metrics]
    rows = [
        [
            run.id[:8],
            run.name,
            run.experiment,
            run.status.value,
            format_time(run.start_time),
            format_duration(run.duration),
            ", ".join(run.tags),
            *(format_value(run.metrics.get(k)) for k in metrics),
        ]
        for run in runs
    ]
    return headers, rows


def runs_csv(runs: Sequence[Run]) -> str:
    """Runs as CSV with MLflow-style columns ``run_id, name, ..., params.<k>, metrics.<k>``."""
    params = sorted({k for r in runs for k in r.params})
    metrics = sorted({k for r in runs for k in r.metrics})
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    base = ["run_id", "name", "experiment", "status", "start_time", "end_time", "duration", "tags", "note"]
    writer.writerow([*base, *(f"params.{k}" for k in params), *(f"metrics.{k}" for k in metrics)])
    for r in runs:
        cells = [r.id, r.name, r.experiment, r.status.value, r.start_time, r.end_time, r.duration, ";".join(r.tags)]
        cells.append(r.note)
        cells += [_csv_value(r.params.get(k)) for k in params]
        cells += [_csv_value(r.metrics.get(k)) for k in metrics]
        writer.writerow(["" if c is None else c for c in cells])
    return buffer.getvalue()


def _csv_value(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float):
        return value
    return json.dumps(value, default=str)


