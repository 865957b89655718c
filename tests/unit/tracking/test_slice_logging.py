"""Logging metrics on slices (ADR-070): ``log_metric(..., slice=)`` and ``log_sliced_metrics`` through the real
tracking API into a real SQLite store. Bad slices are refused at the call in one line, and nothing of that call is
queued; slice values pass the run's redaction; the writer drops only a row the store refuses."""

from __future__ import annotations

import logging
import math

import pandas as pd
import pytest

import jupyter_mlops as mlops
from jupyter_mlops.entities import SliceMetric
from jupyter_mlops.errors import InvalidInput
from jupyter_mlops.tracking import slices


def _stored(run):
    run.flush()
    return run.store.get_run(run.id)


def test_log_metric_with_a_slice_keeps_the_unsliced_metric_apart(project):
    with mlops.start_run("s", auto_capture=False) as run:
        mlops.log_metric("auc", 0.9)
        mlops.log_metric("auc", 0.8, slice={"region": "EU"})
        run.log_metric("auc", 0.82, slice={"region": "EU"})  # step 1 of that slice
        run.log_metric("auc", 0.7, slice={"device": "mobile", "region": "EU"}, step=7)
        run.log_metric("auc", 0.95, slice={})  # an empty slice is the whole data
    got = mlops.get_run(run.id)
    assert got.metrics == {"auc": 0.95}
    assert got.slices == {"auc": {"region=EU": 0.82, "device=mobile,region=EU": 0.7}}
    assert [(p.slice, p.step) for p in got.slice_history("auc")] == [
        ("device=mobile,region=EU", 7), ("region=EU", 0), ("region=EU", 1)]
    assert [m.value for m in got.metric_history("auc")] == [0.9, 0.95]


@pytest.mark.parametrize(("bad", "needle"), [
    ("region=EU", "must be a dict"),
    (["region"], "must be a dict"),
    ({1: "EU"}, "non-empty strings"),
    ({"": "EU"}, "non-empty strings"),
    ({"region": None}, "values must be text"),
    ({"region": object()}, "values must be text"),
    ({"region": math.nan}, "cannot name a slice"),
    ({"region": float("inf")}, "cannot name a slice"),
    ({"region": "x" * 201}, "longer than 200"),
    ({"r" * 101: "EU"}, "longer than 100"),
    ({f"d{i}": "x" for i in range(9)}, "at most 8 dimensions"),
])
def test_a_bad_slice_is_refused_in_one_line_and_costs_only_that_call(project, bad, needle):
    with mlops.start_run("bad", auto_capture=False) as run:
        run.log_metric("auc", 0.5, slice={"region": "US"})
        with pytest.raises(InvalidInput) as caught:
            run.log_metric("auc", 0.9, slice=bad)
        assert needle in caught.value.message and "\n" not in caught.value.message
        run.log_metric("auc", 0.6, slice={"region": "US"})
    got = mlops.get_run(run.id)
    assert got.slices == {"auc": {"region=US": 0.6}} and got.logging_errors == 0


def test_slice_values_of_many_types_and_hostile_text(project):
    with mlops.start_run("types", auto_capture=False) as run:
        for value in (3, True, 0.5, pd.Timestamp("2024-01-02"), pd.Series([7]).iloc[0], "a,b=c[\n]\u202e"):
            run.log_metric("n", 1.0, slice={"v": value})
    labels = set(_stored(run).slices["n"])
    assert labels == {"v=3", "v=True", "v=0.5", "v=2024-01-02T00:00:00", "v=7", "v=a%2Cb%3Dc%5B%0A%5D%E2%80%AE"}


def test_secrets_in_slice_values_are_masked(project):
    with mlops.start_run("secret", auto_capture=False) as run:
        run.log_metric("auc", 0.5, slice={"password": "hunter2"})
        run.log_metric("auc", 0.6, slice={"key": "AKIAIOSFODNN7EXAMPLE"})
    assert set(_stored(run).slices["auc"]) == {"password=***", "key=***"}


