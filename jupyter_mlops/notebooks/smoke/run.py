"""The smoke runner: execute notebooks in fresh kernels, in parallel, and report each one.

One asyncio loop in one process drives every kernel (kernels are separate processes, so the loop only moves
messages). While ``jobs`` notebooks execute, the kernels of the next ``prestart`` notebooks are already
starting, so a kernel's ~1 s startup overlaps other work instead of adding to the wall time; a kernel is shut
down in the background once its notebook is done. Heavy imports (nbclient, nbformat, jupyter_client) happen
lazily, after the first kernels were launched. A bad notebook, a bad parameter or a missing kernel fails that
notebook only: the others still run and are reported.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from time import monotonic
from typing import Any

from jupyter_mlops.capture.parameters import inject_parameters
from jupyter_mlops.config import MLOPS_DIR, find_project_root
from jupyter_mlops.errors import InvalidInput, NotebookError
from jupyter_mlops.notebooks.smoke import discover as discover_mod
from jupyter_mlops.notebooks.smoke.execute import Job, execute
from jupyter_mlops.notebooks.smoke.kernel import (
    CURRENT,
    Kernel,
    KernelStartError,
    choose_kernel,
    kernel_env,
    notebook_language,
    shutdown_kernel,
    start_kernel,
)
from jupyter_mlops.notebooks.smoke.options import SmokeOptions
from jupyter_mlops.notebooks.smoke.params import unknown_given_names
from jupyter_mlops.notebooks.smoke.preload import modules_for, preload
from jupyter_mlops.notebooks.smoke.report import NotebookResult, SmokeReport
from jupyter_mlops.notebooks.smoke.task import Task, as_task
from jupyter_mlops.notebooks.smoke.zygotes import load_early

_CELL_KEY = re.compile(rb'^\s*"cell_type"\s*:', re.MULTILINE)


def collect(options: SmokeOptions) -> list[Path]:
    """The notebooks a call runs: discovery, then ``--changed-since``, then ``--shard``.

    Raises:
        InvalidInput: bad paths, an unknown git revision, bad shard options, or no notebooks at all.
    """
    notebooks = discover_mod.discover(options.paths or ["."])
    if not notebooks:
        raise InvalidInput(f"no notebooks found in {' '.join(options.paths or ['.'])}")
    if options.changed_since:
        changed = discover_mod.changed_since(options.changed_since)
        notebooks = [nb for nb in notebooks if discover_mod.resolved(nb) in changed]
    if options.shard:
        durations = discover_mod.load_durations(options.durations_from) if options.durations_from else None
        notebooks = discover_mod.select_shard(notebooks, *options.shard, durations=durations)
    return notebooks


def output_path(notebook: Path, output_dir: Path) -> Path:
    """Where the executed copy of ``notebook`` goes; never the input itself.

    Raises:
        InvalidInput: ``output_dir`` would make the executed copy overwrite the input.
    """
    key = discover_mod.shard_key(notebook)
    if key.startswith("/"):  # outside the working directory: keep names apart by a short hash of the folder
        digest = hashlib.sha1(str(discover_mod.resolved(notebook).parent).encode()).hexdigest()[:8]
        key = f"_outside/{digest}/{notebook.name}"
    target = output_dir / key
    if discover_mod.resolved(target) == discover_mod.resolved(notebook):
        raise InvalidInput(f"--output-dir {output_dir} would overwrite {notebook}; choose another folder")
    return target


def cell_lines(raw: bytes, count: int) -> list[int | None]:
    """1-based line of each cell in the file (where its ``"cell_type"`` key is), for annotations."""
    starts = [raw.count(b"\n", 0, m.start()) + 1 for m in _CELL_KEY.finditer(raw)]
    return starts if len(starts) == count else [None] * count  # type: ignore[return-value]


def task_key(task: Task) -> str:
    """A task's name in reports."""
    return task.name or discover_mod.shard_key(task.path)


def task_output(task: Task, output_dir: Path) -> Path:
    """Where a task's executed notebook goes (:func:`output_path`, or its own ``output_name``)."""
    if task.output_name is None:
        return output_path(task.path, output_dir)
    target = output_dir / task.output_name
    if discover_mod.resolved(target) == discover_mod.resolved(task.path):
        raise InvalidInput(f"--output-dir {output_dir} would overwrite {task.path}; choose another folder")
    return target


