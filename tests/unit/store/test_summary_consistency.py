"""The run summary row (what listings read) always agrees with the normalised tables (what filters read)."""

from __future__ import annotations

from jupyter_mlops.entities import Metric, Param


def test_listing_filters_and_histories_agree_after_relogging(store):
    run = store.create_run(name="r", experiment="e")
    other = store.create_run(name="other", experiment="e")
    store.log_batch(run.id, params=[Param("lr", 0.1), Param("model.depth", 3)], metrics=[Metric("auc", 0.7, 0, 1.0)])
    store.log_batch(other.id, params=[Param("lr", 0.1)], metrics=[Metric("auc", 0.99, 0, 1.0)])
    second = [Metric("auc", 0.8, 1, 2.0), Metric("loss", 0.5, 1, 2.0)]
    store.log_batch(run.id, params=[Param("lr", 0.2)], metrics=second)
    store.log_batch(run.id, metrics=[Metric("auc", 0.75, 2, 3.0)])

    listed = next(r for r in store.search_runs().items if r.id == run.id)
    assert listed.params == {"lr": 0.2, "model.depth": 3}
    assert listed.metrics == {"auc": 0.75, "loss": 0.5}
    assert store.get_run(run.id).params == listed.params and store.get_run(run.id).metrics == listed.metrics
    assert [p.value for p in store.param_history(run.id, "lr")] == [0.1, 0.2]
    assert store.metric_history(run.id, "auc")[-1].value == listed.metrics["auc"]

    def ids(filter_text: str) -> set[str]:
        return {r.id for r in store.search_runs(filter_text).items}

    assert ids("params.lr = 0.2") == {run.id}
    assert ids("params.lr = 0.1") == {other.id}
    assert ids("metrics.auc = 0.75 and params.model.depth = 3") == {run.id}
    assert ids("metrics.auc > 0.9") == {other.id}
