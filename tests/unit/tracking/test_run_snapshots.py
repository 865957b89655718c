"""ActiveRun's snapshot methods: redaction, the open-run check, and a heartbeat's refresh racing the run's end.

Runs start with ``auto_capture=False``: outside a kernel the background capture stores the main script (here
pytest's) as the run's code, which would race the snapshots these tests write.
"""

from __future__ import annotations

import json

import pytest

import jupyter_mlops as mlops
from jupyter_mlops.errors import Conflict

SECRET = "ghp_" + "a1B2c3D4e5" * 4  # a GitHub token pasted into a cell


def snapshot(*sources: str) -> dict:
    return {"version": 1, "cells": [{"index": i, "source": s, "execution_count": i + 1, "cell_id": None}
                                    for i, s in enumerate(sources)]}


def test_code_snapshot_is_redacted_and_becomes_the_runs_code(project):
    run = mlops.start_run("code", auto_capture=False)
    assert run.refresh_code_snapshot(snapshot(f"token = '{SECRET}'", "x = 1")) is True
    stored = mlops.get_run(run.id).code
    run.end()
    assert [c["source"] for c in stored["cells"]][1] == "x = 1"
    assert SECRET not in json.dumps(stored)


def test_a_run_that_opted_out_stores_its_code_as_it_ran(project):
    run = mlops.start_run("raw", redact=False, auto_capture=False)
    digest = run.put_code_snapshot(snapshot(f"token = '{SECRET}'"))
    run.end()
    assert SECRET in json.dumps(run.blobs.get_json(digest))


def test_notebook_snapshot_is_redacted(project):
    notebook = {"cells": [{"cell_type": "code", "source": f"key = '{SECRET}'", "metadata": {}, "outputs": []}],
                "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    run = mlops.start_run("nb", auto_capture=False)
    digest = run.put_notebook_snapshot(json.dumps(notebook).encode())
    run.end()
    stored = run.blobs.get_bytes(digest).decode()
    assert SECRET not in stored and "key = " in stored


def test_an_ended_run_refuses_snapshots_and_keeps_its_code(project):
    run = mlops.start_run("ended", auto_capture=False)
    run.refresh_code_snapshot(snapshot("kept = 1"))
    run.end()
    before = mlops.get_run(run.id).run.code_hash
    with pytest.raises(Conflict):
        run.put_code_snapshot(snapshot("late = 1"))
    with pytest.raises(Conflict):
        run.put_notebook_snapshot(b"{}")
    assert run.refresh_code_snapshot(snapshot("late = 1")) is False  # a heartbeat after the end: ignored
    view = mlops.get_run(run.id)
    assert view.run.code_hash == before and [c["source"] for c in view.code["cells"]] == ["kept = 1"]


def test_end_hooks_store_the_final_snapshot_and_a_late_refresh_does_not_replace_it(project):
    run = mlops.start_run("ending", auto_capture=False)
    refreshed: list[bool] = []

    def final_fields() -> dict:
        digest = run.put_code_snapshot(snapshot("final = 1"))  # allowed while the run is ending
        refreshed.append(run.refresh_code_snapshot(snapshot("heartbeat = 1")))  # refused while ending
        return {"code_hash": digest}

    run.add_end_hook(final_fields)
    run.end()
    assert refreshed == [False]
    assert [c["source"] for c in mlops.get_run(run.id).code["cells"]] == ["final = 1"]


def test_a_lone_surrogate_in_a_cell_is_stored_escaped_not_lost(project):
    run = mlops.start_run("surrogate", auto_capture=False)
    run.refresh_code_snapshot(snapshot("name = 'caf\udce9'"))
    run.end()
    assert mlops.get_run(run.id).code["cells"][0]["source"] == "name = 'caf\\xe9'"


def test_an_ended_run_refuses_data(project):
    (project / "d.csv").write_text("a\n1\n")
    run = mlops.start_run("data", auto_capture=False)
    run.end()
    with pytest.raises(Conflict):
        run.log_data(project / "d.csv", "d.csv")
    assert mlops.get_run(run.id).data_inputs == ()
