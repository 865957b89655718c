"""Background jobs of the REST API: a reproduction runs for minutes, so ``POST`` queues it and ``GET`` polls it.

A job runs one callable on the registry's own threads, never on the store pool, so a long reproduction cannot
starve the sidebar's reads. It keeps its state (``queued``, ``running``, ``done``, ``failed``, ``cancelled``), the
last progress reported and its result. One job per key (a run id) may be active at a time; at most ``limit`` jobs
are kept, the oldest finished ones dropped first. The work itself is a use case of :mod:`jupyter_mlops.app`; the
registry knows nothing of what it does.

Cancelling a queued job drops it. A running job is asked to stop: the next progress report raises
:class:`Cancelled` inside the work (a reproduction reports before each cell, so its kernel is shut down as after
any failed cell); a job that finishes anyway keeps its result and is marked ``cancelled``.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from jupyter_mlops.errors import Conflict, MlopsError, NotFound

__all__ = ["ACTIVE", "Cancelled", "Job", "JobRegistry", "Report"]

QUEUED, RUNNING, DONE, FAILED, CANCELLED = "queued", "running", "done", "failed", "cancelled"
ACTIVE = frozenset({QUEUED, RUNNING})
#: Jobs kept (finished ones are dropped oldest first beyond it; a registry full of active jobs refuses more).
MAX_JOBS = 50
log = logging.getLogger(__name__)


class Cancelled(Exception):
    """Raised by a job's progress report once the job was asked to stop."""


#: ``report(progress, stoppable=True)``: record the progress; raises :class:`Cancelled` when asked to stop.
Report = Callable[..., None]


@dataclass
class Job:
    """One background job; read it through :meth:`JobRegistry.snapshot`, which copies it under the lock."""

    id: str
    key: str
    created: float
    state: str = QUEUED
    progress: dict[str, Any] | None = None
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    finished: float | None = None
    cancel_requested: bool = False
    future: Future[Any] | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON shape of ``GET jobs/{id}``."""
        return {"id": self.id, "run": self.key, "state": self.state, "progress": self.progress,
                "result": self.result, "error": self.error, "created": self.created, "finished": self.finished,
                "cancel_requested": self.cancel_requested}


class JobRegistry:
    """Background jobs keyed by what they work on.

    Args:
        workers: threads that run jobs (more jobs wait as ``queued``).
        limit: jobs kept in memory.
        clock: seconds since the epoch (injectable for tests).
    """

    def __init__(self, workers: int = 2, limit: int = MAX_JOBS, clock: Callable[[], float] = time.time) -> None:
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="jupyter-mlops-job")
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._lock = threading.Lock()
        self._limit = limit
        self._clock = clock

    def submit(self, key: str, work: Callable[[Report], dict[str, Any]]) -> dict[str, Any]:
        """Queue ``work(report)`` for ``key``; returns the new job's JSON.

        Raises:
            Conflict: a job for ``key`` is still queued or running, or every kept job is active.
        """
        with self._lock:
            busy = next((job for job in self._jobs.values() if job.key == key and job.state in ACTIVE), None)
            if busy is not None:
                raise Conflict(f"run {key[:8]} is already being reproduced (job {busy.id})")
            self._make_room()
            job = Job(uuid.uuid4().hex, key, self._clock())
            self._jobs[job.id] = job
            job.future = self._executor.submit(self._run, job, work)
            return job.to_dict()

    def snapshot(self, job_id: str) -> dict[str, Any]:
        """The job's JSON.

        Raises:
            NotFound: no such job (never submitted, or dropped as an old finished one).
        """
        with self._lock:
            return self._job(job_id).to_dict()

    def cancel(self, job_id: str) -> dict[str, Any]:
        """Drop a queued job, or ask a running one to stop; returns its JSON.

        Raises:
            NotFound: no such job.
            Conflict: the job has already finished.
        """
        with self._lock:
            job = self._job(job_id)
            if job.state not in ACTIVE:
                raise Conflict(f"job {job_id} has already finished ({job.state})")
            job.cancel_requested = True
            if job.future is not None and job.future.cancel():
                job.state, job.finished = CANCELLED, self._clock()
            return job.to_dict()

    def close(self) -> None:
        """Ask running jobs to stop and drop queued ones (server shutdown)."""
        with self._lock:
            for job in self._jobs.values():
                job.cancel_requested = True
        self._executor.shutdown(wait=False, cancel_futures=True)

    # -- internals ---------------------------------------------------------------------------------------------

    def _job(self, job_id: str) -> Job:
        job = self._jobs.get(job_id)
        if job is None:
            raise NotFound(f"no job {job_id[:40]!r} (finished jobs are kept for a while, then dropped)")
        return job

    def _make_room(self) -> None:
        while len(self._jobs) >= self._limit:
            oldest = next((job_id for job_id, job in self._jobs.items() if job.state not in ACTIVE), None)
            if oldest is None:
                raise Conflict(f"{len(self._jobs)} jobs are queued or running; wait for one to finish")
            del self._jobs[oldest]

    def _run(self, job: Job, work: Callable[[Report], dict[str, Any]]) -> None:
        stopped = threading.Event()

        def report(progress: dict[str, Any], stoppable: bool = True) -> None:
            with self._lock:
                job.progress = progress
                stop = job.cancel_requested and stoppable
            if stop:
                stopped.set()
                raise Cancelled("cancelled")

        with self._lock:
            if job.cancel_requested:
                job.state, job.finished = CANCELLED, self._clock()
                return
            job.state = RUNNING
        result: dict[str, Any] | None = None
        error: dict[str, Any] | None = None
        try:
            result = work(report)
        except Cancelled:
            pass
        except MlopsError as exc:
            error = exc.to_dict()
        except Exception as exc:  # a bug in the work: the job says so rather than hanging as "running"
            log.exception("jupyter_mlops: job %s failed", job.id)
            error = {"code": "INTERNAL", "message": f"{type(exc).__name__}: {exc}".splitlines()[0][:500]}
        with self._lock:
            job.result, job.error, job.finished = result, error, self._clock()
            if stopped.is_set():
                job.state = CANCELLED
            else:
                job.state = FAILED if error is not None else DONE
