"""Executing a recorded run again: the notebook to run (its snapshot, or its executed cells in order) and papermill.

Assumptions:
    * Top-to-bottom mode runs the notebook snapshot the run saved at its end; ``--as-executed`` builds a notebook of
      the run's code snapshot cells (context cells first, then every cell the run executed, re-runs included) in
      the order the kernel ran them, so an out-of-order session is replayed as it happened.
    * The recorded parameters are injected after the parameters cell (tagged, papermill's, or the inferred leading
      cell of literal assignments), papermill style, because the saved notebook may show values edited after the
      run. Only names that cell assigns are injected: a config value recorded as ``model.lr`` is no variable.
    * papermill executes the notebook in a kernel of *this* interpreter (``sys.executable -m ipykernel_launcher``,
      as nb-smoke does), whatever kernelspec the notebook names: the environment verified before is then the one
      that runs it. It talks over ``ipc`` sockets in a private folder on POSIX (no port races, no warning about
      unencrypted TCP on stderr).
    * The kernel starts in the original notebook's folder (data paths are relative to it: nbclient's resource
      path, never papermill's ``cwd``, which changes this whole process's directory while it runs, and a Jupyter
      server's reproductions run on its threads) with the run context in
      ``JUPYTER_MLOPS_CONTEXT`` and the store locations, given through its kernel spec's ``env`` so this process's
      environment is never changed (``%track reproduce`` runs inside a kernel): its ``%track``/``mlops.start_run``
      runs are created with ``reproduction_of`` set and go into the same store.
"""

from __future__ import annotations

import ast
import json
import os
import sys
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jupyter_mlops.app.reproduce.modules import write_modules
from jupyter_mlops.capture import parameters
from jupyter_mlops.config import ENV_BLOBS, ENV_BLOBS_CACHE, ENV_BLOBS_OPTIONS, ENV_RUN_CONTEXT, ENV_STORE, Settings
from jupyter_mlops.errors import InvalidInput

__all__ = ["Execution", "build_as_executed", "execute_notebook", "inject", "parse_params", "store_env"]

#: Tag of the runs a reproduction creates (with ``what-if`` when parameters were overridden).
REPRODUCTION_TAG = "reproduction"
LOAD_EXTENSION = "%load_ext jupyter_mlops"


def _uses_track(source: str) -> bool:
    return any(line.lstrip().startswith(("%track", "%%track")) for line in source.splitlines())


def parse_params(values: Iterable[str]) -> dict[str, Any]:
    """``--param k=v`` values: ``v`` is read as a Python literal (``0.1``, ``'a'``, ``[1, 2]``), else kept as text.

    Raises:
        InvalidInput: no ``=``, or a key that is not a Python name.
    """
    overrides: dict[str, Any] = {}
    for option in values:
        key, sep, raw = option.partition("=")
        key = key.strip()
        if not sep or not key.isidentifier():
            raise InvalidInput(f"--param {option!r}: expected NAME=VALUE with a Python name (e.g. lr=0.1)")
        try:
            overrides[key] = ast.literal_eval(raw.strip())
        except (ValueError, SyntaxError, RecursionError):
            overrides[key] = raw
    return overrides


def build_as_executed(code_snapshot: Mapping[str, Any], kernelspec: Mapping[str, Any] | None) -> Any:
    """A notebook of the code snapshot's cells in execution order (each cell once per execution)."""
    import nbformat

    nb = nbformat.v4.new_notebook()  # type: ignore[no-untyped-call]
    cells = sorted(code_snapshot.get("cells") or [], key=lambda cell: cell.get("index", 0))
    sources = [str(cell.get("source") or "") for cell in cells]
    # The cell that loaded the extension binds no name, so it is no context cell: `%track` needs it loaded again.
    if any(_uses_track(source) for source in sources) and not any(LOAD_EXTENSION in source for source in sources):
        sources.insert(0, LOAD_EXTENSION)
    nb.cells = [nbformat.v4.new_code_cell(source) for source in sources]  # type: ignore[no-untyped-call]
    nb.metadata["kernelspec"] = dict(kernelspec or {"name": "python3", "display_name": "Python 3",
                                                    "language": "python"})
    return nb


def inject(nb: Any, recorded: Mapping[str, Any], overrides: Mapping[str, Any], *, tags_known: bool) -> dict[str, Any]:
    """Inject the recorded params (and overrides) after the notebook's parameters cell; returns what was injected.

    Raises:
        InvalidInput: an override names no parameter of the notebook (or the notebook has no parameters cell).
    """
    found = parameters.find_parameters_cell(nb.cells, tags_known=tags_known)
    names: set[str] = set()
    if found is not None:
        source = parameters.cell_source(nb.cells[found.index])
        try:
            names = set(parameters.parameter_defaults(source, cell=found.index))
        except Exception:  # an unreadable cell defines no parameters we could set
            names = set()
    unknown = sorted(set(overrides) - names)
    if unknown:
        known = ", ".join(sorted(names)) or "none: the notebook has no parameters cell"
        raise InvalidInput(f"--param {unknown[0]}: not a parameter of this notebook (parameters: {known})")
    values = {key: value for key, value in recorded.items() if key in names}
    values.update(overrides)
    if found is None or not values:
        return {}
    cell = nb.cells[found.index]
    tags = list(cell.metadata.get("tags") or [])
    if parameters.PARAMETERS_TAG not in tags:
        cell.metadata["tags"] = [*tags, parameters.PARAMETERS_TAG]
    parameters.inject_parameters(nb, values)
    return values


