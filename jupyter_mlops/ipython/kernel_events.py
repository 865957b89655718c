"""The IPython adapter of the notebook session: hooks into one shell and hands each finished cell over as values.

What a cell records, and how the kernel's end ends a run, is decided by
:class:`jupyter_mlops.tracking.notebook_session.NotebookSession`; this module only connects it to IPython.

Assumptions:
    * IPython has already parsed the cell; a thin wrapper around the shell compiler's ``ast_parse`` keeps a
      reference to that tree, so the cell is never parsed again. Not an ``ast_transformers`` entry: with any
      transformer installed IPython runs ``ast.fix_missing_locations`` over every cell's tree, which alone cost
      ~80 % of a 20-line cell's ``run_cell``. A cell parsed by another compiler (``shell_futures=False``) is
      parsed again from its source, off the cell's path.
    * Silent executions (``store_history=False``) are not user code and are not handed over.
    * ipykernel calls ``kernel.do_shutdown(restart)`` for every shutdown request (JupyterLab's restart too): the
      one moment the kernel knows it is being restarted rather than shut down. The session learns it from a thin
      wrapper around that method, which also ends the run there (a kernel that hangs in its clean-up afterwards is
      killed, and a killed process runs no exit handler); the kernel's exit (``atexit``) ends it otherwise, from a
      handler registered after the tracking API's own, so the session ends the run first.
    * Nothing here raises into the user's cell: a failure becomes one warning (per kind) and the gap stays.
"""

from __future__ import annotations

import ast
import atexit
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from jupyter_mlops.tracking import fluent
from jupyter_mlops.tracking.notebook_session import NotebookSession, parse_cell
from jupyter_mlops.tracking.run import ActiveRun

