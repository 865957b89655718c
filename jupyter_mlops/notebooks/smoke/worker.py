"""One smoke task on a cluster worker: executed in a child process, never in the worker process itself.

:func:`execute_on_worker` is the function a Dask worker runs (:mod:`.cluster` submits it). It hands the task to
the worker's runner process (``python -m jupyter_mlops.notebooks.smoke.worker``, started once per worker, which
has imported the runner), which forks one process per task; that process runs it with the ordinary runner
(:func:`.run.run_smoke`: a fresh kernel, the same timeouts, output caps and structured failures) and answers with
its :class:`~.report.NotebookResult` before its kernel has shut down. The worker returns the result as a dict with
the executed notebook and its kernel log as bytes (ADR-093).
A notebook that kills its kernel, exhausts memory or hangs therefore costs its own processes only; the worker
lives on and reports it.

Assumptions:
    * The worker runs the notebook from its own path when it sees the same file there (a shared filesystem, or
      the same machine), so relative data paths work; otherwise from a copy of the bytes the client sent, in a
      private temporary folder (the runs still record the client's path: ``Task.origin``).
    * A worker killed mid-task (``kill -9``) leaves its runner process orphaned: the runner watches its parent
      and, once it is gone, ends every task process and everything carrying a task's token (:data:`TASK_MARKER`,
      inherited by the kernel and whatever it started) and exits, so nothing outlives the worker. The scheduler
      then gives the task to another worker (Dask's ``allowed-failures``), or the client reports it as
      ``worker-lost``.
    * A task gets a hard deadline beyond the notebook's own ``--timeout`` (:func:`deadline`), so a process that
      stops answering cannot hold a worker thread forever; a task process that dies without a result is
      answered for by the runner. POSIX only (``os.fork``), as Dask workers are in practice.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pickle
import shutil
import signal
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
_SPEC, _ANSWER, _PID = "task.pickle", "result.json", "task.pid"
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
    """Run ``job`` in a process of its own, forked by this worker's runner process; never raises for the notebook.

    Returns:
        ``result`` (:meth:`NotebookResult.to_dict`), ``executed`` and ``log`` (bytes or None) and ``worker``
        (the Dask worker's address, when known).
    """
    token = procs.new_token()
    folder = Path(tempfile.mkdtemp(prefix="nb-smoke-task-"))
    try:
        notebook = _local_notebook(job, folder)
        task = Task(notebook, dict(job.parameters), name=job.key, output_name=_EXECUTED, tags=job.tags,
                    origin=job.path)
        options = dataclasses.replace(job.options, output_dir=folder / "out")
        (folder / _SPEC).write_bytes(pickle.dumps((task, options)))
        result = _SERVER.run(folder, job, token)
        out = folder / "out" / _EXECUTED
        log = out.with_suffix(".kernel.log")
        return {"result": result.to_dict(), "executed": out.read_bytes() if out.is_file() else None,
                "log": log.read_bytes() if log.is_file() else None, "worker": _worker_address()}
    finally:
        shutil.rmtree(folder, ignore_errors=True)  # a task process still shutting its kernel down keeps its fds


class _Server:
    """This worker's runner process: it imported the runner once and forks one process per task.

    Importing the runner (nbclient, nbformat, jupyter_client) costs about 1.7 s of CPU; paid per notebook it
    was most of the cluster's overhead (ADR-093). The runner process itself never runs a notebook and never
    creates an event loop or a ZeroMQ socket, so each forked task process starts clean.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.process: subprocess.Popen[bytes] | None = None
        self.output: Any = None

    def ensure(self) -> subprocess.Popen[bytes]:
        """The runner process, started (again) when needed."""
        if self.process is None or self.process.poll() is not None:
            self.output = tempfile.TemporaryFile()  # noqa: SIM115 - its output, read if it dies
            env = {**os.environ, WORKER_PID: str(os.getpid())}
            self.process = subprocess.Popen([sys.executable, "-m", __name__], env=env, stdin=subprocess.PIPE,
                                            stdout=self.output, stderr=subprocess.STDOUT)
        return self.process

    def run(self, folder: Path, job: WorkerJob, token: str) -> NotebookResult:
        """Have the runner fork a process for the task in ``folder``; wait for its answer."""
        with self.lock:
            server = self.ensure()
            assert server.stdin is not None
            try:
                server.stdin.write(json.dumps({"folder": str(folder), "token": token}).encode() + b"\n")
                server.stdin.flush()
            except OSError:
                pass  # a runner that died: said below
        answer = folder / _ANSWER
        limit = None if job.deadline is None else time.monotonic() + job.deadline
        while not answer.exists():
            if server.poll() is not None:
                return _failed(job, "internal-error", f"the runner process on the worker exited with "
                               f"{server.returncode}: {self.last_line()}")
            if limit is not None and time.monotonic() > limit:
                _end_task(folder, token)
                return _failed(job, "timeout", f"the notebook's process on the worker ran past {job.deadline:g}s "
                               "and was ended")
            time.sleep(_ANSWER_POLL)
        try:
            return NotebookResult.from_dict(json.loads(answer.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError) as exc:
            return _failed(job, "internal-error", f"unreadable answer from the worker: {exc}")

    def last_line(self) -> str:
        try:
            self.output.seek(0)
            lines = self.output.read()[-_TAIL:].decode("utf-8", "replace").strip().splitlines()
            return lines[-1] if lines else "no output"
        except (OSError, AttributeError, ValueError):
            return "no output"


_SERVER = _Server()


def warm_up_worker() -> None:
    """Start this worker's runner process now, so that it has imported the runner when the first task comes."""
    with _SERVER.lock:
        _SERVER.ensure()


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


def _failed(job: WorkerJob, reason: str, message: str) -> NotebookResult:
    return NotebookResult(path=job.key, passed=False, reason=reason, message=message)


def _end_task(folder: Path, token: str) -> None:
    """End a task's process (its pid file) and everything its kernel started (its token)."""
    try:
        os.kill(int((folder / _PID).read_text()), signal.SIGKILL)
    except (OSError, ValueError):
        pass
    procs.end_tree(token, variable=TASK_MARKER)


def _worker_address() -> str | None:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return None


class _Runner:
    """The runner process: forks one task process per order on stdin, answers for those that die silently."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.live: dict[int, tuple[Path, str]] = {}  # pid -> (folder, token)

    def watch(self, parent: int) -> None:
        """End every task's processes and exit once ``parent`` (the worker) is gone."""
        while os.getppid() == parent:
            time.sleep(_WATCH_EVERY)
        with self.lock:
            tasks = list(self.live.values())
        for folder, token in tasks:
            _end_task(folder, token)
        os._exit(3)

    def reap(self) -> None:
        """Collect ended task processes; one that died before answering gets an answer saying so."""
        while True:
            try:
                pid, status = os.waitpid(-1, 0)
            except ChildProcessError:
                time.sleep(_WATCH_EVERY / 5)
                continue
            with self.lock:
                folder, _ = self.live.pop(pid, (None, ""))
            if folder is None or (folder / _ANSWER).exists():
                continue
            code = os.waitstatus_to_exitcode(status)
            _answer(folder, NotebookResult(path=str(folder), passed=False, reason="internal-error",
                                           message=f"the notebook's process on the worker ended with {code} "
                                                   "before it had a result"))

    def serve(self) -> None:
        """Fork a task process for each order line until stdin closes."""
        for line in sys.stdin:
            if not line.strip():
                continue
            order = json.loads(line)
            folder, token = Path(order["folder"]), str(order["token"])
            with self.lock:
                pid = os.fork()
                if pid == 0:
                    _task_process(folder, token)  # never returns
                self.live[pid] = (folder, token)


def _answer(folder: Path, result: NotebookResult) -> None:
    part = folder / (_ANSWER + ".part")
    part.write_text(json.dumps(result.to_dict(), default=str), encoding="utf-8")
    part.rename(folder / _ANSWER)  # the worker polls for the name: it must never see half a file


def _task_process(folder: Path, token: str) -> None:
    """A forked task process: run the task, answer as soon as its result is known, exit once its kernel ended."""
    code = 0
    try:
        from jupyter_mlops.notebooks.smoke.run import run_smoke

        os.close(0)
        (folder / _PID).write_text(str(os.getpid()))
        os.environ[TASK_MARKER] = token  # the kernel and everything it starts inherit it
        # The runner may go without a word (killed with its worker's process group): then end this task here too.
        threading.Thread(target=_follow, args=(os.getppid(), token), name="nb-smoke-follow", daemon=True).start()
        task, options = pickle.loads((folder / _SPEC).read_bytes())  # noqa: S301 - written by our worker just now
        run_smoke([task], options, on_result=lambda result: _answer(folder, result))
    except BaseException:  # noqa: BLE001 - the runner answers for a task process that failed
        code = 1
    finally:
        os._exit(code)


def _follow(parent: int, token: str) -> None:
    """In a task process: once ``parent`` (the runner) is gone, end the kernel's processes and exit."""
    while os.getppid() == parent:
        time.sleep(_WATCH_EVERY)
    procs.end_tree(token, variable=TASK_MARKER)
    os._exit(3)


def _warm_up() -> None:
    """Import once, in the runner, what the runner imports lazily on its first notebook."""
    import jupyter_client.manager  # noqa: F401
    import nbclient  # noqa: F401
    import nbformat  # noqa: F401
    import psutil  # noqa: F401

    from jupyter_mlops.notebooks import io  # noqa: F401
    from jupyter_mlops.notebooks.smoke import outputs, run  # noqa: F401


def main() -> int:
    """The runner process of one worker (``python -m jupyter_mlops.notebooks.smoke.worker``)."""
    runner = _Runner()
    parent = os.environ.get(WORKER_PID)
    if parent:
        threading.Thread(target=runner.watch, args=(int(parent),), name="nb-smoke-watch", daemon=True).start()
    _warm_up()
    threading.Thread(target=runner.reap, name="nb-smoke-reap", daemon=True).start()
    runner.serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
