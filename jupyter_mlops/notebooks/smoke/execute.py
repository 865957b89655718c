"""Executing one prepared notebook in a started kernel, cell by cell, with nbclient.

We drive nbclient's ``async_execute_cell`` ourselves instead of papermill's whole-notebook executor because the
smoke rules differ from papermill's: ``skip-smoke`` cells are skipped, ``raises-exception`` cells may fail
(papermill ignores that tag), ``--keep-going`` runs past failures and reports every one, and a *silent pass*
fails the notebook — an ``execute_reply`` with status ``error`` but no error output, or a code cell that never
got an execution count. Timeouts: each cell's limit is its own (metadata ``{"jupyter_mlops": {"timeout": 5}}``
or tag ``timeout=5``) else ``--cell-timeout``, capped by what is left of the notebook's ``--timeout``; on
expiry the kernel is interrupted and the partial executed notebook kept. A dead kernel is reported, not waited
on. Outputs are capped per cell and per notebook as they arrive (:mod:`.outputs`); what was dropped is
noted in the cell, in the notebook's metadata and in the result. The kept notebook marks every code cell with
what this execution did to it, clearing the cells it did not run (:func:`mark_cells`). nbclient is imported
inside :func:`execute`, so importing this module stays cheap.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from time import monotonic
from typing import Any

from jupyter_mlops.notebooks.smoke.kernel import Kernel
from jupyter_mlops.notebooks.smoke.limits import Limits
from jupyter_mlops.notebooks.smoke.report import CellFailure, NotebookResult, source_head, strip_ansi

SKIP_TAG = "skip-smoke"
RAISES_TAG = "raises-exception"

#: What the kept notebook says of each code cell, in its metadata ``jupyter_mlops.smoke`` (ADR-033).
RAN, FAILED, NOT_RUN, SKIPPED = "completed", "failed", "not-run", "skipped"
#: The same in papermill's ``metadata.papermill.status`` words, which know no "skipped": a cell that did not run
#: is ``pending`` there, as papermill leaves the cells after a failure.
PAPERMILL_STATUS = {RAN: "completed", FAILED: "failed", NOT_RUN: "pending", SKIPPED: "pending"}


@dataclass
class Job:
    """A notebook ready to execute.

    Attributes:
        path: the input notebook (never written).
        key: its name in reports.
        nb: the parameterized notebook (executed in place).
        origin: for each cell of ``nb``, its index in the input notebook (None for the injected cell).
        lines: for each input cell, its 1-based line in the file (None when unknown).
        parameters: the injected parameters.
        output: where the executed notebook is written.
        kernel_name: the kernel to start.
    """

    path: Path
    key: str
    nb: Any
    origin: list[int | None]
    lines: list[int | None]
    parameters: dict[str, Any] = field(default_factory=dict)
    output: Path | None = None
    kernel_name: str = ""


def cell_timeout(cell: Any, default: float | None) -> float | None:
    """A cell's own limit (metadata ``jupyter_mlops.timeout`` or tag ``timeout=N``), else ``default``."""
    own = cell.get("metadata", {}).get("jupyter_mlops", {}).get("timeout")
    for tag in cell.get("metadata", {}).get("tags", []):
        if isinstance(tag, str) and tag.startswith("timeout="):
            own = tag.partition("=")[2]
    try:
        return float(own) if own is not None and float(own) > 0 else default
    except (TypeError, ValueError):
        return default


def runnable(cell: Any) -> bool:
    """Code cells with source that are not tagged ``skip-smoke``."""
    return (cell.cell_type == "code" and bool(str(cell.source).strip())
            and SKIP_TAG not in cell.get("metadata", {}).get("tags", []))


class _Deadlines:
    """Per-cell timeouts capped by the notebook deadline; remembers which one bound the last cell."""

    def __init__(self, limits: Limits) -> None:
        self.default = limits.cell_timeout
        self.deadline = monotonic() + limits.timeout if limits.timeout else None
        self.by_notebook = False
        self.last = 0.0

    def __call__(self, cell: Any) -> float | None:
        own = cell_timeout(cell, self.default)
        self.by_notebook = False
        if self.deadline is not None:
            left = max(self.deadline - monotonic(), 0.01)  # 0 would mean "no timeout" to nbclient
            if own is None or left < own:
                own, self.by_notebook = left, True
        self.last = own or 0.0
        return own

    def expired(self) -> bool:
        return self.deadline is not None and monotonic() >= self.deadline


