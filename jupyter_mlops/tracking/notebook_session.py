"""A notebook kernel's session of cells: what each finished cell adds to the run attached to it.

Assumptions:
    * The kernel's adapter (``jupyter_mlops.ipython.kernel_events``, the only module that knows IPython) hands
      every finished cell over as plain values: its raw source, execution count, cell id, error
      (``ename``/``evalue``) and the ``ast.Module`` the kernel already parsed (None when the cell is not plain
      Python). The session never parses a cell the kernel parsed; ``capture.cells.analyze`` works on that tree.
    * Every cell executed in the kernel is logged, but a run's code snapshot holds only the cells run between its
      start and its end, plus as context the latest earlier cell that bound each name the run read first
      (``capture.code.context_cells``).
    * How the kernel ends decides an open run's status (:meth:`NotebookSession.end_at_exit`): a cell that raised
      last makes it ``failed`` (its ``ename``/``evalue`` go into the code snapshot), an interrupted last cell or a
      restart request makes it ``crashed``, else ``finished``. A restart is learnt from the kernel's own shutdown
      request (:meth:`NotebookSession.restart_requested`) or from the execution counter going back, never from the
      saved file.
    * Parameters: a cell tagged ``parameters`` in the saved notebook (matched by the cell id JupyterLab sends,
      else by identical source when the notebook path is known, as under our runners), the cell run just before
      papermill's injected ``# Parameters`` cell (plus the injected values), else a leading cell of only literal
      assignments (``capture.parameters``); each param records that provenance as its source
      (``parameters:tagged`` ...).
    * Every write goes through an :class:`~jupyter_mlops.tracking.run.ActiveRun` method (``log_params``,
      ``log_data``, ``put_code_snapshot``, ``put_notebook_snapshot``, ``refresh_code_snapshot``, ``end``), so its
      open-run check and value checks apply: a data file whose hash is still being computed when the run's end
      gave up waiting for it (30 s) is refused by the ended run and not recorded (one warning), never written into
      a run that already ended.
    * Hashing data files, loading configs and writing snapshots happen on the background capture thread or the
      writer thread; the cell's own path only appends to lists and looks at the cell's tree.
    * The project's own modules the kernel loads are watched after every cell (``tracking.local_modules``,
      ADR-102): the versions loaded while a run is open, and those loaded when it started, go into its code
      snapshot's ``modules``.
    * Nothing here raises into the user's cell: a failure becomes one warning (per kind) and the gap stays.
"""

from __future__ import annotations

import ast
import functools
import logging
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from jupyter_mlops.capture import cells as cell_analysis
from jupyter_mlops.capture import code, parameters
from jupyter_mlops.errors import Conflict
from jupyter_mlops.tracking import context, fluent
from jupyter_mlops.tracking.local_modules import ModuleRecorder
from jupyter_mlops.tracking.run import ActiveRun

__all__ = ["NotebookSession", "parse_cell"]

logger = logging.getLogger(__name__)

#: ``{"ename": ..., "evalue": ...}`` of a cell that raised.
CellError = Mapping[str, str]


def _only_track_magics(source: str) -> bool:
    """Whether a cell holds nothing but ``%track`` lines (``%track stop``): not part of the run's code."""
    lines = [line.strip() for line in source.splitlines() if line.strip() and not line.strip().startswith("#")]
    return all(line.startswith("%track") for line in lines)


