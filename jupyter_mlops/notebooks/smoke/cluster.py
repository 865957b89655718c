"""``--executor dask://HOST:PORT``: smoke tasks on a Dask cluster, with the results and reports of a local run.

Each task is one Dask task (:func:`.worker.execute_on_worker`) that runs the notebook in a child process of a
worker and sends back the structured result, the executed notebook and its kernel log as bytes; this side writes
them under the output folder, exactly where a local run puts them, so the reports are the same. Dask's scheduler
re-runs a task whose worker died (its ``allowed-failures``, 3 by default); a task that kept killing workers comes
back as :class:`distributed.KilledWorker` and is reported with reason ``worker-lost``. Nothing waits forever:
while tasks are pending the cluster is checked, and when it has had no worker for :data:`NO_WORKER_WAIT`
seconds, or this client lost the scheduler, the tasks left are reported ``worker-lost``.

``distributed`` (the optional ``dask`` extra) is imported only here, only when a cluster is used.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from time import monotonic
from typing import Any

from jupyter_mlops.errors import ExecutorUnavailable, InvalidInput
from jupyter_mlops.notebooks.smoke.execute import _shown
from jupyter_mlops.notebooks.smoke.options import SmokeOptions
from jupyter_mlops.notebooks.smoke.report import NotebookResult, SmokeReport
from jupyter_mlops.notebooks.smoke.run import default_output_dir, task_key, task_output
from jupyter_mlops.notebooks.smoke.task import Task, as_task
from jupyter_mlops.notebooks.smoke.worker import (
    WorkerJob,
    deadline,
    execute_on_worker,
    remote_options,
    warm_up_worker,
)

#: Seconds to reach the scheduler before giving up with one line.
CONNECT_TIMEOUT = 10.0
#: Seconds the cluster may have no worker while tasks wait, before they are reported ``worker-lost``.
NO_WORKER_WAIT = 60.0
_POLL = 1.0
_TICK = 0.02
_SCHEMES = ("dask://", "tcp://", "tls://")


def parse_executor(text: str | None, flag: str = "--executor") -> str | None:
    """``local`` (or nothing) → None; ``dask://HOST:PORT`` (also ``tcp://``, ``tls://``) → the scheduler address.

    Raises:
        InvalidInput: anything else.
    """
    if text is None or text.strip().lower() in ("", "local"):
        return None
    value = text.strip()
    scheme = next((s for s in _SCHEMES if value.lower().startswith(s)), None)
    rest = value[len(scheme):] if scheme else ""
    host, _, port = rest.rpartition(":")
    if scheme is None or not host or not port.isdigit():
        raise InvalidInput(f"{flag}: expected local or dask://HOST:PORT, got {text!r}")
    return ("tcp://" if scheme == "dask://" else scheme) + rest


class Cluster:
    """A connection to a Dask scheduler, opened before anything runs (an unreachable one is a usage error)."""

    def __init__(self, address: str, connect_timeout: float = CONNECT_TIMEOUT) -> None:
        """Connect to the scheduler at ``address`` (``tcp://HOST:PORT``).

        Raises:
            InvalidInput: ``distributed`` is not installed.
            ExecutorUnavailable: no scheduler answers at ``address`` within ``connect_timeout`` seconds.
        """
        try:
            from distributed import Client
        except ImportError:
            raise InvalidInput("--executor dask:// needs Dask distributed: pip install 'jupyter_mlops[dask]'") from None
        self.address = address
        try:
            self.client: Any = Client(address, timeout=connect_timeout, set_as_default=False)
        except (OSError, TimeoutError) as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise ExecutorUnavailable(f"cannot reach the Dask scheduler at {address}: {first}") from None
        try:  # each worker's runner process starts importing while this side prepares the tasks
            self.client.run(warm_up_worker, wait=False)
        except Exception:  # noqa: BLE001 - only a head start: the first task starts the runner otherwise
            pass

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Disconnect (tasks still running on the cluster are released)."""
        try:
            self.client.close()
        except Exception:  # noqa: BLE001 - closing a client whose scheduler is gone must not hide the report
            pass

    def workers(self) -> int:
        """How many workers the scheduler has now (0 when it cannot be asked)."""
        try:
            return len(self.client.scheduler_info().get("workers", {}))
        except Exception:  # noqa: BLE001 - a scheduler that stopped answering has no worker for us
            return 0

    def run(self, notebooks: Sequence[Path | Task], options: SmokeOptions,
            on_result: Callable[[NotebookResult], None] | None = None) -> SmokeReport:
        """Execute every notebook (or task) on the cluster; results in the given order.

        Raises:
            InvalidInput: an output folder that would overwrite an input, or an unreadable ``-f`` file.
        """
        began = monotonic()
        output_dir = options.output_dir or default_output_dir()
        tasks = [as_task(item) for item in notebooks]
        outputs = [task_output(task, output_dir) for task in tasks]
        remote = remote_options(options)
        results: list[NotebookResult | None] = [None] * len(tasks)
        futures: dict[Any, int] = {}
        for index, task in enumerate(tasks):
            try:
                data = task.path.read_bytes()
            except OSError as exc:
                results[index] = _failed(task_key(task), "bad-notebook", f"cannot read the notebook: {exc.strerror}")
                continue
            job = WorkerJob(path=str(task.path.resolve()), notebook=data, key=task_key(task), options=remote,
                            parameters=dict(task.parameters), tags=task.tags, deadline=deadline(options))
            future = self.client.submit(execute_on_worker, job, key=f"nb-smoke-{uuid.uuid4().hex}", pure=False)
            futures[future] = index
        for index, result in self._gather(futures, tasks, outputs):
            results[index] = result
            if on_result:
                on_result(result)
        done = [r if r is not None else _failed(task_key(t), "internal-error", "no result") for r, t in
                zip(results, tasks, strict=True)]
        return SmokeReport(results=done, wall=monotonic() - began)

    def _gather(self, futures: dict[Any, int], tasks: list[Task],
                outputs: list[Path]) -> Any:
        """Yield ``(index, result)`` as tasks finish; give up on the rest when the cluster cannot run them."""
        from distributed import as_completed

        pending = set(futures)
        finished = as_completed(list(futures), loop=self.client.loop)
        lonely_since: float | None = None
        checked = monotonic()
        while pending:
            done = finished.next_batch(block=False) if finished.has_ready() else []
            for future in done:
                pending.discard(future)
                index = futures[future]
                yield index, _collect(future, task_key(tasks[index]), outputs[index])
            if done or not pending:
                continue
            time.sleep(_TICK)
            if monotonic() - checked < _POLL:
                continue
            checked = monotonic()
            lost = self._lost(lonely_since)
            if isinstance(lost, float) or lost is None:
                lonely_since = lost
                continue
            for future in pending:
                future.cancel()
                index = futures[future]
                yield index, _failed(task_key(tasks[index]), "worker-lost", lost)
            pending = set()

    def _lost(self, lonely_since: float | None) -> float | str | None:
        """None: workers are there; a time: none since then; a text: why the pending tasks will never run."""
        if self.client.status not in ("running", "connecting"):
            return f"lost the connection to the Dask scheduler at {self.address}"
        if self.workers():
            return None
        now = monotonic()
        if lonely_since is None:
            return now
        if now - lonely_since >= NO_WORKER_WAIT:
            return f"the Dask cluster at {self.address} had no worker for {NO_WORKER_WAIT:g}s"
        return lonely_since


def _collect(future: Any, key: str, output: Path) -> NotebookResult:
    """The result a finished Dask task brought back, its executed notebook written to ``output``."""
    from distributed import KilledWorker

    try:
        payload = future.result()
    except KilledWorker as exc:
        return _failed(key, "worker-lost", f"every Dask worker that ran it died ({exc}); not retried again")
    except Exception as exc:  # noqa: BLE001 - a task error (or a cancelled task) fails this notebook only
        return _failed(key, "internal-error", f"the Dask task failed: {type(exc).__name__}: {exc}")
    result = NotebookResult.from_dict(payload["result"])
    result.executed_path = None
    if payload.get("executed") is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_bytes(payload["executed"])
        result.executed_path = _shown(output)
    if payload.get("log"):
        output.with_suffix(".kernel.log").write_bytes(payload["log"])
    return result


def _failed(key: str, reason: str, message: str) -> NotebookResult:
    return NotebookResult(path=key, passed=False, reason=reason, message=message)
