"""search_runs against a real database: filter semantics, ordering, paging and totals."""

from __future__ import annotations

import os

import pg
import pytest

from jupyter_mlops.entities import DataInput, RunStatus
from jupyter_mlops.errors import FilterSyntaxError, InvalidInput
from jupyter_mlops.store import open_store, reads
from jupyter_mlops.store.sql import SqlStore


class _Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def runs(request, tmp_path_factory):
    """Six runs with varied params, metrics, tags, data and statuses, built once per backend (tests only read).

    Returns (store, {name: id}).
    """
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('search') / 'mlops.db'}"
    else:
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        url = pg.create_database(request.getfixturevalue("pg_url"), f"mlops_search_{worker}")
    open_store(url).close()
    clock = _Clock()
    store = SqlStore(url, clock=clock, stale_after=30.0)
    request.addfinalizer(store.close)
    specs = [
        ("lgbm-1", "churn", ["baseline"], {"lr": 0.1, "model.num_leaves": 31, "opt": "adam"}, {"auc": 0.81}),
        ("lgbm-2", "churn", ["tuned"], {"lr": 0.05, "model.num_leaves": 63, "opt": "sgd"}, {"auc": 0.86}),
        ("LGBM-3", "churn", [], {"lr": "0.2", "opt": "Adam_w"}, {"auc": 0.79, "loss": 0.3}),
        ("xgb-1", "fraud", ["baseline", "gpu"], {"lr": 0.3, "depth": 6}, {"auc": 0.9}),
        ("xgb_2", "fraud", [], {"lr": 0.3, "flag": True}, {}),
        ("rf-1", "default", ["note%"], {}, {"auc": 0.5}),
    ]
    ids = {}
    for offset, (name, experiment, tags, params, metrics) in enumerate(specs):
        run = store.create_run(name=name, experiment=experiment, tags=tags, start_time=clock.now + offset)
        store.log_params(run.id, params)
        if metrics:
            store.log_metrics(run.id, metrics)
        ids[name] = run.id
    store.log_data_inputs(ids["lgbm-1"], [DataInput("data/train.csv", "xxh3_128:aa", path="data/train.csv")])
    store.log_data_inputs(ids["lgbm-2"], [DataInput("train", "xxh3_128:bb", path="data/train_v2.csv")])
    clock.advance(10)
    for name in ("lgbm-1", "lgbm-2", "LGBM-3"):
        store.end_run(ids[name], end_time=clock.now - 5 + len(name))
    store.end_run(ids["xgb-1"], RunStatus.FAILED, end_time=clock.now)
    store.update_run(ids["lgbm-1"], note="first baseline", git_commit="deadbeef")
    clock.advance(10)
    store.heartbeat(ids["rf-1"])
    clock.advance(25)  # xgb_2's heartbeat is 45 s old -> crashed; rf-1's 25 s -> running
    return store, ids


def names(page):
    return sorted(r.name for r in page.items)


