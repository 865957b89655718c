"""The slice use case over a real store (SQLite and PostgreSQL): a run's code snapshot in, the slice out; bad input."""

from __future__ import annotations

import pytest

from jupyter_mlops.app.slicing import slice_report, slice_run
from jupyter_mlops.app.workspace import Workspace
from jupyter_mlops.errors import Conflict, InvalidInput, NotFound

CELLS = [
    {"index": 0, "source": "scale = 2", "execution_count": 2, "cell_id": "c1", "context": True},
    {"index": 1, "source": "%track start", "execution_count": 3, "cell_id": "c2"},
    {"index": 2, "source": "base = 10", "execution_count": 4, "cell_id": "c3"},
    {"index": 3, "source": "noise = 1\nnoise", "execution_count": 5, "cell_id": "c4"},
    {"index": 4, "source": "total = base * scale\n%track metric total=total", "execution_count": 6,
     "cell_id": "c5", "metrics": ["total"]},
]


@pytest.fixture
def workspace(store, blobs):
    return Workspace.wrapping(store, blobs)


def recorded(workspace, cells=CELLS):
    run = workspace.store.create_run(name="base")
    workspace.store.log_metric(run.id, "total", 20.0)
    if cells is not None:
        digest = workspace.blobs.put_json({"version": 1, "cells": cells})
        workspace.store.update_run(run.id, code_hash=digest)
    return run.id


def test_a_runs_slice_keeps_the_producing_cells_and_writes_a_script(workspace, tmp_path):
    run_id = recorded(workspace)
    result = slice_run(workspace, run_id[:8], "total", to="script", output=tmp_path / "total.py")
    report = result.to_dict()
    assert [c["execution_count"] for c in report["cells"]] == [2, 3, 4, 6]
    assert (report["kind"], report["recorded"], report["exit_code"], report["verification"]) == (
        "metric", 20.0, 0, None)
    text = (tmp_path / "total.py").read_text()
    assert "noise" not in text and "mlops.start_run()" in text and "mlops.log_metrics({'total': total})" in text
    # a variable of the run
    assert [c["execution_count"] for c in slice_run(workspace, run_id, "base").to_dict()["cells"]] == [2, 4]


def test_bad_input_is_one_clear_error(workspace, tmp_path):
    run_id = recorded(workspace)
    with pytest.raises(InvalidInput, match="no executed cell bound the name 'nope'"):
        slice_run(workspace, run_id, "nope")
    with pytest.raises(InvalidInput, match="'base' is a variable, not a metric"):
        slice_run(workspace, run_id, "base", verify=True)
    with pytest.raises(InvalidInput):
        slice_run(workspace, "no-such-run", "total")
    with pytest.raises(InvalidInput, match="--to takes a kind"):
        slice_run(workspace, run_id, "total", to="pdf", output=tmp_path / "x")
    (tmp_path / "taken.py").write_text("keep me")
    with pytest.raises(Conflict, match="already exists"):
        slice_run(workspace, run_id, "total", to="script", output=tmp_path / "taken.py")
    assert (tmp_path / "taken.py").read_text() == "keep me"
    with pytest.raises(InvalidInput, match="has no executed notebook cells"):
        slice_run(workspace, recorded(workspace, cells=None), "total")


def test_the_sidebar_report_carries_the_cells_and_the_emitted_notebook_and_writes_nothing(workspace, tmp_path):
    run_id = recorded(workspace)
    report = slice_report(workspace, run_id, "total", metric=True)
    assert [(c["execution_count"], c["source"]) for c in report["cells"]] == [
        (2, "scale = 2"), (3, "%track start"), (4, "base = 10"), (6, CELLS[4]["source"])]
    assert report["cells"][-1]["why"] == ["logs total"] and report["unsure"] == []
    assert (report["run"], report["run_name"], report["kind"], report["recorded"]) == (run_id, "base", "metric", 20.0)
    assert "written" not in report and "verification" not in report
    nb = report["notebook"]
    assert nb["nbformat"] == 4 and nb["cells"][0]["cell_type"] == "markdown"
    code = [cell["source"] for cell in nb["cells"] if cell["cell_type"] == "code"]
    assert code == [cell["code"] for cell in report["emitted"]]
    assert "noise" not in "".join(code) and "mlops.log_metrics({'total': total})" in "".join(code)
    assert list(tmp_path.glob("*.ipynb")) == []


def test_the_sidebar_report_says_what_is_missing(workspace):
    run_id = recorded(workspace)
    with pytest.raises(NotFound, match="no such run|no run"):
        slice_report(workspace, "ffffffffffff", "total")
    with pytest.raises(NotFound, match="logged no metric 'base'"):
        slice_report(workspace, run_id, "base", metric=True)
    assert [c["execution_count"] for c in slice_report(workspace, run_id, "base")["cells"]] == [2, 4]
    with pytest.raises(InvalidInput, match="no executed cell bound the name 'nope'"):
        slice_report(workspace, run_id, "nope")
