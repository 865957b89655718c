"""The post-cell observer: after every executed cell, record what ran and what it read into the active run.

Assumptions:
    * IPython has already parsed the cell; a thin wrapper around the shell compiler's ``ast_parse`` keeps a
      reference to that tree, so the observer never parses a cell again (``capture.cells.analyze`` works on it).
      Not an ``ast_transformers`` entry: with any transformer installed IPython runs ``ast.fix_missing_locations``
      over every cell's tree, which alone cost ~80 % of a 20-line cell's ``run_cell``. A cell parsed by another
      compiler (``shell_futures=False``) is parsed again from its source, off the cell's path.
    * Every cell executed in the kernel (also before ``%track start``) is logged, because a run's results depend
      on the kernel state those cells built; silent executions (``store_history=False``) are not user code.
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
import functools
import logging
import os
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from jupyter_mlops.capture import cells as cell_analysis
from jupyter_mlops.capture import code, redact
from jupyter_mlops.tracking import context, fluent
from jupyter_mlops.tracking.run import ActiveRun, describe_path

__all__ = ["CellObserver"]

logger = logging.getLogger(__name__)

INFER_WITHIN = 3


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

    # -- registration -------------------------------------------------------------------------------------
    def register(self) -> None:
        """Install the tree tap and the event callbacks, and log cells run before loading."""
        compiler = getattr(self.shell, "compile", None)
        if compiler is not None and hasattr(compiler, "ast_parse"):
            self._capture = _TreeTap(compiler)
            self._capture.install()
        self.shell.events.register("pre_run_cell", self.pre_run_cell)
        self.shell.events.register("post_run_cell", self.post_run_cell)
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

    def _backfill(self) -> None:
        # Cells executed before the extension loaded are in IPython's history (In[1:]).
        history = getattr(self.shell, "history_manager", None)
        current = int(getattr(self.shell, "execution_count", 1) or 1)
        # The cell that is loading the extension is still running: post_run_cell records it.
        raw = list(getattr(history, "input_hist_raw", []) or [])[1:current]
        for count, source in enumerate(raw, start=1):
            if source.strip():
                self.log.record(len(self.log), source, count, None)
                self._last_key = (count, source)

    def attach(self, run: ActiveRun, *, auto: bool = True) -> None:
        """Start recording into ``run``: snapshots at each heartbeat and at the end, params/data when ``auto``."""
        self.auto = auto
        self._attached = run.id
        self._params_found = False
        self._cells_since_start = 0
        self._seen_files.clear()
        self._snapshot_len = -1
        run.add_end_hook(lambda: self._final_fields(run))
        run.add_tick_hook(lambda: self._refresh_code(run))
        if auto:
            self._guard("history", lambda: self._params_from_history(run))

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
        key = (result.execution_count, source)
        # ipykernel counts the loading cell into history before it finishes: the backfill may already hold it.
        if key != self._last_key:
            self._last_key = key
            self.log.record(len(self.log), source, result.execution_count, cell_id)
        run = self.active_run()
        if run is None or run.id != self._attached or not self.auto or not source.strip():
            return
        tree = self._capture.tree if self._capture is not None else None
        if tree is None and getattr(result, "error_before_exec", None) is None:
            tree = _parse_quietly(source)  # run by another compiler (shell_futures=False): parse the raw source
        analysis = cell_analysis.analyze(tree, source) if tree is not None else None
        self._cells_since_start += 1
        self._params(run, source, cell_id, tree, analysis)
        if analysis is not None and analysis.files_read:
            self._data(run, analysis.files_read, analysis.config_files)

    # -- parameters ---------------------------------------------------------------------------------------
    def _params(self, run: ActiveRun, source: str, cell_id: str | None, tree: Any, analysis: Any) -> None:
        literals = dict(analysis.literal_assignments) if analysis is not None else {}
        previous, self._prev_literals = self._prev_literals, literals
        if source.lstrip().startswith("# Parameters"):
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
            and self._cells_since_start <= INFER_WITHIN
            and _only_literal_assignments(tree, literals)
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
            if "parameters" in (cell.get("tags") or ()):
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
        # A parameters cell that ran before `%track start` still defines this run's parameters.
        entries: list[dict[str, Any]] = [{"source": c.source, "id": c.cell_id} for c in self.log]
        found = code.find_parameters_cell(entries)
        if found is None:
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
    def _refresh_code(self, run: ActiveRun) -> None:
        # Runs on the writer thread after each heartbeat, so a killed kernel still leaves its code behind.
        if len(self.log) != self._snapshot_len and not run.ended:
            self._snapshot_len = len(self.log)
            run.store.update_run(run.id, code_hash=run.blobs.put_json(_code_snapshot(run, self.log)))

    def _final_fields(self, run: ActiveRun) -> Mapping[str, Any]:
        self._wait_for_data()
        fields: dict[str, Any] = {"code_hash": run.blobs.put_json(_code_snapshot(run, self.log))}
        cells = None
        path = _notebook_path(run)
        if path is not None:
            data = code.notebook_snapshot(path)
            if data is not None:
                stored = redact.redact_notebook(data) if run.redact else data
                fields["notebook_hash"] = run.blobs.put_bytes(stored)
                cells = code.notebook_cells(data)
        fields["flags"] = code.notebook_state_flags(self.log, cells, self._restarted(cells))
        return fields

    def _restarted(self, cells: list[dict[str, Any]] | None) -> bool:
        # A saved cell this kernel ran (by id) showing a count this kernel never reached came from an earlier
        # kernel session: the outputs on screen predate a restart.
        if not cells:
            return False
        ran = {c.cell_id for c in self.log if c.cell_id}
        reached = int(getattr(self.shell, "execution_count", 0) or 0)
        return any(
            c.get("id") in ran and isinstance(c.get("execution_count"), int) and c["execution_count"] > reached
            for c in cells
        )

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


def _code_snapshot(run: ActiveRun, log: code.ExecutedCells) -> dict[str, Any]:
    # Cell sources are memoised by the redactor, so a refresh only pays for cells it has not seen.
    snapshot = log.to_json()
    return redact.redact_code_snapshot(snapshot) if run.redact else snapshot


def _notebook_path(run: ActiveRun) -> str | None:
    path = getattr(run, "notebook_path", None)
    return path if path and os.path.isfile(path) else None


def _parse_quietly(source: str) -> ast.Module | None:
    """The raw source's tree, or None when it is not plain Python (magics, shell escapes)."""
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError):
        return None


def _only_literal_assignments(tree: Any, literals: Mapping[str, Any]) -> bool:
    """Every top-level statement of ``tree`` is an assignment of a literal (docstrings allowed)."""
    if tree is None or not tree.body:
        return False
    for stmt in tree.body:
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str):
            continue
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [getattr(stmt, "target", None)]
        if not isinstance(stmt, (ast.Assign, ast.AnnAssign)) or not all(
            isinstance(t, ast.Name) and t.id in literals for t in targets
        ):
            return False
    return True
