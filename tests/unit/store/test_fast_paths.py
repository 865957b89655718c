"""The store's fast paths give the same answers as the general ones: create/update without re-reads,
tuple-native metric rows, batched metric histories and ``patch_run``."""

from __future__ import annotations

import math

import pytest

from jupyter_mlops.entities import Metric, RunStatus
from jupyter_mlops.errors import InvalidInput, NotFound
from jupyter_mlops.store.base import Store


def test_created_run_equals_the_stored_run(store):
    run = store.create_run(name="r", experiment="exp", tags=["b", "a", "b"], note="n", notebook_path="nb.ipynb",
                           start_time=1_700_000_000.0)
    assert run == store.get_run(run.id)
    assert run.tags == ("a", "b")
    generated = store.create_run()
    assert generated == store.get_run(generated.id)
    assert generated.experiment == "default" and generated.status is RunStatus.RUNNING


def test_update_run_returns_the_stored_run_with_children(store):
    run = store.create_run(tags=["t"])
    store.log_params(run.id, {"lr": 0.1})
    store.log_metric(run.id, "auc", 0.9)
    updated = store.update_run(run.id, status="finished", end_time=run.start_time + 5, flags={"out_of_order": True})
    assert updated == store.get_run(run.id)
    assert (updated.params, updated.metrics, updated.tags) == ({"lr": 0.1}, {"auc": 0.9}, ("t",))
    assert updated.flags == {"out_of_order": True} and updated.status is RunStatus.FINISHED


def test_patch_run_sets_fields_and_checks_input(store):
    run = store.create_run()
    assert store.patch_run(run.id, note="later", flags={"kernel_restarted": True}, env_hash="xxh3_128:00") is None
    store.patch_run(run.id, flags={"cells_rerun": True})
    got = store.get_run(run.id)
    assert got.note == "later" and got.env_hash == "xxh3_128:00"
    assert got.flags == {"kernel_restarted": True, "cells_rerun": True}
    with pytest.raises(NotFound):
        store.patch_run("0" * 32, note="x")
    with pytest.raises(NotFound):
        store.update_run("0" * 32)
    with pytest.raises(InvalidInput):
        store.patch_run(run.id, colour="red")


def test_log_metric_rows_matches_log_batch(store):
    a, b = store.create_run(), store.create_run()
    rows = [("loss", 1.0, 0, 10.0), ("loss", float("nan"), 1, 11.0), ("loss", 0.5, 1, 12.0), ("acc", 3, 0, 9)]
    store.log_metric_rows(a.id, rows)
    store.log_batch(b.id, metrics=[Metric(*row) for row in rows])
    for key in ("loss", "acc"):
        got, want = store.metric_history(a.id, key), store.metric_history(b.id, key)
        assert [(m.value, m.step, m.timestamp) for m in got if m.value == m.value] == [
            (m.value, m.step, m.timestamp) for m in want if m.value == m.value]
        assert len(got) == len(want)
    assert math.isnan(store.metric_history(a.id, "loss")[1].value)
    assert store.get_run(a.id).metrics == store.get_run(b.id).metrics == {"loss": 0.5, "acc": 3.0}


def test_log_metric_rows_rejects_bad_rows_and_unknown_runs(store):
    run = store.create_run()
    with pytest.raises(InvalidInput):
        store.log_metric_rows(run.id, [("loss", "high", 0, 1.0)])
    with pytest.raises(InvalidInput):
        store.log_metric_rows(run.id, [("", 1.0, 0, 1.0)])
    with pytest.raises(NotFound):
        store.log_metric_rows("0" * 32, [("loss", 1.0, 0, 1.0)])
    assert store.metric_history(run.id, "loss") == []