@pytest.mark.parametrize(("text", "expected"), [
    ("params.lr = 0.1", ["lgbm-1"]),
    ("params.lr = 0.2", ["LGBM-3"]),  # a numeric string compares as a number
    ("params.lr = '0.2'", ["LGBM-3"]),
    ("params.lr >= 0.2", ["LGBM-3", "xgb-1", "xgb_2"]),
    ("params.lr != 0.3", ["LGBM-3", "lgbm-1", "lgbm-2"]),
    ("params.model.num_leaves > 40", ["lgbm-2"]),
    ("params.opt ~ 'adam*'", ["LGBM-3", "lgbm-1"]),  # glob is case-insensitive
    ("params.opt !~ 'adam*'", ["lgbm-2"]),
    ("params.opt = adam", ["lgbm-1"]),  # = is exact
    ("params.flag = true", ["xgb_2"]),
    ("params.depth is not null", ["xgb-1"]),
    ("params.lr is null", ["rf-1"]),
    ("params.lr in (0.05, 0.2)", ["LGBM-3", "lgbm-2"]),
    ("metrics.auc >= 0.85", ["lgbm-2", "xgb-1"]),
    ("metrics.auc < 0.8", ["LGBM-3", "rf-1"]),
    ("metrics.auc is null", ["xgb_2"]),
    ("metrics.loss = 0.3", ["LGBM-3"]),
    ("metrics.auc in (0.5, 0.9)", ["rf-1", "xgb-1"]),
    ("tag = baseline", ["lgbm-1", "xgb-1"]),
    ("tag != baseline", ["LGBM-3", "lgbm-2", "rf-1", "xgb_2"]),
    ("tag ~ 'g*'", ["xgb-1"]),
    ("tag ~ 'note%'", ["rf-1"]),
    ("tag ~ 'note_'", []),  # LIKE wildcards in a glob are literal
    ("tag is null", ["LGBM-3", "xgb_2"]),
    ("tag in (tuned, gpu)", ["lgbm-2", "xgb-1"]),
    ("tag not in (tuned, gpu)", ["LGBM-3", "lgbm-1", "rf-1", "xgb_2"]),
    ("name ~ 'lgbm*'", ["LGBM-3", "lgbm-1", "lgbm-2"]),
    ("name ~ 'xgb?1'", ["xgb-1"]),
    ("name ~ 'xgb_*'", ["xgb_2"]),
    ("name = 'lgbm-1' or name = xgb_2", ["lgbm-1", "xgb_2"]),
    ("experiment = churn", ["LGBM-3", "lgbm-1", "lgbm-2"]),
    ("experiment ~ 'fr*' and not tag = gpu", ["xgb_2"]),
    ("status = finished", ["LGBM-3", "lgbm-1", "lgbm-2"]),
    ("status = failed", ["xgb-1"]),
    ("status = crashed", ["xgb_2"]),
    ("status = running", ["rf-1"]),
    ("status in (crashed, failed)", ["xgb-1", "xgb_2"]),
    ("data.path = 'data/train.csv'", ["lgbm-1"]),
    ("data.path ~ 'data/*'", ["lgbm-1", "lgbm-2"]),
    ("data.hash = 'xxh3_128:bb'", ["lgbm-2"]),
    ("data.name = train", ["lgbm-2"]),
    ("data.path is null", ["LGBM-3", "rf-1", "xgb-1", "xgb_2"]),
    ("note ~ '*baseline*'", ["lgbm-1"]),
    ("note is null", ["LGBM-3", "lgbm-2", "rf-1", "xgb-1", "xgb_2"]),
    ("git_commit = deadbeef", ["lgbm-1"]),
    ("end_time is null", ["rf-1", "xgb_2"]),
    ("start_time > 2020-01-01 and start_time < '2099-01-01T00:00:00'", ["LGBM-3", "lgbm-1", "lgbm-2", "rf-1",
                                                                         "xgb-1", "xgb_2"]),
    ("duration > 8", ["LGBM-3", "lgbm-1", "lgbm-2", "rf-1"]),  # running runs count up to their heartbeat
    ("(tag = baseline or tag = tuned) and metrics.auc > 0.82", ["lgbm-2", "xgb-1"]),
    ("tag = baseline or tag = tuned and metrics.auc > 0.82", ["lgbm-1", "lgbm-2", "xgb-1"]),
    ("not (params.lr > 0.1 or params.lr is null)", ["lgbm-1", "lgbm-2"]),
    # conjunctions of child-table conditions nest into one semi-join (same table twice, mixed tables, under not)
    ("params.lr >= 0.1 and params.opt = adam", ["lgbm-1"]),
    ("metrics.auc > 0.8 and params.lr >= 0.1 and tag = baseline", ["lgbm-1", "xgb-1"]),
    ("metrics.auc > 0.8 and params.lr >= 0.1 and tag = baseline and tag != gpu", ["lgbm-1"]),
    ("metrics.auc > 0.7 and metrics.loss is not null", ["LGBM-3"]),
    ("params.lr is not null and params.opt ~ 'adam*' and data.path is null", ["LGBM-3"]),
    ("tag = baseline and tag = gpu", ["xgb-1"]),
    ("not (params.lr >= 0.1 and params.opt = adam)", ["LGBM-3", "lgbm-2", "rf-1", "xgb-1", "xgb_2"]),
    ("(metrics.auc > 0.8 and tag = tuned) or (params.depth = 6 and data.path is null)", ["lgbm-2", "xgb-1"]),
])
def test_filter_semantics(runs, text, expected):
    store, _ = runs
    assert names(store.search_runs(text)) == expected


def test_id_filter_and_blank_filter(runs):
    store, ids = runs
    assert names(store.search_runs(f"id = {ids['rf-1']}")) == ["rf-1"]
    assert store.search_runs("   ").total == 6
    assert store.search_runs(None).total == 6


def test_values_are_bound_not_pasted(runs):
    store, _ = runs
    assert store.search_runs("name = \"x' OR '1'='1\"").total == 0
    assert store.search_runs("name = 'lgbm-1\"; DROP TABLE runs; --'").total == 0
    assert store.search_runs().total == 6


def test_malformed_filter_raises_filter_syntax_error(runs):
    store, _ = runs
    with pytest.raises(FilterSyntaxError):
        store.search_runs("metrics.auc >")


def test_default_order_is_newest_first(runs):
    store, _ = runs
    assert [r.name for r in store.search_runs().items] == ["rf-1", "xgb_2", "xgb-1", "LGBM-3", "lgbm-2", "lgbm-1"]


