"""Params, metrics, data inputs, artifacts and the stat cache: what goes in comes back out."""

from __future__ import annotations

import math

import pytest

from jupyter_mlops.entities import Artifact, DataInput, Metric, Param
from jupyter_mlops.errors import InvalidInput, NotFound


def test_params_keep_native_types_and_long_values(store):
    run = store.create_run()
    values = {"lr": 0.05, "epochs": 10, "flag": True, "off": False, "name": "adam", "none": None,
              "layers": [64, 32], "cfg": {"a": {"b": 1}}, "big": 2**62 + 1, "long": "x" * 10_000}
    store.log_params(run.id, values)
    got = store.get_run(run.id).params
    assert got == values
    assert type(got["epochs"]) is int and type(got["flag"]) is bool and type(got["lr"]) is float


def test_relogging_a_param_updates_it_and_keeps_history(store):
    run = store.create_run()
    store.log_param(run.id, "lr", 0.1, source="papermill")
    store.log_param(run.id, "lr", 0.1)  # same value again: no new history entry
    store.log_param(run.id, "lr", "0.2", source="cell")
    store.log_batch(run.id, params=[Param("lr", 0.3), Param("lr", 0.4)])
    assert store.get_run(run.id).params["lr"] == 0.4
    assert [(p.value, p.source) for p in store.param_history(run.id, "lr")] == [
        (0.1, "papermill"), ("0.2", "cell"), (0.3, "api"), (0.4, "api")]
    assert store.param_history(run.id, "missing") == []


def test_unstorable_param_values_are_stored_as_text(store):
    class Thing:
        def __str__(self) -> str:
            return "thing!"

    run = store.create_run()
    store.log_param(run.id, "obj", Thing())
    assert store.get_run(run.id).params["obj"] == "thing!"


def test_metric_history_and_latest_value(store):
    run = store.create_run()
    store.log_batch(run.id, metrics=[Metric("loss", 1.0 / (s + 1), s, 100.0 + s) for s in range(5)])
    store.log_metric(run.id, "loss", 9.0, step=2, timestamp=50.0)  # a late point for an old step
    history = store.metric_history(run.id, "loss")
    assert [(m.step, m.value) for m in history] == [(0, 1.0), (1, 0.5), (2, 9.0), (2, 1 / 3), (3, 0.25), (4, 0.2)]
    assert store.get_run(run.id).metrics == {"loss": 0.2}
    store.log_metric(run.id, "loss", 0.1, step=4, timestamp=200.0)  # same step, later: becomes latest
    assert store.get_run(run.id).metrics["loss"] == 0.1


def test_nan_and_infinities_round_trip(store):
    run = store.create_run()
    store.log_batch(run.id, metrics=[Metric("a", math.nan, 0, 1.0), Metric("b", math.inf, 0, 1.0),
                                     Metric("c", -math.inf, 0, 1.0)])
    metrics = store.get_run(run.id).metrics
    assert math.isnan(metrics["a"]) and metrics["b"] == math.inf and metrics["c"] == -math.inf
    assert math.isnan(store.metric_history(run.id, "a")[0].value)
    assert store.search_runs("metrics.a = nan").total == 1
    assert store.search_runs("metrics.b > 1e308").total == 1
    assert store.search_runs("metrics.c < -1e308").total == 1


def test_log_batch_rejects_bad_input_and_unknown_runs(store):
    run = store.create_run()
    with pytest.raises(NotFound):
        store.log_metric("0" * 32, "auc", 0.5)
    with pytest.raises(InvalidInput):
        store.log_batch(run.id, metrics=[Metric("auc", "high", 0, 1.0)])  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        store.log_batch(run.id, metrics=[Metric("", 1.0, 0, 1.0)])
    with pytest.raises(InvalidInput):
        store.log_batch(run.id, params=[Param("", 1)])
    with pytest.raises(NotFound):
        store.metric_history("0" * 32, "auc")
    store.log_batch(run.id)  # nothing to write is fine
    assert store.get_run(run.id).metrics == {}


def test_numpy_like_values_are_converted(store):
    np = pytest.importorskip("numpy")
    run = store.create_run()
    store.log_batch(run.id, metrics=[Metric("auc", np.float32(0.5), np.int64(3), 1.0)],
                    params=[Param("n", np.int64(7)), Param("arr", np.arange(3).tolist())])
    got = store.get_run(run.id)
    assert got.metrics == {"auc": 0.5} and got.params == {"n": 7, "arr": [0, 1, 2]}


def test_data_inputs_replace_same_name_and_role(store):
    run = store.create_run()
    schema = {"columns": [{"name": "age", "dtype": "int64"}], "rows": 10}
    store.log_data_inputs(run.id, [DataInput("data/train.csv", "xxh3_128:aa", path="data/train.csv", size=10,
                                             schema=schema),
                                   DataInput("model.pkl", "xxh3_128:bb", role="output")])
    store.log_data_inputs(run.id, [DataInput("data/train.csv", "xxh3_128:cc", path="data/train.csv", size=12)])
    inputs = sorted(store.get_run(run.id).data_inputs, key=lambda d: d.name)
    assert [(d.name, d.hash, d.role, d.size) for d in inputs] == [
        ("data/train.csv", "xxh3_128:cc", "input", 12), ("model.pkl", "xxh3_128:bb", "output", None)]
    store.log_data_inputs(run.id, [DataInput("x", "xxh3_128:dd", kind="dataframe", schema=schema)])
    assert {d.name: d.schema for d in store.get_run(run.id).data_inputs}["x"] == schema


def test_artifacts_upsert_by_path(store):
    run = store.create_run()
    store.log_artifacts(run.id, [Artifact("model.pkl", "xxh3_128:01", 3), Artifact("a.txt", "xxh3_128:02", 1)])
    store.log_artifacts(run.id, [Artifact("model.pkl", "xxh3_128:03", 4)])
    assert store.get_run(run.id).artifacts == (Artifact("a.txt", "xxh3_128:02", 1), Artifact("model.pkl",
                                                                                             "xxh3_128:03", 4))
    with pytest.raises(NotFound):
        store.log_artifacts("0" * 32, [Artifact("x", "xxh3_128:01", 1)])


def test_stat_cache_matches_the_whole_file_identity(store):
    cache = store.stat_cache()
    key = ("/data/big.bin", 2049, 123456, 10 * 2**30, 1_700_000_000_123_456_789)
    assert cache.get_hash(key, "xxh3_128") is None
    cache.put_hash(key, "xxh3_128", "xxh3_128:abc")
    assert cache.get_hash(key, "xxh3_128") == "xxh3_128:abc"
    assert cache.get_hash(key, "blake3") is None
    assert cache.get_hash((*key[:4], key[4] + 1), "xxh3_128") is None  # touched file: miss
    cache.put_hash((*key[:4], key[4] + 1), "xxh3_128", "xxh3_128:def")
    assert cache.get_hash((*key[:4], key[4] + 1), "xxh3_128") == "xxh3_128:def"
    assert cache.get_hash(key, "xxh3_128") is None


def test_log_metrics_convenience_uses_one_step(store):
    run = store.create_run()
    store.log_metrics(run.id, {"a": 1, "b": 2.5}, step=7)
    assert {m.key: m.step for k in ("a", "b") for m in store.metric_history(run.id, k)} == {"a": 7, "b": 7}