__all__ = ["CellObserver"]


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
    """Hooks ``pre_run_cell``/``post_run_cell`` of one IPython shell into a :class:`NotebookSession`.

    Args:
        shell: the ``InteractiveShell``.
        active_run: how to find the run to record into (default: the fluent API's active run).
    """

    def __init__(self, shell: Any, active_run: Callable[[], ActiveRun | None] = fluent.active_run) -> None:
        self.shell = shell
        self.session = NotebookSession(active_run)
        self._capture: _TreeTap | None = None
        self._backfilled = False
        self._shutdown_wrapped: Any = None
        self._explicit = False

    @property
    def auto(self) -> bool:
        """Whether the attached run records params and data automatically."""
        return self.session.auto

    @property
    def run_cells(self) -> int:
        """How many cells the attached run has recorded so far (its context not counted)."""
        return self.session.run_cells

    def attach(self, run: ActiveRun, *, auto: bool = True) -> None:
        """Start recording into ``run``: snapshots at each heartbeat and at the end, params/data when ``auto``."""
        self.session.attach(run, auto=auto)

    # -- registration -------------------------------------------------------------------------------------
    def register(self) -> None:
        """Install the tree tap and the event callbacks, and log cells run before loading."""
        compiler = getattr(self.shell, "compile", None)
        if compiler is not None and hasattr(compiler, "ast_parse"):
            self._capture = _TreeTap(compiler)
            self._capture.install()
        self.shell.events.register("pre_run_cell", self.pre_run_cell)
        self.shell.events.register("post_run_cell", self.post_run_cell)
        if self.run_started not in fluent.START_HOOKS:
            fluent.START_HOOKS.append(self.run_started)
        self._watch_shutdown()
        # Registered after tracking.run's own exit handler, so it runs first (atexit is last-in, first-out).
        atexit.register(self.session.end_at_exit)
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
        atexit.unregister(self.session.end_at_exit)
        if self.run_started in fluent.START_HOOKS:
            fluent.START_HOOKS.remove(self.run_started)
        kernel = getattr(self.shell, "kernel", None)
        if self._shutdown_wrapped is not None and kernel is not None:
            if kernel.__dict__.get("do_shutdown") is self._shutdown_wrapped:
                del kernel.do_shutdown
            self._shutdown_wrapped = None

    def _backfill(self) -> None:
        # Cells executed before the extension loaded are in IPython's history (In[1:]); the cell that is loading
        # the extension is still running (post_run_cell records it).
        history = getattr(self.shell, "history_manager", None)
        current = int(getattr(self.shell, "execution_count", 1) or 1)
        raw = [str(source) for source in list(getattr(history, "input_hist_raw", []) or [])[1:current]]
        self.session.backfill(raw, self._parse_transformed)

    def _parse_transformed(self, source: str) -> ast.Module | None:
        try:
            return parse_cell(self.shell.transform_cell(source))
        except Exception:  # a transformer of another extension failed: the cell's names stay unknown
            return None

    def _watch_shutdown(self) -> None:
        kernel = getattr(self.shell, "kernel", None)
        original = getattr(kernel, "do_shutdown", None)
        if kernel is None or original is None or self._shutdown_wrapped is not None:
            return
        session = self.session

        def do_shutdown(restart: bool) -> Any:
            if restart:
                session.restart_requested()
            # End the run now, as the kernel's exit would: ipykernel may hang cleaning up after this (1 in 10-15
            # shutdowns with 7.4) until jupyter_client kills it, and then no exit handler runs.
            session.end_at_exit()
            return original(restart)

        kernel.do_shutdown = do_shutdown
        self._shutdown_wrapped = do_shutdown

    # -- events -------------------------------------------------------------------------------------------
    def pre_run_cell(self, info: Any = None) -> None:
        """Forget the previous cell's tree and keep the next one parsed (a cell that fails to parse has none)."""
        tap = self._capture
        if tap is not None:
            tap.tree = None
            tap.armed = tap.active
        try:
            if info is not None and getattr(info, "store_history", True):
                source = info.raw_cell or ""
                # IPython counts a stored cell before triggering pre_run_cell: this cell's number is one less.
                count = getattr(self.shell, "execution_count", None)
                self.session.cell_starting(source, count - 1 if isinstance(count, int) else None,
                                           getattr(info, "cell_id", None), lambda: self._running_tree(source))
        except Exception as exc:  # capture never breaks the user's cell
            self.session.warn_once("cell", f"cell capture failed: {exc}")

    def _running_tree(self, source: str) -> ast.Module | None:
        tap = self._capture
        tree = tap.tree if tap is not None else None
        return tree if tree is not None else self._parse_transformed(source)

    def run_started(self, run: ActiveRun) -> None:
        """Attach a run the tracking API started in this kernel (a start hook), as ``%track start`` does.

        ``%track start`` attaches its run itself, with its own options (``starting_explicitly``).
        """
        if self._explicit or not run.captures_context or threading.current_thread() is not threading.main_thread():
            return
        try:
            self.attach(run, auto=True)
        except Exception as exc:  # capture never breaks the user's cell
            self.session.warn_once("attach", f"could not record this run's cells: {exc}")

    @contextmanager
    def starting_explicitly(self) -> Iterator[None]:
        """While ``%track start`` starts a run: it attaches the run itself, with its ``--no-auto``."""
        self._explicit = True
        try:
            yield
        finally:
            self._explicit = False

    def post_run_cell(self, result: Any) -> None:
        """Hand the finished cell (IPython's ``ExecutionResult``) to the session as plain values; never raises."""
        try:
            info = getattr(result, "info", None)
            if info is None or not getattr(info, "store_history", True):
                return
            source = info.raw_cell or ""
            before = getattr(result, "error_before_exec", None)
            failure = getattr(result, "error_in_exec", None) or before
            error = {"ename": type(failure).__name__, "evalue": str(failure)} if failure else None
            tree = self._capture.tree if self._capture is not None else None
            if tree is None and before is None:
                tree = parse_cell(source)  # run by another compiler (shell_futures=False): parse the raw source
            count = result.execution_count
            self.session.cell_finished(source, count if isinstance(count, int) else None,
                                       getattr(info, "cell_id", None), error, tree)
        except Exception as exc:  # capture never breaks the user's cell
            self.session.warn_once("cell", f"cell capture failed: {exc}")
