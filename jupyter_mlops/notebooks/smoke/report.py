"""What a smoke run found, and its renderings: text lines, JUnit XML, JSON and GitHub annotations.

Each notebook gets one :class:`NotebookResult`; a failed one names its reason (one of :data:`REASONS`), the
failing cells (index and id in the *input* notebook, first source lines, exception type and message) and where
the executed notebook was kept. The JSON report doubles as the durations file for ``--shard``.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from jupyter_mlops.report_text import github_data, github_property

REASONS = ("cell-error", "timeout", "kernel-died", "kernel-missing", "bad-notebook", "bad-parameter",
           "internal-error", "gate-regression", "gate-error", "data-anomaly", "data-error", "worker-lost")
#: Reasons that make the call a usage error or a judgement that could not be made (exit 2), not a failure (1).
EXIT_2_REASONS = ("bad-parameter", "gate-error", "data-error")
SOURCE_LINES = 3
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def strip_ansi(text: str) -> str:
    """Remove terminal colour codes (IPython tracebacks carry them)."""
    return _ANSI.sub("", text)


def source_head(source: str, lines: int = SOURCE_LINES) -> str:
    """The first ``lines`` non-blank lines of a cell's source, with an ellipsis when cut."""
    rows = [row for row in source.splitlines() if row.strip()]
    head = "\n".join(rows[:lines])
    return head + ("\n..." if len(rows) > lines else "")


@dataclass
class CellFailure:
    """One failing cell.

    Attributes:
        index: 0-based index in the input notebook (None when the failure is not tied to a cell).
        cell_id: the cell's nbformat id.
        source: first lines of the cell's source.
        ename: exception type (``""`` when unknown).
        evalue: exception message.
        traceback: the traceback lines without colour codes.
        line: 1-based line of the cell in the notebook file, for annotations.
    """

    index: int | None
    cell_id: str | None
    source: str
    ename: str
    evalue: str
    traceback: list[str] = field(default_factory=list)
    line: int | None = None

    def headline(self) -> str:
        """``cell 3 (id abc): ZeroDivisionError: division by zero``."""
        where = f"cell {self.index}" if self.index is not None else "notebook"
        if self.cell_id:
            where += f" (id {self.cell_id})"
        what = f"{self.ename}: {self.evalue}" if self.ename else self.evalue
        return f"{where}: {what}".rstrip(": ")