def prepare(notebook: Path | Task, options: SmokeOptions, output_dir: Path | None,
            cache: dict[Path, dict[str, Any]], given: dict[str, Any] | None = None) -> Job:
    """Read, check and parameterize one notebook (``given``: :meth:`SmokeOptions.given_parameters`, read once).

    Raises:
        NotebookError: unreadable, invalid or empty notebook (reason ``bad-notebook``).
        InvalidInput: a parameter the notebook does not define or cannot take (reason ``bad-parameter``).
    """
    from jupyter_mlops.notebooks.io import parse_notebook, read_notebook_bytes
    from jupyter_mlops.notebooks.smoke.params import resolve_parameters

    task = as_task(notebook)
    notebook = task.path
    key = task_key(task)
    raw = read_notebook_bytes(notebook, key)
    nb = parse_notebook(raw, key)
    from nbformat.v4.rwbase import rejoin_lines

    rejoin_lines(nb)  # JSON keeps multi-line strings as lists; nbclient (like nbformat.reads) wants str
    if not nb.cells:
        raise NotebookError("the notebook has no cells")
    lines = cell_lines(raw, len(nb.cells))
    parameters = options.parameters_for(notebook, nb, given, cache)
    if task.parameters:  # a task's own values (a sweep's point): every name must be the notebook's
        parameters.update(resolve_parameters(nb, [task.parameters]))
    originals = {id(cell): i for i, cell in enumerate(nb.cells)}
    inject_parameters(nb, parameters, notebook_language(nb))
    return Job(path=notebook, key=key, nb=nb, origin=[originals.get(id(c)) for c in nb.cells], lines=lines,
               parameters=parameters, output=task_output(task, output_dir) if output_dir else None,
               kernel_name=choose_kernel(nb, options.kernel))


def check_parameters(notebooks: list[Path], options: SmokeOptions) -> None:
    """Refuse, before anything runs, a ``-p``/``-f`` name that none of ``notebooks`` defines.

    A name only some notebooks define is fine: the others run without it. Unreadable notebooks are skipped
    here and reported as ``bad-notebook`` when they run.

    Raises:
        InvalidInput: a name no notebook's parameters cell defines (with a "did you mean" hint), or an
            unreadable ``-f`` file.
    """
    given = options.given_parameters()
    if not given:
        return
    from jupyter_mlops.notebooks.io import parse_notebook

    parsed = []
    for notebook in notebooks:
        try:
            parsed.append(parse_notebook(notebook.read_bytes(), discover_mod.shard_key(notebook)))
        except (OSError, NotebookError):
            continue
    message = unknown_given_names(given, parsed)
    if message:
        raise InvalidInput(message)


def _bad(key: str, reason: str, message: str) -> NotebookResult:
    prefix = f"{key}: "
    return NotebookResult(path=key, passed=False, reason=reason,
                          message=message[len(prefix):] if message.startswith(prefix) else message)


