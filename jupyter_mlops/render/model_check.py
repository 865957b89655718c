"""A servability report as terminal text and JUnit XML (pure presentation of ``comparing.servability``).

The JUnit form follows ``data check``'s and the gate's: one testsuite, a testcase per check, a ``failure``
element for a failed check, a ``skipped`` one for a check not judged. Standard library only.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from jupyter_mlops.comparing.servability import Servability
from jupyter_mlops.render.safe import terminal_text
from jupyter_mlops.report_text import github_data, github_property, xml_safe

__all__ = ["check_github", "check_junit_xml", "check_text", "headline"]

_MARK = {"pass": "ok  ", "fail": "FAIL", "skip": "skip"}


def headline(result: Servability) -> str:
    """``Servability of churn:1.0.0: SERVABLE (50 rows, p95 3.5 ms per row)`` or the first failure / the error."""
    verdict = result.verdict.upper()
    if result.error:
        return f"Servability of {result.ref}: could not check ({result.error})"
    if result.failures:
        first = result.failures[0]
        return f"Servability of {result.ref}: {verdict} ({first.name}: {first.detail})"
    p95 = "" if result.latency_p95_ms is None else f", p95 {result.latency_p95_ms:.2f} ms per row"
    return f"Servability of {result.ref}: {verdict} ({result.rows} rows{p95})"


def check_text(result: Servability) -> str:
    """The headline, then one line per check and the key packages."""
    lines = [headline(result)]
    width = max((len(c.name) for c in result.checks), default=0)
    lines += [f"  {_MARK.get(c.status, c.status)}  {c.name.ljust(width)}  {c.detail}".rstrip() for c in result.checks]
    if result.key_packages:
        lines.append("  key packages: " + ", ".join(f"{k} {v}" for k, v in result.key_packages.items()))
    if result.sandbox_ms is not None:
        load = "" if result.load_ms is None else f", model load {result.load_ms:.0f} ms"
        lines.append(f"  sandbox: {result.sandbox_ms:.0f} ms in all{load}; entry point {result.entry_point}, "
                     f"sample {result.sample}")
    return "\n".join(terminal_text(line) for line in lines) + "\n"


def check_junit_xml(result: Servability) -> str:
    """JUnit XML: testsuite ``jupyter-mlops models check``, a testcase per check (an error is one errored case)."""
    suite = ET.Element("testsuite", name="jupyter-mlops models check", time="0")
    if result.error:
        case = ET.SubElement(suite, "testcase", classname="models_check", name=xml_safe(result.ref))
        ET.SubElement(case, "error", message=xml_safe(terminal_text(result.error)))
    for check in result.checks:
        case = ET.SubElement(suite, "testcase", classname="models_check",
                             name=xml_safe(f"{result.ref}:{check.name}"))
        if check.status == "fail":
            failure = ET.SubElement(case, "failure", type=check.name, message=xml_safe(terminal_text(check.detail)))
            failure.text = xml_safe(terminal_text(check.detail))
        elif check.status == "skip":
            ET.SubElement(case, "skipped", message=xml_safe(terminal_text(check.detail)))
    suite.set("tests", str(len(suite.findall("testcase"))))
    suite.set("failures", str(len(result.failures)))
    suite.set("errors", "1" if result.error else "0")
    suite.set("skipped", str(sum(1 for c in result.checks if c.status == "skip")))
    out = ET.SubElement(suite, "system-out")
    out.text = xml_safe(terminal_text(headline(result)))
    ET.indent(suite)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suite, encoding="unicode") + "\n"


def check_github(result: Servability) -> list[str]:
    """GitHub workflow commands: an ``::error`` per failed check (or for an error), a ``::notice`` when servable."""
    if result.error:
        return [f"::error title={github_property('models check error')}::{github_data(headline(result))}"]
    if not result.failures:
        return [f"::notice title={github_property('servable')}::{github_data(headline(result))}"]
    return [f"::error title={github_property('not servable')}::"
            f"{github_data(terminal_text(f'{result.ref}: {check.name}: {check.detail}'))}" for check in result.failures]