@dataclass(frozen=True)
class Execution:
    """How the notebook ran: ``error`` is one line (None when every cell ran)."""

    started: float
    error: str | None = None


def store_env(settings: Settings) -> dict[str, str]:
    """Absolute locations of the workspace's stores, for a kernel or interpreter started in another folder."""
    location = settings.store_location
    store = f"sqlite:///{Path(location.sqlite_path).resolve()}" if location.sqlite_path else settings.store_url
    blobs = settings.blobs_url
    if "://" not in blobs:
        blobs = str(Path(blobs).resolve())
    env = {ENV_STORE: store, ENV_BLOBS: blobs}
    # A remote blob store's options and cache travel too (a kernel in another folder may not find the same
    # pyproject.toml); the environment is where its credentials already are, and it is never recorded.
    if settings.blobs_options:
        env[ENV_BLOBS_OPTIONS] = json.dumps(settings.blobs_options)
    if settings.blobs_cache:
        env[ENV_BLOBS_CACHE] = str(Path(settings.blobs_cache).expanduser().resolve())
    return env


def _kernel_manager(folder: Path, env: Mapping[str, str], first_on_path: Path | None = None) -> Any:
    """A kernel manager for this interpreter, with ``env`` added to the kernel's environment.

    ``first_on_path`` goes first on the kernel's ``sys.path`` before any cell runs (the recorded local modules,
    ADR-103): an ``exec_lines`` entry, which runs silently, binds no name and is not a cell of the new run.
    """
    from jupyter_client.kernelspec import KernelSpec
    from jupyter_client.manager import KernelManager

    transport = {"transport": "ipc", "ip": str(folder / "k")} if os.name == "posix" else {}
    extra = []
    if first_on_path is not None:
        line = f"__import__('sys').path.insert(0, {str(first_on_path)!r})"
        extra.append("--IPKernelApp.exec_lines=" + json.dumps([line]))
    manager = KernelManager(kernel_name="python3", **transport)
    # Setting the spec skips the kernelspec lookup: this interpreter needs none installed (as nb-smoke does it).
    manager._kernel_spec = KernelSpec(
        argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}", *extra],
        display_name=f"Python ({sys.executable})", language="python", env=dict(env),
    )
    return manager


def _cell_hook(nb: Any, on_cell: Callable[[int, int], None] | None) -> dict[str, Any]:
    """The ``on_cell_execute`` hook of nbclient (passed through papermill's engine kwargs), counting code cells."""
    if on_cell is None:
        return {}
    total = sum(1 for cell in nb.cells if cell.cell_type == "code" and cell.source.strip())
    done = [0]

    def before_cell(**_: Any) -> None:  # nbclient calls it just before each non-empty code cell runs
        done[0] += 1
        on_cell(done[0], total)

    on_cell(0, total)
    return {"on_cell_execute": before_cell}


def execute_notebook(nb: Any, *, settings: Settings, cwd: Path, original_id: str, what_if: bool,
                     injected: Mapping[str, Any], timeout: float | None = None,
                     on_cell: Callable[[int, int], None] | None = None,
                     modules: Mapping[str, bytes] | None = None) -> Execution:
    """Run ``nb`` with papermill in a fresh kernel in ``cwd``; its runs are tracked as reproductions of the original.

    ``modules`` (relative path → source) are the recorded local modules, imported before the files in ``cwd``.

    ``on_cell(i, n)`` is called with 0 before the kernel starts, then before each code cell (1-based) runs; an
    exception it raises stops the execution there (the kernel is shut down) and is reported as the error.
    """
    import time

    import nbformat
    import papermill

    started = time.time()
    tags = [REPRODUCTION_TAG, "what-if"] if what_if else [REPRODUCTION_TAG]
    with tempfile.TemporaryDirectory(prefix="mlops-reproduce-") as folder:
        source = Path(folder) / "reproduce.ipynb"
        nbformat.write(nb, source)  # type: ignore[no-untyped-call]
        context = {"notebook_path": str(source), "tags": tags, "parameters": dict(injected),
                   "reproduction_of": original_id}
        values = {**store_env(settings), ENV_RUN_CONTEXT: json.dumps(context, default=str)}
        hooks = _cell_hook(nb, on_cell)
        first = None
        if modules:
            first = Path(folder) / "modules"
            write_modules(first, modules)
        manager = _kernel_manager(Path(folder), values, first)
        try:
            papermill.execute_notebook(
                str(source), str(Path(folder) / "executed.ipynb"), progress_bar=False, log_output=False,
                execution_timeout=timeout, kernel_name="python3", km=manager,
                resources={"metadata": {"path": str(cwd)}}, **hooks,
            )
        except papermill.PapermillExecutionError as exc:
            return Execution(started, f"cell {exc.cell_index + 1} raised {exc.ename}: {exc.evalue}".strip())
        except Exception as exc:  # a kernel that would not start, a timeout: the run could not be done
            return Execution(started, f"{type(exc).__name__}: {exc}".splitlines()[0])
        finally:
            # nbclient leaves a kernel it did not create running; its graceful shutdown is what ends an open run.
            if manager.has_kernel:
                manager.shutdown_kernel(now=False)
    return Execution(started)
