"""One smoke task on a cluster worker: executed in a child process, never in the worker process itself.

:func:`execute_on_worker` is the function a Dask worker runs (:mod:`.cluster` submits it). It hands the task to
a child ``python -m jupyter_mlops.notebooks.smoke.worker``, which runs it with the ordinary runner
(:func:`.run.run_smoke`: a fresh kernel, the same timeouts, output caps and structured failures), and returns
the child's :class:`~.report.NotebookResult` as a dict with the executed notebook and its kernel log as bytes.
Each child runs one task; the next task's child is started (and has imported the runner) while this one runs,
and a child answers before its kernel has shut down (:class:`_Children`, ADR-093).
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
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
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
_ANSWER_POLL = 0.02


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
    folder = Path(tempfile.mkdtemp(prefix="nb-smoke-task-"))
    notebook = _local_notebook(job, folder)
    task = Task(notebook, dict(job.parameters), name=job.key, output_name=_EXECUTED, tags=job.tags,
                origin=job.path)
    options = dataclasses.replace(job.options, output_dir=folder / "out")
    spec, answer = folder / "job.pickle", folder / "result.json"
    spec.write_bytes(pickle.dumps((task, options)))
    child = _CHILDREN.take()
    result = _run_child(child, spec, answer, job, token)
    out = folder / "out" / _EXECUTED
    log = out.with_suffix(".kernel.log")
    payload = {"result": result.to_dict(), "executed": out.read_bytes() if out.is_file() else None,
               "log": log.read_bytes() if log.is_file() else None, "worker": _worker_address()}
    _CHILDREN.ending(child, folder)
    return payload


class _Children:
    """This worker's child processes: one warm standby, and children still shutting their kernel down.

    A child imports the runner (nbclient, jupyter_client: about a second) before it is given a task, so the next
    task's child is started while this one runs, as the local runner starts kernels ahead (``--prestart``); it
    still runs one task only. A child hands its result over before its kernel has shut down, and ends alone.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.standby: subprocess.Popen[bytes] | None = None
        self.closing: list[tuple[subprocess.Popen[bytes], Path]] = []

    def take(self) -> subprocess.Popen[bytes]:
        """A started child for this task (the standby when it is alive), and a new standby for the next."""
        with self.lock:
            self.reap()
            child = self.standby if self.standby is not None and self.standby.poll() is None else self.spawn()
            self.standby = self.spawn()
            return child

    def ending(self, child: subprocess.Popen[bytes], folder: Path) -> None:
        """``child`` answered: its folder goes once it has exited."""
        with self.lock:
            self.closing.append((child, folder))
            self.reap()

    def reap(self) -> None:
        still = []
        for child, folder in self.closing:
            if child.poll() is None:
                still.append((child, folder))
            else:
                shutil.rmtree(folder, ignore_errors=True)
                output = _OUTPUTS.pop(child.pid, None)
                if output is not None:
                    output.close()
        self.closing = still

    @staticmethod
    def spawn() -> subprocess.Popen[bytes]:
        env = {**os.environ, WORKER_PID: str(os.getpid())}
        output = tempfile.TemporaryFile()  # noqa: SIM115 - kept with the child, read if it dies without an answer
        child = subprocess.Popen([sys.executable, "-m", __name__], env=env, stdin=subprocess.PIPE, stdout=output,
                                 stderr=subprocess.STDOUT)
        _OUTPUTS[child.pid] = output
        return child


#: Each child's captured output (its stdout and stderr), by pid.
_OUTPUTS: dict[int, Any] = {}
_CHILDREN = _Children()


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


def _run_child(child: subprocess.Popen[bytes], spec: Path, answer: Path, job: WorkerJob,
               token: str) -> NotebookResult:
    """Hand ``child`` the task and wait for its answer (not for its kernel's shutdown)."""
    assert child.stdin is not None
    try:
        child.stdin.write(json.dumps({"spec": str(spec), "answer": str(answer), "token": token}).encode() + b"\n")
        child.stdin.close()
    except OSError:
        pass  # a child that died before its task: said below
    limit = None if job.deadline is None else time.monotonic() + job.deadline
    while not answer.exists() and child.poll() is None:
        if limit is not None and time.monotonic() > limit:
            child.kill()
            procs.end_tree(token, variable=TASK_MARKER)
            return NotebookResult(path=job.key, passed=False, reason="timeout",
                                  message=f"the notebook's process on the worker ran past {job.deadline:g}s and "
                                          "was ended")
        time.sleep(_ANSWER_POLL)
    try:
        return NotebookResult.from_dict(json.loads(answer.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        procs.end_tree(token, variable=TASK_MARKER)  # whatever a dead child left behind
        return NotebookResult(path=job.key, passed=False, reason="internal-error",
                              message=f"the notebook's process on the worker exited with {child.wait()} without "
                                      f"a result: {_last_line(child)}")


def _last_line(child: subprocess.Popen[bytes]) -> str:
    try:
        output = _OUTPUTS[child.pid]
        output.seek(0)
        lines = output.read()[-_TAIL:].decode("utf-8", "replace").strip().splitlines()
        return lines[-1] if lines else "no output"
    except (OSError, KeyError, ValueError):
        return "no output"


def _worker_address() -> str | None:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return None


class _Watch:
    """The child's watch on its worker: once the worker is gone, end this task's processes and exit."""

    token: str | None = None

    @classmethod
    def start(cls, parent: int) -> None:
        def watch() -> None:
            while os.getppid() == parent:
                time.sleep(_WATCH_EVERY)
            if cls.token:
                procs.end_tree(cls.token, variable=TASK_MARKER)
            os._exit(3)

        threading.Thread(target=watch, name="nb-smoke-worker-watch", daemon=True).start()


def main() -> int:
    """The child: import the runner, wait for one task on stdin, run it, hand its result over as JSON."""
    from jupyter_mlops.notebooks.smoke.run import run_smoke

    parent = os.environ.get(WORKER_PID)
    if parent:
        _Watch.start(int(parent))
    line = sys.stdin.readline()
    if not line.strip():
        return 0  # a standby its worker no longer needs
    order = json.loads(line)
    _Watch.token = os.environ[TASK_MARKER] = str(order["token"])  # the kernel and all it starts inherit it
    task, options = pickle.loads(Path(order["spec"]).read_bytes())  # noqa: S301 - written by our worker just now
    answer = Path(order["answer"])

    def hand_over(result: NotebookResult) -> None:
        part = answer.with_suffix(".part")
        part.write_text(json.dumps(result.to_dict(), default=str), encoding="utf-8")
        part.rename(answer)  # the worker polls for the name: it must never see half a file

    run_smoke([task], options, on_result=hand_over)
    return 0


if __name__ == "__main__":
    sys.exit(main())
