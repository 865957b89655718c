"""The REST API's background job registry: states, one job per run, the bound, cancelling, errors.

Jobs run on the registry's real threads; each test's work blocks on an Event the test releases, so every state is
observed when the test decides, never by timing.
"""

from __future__ import annotations

import threading

import pytest

from jupyter_mlops.errors import Conflict, InvalidInput, NotFound
from jupyter_mlops.server.jobs import JobRegistry

WAIT = 30  # a hang guard only: every wait below ends as soon as the awaited state is reached


@pytest.fixture
def registry():
    jobs = JobRegistry(workers=1, limit=3)
    yield jobs
    jobs.close()


def settled(registry: JobRegistry, job_id: str) -> dict:
    job = registry._jobs[job_id]
    job.future.result(timeout=WAIT) if not job.future.cancelled() else None
    return registry.snapshot(job_id)


def test_a_job_runs_reports_progress_and_keeps_its_result(registry):
    started, release = threading.Event(), threading.Event()

    def work(report):
        report({"phase": "executing", "cell": 1, "cells": 2})
        started.set()
        release.wait(WAIT)
        return {"outcome": "reproduced"}

    job = registry.submit("run-a", work)
    assert job["state"] in ("queued", "running") and job["result"] is None
    assert started.wait(WAIT)
    running = registry.snapshot(job["id"])
    assert running["state"] == "running" and running["progress"] == {"phase": "executing", "cell": 1, "cells": 2}
    with pytest.raises(Conflict, match="already being reproduced"):
        registry.submit("run-a", work)
    release.set()
    done = settled(registry, job["id"])
    assert done["state"] == "done" and done["result"] == {"outcome": "reproduced"} and done["finished"]
    assert registry.submit("run-a", lambda report: {})["state"] in ("queued", "running", "done")  # free again


def test_errors_become_failed_jobs_with_a_one_line_error(registry):
    def bad_input(report):
        raise InvalidInput("--param nosuch: not a parameter of this notebook")

    def bug(report):
        raise KeyError("boom")

    first = settled(registry, registry.submit("a", bad_input)["id"])
    assert first["state"] == "failed" and first["error"] == {
        "code": "INVALID_INPUT", "message": "--param nosuch: not a parameter of this notebook"}
    second = settled(registry, registry.submit("b", bug)["id"])
    assert second["state"] == "failed" and second["error"]["code"] == "INTERNAL"


def test_cancel_drops_a_queued_job_and_stops_a_running_one_at_its_next_report(registry):
    started, release = threading.Event(), threading.Event()
    reports = []

    def work(report):
        started.set()
        release.wait(WAIT)
        reports.append("before")
        report({"phase": "executing", "cell": 2, "cells": 2})  # raises: the job was asked to stop
        reports.append("after")
        return {}

    running = registry.submit("a", work)
    queued = registry.submit("b", lambda report: {"never": True})
    assert started.wait(WAIT)
    assert registry.cancel(queued["id"])["state"] == "cancelled"  # one worker: b was still waiting
    asked = registry.cancel(running["id"])
    assert asked["state"] == "running" and asked["cancel_requested"]
    release.set()
    stopped = settled(registry, running["id"])
    assert stopped["state"] == "cancelled" and reports == ["before"]
    with pytest.raises(Conflict, match="already finished"):
        registry.cancel(running["id"])
    with pytest.raises(NotFound):
        registry.cancel("0" * 32)


def test_a_report_that_may_not_stop_the_work_lets_it_finish_as_cancelled_with_its_result(registry):
    started, release = threading.Event(), threading.Event()

    def work(report):
        started.set()
        release.wait(WAIT)
        report({"phase": "judging"}, stoppable=False)
        return {"outcome": "reproduced"}

    job = registry.submit("a", work)
    assert started.wait(WAIT)
    registry.cancel(job["id"])
    release.set()
    finished = settled(registry, job["id"])
    assert finished["state"] == "done" and finished["result"] == {"outcome": "reproduced"}


def test_finished_jobs_are_dropped_oldest_first_and_active_ones_never(registry):
    ids = [settled(registry, registry.submit(f"run-{i}", lambda report: {})["id"])["id"] for i in range(3)]
    newest = registry.submit("run-3", lambda report: {})
    settled(registry, newest["id"])
    with pytest.raises(NotFound):
        registry.snapshot(ids[0])
    assert registry.snapshot(ids[1])["state"] == "done"

    release = threading.Event()
    blocked = [registry.submit(f"busy-{i}", lambda report: release.wait(WAIT) and {}) for i in range(3)]
    with pytest.raises(Conflict, match="queued or running"):
        registry.submit("one-more", lambda report: {})
    release.set()
    for job in blocked:
        settled(registry, job["id"])
