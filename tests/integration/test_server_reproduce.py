"""Reproducing a run from the REST API: a background job on a real jupyter_server, reproducing a real tracked run.

Given a run recorded the way JupyterLab records one (cells sent with their ids to a real kernel), ``POST
runs/{id}/reproduce`` validates the request first (unknown run 404, bad options 400), then answers 202 with a job
that ``GET jobs/{id}`` polls until the verdict is there; a second reproduction of the same run is refused while
one runs; ``DELETE jobs/{id}`` stops a running reproduction before its next cell and its kernel is shut down.
The use case's progress hook is checked in-process: verifying, executing cell i of n, judging, done.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from kernel_session import KernelSession, notebook, save
from server_fixtures import Project
from test_server_api import expect_error

from jupyter_mlops.app.reproduce import reproduce_run
from jupyter_mlops.app.workspace import Workspace
from jupyter_mlops.store import open_store

pytest_plugins = ["pytest_jupyter.jupyter_server"]
pytestmark = [pytest.mark.requires_kernel, pytest.mark.slow]

SEEDED = [
    "%load_ext jupyter_mlops",
    "seed = 3",
    "%track start",
    "import random\nrandom.seed(seed)\nwith open('data.csv') as f:\n    rows = f.read().split()",
    "score = len(rows) + random.random()\n%track metric score=score",
    "%track stop",
]
# Waits in its third cell until the test creates `go`: the job is then running that cell, for as long as needed.
GATED = ["%load_ext jupyter_mlops", "%track start",
         "import os, time\nwhile not os.path.exists('go'):\n    time.sleep(0.05)",
         "%track metric waited=1", "%track stop"]
HANG_GUARD_S = 300  # never reached when things work: each loop ends on the state it waits for


def record(project: Project, sources: list[str], name: str, parameters_cell: int | None = None) -> str:
    """Run the cells in a real kernel in the project (the server's store), return the new run's id."""
    (project.root / "data.csv").write_text("value\n1\n2\n3\n", encoding="utf-8")
    path = project.root / name
    nb = notebook(path, sources)
    if parameters_cell is not None:
        nb.cells[parameters_cell].metadata["tags"] = ["parameters"]
        save(nb, path, {})
    kernel = KernelSession(path, project.store_url)
    try:
        for cell in nb.cells:
            assert kernel.run(cell.source, cell.id)["status"] == "ok"
    finally:
        kernel.shutdown()
    runs = open_store(project.store_url).search_runs(filter=f'notebook_path = "{path}"').items
    assert len(runs) == 1, runs
    return runs[0].id


async def wait_for(api, job_id: str, done) -> dict:
    for _ in range(HANG_GUARD_S * 10):
        job = (await api(f"jobs/{job_id}"))["job"]
        if done(job):
            return job
        await asyncio.sleep(0.1)
    raise AssertionError(f"job {job_id} never reached the awaited state: {job}")


def finished(job: dict) -> bool:
    return job["state"] not in ("queued", "running")


async def test_a_reproduction_runs_in_the_background_and_ends_with_the_verdict(jp_fetch, api, project, jp_base_url):
    original = record(project, SEEDED, "seeded.ipynb", parameters_cell=1)
    response = await jp_fetch("jupyter-mlops", "api", "runs", original[:10], "reproduce", method="POST",
                              body=json.dumps({"tolerances": ["score=1e-9"]}))
    assert response.code == 202
    job = json.loads(response.body)["job"]
    assert response.headers["Location"] == f"{jp_base_url}jupyter-mlops/api/jobs/{job['id']}"
    assert job["run"] == original and job["state"] in ("queued", "running") and job["result"] is None

    done = await wait_for(api, job["id"], finished)
    assert done["state"] == "done" and done["error"] is None, done
    assert done["progress"] == {"phase": "done", "cell": None, "cells": None}
    verdict = done["result"]
    assert (verdict["outcome"], verdict["mode"], verdict["exit_code"]) == ("reproduced", "top-to-bottom", 0)
    assert [(m["key"], m["status"]) for m in verdict["metrics"]] == [("score", "exact")]
    new = open_store(project.store_url).get_run(verdict["reproduction"])
    assert new.reproduction_of == original and new.status.value == "finished"

    again = await api(f"runs/{original}/reproduce", method="POST", body={"as_executed": True})
    assert again["job"]["id"] != job["id"]
    await expect_error(api(f"runs/{original}/reproduce", method="POST", body={}), 409, "CONFLICT")
    replay = await wait_for(api, again["job"]["id"], finished)
    assert replay["result"]["mode"] == "as-executed" and replay["result"]["outcome"] == "reproduced", replay


@pytest.mark.parametrize(("url", "body", "status", "words"), [
    ("runs/ffffffffffff/reproduce", {}, 404, "ffffffffffff"),
    ("runs/{a}/reproduce", {"tolerances": ["auc=lots"]}, 400, "auc=lots"),
    ("runs/{a}/reproduce", {"tolerances": "1e-6"}, 400, "list of strings"),
    ("runs/{a}/reproduce", {"params": {"not a name": 1}}, 400, "not a name"),
    ("runs/{a}/reproduce", {"params": ["lr=1"]}, 400, "object"),
    ("runs/{a}/reproduce", {"as_executed": "yes"}, 400, "as_executed"),
    ("runs/{a}/reproduce", {"timeout": -1}, 400, "timeout"),
    ("runs/{a}/reproduce", {"bogus": 1}, 400, "bogus"),
    ("runs/..%2Fx/reproduce", {}, 400, "run id"),
    ("jobs/nope", None, 400, "job id"),
    ("jobs/" + "0" * 32, None, 404, "no job"),
])
async def test_bad_requests_are_refused_before_anything_is_queued(api, project, url, body, status, words):
    method = "POST" if body is not None else "GET"
    payload = await expect_error(api(url.format(a=project.run_a), method=method, body=body), status)
    assert words in payload["message"] and "\n" not in payload["message"]
    assert len(open_store(project.store_url).search_runs().items) == 3


async def test_cancelling_a_running_reproduction_stops_it_before_the_next_cell(api, project):
    gate = project.root / "go"
    gate.write_text("go")
    original = record(project, GATED, "gated.ipynb")
    gate.unlink()
    job = (await api(f"runs/{original}/reproduce", method="POST", body={}))["job"]
    await wait_for(api, job["id"], lambda j: (j["progress"] or {}).get("cell") == 3)  # waiting in cell 3
    asked = (await api(f"jobs/{job['id']}", method="DELETE"))["job"]
    assert asked["state"] == "running" and asked["cancel_requested"]
    gate.write_text("go")
    stopped = await wait_for(api, job["id"], finished)
    assert stopped["state"] == "cancelled", stopped
    assert stopped["progress"]["phase"] == "done"
    result = stopped["result"]
    assert result["outcome"] == "failed" and "Cancelled" in result["reason"]
    partial = open_store(project.store_url).get_run(result["reproduction"])
    assert partial.reproduction_of == original and partial.status.value != "running"  # its kernel was shut down
    assert "waited" not in partial.metrics  # cell 4 never ran
    await expect_error(api(f"jobs/{job['id']}", method="DELETE"), 409, "CONFLICT")


def test_the_use_case_reports_each_phase_and_each_cell(project: Project) -> None:
    original = record(project, SEEDED, "seeded.ipynb", parameters_cell=1)
    seen = []
    with Workspace.from_url(project.store_url) as workspace:
        result = reproduce_run(workspace, original, progress=seen.append)
    assert result.outcome == "reproduced"
    phases = [step.phase for step in seen]
    executing = [(step.cell, step.cells) for step in seen if step.phase == "executing"]
    cells = len(SEEDED) + 1  # the injected-parameters cell papermill-style after the parameters cell
    assert phases == ["verifying"] + ["executing"] * (cells + 1) + ["judging", "done"]
    assert executing == [(i, cells) for i in range(cells + 1)]