class _Runner:
    """One call's scheduling state: slots for executing and for live kernels, background shutdowns."""

    def __init__(self, options: SmokeOptions, output_dir: Path | None, throwaway: Path | None,
                 on_start: Callable[[str], None] | None,
                 on_result: Callable[[NotebookResult], None] | None) -> None:
        self.options = options
        self.output_dir = output_dir
        self.throwaway = throwaway
        self.on_start = on_start
        self.on_result = on_result
        jobs = max(1, options.jobs or os.cpu_count() or 1)
        self.running = asyncio.Semaphore(jobs)
        self.live = asyncio.Semaphore(jobs + max(0, jobs if options.prestart is None else options.prestart))
        self.shutdowns: set[asyncio.Task[None]] = set()
        self.cache: dict[Path, dict[str, Any]] = {}
        self.given: dict[str, Any] | None = None

    async def one(self, task: Task) -> NotebookResult:
        async with self.live:
            try:
                result = await self._one(task)
            except Exception as exc:  # noqa: BLE001 - a bug met on one notebook must not stop the others
                key = task_key(task)
                result = _bad(key, "internal-error", f"internal error: {type(exc).__name__}: {exc}")
        if self.on_result:
            self.on_result(result)
        return result

    async def _one(self, task: Task) -> NotebookResult:
        notebook, key = task.path, task_key(task)
        try:
            if self.given is None:
                self.given = self.options.given_parameters()
            job = prepare(task, self.options, self.output_dir, self.cache, self.given)
        except NotebookError as exc:
            return _bad(key, "bad-notebook", exc.message)
        except InvalidInput as exc:
            return _bad(key, "bad-parameter", exc.message)
        started = monotonic()
        log = job.output.with_suffix(".kernel.log") if job.output else None
        if log:
            log.parent.mkdir(parents=True, exist_ok=True)
        names = self._modules(job)
        python = notebook_language(job.nb) == "python"
        if self.options.fork and python and job.kernel_name == CURRENT:
            load_early(tuple(names))  # an early zygote imports them while this kernel's start is set up
        try:
            kernel = await start_kernel(job.kernel_name, notebook.resolve().parent,
                                        kernel_env(notebook, job.parameters, self.throwaway,
                                                   self.options.kernel_env, task.tags, task.origin), log,
                                        self.options.startup_timeout,
                                        fork=names if self.options.fork and python else None)
        except KernelStartError as exc:
            failed = _bad(key, exc.reason, exc.message)
            failed.kernel_start_retries = exc.retries
            return failed
        try:
            preloaded = await self._preload(kernel, names)
            startup = monotonic() - started
            async with self.running:
                if self.on_start:
                    self.on_start(key)
                began = monotonic()
                result = await execute(job, kernel, self.options.limits)
                result.duration = startup + monotonic() - began
                result.kernel_start_retries = kernel.start_retries
                result.preload = preloaded
                result.fork = kernel.fork
        finally:
            ending = asyncio.ensure_future(shutdown_kernel(kernel))
            self.shutdowns.add(ending)
            ending.add_done_callback(self.shutdowns.discard)
        return result

    def _modules(self, job: Job) -> list[str]:
        """The notebook's ``--preload`` modules ([] without ``--preload`` or for another language)."""
        if self.options.preload is None or notebook_language(job.nb) != "python":
            return []
        return modules_for(self.options.preload, job.nb, job.path, find_project_root(job.path))

    async def _preload(self, kernel: Kernel, names: list[str]) -> dict[str, Any] | None:
        """Import ``names`` in the kernel while it waits for a slot (ADR-073); a forked one has them (ADR-099)."""
        if not names:
            return None
        if not (kernel.fork and kernel.fork.get("forked")):
            return (await preload(kernel, names, self.options.startup_timeout)).to_dict()
        have = set(kernel.fork.get("loaded", []))
        failed = {name: why for name, why in kernel.fork.get("failed", {}).items() if name in names}
        rest = [name for name in names if name not in have and name not in failed]  # a subset zygote's gap
        seconds = 0.0
        if rest:
            more = await preload(kernel, rest, self.options.startup_timeout)
            have.update(more.loaded)
            failed.update(more.failed)
            seconds = more.seconds
        return {"loaded": [name for name in names if name in have], "failed": failed, "seconds": round(seconds, 3)}

    def tell_early_zygote(self, tasks: list[Task]) -> None:
        """With ``--fork``: name the first notebook's modules to an early-started zygote before any is prepared.

        They are read from the file's JSON (the notebook's import statements; no nbformat, no validation), so
        the zygote imports them while the first notebook is parsed and validated and its kernel set up
        (ADR-118). A set that turns out different (an unreadable file) only leaves the zygote unadopted.
        """
        if not self.options.fork or not tasks:
            return
        import json

        path = tasks[0].path
        try:
            nb = json.loads(path.read_bytes())
            if notebook_language(nb) != "python" or choose_kernel(nb, self.options.kernel) != CURRENT:
                return
            names = modules_for(self.options.preload, nb, path, find_project_root(path)) if self.options.preload else []
        except (OSError, ValueError, AttributeError, TypeError, RecursionError):
            return
        load_early(tuple(names))

    async def run(self, tasks: list[Task]) -> list[NotebookResult]:
        self.tell_early_zygote(tasks)
        try:
            return list(await asyncio.gather(*(self.one(task) for task in tasks)))
        finally:
            if self.shutdowns:
                await asyncio.gather(*list(self.shutdowns), return_exceptions=True)


def default_output_dir() -> Path:
    """``<project root>/.mlops/smoke`` (the project root of the working directory)."""
    return find_project_root() / MLOPS_DIR / "smoke"


def run_smoke(notebooks: Sequence[Path | Task], options: SmokeOptions,
              on_start: Callable[[str], None] | None = None,
              on_result: Callable[[NotebookResult], None] | None = None,
              keep_zygotes: bool = False) -> SmokeReport:
    """Execute ``notebooks`` and report each, in the given order.

    Args:
        notebooks: from :func:`collect` (or any list of paths), or :class:`~.task.Task` objects.
        options: how to run them.
        on_start: called with a notebook's report name when it starts executing.
        on_result: called with each result as soon as it is known.
        keep_zygotes: with ``--fork``, leave the zygotes running for a later call (``pytest --nb-smoke`` runs one
            notebook per call and ends them at its end); by default they end with this call, Ctrl-C included.

    Raises:
        InvalidInput: an output folder that would overwrite an input (checked before anything runs).
    """
    output_dir = options.output_dir or default_output_dir()
    tasks = [as_task(item) for item in notebooks]
    for task in tasks:
        task_output(task, output_dir)
    throwaway = None if options.track else Path(tempfile.mkdtemp(prefix="nb-smoke-store-"))
    began = monotonic()
    try:
        runner = _Runner(options, output_dir, throwaway, on_start, on_result)
        results = asyncio.run(runner.run(tasks))
    finally:
        if options.fork and not keep_zygotes:
            from jupyter_mlops.notebooks.smoke.zygotes import close_zygotes

            close_zygotes()
        if throwaway is not None:
            shutil.rmtree(throwaway, ignore_errors=True)
    return SmokeReport(results=results, wall=monotonic() - began)