def test_metric_histories_answers_like_metric_history(store):
    runs = [store.create_run() for _ in range(3)]
    for r, run in enumerate(runs):
        points = [Metric(key, s * (r + 1.0), s, 100.0 - s) for key in ("a", "b") for s in (2, 0, 1)]
        store.log_batch(run.id, metrics=points[: 3 if r == 2 else 6])  # the third run logs "a" only
    ids = [run.id for run in runs]
    got = store.metric_histories([*ids, ids[0]], ["a", "b", "never"])
    want = {(i, k): store.metric_history(i, k) for i in ids for k in ("a", "b", "never")}
    assert got == {pair: points for pair, points in want.items() if points}
    assert [m.step for m in got[(ids[0], "a")]] == [0, 1, 2]
    assert (ids[2], "b") not in got
    assert Store.metric_histories(store, [*ids, ids[0]], ["a", "b", "never"]) == got  # the ABC's default loop
    assert store.metric_histories([], ["a"]) == {} and store.metric_histories(ids, []) == {}


def test_metric_histories_unknown_run_is_not_found(store):
    run = store.create_run()
    store.log_metric(run.id, "a", 1.0)
    with pytest.raises(NotFound):
        store.metric_histories([run.id, "f" * 32], ["a"])
    with pytest.raises(NotFound):
        store.metric_history("f" * 32, "a")


def test_points_read_back_are_ordinary_metrics(store):
    from jupyter_mlops.store.history import point

    assert point("a", None, 1, 2.0).step == 1 and math.isnan(point("a", None, 1, 2.0).value)
    assert point("a", 0.5, 1, 2.0) == Metric("a", 0.5, 1, 2.0)
    assert hash(point("a", 0.5, 1, 2.0)) == hash(Metric("a", 0.5, 1, 2.0))
    run = store.create_run()
    store.log_batch(run.id, metrics=[Metric("a", 2.0, 1, 5.0), Metric("a", 1.0, 1, 3.0), Metric("a", 0.0, 0, 9.0)])
    expected = [Metric("a", 0.0, 0, 9.0), Metric("a", 1.0, 1, 3.0), Metric("a", 2.0, 1, 5.0)]  # step, then time
    assert store.metric_history(run.id, "a") == expected
    assert store.metric_histories([run.id], ["a"]) == {(run.id, "a"): expected}
    with pytest.raises(AttributeError):
        store.metric_history(run.id, "a")[0].value = 3.0  # type: ignore[misc]


@pytest.mark.parametrize(("query", "order_by", "limit"), [
    (None, (), None),
    ("params.lr >= 0.2 or tag = b", ("metrics.auc DESC",), None),
    (None, ("params.lr ASC", "name"), 3),
    ("status = crashed", (), None),
])
def test_run_columns_equal_the_search_runs_default(store, query, order_by, limit):
    for n in range(6):
        run = store.create_run(name=f"r{n}", experiment=f"e{n % 2}", tags=["a", "b"][: n % 3],
                               start_time=1_700_000_000.0 + n)
        store.log_params(run.id, {"lr": n / 10, **({"depth": n} if n % 2 else {})})
        if n != 4:
            store.log_metric(run.id, "auc", 1 - n / 10)
        if n < 5:
            store.end_run(run.id, end_time=1_700_000_100.0 + n)
    store.heartbeat(run.id, at=1.0)  # the open run has a stale heartbeat: both must read it as crashed
    fast = store.run_columns(query, order_by=order_by, limit=limit)
    assert fast == Store.run_columns(store, query, order_by=order_by, limit=limit)
    assert fast["run_id"] == [r.id for r in store.search_runs(query, order_by=order_by, limit=limit).items]


def test_run_columns_of_an_empty_store_and_bad_input(store):
    assert store.run_columns() == {key: [] for key in ("run_id", "name", "experiment", "status", "start_time",
                                                       "end_time", "params", "metrics", "tags")}
    with pytest.raises(InvalidInput):
        store.run_columns(limit=-1)


def test_every_fast_path_is_declared_with_a_default_and_overridden_by_the_sql_store():
    from jupyter_mlops.store.base import FastPaths
    from jupyter_mlops.store.sql import SqlStore

    names = sorted(name for name, value in vars(FastPaths).items() if callable(value) and not name.startswith("_"))
    assert names == ["log_metric_rows", "metric_chart_columns", "metric_histories", "metric_marks", "metric_series",
                     "patch_run", "run_columns"]
    for name in names:
        # The base class answers from the primitives; the SQL back-end's own answer must not silently disappear.
        assert name in vars(Store), name
        assert vars(SqlStore)[name] is not vars(Store)[name], name
    assert issubclass(SqlStore, FastPaths)