@dataclass
class NotebookResult:
    """The outcome of one notebook.

    Attributes:
        path: the notebook as named in reports (relative to the working directory when inside it).
        passed: True when every executed cell passed.
        reason: one of :data:`REASONS` when failed.
        message: one line saying what went wrong.
        duration: seconds from kernel start to the end of execution.
        failures: failing cells (several with ``--keep-going``).
        executed_path: where the executed notebook was written.
        parameters: the parameters injected.
        output_truncated: when the output caps dropped something: ``cells`` (input indices, None for the
            injected cell), ``dropped_bytes`` and the two caps; None otherwise.
        kernel_start_retries: why each kernel start that was retried failed (a lost port race); empty when
            the first start worked.
        gate: with ``--gate-*``, the gate's verdict on the notebook's run (``jupyter-mlops gate``'s JSON, or
            ``{"verdict": "error", "message": ...}``); None without a gate or when the notebook failed first.
        gate_lines: the gate's report as text lines, shown under the notebook's status line.
        data_check: with ``--data-against``, the check of the run's data inputs (``data check``'s JSON and the
            ``run`` checked, or ``{"verdict": "error", "message": ...}``); None without it or when the notebook
            failed first.
        data_lines: the data check's report as text lines, shown under the gate's.
        preload: with ``--preload``: ``loaded`` and ``failed`` modules (name → error) and ``seconds``; None
            when nothing was preloaded.
        fork: with ``--fork``: ``{"forked": true, "zygote": PID, ...}``, or ``{"forked": false, "fallback":
            why}`` when the kernel was started fresh instead; None without ``--fork``.
    """

    path: str
    passed: bool
    reason: str | None = None
    message: str = ""
    duration: float = 0.0
    failures: list[CellFailure] = field(default_factory=list)
    executed_path: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    output_truncated: dict[str, Any] | None = None
    kernel_start_retries: list[str] = field(default_factory=list)
    gate: dict[str, Any] | None = None
    gate_lines: list[str] = field(default_factory=list)
    data_check: dict[str, Any] | None = None
    data_lines: list[str] = field(default_factory=list)
    preload: dict[str, Any] | None = None
    fork: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types (what a cluster worker sends back; :meth:`from_dict` reads it)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NotebookResult:
        """The result :meth:`to_dict` wrote."""
        failures = [CellFailure(**cell) for cell in data.get("failures") or []]
        return cls(**{**data, "failures": failures})

    def add_gate(self, verdict: str, data: dict[str, Any], lines: list[str]) -> None:
        """Make the gate's verdict part of this result: a regression or a gate error fails the notebook.

        Args:
            verdict: ``pass``, ``regression`` or ``error``.
            data: the gate's JSON for the reports.
            lines: the gate's text report, its one-line verdict first (the failure message when it fails).
        """
        self.gate, self.gate_lines = {**data, "verdict": verdict}, list(lines)
        if verdict != "pass":
            self._fail_after_execution("gate-regression" if verdict == "regression" else "gate-error", lines)

    def add_data(self, verdict: str, data: dict[str, Any], lines: list[str]) -> None:
        """Make the data check part of this result: anomalies or a check that could not run fail the notebook.

        Args:
            verdict: ``clean``, ``anomalies`` or ``error``.
            data: the check's JSON for the reports.
            lines: the check's text report, its one-line verdict first (the failure message when it fails).
        """
        self.data_check, self.data_lines = {**data, "verdict": verdict}, list(lines)
        if verdict != "clean":
            self._fail_after_execution("data-anomaly" if verdict == "anomalies" else "data-error", lines)

    def _fail_after_execution(self, reason: str, lines: list[str]) -> None:
        # A step after the execution never replaces an earlier failure: the first one is what the notebook shows.
        if self.passed:
            self.passed, self.message, self.reason = False, lines[0] if lines else reason, reason

    def preload_lines(self) -> list[str]:
        """What ``--fork`` and ``--preload`` did for this notebook's kernel (the verbose report)."""
        out = []
        if self.fork:
            out.append(f"  kernel forked from zygote {self.fork.get('zygote')}" if self.fork.get("forked")
                       else f"  kernel not forked (fresh kernel): {self.fork.get('fallback')}")
        if not self.preload:
            return out
        loaded = ", ".join(self.preload.get("loaded", [])) or "nothing"
        out += [f"  preloaded {loaded} in {self.preload.get('seconds', 0):.2f}s"]
        out += [f"  preload failed (ignored): {name}: {why}" for name, why in self.preload.get("failed", {}).items()]
        return out

    def lines(self) -> list[str]:
        """The human report: one status line, then details for failures, truncated output and start retries."""
        retried = [f"  kernel start retried after: {why}" for why in self.kernel_start_retries]
        # A failing gate's verdict line is the FAIL line's message already.
        shown = self.gate_lines[1:] if self.gate_lines[:1] == [self.message] else self.gate_lines
        gated = [f"  gate: {line}" for line in shown]
        shown = self.data_lines[1:] if self.data_lines[:1] == [self.message] else self.data_lines
        gated += [f"  data: {line}" for line in shown]
        if self.passed:
            return [f"PASS {self.path} ({self.duration:.1f}s)", *retried, *gated, *self._truncation_lines()]
        out = [f"FAIL {self.path} [{self.reason}] {self.message}", *retried, *gated]
        for failure in self.failures:
            if len(self.failures) > 1 or failure.headline() not in self.message:
                out.append(f"  {failure.headline()}")
            out.extend(f"    | {row}" for row in failure.source.splitlines())
        out.extend(self._truncation_lines())
        if self.executed_path:
            out.append(f"  executed notebook: {self.executed_path}")
        return out

    def _truncation_lines(self) -> list[str]:
        info = self.output_truncated
        if not info:
            return []
        cells = ", ".join("injected" if c is None else str(c) for c in info.get("cells", []))
        return [f"  output truncated: {info.get('dropped_bytes', 0):,} bytes not kept from cell{'s' * (',' in cells)} "
                f"{cells} (max-cell-output {info.get('max_cell_output'):,}, max-notebook-output "
                f"{info.get('max_notebook_output'):,} bytes)"]