#: Longest exception message carried into a report's one-line headline (the executed notebook keeps more).
MAX_EVALUE = 1000


def _failure(job: Job, index: int, ename: str, evalue: str, traceback: list[str] | None = None) -> CellFailure:
    if len(evalue) > MAX_EVALUE:
        evalue = evalue[:MAX_EVALUE] + f"... ({len(evalue) - MAX_EVALUE:,} more characters)"
    cell = job.nb.cells[index]
    original = job.origin[index] if index < len(job.origin) else None
    lines = "\n".join(strip_ansi(t) for t in traceback or []).splitlines()
    source = source_head(str(cell.source)) if original is not None else "(injected parameters)"
    return CellFailure(index=original, cell_id=cell.get("id"), source=source, ename=ename, evalue=evalue,
                       traceback=lines, line=job.lines[original] if original is not None else None)


def check_cell(job: Job, index: int, reply: dict[str, Any] | None) -> CellFailure | None:
    """The failure a finished cell represents, if any (error output, silent error, never ran)."""
    cell = job.nb.cells[index]
    content = (reply or {}).get("content", {})
    status = content.get("status")
    errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    if RAISES_TAG in cell.get("metadata", {}).get("tags", []):
        return None
    if errors:
        first = errors[0]
        return _failure(job, index, first.get("ename", ""), first.get("evalue", ""), first.get("traceback"))
    if status == "error":
        # IPython shows some errors (UsageError, a failing displayhook) without an error output, but its reply
        # still names them; only a reply that names nothing is a silent failure.
        if content.get("ename") or content.get("evalue"):
            return _failure(job, index, str(content.get("ename") or ""), str(content.get("evalue") or ""),
                            content.get("traceback"))
        return _failure(job, index, "SilentError", "execute_reply has status 'error' but the cell produced no "
                        "error output (silent failure)", content.get("traceback"))
    if status == "aborted":
        return _failure(job, index, "Aborted", "the kernel aborted the execution of this cell")
    if cell.get("execution_count") is None:
        return _failure(job, index, "NotExecuted", "the cell never ran (no execution count after execution)")
    return None


async def execute(job: Job, kernel: Kernel, limits: Limits) -> NotebookResult:
    """Run every runnable cell of ``job.nb`` in ``kernel``; write the executed notebook; return the result."""
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    from jupyter_mlops.notebooks.smoke.outputs import CappedClient

    replies: dict[int, dict[str, Any]] = {}
    deadlines = _Deadlines(limits)

    def on_executed(cell: Any, cell_index: int, execute_reply: dict[str, Any]) -> None:
        replies[cell_index] = execute_reply

    client = CappedClient(
        job.nb, km=kernel.manager, timeout_func=deadlines, allow_errors=True, interrupt_on_timeout=False,
        raise_on_iopub_timeout=False, iopub_timeout=4, on_cell_executed=on_executed, record_timing=False,
        resources={"metadata": {"path": str(job.path.parent)}}, max_cell_output=limits.max_cell_output,
        max_notebook_output=limits.max_notebook_output,
    )
    client.kc = kernel.client
    failures: list[CellFailure] = []
    reason: str | None = None
    states: dict[int, str] = {}
    for index, cell in enumerate(job.nb.cells):
        if not runnable(cell):
            continue
        if deadlines.expired():
            reason = "timeout"
            failures.append(_failure(job, index, "Timeout", f"notebook exceeded --timeout {limits.timeout:g}s "
                                     "before this cell started"))
            break
        try:
            await client.async_execute_cell(cell, index, execution_count=None)
        except CellTimeoutError:
            reason, states[index] = "timeout", FAILED
            failures.append(_timed_out(job, index, deadlines, limits))
            await _interrupt(kernel)
            break
        except DeadKernelError:
            reason, states[index] = "kernel-died", FAILED
            failures.append(await _died(job, index, kernel))
            break
        finally:
            client.note_truncation(job.nb.cells[index], index)
        failure = check_cell(job, index, replies.get(index))
        states[index] = RAN if failure is None else FAILED
        if failure is not None:
            failures.append(failure)
            reason = reason or "cell-error"
            if not limits.keep_going:
                break
    mark_cells(job.nb, states)
    return _result(job, reason, failures, _truncation(job, client, limits))


