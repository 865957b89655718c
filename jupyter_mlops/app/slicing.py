"""``slice RUN METRIC``: the executed cells that produced a metric's value (or a variable), as clean code, verified.

One use case for the CLI and the magic. The cells are the run's code snapshot (context cells, then every cell it
executed, as they ran) or, for ``%track slice`` in a live kernel, that kernel's executed-cell log; the slice itself
is :func:`jupyter_mlops.notebooks.slicing.slice_cells` (pure). ``verify`` executes the emitted slice in a fresh
kernel of this interpreter (nbclient through papermill, as ``reproduce`` does) in the run's notebook folder, with a
throwaway store so the verification leaves no run behind, and judges the metric with ``reproduce``'s verdict:
``reproduced`` 0 (the slice gives the recorded value, within the tolerance), ``diverged`` 1, ``failed`` 2 (it
could not run to the end, or tracked nothing).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jupyter_mlops.app.reproduce import DIVERGED, EXIT_CODES, FAILED, REPRODUCED, execute, verdict
from jupyter_mlops.capture.code import notebook_cells
from jupyter_mlops.capture.parameters import find_parameters_cell
from jupyter_mlops.errors import Conflict, InvalidInput, NotFound
from jupyter_mlops.notebooks.slicing import emit
from jupyter_mlops.notebooks.slicing.slicer import Cell, Slice, slice_cells
from jupyter_mlops.store.blobs import read_snapshot

if TYPE_CHECKING:
    from jupyter_mlops.app.workspace import Workspace
    from jupyter_mlops.entities import Run

__all__ = ["TARGETS", "SliceResult", "SliceVerification", "slice_report", "slice_run", "slice_session"]

TARGETS = ("script", "notebook", "package")
#: How long the verification waits for the slice's run to show its end after the kernel exited.
END_WAIT_S = 30.0


@dataclass
class SliceVerification:
    """The slice executed in a fresh kernel: its outcome (``reproduce``'s words) and the metric's verdict."""

    outcome: str
    reason: str = ""
    metric: verdict.MetricVerdict | None = None

    @property
    def exit_code(self) -> int:
        """0 reproduced, 1 diverged, 2 could not run."""
        return EXIT_CODES[self.outcome]

    def to_dict(self) -> dict[str, Any]:
        """JSON shape."""
        return {"outcome": self.outcome, "exit_code": self.exit_code, "reason": self.reason,
                "metric": self.metric.to_dict() if self.metric is not None else None}


@dataclass
class SliceResult:
    """A slice of a run (or of a live session), its emitted code, what was written and the verification."""

    piece: Slice
    cells: list[Cell]
    emitted: list[emit.EmittedCell]
    title: str
    run: Run | None = None
    recorded: float | None = None
    written: list[Path] = field(default_factory=list)
    verification: SliceVerification | None = None

    @property
    def exit_code(self) -> int:
        """0, or the verification's exit code."""
        return self.verification.exit_code if self.verification is not None else 0

    @property
    def script(self) -> str:
        """The slice as a percent-format script."""
        return emit.script_text(self.emitted, self.title)

    def to_dict(self) -> dict[str, Any]:
        """JSON shape (``jupyter-mlops slice --format json``)."""
        return {
            "run": self.run.id if self.run is not None else None,
            **self.piece.to_dict(self.cells),
            "recorded": self.recorded,
            "code": self.script,
            "written": [str(path) for path in self.written],
            "verification": self.verification.to_dict() if self.verification is not None else None,
            "exit_code": self.exit_code,
        }


def _resolve(workspace: Workspace, ref: str) -> Run:
    try:
        return workspace.store.get_run(workspace.store.resolve_run(ref.strip()))
    except (NotFound, Conflict) as exc:
        raise InvalidInput(exc.message) from None


def run_cells(workspace: Workspace, run: Run) -> tuple[list[Cell], int | None]:
    """The run's executed cells (its code snapshot) and the position of its parameters cell, if any."""
    snapshot = read_snapshot(workspace.blobs, run.code_hash)
    if snapshot is None or not snapshot.get("cells") or snapshot.get("script"):
        raise InvalidInput(f"run {run.id[:8]} has no executed notebook cells to slice")
    cells = [Cell.from_json(item) for item in sorted(snapshot["cells"], key=lambda c: c.get("index", 0))]
    tags: dict[str, list[str]] = {}
    if run.notebook_hash:
        try:
            saved = notebook_cells(workspace.blobs.get_bytes(run.notebook_hash)) or []
        except (NotFound, OSError):
            saved = []
        tags = {str(cell["id"]): list(cell.get("tags") or []) for cell in saved if cell.get("id")}
    return cells, parameters_position(cells, tags)


def parameters_position(cells: Sequence[Cell], tags: Mapping[str, list[str]] | None = None) -> int | None:
    """The parameters cell among executed cells (tagged by the saved notebook, else papermill's or inferred)."""
    entries = [{"source": cell.source, "id": cell.cell_id,
                "metadata": {"tags": (tags or {}).get(cell.cell_id or "", [])}} for cell in cells]
    found = find_parameters_cell(entries)
    return found.index if found is not None else None


def slice_run(
    workspace: Workspace,
    run_ref: str,
    target: str,
    *,
    to: str | None = None,
    output: str | os.PathLike[str] | None = None,
    force: bool = False,
    verify: bool = False,
    tolerances: Sequence[str] = (),
    timeout: float | None = None,
) -> SliceResult:
    """Slice run ``run_ref`` for ``target`` (a metric key, else a variable name), write it, and verify it.

    Args:
        workspace: the project's stores.
        run_ref: run id, unique id prefix or unique name.
        target: a metric the run logged (the slice ends at the cell that logged its recorded value), or a name.
        to: ``script``, ``notebook`` or ``package``, written to ``output``.
        output: the file (script, notebook) or the package folder.
        force: replace an existing output.
        verify: execute the slice in a fresh kernel and compare the metric with its recorded value.
        tolerances: ``--tolerance`` values, as for ``reproduce``.
        timeout: seconds each cell may run during the verification.

    Raises:
        InvalidInput: unknown run, a run without notebook cells, a target no cell produced, ``verify`` of a
            variable, a bad ``to``/``output`` or tolerance. Conflict: the output exists (without ``force``).
    """
    limits = verdict.parse_tolerances(tolerances)
    _check_output(to, output, force)
    run = _resolve(workspace, run_ref)
    cells, parameters = run_cells(workspace, run)
    kind = "metric" if target in run.metrics else None
    return _finish(workspace, cells, target, kind, parameters, run, to, output, force, verify, limits, timeout)


def slice_report(workspace: Workspace, run_ref: str, target: str, *, metric: bool = False) -> dict[str, Any]:
    """The slice of a run as JSON for the sidebar (``GET runs/{id}/slice``): nothing written, nothing executed.

    ``slice_run``'s computation, plus what a client needs to show it and to open it: the emitted cells (clean code,
    the execution each came from) and the emitted notebook as nbformat v4 JSON (ADR-109).

    Args:
        workspace: the project's stores.
        run_ref: run id, unique id prefix or unique name.
        target: a metric key or a variable name.
        metric: ``target`` must be a metric the run logged.

    Raises:
        NotFound: no such run, or (``metric``) the run logged no metric ``target``. Conflict: an ambiguous
            reference. InvalidInput: a run without notebook cells, a target no executed cell produced.
    """
    run = workspace.store.get_run(workspace.store.resolve_run(run_ref))
    if metric and target not in run.metrics:
        raise NotFound(f"run {run.id[:8]} logged no metric {target!r}")
    if target not in run.metrics and not target.isidentifier():
        raise InvalidInput(f"{target[:60]!r} is neither a metric of run {run.id[:8]} nor a Python name")
    cells, parameters = run_cells(workspace, run)
    kind = "metric" if target in run.metrics else None
    result = _finish(workspace, cells, target, kind, parameters, run, None, None, False, False,
                     verdict.parse_tolerances(()), None)
    report = result.to_dict()
    for unused in ("written", "verification", "exit_code"):
        report.pop(unused, None)
    nb = emit.notebook(result.emitted, result.title)
    return {
        **report,
        "run_name": run.name,
        "title": result.title,
        "emitted": [{"code": cell.code, "position": cell.position, "execution_count": cell.execution_count,
                     "parameters": cell.parameters} for cell in result.emitted],
        "notebook": json.loads(json.dumps(nb)),  # plain dicts; sources as one string each
    }


def slice_session(
    workspace: Workspace,
    cells: Sequence[Cell],
    target: str,
    *,
    run_ref: str | None = None,
    to: str | None = None,
    output: str | os.PathLike[str] | None = None,
    force: bool = False,
    verify: bool = False,
    tolerances: Sequence[str] = (),
    timeout: float | None = None,
) -> SliceResult:
    """Slice a live kernel's executed cells (``%track slice``); ``run_ref`` names the run whose value to verify."""
    limits = verdict.parse_tolerances(tolerances)
    _check_output(to, output, force)
    run = _resolve(workspace, run_ref) if run_ref is not None else None
    if not cells:
        raise InvalidInput("no executed cells to slice yet")
    kind = "metric" if run is not None and target in run.metrics else None
    return _finish(workspace, list(cells), target, kind, parameters_position(cells), run, to, output, force, verify,
                   limits, timeout)


def _finish(workspace: Workspace, cells: list[Cell], target: str, kind: str | None, parameters: int | None,
            run: Run | None, to: str | None, output: Any, force: bool, verify: bool, limits: verdict.Tolerances,
            timeout: float | None) -> SliceResult:
    piece = slice_cells(cells, target, kind=kind, parameters=parameters)
    if verify and piece.kind != "metric":
        raise InvalidInput(f"--verify checks a metric's recorded value; {target!r} is a variable, not a metric")
    if verify and (run is None or target not in run.metrics):
        raise InvalidInput(f"--verify needs a run that recorded the metric {target!r} (pass --run RUN)")
    emitted = emit.emitted_cells(piece, cells, run_name=run.name if run is not None else None)
    result = SliceResult(piece, cells, emitted, _title(piece, cells, run), run,
                         run.metrics.get(target) if run is not None else None)
    if to is not None and output is not None:
        result.written = _write(result, to, Path(output), force, _folder(workspace, run))
    if verify and run is not None:
        result.verification = _verify(workspace, result, limits, timeout)
    return result


def _title(piece: Slice, cells: Sequence[Cell], run: Run | None) -> str:
    where = f"run {run.name!r} ({run.id[:8]})" if run is not None else "this kernel session"
    counts = ", ".join(str(cells[p].execution_count) if cells[p].execution_count is not None else "?"
                       for p in piece.cells)
    lines = [f"Slice of {where} for {piece.kind} {piece.target!r}: {len(piece.cells)} of {len(cells)} executed "
             f"cells (In[{counts}]), by jupyter-mlops slice."]
    lines += [f"Unsure: In[{cells[p].execution_count}] {reason}" for p, reason in piece.unsure]
    return "\n".join(lines)


def _check_output(to: str | None, output: Any, force: bool) -> None:
    if to is None and output is None:
        return
    if to not in TARGETS or output is None:
        raise InvalidInput(f"--to takes a kind ({', '.join(TARGETS)}) and a path, e.g. --to script slice.py")
    path = Path(output)
    if path.exists() and not force and (path.is_file() or any(path.iterdir())):
        raise Conflict(f"{path} already exists; pass --force to overwrite it")


def _folder(workspace: Workspace, run: Run | None) -> Path:
    """Where the run's notebook ran (its data paths are relative to it), else the project root."""
    if run is not None and run.notebook_path and Path(run.notebook_path).parent.is_dir():
        return Path(run.notebook_path).parent
    return Path(workspace.settings.project_root)


def _write(result: SliceResult, to: str, output: Path, force: bool, folder: Path) -> list[Path]:
    if to == "script":
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(result.script, encoding="utf-8")
        return [output]
    nb = emit.notebook(result.emitted, result.title)
    if to == "notebook":
        import nbformat

        output.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, output)  # type: ignore[no-untyped-call]
        return [output]
    from jupyter_mlops.notebooks.convert import package_files

    if not output.name.isidentifier():
        raise InvalidInput(f"{output.name!r} is not a valid Python package name (python -m imports it by it)")
    relative = Path(os.path.relpath(folder.resolve(), output.resolve().parent)).as_posix()
    files = package_files(nb, package=output.name, notebook="slice.ipynb", notebook_folder=relative)
    output.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in files.items():
        (output / name).write_text(text, encoding="utf-8")
        written.append(output / name)
    return written