@pytest.mark.parametrize(("order", "expected"), [
    (["metrics.auc DESC"], ["xgb-1", "lgbm-2", "lgbm-1", "LGBM-3", "rf-1", "xgb_2"]),
    (["metrics.auc"], ["rf-1", "LGBM-3", "lgbm-1", "lgbm-2", "xgb-1", "xgb_2"]),  # missing values last
    (["params.lr", "name"], ["lgbm-2", "lgbm-1", "LGBM-3", "xgb-1", "xgb_2", "rf-1"]),
    (["experiment", "start_time DESC"], ["LGBM-3", "lgbm-2", "lgbm-1", "rf-1", "xgb_2", "xgb-1"]),
    (["start_time"], ["lgbm-1", "lgbm-2", "LGBM-3", "xgb-1", "xgb_2", "rf-1"]),
    (["status", "start_time"], ["xgb-1", "lgbm-1", "lgbm-2", "LGBM-3", "xgb_2", "rf-1"]),  # stored status
])
def test_order_by(runs, order, expected):
    store, _ = runs
    assert [r.name for r in store.search_runs(order_by=order).items] == expected


def test_order_by_duration(runs):
    store, _ = runs
    durations = [r.duration for r in store.search_runs(order_by=["duration DESC"]).items]
    assert durations == sorted(durations, reverse=True)


def test_bad_sort_keys(runs):
    store, _ = runs
    with pytest.raises(InvalidInput, match="cannot sort by 'colour'"):
        store.search_runs(order_by=["colour"])
    with pytest.raises(InvalidInput):
        store.search_runs(order_by=["name up"])
    with pytest.raises(InvalidInput):
        store.search_runs(limit=-1)


def test_paging_and_totals(runs):
    store, _ = runs
    seen = []
    for offset in range(0, 6, 4):
        page = store.search_runs("name ~ '*'", order_by=["start_time"], limit=4, offset=offset)
        assert page.total == 6 and page.offset == offset and page.limit == 4
        seen.extend(r.name for r in page.items)
    assert seen == ["lgbm-1", "lgbm-2", "LGBM-3", "xgb-1", "xgb_2", "rf-1"]
    exact = store.search_runs(limit=6)
    assert exact.total == 6 and len(exact.items) == 6
    beyond = store.search_runs("tag = baseline", limit=5, offset=10)
    assert beyond.items == () and beyond.total == 2
    assert store.search_runs("tag = baseline", limit=1).total == 2


def test_search_loads_children(runs):
    store, ids = runs
    (run,) = store.search_runs("name = 'lgbm-1'").items
    assert run == store.get_run(ids["lgbm-1"])
    assert run.params == {"lr": 0.1, "model.num_leaves": 31, "opt": "adam"}
    assert run.metrics == {"auc": 0.81} and run.tags == ("baseline",) and len(run.data_inputs) == 1


def test_runs_load_across_id_chunks(store, monkeypatch):
    monkeypatch.setattr(reads, "_CHUNK", 2)  # so a handful of runs spans several IN lists
    made = [store.create_run(name=f"r{n}", start_time=1e9 + n, tags=[f"t{n}"]).id for n in range(5)]
    for n, run_id in enumerate(made):
        store.log_param(run_id, "n", n)
        store.log_metric(run_id, "m", float(n))
    page = store.search_runs(order_by=["start_time"])
    assert page.total == 5 and [r.id for r in page.items] == made
    assert [(r.params, r.metrics, r.tags) for r in page.items] == [
        ({"n": n}, {"m": float(n)}, (f"t{n}",)) for n in range(5)]


def test_a_repeated_search_sees_the_clock_move(make_store, clock, monkeypatch):
    # Search statements are built once and reused; the derived status must still follow the time of each query.
    monkeypatch.setattr(reads, "_CHUNK", 2)  # children of an unpaged result load through the filter itself
    store = make_store(clock=clock, stale_after=30.0)
    made = [store.create_run(name=f"r{n}", tags=["t"]).id for n in range(3)]
    for text, limit in (("status = running", None), ("status = running", 2), ("status != crashed", None)):
        page = store.search_runs(text, limit=limit)
        assert page.total == 3 and all(r.tags == ("t",) for r in page.items)
    assert store.run_columns("status = running")["status"] == ["running"] * 3
    clock.advance(60)  # every heartbeat is now stale
    for text, limit in (("status = running", None), ("status = running", 2), ("status != crashed", None)):
        assert store.search_runs(text, limit=limit).total == 0
    crashed = store.search_runs("status = crashed")
    assert sorted(r.id for r in crashed.items) == sorted(made) and all(r.tags == ("t",) for r in crashed.items)
    assert store.search_runs("status = crashed", limit=2).total == 3
    assert store.run_columns("status = crashed")["status"] == ["crashed"] * 3
    assert store.run_columns("status = running")["run_id"] == []


def test_a_bad_filter_or_sort_fails_every_time_it_is_asked(store):
    for _ in range(2):  # a failed build is not remembered as a good one
        with pytest.raises(FilterSyntaxError):
            store.search_runs("params.lr >")
        with pytest.raises(InvalidInput):
            store.search_runs("params.lr > 1", order_by=["colour"])