def test_log_sliced_metrics_measures_each_group_and_the_whole(project):
    df = pd.DataFrame({"region": ["EU", "EU", "US", "US", None], "device": ["m", "d", "m", "m", "d"],
                       "hit": [1, 0, 1, 1, 1]})
    with mlops.start_run("frame", auto_capture=False):
        logged = mlops.log_sliced_metrics(df, by="region", metrics={"acc": lambda g: g.hit.mean()})
        by_two = mlops.log_sliced_metrics(df, by=["region", "device"], metrics={"acc": lambda g: g.hit.mean()},
                                          overall=False)
    assert logged == {"": {"acc": 0.8}, "region=EU": {"acc": 0.5}, "region=US": {"acc": 1.0}}
    assert set(by_two) == {"device=d,region=EU", "device=m,region=EU", "device=m,region=US"}
    got = mlops.get_run(mlops.runs().run_id[0])
    assert got.metrics == {"acc": 0.8}  # rows without a region count in the whole, not in any slice
    assert got.slices["acc"]["region=EU"] == 0.5 and got.slices["acc"]["device=m,region=US"] == 1.0


def test_a_metric_that_fails_on_one_group_logs_nan_there_and_names_it(project, caplog):
    df = pd.DataFrame({"region": ["EU", "EU", "US"], "y": [1, 0, 1]})

    def needs_two_classes(group):
        if group.y.nunique() < 2:
            raise ValueError("only one class")
        return 0.75

    with caplog.at_level(logging.WARNING), mlops.start_run("partial", auto_capture=False) as run:
        mlops.log_sliced_metrics(df, by="region", metrics={"auc": needs_two_classes})
    got = _stored(run)
    assert got.slices["auc"]["region=EU"] == 0.75 and math.isnan(got.slices["auc"]["region=US"])
    assert any("region=US" in r.getMessage() and "only one class" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(("call", "needle"), [
    (lambda df: mlops.log_sliced_metrics(df, by="nope", metrics={"a": len}), "no column 'nope'"),
    (lambda df: mlops.log_sliced_metrics([1, 2], by="region", metrics={"a": len}), "needs a pandas DataFrame"),
    (lambda df: mlops.log_sliced_metrics(df, by="region", metrics={}), "metrics must be a dict"),
    (lambda df: mlops.log_sliced_metrics(df, by="region", metrics={"a": 1}), "metrics must be a dict"),
    (lambda df: mlops.log_sliced_metrics(df, by="region", metrics={"a": lambda g: "high"}), "must be a number"),
    (lambda df: mlops.log_sliced_metrics(df, by="id", metrics={"a": len}), "at most 1000"),
])
def test_log_sliced_metrics_refuses_bad_input_and_logs_nothing(project, call, needle):
    df = pd.DataFrame({"region": ["EU"] * 1001, "id": range(1001)})
    with mlops.start_run("refused", auto_capture=False) as run:
        with pytest.raises(InvalidInput) as caught:
            call(df)
        assert needle in caught.value.message
    got = _stored(run)
    assert got.slices == {} and got.metrics == {}


def test_the_writer_drops_only_a_sliced_row_the_store_refuses(project):
    with mlops.start_run("writer", auto_capture=False) as run:
        # Past the call's checks (a broken caller): the store refuses the non-canonical label; the rest is kept.
        run._writer.put_sliced([SliceMetric("auc", "region=EU", 0.5), SliceMetric("auc", "b=1,a=2", 0.1),
                                SliceMetric("auc", "region=US", 0.6)])
    got = mlops.get_run(run.id)
    assert got.slices == {"auc": {"region=EU": 0.5, "region=US": 0.6}}
    assert got.logging_errors == 1


def test_label_of_is_the_one_rule():
    assert slices.label_of(None) is None and slices.label_of({}) is None
    assert slices.label_of({"b": 1, "a": "x"}) == "a=x,b=1"
    with pytest.raises(InvalidInput, match="longer than 1000 bytes"):
        slices.label_of({f"d{i}": "€" * 200 for i in range(2)})
