"""The post-cell observer: after every executed cell, record what ran and what it read into the active run.

Assumptions:
    * IPython has already parsed the cell; a thin wrapper around the shell compiler's ``ast_parse`` keeps a
      reference to that tree, so the observer never parses a cell again (``capture.cells.analyze`` works on it).
      Not an ``ast_transformers`` entry: with any transformer installed IPython runs ``ast.fix_missing_locations``
      over every cell's tree, which alone cost ~80 % of a 20-line cell's ``run_cell``. A cell parsed by another
      compiler (``shell_futures=False``) is parsed again from its source, off the cell's path.
    * Every cell executed in the kernel is logged (silent executions, ``store_history=False``, are not user
      code), but a run's code snapshot holds only the cells run between its start and its end, plus as context
      the latest earlier cell that bound each name the run read first (``capture.code.context_cells``).
    * How the kernel ends decides an open run's status (``_end_at_exit``): a cell that raised last makes it
      ``failed`` (its ``ename``/``evalue`` go into the code snapshot), an interrupted last cell or a restart
      request makes it ``crashed``, else ``finished``. A restart is learnt from the kernel's own shutdown request
      (``restart=True``) or from IPython's execution counter going back, never from the saved file.
    * Parameters: a cell tagged ``parameters`` in the saved notebook (matched by the cell id JupyterLab sends,
      else by identical source when the notebook path is known, as under our runners), the cell run
      just before papermill's injected ``# Parameters`` cell (plus the injected values), else a leading cell of
      only literal assignments; each param records that provenance as its source (``parameters:tagged`` ...).
    * Hashing data files, loading configs and writing snapshots happen on the background capture thread; the
      cell's own path only appends to lists and looks at the cell's tree.
    * Nothing here raises into the user's cell: a failure becomes one warning (per kind) and the gap stays.
"""

from __future__ import annotations

import ast
import atexit
import functools
import logging
import os
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from jupyter_mlops.capture import cells as cell_analysis
from jupyter_mlops.capture import code, parameters, redact
from jupyter_mlops.tracking import context, fluent
from jupyter_mlops.tracking.run import ActiveRun, describe_path

__all__ = ["CellObserver"]

logger = logging.getLogger(__name__)


class _TreeTap:
    """Stands in for ``compiler.ast_parse`` and keeps the first tree parsed after each ``pre_run_cell``.

    Only the first parse counts: magics such as ``%timeit`` parse their own snippets while the cell runs.

    Args:
        compiler: the shell's ``CachingCompiler`` (``shell.compile``).
    """

    def __init__(self, compiler: Any) -> None:
        self.compiler = compiler
        self.previous = compiler.__dict__.get("ast_parse")  # another tool's wrapper, restored on removal
        self.parse = compiler.ast_parse
        self.tree: ast.Module | None = None
        self.armed = False
        self.active = True

    def __call__(self, source: str, filename: str = "<unknown>", symbol: str = "exec") -> Any:
        """Parse like the wrapped ``ast_parse`` and keep the tree when armed."""
        tree = self.parse(source, filename, symbol)
        if self.armed:
            self.armed = False
            self.tree = tree if isinstance(tree, ast.Module) else None
        return tree

    def install(self) -> None:
        """Shadow the compiler's method with this wrapper (an instance attribute)."""
        self.compiler.ast_parse = self

    def remove(self) -> None:
        """Restore what was there; if another wrapper was stacked on top, just stop keeping trees."""
        self.active = False
        self.armed = False
        if self.compiler.__dict__.get("ast_parse") is self:
            if self.previous is None:
                del self.compiler.ast_parse
            else:
                self.compiler.ast_parse = self.previous