def mark_cells(nb: Any, states: dict[int, str]) -> None:
    """Make the kept notebook tell what this execution did to each code cell.

    A cell missing from ``states`` did not run here: after a failure (``not-run``) or because it is not
    runnable (``skipped``). Its stored outputs and execution count come from some earlier run and would make
    the kept notebook read as a full run, so they are cleared, as papermill clears the cells it did not run.

    Args:
        nb: the executed notebook (changed in place).
        states: :data:`RAN` or :data:`FAILED` for each cell index that was executed.
    """
    for index, cell in enumerate(nb.cells):
        if cell.get("cell_type") != "code":
            continue
        state = states.get(index) or (NOT_RUN if runnable(cell) else SKIPPED)
        if state in (NOT_RUN, SKIPPED):
            cell["outputs"] = []
            cell["execution_count"] = None
        meta = cell.setdefault("metadata", {})
        own = meta.get("jupyter_mlops")
        meta["jupyter_mlops"] = {**(own if isinstance(own, dict) else {}), "smoke": state}
        # Replaced whole: timings a papermill run left in the input belong to that run, not to this one.
        meta["papermill"] = {"status": PAPERMILL_STATUS[state], "exception": state == FAILED}


def _truncation(job: Job, client: Any, limits: Limits) -> dict[str, Any] | None:
    """What the output caps dropped (None when nothing), also recorded in the notebook's metadata."""
    if not client.dropped:
        return None
    cells = sorted(client.dropped)
    summary = {
        "cells": [job.origin[i] if i < len(job.origin) else None for i in cells],
        "dropped_bytes": sum(client.dropped.values()),
        "max_cell_output": limits.max_cell_output,
        "max_notebook_output": limits.max_notebook_output,
    }
    meta = dict(job.nb.metadata.get("jupyter_mlops") or {})
    job.nb.metadata["jupyter_mlops"] = {**meta, "output_truncated": summary}
    return summary


def _timed_out(job: Job, index: int, deadlines: _Deadlines, limits: Limits) -> CellFailure:
    import nbformat

    if deadlines.by_notebook:
        text = f"notebook exceeded --timeout {limits.timeout:g}s while running this cell"
    else:
        text = f"cell exceeded its timeout of {deadlines.last:g}s"
    # Leave the reason in the executed notebook too, where someone opening it will look.
    job.nb.cells[index].setdefault("outputs", []).append(
        nbformat.v4.new_output("error", ename="Timeout", evalue=text, traceback=[f"nb-smoke: {text}"]))
    return _failure(job, index, "Timeout", text)


async def _interrupt(kernel: Kernel) -> None:
    try:
        await kernel.manager.interrupt_kernel()
    except Exception:  # noqa: BLE001 - the kernel is shut down right after anyway
        pass


async def _died(job: Job, index: int, kernel: Kernel) -> CellFailure:
    code = kernel.exit_code()
    detail = f" (exit code {code})" if code is not None else ""
    return _failure(job, index, "DeadKernel", f"the kernel died while running this cell{detail}")


def _shown(path: Path) -> str:
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(path)


def _result(job: Job, reason: str | None, failures: list[CellFailure],
            truncated: dict[str, Any] | None = None) -> NotebookResult:
    from jupyter_mlops.notebooks.io import write_notebook

    executed = None
    if job.output is not None:
        job.output.parent.mkdir(parents=True, exist_ok=True)
        write_notebook(job.nb, job.output)
        executed = _shown(job.output)
    if not failures:
        return NotebookResult(path=job.key, passed=True, executed_path=executed, parameters=job.parameters,
                              output_truncated=truncated)
    message = failures[0].headline()
    if len(failures) > 1:
        message += f" (and {len(failures) - 1} more failing cell{'s' * (len(failures) > 2)})"
    return NotebookResult(path=job.key, passed=False, reason=reason, message=message, failures=failures,
                          executed_path=executed, parameters=job.parameters, output_truncated=truncated)
