"""Terminal rendering with rich (imported inside functions: the CLI's cold start matters)."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from typing import Any

from jupyter_mlops.comparing import Comparison
from jupyter_mlops.entities import Run
from jupyter_mlops.render.layout import (
    Section,
    comparison_sections,
    format_duration,
    format_size,
    format_time,
    format_value,
)
from jupyter_mlops.render.tables import metric_columns, run_rows

_RICH_STYLES = {"differs": "bold yellow", "best": "bold green", "added": "green", "removed": "red", "muted": "dim"}


def _rich_diff(text: str) -> Any:
    from rich.text import Text

    out = Text()
    for line in text.splitlines():
        style = "green" if line.startswith("+") and not line.startswith("+++") else None
        style = "red" if line.startswith("-") and not line.startswith("---") else style
        style = "cyan" if line.startswith("@@") else style
        out.append(line + "\n", style=style)
    return out


def section_renderables(section: Section) -> list[Any]:
    """Rich renderables for one section (a titled table, or diffs)."""
    from rich.table import Table
    from rich.text import Text

    out: list[Any] = []
    if section.is_empty:
        out.append(Text(f"{section.title}: {section.empty}", style="dim"))
        return out
    if section.rows:
        table = Table(title=section.title, title_justify="left", title_style="bold", show_lines=False)
        for header in section.headers:
            table.add_column(header, overflow="fold")
        for row in section.rows:
            table.add_row(*(Text(c.text, style=_RICH_STYLES.get(c.style or "", "")) for c in row))
        out.append(table)
    if section.diffs:
        out.append(Text(section.title, style="bold"))
        for title, diff in section.diffs:
            out.append(Text(title, style="bold magenta"))
            if diff:
                out.append(_rich_diff(diff))
    return out


def comparison_renderables(cmp: Comparison, only_differences: bool | None = None) -> list[Any]:
    """Every section of a comparison as rich renderables, for ``Console.print(*renderables)``."""
    out: list[Any] = []
    for section in comparison_sections(cmp, only_differences):
        out.extend(section_renderables(section))
    return out


def render_comparison_text(cmp: Comparison, width: int = 120) -> str:
    """The terminal rendering as plain text (no colour), e.g. for logs and tests."""
    from rich.console import Console

    console = Console(file=io.StringIO(), width=width, color_system=None, force_terminal=False)
    for item in comparison_renderables(cmp):
        console.print(item)
    return console.file.getvalue()  # type: ignore[attr-defined]



# -- runs ------------------------------------------------------------------------------------------------------
def runs_table(runs: Sequence[Run], metrics: Sequence[str] | None = None, title: str | None = None) -> Any:
    """A rich table of runs."""
    from rich.table import Table

    keys = metric_columns(runs) if metrics is None else list(metrics)
    headers, rows = run_rows(runs, keys)
    table = Table(title=title, title_justify="left")
    for i, header in enumerate(headers):
        table.add_column(header, overflow="fold", justify="right" if i >= len(headers) - len(keys) else "left")
    for row in rows:
        table.add_row(*row)
    return table


def run_renderables(run: Run, env: dict[str, Any] | None = None) -> list[Any]:
    """Rich renderables describing one run: overview, params, metrics, data inputs, artifacts, environment."""
    from rich.table import Table

    def kv_table(title: str, pairs: Iterable[tuple[str, str]], headers: tuple[str, str] = ("", "")) -> Any:
        table = Table(title=title, title_justify="left", title_style="bold", show_header=any(headers))
        table.add_column(headers[0], style="bold")
        table.add_column(headers[1], overflow="fold")
        for key, value in pairs:
            table.add_row(key, value)
        return table

    raised = ", ".join(k.replace("_", " ") for k, v in run.flags.items() if v) or "none"
    overview = [
        ("id", run.id), ("name", run.name), ("experiment", run.experiment), ("status", run.status.value),
        ("started", format_time(run.start_time)), ("duration", format_duration(run.duration)),
        ("notebook", run.notebook_path or "—"),
        ("git", "—" if not run.git_commit else run.git_commit + (" (dirty)" if run.git_dirty else "")),
        ("tags", ", ".join(run.tags) or "—"), ("note", run.note or "—"), ("flags", raised),
    ]
    if run.reproduction_of:
        overview.append(("reproduction of", run.reproduction_of))
    out = [kv_table(f"Run {run.name}", overview)]
    out.append(kv_table("Params", ((k, format_value(v)) for k, v in sorted(run.params.items())), ("param", "value")))
    out.append(kv_table("Metrics (latest)", ((k, format_value(v)) for k, v in sorted(run.metrics.items())),
                        ("metric", "value")))
    data = Table(title="Data", title_justify="left", title_style="bold")
    for header in ("name", "role", "kind", "hash", "size", "rows"):
        data.add_column(header, overflow="fold")
    for d in run.data_inputs:
        rows = (d.schema or {}).get("rows")
        data.add_row(d.name, d.role, d.kind, d.hash, format_size(d.size), "—" if rows is None else str(rows))
    out.append(data)
    out.append(kv_table("Artifacts", ((a.path, f"{format_size(a.size)}  {a.hash}") for a in run.artifacts),
                        ("path", "size  hash")))
    if env:
        packages = env.get("packages") if isinstance(env.get("packages"), dict) else {}
        summary = [("python", format_value(env.get("python"))), ("platform", format_value(env.get("platform"))),
                   ("packages", str(len(packages or {})))]
        out.append(kv_table("Environment", summary))
    return out

