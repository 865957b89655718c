"""Metrics on slices in the store (ADR-070), on SQLite and PostgreSQL: stored and read back, latest by step, the
unsliced metric and every query over it untouched, bad labels refused, deleted with their run, and migration 0010
adding the tables to a store made before it."""

from __future__ import annotations

import math
import sqlite3

import pytest

from jupyter_mlops.entities import Metric, SliceMetric, slice_dims, slice_label
from jupyter_mlops.errors import InvalidInput
from jupyter_mlops.store import open_store
from jupyter_mlops.store.layout import MIGRATION_NAMES, SCHEMA_VERSION


def test_sliced_values_are_stored_and_read_back(store):
    run = store.create_run(name="sliced")
    store.log_batch(run.id, metrics=[Metric("auc", 0.9, 0, 1.0)], sliced=[
        SliceMetric("auc", "region=EU", 0.80, 0, 1.0), SliceMetric("auc", "region=US", 0.95, 0, 1.0),
        SliceMetric("auc", "device=mobile,region=EU", 0.7, 0, 1.0)])
    store.log_batch(run.id, sliced=[SliceMetric("auc", "region=EU", 0.85, 1, 2.0),
                                    SliceMetric("auc", "region=EU", 0.10, 0, 3.0),  # older step: history only
                                    SliceMetric("f1", "region=EU", math.nan, 0, 1.0)])
    got = store.get_run(run.id)
    assert got.metrics == {"auc": 0.9}
    assert got.slices["auc"] == {"region=EU": 0.85, "region=US": 0.95, "device=mobile,region=EU": 0.7}
    assert math.isnan(got.slices["f1"]["region=EU"])
    history = store.slice_history(run.id, "auc")
    assert [(p.slice, p.step, p.value) for p in history if p.slice == "region=EU"] == [
        ("region=EU", 0, 0.80), ("region=EU", 0, 0.10), ("region=EU", 1, 0.85)]
    # Every reader of runs gets the same slices: listing, search, and the whole run's dict.
    assert store.search_runs().items[0].slices == got.slices
    assert got.to_dict()["slices"]["auc"]["region=US"] == 0.95


def test_the_unsliced_metric_and_its_queries_are_untouched(store):
    run = store.create_run(name="a")
    other = store.create_run(name="b")
    store.log_batch(run.id, metrics=[Metric("auc", 0.7, 0, 1.0)],
                    sliced=[SliceMetric("auc", "region=EU", 0.99, 5, 9.0)])
    store.log_batch(other.id, sliced=[SliceMetric("auc", "region=EU", 0.99, 0, 1.0)])
    assert [m.value for m in store.metric_history(run.id, "auc")] == [0.7]
    assert store.metric_history(other.id, "auc") == []
    assert [r.name for r in store.search_runs("metrics.auc > 0.5").items] == ["a"]
    assert [r.name for r in store.search_runs("metrics.auc > 0.8").items] == []
    assert store.run_columns()["metrics"] == [{}, {"auc": 0.7}]


@pytest.mark.parametrize("label", ["", "region", "region=EU,device=x", "=EU", "a\x1b[2J=b", "r=" + "x" * 1000, 3])
def test_a_label_that_is_not_canonical_is_refused(store, label):
    run = store.create_run(name="bad")
    with pytest.raises(InvalidInput):
        store.log_batch(run.id, sliced=[SliceMetric("auc", label, 0.5)])  # type: ignore[arg-type]
    assert store.get_run(run.id).slices == {}


def test_a_bad_key_refuses_the_batch_and_keeps_what_was_stored(store):
    run = store.create_run(name="bad")
    store.log_batch(run.id, sliced=[SliceMetric("auc", "region=EU", 0.5)])
    with pytest.raises(InvalidInput):
        store.log_batch(run.id, sliced=[SliceMetric("auc", "region=US", 0.6), SliceMetric("", "region=US", 0.6)])
    assert store.get_run(run.id).slices == {"auc": {"region=EU": 0.5}}


def test_deleting_a_run_deletes_its_slices(store):
    run = store.create_run(name="gone")
    store.log_batch(run.id, sliced=[SliceMetric("auc", "region=EU", 0.5)])
    store.delete_run(run.id)
    kept = store.create_run(name="kept")
    assert store.slice_history(kept.id, "auc") == []


def test_labels_are_canonical_and_read_back():
    dims = {"region": "EU", "city": "a,b=c%[x]\n\u202e", "ü": "Zürich"}
    label = slice_label(dims)
    assert slice_dims(label) == dims
    assert label == slice_label(dict(reversed(list(dims.items()))))
    assert "\n" not in label and "\u202e" not in label and label.count(",") == 2


def test_migration_0010_adds_the_tables_to_an_older_store(tmp_path):
    path = tmp_path / "old.db"
    open_store(f"sqlite:///{path}").close()
    raw = sqlite3.connect(path)
    # The store as 0007 left it: no slice tables, its version and migration list one step back.
    raw.executescript("DROP TABLE slice_metrics; DROP TABLE latest_slice_metrics; "
                      "DELETE FROM migrations WHERE name = '0010_metric_slices'; "
                      f"UPDATE schema_info SET schema_version = {SCHEMA_VERSION - 1};")
    raw.commit()
    raw.close()
    with open_store(f"sqlite:///{path}") as store:
        run = store.create_run(name="after")
        store.log_batch(run.id, sliced=[SliceMetric("auc", "region=EU", 0.5)])
        assert store.get_run(run.id).slices == {"auc": {"region=EU": 0.5}}
    raw = sqlite3.connect(path)
    assert raw.execute("SELECT schema_version FROM schema_info").fetchone()[0] == SCHEMA_VERSION
    assert "0010_metric_slices" in {row[0] for row in raw.execute("SELECT name FROM migrations")}
    raw.close()
    assert "0010_metric_slices" in MIGRATION_NAMES  # later migrations follow it


def test_the_filter_language_reads_a_slice_in_backquotes(store):
    a, b = store.create_run(name="a"), store.create_run(name="b")
    store.log_batch(a.id, metrics=[Metric("auc", 0.9)], sliced=[SliceMetric("auc", "region=EU", 0.7),
                                                                SliceMetric("auc", "device=m,region=EU", 0.6)])
    store.log_batch(b.id, metrics=[Metric("auc", 0.8)], sliced=[SliceMetric("auc", "region=EU", 0.95)])

    def names(text: str) -> list[str]:
        return sorted(r.name for r in store.search_runs(text).items)

    assert names("metrics.`auc[region=EU]` > 0.9") == ["b"]
    assert names("metrics.`auc[region=EU]` < 0.9 and metrics.auc > 0.85") == ["a"]
    assert names("metrics.`auc[region=EU,device=m]` = 0.6") == ["a"]  # any order of the pairs
    assert names("metrics.`auc[region=US]` is null") == ["a", "b"]
    assert names("metrics.`auc[region=EU]` is not null") == ["a", "b"]
    assert names("metrics.auc > 0.85") == ["a"]  # the unsliced metric, as before
    assert names("metrics.`acc[0]` is null") == ["a", "b"]  # brackets without pairs: an ordinary key
