"""``sweep_table``: a sweep's runs as rows for its charts, over real stores (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from jupyter_mlops.app.sweep import sweep_table
from jupyter_mlops.app.workspace import Workspace
from jupyter_mlops.errors import InvalidInput, NotFound

#: (point, lr, depth, auc, loss); point 3 logged no auc.
POINTS = [(0, 0.01, 3, 0.71, 0.9), (1, 0.01, 5, 0.83, 0.5), (2, 0.1, 3, 0.78, 0.6), (3, 0.1, 5, None, 0.7)]


@pytest.fixture
def workspace(store, blobs):
    return Workspace.wrapping(store, blobs)


def swept(workspace, sweep_id="20261207-0942-3fa2c1", points=POINTS):
    ids = {}
    for point, lr, depth, auc, loss in points:
        run = workspace.store.create_run(name=f"p{point}", tags=["sweep", f"sweep:{sweep_id}", f"sweep-point:{point}"])
        workspace.store.log_params(run.id, {"lr": lr, "depth": depth, "epochs": 10})
        if auc is not None:
            workspace.store.log_metric(run.id, "auc", auc)
        workspace.store.log_metric(run.id, "loss", loss)
        workspace.store.end_run(run.id)
        ids[point] = run.id
    return ids


def test_rows_are_the_sweeps_runs_best_first_with_the_varying_params(workspace):
    ids = swept(workspace)
    other = workspace.store.create_run(name="other", tags=["sweep", "sweep:another", "sweep-point:0"])
    workspace.store.log_params(other.id, {"lr": 9.0})

    table = sweep_table(workspace, "20261207-0942-3fa2c1", "auc:max")

    assert table.params == ["lr", "depth"]  # epochs is the same everywhere: not a swept parameter
    assert table.metrics == ["auc", "loss"]
    assert [row.point for row in table.rows] == [1, 2, 0, 3]  # no auc: last
    assert table.best == ids[1]
    assert table.rows[0].params == {"lr": 0.01, "depth": 5}
    assert (table.rows[0].value, table.rows[-1].value) == (0.83, None)
    doc = table.to_dict()
    assert doc["metric"] == {"key": "auc", "goal": "max"}
    assert doc["filter"] == 'sweep = "20261207-0942-3fa2c1"'
    assert doc["rows"][0]["metrics"] == {"auc": 0.83, "loss": 0.5}


def test_min_goal_and_no_metric_order(workspace):
    ids = swept(workspace)
    by_loss = sweep_table(workspace, "20261207-0942-3fa2c1", "loss:min")
    assert [row.point for row in by_loss.rows] == [1, 2, 3, 0]
    assert by_loss.best == ids[1]
    plain = sweep_table(workspace, "20261207-0942-3fa2c1")
    assert [row.point for row in plain.rows] == [0, 1, 2, 3]
    assert plain.best is None
    assert plain.to_dict()["metric"] is None


def test_unknown_sweep_and_bad_metric_are_one_line_errors(workspace):
    swept(workspace)
    with pytest.raises(NotFound, match="sweep nope"):
        sweep_table(workspace, "nope", "auc:max")
    with pytest.raises(InvalidInput, match="KEY:max or KEY:min"):
        sweep_table(workspace, "20261207-0942-3fa2c1", "auc:best")
    with pytest.raises(InvalidInput, match="sweep id"):
        sweep_table(workspace, 'a" or "1', None)
