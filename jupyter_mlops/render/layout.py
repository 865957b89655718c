"""The neutral layout of a comparison: sections of styled cells that every back-end draws the same way.

Each section of a :class:`~jupyter_mlops.comparing.Comparison` is laid out once as a :class:`Section` (headers,
rows of :class:`Cell`, code diffs); :mod:`.terminal` draws it with rich, :mod:`.markup` as markdown or HTML.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from jupyter_mlops.comparing import Comparison, DataChange
from jupyter_mlops.comparing.charts import run_labels
from jupyter_mlops.render.formatting import (
    describe_flags,
    format_duration,
    format_param,
    format_size,
    format_time,
    format_value,
)

#: Cell styles: ``differs`` (value differs from the baseline), ``best`` (best metric), ``added``/``removed``.
STYLES = ("differs", "best", "added", "removed", "muted")


@dataclass(frozen=True)
class Cell:
    """One table cell: its text and an optional style from :data:`STYLES`."""

    text: str
    style: str | None = None


@dataclass
class Section:
    """A section laid out for drawing: a table plus, for code, unified diffs ``(title, diff text)``."""

    key: str
    title: str
    headers: list[str] = field(default_factory=list)
    rows: list[list[Cell]] = field(default_factory=list)
    diffs: list[tuple[str, str]] = field(default_factory=list)
    empty: str = "no differences"

    @property
    def is_empty(self) -> bool:
        """Nothing to draw but the ``empty`` note."""
        return not self.rows and not self.diffs


def comparison_labels(cmp: Comparison) -> dict[str, str]:
    """Display labels of the compared runs (names, with a short id where names repeat)."""
    return run_labels(cmp.runs)


def _run_headers(cmp: Comparison, first: str) -> list[str]:
    labels = comparison_labels(cmp)
    return [first, *(labels[r.id] + (" (baseline)" if i == 0 else "") for i, r in enumerate(cmp.runs))]


# -- sections ----------------------------------------------------------------------------------------------------
def _runs_section(cmp: Comparison) -> Section:
    rows = []
    fields: list[tuple[str, Any]] = [
        ("id", lambda r: r.id[:12]),
        ("experiment", lambda r: r.experiment),
        ("status", lambda r: r.status.value),
        ("started", lambda r: format_time(r.start_time)),
        ("duration", lambda r: format_duration(r.duration)),
        ("git", lambda r: "—" if not r.git_commit else r.git_commit[:8] + (" (dirty)" if r.git_dirty else "")),
        ("tags", lambda r: ", ".join(r.tags) or "—"),
    ]
    for name, get in fields:
        rows.append([Cell(name), *(Cell(str(get(r))) for r in cmp.runs)])
    return Section("runs", "Runs", _run_headers(cmp, ""), rows)


def _params_section(cmp: Comparison, only_differences: bool) -> Section:
    rows = []
    for p in cmp.params:
        if only_differences and not p.differs:
            continue
        base = p.values[0]
        cells = [Cell(format_param(v), "differs" if i and _differs(base, v) else None) for i, v in enumerate(p.values)]
        rows.append([Cell(p.key, "differs" if p.differs else None), *cells])
    return Section("params", "Params", _run_headers(cmp, "param"), rows)


def _differs(a: Any, b: Any) -> bool:
    return json.dumps(a, sort_keys=True, default=str) != json.dumps(b, sort_keys=True, default=str)


def _code_section(cmp: Comparison) -> Section:
    labels = comparison_labels(cmp)
    section = Section("code", "Code (executed cells)", empty="no code changes (or no code snapshots)")
    for entry in cmp.code:
        if not entry.cells and not entry.modules:
            section.diffs.append((f"{labels[entry.run]}: same executed code as the baseline", ""))
        for cell in entry.cells:
            where = {
                "added": f"executed cell {cell['b_index']} added",
                "removed": f"baseline executed cell {cell['a_index']} removed",
                "changed": f"baseline executed cell {cell['a_index']} → {cell['b_index']} changed",
            }.get(cell["change"], cell["change"])
            section.diffs.append((f"{labels[entry.run]}: {where}", cell["source_diff"]))
        for module in entry.modules:  # the local modules it loaded (ADR-102), after the cells
            what = f"local module {module['name']} ({module['path']}) {module['change']}"
            section.diffs.append((f"{labels[entry.run]}: {what}", module["source_diff"] or module.get("note", "")))
    return section


def _data_summary(value: dict[str, Any] | None) -> str:
    if value is None:
        return "—"
    parts = [str(value.get("hash", "")).split(":")[-1][:10], format_size(value.get("size"))]
    schema = value.get("schema") or {}
    if isinstance(schema, dict) and schema.get("rows") is not None:
        parts.append(f"{schema['rows']} rows")
    return "  ".join(parts)


def _change_summary(change: DataChange) -> str:
    if change.status != "changed":
        return change.status
    bits = ["content changed" if change.hash_changed else "same content"]
    if change.rows[0] != change.rows[1] and None not in change.rows:
        bits.append(f"rows {change.rows[0]}→{change.rows[1]}")
    bits += [f"+{c}" for c in change.columns_added] + [f"−{c}" for c in change.columns_removed]
    bits += [f"{c}: {a}→{b}" for c, a, b in change.dtype_changes]
    bits += [f"{c} drifted (PSI {v:.2f})" for c, v in change.drift]
    return ", ".join(bits)


def _data_section(cmp: Comparison) -> Section:
    rows = []
    for item in cmp.data:
        changes = {c.run: c for c in item.changes}
        cells = [Cell(item.name, "differs" if item.differs else None)]
        for i, (run, value) in enumerate(zip(cmp.runs, item.values, strict=True)):
            change = changes.get(run.id) if i else None
            text = _data_summary(value) + (f"\n{_change_summary(change)}" if change else "")
            cells.append(Cell(text, "differs" if change else None))
        rows.append(cells)
    return Section("data", "Data inputs", _run_headers(cmp, "input"), rows)


def _env_section(cmp: Comparison, only_differences: bool) -> Section:
    env, rows = cmp.env, []
    for name, values, differs in (
        ("python", env.python, env.python_differs),
        ("platform", env.platform, env.platform_differs),
    ):
        if values and (differs or not only_differences):
            rows.append([Cell(name), *(Cell(format_value(v), "differs" if i and v != values[0] else None)
                                       for i, v in enumerate(values))])
    style = {"added": "added", "removed": "removed", "bumped": "differs"}
    for pkg in env.packages:
        if only_differences and pkg.change == "unchanged":
            continue
        cells = [Cell(format_value(v), style.get(pkg.change) if i and v != pkg.values[0] else None)
                 for i, v in enumerate(pkg.values)]
        rows.append([Cell(pkg.name), *cells, Cell(pkg.change, style.get(pkg.change))])
    headers = [*_run_headers(cmp, "environment"), "change"]
    return Section("env", "Environment", headers, rows)


def _metrics_section(cmp: Comparison, sliced: bool = False) -> Section:
    rows = []
    for m in cmp.slices if sliced else cmp.metrics:
        cells = []
        for i, (value, delta) in enumerate(zip(m.values, m.deltas, strict=True)):
            text = format_value(value)
            if i and delta is not None and value is not None:
                text += f" ({delta:+.4g})"
            cells.append(Cell(text, "best" if m.best == i and len(m.values) > 1 else None))
        name = [Cell(m.key), Cell(m.slice or "")] if sliced else [Cell(m.key)]
        rows.append([*name, *cells, Cell("↑ max" if m.goal == "max" else "↓ min", "muted")])
    if sliced:  # a slice one run lacks shows as "—" in that run's column (ADR-070)
        return Section("slices", "Metrics on slices", ["metric", "slice", *_run_headers(cmp, "metric")[1:], "goal"],
                       rows, empty="no metrics on slices")
    return Section("metrics", "Metrics", [*_run_headers(cmp, "metric"), "goal"], rows, empty="no metrics")


def _flags_section(cmp: Comparison) -> Section:
    labels = comparison_labels(cmp)
    rows = []
    for row in cmp.flags:
        raised = describe_flags(row.flags, row.cells)
        flags = Cell("; ".join(raised) or "none", "differs" if raised else None)
        rows.append([Cell(labels.get(row.run, row.run)), flags])
    return Section("flags", "Notebook state", ["run", "flags"], rows, empty="no notebook-state flags raised")


def comparison_sections(cmp: Comparison, only_differences: bool | None = None) -> list[Section]:
    """Lay out a comparison in reading order: runs, params, code, data, environment, metrics, flags.

    Args:
        cmp: the comparison.
        only_differences: hide unchanged params/packages; default: the opposite of ``cmp.all_values``.
    """
    only = (not cmp.all_values) if only_differences is None else only_differences
    return [
        _runs_section(cmp),
        _params_section(cmp, only),
        _code_section(cmp),
        _data_section(cmp),
        _env_section(cmp, only),
        _metrics_section(cmp),
        *([_metrics_section(cmp, sliced=True)] if cmp.slices else []),
        _flags_section(cmp),
    ]