class NotebookSession:
    """The cells of one kernel, and what they record into the run attached with :meth:`attach`.

    Args:
        active_run: how to find the run to record into (default: the fluent API's active run).
    """

    def __init__(self, active_run: Callable[[], ActiveRun | None] = fluent.active_run) -> None:
        self.active_run = active_run
        self.log = code.ExecutedCells()
        self.auto = True
        self._attached: str | None = None
        self._params_found = False
        self._cells_since_start = 0
        self._prev_literals: dict[str, Any] | None = None
        self._seen_files: set[tuple[str, int, int]] = set()
        # Data reads hashed on the capture thread and not yet recorded; the run's end waits for them.
        self._pending_data = 0
        self._data_done = threading.Condition()
        self._snapshot_len = -1
        self._notebook_cache: tuple[str, int, list[dict[str, Any]] | None] | None = None
        self._warned: set[str] = set()
        self._last_key: tuple[int | None, str] | None = None
        # The attached run's first cell in self.log, and what each logged cell reads and binds (for its context).
        self._start = 0
        self._previous_end = 0  # where the kernel's previous run ended in self.log
        self._trees: dict[int, ast.Module | None] = {}
        self._names: dict[int, code.Names | None] = {}
        # How the kernel session goes: the last cell's error, a restart request, the execution counter.
        self._last_error: CellError | None = None
        self._last_count: int | None = None
        self._counter_went_back = False
        self._restart_requested = False
        self._end_error: CellError | None = None
        self._running_cell_logged = False
        # The cell the kernel is running (source, count, cell id, its tree when asked): a run that ends inside it,
        # a `with mlops.start_run():` block, has it in its code (it is logged once, when it finishes or then).
        self._running: tuple[str, int | None, str | None, Callable[[], ast.Module | None]] | None = None
        # The project's own modules the kernel loaded, and their versions (ADR-102).
        self.modules = ModuleRecorder()

    # -- the kernel's history and state -------------------------------------------------------------------
    def backfill(self, history: Sequence[str], parse: Callable[[str], ast.Module | None]) -> None:
        """Log the cells the kernel ran before this session existed.

        Args:
            history: the sources of executed cells, the first having execution count 1 (IPython's ``In[1:]``, up
                to the cell still running, which the kernel may already have stored).
            parse: the cell's tree as the kernel would parse it (None when it is not plain Python).
        """
        for count, source in enumerate(history, start=1):
            if source.strip():
                self._trees[len(self.log)] = parse(source)
                self.log.record(len(self.log), source, count, None)
                self._last_key = (count, source)
                self._last_count = count
        # A kernel may store a cell in its history before running it: the cell loading us may be logged already.
        self._running_cell_logged = bool(history) and self._last_key == (len(history), history[-1])

    def cell_starting(self, source: str, execution_count: int | None, cell_id: str | None,
                      tree: Callable[[], ast.Module | None]) -> None:
        """The kernel is about to run a cell; ``tree`` gives its parsed tree once it has been compiled."""
        self._running = (source, execution_count, cell_id, tree)

    def _log_running_cell(self, run: ActiveRun) -> None:
        """Log the cell still running (the run ends inside it), once: its finish then finds it logged."""
        running = self._running
        if running is None or (running[1], running[0]) == self._last_key:
            if self._running_cell_logged:  # the backfill logged it: the cell that loaded the extension
                self.log.add_metrics(run.take_logged_metrics())
            return
        source, count, cell_id, tree = running
        if _only_track_magics(source):
            return
        self._last_key = (count, source)
        self._trees[len(self.log)] = tree()
        self.log.record(len(self.log), source, count, cell_id, None, run.take_logged_metrics())

    def restart_requested(self) -> None:
        """The kernel was asked to restart (not just to shut down): an open run ends as ``crashed``."""
        self._restart_requested = True

    # -- the run ------------------------------------------------------------------------------------------
    def attach(self, run: ActiveRun, *, auto: bool = True) -> None:
        """Start recording into ``run``: snapshots at each heartbeat and at the end, params/data when ``auto``."""
        self.auto = auto
        self._attached = run.id
        # The cell running `%track start` is logged when it finishes, unless the backfill already holds it.
        self._start = len(self.log) - 1 if self._running_cell_logged else len(self.log)
        self._last_error = self._end_error = None
        self._counter_went_back = False
        self._params_found = False
        self._cells_since_start = 0
        self._seen_files.clear()
        self._snapshot_len = -1
        self._guard("modules", self.modules.start_run)
        run.add_end_hook(lambda: self._final_fields(run))
        run.add_tick_hook(lambda: self._refresh_code(run))
        if auto:
            self._guard("history", lambda: self._params_from_history(run))

    @property
    def run_cells(self) -> int:
        """How many cells the attached run has recorded so far (its context not counted)."""
        return len(self.log) - self._start if self._attached else 0

    # -- cells --------------------------------------------------------------------------------------------
    def cell_finished(
        self,
        source: str,
        execution_count: int | None,
        cell_id: str | None = None,
        error: CellError | None = None,
        tree: ast.Module | None = None,
    ) -> None:
        """Record a finished cell (its tree is None when it is not plain Python); never raises.

        Args:
            source: the cell's raw source, as the user wrote it.
            execution_count: the kernel's execution count for the cell.
            cell_id: the notebook cell id, when the frontend sent one.
            error: ``{"ename", "evalue"}`` when the cell raised (or failed before it ran).
            tree: the tree the kernel parsed (after its own transformations), or None.
        """
        # One frame on the cell's path (no helper call): this runs after every cell of the kernel.
        try:
            self._last_error = error
            count = execution_count
            if count is not None:
                if self._last_count is not None and count < self._last_count:
                    self._counter_went_back = True  # a new session in this process: the kernel state was reset
                self._last_count = count
            key = (count, source)
            self._running_cell_logged = False
            self._running = None
            run = self.active_run()
            # Which metrics this cell logged: slice finds the cell behind a metric's value by it (ADR-095).
            logged = run.take_logged_metrics() if run is not None and run.id == self._attached else ()
            # A kernel counts the loading cell into its history before it finishes: the backfill may hold it.
            if key != self._last_key:
                self._last_key = key
                self._trees[len(self.log)] = tree
                self.log.record(len(self.log), source, count, cell_id, error, logged)
            else:  # the backfill logged it while it ran: what it logged is still its own
                self.log.add_metrics(logged)
            self.modules.observe()
            if run is None or run.id != self._attached or not self.auto or not source.strip():
                return
            analysis = cell_analysis.analyze(tree, source) if tree is not None else None
            self._cells_since_start += 1
            self._params(run, source, cell_id, tree, analysis)
            if analysis is not None and analysis.files_read:
                self._data(run, analysis.files_read, analysis.config_files)
        except Exception as exc:  # capture never breaks the user's cell
            self.warn_once("cell", f"cell capture failed: {exc}")

    # -- parameters ---------------------------------------------------------------------------------------
    def _params(
        self,
        run: ActiveRun,
        source: str,
        cell_id: str | None,
        tree: ast.Module | None,
        analysis: cell_analysis.CellAnalysis | None,
    ) -> None:
        literals = dict(analysis.literal_assignments) if analysis is not None else {}
        previous, self._prev_literals = self._prev_literals, literals
        if source.lstrip().startswith(parameters.INJECTED_HEADER):
            if previous and not self._params_found:
                run.log_params(previous, source="parameters:injected")
            if literals:
                run.log_params(literals, source="parameters:injected")
            self._params_found = True
        elif literals and self._tagged(run, cell_id, source):
            run.log_params(literals, source="parameters:tagged")
            self._params_found = True
        elif (
            not self._params_found
            and literals
            and self._cells_since_start <= parameters.INFER_WITHIN
            and tree is not None
            and parameters.only_literal_assignments(tree)
        ):
            run.log_params(literals, source="parameters:inferred")
            self._params_found = True

    def _tagged(self, run: ActiveRun, cell_id: str | None, source: str) -> bool:
        """The saved notebook tags this cell ``parameters`` (matched by cell id, else by identical source)."""
        cells = self._notebook_cells(run)
        if not cells:
            return False
        text = source.strip()
        for cell in cells:
            if parameters.PARAMETERS_TAG in parameters.cell_tags(cell):
                if (cell.get("id") == cell_id) if cell_id else (str(cell.get("source", "")).strip() == text):
                    return True
        return False

    def _notebook_cells(self, run: ActiveRun) -> list[dict[str, Any]] | None:
        path = _notebook_path(run)
        if path is None:
            return None
        mtime = os.stat(path).st_mtime_ns
        if self._notebook_cache is None or self._notebook_cache[:2] != (path, mtime):
            self._notebook_cache = (path, mtime, code.notebook_cells(Path(path).read_bytes()))
        return self._notebook_cache[2]

    def _params_from_history(self, run: ActiveRun) -> None:
        # A parameters cell that ran before `%track start` still defines this run's parameters. One run since the
        # previous run ended comes first (cells of nothing but magics, the previous `%track stop`/`compare`, left
        # out): a second Run All in the same kernel must not find the first one's values. Else the whole history.
        cells = self.log.cells[:self._start]
        since_previous = [c for c in cells[self._previous_end:] if not _only_magics(c.source)]
        for window in ((since_previous if self._previous_end else []), cells):
            entries: list[dict[str, Any]] = [{"source": c.source, "id": c.cell_id} for c in window]
            found = parameters.find_parameters_cell(entries)
            if found is not None:
                break
        else:
            return
        for index in (found.index, found.injected_index):
            if index is None:
                continue
            analysis = cell_analysis.analyze_source(entries[index]["source"])
            if analysis is not None and analysis.literal_assignments:
                run.log_params(analysis.literal_assignments, source=f"parameters:{found.provenance}")
                self._params_found = True

    # -- data ---------------------------------------------------------------------------------------------
    def _data(self, run: ActiveRun, files: list[str], configs: list[str]) -> None:
        cwd = Path.cwd()
        for name in files:
            path = cwd / name
            try:
                st = path.stat()
            except OSError:
                continue  # the read failed or the path is relative to something else: nothing to record
            key = (str(path), st.st_size, st.st_mtime_ns)
            if key in self._seen_files:
                continue
            self._seen_files.add(key)
            is_config = name in configs
            with self._data_done:
                self._pending_data += 1
            context.submit(functools.partial(self._record_file, run, path, name, is_config))

    def _record_file(self, run: ActiveRun, path: Path, name: str, is_config: bool) -> None:
        # Recorded while the run is ending too: its end hook waits for these jobs, so a cell that read a file
        # right before `%track stop` still has its data input. Once the run has ended, it refuses them.
        try:
            run.log_data(path, name)
            if is_config:
                from jupyter_mlops.capture import configs

                values = configs.try_load_config_params(path)
                if values:
                    run.log_params(values, source="config")
        except Conflict:
            self.warn_once("late-data", f"data input {name!r} was hashed after its run ended and is not recorded")
        finally:
            with self._data_done:
                self._pending_data -= 1
                self._data_done.notify_all()

    def _wait_for_data(self, timeout: float = 30.0) -> None:
        with self._data_done:
            if not self._data_done.wait_for(lambda: self._pending_data == 0, timeout):
                self.warn_once("data", "data inputs still being hashed at the end of the run were not waited for "
                                       "and are not recorded")

    # -- snapshots ----------------------------------------------------------------------------------------
    def _run_code(self, run: ActiveRun) -> dict[str, Any]:
        """The attached run's code snapshot: its context cells, then the cells it ran (and its error, if any).

        ``modules`` lists the local modules it loaded (ADR-102), when there are any.
        """
        end = len(self.log)
        names = [self._cell_names(position) for position in range(end)]
        snapshot = self.log.since(self._start, code.context_cells(names, min(self._start, end))).to_json()
        if self._end_error is not None:
            snapshot["error"] = dict(self._end_error)
        try:
            modules = self.modules.entries(run.put_module_source, run)
        except Exception as exc:  # the cells are still the run's code
            self.warn_once("modules", f"local module capture failed: {exc}")
            modules = []
        if modules:
            snapshot["modules"] = modules
        return snapshot

    def _cell_names(self, position: int) -> code.Names | None:
        if position not in self._names:
            tree = self._trees.pop(position, None)
            names = None
            if tree is not None:
                analysis = cell_analysis.CellAnalysis(tree)
                names = (frozenset(analysis.names_read), frozenset(analysis.names_defined))
            self._names[position] = names
        return self._names[position]

    def _refresh_code(self, run: ActiveRun) -> None:
        # Runs on the writer thread after each heartbeat, so a killed kernel still leaves its code behind.
        if len(self.log) != self._snapshot_len and not run.ended:
            self._snapshot_len = len(self.log)
            run.refresh_code_snapshot(self._run_code(run))

    def _final_fields(self, run: ActiveRun) -> Mapping[str, Any]:
        self._wait_for_data()
        self._guard("cell", lambda: self._log_running_cell(run))
        self._previous_end = len(self.log)
        fields: dict[str, Any] = {"code_hash": run.put_code_snapshot(self._run_code(run))}
        self.modules.stop_run()
        cells = None
        path = _notebook_path(run)
        if path is not None:
            data = code.notebook_snapshot(path)
            if data is not None:
                fields["notebook_hash"] = run.put_notebook_snapshot(data)
                cells = code.notebook_cells(data)
        restarted = self._restart_requested or self._counter_went_back
        own = self.log.since(self._start)
        fields["flags"] = {**code.notebook_state_flags(own, cells, restarted),
                           "cells": code.notebook_state_cells(own, cells)}
        return fields

    # -- the kernel's end ---------------------------------------------------------------------------------
    def end_at_exit(self) -> None:
        """End the attached run as the kernel session ended: failed, crashed (restart, interrupt) or finished."""
        run = self.active_run()
        if run is None or run.ended or run.id != self._attached:
            return
        error = self._last_error
        if error is not None and error["ename"] != "KeyboardInterrupt":
            status = "failed"
            self._end_error = error
        elif error is not None or self._restart_requested:
            status = "crashed"
        else:
            status = "finished"
        try:
            run.end_crashed() if status == "crashed" else run.end(status)
        except Exception as exc:
            self.warn_once("exit", f"could not end run {run.id[:8]} at kernel exit: {exc}")

    # -- failures -----------------------------------------------------------------------------------------
    def _guard(self, kind: str, action: Callable[[], None]) -> None:
        try:
            action()
        except Exception as exc:
            self.warn_once(kind, f"{kind} capture failed: {exc}")

    def warn_once(self, kind: str, message: str) -> None:
        """Log ``message`` as a warning the first time a failure of this ``kind`` happens in the session."""
        if kind not in self._warned:
            self._warned.add(kind)
            logger.warning("jupyter_mlops: %s", message)


def parse_cell(source: str) -> ast.Module | None:
    """The source's tree, or None when it is not plain Python (magics, shell escapes)."""
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError):
        return None


def _notebook_path(run: ActiveRun) -> str | None:
    path = run.notebook_path
    return path if path and os.path.isfile(path) else None


def _only_magics(source: str) -> bool:
    """Every non-blank line is a line magic, a shell escape or a comment."""
    return all(line.lstrip().startswith(("%", "!", "#")) for line in source.splitlines() if line.strip())
