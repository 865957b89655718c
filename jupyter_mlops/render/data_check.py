"""A ``data check`` result as one table of anomalies, JUnit XML and GitHub annotations; a profile as a table.

Pure presentation of :class:`~jupyter_mlops.comparing.data_check.DataCheckResult` (its JSON is ``to_dict()``) and
of a recorded ``capture.profile`` profile. The JUnit and annotation forms follow the gate's
(:mod:`jupyter_mlops.render.gate`): one testsuite, a testcase per data file and column, workflow commands escaped
the same way (the three escaping rules are repeated here: importing the gate's renderer costs a cold
``data check`` the gate's comparison model). Standard library only.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from typing import Any

from jupyter_mlops.comparing.data_check import DataCheckResult
from jupyter_mlops.render.safe import terminal_text
from jupyter_mlops.report_text import github_data, github_property, xml_safe

__all__ = ["check_github", "check_junit_xml", "check_text", "headline", "profile_rows", "profile_text", "smoke_lines"]


def headline(result: DataCheckResult) -> str:
    """``Data check: 3 anomalies in 1 of 2 files against run base (3f2a1b4c)`` or ``... clean ...``."""
    n = len(result.anomalies)
    files = len(result.datasets)
    bad = sum(1 for d in result.datasets if d.anomalies)
    against = terminal_text(result.baseline)
    if not n:
        return f"Data check clean: {files} file{'s' * (files != 1)} against {against}"
    return (f"Data check: {n} anomal{'ies' if n != 1 else 'y'} in {bad} of {files} file{'s' * (files != 1)} "
            f"against {against}")


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    return ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in (header, *rows)]


def check_text(result: DataCheckResult) -> str:
    """The headline and one table of anomalies (data, column, kind, message)."""
    rows = [(terminal_text(name), terminal_text(a.column) or "—", a.kind, terminal_text(a.message))
            for name, a in result.anomalies]
    lines = [headline(result)]
    if rows:
        lines += ["", *_table(("data", "column", "anomaly", "details"), rows)]
    return "\n".join(lines) + "\n"


def smoke_lines(result: DataCheckResult | None, error: str = "", shown: int = 5) -> list[str]:
    """A notebook's data check for its smoke report: a one-line verdict naming the anomalous columns, then the table.

    ``result`` None: the data could not be checked, for the reason ``error``.
    """
    if result is None:
        return [f"Data check ERROR: {terminal_text(error)}"]
    lines = [row for row in check_text(result).splitlines() if row.strip()]
    named = list(dict.fromkeys(f"{terminal_text(name)}:{terminal_text(a.column)} {a.kind}" if a.column
                               else f"{terminal_text(name)} {a.kind}" for name, a in result.anomalies))
    if named:
        lines[0] += " (" + ", ".join(named[:shown]) + (" …" if len(named) > shown else "") + ")"
    return lines


def _case_name(name: str, column: str) -> str:
    return xml_safe(f"{name}:{column}" if column else name)


def check_junit_xml(result: DataCheckResult) -> str:
    """JUnit XML: testsuite ``jupyter-mlops data check``, a testcase per file and per column with anomalies.

    A file without anomalies is one passing testcase; each column with anomalies (or the file itself, for
    file-level ones) is a testcase with one ``failure`` listing them.
    """
    suite = ET.Element("testsuite", name="jupyter-mlops data check", errors="0", time="0")
    cases = failures = 0
    for dataset in result.datasets:
        by_column: dict[str, list[Any]] = {}
        for anomaly in dataset.anomalies:
            by_column.setdefault(anomaly.column, []).append(anomaly)
        if not by_column:
            ET.SubElement(suite, "testcase", classname="data_check", name=xml_safe(dataset.name))
            cases += 1
            continue
        for column, found in by_column.items():
            case = ET.SubElement(suite, "testcase", classname="data_check", name=_case_name(dataset.name, column))
            failure = ET.SubElement(case, "failure", type=",".join(sorted({a.kind for a in found})),
                                    message=xml_safe("; ".join(terminal_text(a.message) for a in found)))
            failure.text = xml_safe("\n".join(f"{a.kind}: {terminal_text(a.message)}" for a in found))
            cases += 1
            failures += 1
    suite.set("tests", str(cases))
    suite.set("failures", str(failures))
    out = ET.SubElement(suite, "system-out")
    out.text = xml_safe(headline(result))
    ET.indent(suite)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suite, encoding="unicode") + "\n"


def check_github(result: DataCheckResult) -> list[str]:
    """GitHub workflow commands: an ``::error`` per anomaly (on the data file), a ``::notice`` when clean."""
    if not result.anomalies:
        return [f"::notice title={github_property('data check clean')}::{github_data(headline(result))}"]
    rows = []
    for name, a in result.anomalies:
        title = github_property(f"data {a.kind}: {a.column}" if a.column else f"data {a.kind}")
        rows.append(f"::error file={github_property(terminal_text(name))},title={title}::"
                    f"{github_data(terminal_text(a.message))}")
    return rows


def _value(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.6g}"
    return terminal_text(value)


def _top(column: Mapping[str, Any], shown: int = 3) -> str:
    top = column.get("top") or []
    if not top:
        return "—"
    text = ", ".join(f"{_value(v)} {float(s):.0%}" for v, s in top[:shown])
    return text + (" …" if len(top) > shown else "")


def profile_rows(profile: Mapping[str, Any]) -> list[tuple[str, ...]]:
    """One row per column: name, dtype, nulls, min, max, median, distinct, top values (all text)."""
    rows = []
    for column in profile.get("columns") or ():
        sketch = column.get("quantiles") or []
        median = sketch[len(sketch) // 2] if sketch and column.get("family") in ("integer", "float") else None
        distinct = column.get("distinct")
        distinct_text = "—" if distinct is None else (f"~{distinct}" if column.get("distinct_estimated")
                                                      else str(distinct))
        rows.append((terminal_text(column.get("name")), terminal_text(column.get("dtype")),
                     f"{float(column.get('null_share') or 0):.1%}", _value(column.get("min")),
                     _value(column.get("max")), _value(median), distinct_text, _top(column)))
    return rows


PROFILE_HEADER = ("column", "dtype", "nulls", "min", "max", "median", "distinct", "top values")


def profile_text(name: str, profile: Mapping[str, Any]) -> str:
    """A profile as a titled text table."""
    sampled = f", sketches from {profile.get('sample_size')} sampled rows" if profile.get("sampled") else ""
    title = f"Profile of {terminal_text(name)}: {profile.get('rows')} rows{sampled}"
    return "\n".join([title, *_table(PROFILE_HEADER, profile_rows(profile))]) + "\n"
