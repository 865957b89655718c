"""A gate's result as a terminal report, a markdown PR comment, JUnit XML and GitHub workflow annotations.

Pure presentation of a :class:`~jupyter_mlops.comparing.gate.GateResult`. The JUnit and annotation forms follow
``nb-smoke``'s (``notebooks/smoke/report.py``: one testsuite, a ``failure`` element per failed case, workflow
commands escaped the same way); they are written here rather than imported because importing the smoke package
costs about 0.1 s, a fifth of the gate's cold-start budget. Standard library only: ``jupyter-mlops gate`` starts
in a fresh CI process every time.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from jupyter_mlops.comparing.gate import GateResult, Lineage, MetricVerdict
from jupyter_mlops.render.formatting import format_param, format_value
from jupyter_mlops.render.safe import terminal_text
from jupyter_mlops.report_text import github_data, github_property, xml_safe

__all__ = ["gate_github", "gate_junit_xml", "gate_lines", "gate_markdown", "gate_text", "lineage_lines"]

#: Characters of a content hash's digest shown in the terminal and markdown (JSON and JUnit keep it whole).
HASH_SHOWN = 16
_WORDS = {"pass": "PASS", "regression": "REGRESSION", "error": "ERROR"}


def _hash(value: str | None) -> str:
    if not value:
        return "—"
    algo, sep, digest = value.partition(":")
    return f"{algo}:{digest[:HASH_SHOWN]}…" if sep and len(digest) > HASH_SHOWN else value


def _delta(m: MetricVerdict) -> str:
    if m.delta is None:
        return "—"
    text = f"{m.delta:+.6g}"
    return text + (f" ({m.relative_delta:+.2%})" if m.relative_delta is not None else "")


def _run_name(run: Any) -> str:
    return f"{terminal_text(run.name)} ({run.id[:8]})"


def headline(result: GateResult) -> str:
    """The verdict in one line.

    ``Gate REGRESSION: candidate tuned (3f2a1b4c) vs churn@champion (1.2.0), baseline base (9c41d2e0): 1 of 2
    regressed``.
    """
    n = len(result.metrics)
    regressed = ", ".join(terminal_text(m.label) for m in result.metrics if m.verdict == "regression")
    counts = {"pass": f"{n} of {n} passed",
              "regression": f"{result.count('regression')} of {n} regressed ({regressed})",
              "error": f"{result.count('error')} of {n} could not be judged"}
    return (f"Gate {_WORDS[result.verdict]}: candidate {_run_name(result.candidate)} vs {_baseline(result)}: "
            f"{counts[result.verdict]}")


def _baseline(result: GateResult) -> str:
    run = f"baseline {_run_name(result.baseline)}"
    return f"{terminal_text(result.baseline_label)}, {run}" if result.baseline_label else run


def lineage_lines(lineage: Lineage) -> list[str]:
    """The lineage difference as lines of text (names and values control-character free)."""
    if lineage.unchanged:
        return ["no recorded difference in data, params, code or packages"]
    lines = []
    for d in lineage.data:
        lines.append(f"data {d.status}: {terminal_text(d.name)} {_hash(d.baseline_hash)} → {_hash(d.candidate_hash)}")
    for key, before, after in lineage.params:
        lines.append(f"param changed: {terminal_text(key)} {terminal_text(format_param(before))} → "
                     f"{terminal_text(format_param(after))}")
    if lineage.code_changed:
        n = lineage.code_cells
        cells = f" ({n} executed cell{'s' * (n != 1)} differ{'s' * (n == 1)})" if n else ""
        lines.append(f"code changed: the executed-code snapshots differ{cells}")
    for name, before, after in lineage.packages:
        lines.append(f"package changed: {terminal_text(name)} {before or '—'} → {after or '—'}")
    return lines


def gate_text(result: GateResult) -> str:
    """The terminal report: one row per metric (both values, delta, rule, verdict), the lineage, the verdict."""
    header = ("metric", "dir", "baseline", "candidate", "delta", "rule", "verdict")
    rows = [(terminal_text(m.label), m.rule.direction, format_value(m.baseline), format_value(m.candidate),
             _delta(m), m.rule.describe(), m.verdict) for m in result.metrics]
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    table = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in (header, *rows)]
    notes = [f"  {terminal_text(m.label)}: {terminal_text(m.reason)}" for m in result.metrics if m.verdict != "pass"]
    lineage = [f"  {line}" for line in lineage_lines(result.lineage)]
    return "\n".join([headline(result), "", *table, *(["", *notes] if notes else []), "", "Lineage:", *lineage]) + "\n"


def gate_lines(result: GateResult | None, error: str = "") -> list[str]:
    """A notebook's gate for its smoke report: the headline first, then the report's non-blank lines.

    ``result`` None: the gate could not judge the notebook, for the reason ``error``.
    """
    if result is None:
        return [f"Gate ERROR: {terminal_text(error)}"]
    return [row for row in gate_text(result).splitlines() if row.strip()]


def _md(text: Any) -> str:
    return terminal_text(text).replace("\\", "\\\\").replace("|", "\\|").replace("`", "\\`")


def gate_markdown(result: GateResult) -> str:
    """A markdown PR comment: the verdict, a table of metrics and the lineage difference."""
    icon = {"pass": "✅", "regression": "❌", "error": "⚠️"}
    lines = [f"## {icon[result.verdict]} Model gate: {_WORDS[result.verdict]}", "",
             f"Candidate **{_md(result.candidate.name)}** (`{result.candidate.id[:8]}`) vs "
             + (f"**{_md(result.baseline_label)}**, " if result.baseline_label else "")
             + f"baseline **{_md(result.baseline.name)}** (`{result.baseline.id[:8]}`)", "",
             "| Metric | Direction | Baseline | Candidate | Delta | Rule | Verdict |", "|---|---|---|---|---|---|---|"]
    for m in result.metrics:
        verdict = f"{icon[m.verdict]} {m.verdict}"
        lines.append(f"| {_md(m.label)} | {m.rule.direction} | {format_value(m.baseline)} | "
                     f"{format_value(m.candidate)} | {_delta(m)} | {m.rule.describe()} | {verdict} |")
    problems = [f"- **{_md(m.label)}**: {_md(m.reason)}" for m in result.metrics if m.verdict != "pass"]
    lines += ["", *problems, *([""] if problems else []), "### Lineage difference", ""]
    lines += [f"- {_md(line)}" for line in lineage_lines(result.lineage)]
    return "\n".join(lines) + "\n"


def gate_junit_xml(result: GateResult) -> str:
    """JUnit XML: one testsuite ``jupyter-mlops gate``, one testcase per metric.

    A regression is a ``failure`` and a metric that could not be judged an ``error``; the headline and the lineage
    difference go in ``system-out``.
    """
    suite = ET.Element("testsuite", name="jupyter-mlops gate", tests=str(len(result.metrics)),
                       failures=str(result.count("regression")), errors=str(result.count("error")), time="0")
    classname = f"gate.{result.candidate.id[:8]}"
    for m in result.metrics:
        case = ET.SubElement(suite, "testcase", classname=classname, name=xml_safe(f"{m.label}:{m.rule.direction}"))
        if m.verdict == "pass":
            continue
        tag = "failure" if m.verdict == "regression" else "error"
        element = ET.SubElement(case, tag, type=m.verdict, message=xml_safe(m.reason))
        element.text = xml_safe(f"baseline {format_value(m.baseline)}, candidate {format_value(m.candidate)}, "
                                 f"delta {_delta(m)}, rule {m.rule.describe()}")
    out = ET.SubElement(suite, "system-out")
    out.text = xml_safe("\n".join([headline(result), *lineage_lines(result.lineage)]))
    ET.indent(suite)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suite, encoding="unicode") + "\n"


def gate_github(result: GateResult) -> list[str]:
    """GitHub workflow commands, so a pull request's checks page shows why it failed.

    ``::error`` per regressed or unjudged metric, ``::notice`` per passed metric and one for the lineage.
    """
    rows = []
    for m in result.metrics:
        kind = "notice" if m.verdict == "pass" else "error"
        title = github_property(f"gate {m.verdict}: {m.label}")
        message = (f"{m.label} ({m.rule.direction}): baseline {format_value(m.baseline)}, candidate "
                   f"{format_value(m.candidate)}, delta {_delta(m)}, rule {m.rule.describe()}: {m.reason}")
        rows.append(f"::{kind} title={title}::{github_data(terminal_text(message))}")
    lineage = "\n".join(lineage_lines(result.lineage))
    title = github_property("gate lineage")
    rows.append(f"::notice title={title}::{github_data(headline(result) + chr(10) + lineage)}")
    return rows