def _verify(workspace: Workspace, result: SliceResult, limits: verdict.Tolerances,
            timeout: float | None) -> SliceVerification:
    from jupyter_mlops.store import open_store

    run = result.run
    assert run is not None and result.recorded is not None
    key = result.piece.target
    nb = emit.notebook(result.emitted, result.title)
    with tempfile.TemporaryDirectory(prefix="mlops-slice-") as folder:
        # A throwaway store: the verification is a check, not a run of the project.
        settings = workspace.settings.with_overrides(store_url=f"sqlite:///{Path(folder) / 'verify.db'}",
                                                     blobs_url=str(Path(folder) / "blobs"))
        ran = execute.execute_notebook(nb, settings=settings, cwd=_folder(workspace, run), original_id=run.id,
                                       what_if=False, injected={}, timeout=timeout)
        if ran.error is not None:
            return SliceVerification(FAILED, f"the slice did not run to the end: {ran.error}")
        if not (Path(folder) / "verify.db").exists():
            return SliceVerification(FAILED, "the slice ran but tracked no run (no start_run)")
        store = open_store(settings.store_url)
        try:
            values = _logged(store, key)
        finally:
            store.close()
    if values is None:
        return SliceVerification(FAILED, "the slice ran but tracked no run (no start_run)")
    (row,) = verdict.compare_metrics({key: result.recorded}, values, limits)
    if row.status in verdict.FAILING:
        return SliceVerification(DIVERGED, f"metric {key!r}: {row.status}", row)
    return SliceVerification(REPRODUCED, "", row)


def _logged(store: Any, key: str) -> dict[str, float] | None:
    """The slice run's value of ``key`` (``{}`` when it did not log it), once the run ended; None without a run."""
    deadline = time.monotonic() + END_WAIT_S
    while True:
        runs = store.search_runs(order_by=["start_time DESC"], limit=20).items
        if not runs:
            return None
        done = all(r.status.value != "running" for r in runs)
        if done or time.monotonic() > deadline:
            chosen = next((r for r in runs if key in r.metrics), None)
            return {key: chosen.metrics[key]} if chosen is not None else {}
        time.sleep(0.1)
