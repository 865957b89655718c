"""``reproduce RUN``: verify what a run depended on, execute it again in a fresh kernel, and judge the metrics.

One use case for every face (CLI, magic). The steps are :mod:`.verify` (data, environment, git before anything
runs), :mod:`.execute` (the notebook to run and papermill) and :mod:`.verdict` (metrics and tolerances). A refusal
is a result, not an exception, so the face can show the report that explains it; malformed input raises
``InvalidInput`` (exit 2) before anything is read or run.

Outcomes and exit codes: ``reproduced`` 0; ``compared`` 0 (the inputs were not the recorded ones: parameters
overridden, or data changed under ``--allow-changed-data`` with every metric within tolerance: never called a
reproduction); ``diverged`` 1 (also with changed data; a what-if run with overridden parameters is compared whatever
its metrics); ``refused`` and ``failed`` 2 (could not run).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jupyter_mlops.app.reproduce import execute, script, verdict, verify
from jupyter_mlops.app.reproduce import modules as local_modules
from jupyter_mlops.app.reproduce.progress import DONE, JUDGING, VERIFYING, ProgressCallback, Reporter
from jupyter_mlops.errors import Conflict, InvalidInput, NotFound
from jupyter_mlops.store.blobs import read_snapshot

if TYPE_CHECKING:
    from jupyter_mlops.app.workspace import Workspace
    from jupyter_mlops.entities import Run

__all__ = ["AS_EXECUTED", "TOP_TO_BOTTOM", "Reproduction", "reproduce_run"]

TOP_TO_BOTTOM, AS_EXECUTED, SCRIPT = "top-to-bottom", "as-executed", "script"
REPRODUCED, COMPARED, DIVERGED, REFUSED, FAILED = "reproduced", "compared", "diverged", "refused", "failed"
EXIT_CODES = {REPRODUCED: 0, COMPARED: 0, DIVERGED: 1, REFUSED: 2, FAILED: 2}
#: Notebook-state flags that make a top-to-bottom execution something other than what ran.
ORDER_FLAGS = {"out_of_order": "cells ran in another order than the notebook shows",
               "edited_after_run": "cells were edited after they ran"}
#: How long a reproduced run may take to show its end after the kernel exited (its writer flushes at exit; a
#: loaded CI machine needed more than 10 s once).
END_WAIT_S = 30.0


@dataclass
class Reproduction:
    """What ``reproduce`` found and did.

    Attributes:
        original: the run reproduced.
        mode: ``top-to-bottom``, ``as-executed`` or ``script`` (a script run's recorded source and command line).
        outcome: ``reproduced``, ``compared``, ``diverged``, ``refused`` or ``failed``.
        reason: one line saying why it was refused or failed (empty otherwise).
        verification: the checks made before executing.
        reproduction: the new run (None when nothing ran, or the notebook tracked no run).
        metrics: the verdict, metric by metric.
        overrides: the ``--param`` values (then the outcome is ``compared``, never ``reproduced``).
        injected: the parameters handed to the notebook.
        caveats: why the inputs were not the recorded ones (overridden parameters, changed data).
        script: for a script run, its recorded command and the one replayed (``ScriptCommand.to_dict``).
        modules: the recorded local modules restored for the execution, each with how its current file compares
            (ADR-103).
    """

    original: Run
    mode: str
    outcome: str
    verification: verify.Verification
    reason: str = ""
    reproduction: Run | None = None
    metrics: list[verdict.MetricVerdict] = field(default_factory=list)
    overrides: dict[str, Any] = field(default_factory=dict)
    injected: dict[str, Any] = field(default_factory=dict)
    caveats: list[str] = field(default_factory=list)
    script: dict[str, Any] | None = None
    modules: list[local_modules.RestoredModule] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """0 reproduced (or compared), 1 diverged, 2 could not run."""
        return EXIT_CODES[self.outcome]

    def to_dict(self) -> dict[str, Any]:
        """JSON shape (``jupyter-mlops reproduce --format json``)."""
        return {
            "run": self.original.id,
            "mode": self.mode,
            "outcome": self.outcome,
            "exit_code": self.exit_code,
            "reason": self.reason,
            "reproduction": self.reproduction.id if self.reproduction is not None else None,
            "overrides": self.overrides,
            "parameters": self.injected,
            "caveats": self.caveats,
            "verification": self.verification.to_dict(),
            "metrics": [row.to_dict() for row in self.metrics],
            "script": self.script,
            "modules": [module.to_dict() for module in self.modules],
        }


def _resolve(workspace: Workspace, ref: str) -> Run:
    try:
        return workspace.store.get_run(workspace.store.resolve_run(ref.strip()))
    except (NotFound, Conflict) as exc:  # a bad RUN argument is bad input: exit 2, like a bad option
        raise InvalidInput(exc.message) from None


def _order_reason(run: Run) -> str | None:
    raised = [name for name in ORDER_FLAGS if run.flags.get(name)]
    if not raised:
        return None
    parts = []
    for name in raised:
        cells = run.flag_cells.get(name) or []
        where = f" (cells {', '.join(map(str, cells))})" if cells else ""
        parts.append(f"{ORDER_FLAGS[name]}{where}")
    return ("not reproducible as run top-to-bottom: " + "; ".join(parts)
            + "; replay the recorded cell sequence with --as-executed")


def _data_reason(checks: verify.Verification, allow_changed: bool) -> str | None:
    if checks.missing_data:
        missing = checks.missing_data[0]
        return f"data input {missing.name!r} is gone: {missing.path} no longer exists"
    if checks.changed_data and not allow_changed:
        changed = checks.changed_data[0]
        more = f" (and {len(checks.changed_data) - 1} more)" if len(checks.changed_data) > 1 else ""
        return (f"data changed since the run: {changed.path} was {changed.old_hash}, is {changed.new_hash}{more}; "
                "pass --allow-changed-data to run anyway")
    return None


def _notebook(workspace: Workspace, run: Run, mode: str) -> tuple[Any, str | None]:
    """The notebook to execute, or None and why not."""
    import nbformat

    code = read_snapshot(workspace.blobs, run.code_hash)
    data = None
    if run.notebook_hash:
        try:
            data = workspace.blobs.get_bytes(run.notebook_hash)
        except (NotFound, OSError):
            data = None
    saved = nbformat.reads(data.decode("utf-8"), as_version=4) if data is not None else None  # type: ignore[no-untyped-call]
    if mode == AS_EXECUTED:
        if code is None or not code.get("cells"):
            return None, f"run {run.id[:8]} has no recorded code snapshot to replay"
        kernelspec = saved.metadata.get("kernelspec") if saved is not None else None
        return execute.build_as_executed(code, kernelspec), None
    if saved is None:
        hint = "; replay its recorded cells with --as-executed" if code and code.get("cells") else ""
        return None, f"run {run.id[:8]} has no notebook snapshot{hint}"
    return saved, None


def _find_reproduction(workspace: Workspace, original: Run, started: float) -> Run | None:
    deadline = time.monotonic() + END_WAIT_S
    while True:
        page = workspace.store.search_runs(filter=f'reproduction_of = "{original.id}"', order_by=["start_time DESC"],
                                           limit=20)
        mine = [run for run in page.items if run.start_time >= started - 1.0]
        if not mine:
            return None
        # A notebook may start several runs: the one named like the original, else the last one.
        chosen = next((run for run in mine if run.name == original.name), mine[0])
        if chosen.status.value != "running" or time.monotonic() > deadline:
            return chosen
        time.sleep(0.1)


def reproduce_run(
    workspace: Workspace,
    ref: str,
    *,
    as_executed: bool = False,
    allow_changed_data: bool = False,
    strict_env: bool = False,
    tolerances: Sequence[str] = (),
    params: Sequence[str] = (),
    timeout: float | None = None,
    progress: ProgressCallback | None = None,
) -> Reproduction:
    """Verify, execute again and judge run ``ref``.

    Args:
        workspace: the project's stores (the reproduction is tracked into the same store).
        ref: run id, unique id prefix or unique name.
        as_executed: replay the recorded executed-cell sequence instead of the notebook top to bottom.
        allow_changed_data: run even though recorded data inputs changed (a missing input is always refused).
        strict_env: refuse when the Python version or a package differs from the recorded environment.
        tolerances: ``--tolerance`` values (``1e-6``, ``auc=0.002``, ``auc=1%``).
        params: ``--param NAME=VALUE`` overrides (the outcome is then ``compared`` at best).
        timeout: seconds each cell may run (None: no limit).
        progress: called with each :class:`~.progress.Progress` (verifying, executing cell i of n, judging, done).

    Raises:
        InvalidInput: unknown or ambiguous run, malformed tolerance or parameter, a parameter the notebook lacks.
    """
    limits = verdict.parse_tolerances(tolerances)
    overrides = execute.parse_params(params)
    original = _resolve(workspace, ref)
    report = Reporter(progress)
    report(VERIFYING)
    mode = AS_EXECUTED if as_executed else TOP_TO_BOTTOM
    checks = verify.Verification(
        data=verify.check_data(original, workspace.store.stat_cache()),
        env=verify.check_env(read_snapshot(workspace.blobs, original.env_hash)),
        git=verify.check_git(original, workspace.settings.project_root),
    )
    result = Reproduction(original, mode, REFUSED, checks, overrides=overrides)
    reason = _data_reason(checks, allow_changed_data)
    if reason is None and strict_env and checks.env.differs:
        reason = "the environment differs from the recorded one (--strict-env)"
    if reason is None and mode == TOP_TO_BOTTOM:
        reason = _order_reason(original)
    command = script.recorded_command(read_snapshot(workspace.blobs, original.code_hash))
    argv: list[str] = []
    if isinstance(command, script.ScriptCommand):
        if as_executed:
            raise InvalidInput(f"--as-executed replays a notebook's executed cells; run {original.id[:8]} is a "
                               "script run, which reproduce replays by its recorded command line")
        argv = script.override_argv(command, original.params, overrides)
        result.mode, result.script = SCRIPT, command.to_dict(argv)
        reason = reason or script.refusal(command, argv)
    elif command is not None:
        reason = reason or f"run {original.id[:8]} is a {command}"
    nb = None
    if reason is None and command is None:
        nb, reason = _notebook(workspace, original, mode)
    if reason is not None:
        result.reason = reason
        return _finished(result, report)
    restore = local_modules.recorded_modules(workspace.blobs, read_snapshot(workspace.blobs, original.code_hash))
    result.modules = list(restore.modules)
    if isinstance(command, script.ScriptCommand):
        ran = script.execute_script(command, argv, settings=workspace.settings, original_id=original.id,
                                    what_if=bool(overrides), timeout=timeout, modules=restore.sources)
    else:
        # Replayed cells are the sources as they ran, values included: only overrides are injected into them.
        recorded = original.params if mode == TOP_TO_BOTTOM else {}
        result.injected = execute.inject(nb, recorded, overrides, tags_known=mode == TOP_TO_BOTTOM)
        folder = Path(original.notebook_path).parent if original.notebook_path else workspace.settings.project_root
        cwd = folder if folder.is_dir() else workspace.settings.project_root
        ran = execute.execute_notebook(nb, settings=workspace.settings, cwd=cwd, original_id=original.id,
                                       what_if=bool(overrides), injected=result.injected, timeout=timeout,
                                       on_cell=report.cell, modules=restore.sources)
    report(JUDGING)
    result.reproduction = _find_reproduction(workspace, original, ran.started)
    if result.reproduction is not None and command is None:
        # papermill ran a temporary copy, removed by now: the run names the notebook it reproduces instead.
        result.reproduction = workspace.store.update_run(result.reproduction.id, notebook_path=original.notebook_path)
    what = "script" if command is not None else "notebook"
    if ran.error is not None:
        result.outcome, result.reason = FAILED, f"the {what} did not run to the end: {ran.error}"
        return _finished(result, report)
    if result.reproduction is None:
        result.outcome, result.reason = FAILED, f"the {what} ran but tracked no run (no %track start or start_run)"
        return _finished(result, report)
    result.metrics = verdict.compare_metrics(original.metrics, result.reproduction.metrics, limits)
    if overrides:
        result.caveats.append(f"parameters overridden: {', '.join(sorted(overrides))}")
    if checks.changed_data:
        result.caveats.append(f"data changed: {', '.join(c.path or c.name for c in checks.changed_data)}")
    diverged = any(row.status in verdict.FAILING for row in result.metrics)
    if overrides:
        result.outcome = COMPARED  # a what-if run: differences are its point
    elif diverged:
        result.outcome = DIVERGED
    else:
        result.outcome = COMPARED if result.caveats else REPRODUCED
    return _finished(result, report)


def _finished(result: Reproduction, report: Reporter) -> Reproduction:
    report(DONE)
    return result
