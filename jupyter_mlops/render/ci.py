"""The ``jupyter-mlops ci`` report: text, JSON, JUnit XML (a testsuite per step) and GitHub annotations.

Each step is rendered by its own command's renderer (:mod:`.gate`, :mod:`.data_check`, nb-smoke's report), listed
in :data:`RENDERERS` by step name, so ``ci`` reports a step exactly as the step's own command would. A step
without a renderer (or one that could not run) is shown by its one-line summary. The report object is
:class:`jupyter_mlops.app.ci.CiReport` (read by attribute: render does not import app).
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from jupyter_mlops.render.safe import terminal_text
from jupyter_mlops.report_text import github_data, github_property, xml_safe


@dataclass(frozen=True)
class StepRenderer:
    """How one step's own result is shown: headline, full text, a JUnit testsuite and GitHub annotations."""

    headline: Callable[[Any], str]
    text: Callable[[Any], str]
    junit: Callable[[Any], str]
    github: Callable[[Any], list[str]]


def _smoke_headline(report: Any) -> str:
    failed = report.failed
    first = f"; {failed[0].path} [{failed[0].reason}] {failed[0].message}" if failed else ""
    return f"{report.summary()}{first}"


def _smoke_text(report: Any) -> str:
    return "".join(line + "\n" for result in report.results for line in result.lines())


def _smoke() -> StepRenderer:
    from jupyter_mlops.notebooks.smoke.report import github_annotations, junit_xml

    return StepRenderer(_smoke_headline, _smoke_text, junit_xml, github_annotations)


def _data() -> StepRenderer:
    from jupyter_mlops.render import data_check

    return StepRenderer(data_check.headline, data_check.check_text, data_check.check_junit_xml,
                        data_check.check_github)


def _gate() -> StepRenderer:
    from jupyter_mlops.render import gate

    return StepRenderer(gate.headline, gate.gate_text, gate.gate_junit_xml, gate.gate_github)


def _servable() -> StepRenderer:
    from jupyter_mlops.render import model_check

    return StepRenderer(model_check.headline, model_check.check_text, model_check.check_junit_xml,
                        model_check.check_github)


#: Step name -> its renderer (made on first use: each imports only its own step's modules).
RENDERERS: dict[str, Callable[[], StepRenderer]] = {"smoke": _smoke, "data": _data, "gate": _gate,
                                                   "servable": _servable}

_WORDS = {"pass": "PASS", "fail": "FAIL", "error": "ERROR", "skipped": "SKIPPED"}


def _renderer(step: Any) -> StepRenderer | None:
    make = RENDERERS.get(step.name)
    return make() if make is not None and step.result is not None else None


def step_summary(step: Any, report: Any = None) -> str:
    """What a step found, in one line."""
    if step.status == "skipped":
        failed = report.failed_step if report is not None else None
        return f"not run: step {failed.name} failed first (run-all: --keep-going)" if failed else "not run"
    if step.error:
        return terminal_text(step.error)
    renderer = _renderer(step)
    if renderer is not None:
        return terminal_text(renderer.headline(step.result))
    return f"exit {step.exit_code}"


def verdict_line(report: Any) -> str:
    """The closing line: all passed, or which step failed, what, and the command that shows more."""
    ran = [s for s in report.steps if s.status != "skipped"]
    seconds = sum(s.duration for s in report.steps)
    failed = report.failed_step
    if failed is None:
        return f"ci PASSED: {len(ran)} step{'s' * (len(ran) != 1)} ({', '.join(s.name for s in ran)}) in {seconds:.1f}s"
    what = "could not run" if failed.status == "error" else "failed"
    return (f"ci FAILED at step {failed.name} ({what}, exit {failed.exit_code}): {step_summary(failed)}; "
            f"to see more, run: {failed.command}")


def ci_text(report: Any) -> str:
    """Each step's status line, then its own report indented, then the verdict line."""
    lines: list[str] = []
    for step in report.steps:
        timing = f" ({step.duration:.1f}s)" if step.status != "skipped" else ""
        lines.append(f"== {step.name}: {_WORDS[step.status]}{timing} — {step_summary(step, report)}")
        renderer = _renderer(step)
        if renderer is not None:
            body = renderer.text(step.result).rstrip("\n").splitlines()
            shown = body if step.name == "smoke" else body[1:]  # the others' first line is the headline above
            lines += [f"   {line}" if line else "" for line in shown]
        if step.status in ("fail", "error"):
            lines.append(f"   see more: {step.command}")
    lines.append(verdict_line(report))
    return "\n".join(lines) + "\n"


def ci_dict(report: Any) -> dict[str, Any]:
    """The ``--format json`` document: the verdict, the failing step, and each step with its own JSON."""
    failed = report.failed_step
    return {
        "version": 1,
        "config": report.source,
        "exit_code": report.exit_code,
        "failed_step": failed.name if failed is not None else None,
        "message": verdict_line(report),
        "steps": [{
            "name": s.name, "status": s.status, "exit_code": s.exit_code, "duration": round(s.duration, 3),
            "summary": step_summary(s, report), "command": s.command, "error": s.error or None,
            "result": s.result.to_dict() if s.result is not None and hasattr(s.result, "to_dict") else None,
        } for s in report.steps],
    }


def ci_json(report: Any) -> str:
    """:func:`ci_dict` as indented JSON."""
    return json.dumps(ci_dict(report), indent=2, default=str) + "\n"


def _suite_of(step: Any, report: Any) -> ET.Element:
    renderer = _renderer(step)
    if renderer is not None:
        suite = ET.fromstring(renderer.junit(step.result).encode("utf-8"))
        suite.set("name", step.name)
        suite.set("time", f"{step.duration:.3f}")
        return suite
    suite = ET.Element("testsuite", name=step.name, tests="1", failures="0", errors="0", skipped="0",
                       time=f"{step.duration:.3f}")
    case = ET.SubElement(suite, "testcase", classname="ci", name=step.name)
    message = xml_safe(step_summary(step, report))
    if step.status == "skipped":
        ET.SubElement(case, "skipped", message=message)
        suite.set("skipped", "1")
    elif step.status == "error":
        ET.SubElement(case, "error", type="error", message=message).text = xml_safe(f"see more: {step.command}")
        suite.set("errors", "1")
    elif step.status == "fail":
        ET.SubElement(case, "failure", type="failed", message=message).text = xml_safe(f"see more: {step.command}")
        suite.set("failures", "1")
    return suite


def ci_junit_xml(report: Any) -> str:
    """JUnit XML: ``<testsuites>`` with one testsuite per step, named after the step (skipped steps too)."""
    root = ET.Element("testsuites", name="jupyter-mlops ci")
    for step in report.steps:
        root.append(_suite_of(step, report))
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def ci_github(report: Any) -> list[str]:
    """Each step's own annotations, then one ``::error`` naming the failing step (or a ``::notice`` all passed)."""
    rows: list[str] = []
    for step in report.steps:
        renderer = _renderer(step)
        if renderer is not None:
            rows += renderer.github(step.result)
    failed = report.failed_step
    kind, title = ("notice", "ci passed") if failed is None else ("error", f"ci step {failed.name} failed")
    rows.append(f"::{kind} title={github_property(title)}::{github_data(verdict_line(report))}")
    return rows
