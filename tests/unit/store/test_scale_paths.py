"""Issue 13 (100,000 runs), on SQLite and PostgreSQL: migration 0015, chart series reads, paging with ties."""

from __future__ import annotations

import math

import pytest
from older_store import forget_migration
from sqlalchemy import inspect, text

from jupyter_mlops.entities import Metric
from jupyter_mlops.errors import NotFound
from jupyter_mlops.store import open_store
from jupyter_mlops.store.layout import SCHEMA_VERSION


def _metric_indexes(store) -> set[str]:
    with store.engine.connect() as conn:
        return {index["name"] for index in inspect(conn).get_indexes("metrics")}


def test_a_fresh_store_has_the_covering_metric_index(store):
    assert _metric_indexes(store) == {"ix_metrics_series"}
    assert store.pending_migrations() == []


def test_migration_0015_replaces_the_metric_index_of_an_older_store(store_url):
    store = open_store(store_url)
    run = store.create_run(name="before")
    store.log_batch(run.id, metrics=[Metric("loss", 1.0 / (i + 1), i, 100.0 + i) for i in range(5)])
    # The store as 0010 left it: the (run_id, key, step) index, 0015 not recorded, the version one step back.
    with store.engine.begin() as conn:
        conn.execute(text("DROP INDEX ix_metrics_series"))
        conn.execute(text("CREATE INDEX ix_metrics_run_key_step ON metrics (run_id, key, step)"))
        forget_migration(conn, "0015_scale_indexes")
    store.close()
    with open_store(store_url) as store:
        assert _metric_indexes(store) == {"ix_metrics_series"}
        assert store.pending_migrations() == []
        assert store.metric_series([run.id], ["loss"])[(run.id, "loss")][0] == [0, 1, 2, 3, 4]
        with store.engine.connect() as conn:
            assert conn.scalar(text("SELECT schema_version FROM schema_info")) == SCHEMA_VERSION


def test_metric_series_are_plain_columns_in_step_then_time_order(store):
    a, b = store.create_run(name="a"), store.create_run(name="b")
    store.log_batch(a.id, metrics=[Metric("loss", 0.5, 2, 10.0), Metric("loss", 0.7, 1, 30.0),
                                   Metric("loss", 0.6, 1, 20.0), Metric("loss", math.nan, 3, 40.0),
                                   Metric("auc", 0.9, 0, 10.0)])
    found = store.metric_series([a.id, b.id], ["loss", "auc", "none"])
    assert found == {(a.id, "loss"): ([1, 1, 2, 3], [0.6, 0.7, 0.5, None]), (a.id, "auc"): ([0], [0.9])}
    assert store.metric_marks([a.id, b.id], ["loss", "auc"]) == {(a.id, "loss"): (3, 40.0), (a.id, "auc"): (0, 10.0)}
    with pytest.raises(NotFound, match="nope"):
        store.metric_series([a.id, "nope"], ["loss"])


def test_the_mark_moves_when_a_history_grows(store):
    run = store.create_run(name="live")
    store.log_batch(run.id, metrics=[Metric("loss", 1.0, 0, 1.0)])
    before = store.metric_marks([run.id], ["loss"])
    store.log_batch(run.id, metrics=[Metric("loss", 0.9, 1, 2.0)])
    assert store.metric_marks([run.id], ["loss"]) != before


@pytest.mark.parametrize("order", [["metrics.auc DESC"], ["metrics.auc"], ["params.lr", "metrics.auc DESC"]])
def test_pages_sorted_by_a_metric_with_ties_cover_every_run_once(store, order):
    # 53 runs whose auc takes 4 values (many ties) and some have none (sorted last): pages of 7 by offset.
    ids = []
    for n in range(53):
        run = store.create_run(name=f"r{n}", start_time=1000.0 + n % 3)  # ties in start time too
        store.log_params(run.id, {"lr": [0.1, 0.01][n % 2]})
        if n % 9:
            store.log_batch(run.id, metrics=[Metric("auc", [0.5, 0.7, 0.7, 0.9][n % 4])])
        ids.append(run.id)
    seen: list[str] = []
    full = store.search_runs("params.lr >= 0", order_by=order)
    for offset in range(0, 60, 7):
        page = store.search_runs("params.lr >= 0", order_by=order, limit=7, offset=offset)
        assert page.total == 53
        seen.extend(run.id for run in page.items)
    assert sorted(seen) == sorted(ids)  # none missing, none twice
    assert seen == [run.id for run in full.items]  # the pages are the full order, cut
    if order[0].startswith("metrics."):
        aucs = [run.metrics.get("auc") for run in full.items]
        present = [v for v in aucs if v is not None]
        assert aucs[:len(present)] == sorted(present, reverse=order[0].endswith("DESC"))  # runs without: last