@dataclass
class SmokeReport:
    """All results of one call, in the order the notebooks were given."""

    results: list[NotebookResult]
    wall: float = 0.0

    @property
    def failed(self) -> list[NotebookResult]:
        """The failed results."""
        return [r for r in self.results if not r.passed]

    @property
    def exit_code(self) -> int:
        """0 all passed; 2 a bad parameter (usage error) or a gate that could not judge; else 1 when any failed."""
        if any(r.reason in EXIT_2_REASONS for r in self.results):
            return 2
        return 1 if self.failed else 0

    def summary(self) -> str:
        """``12 notebooks: 11 passed, 1 failed in 9.8s``."""
        n, bad = len(self.results), len(self.failed)
        return f"{n} notebook{'s' * (n != 1)}: {n - bad} passed, {bad} failed in {self.wall:.1f}s"

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` document (``notebooks[].duration`` feeds ``--durations-from``)."""
        return {
            "version": 1,
            "summary": {"total": len(self.results), "passed": len(self.results) - len(self.failed),
                        "failed": len(self.failed), "wall": round(self.wall, 3), "exit_code": self.exit_code},
            "notebooks": [{**asdict(r), "duration": round(r.duration, 3)} for r in self.results],
        }


def write_json(report: SmokeReport, path: str | Path) -> None:
    """Write the JSON report."""
    Path(path).write_text(json.dumps(report.to_dict(), indent=2, default=str) + "\n", encoding="utf-8")


def junit_xml(report: SmokeReport) -> str:
    """JUnit XML: one testsuite, one testcase per notebook, a failure element with the cell details."""
    suite = ET.Element("testsuite", name="nb-smoke", tests=str(len(report.results)),
                       failures=str(len(report.failed)), errors="0", time=f"{report.wall:.3f}")
    for result in report.results:
        folder, _, name = result.path.rpartition("/")
        case = ET.SubElement(suite, "testcase", classname=folder.replace("/", ".") or "nb-smoke", name=name,
                             file=result.path, time=f"{result.duration:.3f}")
        if not result.passed:
            failure = ET.SubElement(case, "failure", type=result.reason or "failed",
                                    message=f"[{result.reason}] {result.message}")
            details = result.lines()[1:]
            for cell in result.failures:
                details.extend(cell.traceback)
            failure.text = _xml_safe("\n".join(details))
        elif result.gate_lines or result.data_lines:
            ET.SubElement(case, "system-out").text = _xml_safe("\n".join(result.gate_lines + result.data_lines))
    ET.indent(suite)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suite, encoding="unicode") + "\n"


def _xml_safe(text: str) -> str:
    # XML 1.0 forbids most control characters; tracebacks can carry them.
    return re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", "?", strip_ansi(text))


def github_annotations(report: SmokeReport) -> list[str]:
    """GitHub workflow commands: one ``::error`` per failing cell (or per notebook without a cell)."""
    rows = []
    for result in report.failed:
        cells: list[CellFailure | None] = [*result.failures] or [None]
        for cell in cells:
            props = f"file={github_property(result.path)}"
            if cell is not None and cell.line is not None:
                props += f",line={cell.line}"
            props += f",title={github_property(f'nb-smoke {result.reason}')}"
            message = f"{result.path}: {cell.headline() if cell else result.message}"
            rows.append(f"::error {props}::{github_data(message)}")
    return rows
