"""Run lists as plain rows and CSV (shared by the terminal table and ``--format csv``)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from typing import Any

from jupyter_mlops.entities import Run
from jupyter_mlops.render.formatting import (
    describe_flags,
    format_duration,
    format_param,
    format_size,
    format_time,
    format_value,
    iso_time,
)
from jupyter_mlops.render.safe import csv_cell, rich_text, terminal_text


def metric_columns(runs: Iterable[Run], limit: int = 6) -> list[str]:
    """The metric keys to show as columns: the most common across the runs, at most ``limit``."""
    counts: dict[str, int] = {}
    for run in runs:
        for key in run.metrics:
            counts[key] = counts.get(key, 0) + 1
    return sorted(counts, key=lambda k: (-counts[k], k))[:limit]


def run_rows(runs: Sequence[Run], metrics: Sequence[str]) -> tuple[list[str], list[list[str]]]:
    """Headers and text rows of a run list (id prefix, name, experiment, status, start, duration, tags, metrics).

    User text is passed through :func:`~jupyter_mlops.render.safe.terminal_text` (no control characters).
    """
    headers = ["id", "name", "experiment", "status", "started", "duration", "tags", *map(terminal_text, metrics)]
    rows = [
        [
            run.id[:8],
            terminal_text(run.name),
            terminal_text(run.experiment),
            status_label(run),
            format_time(run.start_time),
            format_duration(run.duration),
            terminal_text(", ".join(run.tags)),
            *(terminal_text(format_value(run.metrics.get(k))) for k in metrics),
        ]
        for run in runs
    ]
    return headers, rows


def status_label(run: Run) -> str:
    """The status as a person should read it: a run with writes that failed never reads as a clean ``finished``."""
    if not run.logging_errors:
        return run.status.value
    return f"{run.status.value} ({run.logging_errors:,} not stored)"


def runs_csv(runs: Sequence[Run]) -> str:
    """Runs as CSV with MLflow-style columns ``run_id, name, ..., params.<k>, metrics.<k>``.

    Times are ISO 8601 in UTC with milliseconds (what spreadsheets and ``pandas.read_csv(parse_dates=...)`` read),
    durations are seconds. A cell that a spreadsheet would run as a formula (``=HYPERLINK(...)``) gets a leading
    ``'`` (:func:`csv_cell`).
    """
    params = sorted({k for r in runs for k in r.params})
    metrics = sorted({k for r in runs for k in r.metrics})
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    base = ["run_id", "name", "experiment", "status", "logging_errors", "start_time", "end_time", "duration", "tags",
            "note"]
    writer.writerow([*base, *(f"params.{k}" for k in params), *(f"metrics.{k}" for k in metrics)])
    for r in runs:
        cells = [r.id, r.name, r.experiment, r.status.value, r.logging_errors, iso_time(r.start_time),
                 iso_time(r.end_time), r.duration, ";".join(r.tags), r.note]
        cells += [_csv_value(r.params.get(k)) for k in params]
        cells += [_csv_value(r.metrics.get(k)) for k in metrics]
        writer.writerow(["" if c is None else csv_cell(c) for c in cells])
    return buffer.getvalue()


def _csv_value(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float):
        return value
    return json.dumps(value, default=str)


def runs_table(
    runs: Sequence[Run], metrics: Sequence[str] | None = None, title: str | None = None, width: int | None = None
) -> Any:
    """A rich table of runs that fits ``width`` columns (None: no limit).

    Rather than folding every cell into an unreadable column, the least important columns are left out (metrics
    from the right, then tags, experiment, duration); a caption names what was hidden.
    """
    from rich.table import Table

    keys = metric_columns(runs) if metrics is None else list(metrics)
    headers, rows = run_rows(runs, keys)
    shown = _columns_that_fit(headers, rows, len(keys), width)
    hidden = [headers[i] for i in range(len(headers)) if i not in shown]
    caption = f"hidden to fit: {', '.join(hidden)} (widen the terminal or use --format csv)" if hidden else None
    # Text, never str: rich would read a run name or tag such as "[/bold]" as markup (and fail on it).
    table = Table(title=None if title is None else rich_text(title), title_justify="left",
                  caption=None if caption is None else rich_text(caption), caption_justify="left")
    for i in shown:
        is_metric = i >= len(headers) - len(keys)
        keep_whole = headers[i] in _NEVER_WRAPPED
        table.add_column(
            rich_text(headers[i]),
            justify="right" if is_metric else "left",
            no_wrap=keep_whole,
            overflow="ellipsis" if keep_whole else "fold",
        )
    for row in rows:
        table.add_row(*(rich_text(row[i]) for i in shown))
    return table


_NEVER_WRAPPED = {"id", "name", "status", "started", "duration"}
_DROPPED_BEFORE_METRICS_RUN_OUT = ("tags", "experiment", "duration")


def _columns_that_fit(headers: list[str], rows: list[list[str]], n_metrics: int, width: int | None) -> list[int]:
    # Each column costs its widest cell plus padding and a border (rich's default box).
    cost = [max([len(h), *(len(r[i]) for r in rows)]) + 3 for i, h in enumerate(headers)]
    shown = set(range(len(headers)))
    if width is None:
        return sorted(shown)
    first_metric = len(headers) - n_metrics
    droppable = [*range(len(headers) - 1, first_metric - 1, -1)]
    droppable += [headers.index(name) for name in _DROPPED_BEFORE_METRICS_RUN_OUT]
    for index in droppable:
        if sum(cost[i] for i in shown) + 1 <= width:
            break
        shown.discard(index)
    return sorted(shown)


def run_renderables(run: Run, env: dict[str, Any] | None = None) -> list[Any]:
    """Rich renderables describing one run: overview, params, metrics, data inputs, artifacts, environment."""
    from rich.table import Table

    def kv_table(title: str, pairs: Iterable[tuple[str, str]], headers: tuple[str, str] = ("", "")) -> Any:
        table = Table(title=rich_text(title), title_justify="left", title_style="bold", show_header=any(headers))
        table.add_column(headers[0], style="bold")
        table.add_column(headers[1], overflow="fold")
        for key, value in pairs:
            table.add_row(rich_text(key), rich_text(value, multiline=True))
        return table

    raised = "; ".join(describe_flags(run.flags, run.flag_cells)) or "none"
    overview = [
        ("id", run.id), ("name", run.name), ("experiment", run.experiment), ("status", status_label(run)),
        ("started", format_time(run.start_time)), ("duration", format_duration(run.duration)),
        ("notebook", run.notebook_path or "—"),
        ("git", "—" if not run.git_commit else run.git_commit + (" (dirty)" if run.git_dirty else "")),
        ("tags", ", ".join(run.tags) or "—"), ("note", run.note or "—"), ("flags", raised),
    ]
    if run.logging_errors:
        overview.append(("logging errors", f"{run.logging_errors:,} metric points or params could not be stored; "
                                           "the run's record is incomplete"))
    if run.reproduction_of:
        overview.append(("reproduction of", run.reproduction_of))
    out = [kv_table(f"Run {run.name}", overview)]
    out.append(kv_table("Params", ((k, format_param(v)) for k, v in sorted(run.params.items())), ("param", "value")))
    out.append(kv_table("Metrics (latest)", ((k, format_value(v)) for k, v in sorted(run.metrics.items())),
                        ("metric", "value")))
    if run.slices:
        out.append(kv_table("Metrics on slices (latest)", ((f"{k} [{label}]", format_value(v))
                                                            for k, values in sorted(run.slices.items())
                                                            for label, v in sorted(values.items())),
                            ("metric [slice]", "value")))
    if run.data_inputs:
        data = Table(title="Data", title_justify="left", title_style="bold")
        for header in ("name", "role", "kind", "hash", "size", "rows"):
            data.add_column(header, overflow="fold")
        for d in run.data_inputs:
            rows = (d.schema or {}).get("rows")
            cells = (d.name, d.role, d.kind, d.hash, format_size(d.size), "—" if rows is None else str(rows))
            data.add_row(*map(rich_text, cells))
        out.append(data)
    if run.artifacts:
        out.append(kv_table("Artifacts", ((a.path, f"{format_size(a.size)}  {a.hash}") for a in run.artifacts),
                            ("path", "size  hash")))
    if env:
        out.append(kv_table("Environment", env_summary(env)))
    return out


def _pick(value: Any, *keys: str) -> Any:
    # Snapshot fields are dicts ({"version": ...}) in current captures; older or hand-made ones may be plain.
    if isinstance(value, dict):
        return next((value[k] for k in keys if value.get(k) is not None), None)
    return value


def env_summary(env: dict[str, Any]) -> list[tuple[str, str]]:
    """Label/value pairs summarising an environment snapshot (python, platform, CPU, RAM, GPUs, packages)."""
    packages = env.get("packages") if isinstance(env.get("packages"), dict) else {}
    cpu: dict[str, Any] = env["cpu"] if isinstance(env.get("cpu"), dict) else {}
    ram = _pick(env.get("ram"), "total")
    gpus = env.get("gpus") or env.get("gpu") or []
    pairs = [
        ("python", format_value(_pick(env.get("python"), "version"))),
        ("platform", format_value(_pick(env.get("platform"), "platform", "system"))),
        ("cpu", " × ".join(str(v) for v in (cpu.get("model"), cpu.get("count")) if v) or "—"),
        ("ram", format_size(ram) if isinstance(ram, int) else "—"),
        ("gpus", ", ".join(str(_pick(g, "name") or g) for g in gpus) if isinstance(gpus, list) and gpus else "none"),
        ("packages", str(len(packages or {}))),
    ]
    return pairs

