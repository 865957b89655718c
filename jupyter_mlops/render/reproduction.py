"""A reproduction report for the terminal: what was checked, the verdict table and the outcome line.

Works on the JSON shape of ``app.reproduce.Reproduction.to_dict()`` (render never imports app), so the CLI's
table and ``--format json`` say the same thing. Metric values are shown with 12 significant digits: a verdict
that hides the digits where two runs differ would be no verdict.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jupyter_mlops.render.formatting import format_size
from jupyter_mlops.render.safe import rich_text

__all__ = ["reproduction_renderables", "reproduction_views"]

_STYLES = {"exact": "green", "within": "green", "diverged": "bold red", "missing": "bold red", "new": "yellow"}
_OUTCOMES = {
    "reproduced": ("REPRODUCED", "bold green"),
    "compared": ("COMPARED (a what-if run, not a reproduction)", "bold yellow"),
    "diverged": ("DIVERGED", "bold red"),
    "refused": ("NOT RUN", "bold red"),
    "failed": ("FAILED", "bold red"),
}


def _number(value: Any) -> str:
    return "—" if value is None else f"{value:.12g}"


def _data_lines(report: Mapping[str, Any]) -> list[Any]:
    lines = []
    for check in report["verification"]["data"]:
        status = check["status"]
        if status == "unchanged":
            continue
        text = f"data {status}: {check['path'] or check['name']}"
        if status == "changed":
            text += (f"\n  hash {check['old_hash']} -> {check['new_hash']}"
                     f"\n  size {format_size(check['old_size'])} -> {format_size(check['new_size'])}")
            diff = check.get("schema_diff") or {}
            for key in ("added", "removed"):
                if diff.get(key):
                    text += f"\n  columns {key}: {', '.join(map(str, diff[key]))}"
            for retyped in diff.get("retyped") or []:
                text += f"\n  column {retyped['name']}: {retyped['dtypes'][0]} -> {retyped['dtypes'][1]}"
            if diff.get("rows"):
                text += f"\n  rows {diff['rows'][0]} -> {diff['rows'][1]}"
        elif status == "missing":
            text += f" (recorded hash {check['old_hash']})"
        lines.append(rich_text(text, "red" if status in ("changed", "missing") else "", multiline=True))
    return lines


def _env_lines(report: Mapping[str, Any]) -> list[Any]:
    env = report["verification"]["env"]
    if not env["recorded"]:
        return [rich_text("environment: not recorded with the run", "yellow")]
    lines = []
    if env["python"]:
        lines.append(rich_text(f"python {env['python'][0]} -> {env['python'][1]}", "yellow"))
    for package in env["packages"]:
        old, new = package["values"]
        lines.append(rich_text(f"package {package['name']}: {old or '(none)'} -> {new or '(none)'}", "yellow"))
    return lines


def _git_lines(report: Mapping[str, Any]) -> list[Any]:
    git = report["verification"]["git"]
    lines = []
    if git["commit"] and git["commit_reachable"] is False:
        lines.append(rich_text(f"git: commit {git['commit'][:12]} is not in this repository", "yellow"))
    if git["recorded_dirty"]:
        lines.append(rich_text("git: the run was recorded with uncommitted changes", "yellow"))
    if git["dirty_now"]:
        lines.append(rich_text("git: the working tree has uncommitted changes now", "yellow"))
    if git["commit"] and git["head"] and git["head"] != git["commit"]:
        lines.append(rich_text(f"git: HEAD is {git['head'][:12]}, the run was at {git['commit'][:12]}", "yellow"))
    return lines


def _script_lines(report: Mapping[str, Any]) -> list[Any]:
    command = report.get("script")
    if not command:
        return []
    import shlex

    lines = [rich_text(f"script {command['path']}: {shlex.join(command['replayed_argv'])} (in {command['cwd']})")]
    if command["replayed_argv"] != command["argv"]:
        lines.append(rich_text(f"recorded command line: {shlex.join(command['argv'])}", "yellow"))
    if command["changed_on_disk"]:
        lines.append(rich_text("script: the file changed since the run; the recorded source is what runs", "yellow"))
    elif command["changed_on_disk"] is None:
        lines.append(rich_text("script: the file is gone; the recorded source is what runs", "yellow"))
    return lines


_MODULE_NOTES = {
    "differs": "the file changed since the run; the recorded version is what runs",
    "missing": "the file is gone; the recorded version is what runs",
    "unavailable": "the recorded version could not be read; the current file is what runs",
}


def _module_lines(report: Mapping[str, Any]) -> list[Any]:
    # Local modules restored for the execution (ADR-103): the ones whose current file is not the recorded version.
    found = report.get("modules") or []
    lines = []
    if found:
        lines.append(rich_text(f"local modules: {len(found)} restored as recorded" if all(
            m["restored"] for m in found) else f"local modules: {len(found)} recorded"))
    for module in found:
        note = _MODULE_NOTES.get(module["status"])
        if note:
            lines.append(rich_text(f"module {module['name']} ({module['path']}): {note}", "yellow"))
    return lines


def _verdict_table(report: Mapping[str, Any]) -> Any:
    from rich.table import Table

    table = Table(title=f"verdict ({report['mode']})", title_justify="left")
    for column in ("metric", "original", "reproduced", "difference", "tolerance", "status"):
        table.add_column(column, justify="right" if column in ("original", "reproduced", "difference") else "left")
    for row in report["metrics"]:
        table.add_row(rich_text(row["key"]), _number(row["original"]), _number(row["reproduced"]),
                      _number(row["difference"]), row["tolerance"],
                      rich_text(row["status"], _STYLES.get(row["status"], "")))
    return table


def reproduction_renderables(report: Mapping[str, Any]) -> list[Any]:
    """Rich renderables for a reproduction report, top to bottom."""
    out: list[Any] = [rich_text(f"run {report['run']} · mode {report['mode']}", "bold")]
    out += _script_lines(report) + _module_lines(report) + _data_lines(report) + _env_lines(report)
    out += _git_lines(report)
    if report["parameters"]:
        shown = ", ".join(f"{k}={v!r}" for k, v in report["parameters"].items())
        out.append(rich_text(f"parameters: {shown}"))
    if report["metrics"]:
        out.append(_verdict_table(report))
    label, style = _OUTCOMES[report["outcome"]]
    # The reason of a refusal or failure is the face's one error line, so it is not repeated here.
    line = label + "".join(f" · {caveat}" for caveat in report.get("caveats") or [])
    if report["reproduction"]:
        line += f" · new run {report['reproduction']}"
    out.append(rich_text(line, style))
    return out


def reproduction_views(report: Mapping[str, Any], width: int = 110) -> tuple[str, str]:
    """The report as (HTML, plain text), for a notebook (``%track reproduce``)."""
    import io

    from rich.console import Console

    console = Console(record=True, width=width, file=io.StringIO(), highlight=False, force_terminal=False)
    for renderable in reproduction_renderables(report):
        console.print(renderable)
    html_text = console.export_html(inline_styles=True, clear=False,
                                    code_format="<pre style=\"font-family:monospace\">{code}</pre>")
    return html_text, console.export_text()
