"""One smoke task on a cluster worker: executed in a child process, never in the worker process itself.

:func:`execute_on_worker` is the function a Dask worker runs (:mod:`.cluster` submits it). It starts ``python -m
jupyter_mlops.notebooks.smoke.worker JOB RESULT``, which runs the task with the ordinary runner
(:func:`.run.run_smoke`: a fresh kernel, the same timeouts, output caps and structured failures), and returns
the child's :class:`~.report.NotebookResult` as a dict with the executed notebook and its kernel log as bytes.
A notebook that kills its kernel, exhausts memory or hangs therefore costs its own processes only; the worker
lives on and reports it.

Assumptions:
    * The worker runs the notebook from its own path when it sees the same file there (a shared filesystem, or
      the same machine), so relative data paths work; otherwise from a copy of the bytes the client sent, in a
      private temporary folder (the runs still record the client's path: ``Task.origin``).
    * A worker killed mid-task (``kill -9``) leaves its child orphaned: the child watches its parent and, once
      it is gone, ends every process carrying the task's token (:data:`TASK_MARKER`, inherited by the kernel and
      whatever it started) and exits, so nothing outlives the worker. The scheduler then gives the task to
      another worker (Dask's ``allowed-failures``), or the client reports it as ``worker-lost``.
    * The child gets a hard deadline beyond the notebook's own ``--timeout`` (:func:`deadline`), so a child that
      stops answering cannot hold a worker thread forever.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pickle
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jupyter_mlops.notebooks.smoke import procs
from jupyter_mlops.notebooks.smoke.options import SmokeOptions
from jupyter_mlops.notebooks.smoke.report import NotebookResult
from jupyter_mlops.notebooks.smoke.task import SMOKE_TAGS, Task

#: The worker's pid, handed to the child (and its kernel): the child exits when its parent is no longer it.
WORKER_PID = "JUPYTER_MLOPS_WORKER_PID"
#: A random token in the environment of the child and of everything it starts, to end them all.
TASK_MARKER = "JUPYTER_MLOPS_CLUSTER_TASK"
#: Seconds beyond the notebook's ``--timeout`` (and kernel start) before the child is killed.
DEADLINE_SLACK = 120.0
_WATCH_EVERY = 0.5
_EXECUTED = "executed.ipynb"
_TAIL = 2000


@dataclass(frozen=True)
class WorkerJob:
    """What the client sends for one task (pickled by Dask).

    Attributes:
        path: the notebook's absolute path on the client.
        notebook: its bytes, run from a copy when the worker does not see the same file.
        key: its name in reports.
        options: the call's options, cut to what a worker uses (:func:`remote_options`).
        parameters: the task's own parameters (a sweep point's).
        tags: the run tags its kernel hands to ``%track``.
        deadline: seconds after which the child is killed (None: no limit).
    """

    path: str
    notebook: bytes
    key: str
    options: SmokeOptions
    parameters: Mapping[str, Any] = field(default_factory=dict)
    tags: tuple[str, ...] = SMOKE_TAGS
    deadline: float | None = None


def remote_options(options: SmokeOptions) -> SmokeOptions:
    """The options a worker's child runs with: ``-f`` files read here, nothing that needs the client's files.

    The gate and the data check run on the client after the notebooks (their store is the client's), discovery,
    shards and ``--changed-since`` are done already, and the output folder is the child's own.

    Raises:
        InvalidInput: an unreadable ``-f`` file.
    """
    return dataclasses.replace(
        options, paths=[], parameters=options.given_parameters(), param_files=[], output_dir=None,
        changed_since=None, shard=None, durations_from=None, gate=None, data_against=None, jobs=1, prestart=0,
    )


def deadline(options: SmokeOptions) -> float | None:
    """The child's hard limit: the notebook's ``--timeout`` plus kernel start and :data:`DEADLINE_SLACK`."""
    if options.limits.timeout is None:
        return None
    return options.limits.timeout + options.startup_timeout + DEADLINE_SLACK


def execute_on_worker(job: WorkerJob) -> dict[str, Any]:
    """Run ``job`` in a child process of this worker; never raises for what the notebook does.

    Returns:
        ``result`` (:meth:`NotebookResult.to_dict`), ``executed`` and ``log`` (bytes or None) and ``worker``
        (the Dask worker's address, when known).
    """
    token = procs.new_token()
    with tempfile.TemporaryDirectory(prefix="nb-smoke-task-") as tmp:
        folder = Path(tmp)
        notebook = _local_notebook(job, folder)
        task = Task(notebook, dict(job.parameters), name=job.key, output_name=_EXECUTED, tags=job.tags,
                    origin=job.path)
        options = dataclasses.replace(job.options, output_dir=folder / "out")
        spec, answer = folder / "job.pickle", folder / "result.json"
        spec.write_bytes(pickle.dumps((task, options)))
        env = {**os.environ, WORKER_PID: str(os.getpid()), TASK_MARKER: token}
        result = _run_child([sys.executable, "-m", __name__, str(spec), str(answer)], env, notebook.parent,
                            job, token, answer)
        out = folder / "out" / _EXECUTED
        log = out.with_suffix(".kernel.log")
        return {"result": result.to_dict(), "executed": out.read_bytes() if out.is_file() else None,
                "log": log.read_bytes() if log.is_file() else None, "worker": _worker_address()}


def _local_notebook(job: WorkerJob, folder: Path) -> Path:
    """The client's file when this machine sees the same one, else a copy of the bytes sent."""
    path = Path(job.path)
    try:
        if path.is_file() and path.read_bytes() == job.notebook:
            return path
    except OSError:
        pass
    copy = folder / "in" / path.name
    copy.parent.mkdir()
    copy.write_bytes(job.notebook)
    return copy


def _run_child(argv: Sequence[str], env: Mapping[str, str], cwd: Path, job: WorkerJob, token: str,
               answer: Path) -> NotebookResult:
    try:
        done = subprocess.run(argv, env=dict(env), cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, timeout=job.deadline, check=False)
    except subprocess.TimeoutExpired:
        procs.end_tree(token, variable=TASK_MARKER)
        return NotebookResult(path=job.key, passed=False, reason="timeout",
                              message=f"the notebook's process on the worker ran past {job.deadline:g}s and was "
                                      "ended")
    procs.end_tree(token, variable=TASK_MARKER)  # whatever a dead child left behind
    try:
        return NotebookResult.from_dict(json.loads(answer.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        tail = done.stdout.decode("utf-8", "replace").strip()[-_TAIL:] if done.stdout else ""
        last = tail.splitlines()[-1] if tail else "no output"
        return NotebookResult(path=job.key, passed=False, reason="internal-error",
                              message=f"the notebook's process on the worker exited with {done.returncode} without "
                                      f"a result: {last}")


def _worker_address() -> str | None:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return None


def _watch_parent(parent: int, token: str) -> None:
    """End this task's processes and exit once ``parent`` (the worker) is gone."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(_WATCH_EVERY)
        procs.end_tree(token, variable=TASK_MARKER)
        os._exit(3)

    threading.Thread(target=watch, name="nb-smoke-worker-watch", daemon=True).start()


def main(argv: Sequence[str]) -> int:
    """The child: run the pickled task, write its result as JSON."""
    from jupyter_mlops.notebooks.smoke.run import run_smoke

    spec, answer = Path(argv[0]), Path(argv[1])
    parent, token = os.environ.get(WORKER_PID), os.environ.get(TASK_MARKER)
    if parent and token:
        _watch_parent(int(parent), token)
    task, options = pickle.loads(spec.read_bytes())  # noqa: S301 - written by our own worker a moment ago
    report = run_smoke([task], options)
    answer.write_text(json.dumps(report.results[0].to_dict(), default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
