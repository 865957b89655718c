"""compare_runs and metric_histories against real stores (SQLite and PostgreSQL through the ``store`` fixture)."""

from __future__ import annotations

import json

import pytest
from compare_data import STEPS, populate

from jupyter_mlops.app.compare import compare_runs, metric_histories
from jupyter_mlops.app.runs import last_run_ids
from jupyter_mlops.comparing import charts
from jupyter_mlops.errors import Conflict, InvalidInput, NotFound


def test_compare_answers_why_runs_differ(store, blobs):
    ids = populate(store, blobs)
    cmp = compare_runs(store, blobs, [ids["baseline"], ids["tuned"], ids["wide"]])
    assert cmp.baseline == ids["baseline"] and cmp.run_ids == [ids["baseline"], ids["tuned"], ids["wide"]]
    params = {p.key: p.values for p in cmp.params}
    assert params == {"lr": (0.1, 0.05, 0.05), "depth": (3, 3, 5)}
    assert [d.run for d in cmp.code] == [ids["tuned"], ids["wide"]]
    assert [c["change"] for c in cmp.code[1].cells] == ["changed", "added"]
    (data,) = cmp.data
    change = data.changes[0]
    assert change.columns_added == ("income",) and change.dtype_changes == (("age", "int64", "float64"),)
    assert change.rows == (100, 101)
    assert [(p.name, p.change) for p in cmp.env.packages] == [("numpy", "bumped")]
    assert cmp.env.python == ("3.11.7",) * 3 and cmp.env.platform == ("Linux-6.1-x86_64",) * 3
    auc = next(m for m in cmp.metrics if m.key == "auc")
    assert auc.best == 2 and auc.goal == "max"
    assert [f.run for f in cmp.flags] == [ids["wide"]]
    json.dumps(cmp.to_dict(), allow_nan=False)


def test_compare_accepts_prefixes_and_names_and_drops_duplicates(store, blobs):
    ids = populate(store, blobs)
    cmp = compare_runs(store, blobs, ["baseline", ids["tuned"][:8], ids["baseline"]])
    assert cmp.run_ids == [ids["baseline"], ids["tuned"]]


def test_compare_without_blobs_still_compares_params_and_metrics(store, blobs):
    ids = populate(store, blobs)
    cmp = compare_runs(store, None, [ids["baseline"], ids["tuned"]])
    assert cmp.code == () and cmp.env.packages == () and cmp.params


def test_compare_errors(store, blobs):
    ids = populate(store, blobs)
    with pytest.raises(NotFound):
        compare_runs(store, blobs, [ids["baseline"], "nosuchrun"])
    with pytest.raises(InvalidInput):
        compare_runs(store, blobs, [])
    store.create_run(name="twin", run_id="abcd" + "0" * 28)
    store.create_run(name="twin2", run_id="abcd" + "1" * 28)
    with pytest.raises(Conflict):
        compare_runs(store, blobs, ["abcd"])


def test_last_run_ids_are_oldest_first(store, blobs):
    ids = populate(store, blobs)
    assert last_run_ids(store, 2) == [ids["tuned"], ids["wide"]]
    assert last_run_ids(store, 5, "params.depth = 3") == [ids["baseline"], ids["tuned"]]
    with pytest.raises(InvalidInput):
        last_run_ids(store, 0)


def test_metric_histories_feed_charts(store, blobs):
    ids = populate(store, blobs)
    cmp = compare_runs(store, blobs, [ids["baseline"], ids["tuned"]])
    histories = metric_histories(store, cmp)
    assert set(histories) == {"auc", "loss"}
    assert [len(v) for v in histories["loss"].values()] == [STEPS, STEPS]
    specs = charts.metric_charts(histories, charts.run_labels(cmp.runs))
    assert {r["run"] for r in specs["loss"]["data"]["values"]} == {"baseline", "tuned"}
    assert metric_histories(store, [ids["wide"]], keys=["auc"])["auc"][ids["wide"]][0].step == 0