class CellObserver:
    """Hooks ``pre_run_cell``/``post_run_cell`` of one IPython shell.

    Args:
        shell: the ``InteractiveShell``.
        active_run: how to find the run to record into (default: the fluent API's active run).
    """

    def __init__(self, shell: Any, active_run: Callable[[], ActiveRun | None] = fluent.active_run) -> None:
        self.shell = shell
        self.active_run = active_run
        self.log = code.ExecutedCells()
        self.auto = True
        self._capture: _TreeTap | None = None
        self._backfilled = False
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
        self._last_error: dict[str, str] | None = None
        self._last_count: int | None = None
        self._counter_went_back = False
        self._restart_requested = False
        self._end_error: dict[str, str] | None = None
        self._shutdown_wrapped: Any = None
        self._running_cell_logged = False

    # -- registration -------------------------------------------------------------------------------------
    def register(self) -> None:
        """Install the tree tap and the event callbacks, and log cells run before loading."""
        compiler = getattr(self.shell, "compile", None)
        if compiler is not None and hasattr(compiler, "ast_parse"):
            self._capture = _TreeTap(compiler)
            self._capture.install()
        self.shell.events.register("pre_run_cell", self.pre_run_cell)
        self.shell.events.register("post_run_cell", self.post_run_cell)
        self._watch_shutdown()
        # Registered after tracking.run's own exit handler, so it runs first (atexit is last-in, first-out).
        atexit.register(self._end_at_exit)
        if not self._backfilled:  # registering again (after unregister) must not log the history twice
            self._backfilled = True
            self._backfill()

    def unregister(self) -> None:
        """Remove what :meth:`register` installed."""
        if self._capture is not None:
            self._capture.remove()
            self._capture = None
        for name, callback in (("pre_run_cell", self.pre_run_cell), ("post_run_cell", self.post_run_cell)):
            try:
                self.shell.events.unregister(name, callback)
            except ValueError:
                pass
        atexit.unregister(self._end_at_exit)
        kernel = getattr(self.shell, "kernel", None)
        if self._shutdown_wrapped is not None and kernel is not None:
            if kernel.__dict__.get("do_shutdown") is self._shutdown_wrapped:
                del kernel.do_shutdown
            self._shutdown_wrapped = None

    def _backfill(self) -> None:
        # Cells executed before the extension loaded are in IPython's history (In[1:]).
        history = getattr(self.shell, "history_manager", None)
        current = int(getattr(self.shell, "execution_count", 1) or 1)
        # The cell that is loading the extension is still running: post_run_cell records it.
        raw = list(getattr(history, "input_hist_raw", []) or [])[1:current]
        for count, source in enumerate(raw, start=1):
            if source.strip():
                self._trees[len(self.log)] = self._parse_transformed(source)
                self.log.record(len(self.log), source, count, None)
                self._last_key = (count, source)
                self._last_count = count
        # IPython stores a cell in its history before running it: the loading cell may be logged already.
        self._running_cell_logged = bool(raw) and self._last_key == (len(raw), raw[-1])

    def _parse_transformed(self, source: str) -> ast.Module | None:
        try:
            return _parse_quietly(self.shell.transform_cell(source))
        except Exception:  # a transformer of another extension failed: the cell's names stay unknown
            return None

    def _watch_shutdown(self) -> None:
        # ipykernel calls kernel.do_shutdown(restart) for every shutdown request (JupyterLab's restart too): the
        # one moment the kernel knows it is being restarted rather than shut down.
        kernel = getattr(self.shell, "kernel", None)
        original = getattr(kernel, "do_shutdown", None)
        if kernel is None or original is None or self._shutdown_wrapped is not None:
            return

        def do_shutdown(restart: bool) -> Any:
            if restart:
                self._restart_requested = True
            return original(restart)

        kernel.do_shutdown = do_shutdown
        self._shutdown_wrapped = do_shutdown

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
        run.add_end_hook(lambda: self._final_fields(run))
        run.add_tick_hook(lambda: self._refresh_code(run))
        if auto:
            self._guard("history", lambda: self._params_from_history(run))

    @property
    def run_cells(self) -> int:
        """How many cells the attached run has recorded so far (its context not counted)."""
        return len(self.log) - self._start if self._attached else 0

    # -- events -------------------------------------------------------------------------------------------
    def pre_run_cell(self, info: Any = None) -> None:
        """Forget the previous cell's tree and keep the next one parsed (a cell that fails to parse has none)."""
        tap = self._capture
        if tap is not None:
            tap.tree = None
            tap.armed = tap.active

    def post_run_cell(self, result: Any) -> None:
        """Record the finished cell; never raises."""
        try:
            self._observe(result)
        except Exception as exc:  # capture never breaks the user's cell
            self._warn_once("cell", f"cell capture failed: {exc}")

    def _observe(self, result: Any) -> None:
        info = getattr(result, "info", None)
        if info is None or not getattr(info, "store_history", True):
            return
        source = info.raw_cell or ""
        cell_id = getattr(info, "cell_id", None)
        count = result.execution_count
        failure = getattr(result, "error_in_exec", None) or getattr(result, "error_before_exec", None)
        self._last_error = {"ename": type(failure).__name__, "evalue": str(failure)} if failure else None
        if isinstance(count, int):
            if self._last_count is not None and count < self._last_count:
                self._counter_went_back = True  # a new session in this process: the kernel state was reset
            self._last_count = count
        tree = self._capture.tree if self._capture is not None else None
        if tree is None and getattr(result, "error_before_exec", None) is None:
            tree = _parse_quietly(source)  # run by another compiler (shell_futures=False): parse the raw source
        key = (count, source)
        self._running_cell_logged = False
        # ipykernel counts the loading cell into history before it finishes: the backfill may already hold it.
        if key != self._last_key:
            self._last_key = key
            self._trees[len(self.log)] = tree
            self.log.record(len(self.log), source, count, cell_id, self._last_error)
        run = self.active_run()
        if run is None or run.id != self._attached or not self.auto or not source.strip():
            return
        analysis = cell_analysis.analyze(tree, source) if tree is not None else None
        self._cells_since_start += 1
        self._params(run, source, cell_id, tree, analysis)
        if analysis is not None and analysis.files_read:
            self._data(run, analysis.files_read, analysis.config_files)

    # -- parameters ---------------------------------------------------------------------------------------
    def _params(self, run: ActiveRun, source: str, cell_id: str | None, tree: Any, analysis: Any) -> None:
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
        # Recorded even while the run is ending: its end hook waits for these jobs, so a cell that read a file
        # right before `%track stop` still has its data input.
        try:
            run.store.log_data_inputs(run.id, [describe_path(run.store, path, name, "input")])
            if is_config:
                from jupyter_mlops.capture import configs

                values = configs.try_load_config_params(path)
                if values:
                    run.log_params(values, source="config")
        finally:
            with self._data_done:
                self._pending_data -= 1
                self._data_done.notify_all()

    def _wait_for_data(self, timeout: float = 30.0) -> None:
        with self._data_done:
            if not self._data_done.wait_for(lambda: self._pending_data == 0, timeout):
                self._warn_once("data", "data inputs still being hashed at the end of the run were not waited for")

    # -- snapshots ----------------------------------------------------------------------------------------
    def _run_code(self) -> dict[str, Any]:
        """The attached run's code snapshot: its context cells, then the cells it ran (and its error, if any)."""
        end = len(self.log)
        names = [self._cell_names(position) for position in range(end)]
        snapshot = self.log.since(self._start, code.context_cells(names, min(self._start, end))).to_json()
        if self._end_error is not None:
            snapshot["error"] = dict(self._end_error)
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
            run.store.update_run(run.id, code_hash=run.blobs.put_json(self._stored_code(run)))

    def _stored_code(self, run: ActiveRun) -> Mapping[str, Any]:
        # Cell sources are memoised by the redactor, so a refresh only pays for cells it has not seen.
        snapshot = self._run_code()
        return redact.redact_code_snapshot(snapshot) if run.redact else snapshot

    def _final_fields(self, run: ActiveRun) -> Mapping[str, Any]:
        self._wait_for_data()
        self._previous_end = len(self.log)
        fields: dict[str, Any] = {"code_hash": run.blobs.put_json(self._stored_code(run))}
        cells = None
        path = _notebook_path(run)
        if path is not None:
            data = code.notebook_snapshot(path)
            if data is not None:
                stored = redact.redact_notebook(data) if run.redact else data
                fields["notebook_hash"] = run.blobs.put_bytes(stored)
                cells = code.notebook_cells(data)
        restarted = self._restart_requested or self._counter_went_back
        own = self.log.since(self._start)
        fields["flags"] = {**code.notebook_state_flags(own, cells, restarted),
                           "cells": code.notebook_state_cells(own, cells)}
        return fields

    # -- the kernel's end ---------------------------------------------------------------------------------
    def _end_at_exit(self) -> None:
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
            self._warn_once("exit", f"could not end run {run.id[:8]} at kernel exit: {exc}")

    # -- failures -----------------------------------------------------------------------------------------
    def _guard(self, kind: str, action: Callable[[], None]) -> None:
        try:
            action()
        except Exception as exc:
            self._warn_once(kind, f"{kind} capture failed: {exc}")

    def _warn_once(self, kind: str, message: str) -> None:
        if kind not in self._warned:
            self._warned.add(kind)
            logger.warning("jupyter_mlops: %s", message)


def _notebook_path(run: ActiveRun) -> str | None:
    path = getattr(run, "notebook_path", None)
    return path if path and os.path.isfile(path) else None


def _only_magics(source: str) -> bool:
    """Every non-blank line is a line magic, a shell escape or a comment."""
    return all(line.lstrip().startswith(("%", "!", "#")) for line in source.splitlines() if line.strip())


def _parse_quietly(source: str) -> ast.Module | None:
    """The raw source's tree, or None when it is not plain Python (magics, shell escapes)."""
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError):
        return None
