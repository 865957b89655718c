"""``jupyter-mlops diff-artifact`` as text: one block per artifact, from ``ArtifactDiffs.to_dict()`` (ADR-104).

Render does not import ``app``: it reads the JSON shape, so the text and the JSON always say the same thing.
Artifact names and texts come from runs: they pass through :func:`~jupyter_mlops.render.safe.terminal_text`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jupyter_mlops.render.formatting import format_size
from jupyter_mlops.render.safe import terminal_text

__all__ = ["artifact_diff_text"]


def _stat(value: Mapping[str, Any]) -> str:
    def show(x: Any) -> str:
        return "—" if x is None else f"{x:.6g}" if isinstance(x, float) else str(x)

    delta = value.get("delta")
    sign = "+" if isinstance(delta, int | float) and delta > 0 else ""
    return f"{show(value.get('a'))} → {show(value.get('b'))} ({sign}{show(delta)})"


def _table_lines(diff: Mapping[str, Any]) -> list[str]:
    rows = diff["rows"]
    lines = [f"  rows {rows[0]} → {rows[1]}" + (f" ({rows[1] - rows[0]:+d})" if rows[0] != rows[1] else "")]
    if diff["columns_added"]:
        lines.append("  columns added: " + ", ".join(diff["columns_added"]))
    if diff["columns_removed"]:
        lines.append("  columns removed: " + ", ".join(diff["columns_removed"]))
    lines += [f"  {c['column']}: dtype {c['from']} → {c['to']}" for c in diff["dtype_changes"]]
    for column in diff["columns"]:
        changed = [stat for stat in ("mean", "std", "nulls", "distinct") if column[stat]["delta"] not in (None, 0)]
        if changed:
            lines.append(f"  {column['column']}: " + "; ".join(f"{s} {_stat(column[s])}" for s in changed))
    return lines


def _json_lines(diff: Mapping[str, Any]) -> list[str]:
    import json

    def value(v: Any) -> str:
        text = json.dumps(v, default=str)
        return text if len(text) <= 60 else text[:57] + "..."

    lines = [f"  + {r['path']} = {value(r['value'])}" for r in diff["added"]]
    lines += [f"  - {r['path']} = {value(r['value'])}" for r in diff["removed"]]
    lines += [f"  ~ {r['path']}: {value(r['from'])} → {value(r['to'])}" for r in diff["changed"]]
    if diff["truncated"]:
        counts = diff["counts"]
        lines.append(f"  ... {sum(counts.values())} differences in all")
    return lines


def _diff_lines(diff: Mapping[str, Any]) -> list[str]:
    kind = diff["kind"]
    if kind == "text":
        lines = [f"  +{diff['added']} −{diff['removed']} lines"]
        lines += ["  " + line for line in diff["diff"].splitlines()]
        return lines + (["  ... diff cut"] if diff["truncated"] else [])
    if kind == "image":
        (aw, ah), (bw, bh) = diff["size"]
        size = f"{aw}x{ah}" if (aw, ah) == (bw, bh) else f"{aw}x{ah} → {bw}x{bh}"
        share = f"{diff['changed_share'] * 100:.2f}%"
        where = f", within {diff['bbox']}" if diff["bbox"] else ""
        return [f"  {size}; {diff['changed_pixels']} of {diff['total_pixels']} pixels changed ({share}){where}"]
    if kind == "table":
        return _table_lines(diff)
    if kind == "json":
        return _json_lines(diff)
    return ["  binary content differs"]


def artifact_diff_text(report: Mapping[str, Any]) -> str:
    """The text report of ``ArtifactDiffs.to_dict()``."""
    lines = [f"artifacts of run {report['b']} against run {report['a']}"]
    if not report["artifacts"]:
        lines.append("  neither run has artifacts")
    for item in report["artifacts"]:
        sizes = " → ".join(format_size(s) for s in item["sizes"] if s is not None)
        lines.append(f"{item['name']} ({item['kind']}): {item['status']}" + (f", {sizes}" if sizes else ""))
        if item["error"]:
            lines.append(f"  cannot diff: {item['error']}")
        elif item["diff"] is not None:
            lines += _diff_lines(item["diff"])
    return "".join(terminal_text(line) + "\n" for line in lines)
